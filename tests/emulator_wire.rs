//! The phone emulator against a running handsync over real sockets: the daemon's OBEX-over-TCP
//! listener (hub, engine, database file) when the phone starts, and `call_phone` (SAN, then
//! the session) when the PC starts; every built-in profile, first slow sync, changes on both
//! sides, deletes, a conflict, a large photo through small messages, and connections dropped
//! in the middle of a PUT and in the middle of a package.

#[path = "support/emulator.rs"]
mod emulator_support;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use handsync::daemon::{Daemon, Settings};
use handsync::emulator::{
    generate, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig, PhoneEvent, PhoneStore,
    SessionReport, SyncMode, SyncRequest,
};
use handsync::engine::ServerConfig;
use handsync::obex::{ObexClientConfig, ObexServerConfig};
use handsync::store::{Datastore, SessionResult, Store};
use handsync::syncml::san::{San, SanSync, SyncType};
use handsync::transport::emulated::{pc_starts, phone_starts, EmulateError};
use handsync::transport::obex::{call_phone, CallOptions, CallReport, SanChoice, SanSent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use emulator_support::{assert_converged, pc_vcard, phone_vcard, Pc};

/// handsync running on a database file, and the test's view into that file.
struct Lab {
    daemon: Option<Daemon>,
    pc: Pc,
    runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn new(name: &str) -> Lab {
        let dir = support::scratch_dir(name);
        let db = dir.join("handsync.db");
        let daemon = Daemon::start(
            Store::open(&db).unwrap(),
            Settings {
                server: ServerConfig::default(),
                http_listen: Vec::new(),
                obex_tcp_listen: vec!["127.0.0.1:0".parse().unwrap()],
                idle_timeout: Duration::from_secs(300),
                limits: Default::default(),
                cluster: Default::default(),
                trusted_proxies: Default::default(),
            },
        )
        .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let pc = Pc {
            store: Store::open(&db).unwrap(),
            config: Arc::new(ServerConfig::default()),
            now,
        };
        Lab {
            daemon: Some(daemon),
            pc,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn obex_address(&self) -> std::net::SocketAddr {
        self.daemon.as_ref().unwrap().obex_tcp_addresses()[0]
    }

    /// The phone connects and runs a session; `cut_after` bytes from the PC, the link drops.
    fn phone_sync(
        &mut self,
        phone: EmulatedPhone,
        mode: SyncMode,
        cut_after: Option<usize>,
    ) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
        self.phone_sync_counting(phone, mode, cut_after, &Arc::new(AtomicUsize::new(0)))
    }

    /// The same, counting the bytes that came from the PC.
    fn phone_sync_counting(
        &mut self,
        phone: EmulatedPhone,
        mode: SyncMode,
        cut_after: Option<usize>,
        from_pc: &Arc<AtomicUsize>,
    ) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
        let from_pc = from_pc.clone();
        let address = self.obex_address();
        let request = SyncRequest::all(phone.profile(), mode);
        self.runtime.block_on(async move {
            let stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let config = ObexClientConfig {
                max_packet_length: 512,
                max_object_size: 8 * 1024 * 1024,
                response_timeout: Some(Duration::from_secs(30)),
            };
            match cut_after {
                None => phone_starts(stream, phone, request, config, &mut |_| {}).await,
                Some(limit) => {
                    let (near, far) = tokio::io::duplex(64 * 1024);
                    tokio::spawn(cutting_proxy(far, stream, limit, from_pc));
                    phone_starts(near, phone, request, config, &mut |_| {}).await
                }
            }
        })
    }

    /// The PC calls the phone with a SAN naming the phone's own datastore names.
    fn pc_sync(
        &mut self,
        phone: EmulatedPhone,
        sync_type: SyncType,
    ) -> (
        EmulatedPhone,
        Result<SessionReport, EmulateError>,
        CallReport,
    ) {
        let hub = self.daemon.as_ref().unwrap().hub();
        let san = San::new(
            &phone.profile().server_identifier,
            42,
            phone
                .profile()
                .datastores
                .iter()
                .map(|d| SanSync {
                    sync_type,
                    future_use: 0,
                    content_type: 0,
                    server_uri: d.server_uri.clone(),
                })
                .collect(),
        );
        let options = CallOptions {
            san,
            choice: SanChoice::Auto,
            san_password: Vec::new(),
            san_nonce: Vec::new(),
            max_packet_length: 1024,
            max_object_size: 8 * 1024 * 1024,
            response_timeout: Duration::from_secs(30),
        };
        self.runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let phone_side = async {
                let (stream, _) = listener.accept().await.unwrap();
                let config = ObexServerConfig {
                    max_packet_length: 700,
                    ..ObexServerConfig::default()
                };
                let mut events = Vec::new();
                let (phone, result) = pc_starts(
                    stream,
                    phone,
                    config,
                    Duration::from_secs(30),
                    &mut |e: &PhoneEvent| events.push(format!("{e:?}")),
                )
                .await;
                (phone, result, events)
            };
            let pc_side = async {
                let stream = tokio::net::TcpStream::connect(address).await.unwrap();
                call_phone(stream, hub, "obex-tcp", &options).await
            };
            let ((phone, result, events), call) = tokio::join!(phone_side, pc_side);
            let call = call.unwrap_or_else(|e| {
                panic!(
                    "{}: the PC's call failed: {e}; the phone: {events:?}",
                    phone.profile().name
                )
            });
            (phone, result, call)
        })
    }

    fn sessions(&mut self) -> Vec<handsync::store::SessionRecord> {
        self.pc.store.read(|tx| tx.sessions(None, 100)).unwrap()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.shutdown();
        }
    }
}

/// Forwards bytes both ways and drops the link once `limit` bytes came from the PC.
async fn cutting_proxy(
    mut phone: tokio::io::DuplexStream,
    mut pc: tokio::net::TcpStream,
    limit: usize,
    counted: Arc<AtomicUsize>,
) {
    let mut from_pc = 0usize;
    let mut phone_buffer = vec![0u8; 4096];
    let mut pc_buffer = vec![0u8; 4096];
    loop {
        tokio::select! {
            read = phone.read(&mut phone_buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => if pc.write_all(&phone_buffer[..n]).await.is_err() { return },
            },
            read = pc.read(&mut pc_buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let take = n.min(limit - from_pc);
                    if phone.write_all(&pc_buffer[..take]).await.is_err() { return }
                    from_pc += take;
                    counted.store(from_pc, Ordering::SeqCst);
                    if from_pc >= limit {
                        return; // both ends dropped: the link is gone
                    }
                }
            },
        }
    }
}

fn data(profile: &DeviceProfile, contacts: usize, seed: u64) -> EmulatedPhone {
    let spec = DataSetSpec {
        contacts,
        events: 4,
        tasks: 0,
        notes: 0,
        photo_bytes: None,
        seed,
    };
    EmulatedPhone::new(
        profile.clone(),
        generate(profile, &spec),
        PhoneConfig::default(),
    )
}

fn completed(result: Result<SessionReport, EmulateError>) -> SessionReport {
    let report = result.expect("the session runs");
    assert!(report.completed, "{report:?}");
    report
}

/// First sync, edits on both sides, a delete each way, a conflict: always converged.
fn lifecycle(lab: &mut Lab, mut phone: EmulatedPhone, pc_starts: bool) {
    let name = phone.profile().name.clone();
    let run = |lab: &mut Lab, phone: EmulatedPhone| -> (EmulatedPhone, SessionReport) {
        if pc_starts {
            let binary_san = phone.profile().binary_san;
            let (phone, result, call) = lab.pc_sync(phone, SyncType::TwoWay);
            assert!(call.completed, "{name}");
            // SyncML 1.1-generation phones refuse SAN 1.2: handsync falls back.
            let expected = if binary_san {
                SanSent::V1_2
            } else {
                SanSent::Legacy
            };
            assert_eq!(call.san, expected, "{name}");
            (phone, completed(result))
        } else {
            let (phone, result) = lab.phone_sync(phone, SyncMode::TwoWay, None);
            (phone, completed(result))
        }
    };
    let (next, report) = run(lab, phone);
    phone = next;
    assert!(
        report.datastores.iter().all(|d| d.mode == SyncMode::Slow),
        "{name}: a first sync is slow: {report:?}"
    );
    assert_converged(&phone, &mut lab.pc);

    // Both sides change things.
    let pc_new = lab
        .pc
        .add(Datastore::Contacts, &pc_vcard("Added", "+4930111"));
    let first_pc = lab.pc.items(Datastore::Contacts)[0].guid;
    lab.pc.replace(
        first_pc,
        Datastore::Contacts,
        &pc_vcard("Changed", "+4930222"),
    );
    phone
        .store_mut()
        .add(Datastore::Contacts, phone_vcard("PhoneAdded", "+4917333"));
    let luids: Vec<String> = phone
        .store()
        .datastore(Datastore::Contacts)
        .items()
        .keys()
        .cloned()
        .collect();
    phone
        .store_mut()
        .delete(Datastore::Contacts, &luids[luids.len() - 1]);
    let (next, _) = run(lab, phone);
    phone = next;
    assert_converged(&phone, &mut lab.pc);

    // The PC deletes what it added; the same contact changes on both sides (phone wins).
    lab.pc.delete(pc_new);
    let shared = lab.pc.items(Datastore::Contacts)[1].guid;
    lab.pc
        .replace(shared, Datastore::Contacts, &pc_vcard("PcSide", "+4930444"));
    let (next, _) = run(lab, phone);
    phone = next;
    assert_converged(&phone, &mut lab.pc);
    let count = lab.pc.items(Datastore::Contacts).len();
    assert_eq!(
        phone.store().datastore(Datastore::Contacts).items().len(),
        count,
        "{name}"
    );
}

#[test]
fn every_profile_syncs_when_the_phone_starts_over_tcp() {
    for (index, profile) in DeviceProfile::all().into_iter().enumerate() {
        let mut lab = Lab::new(&format!("phone-starts-{}", profile.name));
        let phone = data(&profile, 25, index as u64 + 1);
        lifecycle(&mut lab, phone, false);
        let sessions = lab.sessions();
        assert_eq!(sessions.len(), 3, "{}", profile.name);
        assert!(sessions
            .iter()
            .all(|s| s.result == SessionResult::Completed && s.transport == "obex-tcp"));
    }
}

#[test]
fn every_profile_syncs_when_the_pc_starts_over_tcp() {
    for (index, profile) in DeviceProfile::all().into_iter().enumerate() {
        let mut lab = Lab::new(&format!("pc-starts-{}", profile.name));
        let phone = data(&profile, 25, index as u64 + 10);
        lifecycle(&mut lab, phone, true);
        assert!(lab
            .sessions()
            .iter()
            .all(|s| s.result == SessionResult::Completed));
    }
}

#[test]
fn a_150_kb_photo_crosses_in_3000_byte_messages_both_ways() {
    let mut profile = DeviceProfile::builtin("nokia-e51").unwrap();
    profile.max_msg_size = 3000;
    let spec = DataSetSpec {
        contacts: 3,
        events: 0,
        tasks: 0,
        notes: 0,
        photo_bytes: Some(150 * 1024),
        seed: 5,
    };
    let phone = EmulatedPhone::new(
        profile.clone(),
        generate(&profile, &spec),
        PhoneConfig::default(),
    );
    let mut lab = Lab::new("photo");
    let (_, result) = lab.phone_sync(phone, SyncMode::Slow, None);
    let report = completed(result);
    assert!(report.messages_sent > 50, "{report:?}");
    let items = lab.pc.items(Datastore::Contacts);
    assert!(
        items.iter().any(|i| i.raw.len() > 150 * 1024),
        "the photo arrived whole"
    );

    // A second phone of the same kind gets it from the PC, in chunks.
    let mut other_profile = profile.clone();
    other_profile.device_id = "IMEI:356954000000002".into();
    let other = EmulatedPhone::new(other_profile, PhoneStore::new(), PhoneConfig::default());
    let (other, result) = lab.phone_sync(other, SyncMode::TwoWay, None);
    completed(result);
    assert_converged(&other, &mut lab.pc);
}

#[test]
fn a_link_dropped_inside_a_put_or_a_package_loses_nothing() {
    let profile = DeviceProfile::builtin("sonyericsson-k750i").unwrap();
    // Find how many bytes a whole first session takes, then drop the link at points inside
    // it: in the middle of the phone's multi-packet PUTs and between the PC's messages.
    let mut probe = Lab::new("drop-probe");
    let total = Arc::new(AtomicUsize::new(0));
    let (_, result) = probe.phone_sync_counting(
        data(&profile, 40, 3),
        SyncMode::TwoWay,
        Some(usize::MAX),
        &total,
    );
    completed(result);
    drop(probe);
    let total = total.load(Ordering::SeqCst);
    assert!(total > 1000, "{total}");
    for step in 1..8 {
        let limit = total * step / 8;
        let mut lab = Lab::new(&format!("drop-{limit}"));
        let phone = data(&profile, 40, 3);
        let (phone, result) = lab.phone_sync(phone, SyncMode::TwoWay, Some(limit));
        assert!(result.is_err(), "cut after {limit} bytes: {result:?}");
        // handsync recorded the cut once it noticed the link was gone.
        let (phone, result) = lab.phone_sync(phone, SyncMode::TwoWay, None);
        completed(result);
        assert_converged(&phone, &mut lab.pc);
        let sessions = lab.sessions();
        assert_eq!(sessions[0].result, SessionResult::Completed, "{limit}");
        assert!(
            sessions[1..].iter().all(|s| s.result == SessionResult::Cut),
            "cut after {limit}: {sessions:?}"
        );
    }
}
