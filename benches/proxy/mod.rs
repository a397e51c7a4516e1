//! A round-robin HTTP reverse proxy on loopback, in the benchmark's own runtime: each request
//! goes to the next backend in turn, over a connection of its own, with the headers a
//! reverse proxy in front of `handsync serve` adds (X-Forwarded-For, X-Real-IP,
//! X-Forwarded-Proto). It stands in for nginx with its defaults (round robin, no upstream
//! keep-alive), so that one server process and several meet the same conditions.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Headers that describe one connection, not the request: never forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Listens on a free loopback port and forwards to `backends` in turn until the runtime
/// ends; returns the address phones should use.
pub async fn start(backends: Vec<SocketAddr>) -> std::io::Result<SocketAddr> {
    assert!(!backends.is_empty(), "a proxy needs a backend");
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let backends = Arc::new(backends);
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, client)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (backends, next) = (backends.clone(), next.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let backend = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()];
                    forward(request, client, backend)
                });
                // A client that hangs up mid-request is its own business, as for nginx.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(address)
}

/// One request to `backend`, its answer streamed back; a backend that cannot be reached, or
/// fails before the head of its answer, is a 502, as nginx says it.
async fn forward(
    mut request: Request<Incoming>,
    client: SocketAddr,
    backend: SocketAddr,
) -> Result<Response<ProxyBody>, Infallible> {
    for name in HOP_BY_HOP {
        request.headers_mut().remove(name);
    }
    let headers = request.headers_mut();
    let forwarded_for = match headers.get("x-forwarded-for").map(|v| v.to_str()) {
        Some(Ok(earlier)) => format!("{earlier}, {}", client.ip()),
        _ => client.ip().to_string(),
    };
    for (name, value) in [
        ("x-forwarded-for", forwarded_for),
        ("x-real-ip", client.ip().to_string()),
        ("x-forwarded-proto", "http".to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    match send(request, backend).await {
        Ok(response) => Ok(response.map(|body| body.boxed())),
        Err(reason) => Ok(bad_gateway(&reason)),
    }
}

async fn send(
    request: Request<Incoming>,
    backend: SocketAddr,
) -> Result<Response<Incoming>, String> {
    let stream = TcpStream::connect(backend)
        .await
        .map_err(|e| format!("connect to {backend}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {backend}: {e}"))?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("request to {backend}: {e}"))
}

fn bad_gateway(reason: &str) -> Response<ProxyBody> {
    let body = Full::new(Bytes::from(format!("proxy: {reason}\n")))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}
