//! Bluetooth on a machine without it, as users meet it: `serve` runs its other transports
//! and says once why Bluetooth is missing; `sync --bt`, `pair` and `devices` say what is
//! wrong. (Bluetooth itself is tested on a real BlueZ stack in tests/lab.)

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A system bus that is not there, whatever this machine has.
const NO_BUS: &str = "unix:path=/nonexistent/handsync-test/system_bus_socket";

fn handsync() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command.env("DBUS_SYSTEM_BUS_ADDRESS", NO_BUS);
    command
}

#[test]
fn serve_without_bluetooth_runs_the_rest_and_says_so_once() {
    let dir = support::scratch_dir("bt-serve-without");
    let mut serve = handsync();
    serve
        .arg("--db")
        .arg(dir.join("db"))
        .args(["serve", "--http", "127.0.0.1:0"]);
    // Long enough for several tries at the bus (1 s, then 2 s apart).
    let seen = support::status_lines_within(serve, Duration::from_secs(5));
    let http = seen
        .iter()
        .any(|l| l.starts_with("HTTP: listening on http://127.0.0.1:"));
    assert!(http, "{seen:?}");
    let bluetooth: Vec<&String> = seen
        .iter()
        .filter(|l| l.starts_with("Bluetooth:"))
        .collect();
    assert_eq!(bluetooth.len(), 1, "{seen:?}");
    assert!(
        bluetooth[0].contains("Bluetooth is not available")
            && bluetooth[0].contains("the other transports run"),
        "{seen:?}"
    );
}

#[test]
fn serve_can_leave_bluetooth_off() {
    let dir = support::scratch_dir("bt-serve-off");
    let config = dir.join("config.toml");
    std::fs::write(&config, "[bluetooth]\nenabled = false\n").unwrap();
    let mut child = handsync()
        .arg("--db")
        .arg(dir.join("db"))
        .args(["serve", "--http", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{seen:?}");
        if line.starts_with("Bluetooth: off") {
            break;
        }
        seen.push(line);
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}

#[test]
fn bad_bluetooth_settings_are_refused() {
    let dir = support::scratch_dir("bt-bad-settings");
    let config = dir.join("config.toml");
    std::fs::write(&config, "[bluetooth]\nchannel = 40\n").unwrap();
    let output = handsync()
        .arg("--db")
        .arg(dir.join("db"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("bluetooth.channel = 40"),
        "{output:?}"
    );

    for args in [
        &["pair", "00:11:22:33:44"][..],
        &["sync", "--bt", "phone"][..],
    ] {
        let output = handsync().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("is not a Bluetooth address"),
            "{args:?}: {output:?}"
        );
    }
    let output = handsync()
        .args(["pair", "00:11:22:33:44:55", "--pin", "12345678901234567"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 to 16 characters"));
}

#[test]
fn bluetooth_commands_say_why_bluetooth_is_missing() {
    let dir = support::scratch_dir("bt-missing");
    let db = dir.join("db");
    let output = handsync()
        .arg("--db")
        .arg(&db)
        .args(["sync", "--bt", "00:11:22:33:44:55", "--timeout", "5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Bluetooth is not available"), "{stderr}");

    let output = handsync()
        .args([
            "pair",
            "00:11:22:33:44:55",
            "--pin",
            "0000",
            "--timeout",
            "5",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Bluetooth is not available"));

    let output = handsync()
        .arg("--db")
        .arg(&db)
        .arg("devices")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("no phones have synced yet"), "{stdout}");
    assert!(stdout.contains("Bluetooth is not available"), "{stdout}");
    let output = handsync()
        .arg("--db")
        .arg(&db)
        .args(["devices", "--no-bluetooth"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains("Bluetooth"));
}
