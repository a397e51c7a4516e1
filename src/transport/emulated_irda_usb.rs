//! The phone emulator in front of an emulated IrDA-USB dongle: the dongle
//! ([`crate::emulator::irda::usb_dongle::UsbDongle`], an ACTiSYS ACT-IR2000U) is served over
//! USB/IP on a TCP listener, so `usbip attach -r HOST -b 1-1` plugs it into the kernel's USB
//! stack for `handsync --irda usb`; its infrared side reaches the phone's station across the
//! simulated air ([`crate::emulator::irda::usb_phone::UsbIrPhone`]). The phone's OBEX side
//! runs the usual drivers ([`super::emulated::pc_starts`], [`super::emulated::phone_starts`])
//! over an in-memory pipe, as on the pty ([`super::emulated_irda`]). Closing the connection
//! after the session unplugs the dongle.

use std::time::{Duration, Instant};

use handsync_proto::irda::station::StationEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::emulated::EmulateError;
use super::emulated_irda::{play_role, station_for, AirSettings, IrdaRole, PhoneCommand};
use crate::emulator::irda::usb_dongle::{DongleEvent, DongleModel, UsbDongle};
use crate::emulator::irda::usb_phone::UsbIrPhone;
use crate::emulator::{EmulatedPhone, PhoneEvent, SessionReport};

/// The bus id the dongle is exported under (`usbip attach -b`).
pub const BUSID: &str = "1-1";

/// OBEX bytes buffered between the phone's station and its OBEX driver, each way.
const OBEX_PIPE: usize = 64 * 1024;
/// How long the dongle stays plugged in after the session, for the link's goodbyes.
const LINGER: Duration = Duration::from_millis(1500);

/// Waits for a `usbip attach` of the dongle (answering `usbip list` on the way), then runs
/// one session of `phone` in front of it.
pub async fn over_irda_usbip(
    listener: TcpListener,
    phone: EmulatedPhone,
    role: IrdaRole,
    settings: AirSettings,
    silence: Duration,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    let make = || {
        let station = station_for(&phone, &role);
        let dongle = UsbDongle::new(DongleModel::act_ir2000u(), BUSID);
        UsbIrPhone::new(dongle, station, settings.air.clone())
    };
    let (socket, ir) = match attach(&listener, make, silence).await {
        Ok(attached) => attached,
        Err(e) => return (phone, Err(e)),
    };
    let (obex, station_side) = tokio::io::duplex(OBEX_PIPE);
    let (notices_tx, mut notices) = mpsc::unbounded_channel();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(drive(
        socket,
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
    if let Ok(Err(e)) = task.await {
        tracing::info!(%e, "USB/IP link of the IrDA dongle ended");
    }
    (phone, result)
}

/// Accepts connections until one imports the dongle; each gets a fresh dongle and phone.
async fn attach(
    listener: &TcpListener,
    make: impl Fn() -> UsbIrPhone,
    silence: Duration,
) -> Result<(TcpStream, UsbIrPhone), EmulateError> {
    loop {
        let (mut socket, peer) = tokio::time::timeout(silence, listener.accept())
            .await
            .map_err(|_| EmulateError::TimedOut)??;
        let _ = socket.set_nodelay(true);
        let mut ir = make();
        let mut buffer = vec![0u8; 4096];
        loop {
            let n = match tokio::time::timeout(silence, socket.read(&mut buffer)).await {
                Ok(Ok(n)) => n,
                Ok(Err(_)) | Err(_) => 0,
            };
            if n == 0 {
                break; // a `usbip list`, or a peer gone: wait for the next
            }
            ir.handle_usbip(Instant::now(), &buffer[..n]);
            while let Some(bytes) = ir.poll_usbip() {
                socket.write_all(&bytes).await?;
            }
            let mut attached = false;
            let mut broken = None;
            while let Some(event) = ir.poll_dongle_event() {
                match event {
                    DongleEvent::Attached => attached = true,
                    DongleEvent::Broken(why) => broken = Some(why),
                    _ => {}
                }
            }
            if let Some(why) = broken {
                tracing::warn!(%peer, %why, "USB/IP: not a usbip client");
                break;
            }
            if attached {
                tracing::info!(%peer, "USB/IP: IrDA dongle attached");
                return Ok((socket, ir));
            }
        }
    }
}

/// Moves URBs between the kernel and the dongle, frames across the air, and OBEX bytes
/// between the phone's station and its driver, until told to stop; then lingers for the
/// link's goodbyes and unplugs (returns, closing the connection).
async fn drive(
    socket: TcpStream,
    mut ir: UsbIrPhone,
    obex: DuplexStream,
    notices: mpsc::UnboundedSender<StationEvent>,
    mut commands: mpsc::UnboundedReceiver<PhoneCommand>,
    out_of_range_after: Option<Duration>,
) -> std::io::Result<()> {
    let (mut from_kernel, mut to_kernel) = socket.into_split();
    let (mut obex_read, mut obex_write) = tokio::io::split(obex);
    let mut urbs = vec![0u8; 96 * 1024];
    let mut from_obex = vec![0u8; 4096];
    let mut to_obex: Vec<u8> = Vec::new();
    let mut leave_range_at: Option<Instant> = None;
    let mut obex_closed = false;
    let mut obex_ended = false;
    let mut unplug_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if leave_range_at.is_some_and(|at| now >= at) {
            ir.air_mut().set_in_range(false);
            leave_range_at = None;
        }
        ir.step(now);
        while let Some(bytes) = ir.poll_usbip() {
            to_kernel.write_all(&bytes).await?;
        }
        while let Some(event) = ir.poll_dongle_event() {
            if let DongleEvent::Broken(why) = event {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
            }
        }
        while let Some(event) = ir.station_mut().poll_event() {
            match &event {
                StationEvent::ObexOpened { .. } => {
                    leave_range_at = out_of_range_after.map(|after| now + after);
                }
                StationEvent::ObexClosed(_) => obex_closed = true,
                _ => {}
            }
            let _ = notices.send(event);
        }
        while let Some(bytes) = ir.station_mut().read_obex() {
            to_obex.extend_from_slice(&bytes);
        }
        // The link is gone: once its last bytes are handed over, the phone's OBEX driver
        // sees its stream end (a DISCONNECT the PC answered as it left ends there).
        if obex_closed && !obex_ended && to_obex.is_empty() {
            let _ = obex_write.shutdown().await;
            obex_ended = true;
        }
        if let Some(at) = unplug_at {
            if now >= at || !ir.station_mut().is_linked() {
                return Ok(());
            }
        }
        let room = ir.station_mut().obex_room();
        let mut deadline = ir.poll_timeout().unwrap_or(now + Duration::from_secs(1));
        if let Some(at) = leave_range_at.into_iter().chain(unplug_at).min() {
            deadline = deadline.min(at);
        }
        tokio::select! {
            read = from_kernel.read(&mut urbs) => {
                let n = read?;
                if n == 0 {
                    return Ok(()); // detached
                }
                ir.handle_usbip(Instant::now(), &urbs[..n]);
            }
            read = obex_read.read(&mut from_obex[..room.min(4096)]), if room > 0 && !obex_closed => match read {
                Ok(0) | Err(_) => ir.station_mut().close_obex(Instant::now()),
                Ok(n) => ir.station_mut().write_obex(&from_obex[..n]),
            },
            written = obex_write.write(&to_obex), if !to_obex.is_empty() && !obex_ended => match written {
                Ok(n) => { to_obex.drain(..n); }
                Err(_) => {
                    to_obex.clear();
                    ir.station_mut().close_obex(Instant::now());
                }
            },
            command = commands.recv(), if unplug_at.is_none() => match command {
                Some(PhoneCommand::Discover) => ir.station_mut().discover(Instant::now()),
                Some(PhoneCommand::Open(pc)) => ir.station_mut().open_obex(Instant::now(), pc),
                Some(PhoneCommand::Stop) | None => {
                    ir.station_mut().close_obex(Instant::now());
                    unplug_at = Some(Instant::now() + LINGER);
                }
            },
            _ = tokio::time::sleep_until(deadline.into()) => ir.handle_timeout(Instant::now()),
        }
    }
}
