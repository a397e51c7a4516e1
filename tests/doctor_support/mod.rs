//! What tests/cli_doctor.rs starts beside handsync: a private system bus (dbus-daemon) with
//! a stand-in for bluetoothd on it, and a pseudo-terminal to play a phone's serial port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The first line a child prints, within `within`, or why not.
fn first_line(child: &mut Child, within: Duration) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    match receiver.recv_timeout(within) {
        Ok(line) if !line.trim().is_empty() => Ok(line.trim().to_string()),
        Ok(_) => Err("it ended without a word".into()),
        Err(_) => Err(format!("nothing within {within:?}")),
    }
}

/// A dbus-daemon of the test's own, configured like a system bus that lets anyone own any
/// name; stopped when dropped.
pub struct Bus {
    child: Child,
    pub address: String,
}

impl Bus {
    /// `None` (the test skips) when dbus-daemon is not installed and oracles are optional.
    pub fn start(dir: &Path) -> Option<Bus> {
        if !super::support::oracle_available("dbus-daemon") {
            return None;
        }
        let socket = dir.join("system_bus_socket");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dbus-daemon");
        let address = match first_line(&mut child, Duration::from_secs(10)) {
            Ok(address) => address,
            Err(why) => {
                let _ = child.kill();
                panic!("dbus-daemon did not start: {why}");
            }
        };
        Some(Bus { child, address })
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python 3 that has the dbus and gi modules (Debian's python3-dbus, python3-gi), or
/// `None` (the test skips) when oracles are optional.
fn python_with_dbus() -> Option<&'static str> {
    let found = ["python3", "/usr/bin/python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import dbus, gi"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
            panic!("no python3 with the dbus and gi modules (python3-dbus, python3-gi)");
        }
        eprintln!("skipping: no python3 with the dbus and gi modules");
    }
    found
}

/// A stand-in for a system service on `bus`: tests/doctor_support/fake_bluez.py (org.bluez
/// with the adapters and devices `spec` describes, JSON) or fake_modem_manager.py (its
/// modems' ports); stopped when dropped.
pub struct Fake {
    child: Child,
}

impl Fake {
    pub fn bluez(bus: &Bus, spec: &str) -> Option<Fake> {
        Fake::start(bus, "fake_bluez.py", spec)
    }

    pub fn modem_manager(bus: &Bus, ports: &str) -> Option<Fake> {
        Fake::start(bus, "fake_modem_manager.py", ports)
    }

    fn start(bus: &Bus, script: &str, spec: &str) -> Option<Fake> {
        let python = python_with_dbus()?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/doctor_support")
            .join(script);
        let mut child = Command::new(python)
            .arg(&script)
            .arg(spec)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", script.display()));
        match first_line(&mut child, Duration::from_secs(20)) {
            Ok(line) if line == "ready" => Some(Fake { child }),
            other => {
                let _ = child.kill();
                panic!("{} did not start: {other:?}", script.display());
            }
        }
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A pseudo-terminal: the master end kept here, the slave's path for whoever opens it.
pub struct Pty {
    _master: OwnedFd,
    pub path: PathBuf,
}

impl Pty {
    pub fn open() -> Pty {
        // SAFETY: plain libc calls on a descriptor we own; ptsname_r writes into our buffer.
        unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            let master = OwnedFd::from_raw_fd(fd);
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            let path = std::ffi::CStr::from_ptr(name.as_ptr())
                .to_string_lossy()
                .into_owned();
            Pty {
                _master: master,
                path: PathBuf::from(path),
            }
        }
    }

    /// The slave end, opened (as a process's stdin, it holds the port).
    pub fn open_slave(&self) -> std::fs::File {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&self.path)
            .expect("open the pty's slave")
    }
}
