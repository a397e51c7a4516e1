//! The daemon's side of the desktop sync: a sync at start, after every phone session, and
//! whenever the desktop edits the vdir (inotify), each after a moment of quiet so that a
//! burst of edits (vdirsyncer writing a hundred files) is one sync.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch, Notify};

use super::{files, DesktopSettings};
use crate::cli::support::now;
use crate::daemon::observe::{SessionEnd, SessionObserver};

/// Pulled when a phone's session ends, so the desktop sees what it changed: the daemon's
/// session observer.
#[derive(Debug, Default)]
pub struct DesktopTrigger(Arc<Notify>);

impl DesktopTrigger {
    pub fn sessions_ended(&self) -> Arc<Notify> {
        Arc::clone(&self.0)
    }
}

impl SessionObserver for DesktopTrigger {
    fn ended(&self, _end: &SessionEnd) {
        self.0.notify_one();
    }
}

/// Quiet needed after the last edit or session before a sync runs.
const QUIET: Duration = Duration::from_millis(500);

/// Why the loop woke up.
enum Wake {
    Desktop,
    Session,
    Stop,
}

/// Whether an inotify event can change what the sync sees: an item file, or a folder (a
/// whole collection moved in or out).
fn relevant(event: &notify::Event) -> bool {
    use notify::EventKind;
    matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any
    ) && event
        .paths
        .iter()
        .any(|p| files::is_item_path(p) || p.extension().is_none())
}

/// Runs until `stopped` turns true. Problems are logged and the loop goes on: a file that
/// does not parse, or a full disk, must not stop the daemon.
pub async fn run(
    settings: DesktopSettings,
    session_ended: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(&settings.vdir)?;
    let (events, mut edits) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            Ok(event) if relevant(&event) => {
                let _ = events.send(());
            }
            Ok(_) => {}
            // Overflow and the like: a sync finds whatever was missed.
            Err(_) => {
                let _ = events.send(());
            }
        }
    })
    .map_err(std::io::Error::other)?;
    watcher
        .watch(&settings.vdir, RecursiveMode::Recursive)
        .map_err(std::io::Error::other)?;
    tracing::info!(vdir = %settings.vdir.display(), "keeping the desktop in step");
    let settings = Arc::new(settings);
    run_once(&settings, "start").await;
    loop {
        let wake = tokio::select! {
            _ = stopped.changed() => Wake::Stop,
            Some(()) = edits.recv() => Wake::Desktop,
            () = session_ended.notified() => Wake::Session,
        };
        let why = match wake {
            Wake::Stop => break,
            Wake::Desktop => "desktop edit",
            Wake::Session => "phone session ended",
        };
        // Wait for quiet: every further edit in the window restarts it.
        loop {
            tokio::select! {
                _ = stopped.changed() => return Ok(()),
                Some(()) = edits.recv() => continue,
                () = tokio::time::sleep(QUIET) => break,
            }
        }
        // Our own writes raise events too, and bring one more sync that finds nothing to do;
        // dropping them here could drop an edit made while this sync ran.
        run_once(&settings, why).await;
        if *stopped.borrow() {
            break;
        }
    }
    drop(watcher);
    Ok(())
}

async fn run_once(settings: &Arc<DesktopSettings>, why: &'static str) {
    let settings = Arc::clone(settings);
    let result = tokio::task::spawn_blocking(move || super::sync(&settings, now())).await;
    match result {
        Ok(Ok(report)) => {
            for conflict in &report.conflicts {
                tracing::warn!("desktop sync: {conflict}");
            }
            for problem in &report.problems {
                tracing::warn!("desktop sync: {problem}");
            }
            if report.changed_anything() {
                tracing::info!(
                    why,
                    to_desktop = %report.to_desktop,
                    from_desktop = %report.from_desktop,
                    "desktop in step"
                );
            }
        }
        Ok(Err(failure)) => tracing::error!(why, "desktop sync failed: {}", failure.message),
        Err(e) => tracing::error!(why, "desktop sync task failed: {e}"),
    }
}
