//! The emulated phone plugged in over USB/IP: a TCP listener that `usbip attach -r HOST -b
//! 1-1` imports, after which the kernel's vhci-hcd drives the sans-IO
//! [`crate::emulator::usb::UsbipDevice`] with URBs on the same connection. The phone's OBEX
//! machines (either role) run over an in-memory pipe to the device's SyncML function.
//! Closing the connection is unplugging the phone.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::emulated::{
    cable_modem_for, over_cable, pc_starts, phone_starts, CableRole, EmulateError,
};
use crate::emulator::usb::layout::ObexService;
use crate::emulator::usb::{FunctionId, UsbEvent, UsbLayout, UsbipDevice};
use crate::emulator::{EmulatedPhone, PhoneEvent, SessionReport, SyncRequest};
use crate::machine::Machine;

/// The bus id the device is exported under (`usbip attach -b`).
pub const BUSID: &str = "1-1";

/// Who starts the session once the host has the phone.
pub enum UsbRole {
    /// The phone waits for the PC's notification (`handsync sync --usb`).
    PcStarts(crate::obex::ObexServerConfig),
    /// The phone starts as soon as the host opens its SyncML function (`serve`).
    PhoneStarts(SyncRequest, crate::obex::ObexClientConfig),
}

/// How long the device stays plugged in after its session, for the host to read the last
/// answer and let the function go.
const LINGER: Duration = Duration::from_secs(3);

/// Waits for a `usbip attach` (answering `usbip list` on the way), then runs one session.
pub async fn over_usbip(
    listener: TcpListener,
    layout: UsbLayout,
    phone: EmulatedPhone,
    role: UsbRole,
    silence: Duration,
    cut: UsbCut,
    progress: &mut dyn FnMut(&PhoneEvent),
) -> (EmulatedPhone, Result<SessionReport, EmulateError>) {
    let (socket, device) = match attach(&listener, &layout, silence).await {
        Ok(attached) => attached,
        Err(e) => return (phone, Err(e)),
    };
    progress(&PhoneEvent::Connected);
    // A phone without CDC OBEX (Sony Ericsson) syncs over its modem, switched by AT command.
    let function = if layout
        .obex
        .iter()
        .any(|(_, service)| *service == ObexService::Syncml)
    {
        FunctionId::Syncml
    } else {
        FunctionId::Modem
    };
    let (phone_end, device_end) = tokio::io::duplex(64 * 1024);
    let (active_tx, active_rx) = tokio::sync::oneshot::channel();
    let link = Link { function, cut };
    let carrying = carry(socket, device, device_end, active_tx, link);
    let session = async {
        match role {
            _ if function == FunctionId::Modem => {
                let modem = cable_modem_for(phone.profile());
                let role = match role {
                    UsbRole::PcStarts(_) => CableRole::PcStarts,
                    UsbRole::PhoneStarts(request, _) => CableRole::PhoneStarts(request),
                };
                over_cable(phone_end, modem, phone, role, silence, progress).await
            }
            UsbRole::PcStarts(config) => {
                pc_starts(phone_end, phone, config, silence, progress).await
            }
            UsbRole::PhoneStarts(request, config) => {
                // A phone starts once the PC has opened its SyncML function.
                if active_rx.await.is_err() {
                    return (phone, Err(EmulateError::Closed));
                }
                phone_starts(phone_end, phone, request, config, progress).await
            }
        }
    };
    let (carried, (phone, result)) = tokio::join!(carrying, session);
    if let Err(e) = carried {
        tracing::info!(%e, "USB/IP link ended");
    }
    (phone, result)
}

/// Accepts connections until one imports the device.
async fn attach(
    listener: &TcpListener,
    layout: &UsbLayout,
    silence: Duration,
) -> Result<(TcpStream, UsbipDevice), EmulateError> {
    loop {
        let (mut socket, peer) = tokio::time::timeout(silence, listener.accept())
            .await
            .map_err(|_| EmulateError::TimedOut)??;
        let _ = socket.set_nodelay(true);
        let mut device = UsbipDevice::new(layout.clone(), BUSID);
        let mut buffer = vec![0u8; 4096];
        loop {
            let read = tokio::time::timeout(silence, socket.read(&mut buffer)).await;
            let n = match read {
                Ok(Ok(n)) => n,
                Ok(Err(_)) | Err(_) => 0,
            };
            if n == 0 {
                break; // a `usbip list`, or a peer gone: wait for the next
            }
            device.handle_input(Instant::now(), &buffer[..n]);
            while let Some(bytes) = device.poll_transmit() {
                socket.write_all(&bytes).await?;
            }
            if let Some(UsbEvent::Broken(why)) = device.poll_event() {
                tracing::warn!(%peer, %why, "USB/IP: not a usbip client");
                break;
            }
            if device.is_attached() {
                tracing::info!(%peer, "USB/IP: attached");
                return Ok((socket, device));
            }
        }
    }
}

/// How a session is interrupted on purpose, once the phone has sent some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsbCut {
    Never,
    /// The phone is unplugged: the connection closes (what `usbip detach` does to the host).
    UnplugAfter(usize),
    /// The phone stops answering and stays plugged in, until the host detaches it (`usbip
    /// detach`): a cable pulled out in the middle of a package, at a point a test can choose.
    FreezeAfter(usize),
}

/// Which function carries the phone's bytes, and how the session is cut.
struct Link {
    function: FunctionId,
    cut: UsbCut,
}

/// Moves URBs between the kernel and the device, and the function's bytes between the device
/// and the phone, until the host lets go (or the link drops) after the session.
async fn carry(
    socket: TcpStream,
    mut device: UsbipDevice,
    phone: tokio::io::DuplexStream,
    active: tokio::sync::oneshot::Sender<()>,
    link: Link,
) -> std::io::Result<()> {
    let Link { function, cut } = link;
    let cut_after = match cut {
        UsbCut::Never => usize::MAX,
        UsbCut::UnplugAfter(n) | UsbCut::FreezeAfter(n) => n,
    };
    let mut sent = 0usize;
    let mut frozen = false;
    let (mut from_kernel, mut to_kernel) = socket.into_split();
    let (mut from_phone, mut to_phone) = tokio::io::split(phone);
    let mut active = Some(active);
    let mut urbs = vec![0u8; 96 * 1024];
    let mut phone_bytes = vec![0u8; 16 * 1024];
    let mut phone_done = false;
    let mut linger_until: Option<tokio::time::Instant> = None;
    loop {
        while let Some(bytes) = device.poll_transmit() {
            to_kernel.write_all(&bytes).await?;
        }
        while let Some(event) = device.poll_event() {
            match event {
                UsbEvent::FunctionActive(active_function) if active_function == function => {
                    if let Some(active) = active.take() {
                        let _ = active.send(());
                    }
                }
                UsbEvent::FunctionIdle(idle) if idle == function && phone_done => return Ok(()),
                UsbEvent::Broken(why) => {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why))
                }
                _ => {}
            }
        }
        let for_phone = device.take_from_host(function);
        if !for_phone.is_empty() && !phone_done && !frozen {
            to_phone.write_all(&for_phone).await?;
        }
        if phone_done && device.queued_to_host(function) == 0 && linger_until.is_none() {
            linger_until = Some(tokio::time::Instant::now() + LINGER);
        }
        let room = device.queued_to_host(function) < 64 * 1024;
        let linger = async {
            match linger_until {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = from_kernel.read(&mut urbs) => {
                let n = read?;
                if n == 0 {
                    return Ok(()); // detached: unplugged
                }
                device.handle_input(Instant::now(), &urbs[..n]);
            }
            read = from_phone.read(&mut phone_bytes), if room && !phone_done && !frozen => {
                match read {
                    Ok(0) | Err(_) => phone_done = true,
                    Ok(n) => {
                        let n = n.min(cut_after - sent);
                        device.send_to_host(function, &phone_bytes[..n]);
                        sent += n;
                        if sent >= cut_after {
                            if let UsbCut::FreezeAfter(_) = cut {
                                // Tests read this line, then detach the phone.
                                println!("emulate: frozen after {sent} bytes; waiting to be detached");
                                frozen = true;
                            } else {
                                tracing::info!(sent, "USB/IP: unplugging the phone mid-session");
                                return Ok(());
                            }
                        }
                    }
                }
            }
            _ = linger => return Ok(()),
        }
    }
}
