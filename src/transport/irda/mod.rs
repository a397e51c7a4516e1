//! SyncML over OBEX on infrared: the sans-IO stack of [`handsync_proto::irda`] driven over a
//! dongle, serial ([`serial`]) or USB ([`usb`]). Linux has had no IrDA stack since 4.17; this
//! is one, in user space. See docs/irda.md.
//!
//! - [`discover`]: who is in range (`handsync devices --irda`).
//! - [`call`]: the PC starts: discover, connect to the phone, find its OBEX service through
//!   IAS, notify it (SAN) and run the session as OBEX client (`handsync sync --irda`).
//! - [`serve`]: the phone starts: we are discoverable as "PC Suite" with the OBEX hint and
//!   serve each OBEX connection a phone opens (`handsync serve --irda`).

pub mod link;
pub mod port;
pub mod serial;
pub mod usb;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use handsync_proto::irda::dongle::DongleKind;
use handsync_proto::irda::frame::{Discovery, Hints};
use handsync_proto::irda::station::{CloseReason, Station, StationConfig, StationEvent};
use handsync_proto::irda::DeviceAddress;
use tokio::sync::watch;

use super::obex::{call_phone, serve_phone, CallError, CallOptions, CallReport, ObexServerOptions};
use super::sessions::HubHandle;
use link::{Capture, Link, LinkCommand, LinkNotice};
pub use port::IrdaPort;

/// The transport name sessions over infrared carry.
pub const TRANSPORT: &str = "obex-irda";

/// The name we show in discovery, as Nokia PC Suite did.
pub const NICKNAME: &str = "PC Suite";

/// How long one discovery may take, and how often a call tries before saying nobody is there.
const DISCOVERY_TRIES: usize = 3;
/// How long a call waits for the phone's OBEX service once it picked the phone.
const OPEN_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the dongle is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DongleSpec {
    /// A serial dongle or a built-in SIR port on this tty.
    Serial { path: PathBuf, kind: DongleKind },
    /// An IrDA-USB dongle: `usb` (the only one), `usb:VID:PID` or `usb:BUS-PORT`.
    Usb(Option<String>),
}

impl DongleSpec {
    /// `DEVICE` as the command line gives it: a tty path, or `usb[:VID:PID|:BUS-PORT]`.
    pub fn parse(device: &str, kind: Option<DongleKind>) -> Result<DongleSpec, String> {
        if device == "usb" || device.starts_with("usb:") {
            if kind.is_some() {
                return Err(
                    "--dongle names a serial dongle's kind; a USB dongle says what it is".into(),
                );
            }
            let selector = device.strip_prefix("usb:").map(str::to_string);
            return Ok(DongleSpec::Usb(selector));
        }
        Ok(DongleSpec::Serial {
            path: PathBuf::from(device),
            kind: kind.unwrap_or(DongleKind::Sir),
        })
    }

    pub fn label(&self) -> String {
        match self {
            DongleSpec::Serial { path, kind } => format!("{} ({kind})", path.display()),
            DongleSpec::Usb(None) => "the USB IrDA dongle".to_string(),
            DongleSpec::Usb(Some(which)) => format!("the USB IrDA dongle {which}"),
        }
    }
}

/// What went wrong with infrared, in words a user can act on.
#[derive(Debug)]
pub enum IrdaError {
    /// The dongle could not be opened or set up (its own message names it).
    Dongle(String),
    Io(std::io::Error),
    /// Discovery found no station.
    NothingInRange {
        tries: usize,
    },
    /// Stations answered, but not the one asked for.
    NotFound {
        wanted: String,
        seen: Vec<String>,
    },
    /// The OBEX channel could not open, or closed under the session.
    Link(CloseReason),
    /// The phone did not open its OBEX service in time.
    OpenTimedOut,
    Call(CallError),
}

impl std::fmt::Display for IrdaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IrdaError::Dongle(why) => write!(f, "IrDA dongle: {why}"),
            IrdaError::Io(e) => write!(f, "IrDA dongle: {e}"),
            IrdaError::NothingInRange { tries } => write!(
                f,
                "no phone in infrared range ({tries} discoveries): put the phone's infrared \
                 port within a metre of the dongle, facing it, with infrared switched on"
            ),
            IrdaError::NotFound { wanted, seen } => write!(
                f,
                "{wanted} is not in range; seen: {}",
                if seen.is_empty() {
                    "nobody".to_string()
                } else {
                    seen.join(", ")
                }
            ),
            IrdaError::Link(reason) => write!(f, "{reason}"),
            IrdaError::OpenTimedOut => f.write_str(
                "the phone took its infrared connection but opened no OBEX service in time",
            ),
            IrdaError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for IrdaError {}

impl From<std::io::Error> for IrdaError {
    fn from(e: std::io::Error) -> Self {
        IrdaError::Io(e)
    }
}

/// Opens the dongle and sets it to the contact speed.
pub async fn open(spec: &DongleSpec) -> Result<IrdaPort, IrdaError> {
    match spec {
        DongleSpec::Serial { path, kind } => {
            let path = path.to_string_lossy();
            serial::SerialDongle::open(&path, *kind)
                .await
                .map(IrdaPort::Serial)
                .map_err(|e| IrdaError::Dongle(e.to_string()))
        }
        DongleSpec::Usb(selector) => usb::UsbDongle::open(selector.as_deref())
            .await
            .map(IrdaPort::Usb)
            .map_err(|e| IrdaError::Dongle(e.to_string())),
    }
}

/// Our station: "PC Suite", a computer offering OBEX, with what the dongle can do. One
/// `address` for all the stations a command or the daemon runs on a dongle: a phone may
/// match a connection against the address it discovered.
pub fn pc_station(port: &IrdaPort, obex_server: bool, address: DeviceAddress) -> Station {
    let seed = crate::entropy::random_u64();
    Station::new(StationConfig {
        address,
        nickname: NICKNAME.to_string(),
        hints: Hints::COMPUTER | Hints::OBEX,
        capabilities: port.capabilities(),
        discoverable: obex_server,
        obex_server,
        seed,
    })
}

/// A random device address: any 32-bit value but 0 and the broadcast address.
pub fn new_address() -> DeviceAddress {
    match (crate::entropy::random_u64() >> 16) as u32 {
        0 | 0xFFFF_FFFF => DeviceAddress(0x4853_594E), // "HSYN"
        address => DeviceAddress(address),
    }
}

/// How a discovered station reads in a listing: address, name, what its hints offer.
pub fn describe(found: &Discovery) -> String {
    format!(
        "{} \"{}\" ({})",
        found.address,
        found.info.nickname_text(),
        hint_names(found.info.hints)
    )
}

fn hint_names(hints: Hints) -> String {
    const NAMES: [(Hints, &str); 13] = [
        (Hints::PNP, "PnP"),
        (Hints::PDA, "PDA"),
        (Hints::COMPUTER, "computer"),
        (Hints::PRINTER, "printer"),
        (Hints::MODEM, "modem"),
        (Hints::FAX, "fax"),
        (Hints::LAN, "LAN"),
        (Hints::TELEPHONY, "telephony"),
        (Hints::FILE_SERVER, "file server"),
        (Hints::IRCOMM, "IrCOMM"),
        (Hints::MESSAGE, "message"),
        (Hints::HTTP, "HTTP"),
        (Hints::OBEX, "OBEX"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(hint, _)| hints.contains(*hint))
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        "no hints".to_string()
    } else {
        names.join(", ")
    }
}

/// One discovery: the stations that answered, best first (phones offering OBEX).
pub async fn discover(
    port: IrdaPort,
    address: DeviceAddress,
    capture: Option<Capture>,
) -> Result<(IrdaPort, Vec<Discovery>), IrdaError> {
    let station = pc_station(&port, false, address);
    let mut link = link::start(port, station, capture);
    let _ = link.commands.send(LinkCommand::Discover);
    let mut found = Vec::new();
    while let Some(notice) = link.notices.recv().await {
        if let LinkNotice::Station(StationEvent::Discovered(list)) = notice {
            found = list;
            break;
        }
    }
    let port = stop(link).await?;
    found.sort_by_key(|d| !d.info.hints.contains(Hints::OBEX));
    Ok((port, found))
}

/// Stops a link's task and takes the dongle back.
async fn stop(link: Link) -> Result<IrdaPort, IrdaError> {
    let _ = link.commands.send(LinkCommand::Stop);
    drop(link.obex);
    let (port, result) = link
        .task
        .await
        .map_err(|e| IrdaError::Dongle(format!("the link's task failed: {e}")))?;
    result?;
    Ok(port)
}

/// The PC starts a session: discover (a few times), pick `wanted` (an address or a
/// nickname) or the first phone offering OBEX, open its OBEX service, and run the call.
pub async fn call(
    mut port: IrdaPort,
    wanted: Option<&str>,
    hub: HubHandle,
    options_for: impl FnOnce(&Discovery) -> CallOptions,
    capture_path: Option<&Path>,
) -> Result<IrdaCall, IrdaError> {
    let mut capture = match capture_path {
        Some(path) => Some(Capture::create(path)?),
        None => None,
    };
    let address = new_address();
    let mut phone = None;
    let mut seen = Vec::new();
    for _ in 0..DISCOVERY_TRIES {
        let (back, found) = discover(port, address, capture.take()).await?;
        port = back;
        // The capture moves on with the link that reuses the file.
        if let Some(path) = capture_path {
            capture = Some(Capture::append(path)?);
        }
        seen = found.iter().map(describe).collect();
        phone = found.into_iter().find(|d| matches_wanted(d, wanted));
        if phone.is_some() {
            break;
        }
    }
    let Some(phone) = phone else {
        return Err(match wanted {
            Some(wanted) => IrdaError::NotFound {
                wanted: wanted.to_string(),
                seen,
            },
            None if seen.is_empty() => IrdaError::NothingInRange {
                tries: DISCOVERY_TRIES,
            },
            None => IrdaError::NotFound {
                wanted: "a phone offering OBEX".to_string(),
                seen,
            },
        });
    };
    tracing::info!(phone = %describe(&phone), "IrDA: calling");
    let options = options_for(&phone);
    let station = pc_station(&port, false, address);
    let mut link = link::start(port, station, capture);
    let _ = link.commands.send(LinkCommand::OpenObex(phone.address));
    let speed = wait_open(&mut link).await?;
    let session = tokio::spawn({
        let hub = hub.clone();
        let options = options.clone();
        let obex = std::mem::replace(&mut link.obex, tokio::io::duplex(1).0);
        async move { call_phone(obex, hub, TRANSPORT, &options).await }
    });
    let outcome = watch_session(&mut link, session).await;
    let _ = stop(link).await;
    outcome.map(|report| IrdaCall {
        phone,
        speed,
        report,
    })
}

/// A PC-started session that ran.
#[derive(Debug)]
pub struct IrdaCall {
    pub phone: Discovery,
    /// Bits per second the link ran at.
    pub speed: u32,
    pub report: CallReport,
}

fn matches_wanted(found: &Discovery, wanted: Option<&str>) -> bool {
    match wanted {
        None => found.info.hints.contains(Hints::OBEX),
        Some(wanted) => {
            let address = u32::from_str_radix(wanted.trim_start_matches("0x"), 16).ok();
            address == Some(found.address.0)
                || found.info.nickname_text().eq_ignore_ascii_case(wanted)
        }
    }
}

/// Waits until the OBEX channel is open (its link's speed), or says why it is not.
async fn wait_open(link: &mut Link) -> Result<u32, IrdaError> {
    let deadline = tokio::time::Instant::now() + OPEN_TIMEOUT;
    loop {
        let notice = tokio::time::timeout_at(deadline, link.notices.recv())
            .await
            .map_err(|_| IrdaError::OpenTimedOut)?;
        match notice {
            Some(LinkNotice::Station(StationEvent::ObexOpened { speed, .. })) => return Ok(speed),
            Some(LinkNotice::Station(StationEvent::ObexClosed(reason))) => {
                return Err(IrdaError::Link(reason))
            }
            Some(_) => {}
            None => return Err(IrdaError::Link(CloseReason::Requested)),
        }
    }
}

/// Runs a session to its end, and says when the link under it went first (the phone went
/// out of range: the session is recorded as cut by the hub, and the next sync converges).
async fn watch_session(
    link: &mut Link,
    mut session: tokio::task::JoinHandle<Result<CallReport, CallError>>,
) -> Result<CallReport, IrdaError> {
    let mut link_reason = None;
    let result = loop {
        tokio::select! {
            done = &mut session => {
                break done.map_err(|e| IrdaError::Dongle(format!("session task: {e}")))?;
            }
            notice = link.notices.recv(), if link_reason.is_none() => {
                match notice {
                    Some(LinkNotice::Station(StationEvent::ObexClosed(reason))) => {
                        link_reason = Some(reason);
                    }
                    Some(_) => {}
                    None => link_reason = Some(CloseReason::Requested),
                }
            }
        }
    };
    let error = match result {
        Ok(report) => return Ok(report),
        Err(e) => e,
    };
    // The OBEX driver may see its stream end before the link's reason arrives.
    if link_reason.is_none() {
        if let Ok(Some(LinkNotice::Station(StationEvent::ObexClosed(reason)))) =
            tokio::time::timeout(Duration::from_secs(2), link.notices.recv()).await
        {
            link_reason = Some(reason);
        }
    }
    Err(match link_reason {
        // The link failed under the session: that is the cause.
        Some(reason) if reason != CloseReason::Requested => IrdaError::Link(reason),
        _ => IrdaError::Call(error),
    })
}

/// The phone starts: we wait discoverable for phones, one session at a time, until
/// `shutdown` turns true.
pub async fn serve(
    spec: DongleSpec,
    hub: HubHandle,
    options: ObexServerOptions,
    capture_path: Option<PathBuf>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), IrdaError> {
    let mut port = open(&spec).await?;
    tracing::info!(dongle = %spec.label(), "IrDA: discoverable as \"{NICKNAME}\"");
    let mut capture = match &capture_path {
        Some(path) => Some(Capture::create(path)?),
        None => None,
    };
    let address = new_address();
    loop {
        let station = pc_station(&port, true, address);
        let mut link = link::start(port, station, capture.take());
        let outcome = serve_one(&mut link, &hub, &options, &mut shutdown).await;
        port = stop(link).await?;
        if let Some(path) = &capture_path {
            capture = Some(Capture::append(path)?);
        }
        match outcome {
            ServeOutcome::Shutdown => return Ok(()),
            ServeOutcome::Served(peer, end) => {
                tracing::info!(phone = %peer, "IrDA: session ended: {end}")
            }
        }
    }
}

enum ServeOutcome {
    Shutdown,
    Served(DeviceAddress, String),
}

async fn serve_one(
    link: &mut Link,
    hub: &HubHandle,
    options: &ObexServerOptions,
    shutdown: &mut watch::Receiver<bool>,
) -> ServeOutcome {
    if *shutdown.borrow() {
        return ServeOutcome::Shutdown;
    }
    // Wait for a phone to open our OBEX service.
    let peer = loop {
        tokio::select! {
            _ = shutdown.changed() => return ServeOutcome::Shutdown,
            notice = link.notices.recv() => match notice {
                Some(LinkNotice::Station(StationEvent::ObexOpened { peer, speed })) => {
                    tracing::info!(phone = %peer, speed, "IrDA: the phone opened OBEX");
                    break peer;
                }
                Some(LinkNotice::Station(StationEvent::DiscoveredBy(by))) => {
                    tracing::debug!(by = %describe(&by), "IrDA: discovered");
                }
                Some(LinkNotice::Station(StationEvent::ObexClosed(reason))) => {
                    return ServeOutcome::Served(DeviceAddress(0), reason.to_string());
                }
                Some(_) => {}
                None => return ServeOutcome::Served(DeviceAddress(0), "link task ended".into()),
            }
        }
    };
    let started = Instant::now();
    let obex = std::mem::replace(&mut link.obex, tokio::io::duplex(1).0);
    let session = serve_phone(obex, hub.clone(), TRANSPORT, None, options);
    tokio::pin!(session);
    let end = loop {
        tokio::select! {
            end = &mut session => break match end {
                Ok(end) => format!("{end:?}"),
                Err(e) => e.to_string(),
            },
            notice = link.notices.recv() => {
                if let Some(LinkNotice::Station(StationEvent::ObexClosed(reason))) = notice {
                    // The OBEX driver sees its stream end next and records the cut.
                    tracing::info!(phone = %peer, "IrDA: {reason}");
                }
            }
            _ = shutdown.changed() => break "shutdown".to_string(),
        }
    };
    tracing::debug!(elapsed = ?started.elapsed(), "IrDA: served");
    ServeOutcome::Served(peer, end)
}
