//! Bluetooth: bluetoothd installed, its version, running (org.bluez owned on the system
//! bus), the adapter present and powered, the paired phones trusted.
//!
//! BlueZ is asked once, with ObjectManager.GetManagedObjects: every adapter and device with
//! its properties in one blocking call with a timeout, so a hung bluetoothd costs seconds,
//! and a bus without org.bluez is never asked to start it (NameHasOwner first).

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dbus::arg::{prop_cast, PropMap};
use dbus::blocking::stdintf::org_freedesktop_dbus::ObjectManager as _;
use dbus::blocking::Connection;

use super::{Report, Roots, Setup};

/// How long BlueZ (or the bus) may take to answer.
const BUS_TIMEOUT: Duration = Duration::from_secs(3);

/// Where distributions put bluetoothd (it is not on PATH).
const BLUETOOTHD: [&str; 4] = [
    "/usr/libexec/bluetooth/bluetoothd",
    "/usr/sbin/bluetoothd",
    "/usr/lib/bluetooth/bluetoothd",
    "/usr/bin/bluetoothd",
];

const ENABLE: &str = "sudo systemctl enable --now bluetooth";
const OR_OFF: &str = "or turn Bluetooth off: [bluetooth] enabled = false in the configuration";

pub fn check(setup: &Setup, report: &mut Report) {
    if setup.file.bluetooth.enabled == Some(false) {
        report.ok("Bluetooth: off in the configuration ([bluetooth] enabled = false): not checked");
        return;
    }
    let version = bluetoothd_version(&setup.roots);
    let named = match &version {
        Ok(version) => format!("bluetoothd {version}"),
        Err(_) => "bluetoothd".to_string(),
    };
    let connection = match Connection::new_system() {
        Ok(connection) => connection,
        Err(e) => {
            report.fail(format!(
                "{named}: no system D-Bus to find it on ({}): sudo systemctl start dbus, then {ENABLE}; {OR_OFF}",
                e.message().unwrap_or("cannot connect")
            ));
            return;
        }
    };
    let running = connection
        .with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", BUS_TIMEOUT)
        .method_call::<(bool,), _, _, _>("org.freedesktop.DBus", "NameHasOwner", ("org.bluez",));
    match (running, &version) {
        (Ok((true,)), Ok(_)) => {
            report.ok(format!("{named} is running (org.bluez on the system bus)"))
        }
        (Ok((true,)), Err(why)) => report.ok(format!(
            "bluetoothd is running (org.bluez on the system bus); its version is unknown: {why}"
        )),
        (Ok((false,)), Ok(_)) => {
            report.fail(format!(
                "{named} is installed but not running (nobody owns org.bluez on the system bus): {ENABLE}; {OR_OFF}"
            ));
            return;
        }
        (Ok((false,)), Err(why)) => {
            report.fail(format!(
                "bluetoothd is not running, and {why}: sudo apt install bluez, then {ENABLE}; {OR_OFF}"
            ));
            return;
        }
        (Err(e), _) => {
            report.fail(format!(
                "{named}: the system bus does not answer ({}): sudo systemctl restart dbus",
                e.message().unwrap_or("no reply")
            ));
            return;
        }
    }
    let objects = match connection
        .with_proxy("org.bluez", "/", BUS_TIMEOUT)
        .get_managed_objects()
    {
        Ok(objects) => objects,
        Err(e) => {
            report.fail(format!(
                "Bluetooth adapter: bluetoothd does not list its objects ({}): sudo systemctl restart bluetooth",
                e.message().unwrap_or("no reply")
            ));
            return;
        }
    };
    let objects: Vec<(String, HashMap<String, PropMap>)> = objects
        .into_iter()
        .map(|(path, interfaces)| (path.to_string(), interfaces))
        .collect();
    check_bluez(
        &objects,
        setup.file.bluetooth.adapter.as_deref(),
        setup.file.bluetooth.serve_unpaired,
        report,
    );
}

/// The adapter and its paired phones, from BlueZ's objects (path, interfaces).
fn check_bluez(
    objects: &[(String, HashMap<String, PropMap>)],
    wanted: Option<&str>,
    serve_unpaired: bool,
    report: &mut Report,
) {
    let mut adapters: Vec<(&str, &PropMap)> = objects
        .iter()
        .filter_map(|(path, interfaces)| {
            Some((path.as_str(), interfaces.get("org.bluez.Adapter1")?))
        })
        .collect();
    adapters.sort_by(|a, b| a.0.cmp(b.0));
    let name_of = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
    let chosen = match wanted {
        Some(name) => adapters.iter().find(|(path, _)| name_of(path) == name),
        None => adapters.first(),
    };
    let Some((adapter_path, adapter)) = chosen else {
        match wanted {
            Some(name) if !adapters.is_empty() => report.fail(format!(
                "Bluetooth adapter {name} ([bluetooth] adapter in the configuration) is not there; \
                 there is {}: fix the name",
                adapters.iter().map(|(p, _)| name_of(p)).collect::<Vec<_>>().join(", ")
            )),
            _ => report.fail(
                "Bluetooth adapter: none: plug one in; if there is one, it may be blocked \
                 (rfkill list; rfkill unblock bluetooth)",
            ),
        }
        return;
    };
    let name = name_of(adapter_path);
    let address = prop_cast::<String>(adapter, "Address").map_or("no address", String::as_str);
    if prop_cast::<bool>(adapter, "Powered").copied() == Some(true) {
        report.ok(format!(
            "Bluetooth adapter {name} ({address}) is present and powered"
        ));
    } else {
        report.fail(format!(
            "Bluetooth adapter {name} ({address}) is off: bluetoothctl power on \
             (if it stays off: rfkill unblock bluetooth)"
        ));
    }
    let mut paired: Vec<&PropMap> = objects
        .iter()
        .filter_map(|(_, interfaces)| interfaces.get("org.bluez.Device1"))
        .filter(|device| {
            prop_cast::<dbus::Path>(device, "Adapter").is_some_and(|p| &**p == *adapter_path)
                && prop_cast::<bool>(device, "Paired").copied() == Some(true)
        })
        .collect();
    paired.sort_by_key(|d| prop_cast::<String>(d, "Address").cloned());
    if paired.is_empty() {
        report.warn(format!(
            "paired phones: none on {name}: handsync pair MAC (the PC starts), or handsync pair \
             --accept (the phone starts)"
        ));
    }
    for device in paired {
        let address = prop_cast::<String>(device, "Address").map_or("?", String::as_str);
        let label = prop_cast::<String>(device, "Alias")
            .or_else(|| prop_cast::<String>(device, "Name"))
            .map_or_else(|| address.to_string(), |n| format!("{n} ({address})"));
        let trusted = prop_cast::<bool>(device, "Trusted").copied() == Some(true);
        if trusted {
            report.ok(format!("paired phone {label}: trusted"));
        } else if serve_unpaired {
            report.warn(format!(
                "paired phone {label}: not trusted (served anyway: [bluetooth] serve-unpaired); \
                 trust it: handsync pair {address}"
            ));
        } else {
            report.fail(format!(
                "paired phone {label}: not trusted, so handsync serve refuses it: handsync pair \
                 {address} (trusts a paired phone), or bluetoothctl trust {address}"
            ));
        }
    }
}

/// `5.66`, from the first bluetoothd found asked for `--version`; why not, otherwise.
fn bluetoothd_version(roots: &Roots) -> Result<String, String> {
    let Some(program) = BLUETOOTHD
        .iter()
        .map(|p| roots.path(p))
        .find(|p| p.is_file())
    else {
        return Err("bluetoothd is not installed".to_string());
    };
    let shown = roots.logical(&program);
    let mut child = Command::new(&program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{} does not run: {e}", shown.display()))?;
    // It answers at once; one that does not is not waited for.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{} --version does not answer", shown.display()));
            }
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("{} --version: {e}", shown.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.lines().next().unwrap_or("").trim();
    if output.status.success() && !version.is_empty() && version.len() < 40 {
        Ok(version.to_string())
    } else {
        Err(format!("{} --version says nothing useful", shown.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mark;
    use super::*;
    use dbus::arg::{RefArg, Variant};

    fn props(entries: Vec<(&str, Box<dyn RefArg>)>) -> PropMap {
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), Variant(v)))
            .collect()
    }

    fn object(path: &str, interface: &str, map: PropMap) -> (String, HashMap<String, PropMap>) {
        (
            path.to_string(),
            HashMap::from([(interface.to_string(), map)]),
        )
    }

    fn adapter(path: &str, powered: bool) -> (String, HashMap<String, PropMap>) {
        object(
            path,
            "org.bluez.Adapter1",
            props(vec![
                ("Address", Box::new("00:11:22:33:44:55".to_string())),
                ("Powered", Box::new(powered)),
            ]),
        )
    }

    fn phone(
        adapter: &str,
        address: &str,
        paired: bool,
        trusted: bool,
    ) -> (String, HashMap<String, PropMap>) {
        object(
            &format!("{adapter}/dev_{}", address.replace(':', "_")),
            "org.bluez.Device1",
            props(vec![
                ("Address", Box::new(address.to_string())),
                ("Alias", Box::new("Nokia 6230i".to_string())),
                ("Adapter", Box::new(dbus::Path::from(adapter.to_string()))),
                ("Paired", Box::new(paired)),
                ("Trusted", Box::new(trusted)),
            ]),
        )
    }

    #[test]
    fn the_configured_adapter_must_exist() {
        let mut report = Report::default();
        check_bluez(
            &[adapter("/org/bluez/hci0", true)],
            Some("hci1"),
            false,
            &mut report,
        );
        assert_eq!(report.lines()[0].0, Mark::Fail);
        assert!(
            report.lines()[0].1.contains("there is hci0"),
            "{:?}",
            report.lines()
        );
    }

    #[test]
    fn phones_of_other_adapters_and_unpaired_ones_are_left_out() {
        let mut report = Report::default();
        let objects = [
            adapter("/org/bluez/hci0", true),
            adapter("/org/bluez/hci1", true),
            phone("/org/bluez/hci1", "AA:BB:CC:DD:EE:01", true, false),
            phone("/org/bluez/hci0", "AA:BB:CC:DD:EE:02", false, false),
            phone("/org/bluez/hci0", "AA:BB:CC:DD:EE:03", true, true),
        ];
        check_bluez(&objects, None, false, &mut report);
        let lines = report.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[1],
            (
                Mark::Ok,
                "paired phone Nokia 6230i (AA:BB:CC:DD:EE:03): trusted".into()
            )
        );
        let mut report = Report::default();
        check_bluez(&objects, Some("hci1"), true, &mut report);
        assert_eq!(report.lines()[1].0, Mark::Warn, "{:?}", report.lines());
    }
}
