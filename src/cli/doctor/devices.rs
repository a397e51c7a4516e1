//! The phone's ports: serial devices the user cannot open (and the group to join),
//! ModemManager holding one, USB phones and whether the user may open them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::system::{self, Group, Me, Process};
use super::{Report, Roots, Setup};

/// Names the kernel gives phone ttys: CDC ACM modems (the phone itself on USB), USB serial
/// converters (cables), RFCOMM ttys bound to a phone.
const PHONE_TTYS: [&str; 3] = ["ttyACM", "ttyUSB", "rfcomm"];

const SERIAL_RULE: &str = "udev/70-handsync-serial.rules";
const USB_RULE_INSTALL: &str = "sudo install -Dm644 udev/70-handsync-usb.rules \
     /etc/udev/rules.d/70-handsync-usb.rules && sudo udevadm control --reload";

/// Root opens every device: said beside "you can open it", whose answer is then root's.
fn as_root_note() -> &'static str {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        " (as root: run doctor as the user who syncs to check theirs)"
    } else {
        ""
    }
}

/// A serial port to check, as the machine names it, and the setting that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SerialPort {
    path: PathBuf,
    configured: Option<&'static str>,
}

/// The phone ttys present, then the configured ones (once each).
fn serial_ports(setup: &Setup) -> Vec<SerialPort> {
    let mut ports: BTreeMap<PathBuf, Option<&'static str>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(setup.roots.path("/dev")) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if PHONE_TTYS.iter().any(|prefix| {
                name.strip_prefix(prefix)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }) {
                ports.insert(Path::new("/dev").join(&*name), None);
            }
        }
    }
    let configured = setup
        .file
        .serial
        .devices
        .iter()
        .map(|d| (d.clone(), "[serial] devices"))
        .chain(
            setup
                .file
                .irda
                .device
                .iter()
                .filter(|d| d.starts_with('/'))
                .map(|d| (PathBuf::from(d), "[irda] device")),
        );
    for (path, setting) in configured {
        ports.insert(path, Some(setting));
    }
    ports
        .into_iter()
        .map(|(path, configured)| SerialPort { path, configured })
        .collect()
}

pub fn check_serial(setup: &Setup, report: &mut Report) {
    let ports = serial_ports(setup);
    if ports.is_empty() {
        report.ok(
            "serial: no phone cable plugged in (no /dev/ttyACM*, /dev/ttyUSB*, /dev/rfcomm*) \
             and none configured",
        );
        return;
    }
    let me = Me::current(&setup.roots);
    let groups = system::groups(&setup.roots);
    for port in ports {
        let shown = port.path.display();
        let real = setup.roots.path(&port.path);
        let metadata = match std::fs::metadata(&real) {
            Ok(metadata) => metadata,
            Err(e) => {
                let setting = port.configured.unwrap_or("found in /dev");
                report.fail(format!(
                    "serial {shown} ({setting}): {}: plug the cable in, or fix the path \
                     (ls -l /dev/serial/by-id/ lists the cables)",
                    if e.kind() == std::io::ErrorKind::NotFound {
                        "does not exist".to_string()
                    } else {
                        e.to_string()
                    }
                ));
                continue;
            }
        };
        match system::may_read_write(&real) {
            Ok(()) => report.ok(format!("serial {shown}: you can open it{}", as_root_note())),
            Err(_) => {
                use std::os::unix::fs::MetadataExt as _;
                let ownership = system::ownership(&metadata, &groups, &setup.roots);
                let group = groups.iter().find(|g| g.gid == metadata.gid());
                let advice = locked_out(&port.path, metadata.mode(), group, &me);
                report.fail(format!(
                    "serial {shown} ({ownership}): you cannot open it: {advice}"
                ));
            }
        }
    }
}

/// What to do about a device node this user cannot open: join the group it belongs to, log
/// in again after joining it, or have its permissions fixed.
fn locked_out(device: &Path, mode: u32, group: Option<&Group>, me: &Me) -> String {
    let group_may = mode & 0o060 == 0o060;
    match group {
        Some(group) if group_may && !me.groups.contains(&group.gid) => {
            let listed = me
                .name
                .as_ref()
                .is_some_and(|name| group.members.iter().any(|m| m == name));
            if listed {
                format!(
                    "you were added to group {g} after this login started: log out and in again \
                     (or run newgrp {g} in this shell)",
                    g = group.name
                )
            } else {
                format!(
                    "add yourself to group {g}: sudo usermod -aG {g} $USER, then log out and in again",
                    g = group.name
                )
            }
        }
        _ => format!(
            "its permissions let only its owner in: the udev rule that creates it should give \
             it to group dialout with mode 0660; until the next plug: sudo chmod 660 {}",
            device.display()
        ),
    }
}

/// ModemManager probes every new modem with AT commands of its own, and holds the port:
/// a phone in the middle of handsync's switch to OBEX gets confused, and the port is busy.
///
/// Its holding is read from /proc (its open descriptors), not asked over D-Bus: a port is
/// held while ModemManager probes it, before any modem object exists on the bus, and a port
/// it gave up on is not held at all. Only root (or ModemManager's user) may read them; others
/// get a warning that says how to see.
pub fn check_modem_manager(setup: &Setup, report: &mut Report) {
    let roots = &setup.roots;
    let managers: Vec<Process> = system::processes(roots)
        .into_iter()
        .filter(|p| p.comm == "ModemManager")
        .collect();
    if managers.is_empty() {
        report.ok("ModemManager: not running, so it holds no phone's port");
        return;
    }
    let ports = phone_port_names(setup);
    for manager in &managers {
        match manager.open_files(roots) {
            Ok(files) => {
                let mut held: Vec<&PathBuf> = files
                    .iter()
                    .filter(|f| ports.iter().any(|p| p == *f))
                    .collect();
                held.sort();
                held.dedup();
                if held.is_empty() {
                    report.ok(format!(
                        "ModemManager: {} runs but holds no phone's port",
                        manager.label()
                    ));
                }
                for port in held {
                    report.fail(format!(
                        "ModemManager: {} holds {}, a phone's port: install {SERIAL_RULE} \
                         (it keeps ModemManager off phone cables; udev/README.md) and plug the \
                         cable in again, or sudo systemctl stop ModemManager",
                        manager.label(),
                        port.display()
                    ));
                }
            }
            // Its descriptors are root's: ask it over D-Bus which ports its modems use (it
            // does not tell which ones it is probing).
            Err(_) => match modem_ports() {
                Ok(modems) => {
                    let taken: Vec<(&String, PathBuf)> = modems
                        .iter()
                        .map(|(modem, port)| (modem, Path::new("/dev").join(port)))
                        .filter(|(_, port)| ports.contains(port))
                        .collect();
                    if taken.is_empty() {
                        report.warn(format!(
                            "ModemManager: {} runs and has taken no phone's port as a modem; \
                             which ports it is probing only root may see (sudo handsync \
                             doctor); {SERIAL_RULE} keeps it off phone cables",
                            manager.label()
                        ));
                    }
                    for (modem, port) in taken {
                        report.fail(format!(
                            "ModemManager: {} has taken {} as a modem ({modem}), a phone's port: \
                             install {SERIAL_RULE} (it keeps ModemManager off phone cables; \
                             udev/README.md) and plug the cable in again, or sudo systemctl \
                             stop ModemManager",
                            manager.label(),
                            port.display()
                        ));
                    }
                }
                Err(why) => report.warn(format!(
                    "ModemManager: {} runs; which ports it holds only root may see ({why}): \
                     sudo handsync doctor; {SERIAL_RULE} keeps it off phone cables \
                     (udev/README.md)",
                    manager.label()
                )),
            },
        }
    }
}

/// The ports (`ttyACM0`) of the modems ModemManager manages, each with the modem's name,
/// from its objects on the system bus (readable by every user).
fn modem_ports() -> Result<Vec<(String, String)>, String> {
    use dbus::arg::{prop_cast, RefArg};
    use dbus::blocking::stdintf::org_freedesktop_dbus::ObjectManager as _;
    let connection = dbus::blocking::Connection::new_system()
        .map_err(|e| format!("no system bus: {}", e.message().unwrap_or("cannot connect")))?;
    let objects = connection
        .with_proxy(
            "org.freedesktop.ModemManager1",
            "/org/freedesktop/ModemManager1",
            std::time::Duration::from_secs(3),
        )
        .get_managed_objects()
        .map_err(|e| {
            format!(
                "it does not answer on the bus: {}",
                e.message().unwrap_or("no reply")
            )
        })?;
    let mut found = Vec::new();
    for (path, interfaces) in objects {
        let Some(modem) = interfaces.get("org.freedesktop.ModemManager1.Modem") else {
            continue;
        };
        let name = [
            prop_cast::<String>(modem, "Manufacturer"),
            prop_cast::<String>(modem, "Model"),
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
        let name = if name.trim().is_empty() {
            path.to_string()
        } else {
            name
        };
        // Ports: a(su), the port's name and its kind.
        let Some(list) = modem.get("Ports").and_then(|v| v.0.as_iter()) else {
            continue;
        };
        for port in list {
            let port_name = port
                .as_iter()
                .and_then(|mut fields| fields.next().and_then(|f| f.as_str().map(str::to_string)));
            if let Some(port_name) = port_name.filter(|p| !p.contains('/')) {
                found.push((name.clone(), port_name));
            }
        }
    }
    Ok(found)
}

/// The phone ports as ModemManager's descriptors name them: each port's own path and, for
/// a symlink (/dev/serial/by-id/...), the device it leads to.
fn phone_port_names(setup: &Setup) -> Vec<PathBuf> {
    let mut names = Vec::new();
    for port in serial_ports(setup) {
        if let Ok(real) = std::fs::canonicalize(setup.roots.path(&port.path)) {
            names.push(setup.roots.logical(&real));
        }
        names.push(port.path);
    }
    names
}

/// A device on USB that offers a phone's functions, as sysfs describes it.
#[derive(Debug)]
struct UsbPhone {
    port: String,
    label: String,
    obex: bool,
    modem: bool,
    node: PathBuf,
}

/// The phones plugged in: devices with a CDC OBEX (02/0b) or CDC ACM (02/02) interface, read
/// from sysfs (readable by anyone, no descriptor parsing needed: the kernel lists the
/// active configuration's interfaces).
fn usb_phones(roots: &Roots) -> Option<Vec<UsbPhone>> {
    let entries = std::fs::read_dir(roots.path("/sys/bus/usb/devices")).ok()?;
    let mut phones = Vec::new();
    for entry in entries.flatten() {
        let port = entry.file_name().to_string_lossy().into_owned();
        if port.contains(':') {
            continue; // an interface, not a device
        }
        let dir = entry.path();
        let read = |dir: &Path, name: &str| {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let mut obex = false;
        let mut modem = false;
        let prefix = format!("{port}:");
        for interface in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if !interface.file_name().to_string_lossy().starts_with(&prefix) {
                continue;
            }
            let hex =
                |name| read(&interface.path(), name).and_then(|v| u8::from_str_radix(&v, 16).ok());
            match (hex("bInterfaceClass"), hex("bInterfaceSubClass")) {
                (Some(0x02), Some(0x0b)) => obex = true,
                (Some(0x02), Some(0x02)) => modem = true,
                _ => {}
            }
        }
        if !obex && !modem {
            continue;
        }
        let number = |name| read(&dir, name).and_then(|v| v.parse::<u16>().ok());
        let (Some(bus), Some(device)) = (number("busnum"), number("devnum")) else {
            continue;
        };
        let ids = format!(
            "{}:{}",
            read(&dir, "idVendor").unwrap_or_else(|| "????".into()),
            read(&dir, "idProduct").unwrap_or_else(|| "????".into())
        );
        let name = read(&dir, "product")
            .or_else(|| read(&dir, "manufacturer"))
            .unwrap_or_else(|| "USB phone".into());
        phones.push(UsbPhone {
            label: format!("{name} ({ids} on {port})"),
            port,
            obex,
            modem,
            node: PathBuf::from(format!("/dev/bus/usb/{bus:03}/{device:03}")),
        });
    }
    phones.sort_by(|a, b| a.port.cmp(&b.port));
    Some(phones)
}

pub fn check_usb(setup: &Setup, report: &mut Report) {
    if setup.file.usb.enabled == Some(false) {
        report.ok("USB: off in the configuration ([usb] enabled = false): not checked");
        return;
    }
    let Some(phones) = usb_phones(&setup.roots) else {
        report.ok("USB: this machine has no USB (no /sys/bus/usb): not checked");
        return;
    };
    if phones.is_empty() {
        report.ok(
            "USB: no phone plugged in (a phone in \"PC Suite\" mode offers CDC OBEX or a modem)",
        );
        return;
    }
    let groups = system::groups(&setup.roots);
    for phone in phones {
        let node = phone.node.display();
        if !phone.obex {
            // Its modem is a tty the serial lines cover; usbfs is not used for it.
            report.ok(format!(
                "USB phone {}: offers a modem only, which syncs over its tty (see the serial lines)",
                phone.label
            ));
            continue;
        }
        let real = setup.roots.path(&phone.node);
        let metadata = match std::fs::metadata(&real) {
            Ok(metadata) => metadata,
            Err(e) => {
                report.fail(format!(
                    "USB phone {}: its node {node} is missing ({e}): is udev running? \
                     (systemctl status systemd-udevd)",
                    phone.label
                ));
                continue;
            }
        };
        let with = if phone.modem {
            "CDC OBEX and a modem"
        } else {
            "CDC OBEX"
        };
        match system::may_read_write(&real) {
            Ok(()) => report.ok(format!(
                "USB phone {} ({with}): you can open {node}{}",
                phone.label,
                as_root_note()
            )),
            Err(_) => report.fail(format!(
                "USB phone {} ({with}): you cannot open {node} ({}): install the udev rule \
                 that gives it to the user at the seat: {USB_RULE_INSTALL}, then plug the \
                 phone in again",
                phone.label,
                system::ownership(&metadata, &groups, &setup.roots)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialout(members: &[&str]) -> Group {
        Group {
            name: "dialout".into(),
            gid: 20,
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn me(groups: &[u32]) -> Me {
        Me {
            name: Some("alice".into()),
            groups: groups.to_vec(),
        }
    }

    #[test]
    fn the_advice_fits_why_the_port_is_closed() {
        let tty = Path::new("/dev/ttyACM0");
        let join = locked_out(tty, 0o20660, Some(&dialout(&[])), &me(&[1000]));
        assert!(join.contains("sudo usermod -aG dialout $USER"), "{join}");
        let again = locked_out(
            tty,
            0o20660,
            Some(&dialout(&["bob", "alice"])),
            &me(&[1000]),
        );
        assert!(again.contains("log out and in again"), "{again}");
        assert!(!again.contains("usermod"), "{again}");
        let owner_only = locked_out(tty, 0o20600, Some(&dialout(&[])), &me(&[1000, 20]));
        assert!(
            owner_only.contains("sudo chmod 660 /dev/ttyACM0"),
            "{owner_only}"
        );
        let unknown_group = locked_out(tty, 0o20660, None, &me(&[1000]));
        assert!(unknown_group.contains("chmod"), "{unknown_group}");
    }
}
