//! `handsync serve`: the session hub and the listeners around it, on a tokio runtime.
//!
//! - [`config`]: the configuration file and defaults;
//! - [`hub`]: the thread that owns the store and the open SyncML sessions;
//! - [`cluster`]: this process as a node among others serving the same database;
//! - [`observe`]: what the hub tells of its sessions (progress, how each ended);
//! - [`notify`]: desktop notifications of how they ended.

pub mod cluster;
pub mod config;
pub mod hub;
pub mod notify;
pub mod observe;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::desktop::watch::DesktopTrigger;
use crate::desktop::DesktopSettings;
use crate::engine::{AuthPolicy, ServerConfig};
use crate::store::Store;
use crate::transport::bluetooth::{self, BtListen};
use crate::transport::http::client::TrustedProxies;
use crate::transport::http::relay::{ClusterView, NodeDirectory};
use crate::transport::http::{self, HttpOptions};
use crate::transport::irda;
use crate::transport::limits::{raise_descriptor_limit, ConnectionGate, ConnectionLimits};
use crate::transport::obex::ObexServerOptions;
use crate::transport::serial::{self, SerialListen};
use crate::transport::tcp;
use crate::transport::usb::{self, listen::UsbListen};
use cluster::{ClusterSettings, Membership, NodeAddress};
use hub::{Hub, HubHandle, HubOptions};

/// An infrared dongle `serve` stays discoverable on.
#[derive(Debug, Clone)]
pub struct IrdaListen {
    pub spec: irda::DongleSpec,
    pub obex: ObexServerOptions,
    /// Every frame into this pcap file.
    pub capture: Option<std::path::PathBuf>,
}

/// What the daemon runs with (the configuration file and flags, resolved).
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerConfig,
    /// HTTP listen addresses; empty: no HTTP.
    pub http_listen: Vec<SocketAddr>,
    /// OBEX-over-TCP listen addresses; empty: none.
    pub obex_tcp_listen: Vec<SocketAddr>,
    pub idle_timeout: Duration,
    pub limits: Limits,
    /// This process among others on the same database (with HTTP).
    pub cluster: ClusterSettings,
    /// Reverse proxies whose X-Forwarded-For names HTTP clients.
    pub trusted_proxies: TrustedProxies,
}

/// What peers can make the daemon hold: connections and read timeouts per listener, the
/// session thread's queue, the memory of large objects.
#[derive(Debug, Clone)]
pub struct Limits {
    pub connections: ConnectionLimits,
    /// Messages waiting for the session thread; more are answered busy.
    pub queue: usize,
    /// Bytes all open sessions' large objects may hold together.
    pub large_objects: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let hub = HubOptions::default();
        Limits {
            connections: ConnectionLimits::default(),
            queue: hub.queue,
            large_objects: hub.large_objects,
        }
    }
}

/// Why the daemon could not start.
#[derive(Debug)]
pub enum StartError {
    Runtime(std::io::Error),
    /// A listener beyond loopback whose transport needs no authentication.
    Unauthenticated {
        what: &'static str,
        address: SocketAddr,
    },
    Listen {
        what: &'static str,
        address: SocketAddr,
        source: std::io::Error,
    },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Runtime(e) => write!(f, "could not start the async runtime: {e}"),
            StartError::Unauthenticated { what, address } => write!(
                f,
                "{what} on {address} would let anyone on the network sync without a password: \
                 set [server] auth = \"md5\" in the configuration and add an account \
                 (handsync account add NAME), listen on loopback, or set [server] \
                 allow-unauthenticated-network = true"
            ),
            StartError::Listen {
                what,
                address,
                source,
            } => write!(f, "{what}: cannot listen on {address}: {source}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A running daemon. [`Daemon::shutdown`] stops the listeners, cuts open sessions (recorded
/// in the store) and waits for the hub.
pub struct Daemon {
    runtime: tokio::runtime::Runtime,
    hub: Hub,
    /// This process's node id and the address peers reach it at (with HTTP).
    node: Option<(String, NodeAddress)>,
    stop: watch::Sender<bool>,
    listeners: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    http_addresses: Vec<SocketAddr>,
    obex_tcp_addresses: Vec<SocketAddr>,
    serial_devices: Vec<String>,
    stopped: watch::Receiver<bool>,
    max_body: usize,
    connections: ConnectionLimits,
}

impl Daemon {
    pub fn start(store: Store, settings: Settings) -> Result<Daemon, StartError> {
        Daemon::start_observed(store, settings, None)
    }

    /// [`Daemon::start`], with `observer` told of every session's progress and end.
    pub fn start_observed(
        store: Store,
        settings: Settings,
        observer: Option<Arc<dyn observe::SessionObserver>>,
    ) -> Result<Daemon, StartError> {
        // Beyond loopback, a transport without authentication lets anyone sync: refused
        // before anything listens, unless the configuration asks for it.
        let transports = [
            ("HTTP", "http", &settings.http_listen),
            ("OBEX over TCP", tcp::TRANSPORT, &settings.obex_tcp_listen),
        ];
        for (what, transport, addresses) in transports {
            let open = settings.server.auth_for(transport) == AuthPolicy::None;
            if let Some(address) = addresses.iter().find(|a| !a.ip().is_loopback()) {
                if open && !settings.server.unauthenticated_network {
                    return Err(StartError::Unauthenticated {
                        what,
                        address: *address,
                    });
                }
            }
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("handsync-io")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let max_body = settings.server.max_msg_size as usize + 16 * 1024;
        // Every listener is bound before the hub starts: the node registers the address
        // peers reach HTTP at, and a failed bind leaves nothing running.
        let mut http_bound = Vec::new();
        for address in &settings.http_listen {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(address))
                .map_err(|source| StartError::Listen {
                    what: "HTTP",
                    address: *address,
                    source,
                })?;
            let bound = listener.local_addr().unwrap_or(*address);
            if !bound.ip().is_loopback() {
                tracing::warn!(%bound, "HTTP listens beyond this machine");
            }
            http_bound.push((listener, bound));
        }
        let mut obex_tcp_bound = Vec::new();
        for address in &settings.obex_tcp_listen {
            let listener = runtime
                .block_on(tokio::net::TcpListener::bind(address))
                .map_err(|source| StartError::Listen {
                    what: "OBEX over TCP",
                    address: *address,
                    source,
                })?;
            let bound = listener.local_addr().unwrap_or(*address);
            if !bound.ip().is_loopback() {
                tracing::warn!(%bound, "OBEX over TCP listens beyond this machine");
            }
            obex_tcp_bound.push((listener, bound));
        }
        let membership = http_bound.first().map(|(_, bound)| Membership {
            id: format!("{:016x}", crate::entropy::random_u64()),
            address: settings
                .cluster
                .node_address
                .clone()
                .unwrap_or_else(|| NodeAddress::of_listener(*bound)),
            heartbeat: settings.cluster.heartbeat,
            directory: NodeDirectory::default(),
        });
        let cluster_view = membership.as_ref().map(|m| ClusterView {
            node: m.id.clone(),
            directory: m.directory.clone(),
        });
        let node = membership
            .as_ref()
            .map(|m| (m.id.clone(), m.address.clone()));
        let hub = Hub::start(
            store,
            Arc::new(settings.server),
            HubOptions {
                idle_timeout: settings.idle_timeout,
                queue: settings.limits.queue,
                large_objects: settings.limits.large_objects,
                observer,
                cluster: membership,
            },
        );
        if let Some(descriptors) = raise_descriptor_limit() {
            tracing::debug!(descriptors, "file descriptor limit");
        }
        let connections = settings.limits.connections.clone();
        let (stop, stopped) = watch::channel(false);
        let mut listeners = Vec::new();
        let mut http_addresses = Vec::new();
        for (listener, bound) in http_bound {
            http_addresses.push(bound);
            listeners.push(runtime.spawn(http::serve(
                listener,
                hub.handle(),
                HttpOptions {
                    max_body,
                    header_timeout: connections.header_timeout,
                    body_timeout: connections.body_timeout,
                    trusted_proxies: settings.trusted_proxies.clone(),
                    cluster: cluster_view.clone(),
                },
                ConnectionGate::new("http", &connections),
                stopped.clone(),
            )));
        }
        let mut obex_tcp_addresses = Vec::new();
        for (listener, bound) in obex_tcp_bound {
            obex_tcp_addresses.push(bound);
            listeners.push(runtime.spawn(tcp::serve(
                listener,
                hub.handle(),
                ObexServerOptions {
                    max_object_size: max_body,
                    silence: Some(connections.obex_silence()),
                    ..ObexServerOptions::default()
                },
                ConnectionGate::new(tcp::TRANSPORT, &connections),
                stopped.clone(),
            )));
        }
        Ok(Daemon {
            runtime,
            hub,
            node,
            stop,
            listeners,
            http_addresses,
            obex_tcp_addresses,
            serial_devices: Vec::new(),
            stopped,
            max_body,
            connections,
        })
    }

    /// Keeps a vdir in step with the store both ways: at start, after every phone session
    /// (`trigger`, which the daemon's observer pulls), and as the desktop edits it (see
    /// [`crate::desktop::watch`]).
    pub fn add_desktop(&mut self, settings: DesktopSettings, trigger: Arc<DesktopTrigger>) {
        let ended = trigger.sessions_ended();
        let stopped = self.stopped.clone();
        self.listeners.push(self.runtime.spawn(async move {
            let vdir = settings.vdir.clone();
            if let Err(e) = crate::desktop::watch::run(settings, ended, stopped).await {
                tracing::error!("desktop sync of {}: {e}", vdir.display());
                println!("desktop: cannot watch {}: {e}", vdir.display());
            }
            Ok(())
        }));
    }

    /// Serves a phone that stays on a serial cable (see [`serial::serve`]); its OBEX object
    /// limit follows the server's message size.
    pub fn add_serial(&mut self, mut listen: SerialListen) {
        listen.obex.max_object_size = self.max_body;
        self.serial_devices.push(listen.path.clone());
        let hub = self.hub.handle();
        let stopped = self.stopped.clone();
        self.listeners
            .push(self.runtime.spawn(serial::serve(listen, hub, stopped)));
    }

    /// Serves phones on Bluetooth (the listener waits for bluetoothd and the adapter when they
    /// are not there yet, and reports through `listen.report`).
    pub fn add_bluetooth(&mut self, mut listen: BtListen) {
        listen.obex.max_object_size = self.max_body;
        listen.limits = self.connections.clone();
        let hub = self.hub.handle();
        let stopped = self.stopped.clone();
        self.listeners.push(self.runtime.spawn(async move {
            bluetooth::serve(listen, hub, stopped).await;
            Ok(())
        }));
    }

    /// Serves phones plugged in on USB (and later), each in a task of its own.
    pub fn add_usb(&mut self, mut listen: UsbListen) {
        listen.obex.max_object_size = self.max_body;
        let hub = self.hub.handle();
        let stopped = self.stopped.clone();
        self.listeners.push(self.runtime.spawn(async move {
            usb::listen::serve(listen, hub, stopped).await;
            Ok(())
        }));
    }

    /// Stays discoverable on an infrared dongle and serves the phones that call (see
    /// [`irda::serve`]). A dongle that fails is reported, and the rest of the daemon goes on.
    pub fn add_irda(&mut self, listen: IrdaListen) {
        let mut obex = listen.obex;
        obex.max_object_size = self.max_body;
        let hub = self.hub.handle();
        let stopped = self.stopped.clone();
        self.listeners.push(self.runtime.spawn(async move {
            let label = listen.spec.label();
            if let Err(e) = irda::serve(listen.spec, hub, obex, listen.capture, stopped).await {
                tracing::error!("IrDA on {label}: {e}");
                println!("IrDA: {label}: {e}");
            }
            Ok(())
        }));
    }

    /// The serial devices served.
    pub fn serial_devices(&self) -> &[String] {
        &self.serial_devices
    }

    /// Where HTTP really listens (port 0 resolved).
    pub fn http_addresses(&self) -> &[SocketAddr] {
        &self.http_addresses
    }

    /// This process's node id and the address its peers relay HTTP sessions to, when it
    /// serves HTTP.
    pub fn node(&self) -> Option<(&str, &NodeAddress)> {
        self.node
            .as_ref()
            .map(|(id, address)| (id.as_str(), address))
    }

    /// Where OBEX over TCP really listens.
    pub fn obex_tcp_addresses(&self) -> &[SocketAddr] {
        &self.obex_tcp_addresses
    }

    pub fn hub(&self) -> HubHandle {
        self.hub.handle()
    }

    /// Blocks until SIGINT or SIGTERM.
    pub fn wait_for_signal(&self) -> std::io::Result<()> {
        self.runtime.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut terminate = signal(SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result,
                _ = terminate.recv() => Ok(()),
            }
        })
    }

    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        self.runtime.block_on(async {
            for listener in self.listeners {
                let _ = listener.await;
            }
        });
        // Connections still open get their answers refused from here on.
        self.hub.shutdown();
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}
