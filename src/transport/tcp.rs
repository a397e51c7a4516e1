//! OBEX over TCP (IrOBEX's TCP mapping, port 650 by convention): what the phone emulator,
//! IrDA and Bluetooth bridges and tests connect to. Loopback unless configured otherwise.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::Instrument;

use super::obex::{serve_phone, ObexServerOptions};
use super::sessions::HubHandle;

/// The transport name sessions over this listener carry.
pub const TRANSPORT: &str = "obex-tcp";

/// Accepts phones on `listener` until `shutdown` turns true; each connection is one OBEX
/// session served as the phone starts it.
pub async fn serve(
    listener: TcpListener,
    hub: HubHandle,
    options: ObexServerOptions,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let options = Arc::new(options);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let hub = hub.clone();
        let options = options.clone();
        let span = tracing::info_span!("obex_connection", transport = TRANSPORT, %peer);
        tokio::spawn(
            async move {
                tracing::info!("phone connected");
                if let Err(e) = serve_phone(stream, hub, TRANSPORT, &options).await {
                    tracing::warn!(error = %e, "connection failed");
                }
            }
            .instrument(span),
        );
    }
}

/// The conventional IrOBEX port, on loopback.
pub fn default_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 650))
}
