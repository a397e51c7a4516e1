//! Several `handsync serve` processes on one database: a session lives in the process that
//! opened it, and a process that receives a message for a session another one holds relays the
//! HTTP request there and returns the answer unchanged (see docs/daemon.md).
//!
//! A relayed request carries [`RELAYED_FROM`] (the relaying node) and [`RELAYED_CLIENT`] (the
//! client's address as the relaying node judged it). A request with [`RELAYED_FROM`] is never
//! relayed again, whoever sent it, so a request cannot go round; its client address is
//! believed only when its TCP peer is the node it names.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use super::super::sessions::RemoteSession;

/// Names the node that relayed a request.
pub const RELAYED_FROM: &str = "x-handsync-relayed-from";
/// The client's address, as the relaying node judged it.
pub const RELAYED_CLIENT: &str = "x-handsync-client";

/// How long a relay waits for the owner to accept the connection: on one network a live
/// process accepts at once; a host that does not answer at all is not waited on for long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer taken from an owner. The owner sizes its answer to the client's
/// MaxMsgSize, which nothing bounds; this only keeps a misbehaving peer from filling memory.
const ANSWER_LIMIT: usize = 32 * 1024 * 1024;

/// A live node as the hub last read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownNode {
    pub id: String,
    /// `HOST:PORT` of its HTTP listener.
    pub address: String,
}

/// The nodes serving the same database, as the hub last read them (at each heartbeat):
/// what the HTTP listener needs to believe a relayed request.
#[derive(Debug, Clone, Default)]
pub struct NodeDirectory {
    nodes: Arc<RwLock<Vec<KnownNode>>>,
}

impl NodeDirectory {
    pub fn publish(&self, nodes: Vec<KnownNode>) {
        *self.nodes.write().unwrap_or_else(|e| e.into_inner()) = nodes;
    }

    fn address_of(&self, id: &str) -> Option<String> {
        self.nodes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|node| node.id == id)
            .map(|node| node.address.clone())
    }

    /// Whether `peer` is a node's host, by the IP literal of its address (names are not
    /// resolved here: this runs for every connection accepted).
    pub fn hosts_a_node(&self, peer: IpAddr) -> bool {
        self.nodes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|node| host_ip(&node.address) == Some(peer))
    }

    /// Whether a request from TCP peer `peer` naming node `id` comes from that node: the node
    /// is live and its address is `peer`'s (a host name is resolved).
    pub async fn vouches_for(&self, id: &str, peer: IpAddr) -> bool {
        let Some(address) = self.address_of(id) else {
            return false;
        };
        if let Some(ip) = host_ip(&address) {
            return same_host(ip, peer);
        }
        match tokio::net::lookup_host(address.clone()).await {
            Ok(mut resolved) => resolved.any(|socket| same_host(socket.ip(), peer)),
            Err(error) => {
                tracing::debug!(node = id, %address, %error, "a node's address does not resolve");
                false
            }
        }
    }
}

/// The IP of a `HOST:PORT` whose host is an IP literal.
fn host_ip(address: &str) -> Option<IpAddr> {
    address
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|socket| socket.ip())
}

/// Equal addresses, an IPv4-mapped IPv6 peer counting as its IPv4 address.
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    let plain = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    plain(a) == plain(b)
}

/// This process in the cluster, as the HTTP listener needs it.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// This node's id.
    pub node: String,
    pub directory: NodeDirectory,
}

/// Why a relay brought no answer.
#[derive(Debug)]
pub enum RelayError {
    /// The owner's address refused the connection: the process is gone.
    OwnerGone(std::io::Error),
    /// Anything else (no route, a timeout, a broken answer): the owner may live, the session
    /// is left alone and the client may send again.
    Failed(String),
}

/// What of the client's request is relayed besides its body.
pub struct RequestHead {
    /// Path and query, as the client sent them.
    pub target: String,
    pub headers: HeaderMap,
}

/// Sends the request to the node holding its session; its answer, unchanged but for the
/// headers of the hop.
pub async fn relay(
    remote: &RemoteSession,
    from_node: &str,
    head: &RequestHead,
    body: Bytes,
    client: IpAddr,
    answer_timeout: Duration,
) -> Result<Response<Full<Bytes>>, RelayError> {
    let connect = tokio::net::TcpStream::connect(remote.address.as_str());
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(RelayError::OwnerGone(error))
        }
        Ok(Err(error)) => {
            return Err(RelayError::Failed(format!(
                "cannot connect to {}: {error}",
                remote.address
            )))
        }
        Err(_) => {
            return Err(RelayError::Failed(format!(
                "{} did not accept a connection within {} s",
                remote.address,
                CONNECT_TIMEOUT.as_secs()
            )))
        }
    };
    let _ = stream.set_nodelay(true);
    let mut request = Request::post(head.target.as_str())
        .body(Full::new(body))
        .map_err(|e| RelayError::Failed(format!("the relayed request: {e}")))?;
    *request.headers_mut() = forwarded_headers(&head.headers);
    let headers = request.headers_mut();
    if !headers.contains_key(header::HOST) {
        if let Ok(host) = HeaderValue::from_str(&remote.address) {
            headers.insert(header::HOST, host);
        }
    }
    for (name, value) in [
        (RELAYED_FROM, from_node.to_string()),
        (RELAYED_CLIENT, client.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let exchange = async {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP with {}: {e}", remote.address))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "relay connection ended with an error");
            }
        });
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{} did not answer: {e}", remote.address))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, ANSWER_LIMIT)
            .collect()
            .await
            .map_err(|e| format!("the answer of {} could not be read: {e}", remote.address))?
            .to_bytes();
        Ok::<_, String>((parts, body))
    };
    let (parts, body) = match tokio::time::timeout(answer_timeout, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(why)) => return Err(RelayError::Failed(why)),
        Err(_) => {
            return Err(RelayError::Failed(format!(
                "{} did not answer within {} s",
                remote.address,
                answer_timeout.as_secs()
            )))
        }
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = parts.status;
    *response.headers_mut() = forwarded_headers(&parts.headers);
    Ok(response)
}

/// The headers that travel on: all but those of the hop itself (RFC 9110 section 7.6.1, and
/// those the Connection header names), the length (the body is sent whole and measured anew),
/// and relay marks another client may have forged.
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let named_by_connection: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut kept = HeaderMap::new();
    for (name, value) in headers {
        let hop = matches!(
            name.as_str(),
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
                | "content-length"
                | RELAYED_FROM
                | RELAYED_CLIENT
        ) || named_by_connection.iter().any(|n| n == name.as_str());
        if !hop {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_of_the_hop_and_forged_marks_stay_behind() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "sync.example:80"),
            ("content-type", "application/vnd.syncml+wbxml"),
            ("content-encoding", "gzip"),
            ("accept-encoding", "gzip"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("content-length", "12"),
            (RELAYED_FROM, "forged"),
            (RELAYED_CLIENT, "192.0.2.1"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let kept = forwarded_headers(&headers);
        let mut names: Vec<&str> = kept.keys().map(|n| n.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "accept-encoding",
                "content-encoding",
                "content-type",
                "host"
            ]
        );
    }

    #[test]
    fn a_directory_vouches_only_for_a_live_node_from_its_own_host() {
        let directory = NodeDirectory::default();
        directory.publish(vec![
            KnownNode {
                id: "aa".into(),
                address: "192.0.2.5:9180".into(),
            },
            KnownNode {
                id: "bb".into(),
                address: "localhost:9181".into(),
            },
        ]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let node_host: IpAddr = "192.0.2.5".parse().unwrap();
            assert!(directory.vouches_for("aa", node_host).await);
            assert!(
                directory
                    .vouches_for("aa", "::ffff:192.0.2.5".parse().unwrap())
                    .await
            );
            assert!(
                !directory
                    .vouches_for("aa", "192.0.2.6".parse().unwrap())
                    .await
            );
            assert!(
                !directory.vouches_for("zz", node_host).await,
                "no such node"
            );
            // A host name is resolved.
            let loopback: IpAddr = "127.0.0.1".parse().unwrap();
            assert!(directory.vouches_for("bb", loopback).await);
        });
        assert!(directory.hosts_a_node("192.0.2.5".parse().unwrap()));
        assert!(!directory.hosts_a_node("192.0.2.6".parse().unwrap()));
    }

    /// A refused connection says the owner is gone; the session's key and node travel in the
    /// error's context only.
    #[test]
    fn a_refused_connection_is_an_owner_gone() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // A port nothing listens on: bound, then closed.
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let remote = RemoteSession {
            key: crate::engine::routing::SessionKey(7),
            node: "gone".into(),
            address: address.to_string(),
        };
        let head = RequestHead {
            target: "/sync?sessionid=0000000000000007".into(),
            headers: HeaderMap::new(),
        };
        let result = runtime.block_on(relay(
            &remote,
            "me",
            &head,
            Bytes::from_static(b"<SyncML/>"),
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(5),
        ));
        assert!(
            matches!(result, Err(RelayError::OwnerGone(_))),
            "{result:?}"
        );
    }
}
