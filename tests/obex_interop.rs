//! Interoperability with an independent OBEX implementation: `obex_tcp` from Debian's
//! `openobex-apps` (OpenOBEX 1.7), over TCP on the loopback, port 650 (OBEX over TCP's
//! well-known port, which obex_tcp uses without a way to change it, hence root).
//!
//! `scripts/test-all` installs openobex-apps and runs as root; elsewhere the tests say why they
//! skip (no obex_tcp, or not root).

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use handsync::machine::Machine;
use handsync::obex::{
    ClientEvent, Header, ObexClient, ObexClientConfig, ObexServer, ObexServerConfig, ServerEvent,
};

const OBEX_TCP_PORT: u16 = 650;
const DEADLINE: Duration = Duration::from_secs(20);
/// How long to wait for port 650 to come free: a closed connection holds it in TIME_WAIT
/// for 60 s on Linux, and obex_tcp does not set SO_REUSEADDR.
const PORT_WAIT: Duration = Duration::from_secs(90);

/// Both tests use port 650: one at a time.
static PORT_650: Mutex<()> = Mutex::new(());

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("handsync-interop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn file_content() -> Vec<u8> {
    // Larger than one OpenOBEX packet, so the PUT takes several.
    (0..20_000u32)
        .map(|index| b"0123456789abcdef\n"[index as usize % 17])
        .collect()
}

/// Kills the child if the test ends early.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

fn accept_within(listener: &TcpListener, deadline: Instant) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                return stream;
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "obex_tcp did not connect");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("accept failed: {error}"),
        }
    }
}

/// Listens on port 650 of `host`, waiting for an earlier test's connection to leave
/// TIME_WAIT.
fn listen_on_650(host: &str) -> TcpListener {
    let port_deadline = Instant::now() + PORT_WAIT;
    loop {
        match TcpListener::bind((host, OBEX_TCP_PORT)) {
            Ok(listener) => return listener,
            Err(error)
                if error.kind() == ErrorKind::AddrInUse && Instant::now() < port_deadline =>
            {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(error) => panic!("port 650 (root needed): {error}"),
        }
    }
}

/// Whether this run can use obex_tcp on port 650.
fn interop_possible() -> bool {
    if !support::oracle_available("obex_tcp") {
        return false;
    }
    if unsafe { libc::geteuid() } != 0 {
        // The README's test command runs as root and requires its oracles: there a
        // skipped interop test would pass having tested nothing.
        if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
            panic!("obex_tcp uses TCP port 650, which needs root (scripts/test-all runs as root)");
        }
        eprintln!("skipping: obex_tcp uses TCP port 650, which needs root");
        return false;
    }
    true
}

#[test]
fn obex_tcp_puts_a_file_to_our_server() {
    if !interop_possible() {
        return;
    }
    let dir = scratch_dir("server");
    let path = dir.join("contacts.vcf");
    let content = file_content();
    std::fs::write(&path, &content).expect("test file");
    let _port = PORT_650
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let listener = listen_on_650("127.0.0.1");
    let _child = ChildGuard(
        Command::new("obex_tcp")
            .arg(&path)
            .arg("127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("obex_tcp runs"),
    );
    let deadline = Instant::now() + DEADLINE;
    let mut stream = accept_within(&listener, deadline);
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let mut server = ObexServer::new(ObexServerConfig {
        max_packet_length: 1024,
        ..ObexServerConfig::default()
    });
    let mut events = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline && !events.contains(&ServerEvent::Disconnected) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => server.handle_input(Instant::now(), &buffer[..count]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("read failed: {error}"),
        }
        while let Some(packet) = server.poll_transmit() {
            stream.write_all(&packet).expect("write");
        }
        events.extend(std::iter::from_fn(|| server.poll_event()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        matches!(events.first(), Some(ServerEvent::Connected { .. })),
        "{events:?}"
    );
    let object = events
        .iter()
        .find_map(|event| match event {
            ServerEvent::PutReceived(object) => Some(object),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no PUT arrived: {events:?}"));
    assert_eq!(object.body.as_deref(), Some(content.as_slice()));
    assert!(object
        .headers
        .contains(&Header::Length(content.len() as u32)));
    assert!(events.contains(&ServerEvent::Disconnected), "{events:?}");
}

#[test]
fn our_client_puts_a_file_to_obex_tcp() {
    if !interop_possible() {
        return;
    }
    let dir = scratch_dir("client");
    let _port = PORT_650
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let spawn_receiver = || {
        ChildGuard(
            Command::new("obex_tcp")
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("obex_tcp runs"),
        )
    };
    let port_deadline = Instant::now() + PORT_WAIT;
    let mut child = spawn_receiver();
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", OBEX_TCP_PORT)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < port_deadline => {
                // obex_tcp exits when port 650 is still in TIME_WAIT: start it again.
                if let Ok(Some(_)) = child.0.try_wait() {
                    std::thread::sleep(Duration::from_millis(500));
                    child = spawn_receiver();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("obex_tcp did not listen: {error}"),
        }
    };
    let deadline = Instant::now() + DEADLINE;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let mut client = ObexClient::new(ObexClientConfig {
        max_packet_length: 1024,
        ..ObexClientConfig::default()
    });
    let content = file_content();
    let mut events = Vec::new();
    client
        .connect(Instant::now(), Vec::new())
        .expect("connects");
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline && !events.contains(&ClientEvent::Disconnected) {
        while let Some(packet) = client.poll_transmit() {
            stream.write_all(&packet).expect("write");
        }
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => client.handle_input(Instant::now(), &buffer[..count]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("read failed: {error}"),
        }
        while let Some(event) = client.poll_event() {
            let now = Instant::now();
            match &event {
                ClientEvent::Connected { .. } => client
                    .put(
                        now,
                        vec![
                            Header::Name(Some("received.vcf".into())),
                            Header::Length(content.len() as u32),
                        ],
                        Some(content.clone()),
                    )
                    .expect("puts"),
                ClientEvent::PutDone { .. } => client.disconnect(now).expect("disconnects"),
                _ => {}
            }
            events.push(event);
        }
    }
    drop(child);
    let received = std::fs::read(dir.join("received.vcf"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        matches!(events.first(), Some(ClientEvent::Connected { .. })),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|event| matches!(event, ClientEvent::PutDone { .. })),
        "{events:?}"
    );
    assert_eq!(received.ok().as_deref(), Some(content.as_slice()));
}

/// obex_test (openobex-apps) in server mode, over TCP: it answers a GET with the named file
/// from its working directory.
#[test]
fn our_client_gets_a_file_from_obex_test() {
    if !interop_possible() || !support::oracle_available("obex_test") {
        return;
    }
    let dir = scratch_dir("get");
    let content = file_content();
    std::fs::write(dir.join("shared.vcf"), &content).expect("test file");
    let _port = PORT_650
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let spawn_server = || {
        let mut child = Command::new("obex_test")
            .arg("-i")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("obex_test runs");
        // "s": server mode; stdin stays open so that it keeps serving.
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"s\n")
            .expect("obex_test reads its command");
        ChildGuard(child)
    };
    let port_deadline = Instant::now() + PORT_WAIT;
    let mut child = spawn_server();
    let mut started = Instant::now();
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", OBEX_TCP_PORT)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < port_deadline => {
                // obex_test exits, or stays at its prompt without listening, when port 650
                // is still in TIME_WAIT: start it again.
                let exited = matches!(child.0.try_wait(), Ok(Some(_)));
                if exited || started.elapsed() > Duration::from_secs(3) {
                    drop(child);
                    std::thread::sleep(Duration::from_millis(500));
                    child = spawn_server();
                    started = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => panic!("obex_test did not listen: {error}"),
        }
    };
    let deadline = Instant::now() + DEADLINE;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let mut client = ObexClient::new(ObexClientConfig {
        max_packet_length: 1024,
        ..ObexClientConfig::default()
    });
    client
        .connect(Instant::now(), Vec::new())
        .expect("connects");
    let mut events = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline && !events.contains(&ClientEvent::Disconnected) {
        while let Some(packet) = client.poll_transmit() {
            stream.write_all(&packet).expect("write");
        }
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => client.handle_input(Instant::now(), &buffer[..count]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("read failed: {error}"),
        }
        while let Some(event) = client.poll_event() {
            let now = Instant::now();
            match &event {
                ClientEvent::Connected { .. } => client
                    .get(now, vec![Header::Name(Some("shared.vcf".into()))])
                    .expect("gets"),
                ClientEvent::GetDone { .. } | ClientEvent::Failed { .. } => {
                    client.disconnect(now).expect("disconnects")
                }
                _ => {}
            }
            events.push(event);
        }
    }
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    let body = events
        .iter()
        .find_map(|event| match event {
            ClientEvent::GetDone { body, .. } => Some(body),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no GET answer: {events:?}"));
    assert_eq!(
        body.as_slice(),
        content.as_slice(),
        "the file, across several packets"
    );
}

/// obex_test (openobex-apps) as client, over TCP: it GETs a named object from our server and
/// saves what it received in its working directory. It connects to [::1]:650.
#[test]
fn obex_test_gets_a_file_from_our_server() {
    use handsync::obex::GetAnswer;
    if !interop_possible() || !support::oracle_available("obex_test") {
        return;
    }
    let dir = scratch_dir("served-get");
    let content = file_content();
    let _port = PORT_650
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let listener = listen_on_650("::1");
    let mut child = Command::new("obex_test")
        .arg("-i")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("obex_test runs");
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"c\ng\nwanted.vcf\nd\nq\n")
        .expect("obex_test reads its commands");
    let mut child = ChildGuard(child);
    let deadline = Instant::now() + DEADLINE;
    let mut stream = accept_within(&listener, deadline);
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("read timeout");
    let mut server = ObexServer::new(ObexServerConfig {
        max_packet_length: 1024,
        ..ObexServerConfig::default()
    });
    let mut events = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline && !events.contains(&ServerEvent::Disconnected) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => server.handle_input(Instant::now(), &buffer[..count]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("read failed: {error}"),
        }
        while let Some(event) = server.poll_event() {
            if let ServerEvent::GetRequested { headers } = &event {
                assert!(
                    headers.contains(&Header::Name(Some("wanted.vcf".into()))),
                    "{headers:?}"
                );
                server
                    .answer_get(GetAnswer::Object {
                        headers: vec![Header::Length(content.len() as u32)],
                        body: content.clone(),
                    })
                    .expect("answers");
            }
            events.push(event);
        }
        while let Some(packet) = server.poll_transmit() {
            stream.write_all(&packet).expect("write");
        }
    }
    let mut output = String::new();
    if let Some(mut stdout) = child.0.stdout.take() {
        let _ = stdout.read_to_string(&mut output);
    }
    let _ = child.0.wait();
    let saved: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    let received = saved.iter().find_map(|p| std::fs::read(p).ok());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ServerEvent::GetRequested { .. })),
        "{events:?}"
    );
    assert_eq!(
        received.as_deref(),
        Some(content.as_slice()),
        "obex_test saved {saved:?}; it said:\n{output}"
    );
}
