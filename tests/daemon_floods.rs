//! Slow, silent and surplus connections: each listener holds at most its connection limit,
//! answers the surplus "busy" in its own protocol, and lets go of peers that stay silent
//! (HTTP headers and bodies, kept-alive connections, OBEX before CONNECT and between
//! operations). Phones within the limits are served throughout.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use handsync::daemon::{Daemon, Limits, Settings};
use handsync::engine::ServerConfig;
use handsync::obex::{Header, Request};
use handsync::store::Store;
use handsync::transport::limits::ConnectionLimits;

struct Running {
    daemon: Option<Daemon>,
    http: SocketAddr,
    obex: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.shutdown();
        }
    }
}

fn start(name: &str, connections: ConnectionLimits) -> Running {
    let db = support::scratch_dir(name).join("handsync.db");
    let daemon = Daemon::start(
        Store::open(&db).unwrap(),
        Settings {
            server: ServerConfig::default(),
            http_listen: vec!["127.0.0.1:0".parse().unwrap()],
            obex_tcp_listen: vec!["127.0.0.1:0".parse().unwrap()],
            idle_timeout: Duration::from_secs(60),
            limits: Limits {
                connections,
                ..Limits::default()
            },
            cluster: Default::default(),
            trusted_proxies: Default::default(),
        },
    )
    .expect("the daemon starts");
    Running {
        http: daemon.http_addresses()[0],
        obex: daemon.obex_tcp_addresses()[0],
        daemon: Some(daemon),
    }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Reads until the peer closes; what came, and how long it took.
fn read_to_close(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut all = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
    (all, started.elapsed())
}

/// One HTTP response read off a kept-alive connection (headers and Content-Length body).
fn read_response(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let mut byte = [0u8; 1];
    while !all.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "response cut short");
        all.push(byte[0]);
    }
    let head = String::from_utf8(all).unwrap();
    let length: usize = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    head + &String::from_utf8_lossy(&body)
}

fn obex_connect() -> Vec<u8> {
    Request::connect(0x2000, vec![Header::Target(b"SYNCML-SYNC".to_vec())])
        .encode()
        .unwrap()
}

#[test]
fn slow_headers_slow_bodies_and_idle_kept_alive_http_connections_are_let_go() {
    let running = start(
        "floods-http-slow",
        ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            ..ConnectionLimits::default()
        },
    );
    // Slowloris: headers that never end.
    let mut slow = connect(running.http);
    slow.write_all(b"POST /sync HTTP/1.1\r\nHost: handsync\r\nX-Slow: 1")
        .unwrap();
    let (_, took) = read_to_close(&mut slow);
    assert!(took < Duration::from_secs(10), "closed after {took:?}");

    // A body that never completes: 408, then closed.
    let mut slow_body = connect(running.http);
    slow_body
        .write_all(
            b"POST /sync HTTP/1.1\r\nHost: handsync\r\nContent-Type: application/vnd.syncml+xml\r\n\
              Content-Length: 1000\r\n\r\n<SyncML>",
        )
        .unwrap();
    let (answer, _) = read_to_close(&mut slow_body);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");

    // A kept-alive connection is served, then let go when it stays idle.
    let mut idle = connect(running.http);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: handsync\r\n\r\n")
        .unwrap();
    let answer = read_response(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let (rest, took) = read_to_close(&mut idle);
    assert!(rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"));
    assert!(took < Duration::from_secs(10), "closed after {took:?}");
}

#[test]
fn past_the_connection_limit_http_answers_503_and_obex_0xd3_and_room_comes_back() {
    let running = start(
        "floods-caps",
        ConnectionLimits {
            per_listener: 2,
            ..ConnectionLimits::default()
        },
    );
    // Two silent connections fill each listener.
    let held_http: Vec<TcpStream> = (0..2).map(|_| connect(running.http)).collect();
    let held_obex: Vec<TcpStream> = (0..2).map(|_| connect(running.obex)).collect();
    std::thread::sleep(Duration::from_millis(300));

    let mut third = connect(running.http);
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: handsync\r\n\r\n")
        .unwrap();
    let (answer, _) = read_to_close(&mut third);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.contains("\r\nRetry-After: 10\r\n"), "{answer}");

    let mut third = connect(running.obex);
    third.write_all(&obex_connect()).unwrap();
    let (answer, _) = read_to_close(&mut third);
    assert_eq!(
        answer,
        [0xD3, 0x00, 0x07, 0x10, 0x00, 0x00, 0xFF],
        "Service Unavailable, with the CONNECT response's fields"
    );

    // One held connection goes: the next phone is served.
    drop(held_http);
    drop(held_obex);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut next = connect(running.http);
        next.write_all(b"GET / HTTP/1.1\r\nHost: handsync\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (answer, _) = read_to_close(&mut next);
        if answer.starts_with(b"HTTP/1.1 200 ") {
            break;
        }
        assert!(Instant::now() < deadline, "no room came back");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut next = connect(running.obex);
        next.write_all(&obex_connect()).unwrap();
        let mut first = [0u8; 1];
        next.read_exact(&mut first).unwrap();
        if first[0] == 0xA0 {
            break;
        }
        assert!(Instant::now() < deadline, "no room came back");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn silent_obex_connections_are_closed_before_connect_and_between_operations() {
    let running = start(
        "floods-obex-silent",
        ConnectionLimits {
            obex_before_connect: Duration::from_secs(1),
            obex_silence: Duration::from_secs(2),
            ..ConnectionLimits::default()
        },
    );
    let mut silent = connect(running.obex);
    let (bytes, took) = read_to_close(&mut silent);
    assert!(bytes.is_empty());
    assert!(took < Duration::from_secs(10), "closed after {took:?}");

    let mut connected = connect(running.obex);
    connected.write_all(&obex_connect()).unwrap();
    let mut response = [0u8; 3];
    connected.read_exact(&mut response).unwrap();
    assert_eq!(response[0], 0xA0, "CONNECT accepted");
    let length = u16::from_be_bytes([response[1], response[2]]) as usize;
    let mut rest = vec![0u8; length - 3];
    connected.read_exact(&mut rest).unwrap();
    let (bytes, took) = read_to_close(&mut connected);
    assert!(bytes.is_empty(), "{bytes:?}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(10),
        "closed after {took:?}: the longer silence between operations applies"
    );
}

/// A connection from `source`: any 127/8 address reaches the loopback listener, so one
/// machine plays several hosts.
fn connect_from(source: [u8; 4], address: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((source, 0))).unwrap();
        socket.connect(address).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

#[test]
fn one_host_holds_at_most_its_share_of_a_listener() {
    let running = start(
        "floods-per-address",
        ConnectionLimits {
            per_address: 2,
            ..ConnectionLimits::default()
        },
    );
    let flooder = [127, 0, 0, 66];
    let _held: Vec<TcpStream> = (0..2)
        .map(|_| connect_from(flooder, running.http))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let get = b"GET / HTTP/1.1\r\nHost: handsync\r\nConnection: close\r\n\r\n";
    let mut third = connect_from(flooder, running.http);
    third.write_all(get).unwrap();
    let (answer, _) = read_to_close(&mut third);
    assert!(
        answer.starts_with(b"HTTP/1.1 503 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let mut phone = connect_from([127, 0, 0, 7], running.http);
    phone.write_all(get).unwrap();
    let (answer, _) = read_to_close(&mut phone);
    assert!(
        answer.starts_with(b"HTTP/1.1 200 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}
