//! What the benchmarks that run `handsync serve` as a child read of it: its CPU time and
//! its peak memory, from /proc.

use std::time::Duration;

/// utime + stime of a process.
pub fn process_cpu(pid: i32) -> Duration {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let ticks = field(14) + field(15);
    // SAFETY: sysconf reads a constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Duration::from_secs_f64(ticks as f64 / per_second)
}

/// VmHWM: the process's peak resident set.
pub fn peak_rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A share of one core for a child process, through a cgroup (v1 `cpu` controller, or v2):
/// a server given the same share in each run stands for a server machine of that size, so
/// that adding processes measures the server tier and not what else the benchmark's machine
/// runs beside it (phones, proxy, database). Removed when dropped.
#[allow(dead_code)] // Not every benchmark including this module limits a child.
pub struct CpuLimit {
    dir: std::path::PathBuf,
}

#[allow(dead_code)]
impl CpuLimit {
    /// Puts `pid` (all its threads) under a limit of `share` of one core.
    pub fn apply(pid: i32, share: f64, name: &str) -> Result<CpuLimit, String> {
        const PERIOD_US: u64 = 100_000;
        let quota_us = (share * PERIOD_US as f64).round() as u64;
        let v1 = std::path::Path::new("/sys/fs/cgroup/cpu");
        let v2 = std::path::Path::new("/sys/fs/cgroup");
        let (dir, settings): (_, Vec<(&str, String)>) = if v1.join("cpu.cfs_quota_us").exists() {
            (
                v1.join(name),
                vec![
                    ("cpu.cfs_period_us", PERIOD_US.to_string()),
                    ("cpu.cfs_quota_us", quota_us.to_string()),
                ],
            )
        } else if v2.join("cgroup.controllers").exists() {
            (
                v2.join(name),
                vec![("cpu.max", format!("{quota_us} {PERIOD_US}"))],
            )
        } else {
            return Err("no cgroup cpu controller under /sys/fs/cgroup".to_string());
        };
        let fail = |what: &str, e: std::io::Error| {
            format!(
                "{what} {}: {e} (limiting a server's CPU needs root and a writable cgroup)",
                dir.display()
            )
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail("creating", e)),
        }
        let limit = CpuLimit { dir: dir.clone() };
        for (file, value) in settings {
            std::fs::write(dir.join(file), value).map_err(|e| fail(file, e))?;
        }
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| fail("moving the process into", e))?;
        Ok(limit)
    }
}

impl Drop for CpuLimit {
    fn drop(&mut self) {
        // Empty once its process has been waited for; a cgroup directory is removed with
        // rmdir, its files go with it.
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A `handsync serve` the benchmark started: asked to stop (SIGTERM) and waited for when
/// dropped, so that its store is closed and its cgroup, if any, empty.
#[allow(dead_code)] // Not every benchmark including this module starts a server.
pub struct ServeChild(pub std::process::Child);

#[allow(dead_code)]
impl ServeChild {
    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe {
            libc::kill(self.pid(), libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}
