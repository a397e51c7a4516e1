//! The emulated phone against handsync's real engine, in memory: one store transaction per
//! message as a driver does it, every message checked against the receiver's MaxMsgSize, and
//! helpers to compare both sides' items by identity key.
#![allow(dead_code)] // each test binary uses its own subset

use std::sync::Arc;

use handsync::emulator::{
    DeviceProfile, EmulatedPhone, PhoneConfig, PhoneItem, PhoneStore, SessionReport, Step,
    SyncMode, SyncRequest, UnixMillis,
};
use handsync::engine::{content, EngineError, Reply, ServerConfig, Session, SessionParams};
use handsync::store::{Cause, Datastore, Guid, ItemRecord, Reason, Store, Timestamp};
use handsync::syncml;

/// handsync's side: a store and the engine's configuration.
pub struct Pc {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// The store's clock (ms); the phone's clock runs with it.
    pub now: i64,
}

impl Pc {
    pub fn new(config: ServerConfig) -> Pc {
        Pc {
            store: Store::open_in_memory().expect("in-memory store"),
            config: Arc::new(config),
            now: 1_160_000_000_000,
        }
    }

    pub fn session(&self) -> Session {
        Session::new(
            self.config.clone(),
            SessionParams {
                transport: "obex-bluetooth".into(),
                resp_uri: None,
                seed: 7,
            },
        )
    }

    pub fn tick(&mut self) -> UnixMillis {
        self.now += 1000;
        UnixMillis(self.now as u64)
    }

    /// One message in, one answer out, in one transaction committed once the engine answered.
    pub fn exchange(&mut self, session: &mut Session, bytes: &[u8]) -> Result<Reply, EngineError> {
        self.now += 500;
        let tx = self.store.begin().expect("begin");
        let reply = session.receive(&tx, bytes, Timestamp(self.now))?;
        tx.commit().expect("commit");
        Ok(reply)
    }

    /// The transport dropped: the engine records the session as cut.
    pub fn cut(&mut self, session: &mut Session) {
        self.now += 500;
        let tx = self.store.begin().expect("begin");
        session.abort(&tx, Timestamp(self.now)).expect("abort");
        tx.commit().expect("commit");
    }

    fn incoming(datastore: Datastore, text: &str) -> content::Incoming {
        let phone = content::phone_for(None, None);
        content::from_phone(
            &phone,
            datastore,
            content::default_content_type(datastore),
            text.as_bytes(),
        )
        .expect("a readable item")
    }

    /// An item added on the PC (an import).
    pub fn add(&mut self, datastore: Datastore, text: &str) -> Guid {
        self.now += 1000;
        let incoming = Pc::incoming(datastore, text);
        let now = Timestamp(self.now);
        self.store
            .transaction(|tx| {
                tx.add_item(
                    datastore,
                    incoming.as_content(),
                    &Cause::pc(Reason::AddedOnPc),
                    now,
                )
                .map(|i| i.guid)
            })
            .expect("add")
    }

    pub fn replace(&mut self, guid: Guid, datastore: Datastore, text: &str) {
        self.now += 1000;
        let incoming = Pc::incoming(datastore, text);
        let now = Timestamp(self.now);
        self.store
            .transaction(|tx| {
                tx.replace_item(
                    guid,
                    incoming.as_content(),
                    &Cause::pc(Reason::ReplacedOnPc),
                    now,
                )
                .map(|_| ())
            })
            .expect("replace");
    }

    pub fn delete(&mut self, guid: Guid) {
        self.now += 1000;
        let now = Timestamp(self.now);
        self.store
            .transaction(|tx| {
                tx.delete_item(guid, &Cause::pc(Reason::DeletedOnPc), now)
                    .map(|_| ())
            })
            .expect("delete");
    }

    pub fn items(&mut self, datastore: Datastore) -> Vec<ItemRecord> {
        self.store
            .read(|tx| tx.items(datastore, false))
            .expect("items")
    }

    /// Identity keys of the live items, sorted (a multiset).
    pub fn keys(&mut self, datastore: Datastore) -> Vec<String> {
        let mut keys: Vec<String> = self
            .items(datastore)
            .into_iter()
            .map(|i| i.identity_key.unwrap_or_default())
            .collect();
        keys.sort();
        keys
    }
}

/// Identity keys of a phone datastore's items, read as the engine reads this phone's data.
pub fn phone_keys(phone: &EmulatedPhone, datastore: Datastore) -> Vec<String> {
    let profile = phone.profile();
    let spec = profile
        .datastore(datastore)
        .expect("the phone has the datastore");
    let devinf = profile.devinf();
    let reader = content::phone_for(Some(&devinf), Some(&spec.local_uri));
    // A calendar that holds to-dos: the PC keeps its events in Calendar, its to-dos in Tasks.
    let is_todo = |data: &[u8]| String::from_utf8_lossy(data).contains("BEGIN:VTODO");
    let mut keys: Vec<String> = phone
        .store()
        .datastore(spec.kind)
        .items()
        .values()
        .filter(|item| !spec.holds_tasks || is_todo(&item.data) == (datastore == Datastore::Tasks))
        .map(|item| {
            content::from_phone(&reader, datastore, &item.content_type, &item.data)
                .unwrap_or_else(|e| panic!("the phone holds an unreadable item: {e}"))
                .identity_key
                .unwrap_or_default()
        })
        .collect();
    keys.sort();
    keys
}

/// What one session looked like.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: Option<SessionReport>,
    /// Messages the phone sent.
    pub sent: Vec<Vec<u8>>,
    pub replies: Vec<Reply>,
    /// The session was cut as asked.
    pub cut: bool,
}

impl Outcome {
    pub fn report(&self) -> &SessionReport {
        self.report.as_ref().expect("the session finished")
    }
}

/// Where a session is cut: after the PC answered the phone's message number `after`; the
/// answer reaches the phone (and is applied there) only when `phone_reads_reply`.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    pub after: usize,
    pub phone_reads_reply: bool,
}

/// Runs one session the phone starts, cut where `cut` says.
pub fn run_session(
    phone: &mut EmulatedPhone,
    pc: &mut Pc,
    request: &SyncRequest,
    cut: Option<Cut>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut session = pc.session();
    let first = phone
        .start_sync(request, pc.tick())
        .expect("the phone starts");
    let mut bytes = first.bytes;
    loop {
        assert!(
            outcome.sent.len() < 5000,
            "{}: no end in sight after 5000 messages",
            phone.profile().name
        );
        // Package 1 goes before the phone knows the PC's MaxMsgSize.
        assert!(
            outcome.sent.is_empty() || bytes.len() as u64 <= pc.config.max_msg_size,
            "a phone message of {} bytes over the PC's MaxMsgSize {}",
            bytes.len(),
            pc.config.max_msg_size
        );
        outcome.sent.push(bytes.clone());
        let reply = pc.exchange(&mut session, &bytes).unwrap_or_else(|e| {
            panic!(
                "the engine refused message {}: {e}\n{}",
                outcome.sent.len(),
                handsync::emulator::display_xml(&syncml::decode(&bytes).unwrap())
            )
        });
        assert!(
            reply.bytes.len() as u64 <= phone.profile().max_msg_size,
            "a PC reply of {} bytes over the phone's MaxMsgSize {}",
            reply.bytes.len(),
            phone.profile().max_msg_size
        );
        outcome.replies.push(reply.clone());
        if let Some(cut) = cut.filter(|c| c.after == outcome.sent.len()) {
            if cut.phone_reads_reply {
                if let Ok(Step::Finished(report)) = phone.receive(&reply.bytes, pc.tick()) {
                    // The reply was the last message: nothing left to cut.
                    outcome.report = Some(report);
                    return outcome;
                }
            }
            phone.abort();
            pc.cut(&mut session);
            outcome.cut = true;
            return outcome;
        }
        match phone.receive(&reply.bytes, pc.tick()) {
            Ok(Step::Send(next)) => {
                assert!(
                    !reply.session_finished,
                    "the engine finished but the phone goes on:\n{}",
                    handsync::emulator::display_xml(&next.message)
                );
                bytes = next.bytes;
            }
            Ok(Step::Finished(report)) => {
                assert!(
                    reply.session_finished,
                    "the phone finished before the engine"
                );
                outcome.report = Some(report);
                return outcome;
            }
            Err(e) => panic!(
                "the phone refused reply {}: {e}\n{}",
                outcome.replies.len(),
                handsync::emulator::display_xml(&reply.message)
            ),
        }
    }
}

/// A complete session of every datastore in `mode`; panics if it does not complete.
pub fn sync_all(phone: &mut EmulatedPhone, pc: &mut Pc, mode: SyncMode) -> SessionReport {
    let request = SyncRequest::all(phone.profile(), mode);
    let outcome = run_session(phone, pc, &request, None);
    let report = outcome.report.expect("finished");
    assert!(
        report.completed,
        "the session did not complete: {report:#?}"
    );
    report
}

/// A phone of a built-in profile with a generated data set.
pub fn phone_with(profile: DeviceProfile, store: PhoneStore) -> EmulatedPhone {
    EmulatedPhone::new(profile, store, PhoneConfig::default())
}

/// The datastores a profile syncs with the PC, as the PC stores them.
pub fn kinds(profile: &DeviceProfile) -> Vec<Datastore> {
    let mut kinds: Vec<Datastore> = profile.datastores.iter().map(|d| d.kind).collect();
    if profile.datastores.iter().any(|d| d.holds_tasks) && !kinds.contains(&Datastore::Tasks) {
        kinds.push(Datastore::Tasks);
    }
    kinds
}

/// Asserts that both sides hold the same items in every datastore of the phone.
pub fn assert_converged(phone: &EmulatedPhone, pc: &mut Pc) {
    for kind in kinds(phone.profile()) {
        let on_phone = phone_keys(phone, kind);
        let on_pc = pc.keys(kind);
        assert_eq!(
            on_phone,
            on_pc,
            "{}: {kind} differs between phone and PC",
            phone.profile().name
        );
    }
}

/// A vCard 2.1 as a user would type it on the PC.
pub fn pc_vcard(name: &str, number: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nN:{name};PC\r\nFN:PC {name}\r\nTEL;TYPE=CELL:{number}\r\nEND:VCARD\r\n")
}

/// An item the phone user adds.
pub fn phone_vcard(name: &str, number: &str) -> PhoneItem {
    PhoneItem::new(
        "text/x-vcard",
        format!(
            "BEGIN:VCARD\r\nVERSION:2.1\r\nN:{name};Phone\r\nTEL;CELL:{number}\r\nEND:VCARD\r\n"
        ),
    )
}

/// Whether the phone can take and send items larger than one message (large objects): a
/// SyncML 1.0 phone cannot, so such items stay where they are.
pub fn carries_large_objects(profile: &DeviceProfile) -> bool {
    profile.supports_large_objects && profile.version != handsync::markup::Version::V1_0
}

/// A photo of `bytes` for phones that can carry it, none for those that cannot.
pub fn photo_for(profile: &DeviceProfile, bytes: usize) -> Option<usize> {
    carries_large_objects(profile).then_some(bytes)
}
