//! SyncML over OBEX on Bluetooth RFCOMM, through BlueZ (bluer on D-Bus).
//!
//! - The phone starts: [`serve`] registers the SyncML Server profile with BlueZ's
//!   ProfileManager1 (an SDP record naming our RFCOMM channel, OBEX on it, and the name phones
//!   show), takes the connections BlueZ hands over, and runs [`obex::serve_phone`] on each.
//!   Only paired and trusted phones are served unless told otherwise. The listener outlives
//!   bluetoothd restarts and adapters coming and going: it registers again.
//! - The PC starts: [`call`] looks the phone's SyncML Client service up over SDP (or takes a
//!   channel), connects RFCOMM and runs [`obex::call_phone`].
//! - Pairing: [`agent`] answers BlueZ's PIN and passkey questions; [`pair`] pairs and
//!   trusts a phone, as `handsync pair` does; [`window`] opens a pairing window for phones
//!   that pair from their own menu (`handsync pair --accept`).
//! - The phone's side, for the emulator: [`lookup`], [`connect`], [`register_service`].
//!
//! SDP lookups are our own ([`sdp`], one L2CAP channel to PSM 1) rather than BlueZ's
//! ConnectProfile: BlueZ keeps one profile table for all adapters, so a phone emulated on a
//! second adapter of the same bluetoothd would otherwise share it with the server.

pub mod agent;
mod strangers;
pub mod window;
pub use handsync_proto::sdp;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bluer::rfcomm::{Profile, ProfileHandle, Role};
use bluer::{Adapter, Address, Session};
use futures::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;

use super::limits::{Admission, ConnectionGate, ConnectionLimits};
use super::obex::{self, CallError, CallOptions, CallReport, ObexServerOptions};
use super::Retry;
use crate::transport::sessions::HubHandle;
pub use sdp::{ServiceRecord, Uuid128, SYNCML_CLIENT, SYNCML_SERVER};

/// Our name in logs, records and the authentication policy.
pub const TRANSPORT: &str = "obex-bluetooth";
/// The RFCOMM channel of our SyncML Server record, clear of BlueZ's and obexd's defaults
/// (1..17).
pub const DEFAULT_CHANNEL: u8 = 26;
/// The name phones show for our service.
pub const DEFAULT_SERVICE_NAME: &str = "PC Suite";

fn bluer_uuid(uuid: Uuid128) -> bluer::Uuid {
    bluer::Uuid::from_bytes(uuid.0)
}

/// Why Bluetooth could not do what was asked; each says what to do about it.
#[derive(Debug)]
pub enum BtError {
    /// No system D-Bus, or no bluetoothd on it.
    NoBluez(String),
    /// No such adapter (or none at all).
    NoAdapter { wanted: Option<String>, why: String },
    /// The adapter is powered off.
    AdapterOff(String),
    /// The phone is not paired with the adapter.
    NotPaired { device: Address, adapter: String },
    /// The phone was not found (not in range, not visible).
    NotFound { device: Address, waited: Duration },
    /// SDP: the phone could not be asked or answered badly.
    Sdp { device: Address, why: String },
    /// The phone lists no SyncML service of the class looked for.
    NoService { device: Address, class: Uuid128 },
    /// The RFCOMM connection failed.
    Connect {
        device: Address,
        channel: u8,
        error: std::io::Error,
    },
    /// Pairing failed.
    Pairing { device: Address, why: String },
    /// A pairing window closed with no phone paired.
    NoPairing { waited: Duration },
    /// BlueZ refused another request.
    Bluez { doing: &'static str, error: String },
    /// The SyncML session over the link failed.
    Call(CallError),
}

impl fmt::Display for BtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BtError::NoBluez(why) => write!(f, "Bluetooth is not available: {why}"),
            BtError::NoAdapter { wanted, why } => match wanted {
                Some(name) => write!(f, "no Bluetooth adapter {name}: {why}"),
                None => write!(f, "no Bluetooth adapter: {why}"),
            },
            BtError::AdapterOff(name) => write!(
                f,
                "the Bluetooth adapter {name} is off (`bluetoothctl power on`, or unblock it with rfkill)"
            ),
            BtError::NotPaired { device, adapter } => write!(
                f,
                "{device} is not paired with {adapter}: run `handsync pair {device}` first"
            ),
            BtError::NoPairing { waited } => write!(
                f,
                "no phone paired within {} s; the pairing window is closed",
                waited.as_secs()
            ),
            BtError::NotFound { device, waited } => write!(
                f,
                "{device} was not found within {} s: is its Bluetooth on, is it visible and near?",
                waited.as_secs()
            ),
            BtError::Sdp { device, why } => {
                write!(f, "could not look up {device}'s services (SDP): {why}")
            }
            BtError::NoService { device, class } => write!(
                f,
                "{device} lists no {} service ({class}) over SDP: the phone cannot sync over Bluetooth, or give --channel",
                if *class == SYNCML_CLIENT {
                    "SyncML Client"
                } else {
                    "SyncML Server"
                }
            ),
            BtError::Connect {
                device,
                channel,
                error,
            } => {
                let what = match error.raw_os_error() {
                    Some(libc::ECONNREFUSED) => "connection refused (no service on that channel)",
                    Some(libc::EHOSTDOWN) | Some(libc::EHOSTUNREACH) => {
                        "the phone does not answer (off, out of range or not visible)"
                    }
                    Some(libc::EACCES) | Some(libc::EPERM) => {
                        "refused for security (pairing lost on the phone? pair again)"
                    }
                    Some(libc::ETIMEDOUT) => "timed out",
                    _ => "failed",
                };
                write!(
                    f,
                    "RFCOMM connection to {device} channel {channel}: {what} ({error})"
                )
            }
            BtError::Pairing { device, why } => write!(f, "pairing with {device} failed: {why}"),
            BtError::Bluez { doing, error } => write!(f, "BlueZ, {doing}: {error}"),
            BtError::Call(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BtError {}

fn bluez(doing: &'static str) -> impl FnOnce(bluer::Error) -> BtError {
    move |error| BtError::Bluez {
        doing,
        error: error.to_string(),
    }
}

/// A BlueZ session and the adapter asked for (`None`: the default one), checked present.
pub async fn open_adapter(name: Option<&str>) -> Result<(Session, Adapter), BtError> {
    let session = Session::new()
        .await
        .map_err(|e| BtError::NoBluez(format!("no system D-Bus ({e})")))?;
    let adapter = match name {
        Some(name) => session.adapter(name),
        None => session.default_adapter().await,
    };
    let adapter = adapter.map_err(|e| no_adapter(name, e))?;
    // The object may not exist: asking for its address tells.
    adapter.address().await.map_err(|e| no_adapter(name, e))?;
    Ok((session, adapter))
}

fn no_adapter(name: Option<&str>, error: bluer::Error) -> BtError {
    let text = error.to_string();
    // No owner of org.bluez: unknown service, or the bus tried to start bluetoothd for us.
    let no_bluetoothd = [
        "ServiceUnknown",
        "org.bluez was not provided",
        "Error.Spawn.",
    ];
    if no_bluetoothd.iter().any(|sign| text.contains(sign)) {
        BtError::NoBluez("bluetoothd is not running on the system bus".into())
    } else {
        BtError::NoAdapter {
            wanted: name.map(str::to_string),
            why: text,
        }
    }
}

/// The adapter's address and whether it is powered.
async fn adapter_state(adapter: &Adapter) -> Result<(Address, bool), BtError> {
    let address = adapter
        .address()
        .await
        .map_err(|e| no_adapter(Some(adapter.name()), e))?;
    let powered = adapter
        .is_powered()
        .await
        .map_err(|e| no_adapter(Some(adapter.name()), e))?;
    Ok((address, powered))
}

/// Who owns `org.bluez` on the system bus: a new owner is a restarted bluetoothd, which has
/// forgotten our profile and agent.
struct BluezWatch {
    connection: Arc<std::sync::Mutex<dbus::blocking::Connection>>,
}

impl BluezWatch {
    fn new() -> Option<BluezWatch> {
        let connection = dbus::blocking::Connection::new_system().ok()?;
        Some(BluezWatch {
            connection: Arc::new(std::sync::Mutex::new(connection)),
        })
    }

    async fn owner(&self) -> Option<String> {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let connection = connection.lock().ok()?;
            let proxy = connection.with_proxy(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                Duration::from_secs(2),
            );
            let (owner,): (String,) = proxy
                .method_call("org.freedesktop.DBus", "GetNameOwner", ("org.bluez",))
                .ok()?;
            Some(owner)
        })
        .await
        .ok()
        .flatten()
    }
}

/// What `handsync serve` listens with on Bluetooth.
#[derive(Clone)]
pub struct BtListen {
    /// The adapter (hci0...); `None`: BlueZ's default adapter.
    pub adapter: Option<String>,
    pub channel: u8,
    /// The service name phones show ("PC Suite").
    pub name: String,
    /// Serve phones that are not paired and trusted (and let BlueZ skip authentication).
    pub serve_unpaired: bool,
    /// Run BlueZ's default agent, refusing every pairing and reporting it (headless
    /// machines with no desktop agent; pairing windows outrank it while open).
    pub agent: Option<agent::AgentPolicy>,
    pub obex: ObexServerOptions,
    /// Phone connections served at once (more are rejected) and the OBEX silences allowed
    /// (per address limits do not apply: a Bluetooth peer has no network address).
    pub limits: ConnectionLimits,
    /// The first pause before trying again (bluetoothd absent, adapter gone...).
    pub retry_pause: Duration,
    /// Status lines (stdout under `serve`).
    pub report: Arc<dyn Fn(&str) + Send + Sync>,
}

impl fmt::Debug for BtListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BtListen")
            .field("adapter", &self.adapter)
            .field("channel", &self.channel)
            .field("name", &self.name)
            .field("serve_unpaired", &self.serve_unpaired)
            .field("agent", &self.agent.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for BtListen {
    fn default() -> Self {
        BtListen {
            adapter: None,
            channel: DEFAULT_CHANNEL,
            name: DEFAULT_SERVICE_NAME.to_string(),
            serve_unpaired: false,
            agent: None,
            obex: ObexServerOptions::default(),
            limits: ConnectionLimits::default(),
            retry_pause: Duration::from_secs(1),
            report: Arc::new(|line: &str| println!("{line}")),
        }
    }
}

/// A SyncML service of ours as BlueZ takes it: our own record (class, RFCOMM `channel`, OBEX,
/// `name`), served on that channel, BlueZ never connecting it by itself.
fn obex_profile(class: Uuid128, channel: u8, name: &str, require_authentication: bool) -> Profile {
    Profile {
        uuid: bluer_uuid(class),
        name: Some(name.to_string()),
        role: Some(Role::Server),
        channel: Some(u16::from(channel)),
        require_authentication: Some(require_authentication),
        require_authorization: Some(false),
        auto_connect: Some(false),
        service_record: Some(sdp::obex_service_record_xml(class, channel, name)),
        ..Default::default()
    }
}

/// The SyncML Server profile `serve` registers. Paired phones authenticate with their link
/// key (an impostor with a paired phone's address has none); strangers have to pair first,
/// which our agent, if any, decides.
fn server_profile(listen: &BtListen) -> Profile {
    obex_profile(
        SYNCML_SERVER,
        listen.channel,
        &listen.name,
        !listen.serve_unpaired,
    )
}

/// Why the listener goes back to registering.
enum Restart {
    BluezRestarted,
    AdapterGone(String),
    ProfileReleased,
}

/// Serves phones on Bluetooth until `shutdown` turns true. Without bluetoothd or an adapter it
/// says so once and keeps waiting for them; a restarted bluetoothd or a returning adapter gets
/// the profile (and agent) registered again.
pub async fn serve(listen: BtListen, hub: HubHandle, shutdown: watch::Receiver<bool>) {
    let span = tracing::info_span!(
        "bluetooth_listener",
        adapter = listen.adapter.as_deref().unwrap_or("default"),
        transport = TRANSPORT
    );
    async move {
        let report = listen.report.clone();
        let gate = ConnectionGate::new(TRANSPORT, &listen.limits);
        let mut retry = Retry::new(listen.retry_pause);
        let watch = BluezWatch::new();
        'register: loop {
            if *shutdown.borrow() {
                return;
            }
            // Read before registering: a bluetoothd that restarts in between is still noticed.
            let owner = match &watch {
                Some(watch) => watch.owner().await,
                None => None,
            };
            let attempt = register(&listen).await;
            let (session, adapter, handle, agent_handle) = match attempt {
                Ok(registered) => registered,
                Err(error) => {
                    let line = format!(
                        "Bluetooth: {error}; the other transports run, waiting for Bluetooth"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(retry.failed(report.as_ref(), line)) => continue,
                        _ = stopped(&shutdown) => return,
                    }
                }
            };
            let (address, mut powered) = match adapter_state(&adapter).await {
                Ok(state) => state,
                Err(error) => {
                    let line = format!("Bluetooth: {error}; waiting for the adapter");
                    tokio::select! {
                        _ = tokio::time::sleep(retry.failed(report.as_ref(), line)) => continue,
                        _ = stopped(&shutdown) => return,
                    }
                }
            };
            retry.succeeded();
            // bluetoothd came up between the owner's read and the registration.
            let owner = match (&watch, owner) {
                (Some(watch), None) => watch.owner().await,
                (_, owner) => owner,
            };
            report(&format!(
                "Bluetooth: \"{}\" (SyncML Server) on {} {address}, RFCOMM channel {}; {}{}{}",
                listen.name,
                adapter.name(),
                listen.channel,
                if listen.serve_unpaired {
                    "serving any phone"
                } else {
                    "serving paired and trusted phones"
                },
                if agent_handle.is_some() {
                    "; pairing only in a window (`handsync pair --accept`)"
                } else {
                    ""
                },
                if powered { "" } else { "; adapter off" }
            ));
            let mut handle = handle;
            // Strangers are refused by the kernel (authentication) before BlueZ hands us
            // anything: watch devices come and go to say so (our own agent, when it runs,
            // hears each pairing attempt and says so itself). Aborted with the set.
            let mut watchers = tokio::task::JoinSet::new();
            if !listen.serve_unpaired && listen.agent.is_none() {
                watchers.spawn(strangers::watch_strangers(adapter.clone(), report.clone()));
            }
            let restart = loop {
                tokio::select! {
                    request = handle.next() => match request {
                        Some(request) => accept(request, &adapter, &listen, &hub, &gate),
                        None => break Restart::ProfileReleased,
                    },
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        if let Some(watch) = &watch {
                            if watch.owner().await != owner {
                                break Restart::BluezRestarted;
                            }
                        }
                        match adapter.is_powered().await {
                            Ok(now) if now != powered => {
                                powered = now;
                                report(&format!(
                                    "Bluetooth: {} powered {}",
                                    adapter.name(),
                                    if now { "on again: serving" } else { "off: waiting for it" }
                                ));
                            }
                            Ok(_) => {}
                            Err(e) => break Restart::AdapterGone(e.to_string()),
                        }
                    }
                    _ = stopped(&shutdown) => return,
                }
            };
            drop(watchers);
            drop(handle);
            drop(agent_handle);
            drop(session);
            match restart {
                Restart::BluezRestarted => {
                    report("Bluetooth: bluetoothd restarted; registering the profile again")
                }
                Restart::AdapterGone(why) => report(&format!(
                    "Bluetooth: {} went away ({why}); waiting for it",
                    adapter.name()
                )),
                Restart::ProfileReleased => {
                    report("Bluetooth: BlueZ released the profile; registering it again")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(listen.retry_pause) => continue 'register,
                _ = stopped(&shutdown) => return,
            }
        }
    }
    .instrument(span)
    .await
}

/// Reports the unpaired devices that connected to the adapter and left without pairing: with
/// authentication required, the kernel refused whatever they asked for (a phone's SyncML
/// session among it).
/// Resolves once `shutdown` turns true (the guard `wait_for` returns is not `Send`).
async fn stopped(shutdown: &watch::Receiver<bool>) {
    let mut shutdown = shutdown.clone();
    let _ = shutdown.wait_for(|stop| *stop).await;
}

type Registered = (
    Session,
    Adapter,
    ProfileHandle,
    Option<bluer::agent::AgentHandle>,
);

async fn register(listen: &BtListen) -> Result<Registered, BtError> {
    let (session, adapter) = open_adapter(listen.adapter.as_deref()).await?;
    let handle = session
        .register_profile(server_profile(listen))
        .await
        .map_err(|e| BtError::Bluez {
            doing: "registering the SyncML Server profile",
            error: e.to_string(),
        })?;
    let agent_handle = match &listen.agent {
        Some(policy) => {
            let handle = session
                .register_agent(
                    policy.agent(Some(adapter.name().to_string()), agent::Answered::default()),
                )
                .await
                .map_err(bluez("registering the pairing agent"))?;
            Some(handle)
        }
        None => None,
    };
    Ok((session, adapter, handle, agent_handle))
}

/// A phone connected: admitted under the connection cap at once, then decided and served in
/// a task of its own, so that the D-Bus reads (and the second look at a phone still being
/// trusted) never hold up the next phone's request.
fn accept(
    request: bluer::rfcomm::ConnectRequest,
    adapter: &Adapter,
    listen: &BtListen,
    hub: &HubHandle,
    gate: &ConnectionGate,
) {
    let permit = match gate.admit(None) {
        Admission::Serve(permit) => permit,
        Admission::Refuse(_) | Admission::Drop => {
            // RFCOMM refuses before a byte is exchanged: the phone hears "rejected" at once.
            request.reject(bluer::rfcomm::ReqError::Rejected);
            return;
        }
    };
    let address = request.device();
    let adapter = adapter.clone();
    let hub = hub.clone();
    let serve_unpaired = listen.serve_unpaired;
    let mut options = listen.obex.clone();
    options.silence = Some(listen.limits.obex_silence());
    let report = listen.report.clone();
    let span = tracing::info_span!("bluetooth_session", device = %address, transport = TRANSPORT);
    tokio::spawn(
        async move {
            let Some(name) = allowed(&adapter, address, serve_unpaired, report.as_ref()).await
            else {
                request.reject(bluer::rfcomm::ReqError::Rejected);
                return;
            };
            let stream = match request.accept() {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "could not take the connection");
                    return;
                }
            };
            report(&format!("Bluetooth: {name} ({address}) connected"));
            match obex::serve_phone(stream, hub, TRANSPORT, None, &options).await {
                Ok(end) => {
                    tracing::info!(?end, "phone connection ended");
                    report(&format!("Bluetooth: {name} ({address}): {end:?}"));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "phone connection failed");
                    report(&format!("Bluetooth: {name} ({address}): {e}"));
                }
            }
            drop(permit);
        }
        .instrument(span),
    );
}

/// The phone's name when it may be served: paired and trusted (or any, when told to serve
/// any); otherwise says why not and gives `None`.
async fn allowed(
    adapter: &Adapter,
    address: Address,
    serve_unpaired: bool,
    report: &(dyn Fn(&str) + Send + Sync),
) -> Option<String> {
    let device = adapter.device(address);
    let (name, paired, mut trusted) = match &device {
        Ok(device) => (
            device.alias().await.unwrap_or_else(|_| address.to_string()),
            device.is_paired().await.unwrap_or(false),
            device.is_trusted().await.unwrap_or(false),
        ),
        Err(_) => (address.to_string(), false, false),
    };
    // A phone pairing in a window connects as soon as the pairing completes; the window
    // trusts it at its answer, which may land a moment after: look once more.
    if paired && !trusted {
        if let Ok(device) = &device {
            tokio::time::sleep(Duration::from_secs(1)).await;
            trusted = device.is_trusted().await.unwrap_or(false);
        }
    }
    if serve_unpaired || (paired && trusted) {
        return Some(name);
    }
    let why = if paired {
        "paired but not trusted"
    } else {
        "not paired"
    };
    tracing::warn!(%name, why, "refused a Bluetooth connection");
    report(&format!(
        "Bluetooth: refused {name} ({address}): {why}; `handsync pair {address}` or \
         `handsync pair --accept` allows it"
    ));
    None
}

/// How the PC reaches a phone.
#[derive(Debug, Clone)]
pub struct BtTarget {
    pub adapter: Option<String>,
    pub device: Address,
    /// The phone's RFCOMM channel; `None`: look its SyncML Client service up over SDP.
    pub channel: Option<u8>,
    /// How long connecting and SDP may take.
    pub connect_timeout: Duration,
}

/// What the PC learnt of the phone before the session.
#[derive(Debug, Clone)]
pub struct PhoneFound {
    /// The phone's Bluetooth name ("Nokia 6230i"), which picks its quirk profile.
    pub name: Option<String>,
    pub channel: u8,
    /// The adapter used.
    pub adapter: String,
}

/// The PC starts a session with a paired phone: SDP lookup (unless a channel is given),
/// RFCOMM, then the SAN flow. `options_for` builds the call's options from what was found
/// (the SAN's datastore names follow the phone's model).
pub async fn call(
    target: &BtTarget,
    hub: HubHandle,
    options_for: impl FnOnce(&PhoneFound) -> CallOptions,
) -> Result<(PhoneFound, CallReport), BtError> {
    let span =
        tracing::info_span!("bluetooth_session", device = %target.device, transport = TRANSPORT);
    async {
        let (_session, adapter) = open_adapter(target.adapter.as_deref()).await?;
        let (local, powered) = adapter_state(&adapter).await?;
        if !powered {
            return Err(BtError::AdapterOff(adapter.name().to_string()));
        }
        let device = adapter
            .device(target.device)
            .map_err(bluez("finding the phone"))?;
        if !device.is_paired().await.unwrap_or(false) {
            return Err(BtError::NotPaired {
                device: target.device,
                adapter: adapter.name().to_string(),
            });
        }
        let name = device.name().await.ok().flatten();
        let channel = match target.channel {
            Some(channel) => channel,
            None => {
                let records =
                    lookup(local, target.device, SYNCML_CLIENT, target.connect_timeout).await?;
                records
                    .iter()
                    .find_map(|record| record.rfcomm_channel)
                    .ok_or(BtError::NoService {
                        device: target.device,
                        class: SYNCML_CLIENT,
                    })?
            }
        };
        tracing::info!(channel, name = ?name, "calling the phone");
        let stream = connect(local, target.device, channel, target.connect_timeout).await?;
        let found = PhoneFound {
            name,
            channel,
            adapter: adapter.name().to_string(),
        };
        let options = options_for(&found);
        let report = obex::call_phone(stream, hub, TRANSPORT, &options)
            .await
            .map_err(BtError::Call)?;
        Ok((found, report))
    }
    .instrument(span)
    .await
}

/// The records `device` holds for `class`, asked from our adapter at `local`.
pub async fn lookup(
    local: Address,
    device: Address,
    class: Uuid128,
    timeout: Duration,
) -> Result<Vec<ServiceRecord>, BtError> {
    // A phone's SDP server sometimes lets a request go unanswered (busy with another browse
    // on the same link): ask again on a new channel, three times in all.
    let per_try = timeout / 3;
    let mut tries = 0;
    loop {
        tries += 1;
        match lookup_once(local, device, class, per_try).await {
            Err(BtError::Sdp { why, .. }) if why == NO_ANSWER && tries < 3 => {
                tracing::debug!(%device, tries, "SDP: no answer; asking again");
            }
            other => return other,
        }
    }
}

const NO_ANSWER: &str = "no answer";

async fn lookup_once(
    local: Address,
    device: Address,
    class: Uuid128,
    timeout: Duration,
) -> Result<Vec<ServiceRecord>, BtError> {
    use bluer::{l2cap::SocketAddr, AddressType};
    let sdp_error = |why: String| BtError::Sdp { device, why };
    let socket = bluer::l2cap::Socket::new_seq_packet().map_err(|e| sdp_error(e.to_string()))?;
    socket
        .bind(SocketAddr::new(local, AddressType::BrEdr, 0))
        .map_err(|e| sdp_error(format!("binding to {local}: {e}")))?;
    let channel = tokio::time::timeout(
        timeout,
        socket.connect(SocketAddr::new(device, AddressType::BrEdr, sdp::SDP_PSM)),
    )
    .await
    .map_err(|_| sdp_error(NO_ANSWER.into()))?
    .map_err(|e| sdp_error(e.to_string()))?;
    let mut search = sdp::ServiceSearch::new(class, 1);
    let mut request = search.request();
    let mut buffer = vec![0u8; 4096];
    loop {
        channel
            .send(&request)
            .await
            .map_err(|e| sdp_error(e.to_string()))?;
        let received = tokio::time::timeout(timeout, channel.recv(&mut buffer))
            .await
            .map_err(|_| sdp_error(NO_ANSWER.into()))?
            .map_err(|e| sdp_error(e.to_string()))?;
        match search
            .handle_response(&buffer[..received])
            .map_err(|e| sdp_error(e.to_string()))?
        {
            sdp::SearchProgress::Continue(next) => request = next,
            sdp::SearchProgress::Done(records) => return Ok(records),
        }
    }
}

/// An RFCOMM connection from our adapter at `local` to `device`'s `channel`.
pub async fn connect(
    local: Address,
    device: Address,
    channel: u8,
    timeout: Duration,
) -> Result<bluer::rfcomm::Stream, BtError> {
    use bluer::rfcomm::{Socket, SocketAddr};
    let failed = |error: std::io::Error| BtError::Connect {
        device,
        channel,
        error,
    };
    // A connection right after the last one ended (or right after a pairing) can meet the old
    // RFCOMM session still closing on the same link, which answers with a reset or a refusal:
    // wait for it to go and try again, three times in all.
    let mut resets = 0;
    loop {
        let socket = Socket::new().map_err(failed)?;
        socket.bind(SocketAddr::new(local, 0)).map_err(failed)?;
        let connected =
            tokio::time::timeout(timeout, socket.connect(SocketAddr::new(device, channel)))
                .await
                .map_err(|_| failed(std::io::Error::from_raw_os_error(libc::ETIMEDOUT)))?;
        match connected {
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::ECONNRESET) | Some(libc::ECONNREFUSED)
                ) && resets < 2 =>
            {
                resets += 1;
                tracing::debug!(%device, channel, %error, "RFCOMM: trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            other => return other.map_err(failed),
        }
    }
}

/// Publishes a service of the phone's (the emulator's SyncML Client record) and hands over
/// the connections to it.
pub async fn register_service(
    session: &Session,
    class: Uuid128,
    channel: u8,
    name: &str,
) -> Result<ProfileHandle, BtError> {
    // The phone accepts whoever calls (its user decides on the phone's screen).
    session
        .register_profile(obex_profile(class, channel, name, false))
        .await
        .map_err(bluez("registering the service"))
}

/// A phone BlueZ knows on an adapter.
#[derive(Debug, Clone)]
pub struct KnownPhone {
    pub address: Address,
    pub name: Option<String>,
    pub paired: bool,
    pub trusted: bool,
    pub connected: bool,
    /// It advertises the SyncML Client service (the PC can start sessions).
    pub syncml_client: bool,
}

/// The paired devices of an adapter.
pub async fn paired_phones(adapter: &Adapter) -> Result<Vec<KnownPhone>, BtError> {
    let mut phones = Vec::new();
    for address in adapter
        .device_addresses()
        .await
        .map_err(bluez("listing devices"))?
    {
        let Ok(device) = adapter.device(address) else {
            continue;
        };
        if !device.is_paired().await.unwrap_or(false) {
            continue;
        }
        let uuids = device.uuids().await.ok().flatten().unwrap_or_default();
        phones.push(KnownPhone {
            address,
            name: device.alias().await.ok(),
            paired: true,
            trusted: device.is_trusted().await.unwrap_or(false),
            connected: device.is_connected().await.unwrap_or(false),
            syncml_client: uuids.contains(&bluer_uuid(SYNCML_CLIENT)),
        });
    }
    Ok(phones)
}

/// How a pairing went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paired {
    /// Paired now (and trusted).
    Now,
    /// It was paired already; now trusted.
    Already,
}

/// Pairs with `device` (finding it first when the adapter does not know it), answering with
/// `policy`, then trusts it so `serve` serves it.
pub async fn pair(
    adapter_name: Option<&str>,
    device_address: Address,
    policy: agent::AgentPolicy,
    timeout: Duration,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<Paired, BtError> {
    let (session, adapter) = open_adapter(adapter_name).await?;
    let (_, powered) = adapter_state(&adapter).await?;
    if !powered {
        return Err(BtError::AdapterOff(adapter.name().to_string()));
    }
    let known = adapter
        .device_addresses()
        .await
        .map_err(bluez("listing devices"))?
        .contains(&device_address);
    if !known {
        progress(&format!("looking for {device_address}..."));
        find(&adapter, device_address, timeout).await?;
    }
    let device = adapter
        .device(device_address)
        .map_err(bluez("finding the phone"))?;
    let outcome = if device.is_paired().await.unwrap_or(false) {
        Paired::Already
    } else {
        // Our agent answers for this pairing only (not as the default agent).
        let _agent = session
            .register_agent(policy.agent_for(adapter.name().to_string(), device_address))
            .await
            .map_err(bluez("registering the pairing agent"))?;
        progress(&format!("pairing with {device_address}..."));
        match tokio::time::timeout(timeout, device.pair()).await {
            // The timeout dropped the pairing future, which cancels the pairing.
            Err(_) => {
                return Err(BtError::Pairing {
                    device: device_address,
                    why: format!("no answer within {} s", timeout.as_secs()),
                });
            }
            Ok(Err(e)) => {
                return Err(BtError::Pairing {
                    device: device_address,
                    why: pairing_error(&e),
                })
            }
            Ok(Ok(())) => Paired::Now,
        }
    };
    device
        .set_trusted(true)
        .await
        .map_err(bluez("trusting the phone"))?;
    Ok(outcome)
}

fn pairing_error(error: &bluer::Error) -> String {
    use bluer::ErrorKind;
    match &error.kind {
        ErrorKind::AuthenticationFailed => {
            "authentication failed (a wrong PIN, or the phone said no)".into()
        }
        ErrorKind::AuthenticationRejected | ErrorKind::AuthenticationCanceled => {
            "the phone rejected the pairing".into()
        }
        ErrorKind::AuthenticationTimeout => "the phone did not answer in time".into(),
        ErrorKind::ConnectionAttemptFailed => {
            "the phone could not be reached (off, out of range?)".into()
        }
        _ => error.to_string(),
    }
}

/// Discovers until `device` shows up.
async fn find(adapter: &Adapter, device: Address, timeout: Duration) -> Result<(), BtError> {
    let events = adapter
        .discover_devices()
        .await
        .map_err(bluez("starting discovery"))?;
    let mut events = std::pin::pin!(events);
    let found = tokio::time::timeout(timeout, async {
        while let Some(event) = events.next().await {
            if let bluer::AdapterEvent::DeviceAdded(address) = event {
                if address == device {
                    return true;
                }
            }
        }
        false
    })
    .await;
    match found {
        Ok(true) => Ok(()),
        _ => Err(BtError::NotFound {
            device,
            waited: timeout,
        }),
    }
}
