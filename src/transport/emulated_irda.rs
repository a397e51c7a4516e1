//! The phone emulator on infrared: the phone's IrDA face
//! ([`crate::emulator::irda::phone::IrPhone`]) behind a pseudo-terminal that plays the PC's
//! SIR port, with the simulated air between. The phone's OBEX side runs the same drivers as
//! on every other link ([`super::emulated::phone_starts`], [`super::emulated::pc_starts`])
//! over an in-memory pipe.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use handsync_proto::irda::frame::{Discovery, Hints};
use handsync_proto::irda::station::{Station, StationEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

use super::emulated::{pc_starts, phone_starts, EmulateError};
use super::serial::SerialPort;
use crate::emulator::irda::link::AirConfig;
use crate::emulator::irda::phone::{phone_station, IrPhone};
use crate::emulator::{EmulatedPhone, PhoneEvent, SessionReport, SyncRequest};
use handsync_proto::irda::DeviceAddress;

/// Who starts a session over infrared.
#[derive(Debug, Clone)]
pub enum IrdaRole {
    /// The phone waits, discoverable, for the PC to call and notify it.
    PcStarts,
    /// The phone discovers the PC ("PC Suite", `handsync serve --irda`) and starts.
    PhoneStarts(SyncRequest),
}

/// The simulated air and what happens on it.
#[derive(Debug, Clone)]
pub struct AirSettings {
    pub air: AirConfig,
    /// The phone leaves range this long after its OBEX connection opened.
    pub out_of_range_after: Option<Duration>,
}

/// OBEX bytes buffered between the phone's station and its OBEX driver, each way.
const OBEX_PIPE: usize = 64 * 1024;
/// How long the phone looks for the PC before giving up (a lab VM under software
/// emulation is slow to start the PC's side).
const LOOK_FOR_PC: Duration = Duration::from_secs(60);

/// The phone's name in discovery, as the phones showed it ("Nokia 6230i").
pub fn nickname(phone: &EmulatedPhone) -> String {
    let profile = phone.profile();
    let maker = match profile.manufacturer.to_ascii_lowercase().as_str() {
        "nokia" => "Nokia".to_string(),
        "sonyericsson" | "sony ericsson" => "Sony Ericsson".to_string(),
        "siemens" => "Siemens".to_string(),
        "motorola" => "Motorola".to_string(),
        _ => profile.manufacturer.clone(),
    };
    // Some firmware leaves its model out of DevInf; its infrared name still said it
    // ("sonyericsson-z600" → "Z600").
    let model = if profile.model.is_empty() {
        profile
            .name
            .rsplit('-')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase()
    } else {
        profile.model.clone()
    };
    format!("{maker} {model}")
}

/// Runs one session of `phone` on the master side of a pseudo-terminal whose slave the PC's
/// handsync opens as its SIR port.
pub async fn over_irda(
    master: OwnedFd,
    phone: EmulatedPhone,
    role: IrdaRole,
    settings: AirSettings,
    silence: Duration,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    let speed_fd = match master.try_clone() {
        Ok(fd) => fd,
        Err(e) => return (phone, Err(e.into())),
    };
    let port = match SerialPort::from_owned_fd(master, "pty") {
        Ok(port) => port,
        Err(e) => {
            return (
                phone,
                Err(EmulateError::Io(std::io::Error::other(e.to_string()))),
            )
        }
    };
    let ir = IrPhone::new(station_for(&phone, &role), settings.air.clone());
    let (obex, station_side) = tokio::io::duplex(OBEX_PIPE);
    let (notices_tx, mut notices) = mpsc::unbounded_channel();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(drive(
        port,
        speed_fd,
        ir,
        station_side,
        notices_tx,
        command_rx,
        settings.out_of_range_after,
    ));
    let (phone, result) = play_role(
        obex,
        phone,
        role,
        silence,
        &commands,
        &mut notices,
        progress,
    )
    .await;
    let _ = commands.send(PhoneCommand::Stop);
    let _ = task.await;
    (phone, result)
}

/// The phone's IrDA station for `role`: its name, a random address, discoverable unless it
/// starts the session itself.
pub(crate) fn station_for(phone: &EmulatedPhone, role: &IrdaRole) -> Station {
    phone_station(
        &nickname(phone),
        DeviceAddress(0x4E4F_4B00 ^ crate::entropy::random_u64() as u32 & 0xFFFF),
        crate::entropy::random_u64(),
        matches!(role, IrdaRole::PhoneStarts(_)),
    )
}

/// The phone's OBEX side over its station's stream, in `role`: waiting for the PC's
/// notification, or discovering "PC Suite" and starting (whichever the port's driver).
pub(crate) async fn play_role(
    obex: DuplexStream,
    phone: EmulatedPhone,
    role: IrdaRole,
    silence: Duration,
    commands: &mpsc::UnboundedSender<PhoneCommand>,
    notices: &mut mpsc::UnboundedReceiver<StationEvent>,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    match role {
        IrdaRole::PcStarts => {
            pc_starts(
                obex,
                phone,
                crate::obex::ObexServerConfig::default(),
                silence,
                progress,
            )
            .await
        }
        IrdaRole::PhoneStarts(request) => match find_and_open(commands, notices).await {
            Ok(()) => {
                phone_starts(
                    obex,
                    phone,
                    request,
                    crate::obex::ObexClientConfig {
                        response_timeout: Some(silence),
                        ..Default::default()
                    },
                    progress,
                )
                .await
            }
            Err(e) => (phone, Err(e)),
        },
    }
}

/// What the phone's user does to its infrared port (whichever the port's driver).
#[derive(Debug)]
pub(crate) enum PhoneCommand {
    Discover,
    Open(DeviceAddress),
    Stop,
}

/// The phone's user picks "Sync with PC Suite" over infrared: discover, then connect.
pub(crate) async fn find_and_open(
    commands: &mpsc::UnboundedSender<PhoneCommand>,
    notices: &mut mpsc::UnboundedReceiver<StationEvent>,
) -> Result<(), EmulateError> {
    let give_up = tokio::time::Instant::now() + LOOK_FOR_PC;
    let _ = commands.send(PhoneCommand::Discover);
    loop {
        let notice = tokio::time::timeout_at(give_up, notices.recv())
            .await
            .map_err(|_| EmulateError::TimedOut)?
            .ok_or(EmulateError::Closed)?;
        match notice {
            StationEvent::Discovered(found) => match pick_pc(&found) {
                Some(pc) => {
                    let _ = commands.send(PhoneCommand::Open(pc));
                }
                None => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let _ = commands.send(PhoneCommand::Discover);
                }
            },
            StationEvent::ObexOpened { .. } => return Ok(()),
            StationEvent::ObexClosed(reason) => {
                return Err(EmulateError::Session(reason.to_string()))
            }
            StationEvent::DiscoveredBy(_) => {}
        }
    }
}

/// The PC in a discovery: a computer offering OBEX.
fn pick_pc(found: &[Discovery]) -> Option<DeviceAddress> {
    found
        .iter()
        .find(|d| d.info.hints.contains(Hints::COMPUTER) && d.info.hints.contains(Hints::OBEX))
        .map(|d| d.address)
}

/// The speed the PC set its pty to: its transceiver's.
fn pc_speed(fd: &OwnedFd) -> Option<u32> {
    // SAFETY: tcgetattr on a descriptor we own, into a zeroed struct it fills; on a pty
    // master Linux answers with the slave's settings, which the PC's program set.
    let speed = unsafe {
        let mut termios = std::mem::zeroed::<libc::termios>();
        if libc::tcgetattr(fd.as_raw_fd(), &mut termios) != 0 {
            return None;
        }
        libc::cfgetospeed(&termios)
    };
    let baud = match speed {
        libc::B2400 => 2400,
        libc::B9600 => 9600,
        libc::B19200 => 19200,
        libc::B38400 => 38400,
        libc::B57600 => 57600,
        libc::B115200 => 115_200,
        _ => return None,
    };
    Some(baud)
}

async fn drive(
    mut port: SerialPort,
    speed_fd: OwnedFd,
    mut ir: IrPhone,
    obex: DuplexStream,
    notices: mpsc::UnboundedSender<StationEvent>,
    mut commands: mpsc::UnboundedReceiver<PhoneCommand>,
    out_of_range_after: Option<Duration>,
) {
    let (mut obex_read, mut obex_write) = tokio::io::split(obex);
    let mut from_pc = vec![0u8; 4096];
    let mut from_obex = vec![0u8; 4096];
    let mut to_obex: Vec<u8> = Vec::new();
    let mut leave_range_at: Option<Instant> = None;
    let mut obex_open = false;
    loop {
        let now = Instant::now();
        if let Some(speed) = pc_speed(&speed_fd) {
            ir.set_pc_speed(speed);
        }
        if leave_range_at.is_some_and(|at| now >= at) {
            ir.air_mut().set_in_range(false);
            leave_range_at = None;
        }
        ir.step(now);
        while let Some(bytes) = ir.poll_pc_bytes() {
            if port.write_all(&bytes).await.is_err() {
                return;
            }
        }
        while let Some(event) = ir.station_mut().poll_event() {
            match &event {
                StationEvent::ObexOpened { .. } => {
                    obex_open = true;
                    leave_range_at = out_of_range_after.map(|after| now + after);
                }
                StationEvent::ObexClosed(_) if obex_open => {
                    let _ = notices.send(event);
                    return;
                }
                _ => {}
            }
            let _ = notices.send(event);
        }
        while let Some(bytes) = ir.station_mut().read_obex() {
            to_obex.extend_from_slice(&bytes);
        }
        let room = ir.station_mut().obex_room();
        let mut deadline = ir.poll_timeout().unwrap_or(now + Duration::from_secs(1));
        // The PC may change its speed while nothing moves: look again soon.
        deadline = deadline.min(now + Duration::from_millis(20));
        if let Some(at) = leave_range_at {
            deadline = deadline.min(at);
        }
        tokio::select! {
            read = port.read(&mut from_pc) => match read {
                Ok(0) | Err(_) => {
                    // Nobody has the PC's end open (yet or any more): wait for it.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(n) => {
                    if let Some(speed) = pc_speed(&speed_fd) {
                        ir.set_pc_speed(speed);
                    }
                    ir.handle_pc_bytes(Instant::now(), &from_pc[..n]);
                }
            },
            read = obex_read.read(&mut from_obex[..room.min(4096)]), if room > 0 => match read {
                Ok(0) | Err(_) => ir.station_mut().close_obex(Instant::now()),
                Ok(n) => ir.station_mut().write_obex(&from_obex[..n]),
            },
            written = obex_write.write(&to_obex), if !to_obex.is_empty() => match written {
                Ok(n) => { to_obex.drain(..n); }
                Err(_) => ir.station_mut().close_obex(Instant::now()),
            },
            command = commands.recv() => match command {
                Some(PhoneCommand::Discover) => ir.station_mut().discover(Instant::now()),
                Some(PhoneCommand::Open(pc)) => ir.station_mut().open_obex(Instant::now(), pc),
                Some(PhoneCommand::Stop) | None => {
                    ir.station_mut().close_obex(Instant::now());
                    linger(&mut port, &speed_fd, &mut ir).await;
                    return;
                }
            },
            _ = tokio::time::sleep_until(deadline.into()) => {
                // Deliveries to the PC happen now: at the speed its tty is set to now.
                if let Some(speed) = pc_speed(&speed_fd) {
                    ir.set_pc_speed(speed);
                }
                ir.handle_timeout(Instant::now());
            }
        }
    }
}

/// Lets the phone's DISC go out and be answered before the task ends.
async fn linger(port: &mut SerialPort, speed_fd: &OwnedFd, ir: &mut IrPhone) {
    let give_up = Instant::now() + Duration::from_millis(1500);
    let mut buffer = vec![0u8; 4096];
    while ir.station_mut().is_linked() && Instant::now() < give_up {
        if let Some(speed) = pc_speed(speed_fd) {
            ir.set_pc_speed(speed);
        }
        ir.step(Instant::now());
        while let Some(bytes) = ir.poll_pc_bytes() {
            if port.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let deadline = ir
            .poll_timeout()
            .unwrap_or(give_up)
            .min(Instant::now() + Duration::from_millis(20));
        tokio::select! {
            read = port.read(&mut buffer) => if let Ok(n @ 1..) = read {
                ir.handle_pc_bytes(Instant::now(), &buffer[..n]);
            },
            _ = tokio::time::sleep_until(deadline.into()) => {
                // Deliveries to the PC happen now: at the speed its tty is set to now.
                if let Some(speed) = pc_speed(speed_fd) {
                    ir.set_pc_speed(speed);
                }
                ir.handle_timeout(Instant::now());
            }
        }
    }
}
