//! OBEX over TCP (IrOBEX's TCP mapping, port 650 by convention): what the phone emulator,
//! IrDA and Bluetooth bridges and tests connect to. Loopback unless configured otherwise.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

use super::limits::{refuse, AcceptErrors, Admission, ConnectionGate};
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
    let mut accept_errors = AcceptErrors::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tokio::time::sleep(accept_errors.failed(TRANSPORT, &e)).await;
                    continue;
                }
            },
            _ = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => return Ok(()),
        };
        let permit = match gate.admit(Some(peer.ip())) {
            Admission::Serve(permit) => permit,
            Admission::Refuse(permit) => {
                tokio::spawn(async move {
                    refuse(stream, |first| {
                        Response::refusal_to(
                            first.first().copied(),
                            ResponseCode::ServiceUnavailable,
                        )
                    })
                    .await;
                    drop(permit);
                });
                continue;
            }
            Admission::Drop => continue,
        };
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
}

/// The conventional IrOBEX port, on loopback.
pub fn default_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 650))
}
