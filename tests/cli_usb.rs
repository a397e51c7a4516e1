//! USB as users meet it on a machine without the phone (or without USB at all): bad phone
//! names are refused with where they go wrong, a phone that is not plugged in is named, and
//! `serve` says once what it does about USB. (USB itself is tested on the kernel's USB stack
//! in tests/lab/usb.sh.)

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn handsync(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_phone_named_wrongly_is_refused_with_where_and_what_to_write() {
    let dir = support::scratch_dir("usb-selector");
    let db = dir.join("db");
    let output = handsync(&db, &["sync", "--usb", "nokia"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("VID:PID (0421:0428) or BUS-PORT"),
        "{}",
        stderr(&output)
    );
    let output = handsync(&db, &["sync", "--usb", "0421:zz28"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("at character 6"),
        "{}",
        stderr(&output)
    );
    // --usb and another link at once
    let output = handsync(&db, &["sync", "--usb", "--obex-tcp", "127.0.0.1:1"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn a_phone_that_is_not_plugged_in_is_named() {
    let dir = support::scratch_dir("usb-absent");
    let output = handsync(&dir.join("db"), &["sync", "--usb", "ffff:fffe"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    if Path::new("/sys/bus/usb/devices").exists() {
        assert!(text.contains("no phone ffff:fffe is plugged in"), "{text}");
    } else {
        assert!(text.contains("this machine has no USB"), "{text}");
    }
    let output = handsync(&dir.join("db"), &["devices", "--usb"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    if Path::new("/sys/bus/usb/devices").exists() {
        assert!(output.status.success(), "{text}");
        assert!(text.starts_with("USB"), "{text}");
    } else {
        assert_eq!(output.status.code(), Some(1));
        assert!(text.contains("this machine has no USB"), "{text}");
    }
}

/// The status lines `serve` prints in its first seconds.
fn serve_lines(db: &Path, extra: &[&str]) -> Vec<String> {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_handsync"));
    serve
        .arg("--db")
        .arg(db)
        .args(["serve", "--no-http", "--no-bluetooth"])
        .args(extra);
    // Long enough for a sysfs rescan (every 3 s) to have repeated anything it would.
    support::status_lines_within(serve, Duration::from_secs(4))
}

#[test]
fn serve_says_once_what_it_does_about_usb() {
    let dir = support::scratch_dir("usb-serve");
    let seen = serve_lines(&dir.join("db"), &[]);
    let usb: Vec<&String> = seen.iter().filter(|l| l.starts_with("USB:")).collect();
    assert_eq!(usb.len(), 1, "{seen:?}");
    assert!(
        usb[0].contains("watching for phones") || usb[0].contains("looking every"),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|l| l.contains("no listener")), "{seen:?}");
    let seen = serve_lines(&dir.join("db"), &["--no-usb"]);
    assert!(seen.iter().any(|l| l == "USB: off"), "{seen:?}");
    assert!(
        seen.iter().any(|l| l.contains("no listener is configured")),
        "{seen:?}"
    );
}
