//! `handsync serve`: the daemon with its listeners, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::progress::{LinkRate, SyncProgress};
use super::support;
use super::sync::plug_call_options;
use super::Failure;
use crate::daemon::cluster::{NodeAddress, MISSED_HEARTBEATS};
use crate::daemon::config::{
    default_config_path, parse_listen, ConfigFile, DEFAULT_HTTP_LISTEN, DEFAULT_IDLE_TIMEOUT,
};
use crate::daemon::notify::DesktopNotifier;
use crate::daemon::observe::{Observers, SessionObserver};
use crate::daemon::IrdaListen;
use crate::daemon::{Daemon, Settings};
use crate::desktop::watch::DesktopTrigger;
use crate::transport::bluetooth::{self, agent::AgentPolicy, BtListen};
use crate::transport::http::client::{IpNet, TrustedProxies};
use crate::transport::obex::ObexServerOptions;
use crate::transport::serial::at::SwitchOptions;
use crate::transport::serial::{SerialListen, DEFAULT_BAUD};
use crate::transport::usb::listen::{PlugCall, UsbListen};
use crate::transport::usb::UsbPhone;
use handsync_proto::irda::dongle::DongleKind;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The configuration file (TOML, see docs/daemon.md). Default:
    /// $XDG_CONFIG_HOME/handsync/config.toml when it exists.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Serve SyncML over HTTP on this address (IP:PORT or a port on loopback); repeat for
    /// several. Default 127.0.0.1:9180. Port 0 picks a free port (printed at start).
    #[arg(long = "http", value_name = "ADDR", value_parser = parse_listen)]
    http: Vec<SocketAddr>,

    /// Serve phones over OBEX on TCP at this address (IP:PORT or a port on loopback);
    /// repeatable. Off by default.
    #[arg(long = "obex-tcp", value_name = "ADDR", value_parser = parse_listen)]
    obex_tcp: Vec<SocketAddr>,

    /// Serve a phone that stays on this serial cable (/dev/ttyUSB0, /dev/ttyACM0...):
    /// switch it into OBEX mode, serve the sessions it starts, one after another. Repeatable.
    #[arg(long = "serial", value_name = "DEV")]
    serial: Vec<PathBuf>,

    /// Serial line speed (default 115200, or the configuration's serial.baud).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(300..=4_000_000))]
    baud: Option<u32>,

    /// No Bluetooth listener (by default handsync serves phones on Bluetooth whenever BlueZ
    /// and an adapter are there).
    #[arg(long)]
    no_bluetooth: bool,

    /// No USB listener (by default handsync serves phones plugged in on USB: the phone starts
    /// a sync from its menu).
    #[arg(long)]
    no_usb: bool,

    /// The PC starts a sync (SAN, then the session) with each phone plugged in on USB, as PC
    /// Suite did; the phone's own syncs are served too ([usb] sync-on-plug).
    #[arg(long, conflicts_with = "no_usb")]
    usb_sync_on_plug: bool,

    /// Be discoverable as "PC Suite" on this infrared dongle, so phones in range sync from
    /// their menu: a tty (serial dongle or SIR port, see --dongle) or `usb`, `usb:VID:PID`,
    /// `usb:BUS-PORT` (an IrDA-USB dongle). Off by default.
    #[arg(long, value_name = "DEVICE")]
    irda: Option<String>,

    /// What sits on --irda's tty (see `handsync sync --help`); default sir.
    #[arg(long, value_name = "KIND", value_parser = super::sync::parse_dongle)]
    dongle: Option<DongleKind>,

    /// Write every infrared frame to this pcap file (for Wireshark or tshark).
    #[arg(long, value_name = "FILE")]
    irda_capture: Option<PathBuf>,

    /// The Bluetooth adapter (hci0...). Default: BlueZ's default adapter.
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,

    /// RFCOMM channel of the SyncML Server record (default 26).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=30))]
    bt_channel: Option<u8>,

    /// Serve phones that are neither paired nor trusted (and skip Bluetooth authentication).
    #[arg(long)]
    bt_serve_unpaired: bool,

    /// Be the adapter's pairing agent (machines without a desktop agent): every pairing
    /// request is refused and reported, so no stranger bonds while nobody is asked. Phones
    /// pair in a window a person opens: `handsync pair --accept`.
    #[arg(long)]
    bt_agent: bool,

    /// No HTTP listener.
    #[arg(long, conflicts_with = "http")]
    no_http: bool,

    /// Keep this vdir in step with the store both ways (default: [desktop] vdir, else vdir/
    /// beside handsync.db, NAME-vdir/ beside NAME.db): phones' changes are written to it
    /// after every sync, and edits made there (khard, khal, vdirsyncer, an editor) are taken
    /// in as they happen.
    #[arg(long, value_name = "DIR", conflicts_with = "no_desktop")]
    vdir: Option<PathBuf>,

    /// Leave the desktop alone: no vdir is written or watched.
    #[arg(long)]
    no_desktop: bool,

    /// No desktop notification when a phone's sync ends (by default one goes to the session
    /// bus, when there is one; [notify] enabled = false in the configuration).
    #[arg(long)]
    no_notify: bool,

    /// Seconds a session may stay silent before it is cut (default 300).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: Option<u64>,

    /// Where other serve processes on the same database reach this one's HTTP listener, to
    /// relay the messages of sessions it holds ([cluster] node-address). Default: the HTTP
    /// address it listens on (0.0.0.0 and :: as loopback).
    #[arg(long, value_name = "HOST:PORT")]
    node_address: Option<NodeAddress>,

    /// A reverse proxy (address, or network as ADDR/PREFIX) whose X-Forwarded-For names the
    /// HTTP client; repeatable ([http] trusted-proxies). None by default: the TCP peer is the
    /// client.
    #[arg(long = "trusted-proxy", value_name = "ADDR[/PREFIX]")]
    trusted_proxies: Vec<IpNet>,
}

/// The configuration file `--config` names, else the XDG one when it exists.
pub(super) fn load_config(explicit: Option<&PathBuf>) -> Result<ConfigFile, Failure> {
    match (explicit, default_config_path()) {
        (Some(path), _) => ConfigFile::load(path, true),
        (None, Some(path)) => ConfigFile::load(&path, false),
        (None, None) => Ok(ConfigFile::default()),
    }
    .map_err(|e| Failure::bad_input(e.to_string()))
}

/// The serial line speed: `--baud` over the file's serial.baud over the default.
pub(super) fn serial_baud(flag: Option<u32>, file: &ConfigFile) -> Result<u32, Failure> {
    match flag {
        Some(baud) => Ok(baud),
        None => Ok(file
            .serial_baud()
            .map_err(|e| Failure::bad_input(e.to_string()))?
            .unwrap_or(DEFAULT_BAUD)),
    }
}

/// The database: `--db` and `$HANDSYNC_DB` over the file, the file over the XDG default.
pub(super) fn resolve_db(db: Option<PathBuf>, file: &ConfigFile) -> Result<PathBuf, Failure> {
    Ok(
        match (
            db,
            std::env::var_os("HANDSYNC_DB").filter(|p| !p.is_empty()),
        ) {
            (Some(path), _) => path,
            (None, Some(path)) => PathBuf::from(path),
            (None, None) => match &file.db {
                Some(path) => path.clone(),
                None => support::db_path(None)?,
            },
        },
    )
}

pub fn run(db: Option<PathBuf>, args: &ServeArgs) -> Result<(), Failure> {
    // SIGINT and SIGTERM are caught from here on, before the status lines go out: whoever
    // stops the daemon as soon as it has read them must not kill it in mid-start.
    let signals = Signals::catch().map_err(|e| Failure::io(format!("catching signals: {e}")))?;
    let file = load_config(args.config.as_ref())?;
    let server = file
        .server_config()
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let http_listen = if args.no_http {
        Vec::new()
    } else if !args.http.is_empty() {
        args.http.clone()
    } else {
        file.http_listen()
            .map_err(|e| Failure::bad_input(e.to_string()))?
            .unwrap_or_else(|| vec![parse_listen(DEFAULT_HTTP_LISTEN).expect("valid default")])
    };
    let obex_tcp_listen = if args.obex_tcp.is_empty() {
        file.obex_tcp_listen()
            .map_err(|e| Failure::bad_input(e.to_string()))?
    } else {
        args.obex_tcp.clone()
    };
    let idle_timeout = match args.idle_timeout {
        Some(seconds) => Duration::from_secs(seconds),
        None => file
            .idle_timeout()
            .map_err(|e| Failure::bad_input(e.to_string()))?
            .unwrap_or(DEFAULT_IDLE_TIMEOUT),
    };
    let serial_devices = if args.serial.is_empty() {
        file.serial.devices.clone()
    } else {
        args.serial.clone()
    };
    let baud = serial_baud(args.baud, &file)?;
    let limits = file
        .limits()
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let mut cluster = file
        .cluster()
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    if let Some(address) = &args.node_address {
        cluster.node_address = Some(address.clone());
    }
    let trusted_proxies = if args.trusted_proxies.is_empty() {
        file.trusted_proxies()
    } else {
        TrustedProxies(args.trusted_proxies.clone())
    };
    let db_path = resolve_db(db, &file)?;
    let mut store = support::open_store(&db_path)?;
    // A PostgreSQL store hosts many users' phones on a server: no desktop of theirs to keep a
    // vdir for or notify, unless the configuration or --vdir asks for it.
    let hosted = store.is_postgres();
    let orphaned =
        support::cut_orphaned_sessions(&mut store, cluster.heartbeat * MISSED_HEARTBEATS)?;
    let server_id = server.server_id.clone();
    let plug_server = server.clone();
    // The phone starts these syncs, with nobody at a terminal: its user learns how they
    // ended from the desktop.
    let notify_default = !hosted;
    let notifier = (!args.no_notify && file.notify.enabled.unwrap_or(notify_default))
        .then(|| Arc::new(DesktopNotifier::new()));
    let mut observers: Vec<Arc<dyn SessionObserver>> = Vec::new();
    if let Some(notifier) = &notifier {
        observers.push(notifier.clone());
    }
    let desktop_default = !hosted || args.vdir.is_some();
    let desktop =
        (!args.no_desktop && file.desktop.enabled.unwrap_or(desktop_default)).then(|| {
            (
                super::desktop::settings(&file, &db_path, args.vdir.clone(), &server),
                Arc::new(DesktopTrigger::default()),
            )
        });
    if let Some((_, trigger)) = &desktop {
        observers.push(trigger.clone());
    }
    // Run by hand on a terminal: each session's progress while it lasts (the links differ
    // from phone to phone, so the rate is measured).
    if let Some(progress) = SyncProgress::on_terminal(LinkRate::Measured, true) {
        observers.push(Arc::new(progress));
    }
    let mut daemon = Daemon::start_observed(
        store,
        Settings {
            server,
            http_listen,
            obex_tcp_listen,
            idle_timeout,
            limits,
            cluster,
            trusted_proxies,
        },
        (!observers.is_empty()).then(|| Arc::new(Observers(observers)) as Arc<dyn SessionObserver>),
    )
    .map_err(|e| Failure::io(e.to_string()))?;

    // Status lines on stdout (the journal under systemd; tests read the port from them).
    println!(
        "handsync: serving as \"{server_id}\", database {}",
        support::describe_db(&db_path)
    );
    if orphaned > 0 {
        println!(
            "handsync: {} left running by a process that ended, recorded as cut",
            support::describe_count(orphaned, "session")
        );
    }
    if daemon.http_addresses().is_empty() {
        println!("HTTP: off");
    }
    for address in daemon.http_addresses() {
        println!("HTTP: listening on http://{address}/");
    }
    if let Some((node, address)) = daemon.node() {
        // Tests and scripts read the node from this line.
        println!(
            "Cluster: node {node}, reached at {address} by other serve processes on this database"
        );
    }
    for address in daemon.obex_tcp_addresses() {
        println!("OBEX over TCP: listening on {address}");
    }
    for device in &serial_devices {
        println!(
            "Serial: {} at {baud} baud (OBEX over the cable, the phone starts)",
            device.display()
        );
        daemon.add_serial(SerialListen {
            path: device.to_string_lossy().into_owned(),
            baud,
            switch: SwitchOptions::default(),
            obex: ObexServerOptions::default(),
            retry_pause: Duration::from_secs(5),
            report: std::sync::Arc::new(|line: &str| println!("{line}")),
        });
    }
    let bluetooth = !args.no_bluetooth && file.bluetooth.enabled != Some(false);
    if bluetooth {
        if file
            .bluetooth_pin()
            .map_err(|e| Failure::bad_input(e.to_string()))?
            .is_some()
        {
            println!(
                "Bluetooth: [bluetooth] pin is not used by serve: phones pair in a window, \
                 `handsync pair --accept --pin PIN`"
            );
        }
        let channel = match args.bt_channel {
            Some(channel) => channel,
            None => file
                .bluetooth_channel()
                .map_err(|e| Failure::bad_input(e.to_string()))?
                .unwrap_or(bluetooth::DEFAULT_CHANNEL),
        };
        let report: std::sync::Arc<dyn Fn(&str) + Send + Sync> =
            std::sync::Arc::new(|line: &str| println!("{line}"));
        let agent =
            (args.bt_agent || file.bluetooth.agent).then(|| AgentPolicy::refusing(report.clone()));
        daemon.add_bluetooth(BtListen {
            adapter: args.adapter.clone().or(file.bluetooth.adapter.clone()),
            channel,
            name: file
                .bluetooth
                .name
                .clone()
                .unwrap_or_else(|| bluetooth::DEFAULT_SERVICE_NAME.to_string()),
            serve_unpaired: args.bt_serve_unpaired || file.bluetooth.serve_unpaired,
            agent,
            report,
            ..BtListen::default()
        });
    } else {
        println!("Bluetooth: off");
    }
    let usb = !args.no_usb && file.usb.enabled != Some(false);
    if usb {
        let sync_on_plug: Option<PlugCall> =
            (args.usb_sync_on_plug || file.usb.sync_on_plug).then(|| {
                let server = plug_server.clone();
                std::sync::Arc::new(move |phone: &UsbPhone| plug_call_options(&server, phone))
                    as PlugCall
            });
        daemon.add_usb(UsbListen {
            obex: ObexServerOptions::default(),
            sync_on_plug,
            report: std::sync::Arc::new(|line: &str| println!("{line}")),
        });
    } else {
        println!("USB: off");
    }
    let irda_device = args.irda.clone().or_else(|| file.irda.device.clone());
    let irda = match irda_device {
        Some(device) => {
            let kind = match (args.dongle, &file.irda.dongle) {
                (Some(kind), _) => Some(kind),
                (None, Some(name)) => Some(
                    name.parse::<DongleKind>()
                        .map_err(|e| Failure::bad_input(format!("[irda] dongle: {e}")))?,
                ),
                (None, None) => None,
            };
            let spec = crate::transport::irda::DongleSpec::parse(&device, kind)
                .map_err(|e| Failure::bad_input(format!("--irda {e}")))?;
            println!("IrDA: discoverable as \"PC Suite\" on {}", spec.label());
            daemon.add_irda(IrdaListen {
                spec,
                obex: ObexServerOptions::default(),
                capture: args.irda_capture.clone(),
            });
            true
        }
        None => {
            println!("IrDA: off (--irda DEVICE names a dongle)");
            false
        }
    };
    if let Some((settings, trigger)) = desktop {
        println!(
            "Desktop: keeping {} in step (khard, khal, vdirsyncer read it)",
            settings.vdir.display()
        );
        daemon.add_desktop(settings, trigger);
    } else {
        println!("Desktop: off");
    }
    if daemon.http_addresses().is_empty()
        && daemon.obex_tcp_addresses().is_empty()
        && daemon.serial_devices().is_empty()
        && !bluetooth
        && !usb
        && !irda
    {
        println!("handsync: no listener is configured; waiting for a signal to stop");
    }

    let waited = signals.wait();
    println!("handsync: stopping (open sessions are recorded as cut)");
    daemon.shutdown();
    if let Some(notifier) = notifier {
        notifier.flush(Duration::from_secs(1));
    }
    waited.map_err(|e| Failure::io(format!("waiting for a signal: {e}")))
}

/// SIGINT and SIGTERM, caught on a small runtime of their own.
struct Signals {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn catch() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (interrupt, terminate) = runtime.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })?;
        Ok(Signals {
            runtime,
            interrupt,
            terminate,
        })
    }

    /// Blocks until one arrives (or arrived since [`Signals::catch`]).
    fn wait(mut self) -> std::io::Result<()> {
        self.runtime.block_on(async {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        });
        Ok(())
    }
}
