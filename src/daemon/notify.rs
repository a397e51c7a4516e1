//! Desktop notifications when a sync nobody watched on a terminal ends (the phone started it,
//! or udev did): org.freedesktop.Notifications on the user's session bus.
//!
//! Each notification is sent from a thread of its own, so the session hub never waits on
//! D-Bus; a missing bus (a system daemon, a headless machine) is a debug line, never an
//! error, and a bus that does not answer is given up after [`CALL_TIMEOUT`].

use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::observe::{Outcome, SessionEnd, SessionObserver};
use crate::store::{Datastore, Direction, SessionCounts};

/// How long one Notify call may take before it is given up.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Sends a notification for each session that ends.
#[derive(Debug, Default)]
pub struct DesktopNotifier {
    sending: Mutex<Vec<JoinHandle<()>>>,
    /// Notifications handed to a thread so far.
    told: std::sync::atomic::AtomicUsize,
}

impl DesktopNotifier {
    pub fn new() -> DesktopNotifier {
        DesktopNotifier::default()
    }

    /// Waits, at most `within`, for the notifications under way (a process about to exit
    /// would cut them off); those still stuck are left behind.
    pub fn flush(&self, within: Duration) {
        let deadline = Instant::now() + within;
        let sending = std::mem::take(&mut *self.sending.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in sending {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

impl SessionObserver for DesktopNotifier {
    fn ended(&self, end: &SessionEnd) {
        let (summary, body) = notification_text(end);
        self.tell(summary, body);
    }
}

impl DesktopNotifier {
    /// How many notifications were handed on so far.
    pub fn told(&self) -> usize {
        self.told.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends a notification from a thread of its own (a sync that failed before any session
    /// began has no [`SessionEnd`], and is told this way).
    pub fn tell(&self, summary: String, body: String) {
        self.told.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("handsync-notify".into())
            .spawn(move || match send(&summary, &body) {
                Ok(Some(id)) => tracing::debug!(id, summary, "desktop notification sent"),
                Ok(None) => {}
                Err(error) => tracing::debug!(%error, "no desktop notification"),
            });
        match spawned {
            Ok(thread) => {
                let mut sending = self.sending.lock().unwrap_or_else(|e| e.into_inner());
                sending.retain(|t| !t.is_finished());
                sending.push(thread);
            }
            Err(error) => tracing::debug!(%error, "no thread for a desktop notification"),
        }
    }
}

/// The session bus's address: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus when that
/// socket exists. Never libdbus's own fallback, which may launch a bus of its own.
fn session_bus_address() -> Option<String> {
    if let Some(address) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|a| !a.is_empty()) {
        return address.into_string().ok();
    }
    let socket = PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR")?).join("bus");
    socket
        .exists()
        .then(|| format!("unix:path={}", socket.display()))
}

/// Sends one notification; `Ok(None)` when there is no session bus to send it on.
fn send(summary: &str, body: &str) -> Result<Option<u32>, dbus::Error> {
    let Some(address) = session_bus_address() else {
        tracing::debug!("no session bus: no desktop notification");
        return Ok(None);
    };
    let mut channel = dbus::channel::Channel::open_private(&address)?;
    channel.register()?;
    let connection = dbus::blocking::Connection::from(channel);
    let proxy = connection.with_proxy(
        "org.freedesktop.Notifications",
        "/org/freedesktop/Notifications",
        CALL_TIMEOUT,
    );
    let (id,): (u32,) = proxy.method_call(
        "org.freedesktop.Notifications",
        "Notify",
        (
            "handsync",
            0u32,
            "phone",
            summary,
            body,
            Vec::<String>::new(),
            dbus::arg::PropMap::new(),
            -1i32,
        ),
    )?;
    Ok(Some(id))
}

/// The notification's summary and body: which phone, and what changed or what went wrong
/// and what to do about it.
pub fn notification_text(end: &SessionEnd) -> (String, String) {
    let phone = &end.phone;
    match &end.outcome {
        Outcome::Completed { datastores, counts } => {
            (format!("{phone} synced"), changes_text(datastores, counts))
        }
        Outcome::Failed { error } if error.contains("authentication") => (
            format!("Sync with {phone} failed"),
            format!(
                "{error}: check the user name and password in the phone's sync profile \
                 (handsync account list shows the accounts), then sync again."
            ),
        ),
        Outcome::Failed { error } => (
            format!("Sync with {phone} failed"),
            format!(
                "{error}. Nothing was changed for good: the next sync starts over \
                 (handsync history shows the session)."
            ),
        ),
        Outcome::Cut {
            why,
            logged_in: false,
        } => (
            format!("Sync with {phone} failed"),
            format!(
                "The phone stopped before it logged in ({why}): check the user name and \
                 password in its sync profile, then sync again."
            ),
        ),
        Outcome::Cut {
            why,
            logged_in: true,
        } => (
            format!("Sync with {phone} failed"),
            format!(
                "The sync stopped before it completed ({why}). Keep the phone in reach (or \
                 plugged in) and sync again: the next sync catches up."
            ),
        ),
    }
}

/// `contacts: 2 added, 1 changed from the phone; 1 added to the phone` and
/// `calendar: no change`, one line per datastore synced.
fn changes_text(datastores: &[Datastore], counts: &[SessionCounts]) -> String {
    let mut listed: Vec<Datastore> = datastores.to_vec();
    for count in counts {
        if !listed.contains(&count.datastore) {
            listed.push(count.datastore);
        }
    }
    if listed.is_empty() {
        return "no change".into();
    }
    let lines: Vec<String> = listed
        .iter()
        .map(|datastore| {
            let directions: Vec<String> = [
                (Direction::FromPhone, "from the phone"),
                (Direction::ToPhone, "to the phone"),
            ]
            .into_iter()
            .filter_map(|(direction, words)| {
                let count = counts
                    .iter()
                    .find(|c| c.datastore == *datastore && c.direction == direction)?;
                let parts: Vec<String> = [
                    (count.added, "added"),
                    (count.replaced, "changed"),
                    (count.deleted, "deleted"),
                ]
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
                (!parts.is_empty()).then(|| format!("{} {words}", parts.join(", ")))
            })
            .collect();
            if directions.is_empty() {
                format!("{datastore}: no change")
            } else {
                format!("{datastore}: {}", directions.join("; "))
            }
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::sessions::SessionKey;

    fn end(outcome: Outcome) -> SessionEnd {
        SessionEnd {
            session: SessionKey(7),
            phone: "Nokia 6230i".into(),
            outcome,
        }
    }

    #[test]
    fn a_completed_sync_lists_each_datastore_with_its_changes_or_none() {
        let counts = vec![
            SessionCounts {
                datastore: Datastore::Contacts,
                direction: Direction::FromPhone,
                added: 2,
                replaced: 1,
                deleted: 0,
            },
            SessionCounts {
                datastore: Datastore::Contacts,
                direction: Direction::ToPhone,
                added: 1,
                replaced: 0,
                deleted: 0,
            },
        ];
        let (summary, body) = notification_text(&end(Outcome::Completed {
            datastores: vec![Datastore::Contacts, Datastore::Calendar],
            counts,
        }));
        assert_eq!(summary, "Nokia 6230i synced");
        assert_eq!(
            body,
            "contacts: 2 added, 1 changed from the phone; 1 added to the phone\ncalendar: no change"
        );
    }

    #[test]
    fn a_failure_says_what_to_do() {
        let (summary, body) = notification_text(&end(Outcome::Failed {
            error: "authentication failed".into(),
        }));
        assert_eq!(summary, "Sync with Nokia 6230i failed");
        assert!(body.contains("password"), "{body}");
        let (_, body) = notification_text(&end(Outcome::Cut {
            why: "transport closed".into(),
            logged_in: true,
        }));
        assert!(
            body.contains("transport closed") && body.contains("catches up"),
            "{body}"
        );
    }
}
