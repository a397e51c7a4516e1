//! OBEX over TCP (IrOBEX's TCP mapping, port 650 by convention): what the phone emulator,
//! IrDA and Bluetooth bridges and tests connect to. Loopback unless configured otherwise.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

use super::limits::{ConnectionGate, GatedListener};
use super::obex::{serve_phone, ObexServerOptions};
use super::sessions::HubHandle;
use crate::obex::{Response, ResponseCode};

/// The transport name sessions over this listener carry.
pub const TRANSPORT: &str = "obex-tcp";

/// Accepts phones on `listener` until `shutdown` turns true; each connection is one OBEX
/// session served as the phone starts it. Past `gate`'s limit a connection's first request
/// is answered 0xD3 (Service Unavailable) and the connection closed.
pub async fn serve(
    listener: TcpListener,
    hub: HubHandle,
    options: ObexServerOptions,
    gate: ConnectionGate,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let options = Arc::new(options);
    let mut listener = GatedListener::new(listener, gate, obex_busy_answer);
    while let Some((stream, peer, permit)) = listener.next(&mut shutdown).await {
        let _ = stream.set_nodelay(true);
        let hub = hub.clone();
        let options = options.clone();
        let span = tracing::info_span!("obex_connection", transport = TRANSPORT, %peer);
        tokio::spawn(
            async move {
                tracing::info!("phone connected");
                if let Err(e) = serve_phone(stream, hub, TRANSPORT, Some(peer.ip()), &options).await
                {
                    tracing::warn!(error = %e, "connection failed");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }
    Ok(())
}

/// What a phone past the connection limit hears: 0xD3 to its first request.
fn obex_busy_answer(first: &[u8]) -> Vec<u8> {
    Response::refusal_to(first.first().copied(), ResponseCode::ServiceUnavailable)
}

/// The conventional IrOBEX port, on loopback.
pub fn default_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 650))
}
