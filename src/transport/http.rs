//! The SyncML HTTP binding (OMA SyncML HTTP Binding 1.1/1.2), server side.
//!
//! A client POSTs each SyncML message (`application/vnd.syncml+xml` or `+wbxml`, a `charset`
//! parameter allowed) and gets our answer in the response body, in the encoding it used.
//! The body may come compressed (`Content-Encoding: gzip` or `deflate`, as Funambol-style
//! clients send WBXML); it is inflated, within the same size limit as a plain body, before the
//! engine sees it. Clients whose `Accept-Encoding` allows it get the answer compressed.
//! Our first answer carries a `RespURI` naming the session (`...?sessionid=KEY`); clients that
//! ignore it are matched by their SessionID and device URI. Sessions expire in the hub.
//!
//! Behind a reverse proxy the client is who the trusted proxies say it is ([`client`]); when
//! several processes serve one database, a message for a session another one holds is relayed
//! there ([`relay`]).
//!
//! hyper does the HTTP/1.1 (keep-alive, chunked bodies, pipelining, header limits): a
//! hand-written parser would be one more place for bugs that hyper has long fixed.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

pub mod client;
mod coding;
pub mod relay;

use self::client::TrustedProxies;
use self::coding::{answer_coding, compress, inflate, request_coding, InflateError};
use self::relay::{ClusterView, RelayError, RequestHead, RELAYED_CLIENT, RELAYED_FROM};
use super::limits::{http_busy_answer, ConnectionGate, GatedListener};
use super::sessions::{Arrival, Binding, HubError, HubHandle, RemoteSession, Route, SessionKey};
use crate::engine::EngineError;
use crate::syncml::{sniff_encoding, Encoding};

/// The query parameter our RespURI carries the session in.
pub const SESSION_PARAMETER: &str = "sessionid";

/// What the HTTP binding needs besides the hub.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The largest request body read; larger ones get 413 without being read. Our
    /// MaxMsgSize plus room for a client that slightly overshoots. A compressed body is held
    /// to it both as sent and inflated.
    pub max_body: usize,
    /// A request's headers, and the wait for a kept-alive connection's next request.
    pub header_timeout: std::time::Duration,
    /// A request's whole body.
    pub body_timeout: std::time::Duration,
    /// Peers whose X-Forwarded-For names the client.
    pub trusted_proxies: TrustedProxies,
    /// This process among others on the same database; `None`: no relaying.
    pub cluster: Option<ClusterView>,
}

/// Accepts connections on `listener` until `shutdown` turns true. Past `gate`'s limit a
/// connection gets 503 with Retry-After and is closed.
pub async fn serve(
    listener: TcpListener,
    hub: HubHandle,
    options: HttpOptions,
    gate: ConnectionGate,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let header_timeout = options.header_timeout;
    // A proxy or a peer node carries many clients' requests: it is held to the listener's
    // cap, not to one address's share.
    let proxies = options.trusted_proxies.clone();
    let directory = options.cluster.as_ref().map(|c| c.directory.clone());
    let gate = gate.exempting(Arc::new(move |peer| {
        proxies.trusts(peer) || directory.as_ref().is_some_and(|d| d.hosts_a_node(peer))
    }));
    let context = Arc::new(Context { hub, options });
    let mut listener = GatedListener::new(listener, gate, http_busy_answer);
    while let Some((stream, peer, permit)) = listener.next(&mut shutdown).await {
        let local = stream.local_addr().unwrap_or_else(|_| {
            listener
                .local_addr()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
        });
        let context = context.clone();
        let span = tracing::info_span!("http_connection", %peer);
        tokio::spawn(
            async move {
                let service = hyper::service::service_fn(move |request| {
                    let context = context.clone();
                    async move { Ok::<_, Infallible>(context.handle(request, local, peer).await) }
                });
                // The header timeout also bounds the wait for a kept-alive connection's
                // next request: an idle or slowloris connection does not hold its slot.
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
    Ok(())
}

struct Context {
    hub: HubHandle,
    options: HttpOptions,
}

type HttpResponse = Response<Full<Bytes>>;

impl Context {
    async fn handle(
        &self,
        request: Request<Incoming>,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> HttpResponse {
        match *request.method() {
            Method::POST => {}
            Method::GET | Method::HEAD => {
                return text(
                    StatusCode::OK,
                    "handsync SyncML server: POST SyncML messages here \
                     (application/vnd.syncml+xml or application/vnd.syncml+wbxml)\n",
                )
            }
            _ => {
                let mut response = text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "SyncML messages are POSTed\n",
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST, GET, HEAD"));
                return response;
            }
        }

        let declared = match declared_encoding(request.headers().get(header::CONTENT_TYPE)) {
            Ok(declared) => declared,
            Err(why) => return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &why),
        };
        let coding = match request_coding(request.headers()) {
            Ok(coding) => coding,
            Err(why) => return text(StatusCode::UNSUPPORTED_MEDIA_TYPE, &why),
        };
        let answer_coding = answer_coding(request.headers().get(header::ACCEPT_ENCODING));
        if let Some(length) = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            if length > self.options.max_body as u64 {
                return too_large(self.options.max_body);
            }
        }
        let route = session_in_query(request.uri().query());
        let scheme = if self.options.trusted_proxies.trusts(peer.ip()) {
            forwarded_scheme(request.headers())
        } else {
            "http"
        };
        let resp_uri_template = resp_uri_template(&request, local, scheme);
        let (client, relayed_from) = self.client_of(peer.ip(), request.headers()).await;
        let head = RequestHead {
            target: request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string(),
            headers: request.headers().clone(),
        };
        let body = Limited::new(request.into_body(), self.options.max_body).collect();
        let Ok(body) = tokio::time::timeout(self.options.body_timeout, body).await else {
            tracing::warn!(
                seconds = self.options.body_timeout.as_secs(),
                "request body too slow; closing"
            );
            let mut response = text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time\n",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        };
        let body = match body {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return too_large(self.options.max_body)
            }
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    &format!("the request body could not be read: {e}\n"),
                )
            }
        };
        // As it came, for a relay: the owner inflates it under the same limit.
        let raw = body.clone();
        let body = match coding {
            None => body,
            Some(coding) => match inflate(coding, &body, self.options.max_body) {
                Ok(plain) => Bytes::from(plain),
                Err(InflateError::TooLarge) => {
                    return text(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        &format!(
                            "the {} body inflates to more than {} bytes, the most a SyncML \
                             message here may be (our MaxMsgSize)\n",
                            coding.name(),
                            self.options.max_body
                        ),
                    )
                }
                Err(InflateError::Corrupt(e)) => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "the {} body could not be decompressed: {e}\n",
                            coding.name()
                        ),
                    )
                }
            },
        };

        let sniffed = sniff_encoding(&body);
        if declared.is_some_and(|declared| declared != sniffed) {
            // The bytes decide; some phones label WBXML as XML.
            tracing::warn!(
                declared = declared.map(Encoding::syncml_content_type),
                actual = sniffed.syncml_content_type(),
                "Content-Type does not match the body"
            );
        }
        let arrival = Arrival {
            route: route.unwrap_or(Route::Header(client)),
            peer: Some(client),
            transport: "http".into(),
            resp_uri_template: Some(resp_uri_template),
            binding: Binding::Request {
                relayed: relayed_from.is_some(),
            },
        };
        if let Some(node) = &relayed_from {
            tracing::debug!(from_node = %node, %client, "message relayed from another node");
        }
        match self.hub.deliver(arrival, body.to_vec()).await {
            Ok(delivered) => {
                let answer = delivered.answer;
                let bytes = match answer_coding {
                    Some(coding) => compress(coding, &answer.bytes),
                    None => answer.bytes,
                };
                // Full gives hyper the exact length: Content-Length is that of the bytes sent.
                let mut response = Response::new(Full::new(Bytes::from(bytes)));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(answer.encoding.syncml_content_type()),
                );
                if let Some(coding) = answer_coding {
                    headers.insert(
                        header::CONTENT_ENCODING,
                        HeaderValue::from_static(coding.name()),
                    );
                }
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Err(HubError::NotAMessage) => text(
                StatusCode::BAD_REQUEST,
                "a DevInf document is not a SyncML message\n",
            ),
            Err(HubError::Unreadable(e) | HubError::Engine(EngineError::Decode(e))) => text(
                StatusCode::BAD_REQUEST,
                &format!("unreadable SyncML message: {e}\n"),
            ),
            Err(HubError::UnknownSession) => unknown_session(),
            Err(HubError::HeldElsewhere(remote)) => self.relay(remote, &head, raw, client).await,
            Err(HubError::Engine(EngineError::NoHeader)) => text(
                StatusCode::BAD_REQUEST,
                "a SyncML message without SyncHdr cannot be answered\n",
            ),
            Err(HubError::Stopped) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down\n",
            ),
            Err(HubError::Busy) => {
                let mut response = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many SyncML sessions are open; try again later\n",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
                response
            }
            Err(e) => {
                tracing::error!(error = %e, "message not answered");
                text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("the server could not answer: {e}\n"),
                )
            }
        }
    }

    /// The client of a request from TCP peer `peer`, and the node that relayed it, if it
    /// says one did. A node's word on the client is taken only from that node's host; a
    /// request that says it was relayed is never relayed again, whoever sent it.
    async fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> (IpAddr, Option<String>) {
        let relayed_from = headers
            .get(RELAYED_FROM)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let by_proxies = || self.options.trusted_proxies.client(peer, headers);
        let Some(node) = &relayed_from else {
            return (by_proxies(), None);
        };
        let claimed = headers
            .get(RELAYED_CLIENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let vouched = match (&self.options.cluster, claimed) {
            (Some(cluster), Some(claimed)) => cluster
                .directory
                .vouches_for(node, peer)
                .await
                .then_some(claimed),
            _ => None,
        };
        if vouched.is_none() {
            // Debug only: anyone can send the header, and the journal is not theirs to fill.
            tracing::debug!(%peer, "a request says it was relayed, but not from a node's host: its client address is not believed");
        }
        (vouched.unwrap_or_else(by_proxies), relayed_from)
    }

    /// Relays a message to the process holding its session, and returns that process's
    /// answer. When that process is gone, the session is recorded as cut and the client is
    /// answered as for any session that ended.
    async fn relay(
        &self,
        remote: RemoteSession,
        head: &RequestHead,
        body: Bytes,
        client: IpAddr,
    ) -> HttpResponse {
        let Some(cluster) = &self.options.cluster else {
            return unknown_session();
        };
        let session = remote.key.to_hex();
        tracing::debug!(
            from_node = %cluster.node,
            to_node = %remote.node,
            to = %remote.address,
            %session,
            "relaying the message to the node holding its session"
        );
        let answer_timeout = self.options.header_timeout + self.options.body_timeout;
        match relay::relay(&remote, &cluster.node, head, body, client, answer_timeout).await {
            Ok(response) => response,
            Err(RelayError::OwnerGone(error)) => {
                tracing::warn!(
                    node = %remote.node,
                    address = %remote.address,
                    %session,
                    %error,
                    "the node holding the session is gone; the session is recorded as cut"
                );
                self.hub.owner_gone(remote).await;
                unknown_session()
            }
            Err(RelayError::Failed(why)) => {
                tracing::warn!(node = %remote.node, %session, %why, "relay failed; the session is left as it is");
                let mut response = text(
                    StatusCode::BAD_GATEWAY,
                    &format!(
                        "the server process holding this session did not answer ({why}); \
                         send the message again\n"
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                response
            }
        }
    }
}

/// The answer to a message for a session that ended or never was (here or anywhere).
fn unknown_session() -> HttpResponse {
    text(
        StatusCode::NOT_FOUND,
        "no such SyncML session: it expired, ended, or never started; \
         start a new one (MsgID 1)\n",
    )
}

/// The encoding a Content-Type names; `Ok(None)` when there is none (the body is sniffed),
/// what is wrong for anything that is not SyncML.
fn declared_encoding(value: Option<&HeaderValue>) -> Result<Option<Encoding>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let media_type = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/vnd.syncml+xml" => Ok(Some(Encoding::Xml)),
        "application/vnd.syncml+wbxml" => Ok(Some(Encoding::Wbxml)),
        _ => Err(format!(
            "Content-Type `{}` is not SyncML: send application/vnd.syncml+xml or \
             application/vnd.syncml+wbxml\n",
            value.to_str().unwrap_or("(not text)")
        )),
    }
}

fn session_in_query(query: Option<&str>) -> Option<Route> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == SESSION_PARAMETER)
        .map(|(_, value)| match SessionKey::from_hex(value) {
            Some(key) => Route::Key(key),
            // A malformed key names no session: it can only start a new one.
            None => Route::Key(SessionKey::NONE),
        })
}

/// The scheme the client used to reach a trusted reverse proxy, from the proxy's
/// `X-Forwarded-Proto` (its last value: the hop nearest us): "https" when it terminated TLS.
fn forwarded_scheme(headers: &hyper::HeaderMap) -> &'static str {
    let last = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .next_back();
    match last {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// `SCHEME://HOST/PATH?sessionid={session}`: the host the client used (so that it can reach
/// it again), the path it posted to, over HTTPS when a trusted proxy says the client came so.
fn resp_uri_template(request: &Request<Incoming>, local: SocketAddr, scheme: &str) -> String {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| local.to_string());
    let path = request.uri().path();
    let mut kept: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(SESSION_PARAMETER))
        .collect();
    let parameter = format!("{SESSION_PARAMETER}={{session}}");
    kept.push(&parameter);
    format!("{scheme}://{host}{path}?{}", kept.join("&"))
}

fn text(status: StatusCode, body: &str) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn too_large(limit: usize) -> HttpResponse {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("a SyncML message here is at most {limit} bytes (our MaxMsgSize)\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let parse = |v: &'static str| declared_encoding(Some(&HeaderValue::from_static(v)));
        assert_eq!(
            parse("application/vnd.syncml+xml").unwrap(),
            Some(Encoding::Xml)
        );
        assert_eq!(
            parse("Application/VND.SyncML+WBXML; charset=UTF-8").unwrap(),
            Some(Encoding::Wbxml)
        );
        assert_eq!(
            parse("application/vnd.syncml+xml;charset=\"utf-8\"").unwrap(),
            Some(Encoding::Xml)
        );
        assert!(parse("text/html").unwrap_err().contains("`text/html`"));
        assert_eq!(declared_encoding(None).unwrap(), None);
    }

    #[test]
    fn session_parameter() {
        assert!(session_in_query(None).is_none());
        assert!(session_in_query(Some("a=b")).is_none());
        match session_in_query(Some("x=1&sessionid=00000000000000ff")) {
            Some(Route::Key(SessionKey(255))) => {}
            other => panic!("{other:?}"),
        }
        match session_in_query(Some("sessionid=zz")) {
            Some(Route::Key(SessionKey(0))) => {}
            other => panic!("{other:?}"),
        }
    }
}
