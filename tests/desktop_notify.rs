//! Desktop notifications at the end of syncs nobody watched on a terminal: real `handsync
//! serve` (and `sync --notify`) with the phone emulator, a private session bus, and a fake
//! notification server on it that records the Notify calls.

#[path = "support/notifications.rs"]
mod notifications;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use notifications::{fake_notification_server, Notify, SessionBus};

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `handsync` with the test's database and configuration, on the given session bus (none:
/// no bus at all, not even at $XDG_RUNTIME_DIR/bus).
fn handsync(dir: &Path, bus: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .arg("--db")
        .arg(dir.join("handsync.db"))
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    if let Some(address) = bus {
        command.env("DBUS_SESSION_BUS_ADDRESS", address);
    }
    command
}

/// Starts `serve` on OBEX over TCP (loopback) and returns it with its address.
fn serve(dir: &Path, bus: Option<&str>, extra: &[&str]) -> (Child, String) {
    let mut command = handsync(dir, bus);
    command
        .args(["serve", "--no-http", "--no-bluetooth", "--no-usb"])
        .args(["--obex-tcp", "127.0.0.1:0"])
        .args(extra)
        .stderr(Stdio::null());
    support::spawn_until(command, "OBEX over TCP: listening on ")
}

fn stop(mut daemon: Child) {
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert!(daemon.wait().unwrap().success(), "serve stops cleanly");
}

/// The phone (a Nokia 6230i keeping its data in `phone`) starts a sync with `address`.
fn phone_syncs(phone: &Path, address: &str, login: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args(["emulate", "--profile", "nokia-6230i", "--generate", "3"])
        .arg("--data")
        .arg(phone)
        .args(["--connect-obex-tcp", address, "--timeout", "20"])
        .args(login)
        .output()
        .unwrap()
}

fn next_notification(calls: &mpsc::Receiver<Notify>) -> Notify {
    calls
        .recv_timeout(Duration::from_secs(20))
        .expect("a Notify call within 20 s")
}

#[test]
fn a_sync_the_phone_started_ends_in_a_notification_of_what_changed_or_what_failed() {
    let dir = support::scratch_dir("notify-serve");
    let bus = SessionBus::start();
    let calls = fake_notification_server(&bus);
    let config = dir.join("handsync").join("config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[server]\nauth = \"md5\"\n").unwrap();
    let mut add = handsync(&dir, None)
        .args(["account", "add", "ada", "--password-stdin"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"right one\n").unwrap();
    assert!(add.wait().unwrap().success());
    let (daemon, address) = serve(&dir, Some(&bus.address), &[]);

    let phone = dir.join("phone");
    let synced = phone_syncs(
        &phone,
        &address,
        &["--user", "ada", "--password", "right one"],
    );
    assert!(synced.status.success(), "{}", text(&synced));
    let notify = next_notification(&calls);
    assert_eq!(notify.app_name, "handsync");
    assert_eq!(notify.replaces_id, 0);
    assert_eq!(notify.app_icon, "phone");
    assert!(notify.actions.is_empty());
    assert_eq!(notify.expire_timeout, -1);
    assert_eq!(notify.summary, "Nokia 6230i synced", "{notify:?}");
    assert!(
        notify.body.contains("contacts: 3 added from the phone"),
        "{notify:?}"
    );
    assert!(notify.body.contains("calendar: no change"), "{notify:?}");

    // The same phone with a wrong password: the failure, and what to do about it.
    let refused = phone_syncs(
        &phone,
        &address,
        &["--user", "ada", "--password", "wrong one"],
    );
    assert!(!text(&refused).contains("completed"), "{}", text(&refused));
    let notify = next_notification(&calls);
    assert_eq!(notify.summary, "Sync with Nokia 6230i failed", "{notify:?}");
    assert!(notify.body.contains("password"), "{notify:?}");

    // The link drops in the middle of the phone's changes (80 new contacts).
    let cut = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args(["emulate", "--profile", "nokia-6230i", "--generate", "80"])
        .arg("--data")
        .arg(dir.join("other-phone"))
        .args(["--connect-obex-tcp", &address, "--timeout", "20"])
        .args(["--user", "ada", "--password", "right one"])
        .args(["--cut-after", "10000"])
        .output()
        .unwrap();
    assert!(!text(&cut).contains("completed"), "{}", text(&cut));
    let notify = next_notification(&calls);
    assert!(notify.summary.starts_with("Sync with "), "{notify:?}");
    assert!(notify.summary.ends_with(" failed"), "{notify:?}");
    assert!(
        notify.body.contains("stopped before it completed") && notify.body.contains("sync again"),
        "{notify:?}"
    );
    stop(daemon);
    assert!(
        calls.try_recv().is_err(),
        "one notification per session, none at shutdown"
    );
}

#[test]
fn sync_notify_tells_the_end_of_a_pc_started_sync_and_of_one_that_never_began() {
    let dir = support::scratch_dir("notify-sync");
    let bus = SessionBus::start();
    let calls = fake_notification_server(&bus);

    let mut phone = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args(["emulate", "--profile", "nokia-6230i", "--generate", "2"])
        .args(["--listen-obex-tcp", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(phone.stdout.take().unwrap()).lines();
    let phone_address = loop {
        let line = lines.next().expect("the phone listens").unwrap();
        if let Some(rest) = line.strip_prefix("emulate: listening for OBEX on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let sync = handsync(&dir, Some(&bus.address))
        .args(["sync", "--notify", "--obex-tcp", &phone_address])
        .args(["--datastore", "contacts", "--timeout", "20"])
        .output()
        .unwrap();
    assert!(sync.status.success(), "{}", text(&sync));
    assert!(phone.wait().unwrap().success());
    let notify = next_notification(&calls);
    assert_eq!(notify.summary, "Nokia 6230i synced", "{notify:?}");
    assert_eq!(
        notify.body, "contacts: 2 added from the phone",
        "{notify:?}"
    );

    // Nobody listens there: no session ever began, and the user is told all the same.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = closed.local_addr().unwrap().to_string();
    drop(closed);
    let sync = handsync(&dir, Some(&bus.address))
        .args(["sync", "--notify", "--obex-tcp", &nowhere])
        .output()
        .unwrap();
    assert!(!sync.status.success(), "{}", text(&sync));
    let notify = next_notification(&calls);
    assert_eq!(
        notify.summary,
        format!("Sync with the phone at {nowhere} failed"),
        "{notify:?}"
    );
    assert!(
        notify.body.contains("cannot connect") && notify.body.contains("Check that the phone"),
        "{notify:?}"
    );

    // Without --notify (a user at a terminal, a script): nothing on the desktop.
    let sync = handsync(&dir, Some(&bus.address))
        .args(["sync", "--obex-tcp", &nowhere])
        .output()
        .unwrap();
    assert!(!sync.status.success());
    assert!(
        calls.recv_timeout(Duration::from_secs(2)).is_err(),
        "no notification without --notify"
    );
}

#[test]
fn no_bus_or_no_notification_server_never_hurts_or_slows_a_sync() {
    let dir = support::scratch_dir("notify-none");
    // A bus where nobody owns org.freedesktop.Notifications (a desktop without a notification
    // daemon), then no bus at all (a system service).
    let bus = SessionBus::start();
    for (round, address) in [Some(bus.address.as_str()), None].into_iter().enumerate() {
        let (daemon, obex) = serve(&dir, address, &[]);
        let phone = dir.join(format!("phone-{round}"));
        let started = Instant::now();
        let synced = phone_syncs(&phone, &obex, &[]);
        assert!(synced.status.success(), "{}", text(&synced));
        assert!(text(&synced).contains("completed"), "{}", text(&synced));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the sync took {:?}",
            started.elapsed()
        );
        let stopping = Instant::now();
        stop(daemon);
        assert!(stopping.elapsed() < Duration::from_secs(5));
    }
    // --no-notify: serve runs as before, on a bus or not.
    let (daemon, obex) = serve(&dir, Some(&bus.address), &["--no-notify"]);
    let synced = phone_syncs(&dir.join("phone-quiet"), &obex, &[]);
    assert!(synced.status.success(), "{}", text(&synced));
    stop(daemon);
}
