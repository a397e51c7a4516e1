//! The kill loop: two-way syncs of an emulated phone with handsync's engine and SQLite store,
//! edits on both sides between rounds, and the link cut or the server killed at random
//! moments; then uncut syncs, and both sides compared with a model of what they should hold.
//!
//! It reports what a user would lose: items lost, duplicated, resurrected (deleted, then
//! back) or reverted (an edit undone), and how many syncs after a cut were forced slow.
//! Seeded and repeatable:
//!
//!     cargo run --release --example kill_loop -- [--rounds N] [--seed S] [--profile NAME]
//!
//! It exits with status 1 when any item was damaged.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use handsync::emulator::{
    DeviceProfile, EmulatedPhone, PhoneConfig, PhoneItem, PhoneStore, Rng, Step, SyncMode,
    SyncRequest, UnixMillis,
};
use handsync::engine::{content, ServerConfig, Session, SessionParams};
use handsync::store::{Cause, Datastore, Guid, Reason, Store, Timestamp};

/// Which side edited an item since the last completed session: the model keeps edits of
/// one item on one side, so every expected outcome is free of conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Phone,
    Pc,
}

/// What the user expects: each logical item's current version, or deleted.
#[derive(Default)]
struct Model {
    items: BTreeMap<u32, Option<u32>>,
    edited_on: BTreeMap<u32, Side>,
    next_id: u32,
}

/// How a session ends.
#[derive(Debug, Clone, Copy)]
enum Interruption {
    /// The link drops after the PC answered the phone's message `after`; the phone reads
    /// that answer first when `phone_reads_reply`.
    LinkCut {
        after: usize,
        phone_reads_reply: bool,
    },
    /// The server is killed while it handles the phone's message `at`: that message's
    /// transaction never commits and the session is never closed.
    ServerKilled { at: usize },
}

struct Pc {
    store: Store,
    config: Arc<ServerConfig>,
    now: i64,
}

impl Pc {
    fn tick(&mut self) -> Timestamp {
        self.now += 500;
        Timestamp(self.now)
    }

    fn card(name: u32, version: u32) -> content::Incoming {
        let text = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:K{name};Kill\r\nFN:Kill K{name}\r\nTEL;TYPE=CELL:{}\r\nEND:VCARD\r\n",
            100_000 + version
        );
        let phone = content::phone_for(None, None);
        content::from_phone(&phone, Datastore::Contacts, "text/vcard", text.as_bytes())
            .expect("a readable card")
    }

    /// Live contacts as (logical id, version, guid).
    fn contacts(&mut self) -> Vec<(u32, u32, Guid)> {
        let items = self
            .store
            .read(|tx| tx.items(Datastore::Contacts, false))
            .expect("items");
        items
            .into_iter()
            .filter_map(|item| {
                let (id, version) = parse_card(item.canonical.as_bytes())?;
                Some((id, version, item.guid))
            })
            .collect()
    }
}

/// The logical id and version a card carries (`N:K<id>`, `TEL:<100000 + version>`).
fn parse_card(bytes: &[u8]) -> Option<(u32, u32)> {
    let text = String::from_utf8_lossy(bytes);
    let mut id = None;
    let mut version = None;
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.split(';').next().unwrap_or_default();
        if name.eq_ignore_ascii_case("N") {
            id = value.strip_prefix('K')?.split(';').next()?.parse().ok();
        } else if name.eq_ignore_ascii_case("TEL") {
            version = value.trim().parse::<u32>().ok().map(|v| v - 100_000);
        }
    }
    Some((id?, version?))
}

fn phone_card(id: u32, version: u32) -> PhoneItem {
    PhoneItem::new(
        "text/x-vcard",
        format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:K{id};Kill\r\nTEL;CELL:{}\r\nEND:VCARD\r\n",
            100_000 + version
        ),
    )
}

/// Live contacts on the phone as (logical id, version, LUID).
fn phone_contacts(phone: &EmulatedPhone) -> Vec<(u32, u32, String)> {
    phone
        .store()
        .datastore(Datastore::Contacts)
        .items()
        .iter()
        .filter_map(|(luid, item)| {
            let (id, version) = parse_card(&item.data)?;
            Some((id, version, luid.clone()))
        })
        .collect()
}

/// The user's edits between two syncs, on both sides, kept in the model.
fn edit(rng: &mut Rng, model: &mut Model, phone: &mut EmulatedPhone, pc: &mut Pc) {
    for _ in 0..1 + rng.below(4) {
        let side = if rng.below(2) == 0 {
            Side::Phone
        } else {
            Side::Pc
        };
        let live: Vec<u32> = model
            .items
            .iter()
            .filter(|(id, v)| v.is_some() && model.edited_on.get(id).is_none_or(|s| *s == side))
            .map(|(id, _)| *id)
            .collect();
        let action = if live.is_empty() { 0 } else { rng.below(3) };
        if action == 0 {
            let id = model.next_id;
            model.next_id += 1;
            model.items.insert(id, Some(0));
            model.edited_on.insert(id, side);
            match side {
                Side::Phone => {
                    phone
                        .store_mut()
                        .add(Datastore::Contacts, phone_card(id, 0));
                }
                Side::Pc => {
                    let card = Pc::card(id, 0);
                    let now = pc.tick();
                    pc.store
                        .transaction(|tx| {
                            tx.add_item(
                                Datastore::Contacts,
                                card.as_content(),
                                &Cause::pc(Reason::AddedOnPc),
                                now,
                            )
                            .map(|_| ())
                        })
                        .expect("add on the PC");
                }
            }
            continue;
        }
        let id = live[rng.below(live.len())];
        // The side must hold the item to edit it (a cut may have kept it from arriving).
        let held_on_phone = phone_contacts(phone).into_iter().find(|c| c.0 == id);
        let held_on_pc = pc.contacts().into_iter().find(|c| c.0 == id);
        let version = model.items[&id].expect("live") + 1;
        match (side, action) {
            (Side::Phone, 1) => {
                let Some((_, _, luid)) = held_on_phone else {
                    continue;
                };
                let data = phone_card(id, version).data;
                phone.store_mut().replace(Datastore::Contacts, &luid, data);
                model.items.insert(id, Some(version));
            }
            (Side::Phone, _) => {
                let Some((_, _, luid)) = held_on_phone else {
                    continue;
                };
                phone.store_mut().delete(Datastore::Contacts, &luid);
                model.items.insert(id, None);
            }
            (Side::Pc, 1) => {
                let Some((_, _, guid)) = held_on_pc else {
                    continue;
                };
                let card = Pc::card(id, version);
                let now = pc.tick();
                pc.store
                    .transaction(|tx| {
                        tx.replace_item(
                            guid,
                            card.as_content(),
                            &Cause::pc(Reason::ReplacedOnPc),
                            now,
                        )
                        .map(|_| ())
                    })
                    .expect("replace on the PC");
                model.items.insert(id, Some(version));
            }
            (Side::Pc, _) => {
                let Some((_, _, guid)) = held_on_pc else {
                    continue;
                };
                let now = pc.tick();
                pc.store
                    .transaction(|tx| {
                        tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), now)
                            .map(|_| ())
                    })
                    .expect("delete on the PC");
                model.items.insert(id, None);
            }
        }
        model.edited_on.insert(id, side);
    }
}

/// What a session came to.
struct SessionEnd {
    completed: bool,
    forced_slow: bool,
}

/// One phone-started two-way session, interrupted as asked.
fn run_session(
    phone: &mut EmulatedPhone,
    pc: &mut Pc,
    interruption: Option<Interruption>,
) -> SessionEnd {
    let mut session = Session::new(
        pc.config.clone(),
        SessionParams {
            transport: "obex-bluetooth".into(),
            resp_uri: None,
            seed: pc.now as u64,
        },
    );
    let request = SyncRequest::all(phone.profile(), SyncMode::TwoWay);
    let wall = UnixMillis(pc.now as u64);
    let mut bytes = match phone.start_sync(&request, wall) {
        Ok(first) => first.bytes,
        Err(e) => panic!("the phone cannot start: {e}"),
    };
    let mut sent = 0;
    loop {
        sent += 1;
        if sent > 5_000 {
            panic!("no end after 5,000 messages");
        }
        let now = pc.tick();
        if let Some(Interruption::ServerKilled { at }) = interruption {
            if at == sent {
                let tx = pc.store.begin().expect("begin");
                let _ = session.receive(&tx, &bytes, now);
                drop(tx);
                phone.abort();
                return SessionEnd {
                    completed: false,
                    forced_slow: false,
                };
            }
        }
        let tx = pc.store.begin().expect("begin");
        let reply = match session.receive(&tx, &bytes, now) {
            Ok(reply) => reply,
            Err(e) => panic!("the engine refused message {sent}: {e}"),
        };
        tx.commit().expect("commit");
        let cut_here = match interruption {
            Some(Interruption::LinkCut {
                after,
                phone_reads_reply,
            }) if after == sent => Some(phone_reads_reply),
            _ => None,
        };
        if cut_here == Some(false) {
            phone.abort();
            let now = pc.tick();
            pc.store
                .transaction(|tx| session.abort(tx, now))
                .expect("abort");
            return SessionEnd {
                completed: false,
                forced_slow: false,
            };
        }
        match phone.receive(&reply.bytes, UnixMillis(pc.now as u64)) {
            Ok(Step::Send(next)) if cut_here.is_none() => bytes = next.bytes,
            Ok(Step::Send(_)) => {
                phone.abort();
                let now = pc.tick();
                pc.store
                    .transaction(|tx| session.abort(tx, now))
                    .expect("abort");
                return SessionEnd {
                    completed: false,
                    forced_slow: false,
                };
            }
            Ok(Step::Finished(report)) => {
                let forced_slow = report
                    .datastores
                    .iter()
                    .any(|d| d.requested == SyncMode::TwoWay && d.mode == SyncMode::Slow);
                return SessionEnd {
                    completed: report.completed,
                    forced_slow,
                };
            }
            Err(e) => panic!("the phone refused the PC's answer: {e}"),
        }
    }
}

#[derive(Default, Debug)]
struct Damage {
    lost: usize,
    duplicated: usize,
    resurrected: usize,
    reverted: usize,
}

impl Damage {
    fn total(&self) -> usize {
        self.lost + self.duplicated + self.resurrected + self.reverted
    }

    /// One side's holdings against the model.
    fn count(&mut self, model: &Model, held: &[(u32, u32)]) {
        let mut copies: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (id, version) in held {
            copies.entry(*id).or_default().push(*version);
        }
        for (id, expected) in &model.items {
            let versions = copies.get(id).map(Vec::as_slice).unwrap_or_default();
            match expected {
                None if !versions.is_empty() => {
                    if std::env::var_os("KILL_LOOP_DEBUG").is_some() {
                        eprintln!("resurrected: K{id} {versions:?}");
                    }
                    self.resurrected += 1
                }
                None => {}
                Some(_) if versions.is_empty() => self.lost += 1,
                Some(version) => {
                    if versions.len() > 1 {
                        self.duplicated += versions.len() - 1;
                    }
                    if !versions.contains(version) {
                        self.reverted += 1;
                    }
                }
            }
        }
    }
}

struct Options {
    rounds: usize,
    seed: u64,
    profiles: Vec<DeviceProfile>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        rounds: 200,
        seed: 1,
        profiles: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--profile" => {
                let name = value()?;
                let profile = DeviceProfile::builtin(&name)
                    .ok_or(format!("--profile: no model named {name:?}"))?;
                options.profiles.push(profile);
            }
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.profiles.is_empty() {
        options.profiles = ["nokia-6230i", "sonyericsson-k750i", "nokia-e51"]
            .iter()
            .filter_map(|name| DeviceProfile::builtin(name))
            .collect();
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("kill_loop: {e}");
            return ExitCode::from(2);
        }
    };
    let mut damaged = false;
    for profile in &options.profiles {
        let mut rng = Rng::new(options.seed);
        let mut model = Model::default();
        let mut phone =
            EmulatedPhone::new(profile.clone(), PhoneStore::new(), PhoneConfig::default());
        let mut pc = Pc {
            store: Store::open_in_memory().expect("store"),
            config: Arc::new(ServerConfig::default()),
            now: 1_160_000_000_000,
        };
        let (mut kills, mut after_kill, mut forced_slow, mut integrity_failures) = (0, 0, 0, 0);
        let mut last_was_cut = false;
        for _ in 0..options.rounds {
            edit(&mut rng, &mut model, &mut phone, &mut pc);
            let interruption = match rng.below(4) {
                0 => None,
                1 => Some(Interruption::ServerKilled {
                    at: 1 + rng.below(6),
                }),
                _ => Some(Interruption::LinkCut {
                    after: 1 + rng.below(6),
                    phone_reads_reply: rng.below(2) == 0,
                }),
            };
            let end = run_session(&mut phone, &mut pc, interruption);
            if let Some(watch) = std::env::var("KILL_LOOP_WATCH")
                .ok()
                .and_then(|w| w.parse::<u32>().ok())
            {
                eprintln!(
                    "{interruption:?} completed={} model={:?} phone={:?} pc={:?}",
                    end.completed,
                    model.items.get(&watch),
                    phone_contacts(&phone)
                        .into_iter()
                        .filter(|c| c.0 == watch)
                        .collect::<Vec<_>>(),
                    pc.contacts()
                        .into_iter()
                        .filter(|c| c.0 == watch)
                        .collect::<Vec<_>>()
                );
            }
            if last_was_cut {
                after_kill += 1;
                forced_slow += usize::from(end.forced_slow);
            }
            last_was_cut = !end.completed;
            kills += usize::from(!end.completed);
            if end.completed {
                model.edited_on.clear();
            }
            if !pc
                .store
                .check_integrity()
                .expect("integrity check")
                .is_empty()
            {
                integrity_failures += 1;
            }
        }
        // Uncut syncs until both sides settle.
        for _ in 0..3 {
            let end = run_session(&mut phone, &mut pc, None);
            assert!(end.completed, "an uncut session did not complete");
        }
        let mut damage = Damage::default();
        let on_phone: Vec<(u32, u32)> = phone_contacts(&phone)
            .into_iter()
            .map(|(id, v, _)| (id, v))
            .collect();
        let on_pc: Vec<(u32, u32)> = pc
            .contacts()
            .into_iter()
            .map(|(id, v, _)| (id, v))
            .collect();
        damage.count(&model, &on_phone);
        damage.count(&model, &on_pc);
        let live = model.items.values().filter(|v| v.is_some()).count();
        println!(
            "{:<20} rounds {:>5}  interrupted {:>5}  forced slow {:>4}/{:<4}  items {:>4} live / {:>4} made  \
             lost {}  duplicated {}  resurrected {}  reverted {}  integrity failures {}",
            profile.name,
            options.rounds,
            kills,
            forced_slow,
            after_kill,
            live,
            model.items.len(),
            damage.lost,
            damage.duplicated,
            damage.resurrected,
            damage.reverted,
            integrity_failures
        );
        damaged |= damage.total() > 0 || integrity_failures > 0;
    }
    if damaged {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
