//! Interoperability with an independent OBEX implementation: `obex_tcp` from Debian's
//! `openobex-apps` (OpenOBEX 1.7), over TCP on the loopback, port 650 (OBEX over TCP's
//! well-known port, which obex_tcp uses without a way to change it, hence root).
//!
//! Ignored by default; run with `cargo test --test obex_interop -- --ignored` after
//! `apt-get install openobex-apps`, as root.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use handsync::obex::{
    ClientConfig, ClientEvent, Header, ObexClient, ObexServer, ServerConfig, ServerEvent,
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

#[test]
#[ignore = "needs obex_tcp (Debian openobex-apps) and root for TCP port 650"]
fn obex_tcp_puts_a_file_to_our_server() {
    let dir = scratch_dir("server");
    let path = dir.join("contacts.vcf");
    let content = file_content();
    std::fs::write(&path, &content).expect("test file");
    let _port = PORT_650
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let port_deadline = Instant::now() + PORT_WAIT;
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", OBEX_TCP_PORT)) {
            Ok(listener) => break listener,
            Err(error)
                if error.kind() == ErrorKind::AddrInUse && Instant::now() < port_deadline =>
            {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(error) => panic!("port 650 (root needed): {error}"),
        }
    };
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
    let mut server = ObexServer::new(ServerConfig {
        max_packet_length: 1024,
        ..ServerConfig::default()
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
#[ignore = "needs obex_tcp (Debian openobex-apps) and root for TCP port 650"]
fn our_client_puts_a_file_to_obex_tcp() {
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
    let mut client = ObexClient::new(ClientConfig {
        max_packet_length: 1024,
        ..ClientConfig::default()
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
