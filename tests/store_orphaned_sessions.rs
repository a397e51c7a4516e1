//! A session whose `handsync serve` was killed in mid-session (SIGKILL: no chance to record
//! anything) is found at the next start and recorded as cut, not left "running" for ever;
//! a session another live `serve` is serving on the same database is left alone.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, SystemTime};

use handsync::emulator::{
    generate, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig, Step, SyncMode, SyncRequest,
    UnixMillis,
};
use handsync::store::{Datastore, SessionRecord, SessionResult, Store};

/// A running `handsync serve` with HTTP on a free loopback port.
struct Serve {
    child: Child,
    address: SocketAddr,
    /// The status lines up to the HTTP one.
    lines: Vec<String>,
    /// Kept open: the daemon prints to it until it stops.
    _stdout: BufReader<ChildStdout>,
}

impl Serve {
    fn start(db: &Path, config_home: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(db)
            .args(["serve", "--http", "127.0.0.1:0", "--no-bluetooth"])
            .env("XDG_CONFIG_HOME", config_home)
            .env_remove("HANDSYNC_DB")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        let address = loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "{lines:?}");
            lines.push(line.trim_end().to_string());
            if let Some(url) = line.trim().strip_prefix("HTTP: listening on http://") {
                break url.trim_end_matches('/').parse().unwrap();
            }
        };
        Serve {
            child,
            address,
            lines,
            _stdout: stdout,
        }
    }

    fn signal(&mut self, signal: i32) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
        self.child.wait().unwrap()
    }
}

/// One SyncML POST on its own connection; the answer's body.
fn post(address: SocketAddr, target: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "POST {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    assert!(raw.starts_with(b"HTTP/1.1 200"), "{:?}", &raw[..end]);
    raw[end + 4..].to_vec()
}

fn path_of(url: &str) -> &str {
    let rest = url.strip_prefix("http://").expect("an http URL");
    rest.find('/').map_or("/", |slash| &rest[slash..])
}

fn now() -> UnixMillis {
    UnixMillis::from_system_time(SystemTime::now())
}

/// The newest session in the database, and its device's contacts sync result.
fn newest_session(db: &Path) -> (SessionRecord, Option<SessionResult>) {
    let mut store = Store::open(db).unwrap();
    store
        .read(|tx| {
            let session = tx.sessions(None, 1)?.remove(0);
            let contacts = tx.device_datastore(session.device, Datastore::Contacts)?;
            Ok::<_, handsync::store::StoreError>((session, contacts.and_then(|d| d.last_result)))
        })
        .unwrap()
}

/// A phone (device `imei`) starts a two-way sync with `serve` and goes silent as soon as
/// the server has begun its contacts sync: the session is left running in `serve`.
fn start_and_abandon_a_session(serve: &Serve, db: &Path, seed: u64) -> SessionRecord {
    let profile = DeviceProfile::builtin("nokia-6230i").unwrap();
    let data = generate(&profile, &DataSetSpec::contacts(5, seed));
    let mut phone = EmulatedPhone::new(profile.clone(), data, PhoneConfig::default());
    let mut outgoing = phone
        .start_sync(&SyncRequest::all(&profile, SyncMode::TwoWay), now())
        .unwrap();
    for _ in 0..10 {
        let target = phone.response_uri().map_or("/", path_of).to_string();
        let answer = post(
            serve.address,
            &target,
            outgoing.content_type(),
            &outgoing.bytes,
        );
        let (session, contacts) = newest_session(db);
        if contacts == Some(SessionResult::Running) {
            assert_eq!(session.result, SessionResult::Running);
            return session;
        }
        match phone.receive(&answer, now()).unwrap() {
            Step::Send(next) => outgoing = next,
            Step::Finished(report) => {
                panic!("the session ended before it was abandoned: {report:?}")
            }
        }
    }
    panic!("the server never began the contacts sync");
}

#[test]
fn a_session_of_a_killed_serve_is_cut_at_the_next_start_and_a_live_ones_is_not() {
    let dir = support::scratch_dir("orphaned-sessions");
    let db = dir.join("handsync.db");

    let mut killed = Serve::start(&db, &dir);
    let killed_pid = killed.child.id();
    let orphan = start_and_abandon_a_session(&killed, &db, 1);
    let status = killed.signal(libc::SIGKILL);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    // Nobody recorded the end.
    let (record, contacts) = newest_session(&db);
    assert_eq!(record.id, orphan.id);
    assert_eq!(record.result, SessionResult::Running);
    assert_eq!(contacts, Some(SessionResult::Running));

    // The next serve finds it and records it as cut, with the dead process's pid.
    let mut restarted = Serve::start(&db, &dir);
    assert!(
        restarted
            .lines
            .iter()
            .any(|l| l
                == "handsync: 1 session left running by a process that ended, recorded as cut"),
        "{:?}",
        restarted.lines
    );
    let (record, contacts) = newest_session(&db);
    assert_eq!(record.id, orphan.id);
    assert_eq!(record.result, SessionResult::Cut);
    assert_eq!(
        record.error.as_deref(),
        Some(format!("the process serving it ended (pid {killed_pid})").as_str())
    );
    assert!(record.ended_at.is_some());
    assert_eq!(contacts, Some(SessionResult::Cut));
    let history = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .arg("history")
        .output()
        .unwrap();
    assert!(history.status.success());
    let history = String::from_utf8_lossy(&history.stdout);
    assert!(
        history.contains(&format!(
            "cut: the process serving it ended (pid {killed_pid})"
        )),
        "{history}"
    );
    assert!(!history.contains("running"), "{history}");

    // A session the restarted serve is serving right now belongs to a live process: a
    // second serve on the same database leaves it running.
    let live = start_and_abandon_a_session(&restarted, &db, 2);
    let mut beside = Serve::start(&db, &dir);
    assert!(
        !beside.lines.iter().any(|l| l.contains("recorded as cut")),
        "{:?}",
        beside.lines
    );
    let (record, contacts) = newest_session(&db);
    assert_eq!(record.id, live.id);
    assert_eq!(record.result, SessionResult::Running);
    assert_eq!(contacts, Some(SessionResult::Running));

    assert!(beside.signal(libc::SIGTERM).success());
    assert!(restarted.signal(libc::SIGTERM).success());
    let (record, _) = newest_session(&db);
    assert_eq!(
        record.result,
        SessionResult::Cut,
        "the daemon records its open session as cut when it stops"
    );
}
