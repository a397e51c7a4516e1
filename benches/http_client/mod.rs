//! The benchmarks' phones on HTTP: one POST on its own TCP connection, from a source address
//! of the phone's own (127.x.y.z), as phones on GPRS send them.

#![allow(dead_code)] // each benchmark uses its own subset
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::HeaderMap;
use tokio::net::{TcpSocket, TcpStream};

/// An answer as the phone reads it.
pub struct HttpAnswer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A TCP connection to `to` from the address `from`.
pub async fn connect_from(from: SocketAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(from)?;
    let stream = socket.connect(to).await?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// POSTs `body` to the path of `target` (a RespURI names whatever address the server
/// believes it has: only its path counts) on a connection from `from` to `to`.
pub async fn post_from(
    from: SocketAddr,
    to: SocketAddr,
    target: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<HttpAnswer, String> {
    let stream = connect_from(from, to)
        .await
        .map_err(|e| format!("connect: {}", e.kind()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    let path = target
        .strip_prefix("http://")
        .and_then(|rest| rest.find('/').map(|slash| &rest[slash..]))
        .unwrap_or(target);
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, to.to_string())
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes()
        .to_vec();
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}
