//! A private D-Bus session bus for a test, and a fake notification server on it that owns
//! org.freedesktop.Notifications and records every Notify call (what a desktop would show).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dbus::arg::PropMap;
use dbus::blocking::Connection;
use dbus::channel::{Channel, MatchingReceiver, Sender};
use dbus::message::MatchRule;

/// `dbus-daemon --session` of this test, stopped when dropped.
pub struct SessionBus {
    daemon: Child,
    pub address: String,
}

impl SessionBus {
    pub fn start() -> SessionBus {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (package dbus) runs");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(address.starts_with("unix:"), "bus address {address:?}");
        SessionBus { daemon, address }
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Notify's arguments (signature `susssasa{sv}i`).
type NotifyArgs = (
    String,
    u32,
    String,
    String,
    String,
    Vec<String>,
    PropMap,
    i32,
);

/// One Notify call, as the server received it.
#[derive(Debug, Clone)]
pub struct Notify {
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    pub expire_timeout: i32,
}

/// Owns org.freedesktop.Notifications on `bus` until the test ends; the calls arrive on
/// the receiver.
pub fn fake_notification_server(bus: &SessionBus) -> mpsc::Receiver<Notify> {
    let address = bus.address.clone();
    let (calls, received) = mpsc::channel();
    let (ready, owned) = mpsc::channel();
    std::thread::spawn(move || {
        let mut channel = Channel::open_private(&address).expect("connect to the test bus");
        channel.register().expect("Hello");
        let connection = Connection::from(channel);
        connection
            .request_name("org.freedesktop.Notifications", false, true, true)
            .expect("own the name");
        let mut next_id = 0u32;
        connection.start_receive(
            MatchRule::new_method_call(),
            Box::new(move |message, connection| {
                if message.member().as_deref() != Some("Notify") {
                    return true;
                }
                let args: Result<NotifyArgs, _> = message.read_all();
                let Ok((
                    app_name,
                    replaces_id,
                    app_icon,
                    summary,
                    body,
                    actions,
                    _hints,
                    expire_timeout,
                )) = args
                else {
                    let _ = connection.send(message.error(
                        &"org.freedesktop.DBus.Error.InvalidArgs".into(),
                        c"bad signature",
                    ));
                    return true;
                };
                next_id += 1;
                let _ = connection.send(message.method_return().append1(next_id));
                let _ = calls.send(Notify {
                    app_name,
                    replaces_id,
                    app_icon,
                    summary,
                    body,
                    actions,
                    expire_timeout,
                });
                true
            }),
        );
        ready.send(()).unwrap();
        loop {
            if connection.process(Duration::from_millis(200)).is_err() {
                break;
            }
        }
    });
    owned
        .recv_timeout(Duration::from_secs(10))
        .expect("the fake server owns its name");
    received
}
