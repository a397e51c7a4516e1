//! `handsync emulate`: an emulated phone (see docs/emulator.md) syncing with handsync or any
//! SyncML server, for users without a phone at hand and for tests.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Failure;
use crate::daemon::config::parse_listen;
use crate::emulator::irda::link::AirConfig;
use crate::emulator::usb::UsbLayout;
use crate::emulator::{
    generate, AuthKind, Credentials, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig,
    PhoneEvent, PhoneStore, SessionReport, SyncMode, SyncRequest,
};
use crate::store::Datastore;
use crate::transport::emulated::{
    cable_modem_for, over_cable, over_http_following, pc_starts, phone_starts, CableRole,
    CutAction, CutLink, EmulateError, LinkBytes, RespUri,
};
use crate::transport::emulated_irda::{over_irda, AirSettings, IrdaRole};
use crate::transport::emulated_irda_usb::{over_irda_usbip, BUSID as IRDA_BUSID};
use crate::transport::emulated_usb::{over_usbip, UsbCut, UsbRole, BUSID};

#[derive(Args, Debug)]
pub struct EmulateArgs {
    /// The phone model (docs/phones.md says what each one is and what it was tested over).
    // The list is the emulator's own, so help and completions name every built-in model.
    #[arg(long, default_value = "nokia-6230i", value_name = "MODEL",
          value_parser = clap::builder::PossibleValuesParser::new(DeviceProfile::BUILTIN))]
    profile: String,

    /// The phone's data: a directory it keeps between runs (its items, anchors and change
    /// log), or any directory of .vcf/.vcs/.ics/.vnt/.txt files to start from. Without it the
    /// phone starts from --generate and forgets everything at the end.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,

    /// Start an empty --data directory (or a throwaway phone) with this many generated
    /// contacts.
    #[arg(long, value_name = "N", default_value_t = 0)]
    generate: usize,

    /// Generated calendar events (with --generate).
    #[arg(long, value_name = "N", default_value_t = 0)]
    events: usize,

    /// A photo of this many bytes on the first generated contact.
    #[arg(long, value_name = "BYTES")]
    photo: Option<usize>,

    /// Before syncing, the phone's user adds the entries of this file (vCard, vCalendar,
    /// vNote, text), or of every file under this directory; repeatable.
    #[arg(long, value_name = "PATH")]
    add: Vec<PathBuf>,

    /// Seed of the generated data (the same seed gives the same data).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,

    /// Connect to a SyncML server's OBEX-over-TCP listener and start a session (the phone
    /// starts, as from its Sync menu).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, group = "wire")]
    connect_obex_tcp: Option<SocketAddr>,

    /// Listen for OBEX over TCP and wait for the PC to start a session (`handsync sync
    /// --obex-tcp ADDR`); one session, then exit. The address is printed once listening.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, group = "wire")]
    listen_obex_tcp: Option<SocketAddr>,

    /// Be a phone on a data cable: make a pseudo-terminal, print its device path (for
    /// `handsync sync --serial PATH` or `handsync serve --serial PATH`), answer the PC's AT
    /// commands as the model does, then sync over OBEX once switched. One session, then exit.
    #[arg(long, group = "wire")]
    pty: bool,

    /// With --pty: start the session from the phone once the PC has switched the cable to
    /// OBEX (the PC waits, as `serve --serial` does); without it the phone waits for the
    /// PC's notification (`sync --serial`).
    #[arg(long, requires = "pty")]
    pty_start: bool,

    /// Be a phone with an infrared port facing the PC's SIR port: make a pseudo-terminal
    /// that plays the PC's port, print its path (for `handsync sync --irda PATH` or `serve
    /// --irda PATH`), and carry the phone's IrDA frames across a simulated air. One session.
    #[arg(long, group = "wire", group = "infrared")]
    irda_pty: bool,

    /// Be a phone in front of an IrDA-USB dongle (an ACTiSYS ACT-IR2000U): serve the dongle
    /// over USB/IP on this address, print it, and wait for `usbip attach -r HOST -b 1-1`; the
    /// PC then finds it with `--irda usb`. One session, then the dongle is unplugged.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, group = "wire", group = "infrared")]
    irda_usbip: Option<SocketAddr>,

    /// With --irda-pty or --irda-usbip: the phone discovers "PC Suite" and starts the session (`serve
    /// --irda` waits for it); without it the phone waits for the PC's call (`sync --irda`).
    #[arg(long, requires = "infrared")]
    irda_start: bool,

    /// With --irda-pty or --irda-usbip: the share of frames the air loses (0.01 = 1%).
    #[arg(long, value_name = "SHARE", requires = "infrared", default_value_t = 0.0,
          value_parser = parse_share)]
    air_loss: f64,

    /// With --irda-pty or --irda-usbip: the air's bit error rate (1e-5 damages about one 1 KB frame in 12).
    #[arg(long, value_name = "RATE", requires = "infrared", default_value_t = 0.0,
          value_parser = parse_share)]
    air_errors: f64,

    /// With --irda-pty or --irda-usbip: the seed of the air's losses and errors (the same seed, the same
    /// faults).
    #[arg(long, value_name = "N", requires = "infrared", default_value_t = 1)]
    air_seed: u64,

    /// With --irda-pty or --irda-usbip: the phone leaves infrared range this many seconds after its OBEX
    /// connection opened, as when it is picked up mid-sync.
    #[arg(long, value_name = "SECONDS", requires = "infrared")]
    out_of_range_after: Option<f64>,

    /// Be a phone on USB: serve the model's USB device over USB/IP on this address (port
    /// 3240 is usbip's), print it, and wait for `usbip attach -r HOST -b 1-1`; the kernel then
    /// enumerates the phone as if plugged in. One session, then the phone is unplugged. Models
    /// with a USB face: nokia-6230i, nokia-e51, sonyericsson-k750i.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, group = "wire")]
    usbip: Option<SocketAddr>,

    /// With --usbip: the phone stops answering once it has sent this many bytes and stays
    /// plugged in until the PC detaches it (`usbip detach`), as a cable pulled out in the
    /// middle of a package; with --cut-after the phone unplugs itself instead.
    #[arg(
        long,
        value_name = "BYTES",
        requires = "usbip",
        conflicts_with = "cut_after"
    )]
    freeze_after: Option<usize>,

    /// With --usbip: start the session from the phone once the PC opens its SyncML function
    /// (`serve` does); without it the phone waits for the PC's notification (`sync --usb`).
    #[arg(long, requires = "usbip")]
    usbip_start: bool,

    /// Be a phone on Bluetooth and start a session with the PC at this address: look its
    /// SyncML Server service up over SDP and connect RFCOMM (as a phone's Sync menu does).
    #[arg(long, value_name = "MAC", value_parser = super::sync::parse_bt_address, group = "wire")]
    bt_connect: Option<bluer::Address>,

    /// Be a phone on Bluetooth waiting for the PC: publish a SyncML Client service over SDP,
    /// show the model's name, and wait for `handsync sync --bt` (one session, then exit).
    #[arg(long, group = "wire")]
    bt_listen: bool,

    /// The Bluetooth adapter the phone uses (hci1...). Default: BlueZ's default adapter.
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,

    /// RFCOMM channel of the phone's SyncML Client service (with --bt-listen).
    #[arg(long, value_name = "N", default_value_t = 27,
          value_parser = clap::value_parser!(u8).range(1..=30))]
    bt_channel: u8,

    /// The PIN the phone's user types when the PC pairs with it (answers pairing on the
    /// phone's adapter while the emulator runs).
    #[arg(long, value_name = "PIN")]
    bt_pin: Option<String>,

    /// With --bt-connect: the phone's user pairs with the PC first (from the phone, as its
    /// "Add device" menu does), answering with --bt-pin; the PC's agent (`serve --bt-agent`)
    /// answers its side.
    #[arg(long, requires = "bt_connect")]
    bt_pair: bool,

    /// Drop the link once the phone has sent this many bytes (in the middle of a package),
    /// with --connect-obex-tcp, --bt-connect, --bt-listen or --usbip: on Bluetooth the phone
    /// disconnects from the PC, as when it leaves range; on USB it unplugs itself.
    #[arg(long, value_name = "BYTES")]
    cut_after: Option<usize>,

    /// Sync over HTTP with any SyncML server at this URL (http://HOST:PORT/PATH).
    #[arg(long, value_name = "URL", group = "wire")]
    http: Option<String>,

    /// With --http: post every message to that URL, ignoring the server's RespURI, as some
    /// old phones do.
    #[arg(long, requires = "http")]
    ignore_resp_uri: bool,

    /// two-way, slow, one-way-from-phone, refresh-from-phone, one-way-from-pc,
    /// refresh-from-pc (the phone starting; a PC-started session does what the PC asks).
    #[arg(long, default_value = "two-way")]
    mode: String,

    /// Datastores to sync: contacts, calendar, tasks, notes (comma-separated); default: all
    /// the phone has.
    #[arg(long, value_delimiter = ',')]
    datastore: Vec<Datastore>,

    /// Log in with this user (and --password), md5 unless --auth basic.
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// The password of --user.
    #[arg(long, requires = "user")]
    password: Option<String>,
    /// How to log in: md5 (a digest with the server's nonce; the password never travels) or
    /// basic (name:password in base64).
    #[arg(long, value_parser = ["md5", "basic"], default_value = "md5")]
    auth: String,

    /// The phone's MaxMsgSize (default: the model's).
    #[arg(long, value_name = "BYTES")]
    max_msg_size: Option<u64>,

    /// Largest OBEX packet the phone takes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    obex_packet: u16,

    /// Write each session's transcript (messages as XML, raw bytes) into this directory.
    #[arg(long, value_name = "DIR")]
    transcripts: Option<PathBuf>,

    /// Seconds to wait for the other side.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
}

pub fn run(args: &EmulateArgs) -> Result<(), Failure> {
    let mut profile = DeviceProfile::builtin(&args.profile).ok_or_else(|| {
        Failure::bad_input(format!(
            "--profile {}: unknown model; known: {}",
            args.profile,
            DeviceProfile::BUILTIN.join(", ")
        ))
    })?;
    if let Some(size) = args.max_msg_size {
        if size < 512 {
            return Err(Failure::bad_input(format!(
                "--max-msg-size {size}: at least 512 bytes"
            )));
        }
        profile.max_msg_size = size;
    }
    let mode = SyncMode::from_name(&args.mode).ok_or_else(|| {
        Failure::bad_input(format!(
            "--mode {}: use two-way, slow, one-way-from-phone, refresh-from-phone, \
             one-way-from-pc or refresh-from-pc",
            args.mode
        ))
    })?;
    let spec = DataSetSpec {
        contacts: args.generate,
        events: args.events,
        tasks: 0,
        notes: 0,
        photo_bytes: args.photo,
        seed: args.seed,
    };
    let tasks_in_calendar = profile.datastores.iter().any(|d| d.holds_tasks);
    let store = match &args.data {
        Some(dir)
            if dir.exists() && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) =>
        {
            PhoneStore::load_dir(dir, tasks_in_calendar)
                .map_err(|e| Failure::bad_input(format!("--data {}: {e}", dir.display())))?
        }
        _ => generate(&profile, &spec),
    };
    let mut store = store;
    for path in &args.add {
        let added = store
            .add_files(path, tasks_in_calendar)
            .map_err(|e| Failure::bad_input(format!("--add {}: {e}", path.display())))?;
        if added == 0 {
            return Err(Failure::bad_input(format!(
                "--add {}: no entries in it",
                path.display()
            )));
        }
    }
    let request = if args.datastore.is_empty() {
        SyncRequest::all(&profile, mode)
    } else {
        for datastore in &args.datastore {
            if profile.datastore(*datastore).is_none() {
                return Err(Failure::bad_input(format!(
                    "--datastore {datastore}: the {} has none",
                    profile.model
                )));
            }
        }
        SyncRequest {
            datastores: args.datastore.iter().map(|d| (*d, mode)).collect(),
            server_alerted: false,
            session_id: None,
        }
    };
    let config = PhoneConfig {
        credentials: args.user.as_ref().map(|user| Credentials {
            user: user.clone(),
            password: args.password.clone().unwrap_or_default(),
            kind: if args.auth == "basic" {
                AuthKind::Basic
            } else {
                AuthKind::Md5
            },
        }),
        ..PhoneConfig::default()
    };
    let model = format!("{} {}", profile.manufacturer, profile.model);
    let mut phone = EmulatedPhone::new(profile, store, config);
    phone.record_transcripts(args.transcripts.is_some());

    let silence = Duration::from_secs(args.timeout.max(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::io(format!("async runtime: {e}")))?;
    let interactive = std::io::stderr().is_terminal();
    let show = |what: &str| {
        if interactive {
            eprint!("\r\x1b[2K{model}: {what}");
        }
    };
    // The OBEX link's byte counts, for the report.
    let link_bytes = std::cell::RefCell::new(None);
    let (mut phone, result) = runtime.block_on(async {
        if let Some(address) = args.connect_obex_tcp {
            let stream = match tokio::net::TcpStream::connect(address).await {
                Ok(stream) => stream,
                Err(e) => return (phone, Err(EmulateError::Io(e))),
            };
            let _ = stream.set_nodelay(true);
            let config = phone_client_config(args, silence);
            let stream = CutLink::new(stream, args.cut_after.unwrap_or(usize::MAX), None);
            *link_bytes.borrow_mut() = Some(stream.bytes());
            phone_starts(stream, phone, request, config, &mut |event| {
                if let PhoneEvent::Connected = event {
                    show("connected");
                }
            })
            .await
        } else if args.bt_connect.is_some() || args.bt_listen {
            bluetooth_phone(args, phone, request, silence, &show, &link_bytes).await
        } else if let Some(address) = args.listen_obex_tcp {
            let listener = match tokio::net::TcpListener::bind(address).await {
                Ok(listener) => listener,
                Err(e) => return (phone, Err(EmulateError::Io(e))),
            };
            let bound = listener.local_addr().unwrap_or(address);
            // Tests and scripts read the address from this line.
            println!("emulate: listening for OBEX on {bound}");
            let stream = match tokio::time::timeout(silence, listener.accept()).await {
                Ok(Ok((stream, _))) => stream,
                Ok(Err(e)) => return (phone, Err(EmulateError::Io(e))),
                Err(_) => return (phone, Err(EmulateError::TimedOut)),
            };
            let config = phone_server_config(args);
            pc_starts(stream, phone, config, silence, &mut |event| {
                if let PhoneEvent::Connected = event {
                    show("the PC connected");
                }
            })
            .await
        } else if let Some(address) = args.usbip {
            let Some(layout) = UsbLayout::for_model(&phone.profile().name) else {
                let name = phone.profile().name.clone();
                return (
                    phone,
                    Err(EmulateError::Session(format!(
                        "the {name} had no USB face to emulate (try nokia-6230i, nokia-e51 or sonyericsson-k750i)"
                    ))),
                );
            };
            let listener = match tokio::net::TcpListener::bind(address).await {
                Ok(listener) => listener,
                Err(e) => return (phone, Err(EmulateError::Io(e))),
            };
            let bound = listener.local_addr().unwrap_or(address);
            // Tests and scripts read the address from this line.
            println!("emulate: USB/IP on {bound}, bus id {BUSID}");
            let role = if args.usbip_start {
                UsbRole::PhoneStarts(request, phone_client_config(args, silence))
            } else {
                UsbRole::PcStarts(phone_server_config(args))
            };
            let cut = match (args.cut_after, args.freeze_after) {
                (Some(bytes), _) => UsbCut::UnplugAfter(bytes),
                (None, Some(bytes)) => UsbCut::FreezeAfter(bytes),
                (None, None) => UsbCut::Never,
            };
            over_usbip(listener, layout, phone, role, silence, cut, &mut |event| {
                if let PhoneEvent::Connected = event {
                    show("plugged in");
                }
            })
            .await
        } else if let (Some(address), true) = (args.irda_usbip, phone.profile().infrared) {
            let listener = match tokio::net::TcpListener::bind(address).await {
                Ok(listener) => listener,
                Err(e) => return (phone, Err(EmulateError::Io(e))),
            };
            let bound = listener.local_addr().unwrap_or(address);
            // Tests and scripts read the address from this line.
            println!("emulate: IrDA dongle on USB/IP {bound}, bus id {IRDA_BUSID}");
            over_irda_usbip(listener, phone, irda_role(args, request), air_settings(args), silence, &mut |event| {
                if let PhoneEvent::Connected = event {
                    show("OBEX connected over infrared");
                }
            })
            .await
        } else if args.irda_pty || args.irda_usbip.is_some() {
            if !phone.profile().infrared {
                return (
                    phone,
                    Err(EmulateError::Session(format!(
                        "the {} has no infrared port (models with one: {})",
                        args.profile,
                        infrared_models().join(", ")
                    ))),
                );
            }
            let (master, path) = match crate::transport::serial::open_pty() {
                Ok(pty) => pty,
                Err(e) => return (phone, Err(EmulateError::Io(e))),
            };
            // Tests and scripts read the device from this line.
            println!("emulate: infrared on {path}");
            over_irda(master, phone, irda_role(args, request), air_settings(args), silence, &mut |event| {
                if let PhoneEvent::Connected = event {
                    show("OBEX connected over infrared");
                }
            })
            .await
        } else if args.pty {
            let (master, path) = match crate::transport::serial::open_pty() {
                Ok(pty) => pty,
                Err(e) => return (phone, Err(EmulateError::Io(e))),
            };
            let port = match crate::transport::serial::SerialPort::from_owned_fd(master, &path) {
                Ok(port) => port,
                Err(e) => return (phone, Err(EmulateError::Io(std::io::Error::other(e)))),
            };
            // Tests and scripts read the device from this line.
            println!("emulate: cable on {path}");
            let modem = cable_modem_for(phone.profile());
            let role = if args.pty_start {
                CableRole::PhoneStarts(request)
            } else {
                CableRole::PcStarts
            };
            over_cable(port, modem, phone, role, silence, &mut |event| {
                if let PhoneEvent::Connected = event {
                    show("OBEX connected on the cable");
                }
            })
            .await
        } else if let Some(url) = &args.http {
            let resp_uri = if args.ignore_resp_uri {
                RespUri::Ignore
            } else {
                RespUri::Follow
            };
            over_http_following(url, resp_uri, phone, request, &mut |n| {
                show(&format!("{n} messages exchanged"))
            })
            .await
        } else {
            (
                phone,
                Err(EmulateError::Session(
                    "say how to reach the server: --connect-obex-tcp, --listen-obex-tcp, --bt-connect, --bt-listen, --pty, --irda-pty, --irda-usbip, --usbip or --http"
                        .into(),
                )),
            )
        }
    });
    if interactive {
        eprintln!();
    }

    // Keep what the phone holds and what it recorded, whatever happened.
    if let Some(dir) = &args.transcripts {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::io(format!("--transcripts {}: {e}", dir.display())))?;
        for file in phone
            .save_transcripts(dir)
            .map_err(|e| Failure::io(format!("--transcripts {}: {e}", dir.display())))?
        {
            eprintln!("transcript: {}", file.display());
        }
    }
    if let Some(dir) = &args.data {
        phone
            .store()
            .save_dir(dir)
            .map_err(|e| Failure::io(format!("--data {}: {e}", dir.display())))?;
    }
    match result {
        Ok(report) => {
            print_report(&report);
            if let Some(bytes) = link_bytes.borrow().as_ref() {
                use std::sync::atomic::Ordering::Relaxed;
                println!(
                    "  link: {} bytes sent, {} received",
                    bytes.sent.load(Relaxed),
                    bytes.received.load(Relaxed)
                );
            }
            if report.completed {
                Ok(())
            } else {
                Err(Failure::io("the session did not complete".to_string()))
            }
        }
        Err(e) => Err(Failure::io(e.to_string())),
    }
}

/// The phone on Bluetooth: its adapter named after the model, its pairing answers, then
/// either it calls the PC's SyncML Server service or it waits for the PC on its own.
async fn bluetooth_phone(
    args: &EmulateArgs,
    phone: EmulatedPhone,
    request: SyncRequest,
    silence: Duration,
    show: &dyn Fn(&str),
    link_bytes: &std::cell::RefCell<Option<std::sync::Arc<LinkBytes>>>,
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    use crate::transport::bluetooth::{self, agent, SYNCML_SERVER};
    let failed = |e: bluetooth::BtError| EmulateError::Session(e.to_string());
    let (session, adapter) = match bluetooth::open_adapter(args.adapter.as_deref()).await {
        Ok(opened) => opened,
        Err(e) => return (phone, Err(failed(e))),
    };
    let local = match adapter.address().await {
        Ok(address) => address,
        Err(e) => return (phone, Err(EmulateError::Session(e.to_string()))),
    };
    // The PC sees the phone by its model's name, as a real one shows it.
    let model = format!("{} {}", phone.profile().manufacturer, phone.profile().model);
    let _ = adapter.set_alias(model.clone()).await;
    let report: std::sync::Arc<dyn Fn(&str) + Send + Sync> =
        std::sync::Arc::new(|line: &str| println!("emulate: {line}"));
    let policy = agent::AgentPolicy {
        pin: args.bt_pin.clone(),
        confirm: true,
        default: true,
        report: report.clone(),
    };
    // Pairing from the phone: its agent answers for that pairing only (the PC's default agent
    // answers the PC's side), so no default agent of the phone's while it runs.
    let _agent = match &args.bt_pin {
        Some(_) if !args.bt_pair => {
            match session
                .register_agent(policy.agent(Some(adapter.name().to_string()), Default::default()))
                .await
            {
                Ok(handle) => Some(handle),
                Err(e) => return (phone, Err(EmulateError::Session(e.to_string()))),
            }
        }
        _ => None,
    };
    let timeout = Duration::from_secs(30);
    // The cut, on Bluetooth: the phone drops the whole link to the PC.
    let cut_action = |peer: bluer::Address| -> Option<CutAction> {
        let device = adapter.device(peer).ok()?;
        Some(Box::pin(async move {
            let _ = device.disconnect().await;
        }))
    };
    if let Some(pc) = args.bt_connect {
        if args.bt_pair {
            let progress = |line: &str| println!("emulate: {line}");
            match bluetooth::pair(Some(adapter.name()), pc, policy.clone(), timeout, &progress)
                .await
            {
                Ok(_) => println!("emulate: paired with the PC {pc}"),
                Err(e) => return (phone, Err(failed(e))),
            }
        }
        let records = match bluetooth::lookup(local, pc, SYNCML_SERVER, timeout).await {
            Ok(records) => records,
            Err(e) => return (phone, Err(failed(e))),
        };
        let Some(record) = records.iter().find(|r| r.rfcomm_channel.is_some()) else {
            return (
                phone,
                Err(failed(bluetooth::BtError::NoService {
                    device: pc,
                    class: SYNCML_SERVER,
                })),
            );
        };
        let channel = record.rfcomm_channel.expect("checked");
        println!(
            "emulate: {pc} offers \"{}\" on RFCOMM channel {channel}",
            record.name.as_deref().unwrap_or("SyncML Server")
        );
        let stream = match bluetooth::connect(local, pc, channel, timeout).await {
            Ok(stream) => stream,
            Err(e) => return (phone, Err(failed(e))),
        };
        let stream = CutLink::new(
            stream,
            args.cut_after.unwrap_or(usize::MAX),
            args.cut_after.and_then(|_| cut_action(pc)),
        );
        *link_bytes.borrow_mut() = Some(stream.bytes());
        let config = phone_client_config(args, silence);
        phone_starts(stream, phone, request, config, &mut |event| {
            if let PhoneEvent::Connected = event {
                show("connected over Bluetooth");
            }
        })
        .await
    } else {
        let mut service = match bluetooth::register_service(
            &session,
            bluetooth::SYNCML_CLIENT,
            args.bt_channel,
            "SyncML Client",
        )
        .await
        {
            Ok(handle) => handle,
            Err(e) => return (phone, Err(failed(e))),
        };
        let _ = adapter.set_pairable(true).await;
        let _ = adapter.set_discoverable(true).await;
        // Tests and scripts read the address from this line.
        println!(
            "emulate: {model} waiting on {} {local}, SyncML Client on RFCOMM channel {}",
            adapter.name(),
            args.bt_channel
        );
        use futures::StreamExt;
        let request = match tokio::time::timeout(silence, service.next()).await {
            Ok(Some(request)) => request,
            Ok(None) => {
                return (
                    phone,
                    Err(EmulateError::Session(
                        "BlueZ released the phone's service".into(),
                    )),
                )
            }
            Err(_) => return (phone, Err(EmulateError::TimedOut)),
        };
        let pc = request.device();
        let stream = match request.accept() {
            Ok(stream) => stream,
            Err(e) => return (phone, Err(EmulateError::Session(e.to_string()))),
        };
        println!("emulate: the PC {pc} connected");
        let stream = CutLink::new(
            stream,
            args.cut_after.unwrap_or(usize::MAX),
            args.cut_after.and_then(|_| cut_action(pc)),
        );
        *link_bytes.borrow_mut() = Some(stream.bytes());
        let config = phone_server_config(args);
        pc_starts(stream, phone, config, silence, &mut |event| {
            if let PhoneEvent::Connected = event {
                show("the PC connected over Bluetooth");
            }
        })
        .await
    }
}

/// The phone's OBEX client (it starts the session).
fn phone_client_config(args: &EmulateArgs, silence: Duration) -> crate::obex::ObexClientConfig {
    crate::obex::ObexClientConfig {
        max_packet_length: args.obex_packet.max(255),
        max_object_size: 16 * 1024 * 1024,
        response_timeout: Some(silence),
    }
}

/// The phone's OBEX server (the PC starts).
fn phone_server_config(args: &EmulateArgs) -> crate::obex::ObexServerConfig {
    crate::obex::ObexServerConfig {
        max_packet_length: args.obex_packet.max(255),
        ..crate::obex::ObexServerConfig::default()
    }
}

fn print_report(report: &SessionReport) {
    println!(
        "session {}: {} ({} messages sent, {} received)",
        report.session_id,
        if report.completed {
            "completed"
        } else {
            "not completed"
        },
        report.messages_sent,
        report.messages_received
    );
    for datastore in &report.datastores {
        let alert = datastore
            .alert_status
            .map(|s| s.code().to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "  {}: {} (asked {}, status {alert}); sent {}, received +{} ~{} -{}{}",
            datastore.kind,
            datastore.mode.name(),
            datastore.requested.name(),
            datastore.sent,
            datastore.added,
            datastore.replaced,
            datastore.deleted,
            datastore
                .failure
                .as_ref()
                .map(|f| format!("; failed: {f}"))
                .unwrap_or_default()
        );
        for item in &datastore.left_out {
            println!("    left on the phone (too large for the server): {item}");
        }
    }
}

/// A share or rate between 0 and 1 (`0.01`, `1e-5`).
fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        Ok(_) => Err(format!("{text} is not between 0 and 1")),
        Err(e) => Err(format!("{text}: {e}")),
    }
}

/// The built-in models that had an infrared port.
fn infrared_models() -> Vec<&'static str> {
    crate::emulator::DeviceProfile::BUILTIN
        .into_iter()
        .filter(|name| {
            crate::emulator::DeviceProfile::builtin(name).is_some_and(|profile| profile.infrared)
        })
        .collect()
}

fn irda_role(args: &EmulateArgs, request: SyncRequest) -> IrdaRole {
    if args.irda_start {
        IrdaRole::PhoneStarts(request)
    } else {
        IrdaRole::PcStarts
    }
}

fn air_settings(args: &EmulateArgs) -> AirSettings {
    AirSettings {
        air: AirConfig {
            seed: args.air_seed,
            bit_error_rate: args.air_errors,
            frame_loss: args.air_loss,
            ..AirConfig::default()
        },
        out_of_range_after: args.out_of_range_after.map(Duration::from_secs_f64),
    }
}
