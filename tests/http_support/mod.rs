//! HTTP for the binding tests: a deliberately small HTTP/1.1 client on `std::net` (written
//! apart from hyper, so the server is checked by other code than its own), and a [`Wire`]
//! that runs the scripted phone through a running daemon.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use handsync::daemon::{Daemon, Settings};
use handsync::engine::{Reply, ServerConfig};
use handsync::store::Store;
use handsync::syncml::sniff_encoding;

use crate::engine_phone::{reply_from_wire, Server, Wire};

/// A response as the client saw it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on its own connection (`Connection: close`); `content_type` None sends none.
pub fn request(
    address: SocketAddr,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> HttpResponse {
    request_with(address, method, target, content_type, &[], body)
}

/// [`request`] with extra header lines (`Name: value`, as a proxy adds them).
pub fn request_with(
    address: SocketAddr,
    method: &str,
    target: &str,
    content_type: Option<&str>,
    extra_headers: &[&str],
    body: &[u8],
) -> HttpResponse {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for line in extra_headers {
        head.push_str(&format!("{line}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line `{status_line}`"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = raw[end + 4..].to_vec();
    let response = HttpResponse {
        status,
        headers,
        body,
    };
    if let Some(length) = response.header("content-length") {
        assert_eq!(
            length.parse::<usize>().unwrap(),
            response.body.len(),
            "Content-Length matches the body"
        );
    }
    response
}

/// POSTs a SyncML message to `target` with the Content-Type its bytes call for.
pub fn post_syncml(address: SocketAddr, target: &str, bytes: &[u8]) -> HttpResponse {
    let content_type = sniff_encoding(bytes).syncml_content_type();
    request(address, "POST", target, Some(content_type), bytes)
}

/// The path and query of an absolute `http://host/...` URL.
pub fn path_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("an http URL");
    match rest.find('/') {
        Some(slash) => rest[slash..].to_string(),
        None => "/".to_string(),
    }
}

/// A daemon on a database file in a scratch directory, with HTTP on a free loopback port, and
/// the test's own [`Server`] (a second connection to the same file) to look into the store.
pub struct HttpWire {
    pub daemon: Option<Daemon>,
    pub address: SocketAddr,
    pub server: Server,
    pub db: PathBuf,
    /// Whether the phone follows RespURI (most do; some old ones post to the first URL).
    pub follow_resp_uri: bool,
}

impl HttpWire {
    pub fn start(name: &str, config: ServerConfig, idle_timeout: Duration) -> HttpWire {
        HttpWire::start_trusting(name, config, idle_timeout, Default::default())
    }

    /// [`HttpWire::start`] behind reverse proxies at `trusted_proxies`.
    pub fn start_trusting(
        name: &str,
        config: ServerConfig,
        idle_timeout: Duration,
        trusted_proxies: handsync::transport::http::client::TrustedProxies,
    ) -> HttpWire {
        let dir = crate::support::scratch_dir(name);
        let db = dir.join("handsync.db");
        let daemon = Daemon::start(
            Store::open(&db).unwrap(),
            Settings {
                server: config.clone(),
                http_listen: vec!["127.0.0.1:0".parse().unwrap()],
                obex_tcp_listen: Vec::new(),
                idle_timeout,
                limits: Default::default(),
                cluster: Default::default(),
                trusted_proxies,
            },
        )
        .expect("the daemon starts");
        let address = daemon.http_addresses()[0];
        let mut server = Server::with_store(Store::open(&db).unwrap(), config);
        server.transport = "http".into();
        HttpWire {
            daemon: Some(daemon),
            address,
            server,
            db,
            follow_resp_uri: true,
        }
    }

    /// Stops the daemon (open sessions recorded as cut).
    pub fn stop(&mut self) {
        if let Some(daemon) = self.daemon.take() {
            daemon.shutdown();
        }
    }
}

impl Drop for HttpWire {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where the phone posts next.
pub struct HttpConversation {
    pub target: String,
}

impl Wire for HttpWire {
    type Conversation = HttpConversation;

    fn open(&mut self) -> HttpConversation {
        HttpConversation {
            target: "/sync".into(),
        }
    }

    fn send(&mut self, conversation: &mut HttpConversation, bytes: &[u8]) -> Option<Reply> {
        let response = post_syncml(self.address, &conversation.target, bytes);
        if response.status == 404 {
            return None;
        }
        assert_eq!(response.status, 200, "HTTP answer: {}", response.text());
        let encoding = sniff_encoding(bytes);
        assert_eq!(
            response.header("content-type"),
            Some(encoding.syncml_content_type()),
            "answered in the request's encoding"
        );
        let reply = reply_from_wire(response.body);
        let resp_uri = reply
            .message
            .header
            .as_ref()
            .expect("a header")
            .resp_uri
            .as_ref()
            .expect("every HTTP answer names the session in RespURI");
        if self.follow_resp_uri {
            conversation.target = path_of(resp_uri);
        }
        assert_eq!(reply.encoding, encoding);
        Some(reply)
    }

    fn cut(&mut self, _conversation: &mut HttpConversation) {
        // An HTTP client that goes away just stops posting; the idle timeout ends it.
    }
}
