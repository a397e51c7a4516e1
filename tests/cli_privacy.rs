//! What handsync keeps private on the user's machine: a password typed at a terminal is not
//! shown, and store files made before handsync created them owner-only are made so.

mod cli_store_support;
mod support;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_store_support::*;

/// A terminal: (master, slave), in the terminal's default (cooked, echoing) mode.
fn terminal() -> (std::fs::File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills two descriptors; name, termios and winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two open descriptors nothing else owns.
    unsafe {
        (
            std::fs::File::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
        )
    }
}

/// Reads what the terminal shows until `until` appears or `timeout` passes.
fn shown(master: &mut std::fs::File, until: &str, timeout: Duration) -> String {
    // SAFETY: fcntl on our own descriptor.
    unsafe {
        let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 256];
    while Instant::now() < deadline && !String::from_utf8_lossy(&seen).contains(until) {
        match master.read(&mut buffer) {
            Ok(n) if n > 0 => seen.extend_from_slice(&buffer[..n]),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn a_password_typed_at_a_terminal_is_not_shown() {
    let (dir, db) = scratch_db("privacy-echo");
    let (mut master, slave) = terminal();
    let stdin = slave.try_clone().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["account", "add", "carol", "--password-stdin"])
        .stdin(Stdio::from(stdin))
        .stderr(Stdio::from(slave))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let prompt = shown(&mut master, "password for carol: ", Duration::from_secs(20));
    assert!(prompt.contains("password for carol: "), "{prompt:?}");
    let password = "Zq7-typed-secret";
    master
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let after = shown(&mut master, "\u{0}", Duration::from_millis(300));
    assert!(
        !after.contains(password),
        "the password was shown: {after:?}"
    );
    let listing = handsync_ok(&db, &["account", "list"]);
    assert!(listing.contains("carol"), "{listing}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn store_files_made_before_are_made_private() {
    let (dir, db) = scratch_db("privacy-modes");
    handsync_ok(&db, &["account", "list"]);
    let replaced = db.parent().unwrap().join("replaced");
    std::fs::create_dir_all(replaced.join("1")).unwrap();
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&replaced, std::fs::Permissions::from_mode(0o755)).unwrap();
    handsync_ok(&db, &["account", "list"]);
    assert_eq!(mode(&db) & 0o777, 0o600);
    assert_eq!(mode(&replaced) & 0o777, 0o700);
    let _ = std::fs::remove_dir_all(dir);
}
