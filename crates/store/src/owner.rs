//! Which process serves a session, so that a session left `running` by a process that died
//! (killed, crashed, the power went) can be told from one a live process is serving: the
//! daemon and a `handsync sync` started by udev may share the database.
//!
//! A process is named by the boot it runs in, its pid and its start time (field 22 of
//! `/proc/<pid>/stat`, in clock ticks since boot): a pid reused after a reboot or by a later
//! process is not taken for the owner.

use std::sync::OnceLock;

/// The process serving a session, as the `sessions.owner` column keeps it:
/// `<boot id>:<pid>:<start time>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessTag {
    pub boot_id: String,
    pub pid: u32,
    pub start_time: u64,
}

/// What became of the process that owns a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// It still runs (or we cannot tell: a session is never cut on a guess).
    Alive,
    /// It ended; the text says how, for the session's error.
    Ended(String),
}

const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

impl ProcessTag {
    /// This process, read from /proc once; `None` where /proc does not tell (then no owner
    /// is recorded and nothing is judged orphaned).
    pub fn current() -> Option<&'static ProcessTag> {
        static CURRENT: OnceLock<Option<ProcessTag>> = OnceLock::new();
        CURRENT
            .get_or_init(|| {
                let tag = read_current();
                if tag.is_none() {
                    tracing::warn!(
                        "cannot name this process from /proc: sessions left running by \
                         ended processes will not be found"
                    );
                }
                tag
            })
            .as_ref()
    }

    pub fn to_column(&self) -> String {
        format!("{}:{}:{}", self.boot_id, self.pid, self.start_time)
    }

    pub fn from_column(text: &str) -> Option<ProcessTag> {
        let mut parts = text.rsplitn(3, ':');
        let start_time = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let boot_id = parts.next()?.to_string();
        Some(ProcessTag {
            boot_id,
            pid,
            start_time,
        })
    }

    /// Whether this process still runs, judged from `current` (the process asking).
    pub fn liveness(&self, current: &ProcessTag) -> Liveness {
        if self.boot_id != current.boot_id {
            return Liveness::Ended(format!(
                "the process serving it ended (pid {}, before the system restarted)",
                self.pid
            ));
        }
        if *self == *current {
            return Liveness::Alive;
        }
        let ended = || Liveness::Ended(format!("the process serving it ended (pid {})", self.pid));
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ended(),
            Err(e) => {
                tracing::warn!(pid = self.pid, error = %e, "cannot tell whether a session's process runs");
                Liveness::Alive
            }
            Ok(stat) => match parse_stat(&stat) {
                // A zombie has ended: it only waits for its parent to reap it.
                Some((state, start_time)) if start_time == self.start_time => {
                    if matches!(state, 'Z' | 'X' | 'x') {
                        ended()
                    } else {
                        Liveness::Alive
                    }
                }
                // The pid now names a later process.
                Some(_) => ended(),
                None => {
                    tracing::warn!(pid = self.pid, "unreadable /proc/<pid>/stat");
                    Liveness::Alive
                }
            },
        }
    }
}

fn read_current() -> Option<ProcessTag> {
    let boot_id = std::fs::read_to_string(BOOT_ID_PATH).ok()?;
    let pid = std::process::id();
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, start_time) = parse_stat(&stat)?;
    Some(ProcessTag {
        boot_id: boot_id.trim().to_string(),
        pid,
        start_time,
    })
}

/// The state (field 3) and start time (field 22) of a `/proc/<pid>/stat` line. The command
/// name (field 2) is in parentheses and may hold spaces and parentheses itself, so the fields
/// are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 was the state: the start time is 19 fields further on.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some((state, start_time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_line_is_read_past_a_name_with_spaces_and_parentheses() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        assert_eq!(parse_stat(line), Some(('S', 987_654)));
        assert_eq!(parse_stat("4242 (x) S 1 2"), None);
    }

    #[test]
    fn a_tag_survives_its_column() {
        let tag = ProcessTag {
            boot_id: "6f1c2d9e-3b1a-4c55-9e0f-2a8d7c1b4e30".into(),
            pid: 1234,
            start_time: 5678,
        };
        assert_eq!(ProcessTag::from_column(&tag.to_column()), Some(tag));
        assert_eq!(ProcessTag::from_column("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_or_another_boot_is_not() {
        let current = ProcessTag::current().expect("Linux has /proc");
        assert_eq!(current.pid, std::process::id());
        assert_eq!(current.liveness(current), Liveness::Alive);
        // Another process of this boot that runs: the test's parent (cargo or a shell).
        let parent = std::os::unix::process::parent_id();
        let stat = std::fs::read_to_string(format!("/proc/{parent}/stat")).unwrap();
        let running_parent = ProcessTag {
            boot_id: current.boot_id.clone(),
            pid: parent,
            start_time: parse_stat(&stat).unwrap().1,
        };
        assert_eq!(running_parent.liveness(current), Liveness::Alive);
        let reused_pid = ProcessTag {
            start_time: running_parent.start_time + 1,
            ..running_parent.clone()
        };
        assert!(matches!(reused_pid.liveness(current), Liveness::Ended(_)));

        let mut child = std::process::Command::new("true").spawn().unwrap();
        let child_pid = child.id();
        child.wait().unwrap();
        let reaped = ProcessTag {
            boot_id: current.boot_id.clone(),
            pid: child_pid,
            start_time: 1,
        };
        assert_eq!(
            reaped.liveness(current),
            Liveness::Ended(format!("the process serving it ended (pid {child_pid})"))
        );
        let other_boot = ProcessTag {
            boot_id: "00000000-0000-0000-0000-000000000000".into(),
            ..current.clone()
        };
        assert!(matches!(other_boot.liveness(current), Liveness::Ended(_)));
    }
}
