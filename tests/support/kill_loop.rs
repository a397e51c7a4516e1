//! The kill loop: two-way syncs of an emulated phone with handsync's engine and SQLite store,
//! edits on both sides between rounds, and the link cut or the server killed at random
//! moments; then uncut syncs, and both sides compared with a model of what they should hold.
//! Shared by `tests/kill_loop.rs` (a short run in CI) and `examples/kill_loop.rs` (long runs).
//!
//! It reports what a user would lose: items lost, duplicated, resurrected (deleted, then
//! back) or reverted (an edit undone), PC UIDs lost, and how many syncs after a cut were
//! forced slow. Seeded and repeatable.

#![allow(dead_code)] // the CI loop, the long loop and the loop over the program each use a part

use std::collections::BTreeMap;
use std::sync::Arc;

use handsync::emulator::{
    DeviceProfile, EmulatedPhone, PhoneConfig, PhoneItem, PhoneStore, Rng, Step, SyncMode,
    SyncRequest, UnixMillis,
};
use handsync::engine::{content, ServerConfig, Session, SessionParams};
use handsync::store::{Cause, Datastore, Guid, Reason, Store, Timestamp};
use handsync::syncml::{Command, Message};

/// Which side edited an item since the last completed session: the model keeps edits of
/// one item on one side, so every expected outcome is free of conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Phone,
    Pc,
}

/// What the user expects: each logical item's current version, or deleted.
#[derive(Default)]
pub struct Model {
    pub items: BTreeMap<u32, Option<u32>>,
    edited_on: BTreeMap<u32, Side>,
    /// Items made on the PC: their UID must stay.
    pub made_on_pc: std::collections::BTreeSet<u32>,
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

pub struct Pc {
    pub store: Store,
    config: Arc<ServerConfig>,
    now: i64,
}

impl Pc {
    fn tick(&mut self) -> Timestamp {
        self.now += 500;
        Timestamp(self.now)
    }

    /// A contact made on the PC; its UID (which phones do not keep) must survive every sync.
    fn card(name: u32, version: u32) -> content::Incoming {
        let text = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:pc-K{name}\r\nN:K{name};Kill\r\nFN:Kill K{name}\r\nTEL;TYPE=CELL:{}\r\nEND:VCARD\r\n",
            100_000 + version
        );
        let phone = content::phone_for(None, None);
        content::from_phone(&phone, Datastore::Contacts, "text/vcard", text.as_bytes())
            .expect("a readable card")
    }

    /// The PC side of a loop over the program: its SQLite file, the clock read from the
    /// system as `handsync serve` reads it.
    pub fn on_file(store: Store) -> Pc {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_millis() as i64;
        Pc {
            store,
            config: Arc::new(ServerConfig::default()),
            now,
        }
    }

    /// Live contacts as (logical id, version, guid).
    pub fn contacts(&mut self) -> Vec<(u32, u32, Guid)> {
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
pub fn phone_contacts(phone: &PhoneStore) -> Vec<(u32, u32, String)> {
    phone
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
pub fn edit(rng: &mut Rng, model: &mut Model, phone: &mut PhoneStore, pc: &mut Pc) {
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
                    phone.add(Datastore::Contacts, phone_card(id, 0));
                }
                Side::Pc => {
                    model.made_on_pc.insert(id);
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
                phone.replace(Datastore::Contacts, &luid, data);
                model.items.insert(id, Some(version));
            }
            (Side::Phone, _) => {
                let Some((_, _, luid)) = held_on_phone else {
                    continue;
                };
                phone.delete(Datastore::Contacts, &luid);
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
    /// The link broke with our answer carrying Adds unread: the phone cannot owe Maps for
    /// them, and the next sync must find out by a slow sync whether it holds them.
    adds_lost_in_flight: bool,
}

/// One phone-started two-way session, interrupted as asked.
fn run_session(
    phone: &mut EmulatedPhone,
    pc: &mut Pc,
    pc_starts: bool,
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
    let mut request = SyncRequest::all(phone.profile(), SyncMode::TwoWay);
    // A PC-started session: the phone answers a notification with Alert codes 206..210.
    request.server_alerted = pc_starts;
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
                    adds_lost_in_flight: false,
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
                adds_lost_in_flight: carries_adds(&reply.message),
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
                    adds_lost_in_flight: false,
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
                    adds_lost_in_flight: false,
                };
            }
            Err(e) => panic!("the phone refused the PC's answer: {e}"),
        }
    }
}

/// Whether a message of ours carries an Add.
fn carries_adds(message: &Message) -> bool {
    message.body.commands.iter().any(|command| match command {
        Command::Sync(sync) => sync
            .commands
            .iter()
            .any(|inner| matches!(inner, Command::Add(_))),
        _ => false,
    })
}

#[derive(Default, Debug)]
pub struct Damage {
    pub lost: usize,
    pub duplicated: usize,
    pub resurrected: usize,
    pub reverted: usize,
}

impl Damage {
    /// One side's holdings against the model.
    pub fn count(&mut self, model: &Model, held: &[(u32, u32)]) {
        let mut copies: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (id, version) in held {
            copies.entry(*id).or_default().push(*version);
        }
        for (id, expected) in &model.items {
            let versions = copies.get(id).map(Vec::as_slice).unwrap_or_default();
            match expected {
                None if !versions.is_empty() => self.resurrected += 1,
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

impl Model {
    /// A session completed: both sides agree, so any side may edit any item again.
    pub fn session_completed(&mut self) {
        self.edited_on.clear();
    }
}

/// What one run of the loop came to, for one phone model.
#[derive(Debug, Default)]
pub struct LoopReport {
    pub profile: String,
    pub rounds: usize,
    /// Sessions that did not complete (link cut, server killed).
    pub interrupted: usize,
    /// Sessions right after an interrupted one, and how many of them were forced slow: all
    /// of them, and those after a cut that left the protocol no other way (our Adds lost in
    /// flight).
    pub after_interruption: usize,
    pub forced_slow: usize,
    pub forced_slow_adds_in_flight: usize,
    pub live_items: usize,
    pub items_made: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub resurrected: usize,
    pub reverted: usize,
    /// Items made on the PC whose UID did not survive.
    pub uids_lost: usize,
    /// Rounds after which `PRAGMA integrity_check` complained.
    pub integrity_failures: usize,
}

impl LoopReport {
    pub fn damage(&self) -> usize {
        self.lost
            + self.duplicated
            + self.resurrected
            + self.reverted
            + self.uids_lost
            + self.integrity_failures
    }
}

impl std::fmt::Display for LoopReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<20} rounds {:>5}  interrupted {:>5}  forced slow {:>3}/{:<5} ({} Adds in flight)  items {:>4} live / {:>4} made  \
             lost {}  duplicated {}  resurrected {}  reverted {}  UIDs lost {}  integrity failures {}",
            self.profile,
            self.rounds,
            self.interrupted,
            self.forced_slow,
            self.after_interruption,
            self.forced_slow_adds_in_flight,
            self.live_items,
            self.items_made,
            self.lost,
            self.duplicated,
            self.resurrected,
            self.reverted,
            self.uids_lost,
            self.integrity_failures
        )
    }
}

/// Runs the loop for one phone model: a first complete sync, then `rounds` rounds of edits
/// and a session (phone- or PC-started) left whole, cut after a random message (the phone
/// reading the last answer or not) or with the server killed while it handles one; then
/// uncut syncs until both sides settle, and both compared with the model.
pub fn run_loop(profile: &DeviceProfile, rounds: usize, seed: u64) -> LoopReport {
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    let mut phone = EmulatedPhone::new(profile.clone(), PhoneStore::new(), PhoneConfig::default());
    let mut pc = Pc {
        store: Store::open_in_memory().expect("store"),
        config: Arc::new(ServerConfig::default()),
        now: 1_160_000_000_000,
    };
    let mut report = LoopReport {
        profile: profile.name.clone(),
        rounds,
        ..LoopReport::default()
    };
    // The first sync is slow (the phone has no anchors) and completes: a slow sync cannot
    // carry deletions, so a delete made before any sync completed would come back by design
    // (docs/engine.md, "Slow syncs").
    assert!(run_session(&mut phone, &mut pc, false, None).completed);
    let mut last_was_cut = false;
    let mut adds_lost_in_flight = false;
    for _ in 0..rounds {
        edit(&mut rng, &mut model, phone.store_mut(), &mut pc);
        let pc_starts = rng.below(3) == 0;
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
        let end = run_session(&mut phone, &mut pc, pc_starts, interruption);
        if last_was_cut {
            report.after_interruption += 1;
            report.forced_slow += usize::from(end.forced_slow);
            report.forced_slow_adds_in_flight +=
                usize::from(end.forced_slow && adds_lost_in_flight);
        }
        last_was_cut = !end.completed;
        adds_lost_in_flight = end.adds_lost_in_flight;
        report.interrupted += usize::from(!end.completed);
        if end.completed {
            model.session_completed();
        }
        if !pc
            .store
            .check_integrity()
            .expect("integrity check")
            .is_empty()
        {
            report.integrity_failures += 1;
        }
    }
    // Uncut syncs until both sides settle.
    for _ in 0..3 {
        let end = run_session(&mut phone, &mut pc, false, None);
        assert!(end.completed, "an uncut session did not complete");
    }
    let mut damage = Damage::default();
    let on_phone: Vec<(u32, u32)> = phone_contacts(phone.store())
        .into_iter()
        .map(|(id, v, _)| (id, v))
        .collect();
    let on_pc = pc.contacts();
    damage.count(&model, &on_phone);
    damage.count(
        &model,
        &on_pc.iter().map(|(id, v, _)| (*id, *v)).collect::<Vec<_>>(),
    );
    for (id, _, guid) in &on_pc {
        if model.made_on_pc.contains(id) {
            let item = pc.store.read(|tx| tx.item(*guid)).expect("item");
            if !item.canonical.contains(&format!("UID:pc-K{id}")) {
                report.uids_lost += 1;
            }
        }
    }
    report.live_items = model.items.values().filter(|v| v.is_some()).count();
    report.items_made = model.items.len();
    report.lost = damage.lost;
    report.duplicated = damage.duplicated;
    report.resurrected = damage.resurrected;
    report.reverted = damage.reverted;
    report
}
