//! Progress of a long sync on the terminal: one bar per datastore of each session (items done
//! of those announced, bytes moved) and an estimate of the time left from the link's rate.
//! Drawn by indicatif on stderr, and only when stderr is a terminal: pipes and logs get
//! nothing of it.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::ProgressStyle;
use indicatif::{HumanBytes, HumanDuration, MultiProgress, ProgressBar, ProgressDrawTarget};

use crate::daemon::observe::{SessionEnd, SessionObserver, SessionProgress};
use crate::engine::DatastoreProgress;
use crate::store::Datastore;
use crate::transport::sessions::SessionKey;

/// What a message item costs on the wire before anything was measured (a vCard with its
/// SyncML wrapping, in WBXML).
const BYTES_PER_ITEM_GUESS: u64 = 400;

/// The link's speed as far as it is known before the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRate {
    /// Bytes a second the link carries at best (a serial line's baud, Bluetooth's usual).
    Nominal(u64),
    /// Not known up front (TCP, USB, infrared before its speed is negotiated): measured.
    Measured,
}

impl LinkRate {
    /// A serial line at `baud`, 8N1: ten bits a byte.
    pub fn serial(baud: u32) -> LinkRate {
        LinkRate::Nominal(u64::from(baud) / 10)
    }

    /// RFCOMM on the Bluetooth 1.2/2.0 phones of the time: about 50 KB/s in practice.
    pub const BLUETOOTH: LinkRate = LinkRate::Nominal(50_000);
}

/// Draws a sync's progress; built only for a terminal ([`SyncProgress::on_terminal`]).
#[derive(Debug)]
pub struct SyncProgress {
    bars: MultiProgress,
    link: LinkRate,
    /// Bars are cleared when their session ends (`serve`, where sessions come and go) rather
    /// than left on the screen (`sync`, whose one session's result follows them).
    clear_at_end: bool,
    sessions: Mutex<HashMap<SessionKey, State>>,
}

#[derive(Debug)]
struct State {
    started: Instant,
    /// Bytes of the session's messages both ways so far.
    wire_bytes: u64,
    datastores: HashMap<Datastore, ProgressBar>,
}

impl SyncProgress {
    /// Progress bars on stderr when it is a terminal; `None` otherwise.
    pub fn on_terminal(link: LinkRate, clear_at_end: bool) -> Option<SyncProgress> {
        std::io::stderr().is_terminal().then(|| SyncProgress {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            link,
            clear_at_end,
            sessions: Mutex::new(HashMap::new()),
        })
    }
}

impl SessionObserver for SyncProgress {
    fn progress(&self, progress: &SessionProgress) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let state = sessions.entry(progress.session).or_insert_with(|| State {
            started: Instant::now(),
            wire_bytes: 0,
            datastores: HashMap::new(),
        });
        state.wire_bytes += progress.message_in + progress.message_out;
        let elapsed = state.started.elapsed();
        let rate = rate(self.link, state.wire_bytes, elapsed);
        let done: u64 = progress.datastores.iter().map(items_done).sum();
        let per_item = match done {
            0 => BYTES_PER_ITEM_GUESS,
            done => (state.wire_bytes / done).max(1),
        };
        for datastore in &progress.datastores {
            let bar = state
                .datastores
                .entry(datastore.datastore)
                .or_insert_with(|| {
                    let bar = ProgressBar::no_length().with_style(style(COUNTING));
                    bar.set_prefix(datastore.datastore.to_string());
                    self.bars.add(bar)
                })
                .clone();
            draw(&bar, datastore, per_item, rate);
        }
    }

    fn ended(&self, end: &SessionEnd) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = sessions.remove(&end.session) else {
            return;
        };
        for bar in state.datastores.values() {
            if self.clear_at_end {
                bar.finish_and_clear();
                self.bars.remove(bar);
            } else {
                bar.finish();
            }
        }
    }
}

fn items_done(datastore: &DatastoreProgress) -> u64 {
    datastore.from_phone + datastore.to_phone
}

/// Items to move in all, once known: what the phone announced (NumberOfChanges) and what we
/// queued for it.
fn items_total(datastore: &DatastoreProgress) -> Option<u64> {
    let from_phone = datastore.from_phone_announced?;
    Some((from_phone + datastore.to_phone_queued).max(items_done(datastore)))
}

/// Bytes a second: measured once a tenth of a second of the session has passed, the link's
/// nominal rate before (a phone's own pace usually sets the rate, not the link).
fn rate(link: LinkRate, wire_bytes: u64, elapsed: Duration) -> Option<u64> {
    let measured = (elapsed >= Duration::from_millis(100) && wire_bytes > 0)
        .then(|| (wire_bytes as f64 / elapsed.as_secs_f64()) as u64);
    match (measured, link) {
        (Some(measured), _) => Some(measured.max(1)),
        (None, LinkRate::Nominal(rate)) => Some(rate.max(1)),
        (None, LinkRate::Measured) => None,
    }
}

/// The time left for `remaining` items of `per_item` bytes each at `rate`.
pub fn estimate(remaining: u64, per_item: u64, rate: Option<u64>) -> Option<Duration> {
    let rate = rate?;
    Some(Duration::from_secs_f64(
        (remaining * per_item) as f64 / rate as f64,
    ))
}

fn draw(bar: &ProgressBar, datastore: &DatastoreProgress, per_item: u64, rate: Option<u64>) {
    let bytes = HumanBytes(datastore.from_phone_bytes + datastore.to_phone_bytes);
    let done = items_done(datastore);
    match items_total(datastore) {
        Some(total) => {
            if bar.length() != Some(total) {
                bar.set_style(style(BAR));
                bar.set_length(total);
            }
            bar.set_position(done);
            let left = Some(total - done)
                .filter(|remaining| *remaining > 0)
                .and_then(|remaining| estimate(remaining, per_item, rate))
                .map_or_else(String::new, |eta| format!(", ~{} left", HumanDuration(eta)));
            bar.set_message(format!("{bytes}{left}"));
        }
        None => {
            if bar.length().is_some() {
                bar.set_style(style(COUNTING));
                bar.unset_length();
            }
            bar.set_position(done);
            bar.set_message(format!("{bytes}"));
        }
    }
}

/// Items of a known total (the phone announced its changes).
const BAR: &str = "{prefix:>9} [{bar:30}] {pos}/{len} items, {msg}";
/// Items without a total (a SyncML 1.0 phone, or one that does not announce).
const COUNTING: &str = "{prefix:>9} {pos} items, {msg}";

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_follows_the_link_until_the_session_measured_its_own_rate() {
        // A 115200 baud cable: 11520 bytes a second before a second has passed.
        let link = LinkRate::serial(115_200);
        assert_eq!(rate(link, 4_000, Duration::from_millis(50)), Some(11_520));
        // Then the session's own pace: the phone thinks between messages.
        assert_eq!(rate(link, 6_000, Duration::from_secs(2)), Some(3_000));
        assert_eq!(rate(LinkRate::Measured, 10, Duration::from_millis(5)), None);
        // 100 items of 400 bytes at 4000 bytes a second: ten seconds.
        assert_eq!(
            estimate(100, 400, Some(4_000)),
            Some(Duration::from_secs(10))
        );
        assert_eq!(estimate(100, 400, None), None);
    }

    #[test]
    fn items_total_is_known_once_the_phone_announced_its_changes() {
        let mut progress = DatastoreProgress {
            datastore: Datastore::Contacts,
            from_phone_announced: None,
            from_phone: 3,
            from_phone_bytes: 900,
            to_phone_queued: 2,
            to_phone: 0,
            to_phone_bytes: 0,
        };
        assert_eq!(items_total(&progress), None);
        progress.from_phone_announced = Some(10);
        assert_eq!(items_total(&progress), Some(12));
    }
}
