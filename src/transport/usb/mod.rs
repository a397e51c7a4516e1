//! Phones on USB through the kernel's host stack (usbfs), with nusb: pure Rust on usbfs and
//! sysfs, so nothing to install (rusb would need libusb and, for hotplug, libudev), async
//! transfers tokio drives, and kernel drivers detached on claim.
//!
//! A phone is found by the functions its descriptors declare (see
//! [`handsync_proto::usb`]): CDC OBEX functions are claimed and driven here; a phone that only
//! offers a CDC ACM modem is left to the kernel's cdc_acm driver and the serial transport,
//! which switches it to OBEX with its maker's AT command.
//!
//! Descriptors and names come from sysfs, readable by anyone: listing needs no permission,
//! opening a phone needs write access to its /dev/bus/usb node (the udev rules grant it to
//! the user at the seat).

pub mod listen;
mod pipe;

use std::path::{Path, PathBuf};

use handsync_proto::usb::{maker, syncml_rank, Configuration, DeviceDescriptor, ObexFunction};
use nusb::transfer::{Bulk, In, Out};
use nusb::MaybeFuture;

pub use pipe::ObexPipe;

use super::obex::{call_phone, CallError, CallOptions, CallReport};
use super::sessions::HubHandle;

/// Names the wire in session records and logs.
pub const TRANSPORT: &str = "obex-usb";

/// How a user names a phone on the command line: its ids or where it is plugged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbSelector {
    /// VID:PID in hex (`0421:0428`).
    Ids { vendor: u16, product: u16 },
    /// The port path as sysfs names it (`1-1`, `3-1.4`).
    Port(String),
}

impl std::str::FromStr for UsbSelector {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Some((vendor, product)) = text.split_once(':') {
            let hex = |part: &str, at: usize| {
                u16::from_str_radix(part, 16)
                    .ok()
                    .filter(|_| (1..=4).contains(&part.len()))
                    .ok_or_else(|| {
                        format!("{text:?}: at character {}: {part:?} is not a 4-digit hex id (VID:PID, e.g. 0421:0428)", at + 1)
                    })
            };
            return Ok(UsbSelector::Ids {
                vendor: hex(vendor, 0)?,
                product: hex(product, vendor.len() + 1)?,
            });
        }
        let valid = text.split_once('-').is_some_and(|(bus, ports)| {
            !bus.is_empty()
                && bus.bytes().all(|b| b.is_ascii_digit())
                && !ports.is_empty()
                && ports
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
        if valid {
            Ok(UsbSelector::Port(text.to_string()))
        } else {
            Err(format!(
                "{text:?}: say VID:PID (0421:0428) or BUS-PORT as `handsync devices --usb` shows it (1-1, 3-1.4)"
            ))
        }
    }
}

/// What one attached phone offers.
#[derive(Debug, Clone)]
pub struct UsbPhone {
    /// sysfs name: bus and port path (`1-1`).
    pub port: String,
    pub vendor_id: u16,
    pub product_id: u16,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub obex: Vec<NamedObex>,
    pub modems: Vec<Modem>,
    /// CDC OBEX interfaces whose layout is broken, with why.
    pub unusable: Vec<String>,
    /// /dev/bus/usb/BBB/DDD
    pub node: PathBuf,
    info: nusb::DeviceInfo,
}

#[derive(Debug, Clone)]
pub struct NamedObex {
    pub function: ObexFunction,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Modem {
    pub control_interface: u8,
    pub name: Option<String>,
    /// The tty the kernel's cdc_acm made of it, if bound.
    pub tty: Option<PathBuf>,
}

impl UsbPhone {
    pub fn label(&self) -> String {
        let name = match (&self.manufacturer, &self.product) {
            (_, Some(product)) => product.clone(),
            (Some(maker), None) => maker.clone(),
            (None, None) => maker(self.vendor_id).unwrap_or("USB device").to_string(),
        };
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

    /// The OBEX functions in the order to try them for SyncML.
    pub fn syncml_candidates(&self) -> Vec<&NamedObex> {
        let mut candidates: Vec<&NamedObex> = self.obex.iter().collect();
        candidates.sort_by_key(|f| syncml_rank(f.name.as_deref()));
        candidates
    }
}

/// Why a USB phone could not be reached.
#[derive(Debug)]
pub enum UsbError {
    /// The machine has no USB (no /sys/bus/usb) or listing failed.
    NoUsb(String),
    NotFound(String),
    Ambiguous(Vec<String>),
    PermissionDenied {
        node: PathBuf,
    },
    Busy {
        what: String,
        holders: Vec<String>,
    },
    Unplugged,
    Other(String),
}

impl std::fmt::Display for UsbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsbError::NoUsb(why) => write!(f, "USB: {why}"),
            UsbError::NotFound(what) => write!(f, "USB: {what}"),
            UsbError::Ambiguous(phones) => write!(
                f,
                "USB: several phones are plugged in; say which with --usb VID:PID or BUS-PORT: {}",
                phones.join("; ")
            ),
            UsbError::PermissionDenied { node } => write!(
                f,
                "USB: no permission to open {}: install handsync's udev rules \
                 (sudo install -m644 udev/70-handsync-usb.rules /etc/udev/rules.d/ && sudo udevadm \
                 control --reload), then plug the phone in again",
                node.display()
            ),
            UsbError::Busy { what, holders } if holders.is_empty() => {
                write!(f, "USB: {what} is in use by another program")
            }
            UsbError::Busy { what, holders } => {
                write!(f, "USB: {what} is in use by {}", holders.join(", "))?;
                if holders.iter().any(|h| h.starts_with("handsync ")) {
                    // Most often the daemon, which serves plugged phones itself.
                    f.write_str(
                        " (handsync serve serves plugged phones: start the sync on the phone, \
                         or let serve start it with --usb-sync-on-plug)",
                    )
                } else {
                    f.write_str(" (stop it, or wait until it is done)")
                }
            }
            UsbError::Unplugged => f.write_str("USB: the phone was unplugged"),
            UsbError::Other(why) => write!(f, "USB: {why}"),
        }
    }
}

impl std::error::Error for UsbError {}

fn read_attribute(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The tty cdc_acm made of interface `number` of the device at `sysfs`.
fn modem_tty(sysfs: &Path, port: &str, configuration: u8, number: u8) -> Option<PathBuf> {
    let interface = sysfs
        .join(format!("{port}:{configuration}.{number}"))
        .join("tty");
    let name = std::fs::read_dir(interface).ok()?.next()?.ok()?.file_name();
    Some(Path::new("/dev").join(name))
}

/// Reads one device's descriptors from sysfs and keeps it if it offers a phone function.
fn describe(info: nusb::DeviceInfo) -> Option<UsbPhone> {
    let sysfs = info.sysfs_path().to_path_buf();
    let port = sysfs.file_name()?.to_string_lossy().into_owned();
    let raw = std::fs::read(sysfs.join("descriptors")).ok()?;
    let device = DeviceDescriptor::parse(&raw).ok()?;
    // The descriptors file holds the device descriptor, then every configuration; take the
    // active one (the first when none is).
    let active: u8 = read_attribute(&sysfs, "bConfigurationValue")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut rest = &raw[DeviceDescriptor::LENGTH..];
    let mut chosen = None;
    while rest.len() >= 9 {
        let total = usize::from(u16::from_le_bytes([rest[2], rest[3]])).max(9);
        let Ok(configuration) = Configuration::parse(rest) else {
            break;
        };
        let is_active = configuration.value == active;
        if chosen.is_none() || is_active {
            chosen = Some(configuration);
        }
        if is_active || total > rest.len() {
            break;
        }
        rest = &rest[total..];
    }
    let configuration = chosen?;
    let interface_name = |number: u8| {
        info.interfaces()
            .find(|i| i.interface_number() == number)
            .and_then(|i| i.interface_string())
            .map(str::to_string)
    };
    let (functions, broken) = configuration.obex_functions();
    let obex = functions
        .into_iter()
        .map(|function| NamedObex {
            name: interface_name(function.control_interface),
            function,
        })
        .collect::<Vec<_>>();
    let modems = configuration
        .acm_functions()
        .into_iter()
        .map(|modem| Modem {
            control_interface: modem.control_interface,
            name: interface_name(modem.control_interface),
            tty: modem_tty(&sysfs, &port, configuration.value, modem.control_interface),
        })
        .collect::<Vec<_>>();
    if obex.is_empty() && modems.is_empty() && broken.is_empty() {
        return None;
    }
    Some(UsbPhone {
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
        obex,
        modems,
        unusable: broken
            .into_iter()
            .map(|u| format!("interface {}: {}", u.control_interface, u.problem))
            .collect(),
        info,
    })
}

/// The phones plugged in now (devices with a CDC OBEX or CDC ACM function).
pub fn phones() -> Result<Vec<UsbPhone>, UsbError> {
    let mut found = plugged_in(describe)?;
    found.sort_by(|a, b| a.port.cmp(&b.port));
    Ok(found)
}

/// What `describe` makes of each device plugged in now (read from sysfs: no permission
/// needed), for phones and IrDA dongles alike.
pub(crate) fn plugged_in<T>(
    describe: impl FnMut(nusb::DeviceInfo) -> Option<T>,
) -> Result<Vec<T>, UsbError> {
    if !Path::new("/sys/bus/usb/devices").exists() {
        return Err(UsbError::NoUsb(
            "this machine has no USB (no /sys/bus/usb)".to_string(),
        ));
    }
    let devices = nusb::list_devices()
        .wait()
        .map_err(|e| UsbError::NoUsb(format!("cannot list devices: {e}")))?;
    Ok(devices.filter_map(describe).collect())
}

/// The one phone `selector` names, or the only one plugged in.
pub fn choose(selector: Option<&UsbSelector>) -> Result<UsbPhone, UsbError> {
    let all = phones()?;
    let mut matching: Vec<UsbPhone> = all
        .into_iter()
        .filter(|p| selector.is_none_or(|s| p.matches(s)))
        .collect();
    match matching.len() {
        0 => Err(UsbError::NotFound(match selector {
            Some(UsbSelector::Ids { vendor, product }) => {
                format!("no phone {vendor:04x}:{product:04x} is plugged in")
            }
            Some(UsbSelector::Port(port)) => format!("no phone is plugged in at {port}"),
            None => {
                "no phone is plugged in (a phone in \"PC Suite\" mode offers CDC OBEX or a modem)"
                    .to_string()
            }
        })),
        1 => Ok(matching.remove(0)),
        _ => Err(UsbError::Ambiguous(
            matching.iter().map(UsbPhone::label).collect(),
        )),
    }
}

/// The processes that hold `node` open (for "interface busy").
pub(crate) fn holders_of(node: &Path) -> Vec<String> {
    let mut holders = Vec::new();
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return holders;
    };
    for process in processes.flatten() {
        let pid = process.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == node))
        {
            let name = read_attribute(&process.path(), "comm").unwrap_or_default();
            holders.push(format!("{name} (pid {pid})"));
        }
    }
    holders
}

fn open_error(phone: &UsbPhone, what: &str, e: nusb::Error) -> UsbError {
    match e.kind() {
        nusb::ErrorKind::PermissionDenied => UsbError::PermissionDenied {
            node: phone.node.clone(),
        },
        nusb::ErrorKind::Busy => UsbError::Busy {
            what: format!("{what} of {}", phone.label()),
            holders: holders_of(&phone.node),
        },
        nusb::ErrorKind::Disconnected => UsbError::Unplugged,
        _ => UsbError::Other(format!("{what} of {}: {e}", phone.label())),
    }
}

/// Claims `function`'s two interfaces, selects its active setting and opens its pipes.
pub async fn open_obex(phone: &UsbPhone, function: &ObexFunction) -> Result<ObexPipe, UsbError> {
    let device = phone
        .info
        .open()
        .await
        .map_err(|e| open_error(phone, "the device", e))?;
    let claim = |number: u8| device.detach_and_claim_interface(number);
    let control = claim(function.control_interface).await.map_err(|e| {
        open_error(
            phone,
            &format!("interface {}", function.control_interface),
            e,
        )
    })?;
    let data = claim(function.data_interface)
        .await
        .map_err(|e| open_error(phone, &format!("interface {}", function.data_interface), e))?;
    data.set_alt_setting(function.active_setting)
        .await
        .map_err(|e| open_error(phone, "the OBEX data setting", e))?;
    let mut bulk_in = data
        .endpoint::<Bulk, In>(function.bulk_in.address)
        .map_err(|e| open_error(phone, "the bulk IN endpoint", e))?;
    let mut bulk_out = data
        .endpoint::<Bulk, Out>(function.bulk_out.address)
        .map_err(|e| open_error(phone, "the bulk OUT endpoint", e))?;
    // A previous program may have left a pipe halted.
    let _ = bulk_in.clear_halt().await;
    let _ = bulk_out.clear_halt().await;
    let reader = bulk_in.reader(0x8000);
    let writer = bulk_out.writer(0x8000);
    Ok(ObexPipe::new(
        reader,
        writer,
        control,
        data,
        function.idle_setting,
    ))
}

/// Why a USB session failed: reaching the phone, or the session itself.
#[derive(Debug)]
pub enum UsbCallError {
    Usb(UsbError),
    /// No OBEX function took a SyncML CONNECT: each function and its answer.
    NoSyncml(Vec<String>),
    Call(CallError),
}

impl std::fmt::Display for UsbCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsbCallError::Usb(e) => e.fmt(f),
            UsbCallError::NoSyncml(tried) => write!(
                f,
                "no OBEX function of the phone took a SyncML connection (is it unlocked, and \
                 not asking something on its screen?): {}",
                tried.join("; ")
            ),
            UsbCallError::Call(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for UsbCallError {}

/// The PC starts a session with a phone on USB: the SyncML function by name, else each OBEX
/// function in turn until one takes the CONNECT; the notification and the session follow as
/// on the other links.
pub async fn call(
    phone: &UsbPhone,
    hub: HubHandle,
    options: &CallOptions,
) -> Result<(String, CallReport), UsbCallError> {
    let mut tried = Vec::new();
    for candidate in phone.syncml_candidates() {
        let name = candidate
            .name
            .clone()
            .unwrap_or_else(|| format!("interface {}", candidate.function.control_interface));
        let mut pipe = open_obex(phone, &candidate.function)
            .await
            .map_err(UsbCallError::Usb)?;
        tracing::info!(function = %name, "USB: OBEX function opened");
        let result = call_phone(&mut pipe, hub.clone(), TRANSPORT, options).await;
        pipe.close().await;
        match result {
            Ok(report) => return Ok((name, report)),
            // Not this function: the phone answered or closed at CONNECT.
            Err(CallError::Obex {
                during: "connecting",
                error,
            }) => {
                tried.push(format!("{name}: {error}"));
            }
            Err(CallError::Closed {
                during: "connecting",
            }) => {
                tried.push(format!("{name}: closed"));
            }
            Err(CallError::Io(e)) if is_unplugged(&e) => {
                return Err(UsbCallError::Usb(UsbError::Unplugged))
            }
            Err(other) => return Err(UsbCallError::Call(other)),
        }
    }
    Err(UsbCallError::NoSyncml(tried))
}

/// Whether a transfer error means the device went away.
pub fn is_unplugged(e: &std::io::Error) -> bool {
    // nusb reports a vanished device as "disconnected" (ENODEV/ESHUTDOWN from usbfs).
    matches!(e.raw_os_error(), Some(libc::ENODEV | libc::ESHUTDOWN))
        || e.to_string().to_ascii_lowercase().contains("disconnected")
}

#[cfg(test)]
mod tests {
    use super::UsbSelector;

    #[test]
    fn a_phone_is_named_by_its_ids_or_its_port() {
        assert_eq!(
            "0421:0428".parse(),
            Ok(UsbSelector::Ids {
                vendor: 0x0421,
                product: 0x0428
            })
        );
        assert_eq!("0fce:D016".parse::<UsbSelector>().map(|_| ()), Ok(()));
        assert_eq!("1-1".parse(), Ok(UsbSelector::Port("1-1".into())));
        assert_eq!("3-1.4".parse(), Ok(UsbSelector::Port("3-1.4".into())));
    }

    #[test]
    fn a_selector_that_names_nothing_says_where_and_what_to_write() {
        let error = "0421:zz28".parse::<UsbSelector>().unwrap_err();
        assert!(error.contains("at character 6"), "{error}");
        let error = "04211:0428".parse::<UsbSelector>().unwrap_err();
        assert!(error.contains("at character 1"), "{error}");
        for wrong in ["nokia", "1-", "-1", "1-1..2", "1-a", ""] {
            let error = wrong.parse::<UsbSelector>().unwrap_err();
            assert!(error.contains("VID:PID"), "{wrong}: {error}");
        }
    }
}
