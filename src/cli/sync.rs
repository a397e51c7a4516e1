//! `handsync sync`: the PC starts one session with one phone (the way PC Suite's "Synchronise"
//! button did): it sends the phone a Server Alerted Notification and serves the SyncML
//! session that follows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Args, ValueEnum};

use super::listing::counts_text;
use super::progress::{LinkRate, SyncProgress};
use super::serve::{load_config, resolve_db};
use super::{support, Failure};
use crate::daemon::config::{parse_listen, DEFAULT_IDLE_TIMEOUT};
use crate::daemon::hub::{Hub, HubOptions};
use crate::daemon::notify::DesktopNotifier;
use crate::daemon::observe::{Observers, SessionObserver};
use crate::engine::ServerConfig;
use crate::entropy::random_u64;
use crate::pim::profile::{DataKind, DeviceInfo, PhoneProfile, ProfileSet};
use crate::store::Datastore;
use crate::syncml::san::{San, SanSync, SyncType};
use crate::transport::bluetooth::{self, BtTarget, PhoneFound};
use crate::transport::irda;
use crate::transport::obex::{call_phone, CallOptions, CallReport, SanChoice, SanSent};
use crate::transport::serial::at::{SwitchOptions, Switched};
use crate::transport::serial::{self, SerialPort, DEFAULT_BAUD};
use crate::transport::usb::{self, UsbPhone, UsbSelector};
use handsync_proto::irda::dongle::DongleKind;
use handsync_proto::irda::frame::Discovery;

#[derive(Args, Debug)]
// Where the phone is: exactly one of the two.
#[command(group(ArgGroup::new("phone").required(true).args(["obex_tcp", "serial", "bt", "usb", "irda"])))]
pub struct SyncArgs {
    /// The phone (or the phone emulator) listens for OBEX on TCP at this address (IP:PORT or
    /// a port on loopback).
    #[arg(long = "obex-tcp", value_name = "ADDR", value_parser = parse_listen)]
    obex_tcp: Option<SocketAddr>,

    /// The phone is on this serial or USB-serial cable (/dev/ttyUSB0, /dev/ttyACM0...): switch
    /// it into OBEX mode with its maker's AT command, sync, and bring it back to AT mode.
    #[arg(long = "serial", value_name = "DEV")]
    serial: Option<PathBuf>,

    /// Serial line speed (default 115200, or the configuration's serial.baud).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(300..=4_000_000))]
    baud: Option<u32>,

    /// The phone is on Bluetooth at this address (paired first with `handsync pair`): its
    /// SyncML Client service is looked up over SDP unless --channel says where it is.
    #[arg(long = "bt", value_name = "MAC", value_parser = parse_bt_address)]
    bt: Option<bluer::Address>,

    /// The phone is on USB: VID:PID or BUS-PORT as `handsync devices --usb` shows them, or
    /// nothing for the only phone plugged in. Its CDC OBEX SyncML function is used; a phone
    /// that offers only a modem (CDC ACM) is switched to OBEX on it as on a serial cable.
    #[arg(long, value_name = "VID:PID|BUS-PORT", num_args = 0..=1, default_missing_value = "")]
    usb: Option<String>,

    /// The phone is in infrared range of this dongle: a tty (/dev/ttyS1, /dev/ttyUSB0: a
    /// serial dongle or a built-in SIR port, see --dongle) or `usb`, `usb:VID:PID`,
    /// `usb:BUS-PORT` (an IrDA-USB dongle). handsync discovers the phone, asks it where its
    /// OBEX service is, notifies it and runs the session.
    #[arg(long, value_name = "DEVICE")]
    irda: Option<String>,

    /// What sits on --irda's tty, for its speed changes: sir (the default: a SIR port whose
    /// infrared speed follows the line's), plain (fixed at 9600), or a dongle: actisys,
    /// actisys+, tekram, esi, girbil, ma600, mcp2120, litelink, toim3232.
    #[arg(long, value_name = "KIND", requires = "irda", value_parser = parse_dongle)]
    dongle: Option<DongleKind>,

    /// With --irda: the phone to call when several are in range, by its device address (hex,
    /// as `handsync devices --irda` shows it) or its name.
    #[arg(
        long = "phone",
        id = "irda_phone",
        value_name = "ADDRESS|NAME",
        requires = "irda"
    )]
    irda_phone: Option<String>,

    /// With --irda: write every infrared frame to this pcap file (Wireshark and tshark read
    /// it as IrDA).
    #[arg(long, value_name = "FILE", requires = "irda")]
    capture: Option<PathBuf>,

    /// The phone's RFCOMM channel for SyncML (skips the SDP lookup).
    #[arg(long, value_name = "N", requires = "bt",
          value_parser = clap::value_parser!(u8).range(1..=30))]
    channel: Option<u8>,

    /// The Bluetooth adapter to call from (hci0...). Default: BlueZ's default adapter.
    #[arg(long, value_name = "NAME", requires = "bt")]
    adapter: Option<String>,

    /// Datastores to sync; repeat or separate with commas. Default: contacts, calendar.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    datastore: Vec<Datastore>,

    /// What to ask the phone for.
    #[arg(long, value_enum, default_value = "two-way")]
    mode: Mode,

    /// The notification to send: SAN 1.2, the legacy SyncML 1.1 form, or 1.2 then legacy
    /// when the phone refuses it.
    #[arg(long, value_enum, default_value = "auto")]
    san: SanArg,

    /// The server identifier the phone's sync profile knows us by (default: the
    /// configuration's server-id, "PC Suite").
    #[arg(long, value_name = "ID")]
    server_id: Option<String>,

    /// The phone, as `handsync devices` lists it (ID or URI): its quirk profile names the
    /// server identifier and the datastore names its sync profile expects in the
    /// notification. Without it: "PC Suite" and Contacts, Calendar, Tasks, Notes.
    #[arg(long, value_name = "ID|URI")]
    device: Option<String>,

    /// Seconds to wait for each answer of the phone (it may ask its user first).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,

    /// The configuration file (as for `serve`).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// After the session, bring this vdir in step with the store (default: [desktop] vdir,
    /// else vdir/ beside handsync.db, NAME-vdir/ beside NAME.db), as `handsync desktop sync`
    /// does.
    #[arg(long, value_name = "DIR", conflicts_with = "no_desktop")]
    vdir: Option<PathBuf>,

    /// Leave the desktop's vdir alone after the session.
    #[arg(long)]
    no_desktop: bool,
    /// Nobody watches this sync on a terminal (udev started it through systemd): tell how it
    /// ended with a desktop notification, unless [notify] enabled = false. The units in
    /// systemd/ pass it; a terminal's user reads the outcome where they typed.
    #[arg(long)]
    notify: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    TwoWay,
    OneWayFromPhone,
    RefreshFromPhone,
    OneWayFromPc,
    RefreshFromPc,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SanArg {
    Auto,
    #[value(name = "1.2")]
    V12,
    #[value(name = "1.1")]
    Legacy,
}

pub(super) fn parse_dongle(text: &str) -> Result<DongleKind, String> {
    text.parse::<DongleKind>().map_err(|e| e.to_string())
}

/// The datastore names and content types a notification carries: the phone's own names for
/// our datastores when its profile knows them, else the names PC Suite used.
fn san_entry(datastore: Datastore, sync_type: SyncType, profile: Option<&PhoneProfile>) -> SanSync {
    let (default_uri, content_type, kind) = match datastore {
        Datastore::Contacts => ("Contacts", 0x07, DataKind::Contacts), // text/x-vcard
        Datastore::Calendar => ("Calendar", 0x06, DataKind::Events),   // text/x-vcalendar
        Datastore::Tasks => ("Tasks", 0x06, DataKind::Tasks),
        Datastore::Notes => ("Notes", 0x03, DataKind::Notes), // text/plain
    };
    let uri = profile
        .and_then(|p| p.datastore_for(kind))
        .unwrap_or(default_uri);
    SanSync {
        sync_type,
        future_use: 0,
        content_type,
        server_uri: uri.into(),
    }
}

/// The quirk profile of a phone on a cable, from its `AT+CGMI`/`AT+CGMM` answers (Motorola
/// wraps them: `+CGMI: "Motorola CE, Copyright 2000"`, `+CGMM: "...","MODEL=E398"`).
fn cable_profile(switched: &Switched) -> Option<PhoneProfile> {
    let unwrap = |text: &str| {
        let text =
            text.split_once(':').map_or(
                text,
                |(head, rest)| {
                    if head.starts_with('+') {
                        rest
                    } else {
                        text
                    }
                },
            );
        let quoted: Vec<&str> = text.split('"').skip(1).step_by(2).collect();
        match quoted.iter().find_map(|q| q.strip_prefix("MODEL=")) {
            Some(model) => model.to_string(),
            None => quoted.first().copied().unwrap_or(text).trim().to_string(),
        }
    };
    let manufacturer = unwrap(switched.manufacturer.as_deref()?);
    let model = switched.model.as_deref().map(unwrap).unwrap_or_default();
    Some(maker_model_profile(&manufacturer, &model))
}

/// The profile of a maker and model as a phone names them: "Nokia" and "Nokia 6230" (the
/// model line, or the USB product string, often repeats the maker).
fn maker_model_profile(manufacturer: &str, model: &str) -> PhoneProfile {
    let model = model.strip_prefix(manufacturer).map_or(model, str::trim);
    ProfileSet::embedded().resolve(&DeviceInfo {
        manufacturer: manufacturer.to_string(),
        model: model.to_string(),
        software_version: String::new(),
    })
}

/// The quirk profile of a phone from the name it shows in infrared discovery ("Sony
/// Ericsson K750i", "Nokia 6230i"): the makers' names may have two words.
fn nickname_profile(nickname: &str) -> Option<PhoneProfile> {
    const MAKERS: [&str; 5] = [
        "Sony Ericsson",
        "SonyEricsson",
        "Nokia",
        "Siemens",
        "Motorola",
    ];
    let nickname = nickname.trim();
    MAKERS
        .iter()
        .find_map(|maker| {
            // `get`: a nickname's bytes need not fall on a character boundary there.
            let head = nickname.get(..maker.len())?;
            let rest = nickname.get(maker.len()..)?.trim();
            (head.eq_ignore_ascii_case(maker) && !rest.is_empty())
                .then(|| maker_model_profile(maker, rest))
        })
        .or_else(|| bluetooth_name_profile(nickname))
}

/// A Bluetooth address as `sync --bt` and `pair` take it.
pub(super) fn parse_bt_address(text: &str) -> Result<bluer::Address, String> {
    text.parse::<bluer::Address>().map_err(|_| {
        format!("`{text}` is not a Bluetooth address (six hex pairs: 00:1A:2B:3C:4D:5E)")
    })
}

/// The quirk profile of a phone from its Bluetooth name ("Nokia 6230i": maker, then model),
/// when the name starts with a maker the profiles know.
fn bluetooth_name_profile(name: &str) -> Option<PhoneProfile> {
    let (maker, model) = name.trim().split_once(' ')?;
    let profile = ProfileSet::embedded().resolve(&DeviceInfo {
        manufacturer: maker.to_string(),
        model: model.trim().to_string(),
        software_version: String::new(),
    });
    Some(profile)
}

/// The profile a USB phone's strings name (manufacturer and product).
fn usb_profile(manufacturer: Option<&str>, product: Option<&str>) -> Option<PhoneProfile> {
    Some(maker_model_profile(
        manufacturer?.trim(),
        product.unwrap_or_default().trim(),
    ))
}

/// What `serve` sends a phone it calls when it is plugged in on USB (`[usb] sync-on-plug`): a
/// two-way sync of contacts and calendar, named as the phone's profile (from its USB strings)
/// expects, SAN 1.2 with the legacy fallback.
pub fn plug_call_options(server: &ServerConfig, phone: &UsbPhone) -> CallOptions {
    let profile = usb_profile(phone.manufacturer.as_deref(), phone.product.as_deref());
    let server_identifier = profile.as_ref().map_or(server.server_id.clone(), |p| {
        p.alert_server_identifier.clone()
    });
    let entries = [Datastore::Contacts, Datastore::Calendar]
        .into_iter()
        .map(|d| san_entry(d, SyncType::TwoWay, profile.as_ref()))
        .collect();
    call_options(
        server,
        San::new(&server_identifier, (random_u64() & 0xFFFF) as u16, entries),
        SanChoice::Auto,
        Duration::from_secs(120),
    )
}

/// How the PC calls a phone: `san` (tried as `choice` says), our OBEX limits, and how long
/// to wait for each answer.
fn call_options(
    server: &ServerConfig,
    san: San,
    choice: SanChoice,
    response_timeout: Duration,
) -> CallOptions {
    CallOptions {
        san,
        choice,
        san_password: Vec::new(),
        san_nonce: Vec::new(),
        max_packet_length: 0x8000,
        max_object_size: server.max_msg_size as usize + 16 * 1024,
        response_timeout,
    }
}

/// The quirk profile of a known phone, from the DevInf it last sent.
fn known_phone(store: &mut crate::store::Store, device: &str) -> Result<PhoneProfile, Failure> {
    let record = store.read(|tx| -> Result<_, crate::store::StoreError> {
        match device.parse::<i64>() {
            Ok(id) => tx.device(crate::store::DeviceId(id)).map(Some),
            Err(_) => tx.device_by_uri(device),
        }
    })?;
    let record = record.ok_or_else(|| {
        Failure::bad_input(format!(
            "--device {device}: no such phone (see `handsync devices`)"
        ))
    })?;
    let summary = &record.summary;
    Ok(ProfileSet::embedded().resolve(&DeviceInfo {
        manufacturer: summary.manufacturer.clone().unwrap_or_default(),
        model: summary.model.clone().unwrap_or_default(),
        software_version: summary.software_version.clone().unwrap_or_default(),
    }))
}

pub fn run(db: Option<PathBuf>, args: &SyncArgs) -> Result<(), Failure> {
    if args.baud.is_some() && args.serial.is_none() {
        return Err(Failure::bad_input(
            "--baud sets the speed of a --serial line; OBEX over TCP has none".to_string(),
        ));
    }
    let file = load_config(args.config.as_ref())?;
    let mut server = file
        .server_config()
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    if let Some(id) = &args.server_id {
        server.server_id = id.clone();
    }
    let db_path = resolve_db(db, &file)?;
    let mut store = support::open_store(&db_path)?;
    let profile = match &args.device {
        Some(device) => Some(known_phone(&mut store, device)?),
        None => None,
    };
    if let (Some(profile), None) = (&profile, &args.server_id) {
        server.server_id = profile.server_identifier.clone();
    }
    let alert_id = match (&profile, &args.server_id) {
        (Some(profile), None) => profile.alert_server_identifier.clone(),
        _ => server.server_id.clone(),
    };
    let sync_type = match args.mode {
        Mode::TwoWay => SyncType::TwoWay,
        Mode::OneWayFromPhone => SyncType::OneWayFromClient,
        Mode::RefreshFromPhone => SyncType::RefreshFromClient,
        Mode::OneWayFromPc => SyncType::OneWayFromServer,
        Mode::RefreshFromPc => SyncType::RefreshFromServer,
    };
    let datastores = if args.datastore.is_empty() {
        vec![Datastore::Contacts, Datastore::Calendar]
    } else {
        args.datastore.clone()
    };
    let session_id = (random_u64() & 0xFFFF) as u16;
    let make_san = |profile: Option<&PhoneProfile>| {
        let server_identifier = match (profile, &args.server_id) {
            (Some(profile), None) => profile.alert_server_identifier.clone(),
            _ => alert_id.clone(),
        };
        San::new(
            &server_identifier,
            session_id,
            datastores
                .iter()
                .map(|d| san_entry(*d, sync_type, profile))
                .collect(),
        )
    };
    let san = make_san(profile.as_ref());
    let choice = match args.san {
        SanArg::Auto => SanChoice::Auto,
        SanArg::V12 => SanChoice::V1_2,
        SanArg::Legacy => SanChoice::Legacy,
    };
    let options = call_options(
        &server,
        san,
        choice,
        Duration::from_secs(args.timeout.max(1)),
    );

    // Before this process's own session begins, so only sessions of ended processes are cut.
    let orphaned = support::cut_orphaned_sessions(
        &mut store,
        crate::daemon::cluster::DEFAULT_HEARTBEAT * crate::daemon::cluster::MISSED_HEARTBEATS,
    )?;
    if orphaned > 0 {
        eprintln!(
            "handsync: {} left running by a process that ended, recorded as cut",
            support::describe_count(orphaned, "session")
        );
    }
    let desktop = (!args.no_desktop && file.desktop.enabled != Some(false))
        .then(|| super::desktop::settings(&file, &db_path, args.vdir.clone(), &server));
    let baud = super::serve::serial_baud(args.baud, &file)?;
    let notifier = (args.notify && file.notify.enabled != Some(false))
        .then(|| Arc::new(DesktopNotifier::new()));
    let mut observers: Vec<Arc<dyn SessionObserver>> = Vec::new();
    if let Some(notifier) = &notifier {
        observers.push(notifier.clone());
    }
    // The link's speed, where it is known before the session: the estimate of the time left
    // starts from it.
    let link = if args.bt.is_some() {
        LinkRate::BLUETOOTH
    } else if args.serial.is_some() {
        LinkRate::serial(baud)
    } else {
        LinkRate::Measured
    };
    if let Some(progress) = SyncProgress::on_terminal(link, false) {
        observers.push(Arc::new(progress));
    }
    let hub = Hub::start(
        store,
        Arc::new(server),
        HubOptions {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            observer: (!observers.is_empty())
                .then(|| Arc::new(Observers(observers)) as Arc<dyn SessionObserver>),
            ..HubOptions::default()
        },
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("async runtime: {e}")))?;
    let result = match (&args.serial, args.obex_tcp) {
        _ if args.irda.is_some() => {
            let device = args.irda.as_deref().expect("checked");
            let spec = irda::DongleSpec::parse(device, args.dongle)
                .map_err(|e| Failure::bad_input(format!("--irda {e}")))?;
            eprintln!(
                "handsync: looking for the phone in infrared range of {}",
                spec.label()
            );
            runtime.block_on(async {
                let port = irda::open(&spec)
                    .await
                    .map_err(|e| Failure::io(e.to_string()))?;
                // Without --device, the phone's infrared nickname ("Nokia 6230i") picks its
                // profile, as its Bluetooth name does.
                let options_for = |found: &Discovery| {
                    let identified = profile
                        .clone()
                        .or_else(|| nickname_profile(&found.info.nickname_text()));
                    CallOptions {
                        san: make_san(identified.as_ref()),
                        ..options.clone()
                    }
                };
                irda::call(
                    port,
                    args.irda_phone.as_deref(),
                    hub.handle(),
                    options_for,
                    args.capture.as_deref(),
                )
                .await
                .map(|call| {
                    eprintln!(
                        "handsync: synced over infrared with {} at {} b/s",
                        irda::describe(&call.phone),
                        call.speed
                    );
                    call.report
                })
                .map_err(|e| Failure::io(e.to_string()))
            })
        }
        _ if args.usb.is_some() => {
            let selector = match args.usb.as_deref() {
                Some("") | None => None,
                Some(text) => Some(
                    text.parse::<UsbSelector>()
                        .map_err(|e| Failure::bad_input(format!("--usb {e}")))?,
                ),
            };
            let phone = usb::choose(selector.as_ref()).map_err(|e| Failure::io(e.to_string()))?;
            let identified = profile
                .clone()
                .or_else(|| usb_profile(phone.manufacturer.as_deref(), phone.product.as_deref()));
            let options = CallOptions {
                san: make_san(identified.as_ref()),
                ..options.clone()
            };
            if phone.obex.is_empty() {
                // A modem only: the serial path, with the maker's AT switch.
                let Some(tty) = phone.modems.iter().find_map(|m| m.tty.clone()) else {
                    return Err(Failure::io(format!(
                        "USB: {} offers a modem but the kernel made no tty of it (is cdc_acm loaded?)",
                        phone.label()
                    )));
                };
                let path = tty.to_string_lossy().into_owned();
                eprintln!(
                    "handsync: calling {} on its modem {path} (OBEX over the USB modem)",
                    phone.label()
                );
                runtime.block_on(call_on_cable(&path, DEFAULT_BAUD, &hub, |_| options))
            } else {
                eprintln!("handsync: calling {} (OBEX over USB)", phone.label());
                runtime
                    .block_on(usb::call(&phone, hub.handle(), &options))
                    .map(|(function, report)| {
                        eprintln!("handsync: SyncML on the phone's \"{function}\" function");
                        report
                    })
                    .map_err(|e| Failure::io(e.to_string()))
            }
        }
        _ if args.bt.is_some() => {
            let target = BtTarget {
                adapter: args.adapter.clone(),
                device: args.bt.expect("checked"),
                channel: args.channel,
                connect_timeout: Duration::from_secs(30),
            };
            eprintln!(
                "handsync: calling the phone at {} (OBEX over Bluetooth)",
                target.device
            );
            // Without --device, the phone's Bluetooth name picks its profile.
            let options_for = |found: &PhoneFound| {
                let identified = profile
                    .clone()
                    .or_else(|| found.name.as_deref().and_then(bluetooth_name_profile));
                CallOptions {
                    san: make_san(identified.as_ref()),
                    ..options.clone()
                }
            };
            runtime
                .block_on(bluetooth::call(&target, hub.handle(), options_for))
                .map(|(found, report)| {
                    eprintln!(
                        "handsync: {} on {} channel {}",
                        found.name.as_deref().unwrap_or("the phone"),
                        found.adapter,
                        found.channel
                    );
                    report
                })
                .map_err(|e| Failure::io(e.to_string()))
        }
        (Some(device), _) => {
            let path = device.to_string_lossy().into_owned();
            eprintln!("handsync: calling the phone on {path} at {baud} baud (OBEX over the cable)");
            // Without --device, the phone's answers to AT+CGMI/AT+CGMM name its profile.
            let options_for = |switched: &Switched| {
                let identified = profile.clone().or_else(|| cable_profile(switched));
                CallOptions {
                    san: make_san(identified.as_ref()),
                    ..options.clone()
                }
            };
            runtime.block_on(call_on_cable(&path, baud, &hub, options_for))
        }
        (None, Some(address)) => {
            eprintln!("handsync: calling the phone at {address} (OBEX over TCP)");
            runtime.block_on(async {
                let stream = tokio::net::TcpStream::connect(address)
                    .await
                    .map_err(|e| Failure::io(format!("cannot connect to {address}: {e}")))?;
                let _ = stream.set_nodelay(true);
                call_phone(
                    stream,
                    hub.handle(),
                    crate::transport::tcp::TRANSPORT,
                    &options,
                )
                .await
                .map_err(|e| Failure::io(e.to_string()))
            })
        }
        (None, None) => Err(Failure::bad_input(
            "say where the phone is: --usb, --bt MAC, --irda DEVICE, --serial DEV or --obex-tcp ADDR".to_string(),
        )),
    };
    hub.shutdown();
    if let Some(notifier) = &notifier {
        // The phone never reached a session (not there, refused the call): no session end
        // told it, and an unattended sync must not fail unseen.
        if let (Err(failure), 0) = (&result, notifier.told()) {
            notifier.tell(
                format!("Sync with the phone {} failed", phone_place(args)),
                format!(
                    "{}. Check that the phone is on, connected and not locked, then plug it \
                     in again or run handsync sync.",
                    failure.message
                ),
            );
        }
        // Before the process exits and takes the sending thread with it.
        notifier.flush(Duration::from_secs(2));
    }
    let report = result?;
    let san = match report.san {
        SanSent::V1_2 => "SAN 1.2",
        SanSent::Legacy => "the legacy SyncML 1.1 notification",
    };
    eprintln!(
        "handsync: the phone took {san}; {} messages from the phone",
        report.messages_received
    );

    if let Some(settings) = desktop {
        // The desktop sees what the phone changed at once (a udev-started sync has no daemon
        // behind it); a failure here is the desktop's, not the phone's sync's.
        match crate::desktop::sync(&settings, support::now()) {
            Ok(desktop) => eprintln!(
                "handsync: desktop {}: to the desktop {}; from the desktop {}",
                settings.vdir.display(),
                desktop.to_desktop,
                desktop.from_desktop
            ),
            Err(failure) => eprintln!(
                "handsync: warning: the desktop's vdir {} was not brought in step: {}",
                settings.vdir.display(),
                failure.message
            ),
        }
    }

    // What the session did, from its record.
    let mut store = support::open_store(&db_path)?;
    let last = store.read(|tx| tx.sessions(None, 1))?;
    match last.first() {
        Some(session) if report.completed => {
            println!(
                "session {} completed: {}",
                session.id,
                counts_text(&session.counts)
            );
            Ok(())
        }
        Some(session) => Err(Failure::io(format!(
            "session {} did not complete ({}): the next sync will catch up",
            session.id, session.result
        ))),
        None => Err(Failure::io("the phone sent no session".to_string())),
    }
}

/// Where the phone was called, for a notification that has no phone name to give.
fn phone_place(args: &SyncArgs) -> String {
    if let Some(device) = &args.irda {
        format!("in infrared range of {device}")
    } else if let Some(usb) = &args.usb {
        match usb.as_str() {
            "" => "on USB".to_string(),
            port => format!("on USB {port}"),
        }
    } else if let Some(address) = args.bt {
        format!("at {address}")
    } else if let Some(device) = &args.serial {
        format!("on {}", device.display())
    } else if let Some(address) = args.obex_tcp {
        format!("at {address}")
    } else {
        String::new()
    }
}

/// Switch, session, back to AT mode; the dialogue goes to stderr.
async fn call_on_cable(
    path: &str,
    baud: u32,
    hub: &Hub,
    options_for: impl FnOnce(&Switched) -> CallOptions,
) -> Result<CallReport, Failure> {
    let mut port = SerialPort::open(path, baud).map_err(|e| Failure::io(e.to_string()))?;
    let call = serial::call_phone_on_cable(
        &mut port,
        hub.handle(),
        options_for,
        &SwitchOptions::default(),
    )
    .await
    .map_err(|e| Failure::io(e.to_string()))?;
    let switched = &call.switched;
    let phone = match (&switched.manufacturer, &switched.model) {
        (Some(maker), Some(model)) => format!("{maker} {model}"),
        (Some(maker), None) => maker.clone(),
        _ => "the phone".to_string(),
    };
    eprintln!(
        "handsync: {phone} switched to OBEX with {}",
        switched.method.command()
    );
    match &call.back_to_at {
        Ok(_) => eprintln!("handsync: the phone is back in AT mode"),
        Err(e) => eprintln!("handsync: warning: {e}"),
    }
    Ok(call.report)
}
