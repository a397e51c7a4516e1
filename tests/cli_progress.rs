//! `handsync sync` shows per-datastore progress (items of those the phone announced, bytes,
//! time left) when stderr is a terminal, and nothing of it in a pipe. The terminal is a
//! pseudo-terminal the test reads; the phone is the emulator, on an emulated data cable
//! (whose baud rate gives the estimate from the first message on) or on OBEX over TCP.

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::FromRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A Nokia 6230i (it announces NumberOfChanges) with `contacts` new contacts, waiting for
/// the PC's call; returns it and where it listens.
fn phone_waiting(contacts: &str) -> (Child, String) {
    let mut phone = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args([
            "emulate",
            "--profile",
            "nokia-6230i",
            "--generate",
            contacts,
        ])
        .args(["--listen-obex-tcp", "127.0.0.1:0", "--timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(phone.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the phone listens").unwrap();
        if let Some(rest) = line.strip_prefix("emulate: listening for OBEX on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (phone, address)
}

fn sync_command(db: &Path, link: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .arg("--db")
        .arg(db)
        .arg("sync")
        .args(link)
        .args(["--datastore", "contacts"])
        .args(["--timeout", "30"])
        .env("XDG_CONFIG_HOME", db.parent().unwrap())
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    command
}

/// A pseudo-terminal of 100 columns: (the master to read, the slave for the child).
fn pseudo_terminal() -> (File, File) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let made = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(made, 0, "openpty: {}", std::io::Error::last_os_error());
    unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) }
}

#[test]
fn a_sync_on_a_terminal_shows_its_progress_per_datastore() {
    let dir = support::scratch_dir("progress-tty");
    let (phone, cable) = support::emulator_announcing(
        &["--profile", "nokia-6230i", "--generate", "600"]
            .into_iter()
            .chain(["--pty", "--timeout", "60"])
            .collect::<Vec<_>>(),
        "emulate: cable on ",
    );
    let (mut master, slave) = pseudo_terminal();
    let link = ["--serial", cable.as_str(), "--baud", "115200"];
    let mut sync = sync_command(&dir.join("handsync.db"), &link)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    // The terminal's side, read until the last writer (the sync) closes it: EIO.
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match master.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buffer[..n]),
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let mut stdout = String::new();
    sync.stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(sync.wait().unwrap().success(), "{stdout}");
    let terminal = reader.join().unwrap();
    let (ok, printed) = phone.finish();
    assert!(ok, "{printed}");
    assert!(stdout.contains("completed"), "{stdout}");
    // The bar as it ended: all the items the phone announced, and the bytes they took.
    assert!(
        terminal.contains("contacts [") && terminal.contains("600/600 items"),
        "{terminal}"
    );
    assert!(terminal.contains("KiB"), "{terminal}");
    // On the way there, the estimate of the time left (from 115200 baud: 11520 bytes a
    // second until a tenth of a second was measured).
    assert!(terminal.contains(" left"), "{terminal}");
    assert!(
        !terminal.contains("0/0"),
        "no bar before its datastore: {terminal}"
    );
    // The progress stays on stderr: stdout carries the result alone.
    assert!(!stdout.contains("items"), "{stdout}");
}

#[test]
fn a_sync_into_a_pipe_shows_no_progress() {
    let dir = support::scratch_dir("progress-pipe");
    let (mut phone, address) = phone_waiting("300");
    let output = sync_command(&dir.join("handsync.db"), &["--obex-tcp", &address])
        .output()
        .unwrap();
    assert!(phone.wait().unwrap().success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("contacts from phone +300"), "{stdout}");
    assert!(
        !stderr.contains("items") && !stderr.contains('\x1b') && !stderr.contains('\r'),
        "{stderr}"
    );
}
