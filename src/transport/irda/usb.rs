//! IrDA-USB class dongles (interface class FE, subclass 02) through usbfs with nusb: the
//! dongle frames and checks IrLAP frames itself, so this driver only wraps each frame in the
//! class's one-byte header ([`handsync_proto::irda::usb_dongle`]) and keeps bulk IN transfers
//! waiting for what the air delivers.
//!
//! Speed and BOF changes go in a transfer of their own (the header alone) before the frame
//! that needs them: the class definition applies a header's change after its frame, some
//! dongles before it, and a header-only transfer means the same to both.
//!
//! Listing reads sysfs (no permission needed); opening needs write access to the device node,
//! as for phones ([`crate::transport::usb`]).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use handsync_proto::irda::usb_dongle::{
    self as class, bofs_at_least, parse_inbound, Capabilities, ClassDescriptor, IrdaInterface,
    OutboundHeader, MAX_FRAME,
};
use handsync_proto::irda::{Received, Transmit, CONTACT_SPEED};
use handsync_proto::usb::{Configuration, DeviceDescriptor, TransferType};
use nusb::transfer::{Buffer, Bulk, ControlIn, ControlOut, ControlType, In, Out, Recipient};

use crate::transport::usb::{holders_of, is_unplugged, plugged_in, UsbError, UsbSelector};

/// Dongles Linux's irda-usb driver knew by id: early parts that do not quite follow the class
/// (some without its interface class), which lose frames of windows larger than one.
const ONE_FRAME_WINDOW: [(u16, u16); 4] = [
    (0x09c4, 0x0011), // ACTiSYS ACT-IR2000U
    (0x4428, 0x0012), // IBM UltraPort IrDA
    (0x050f, 0x0180), // KC Technology KC-180
    (0x08e9, 0x0100), // Extended Systems XTNDAccess (ESI-9685)
];

/// SigmaTel's STIr4210/4220/4116: class dongles once a firmware patch is downloaded, and
/// then with a three-byte header.
const SIGMATEL: [(u16, u16); 3] = [(0x066f, 0x4210), (0x066f, 0x4220), (0x066f, 0x4116)];

/// What one attached dongle is.
#[derive(Debug, Clone)]
pub struct UsbDongleInfo {
    /// sysfs name: bus and port path (`1-1`).
    pub port: String,
    pub vendor_id: u16,
    pub product_id: u16,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    /// /dev/bus/usb/BBB/DDD
    pub node: PathBuf,
    pub interface: IrdaInterface,
    /// Needs a vendor firmware patch this driver does not download.
    pub needs_firmware: bool,
    info: nusb::DeviceInfo,
}

impl UsbDongleInfo {
    pub fn label(&self) -> String {
        let name = self
            .product
            .clone()
            .or_else(|| self.manufacturer.clone())
            .unwrap_or_else(|| "IrDA-USB dongle".to_string());
        format!(
            "{name} ({:04x}:{:04x} on {})",
            self.vendor_id, self.product_id, self.port
        )
    }

    fn matches(&self, selector: &UsbSelector) -> bool {
        match selector {
            UsbSelector::Ids { vendor, product } => {
                self.vendor_id == *vendor && self.product_id == *product
            }
            UsbSelector::Port(port) => &self.port == port,
        }
    }
}

/// Why a USB dongle could not be used.
#[derive(Debug)]
pub enum UsbDongleError {
    Usb(UsbError),
    /// The selector names nothing: what to write instead.
    Selector(String),
    NeedsFirmware(String),
    /// The class descriptor could not be read or is broken.
    ClassDescriptor(String),
    /// The stack asked for a speed the dongle does not offer.
    Speed {
        speed: u32,
        offered: Vec<u32>,
    },
    Header(class::HeaderError),
    FrameTooLong(usize),
    /// The dongle took no transfer in time (it NAKs while its IR side is stuck).
    Stuck,
    Transfer(String),
}

impl std::fmt::Display for UsbDongleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsbDongleError::Usb(UsbError::Unplugged) => {
                f.write_str("USB: the IrDA dongle was unplugged")
            }
            UsbDongleError::Usb(UsbError::PermissionDenied { node }) => write!(
                f,
                "USB: no permission to open the IrDA dongle at {}: give your user access to it \
                 (a udev rule with TAG+=\"uaccess\" for its VID:PID), then plug it in again",
                node.display()
            ),
            UsbDongleError::Usb(e) => e.fmt(f),
            UsbDongleError::Selector(why) => f.write_str(why),
            UsbDongleError::NeedsFirmware(label) => write!(
                f,
                "USB: {label} is a SigmaTel STIr421x, which needs SigmaTel's firmware patch \
                 (4210xxxx.sb) and a three-byte header; handsync does not drive it: use a \
                 class-compliant dongle or a serial one"
            ),
            UsbDongleError::ClassDescriptor(why) => {
                write!(f, "USB: the dongle's IrDA class descriptor: {why}")
            }
            UsbDongleError::Speed { speed, offered } => write!(
                f,
                "USB: the dongle cannot do {speed} bps (it offers {offered:?})"
            ),
            UsbDongleError::Header(e) => write!(f, "USB: {e}"),
            UsbDongleError::FrameTooLong(length) => write!(
                f,
                "USB: a {length}-byte frame is more than an IrDA-USB dongle carries ({MAX_FRAME})"
            ),
            UsbDongleError::Stuck => f.write_str(
                "USB: the IrDA dongle stopped taking frames (unplug it and plug it in again)",
            ),
            UsbDongleError::Transfer(why) => write!(f, "USB: IrDA dongle transfer: {why}"),
        }
    }
}

impl std::error::Error for UsbDongleError {}

impl From<UsbError> for UsbDongleError {
    fn from(e: UsbError) -> Self {
        UsbDongleError::Usb(e)
    }
}

fn read_attribute(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The active configuration's descriptor set (the first when none is active) from sysfs's
/// `descriptors` file: the device descriptor, then every configuration.
fn active_configuration(raw: &[u8], active: u8) -> Option<(Configuration, &[u8])> {
    let mut rest = raw.get(DeviceDescriptor::LENGTH..)?;
    let mut chosen = None;
    while rest.len() >= 9 {
        let total = usize::from(u16::from_le_bytes([rest[2], rest[3]])).max(9);
        let Ok(configuration) = Configuration::parse(rest) else {
            break;
        };
        let is_active = configuration.value == active;
        let bytes = &rest[..total.min(rest.len())];
        if chosen.is_none() || is_active {
            chosen = Some((configuration, bytes));
        }
        if is_active || total > rest.len() {
            break;
        }
        rest = &rest[total..];
    }
    chosen
}

/// The IrDA interface of a configuration: by class, or for a dongle known by id, the first
/// interface with a bulk pair.
fn irda_interface(
    configuration: &Configuration,
    raw: &[u8],
    ids: (u16, u16),
) -> Option<IrdaInterface> {
    if let Ok(interface) = class::find_interface(configuration, raw) {
        return Some(interface);
    }
    if !ONE_FRAME_WINDOW.contains(&ids) && !SIGMATEL.contains(&ids) {
        return None;
    }
    configuration.settings.iter().find_map(|setting| {
        let bulk = |want_in: bool| {
            setting
                .endpoints
                .iter()
                .find(|e| e.transfer == TransferType::Bulk && e.is_in() == want_in)
                .copied()
        };
        Some(IrdaInterface {
            number: setting.number,
            alternate: setting.alternate,
            bulk_in: bulk(true)?,
            bulk_out: bulk(false)?,
            embedded_descriptor: None,
        })
    })
}

fn describe(info: nusb::DeviceInfo) -> Option<UsbDongleInfo> {
    let sysfs = info.sysfs_path().to_path_buf();
    let port = sysfs.file_name()?.to_string_lossy().into_owned();
    let raw = std::fs::read(sysfs.join("descriptors")).ok()?;
    let device = DeviceDescriptor::parse(&raw).ok()?;
    let active: u8 = read_attribute(&sysfs, "bConfigurationValue")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (configuration, bytes) = active_configuration(&raw, active)?;
    let ids = (device.vendor_id, device.product_id);
    let interface = irda_interface(&configuration, bytes, ids)?;
    Some(UsbDongleInfo {
        node: PathBuf::from(format!(
            "/dev/bus/usb/{:03}/{:03}",
            info.busnum(),
            info.device_address()
        )),
        port,
        vendor_id: device.vendor_id,
        product_id: device.product_id,
        manufacturer: info.manufacturer_string().map(str::to_string),
        product: info.product_string().map(str::to_string),
        interface,
        needs_firmware: SIGMATEL.contains(&ids),
        info,
    })
}

/// The IrDA-USB dongles plugged in now.
pub fn dongles() -> Result<Vec<UsbDongleInfo>, UsbError> {
    let mut found = plugged_in(describe)?;
    found.sort_by(|a, b| a.port.cmp(&b.port));
    Ok(found)
}

/// The dongle `selector` names (`VID:PID` or `BUS-PORT`), or the first plugged in.
pub fn choose(selector: Option<&str>) -> Result<UsbDongleInfo, UsbDongleError> {
    let selector: Option<UsbSelector> = selector
        .map(|text| text.parse().map_err(UsbDongleError::Selector))
        .transpose()?;
    dongles()?
        .into_iter()
        .find(|d| selector.as_ref().is_none_or(|s| d.matches(s)))
        .ok_or_else(|| {
            UsbDongleError::Usb(UsbError::NotFound(match &selector {
                Some(UsbSelector::Ids { vendor, product }) => {
                    format!("no IrDA dongle {vendor:04x}:{product:04x} is plugged in")
                }
                Some(UsbSelector::Port(port)) => {
                    format!("no IrDA dongle is plugged in at {port}")
                }
                None => "no IrDA-USB dongle is plugged in".to_string(),
            }))
        })
}

fn open_error(dongle: &UsbDongleInfo, what: &str, e: nusb::Error) -> UsbDongleError {
    UsbDongleError::Usb(match e.kind() {
        nusb::ErrorKind::PermissionDenied => UsbError::PermissionDenied {
            node: dongle.node.clone(),
        },
        nusb::ErrorKind::Busy => UsbError::Busy {
            what: format!("{what} of {}", dongle.label()),
            holders: holders_of(&dongle.node),
        },
        nusb::ErrorKind::Disconnected => UsbError::Unplugged,
        _ => UsbError::Other(format!("{what} of {}: {e}", dongle.label())),
    })
}

fn transfer_error(e: nusb::transfer::TransferError) -> UsbDongleError {
    match e {
        nusb::transfer::TransferError::Disconnected => UsbDongleError::Usb(UsbError::Unplugged),
        other => UsbDongleError::Transfer(other.to_string()),
    }
}

/// IN transfers kept waiting: one being read while the dongle fills the next.
const RX_QUEUE: usize = 2;
/// How long an OUT transfer may wait: a 2 KiB frame takes 2.2 s at 9600 bps.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
const CONTROL_TIMEOUT: Duration = Duration::from_millis(500);

/// An IrDA-USB dongle, open and claimed.
pub struct UsbDongle {
    label: String,
    interface: nusb::Interface,
    bulk_in: nusb::Endpoint<Bulk, In>,
    bulk_out: nusb::Endpoint<Bulk, Out>,
    /// What an IN transfer asks for: the header and the largest frame, in whole packets.
    read_size: usize,
    speed: u32,
    extra_bofs: Option<u16>,
    capabilities: Capabilities,
    /// The IN pipe stalled: cleared before the next read.
    in_halted: bool,
}

impl UsbDongle {
    /// Opens the dongle `selector` names (`VID:PID`, `BUS-PORT`) or the first one, and sets it
    /// to the contact speed.
    pub async fn open(selector: Option<&str>) -> Result<UsbDongle, UsbDongleError> {
        let dongle = choose(selector)?;
        UsbDongle::open_dongle(&dongle).await
    }

    pub async fn open_dongle(dongle: &UsbDongleInfo) -> Result<UsbDongle, UsbDongleError> {
        if dongle.needs_firmware {
            return Err(UsbDongleError::NeedsFirmware(dongle.label()));
        }
        let device = dongle
            .info
            .open()
            .await
            .map_err(|e| open_error(dongle, "the device", e))?;
        let number = dongle.interface.number;
        let interface = device
            .detach_and_claim_interface(number)
            .await
            .map_err(|e| open_error(dongle, &format!("interface {number}"), e))?;
        if dongle.interface.alternate != 0 {
            interface
                .set_alt_setting(dongle.interface.alternate)
                .await
                .map_err(|e| open_error(dongle, "the IrDA setting", e))?;
        }
        let descriptor = read_class_descriptor(&interface, dongle).await?;
        let mut capabilities = descriptor.capabilities();
        if ONE_FRAME_WINDOW.contains(&(dongle.vendor_id, dongle.product_id)) {
            capabilities.limit_window_to_one();
        }
        let mut bulk_in = interface
            .endpoint::<Bulk, In>(dongle.interface.bulk_in.address)
            .map_err(|e| open_error(dongle, "the bulk IN endpoint", e))?;
        let mut bulk_out = interface
            .endpoint::<Bulk, Out>(dongle.interface.bulk_out.address)
            .map_err(|e| open_error(dongle, "the bulk OUT endpoint", e))?;
        // A previous program may have left a pipe halted.
        let _ = bulk_in.clear_halt().await;
        let _ = bulk_out.clear_halt().await;
        let packet = bulk_in.max_packet_size().max(1);
        let read_size = (1 + MAX_FRAME).div_ceil(packet) * packet;
        let mut dongle = UsbDongle {
            label: dongle.label(),
            interface,
            bulk_in,
            bulk_out,
            read_size,
            speed: 0,
            extra_bofs: None,
            capabilities,
            in_halted: false,
        };
        dongle.fill_reads();
        dongle.set_speed(CONTACT_SPEED).await?;
        tracing::info!(dongle = %dongle.label, "IrDA: USB dongle open");
        Ok(dongle)
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// What the dongle supports (from its class descriptor, less what its quirks forbid):
    /// the stack negotiates only this.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The speed the dongle is at.
    pub fn speed(&self) -> u32 {
        self.speed
    }

    /// Changes the dongle's speed now (a header-only transfer).
    pub async fn set_speed(&mut self, speed: u32) -> Result<(), UsbDongleError> {
        self.change(speed, self.extra_bofs).await
    }

    /// Asks the dongle to look for traffic; it answers with the media-busy bit of an IN
    /// header, which [`UsbDongle::recv`] reports as activity.
    pub async fn check_media_busy(&mut self) -> Result<(), UsbDongleError> {
        let setup = class::check_media_busy(self.interface.interface_number());
        self.interface
            .control_out(
                ControlOut {
                    control_type: ControlType::Class,
                    recipient: Recipient::Interface,
                    request: setup.request,
                    value: setup.value,
                    index: setup.index,
                    data: &[],
                },
                CONTROL_TIMEOUT,
            )
            .await
            .map_err(transfer_error)
    }

    /// Puts one frame on the air at `transmit.speed`, with its BOFs. Not cancel-safe: a
    /// frame is either handed over whole or the call fails.
    pub async fn send(&mut self, transmit: &Transmit) -> Result<(), UsbDongleError> {
        if transmit.frame.len() > MAX_FRAME {
            return Err(UsbDongleError::FrameTooLong(transmit.frame.len()));
        }
        // BOFs matter only at SIR speeds; FIR dongles take none.
        let bofs = (transmit.speed <= 115_200).then(|| bofs_at_least(transmit.extra_bofs));
        let bofs = bofs.filter(|b| self.capabilities.additional_bofs.contains(b));
        if transmit.speed != self.speed || (bofs.is_some() && bofs != self.extra_bofs) {
            self.change(transmit.speed, bofs.or(self.extra_bofs))
                .await?;
        }
        let transfer = OutboundHeader::UNCHANGED
            .transfer(&transmit.frame)
            .map_err(UsbDongleError::Header)?;
        self.write(transfer).await
    }

    /// The next frame from the air, or activity (media busy). Cancel-safe: IN transfers stay
    /// submitted, and a completed one is taken and its frame returned without waiting.
    pub async fn recv(&mut self) -> io::Result<Received> {
        loop {
            if self.in_halted {
                self.bulk_in.clear_halt().await.map_err(io::Error::other)?;
                self.in_halted = false;
            }
            self.fill_reads();
            let completion = self.bulk_in.next_complete().await;
            // From here to the return nothing waits, so a cancelled call loses nothing.
            match completion.status {
                Ok(()) => {}
                Err(nusb::transfer::TransferError::Stall) => {
                    self.in_halted = true;
                    return Err(io::Error::other("the dongle stalled its IN pipe"));
                }
                Err(nusb::transfer::TransferError::Cancelled) => continue,
                Err(e) => {
                    let error = io::Error::from(e);
                    if is_unplugged(&error) {
                        return Err(error);
                    }
                    // A damaged transfer (babble, CRC on the bus): the air was busy.
                    tracing::debug!(%error, "IrDA: USB IN transfer failed");
                    self.submit_read(completion.buffer);
                    return Ok(Received::Activity);
                }
            }
            let received = match parse_inbound(&completion.buffer) {
                Ok(inbound) => match inbound.frame {
                    Some(frame) => Some(Received::Frame(frame.to_vec())),
                    None => inbound.header.media_busy.then_some(Received::Activity),
                },
                Err(e) => {
                    tracing::debug!(%e, "IrDA: USB IN transfer dropped");
                    None
                }
            };
            self.submit_read(completion.buffer);
            if let Some(received) = received {
                return Ok(received);
            }
        }
    }

    fn submit_read(&mut self, mut buffer: Buffer) {
        buffer.clear();
        buffer.set_requested_len(self.read_size);
        if self.bulk_in.pending() < RX_QUEUE {
            self.bulk_in.submit(buffer);
        }
    }

    fn fill_reads(&mut self) {
        while self.bulk_in.pending() < RX_QUEUE {
            let buffer = self.bulk_in.allocate(self.read_size);
            self.bulk_in.submit(buffer);
        }
    }

    /// A header-only transfer changing speed and BOFs.
    async fn change(&mut self, speed: u32, bofs: Option<u16>) -> Result<(), UsbDongleError> {
        if !self.capabilities.supports_speed(speed) {
            return Err(UsbDongleError::Speed {
                speed,
                offered: self.capabilities.speeds.clone(),
            });
        }
        let header = OutboundHeader {
            speed: Some(speed),
            additional_bofs: bofs,
        };
        let transfer = header.transfer(&[]).map_err(UsbDongleError::Header)?;
        self.write(transfer).await?;
        self.speed = speed;
        self.extra_bofs = bofs;
        Ok(())
    }

    /// One OUT transfer, ended by a zero-length packet when it fills its last packet.
    async fn write(&mut self, transfer: Vec<u8>) -> Result<(), UsbDongleError> {
        let packet = self.bulk_out.max_packet_size().max(1);
        let needs_end = transfer.len() % packet == 0;
        self.bulk_out.submit(Buffer::from(transfer));
        if needs_end {
            self.bulk_out.submit(Buffer::new(0));
        }
        let waited = tokio::time::timeout(SEND_TIMEOUT, async {
            let mut status = Ok(());
            while self.bulk_out.pending() > 0 {
                let completion = self.bulk_out.next_complete().await;
                status = status.and(completion.status);
            }
            status
        })
        .await;
        match waited {
            Ok(status) => status.map_err(transfer_error),
            Err(_) => {
                self.bulk_out.cancel_all();
                while self.bulk_out.pending() > 0 {
                    let _ = self.bulk_out.next_complete().await;
                }
                Err(UsbDongleError::Stuck)
            }
        }
    }
}

/// Reads the class descriptor by its class request; a dongle that refuses it may carry one
/// in its configuration, as the drafts of the class had it.
async fn read_class_descriptor(
    interface: &nusb::Interface,
    dongle: &UsbDongleInfo,
) -> Result<ClassDescriptor, UsbDongleError> {
    let setup = class::get_class_descriptor(dongle.interface.number);
    let read = interface
        .control_in(
            ControlIn {
                control_type: ControlType::Class,
                recipient: Recipient::Interface,
                request: setup.request,
                value: setup.value,
                index: setup.index,
                length: setup.length,
            },
            CONTROL_TIMEOUT,
        )
        .await;
    match (read, &dongle.interface.embedded_descriptor) {
        (Ok(bytes), _) => ClassDescriptor::parse(&bytes)
            .map_err(|e| UsbDongleError::ClassDescriptor(e.to_string())),
        (Err(nusb::transfer::TransferError::Disconnected), _) => {
            Err(UsbDongleError::Usb(UsbError::Unplugged))
        }
        (Err(_), Some(embedded)) => embedded
            .clone()
            .map_err(|e| UsbDongleError::ClassDescriptor(e.to_string())),
        (Err(e), None) => Err(UsbDongleError::ClassDescriptor(format!(
            "the dongle refused the request ({e}) and its configuration has none"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sysfs's `descriptors`: a device descriptor, then configurations 1 and 2; only the
    /// second has the IrDA interface.
    fn descriptors_file() -> Vec<u8> {
        let device = DeviceDescriptor {
            usb_version: 0x0110,
            class: 0,
            subclass: 0,
            protocol: 0,
            max_packet_size_0: 64,
            vendor_id: 0x1234,
            product_id: 0x5678,
            device_version: 0x0100,
            manufacturer_string: 0,
            product_string: 0,
            serial_string: 0,
            configurations: 2,
        };
        let configuration = |value: u8, class: u8| {
            let mut out = vec![9, 2, 32, 0, 1, value, 0, 0x80, 50];
            out.extend([9, 4, 0, 0, 2, class, 0x02, 0, 0]);
            out.extend([7, 5, 0x81, 2, 64, 0, 0]);
            out.extend([7, 5, 0x02, 2, 64, 0, 0]);
            out
        };
        let mut raw = device.to_bytes().to_vec();
        raw.extend(configuration(1, 0xff));
        raw.extend(configuration(2, 0xfe));
        raw
    }

    #[test]
    fn the_active_configuration_is_where_the_interface_is_looked_for() {
        let raw = descriptors_file();
        let (configuration, bytes) = active_configuration(&raw, 2).unwrap();
        assert_eq!(configuration.value, 2);
        let interface = irda_interface(&configuration, bytes, (0x1234, 0x5678)).unwrap();
        assert_eq!(interface.bulk_out.address, 0x02);
        // Unconfigured: the first configuration, which has no IrDA interface.
        let (configuration, bytes) = active_configuration(&raw, 0).unwrap();
        assert_eq!(configuration.value, 1);
        assert!(irda_interface(&configuration, bytes, (0x1234, 0x5678)).is_none());
        // ... unless the dongle is one known by id.
        let known = irda_interface(&configuration, bytes, (0x09c4, 0x0011)).unwrap();
        assert_eq!(known.bulk_in.address, 0x81);
        assert!(active_configuration(&raw[..10], 0).is_none());
    }

    #[test]
    fn errors_tell_the_user_what_to_do() {
        let text = UsbDongleError::NeedsFirmware("STIr4210 (066f:4210 on 1-1)".into()).to_string();
        assert!(text.contains("firmware"), "{text}");
        let text = UsbDongleError::Usb(UsbError::PermissionDenied {
            node: "/dev/bus/usb/001/002".into(),
        })
        .to_string();
        assert!(
            text.contains("/dev/bus/usb/001/002") && text.contains("uaccess"),
            "{text}"
        );
        let text = UsbDongleError::Speed {
            speed: 4_000_000,
            offered: vec![9600, 115_200],
        }
        .to_string();
        assert!(
            text.contains("4000000") && text.contains("115200"),
            "{text}"
        );
        assert!(matches!(
            choose(Some("nonsense")),
            Err(UsbDongleError::Selector(_))
        ));
    }
}
