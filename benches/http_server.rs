//! Server cost of a slow sync of 5,000 contacts over HTTP on loopback: handsync against
//! SyncEvolution's own HTTP server, side by side, with the same client (SyncEvolution's,
//! through `../shared/tools/syncevolution/run-client.sh`), the same vCards and the same
//! settings (WBXML, SyncML 1.2, the client's default MaxMsgSize).
//!
//! Measured per server, over its whole process group (SyncEvolution's server is a Python
//! front end, a D-Bus daemon, its sync server and a helper per session):
//! - wall time of the client's sync run;
//! - server CPU: user + system time of every process in the group, waited-for children
//!   included, before and after;
//! - peak memory: the largest sum of the group's resident sets, sampled every 20 ms (a
//!   helper that exits takes its own peak with it, so sampling is the fair common measure).
//!
//! `cargo bench --bench http_server` (needs Debian's syncevolution, syncevolution-http,
//! dbus, python3-venv, python3-dbus, python3-gi; `run-server.sh` makes a venv with Twisted
//! on first use). `HANDSYNC_BENCH_CONTACTS` changes the count.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;

fn main() {
    // `cargo test --all-targets` runs benches once as tests (without --bench): a smoke run of
    // handsync alone, with a few contacts, checks the harness without SyncEvolution's server.
    let quick = !std::env::args().any(|a| a == "--bench");
    let count: usize = std::env::var("HANDSYNC_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 50 } else { 5000 });
    let tools = tools_dir();
    let client_script = tools.join("syncevolution/run-client.sh");
    let server_script = tools.join("syncevolution/run-server.sh");
    for script in [&client_script, &server_script] {
        assert!(script.exists(), "{} is missing", script.display());
    }
    let base = std::env::temp_dir().join(format!("handsync-bench-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    println!("slow sync of {count} contacts, SyncEvolution client -> server over HTTP (WBXML, SyncML 1.2)");

    // ---- handsync ----
    let handsync_dir = base.join("handsync");
    let contacts = handsync_dir.join("client-contacts");
    write_contacts(&contacts, count);
    let db = handsync_dir.join("handsync.db");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["serve", "--no-desktop", "--http", "127.0.0.1:0"])
        .env("XDG_CONFIG_HOME", &handsync_dir)
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("handsync serve starts");
    let mut lines = BufReader::new(daemon.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("HTTP: listening on ") {
            break format!("{}sync", rest.trim());
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let handsync = measure(daemon.id() as i32, || {
        run_client(
            &client_script,
            &url,
            &contacts,
            &handsync_dir.join("client"),
            "Contacts",
        )
    });
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    let _ = daemon.wait();
    let stored = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["export", "--datastore", "contacts"])
        .output()
        .unwrap();
    let handsync_items = String::from_utf8_lossy(&stored.stdout)
        .matches("BEGIN:VCARD")
        .count();

    assert_eq!(handsync_items, count, "handsync stored every contact");
    if quick {
        println!(
            "smoke run: handsync took {count} contacts in {:.2} s wall, {:.2} s CPU",
            handsync.wall.as_secs_f64(),
            handsync.cpu.as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&base);
        return;
    }

    // ---- SyncEvolution's server ----
    let sevo_dir = base.join("syncevolution");
    let contacts = sevo_dir.join("client-contacts");
    write_contacts(&contacts, count);
    let data = sevo_dir.join("data");
    let state = sevo_dir.join("state");
    let port = free_port();
    let started = Command::new("bash")
        .arg(&server_script)
        .arg("--state")
        .arg(&state)
        .args(["--device-id", "bench-client"])
        .arg(port.to_string())
        .arg(&data)
        .output()
        .expect("run-server.sh runs");
    let printed = String::from_utf8_lossy(&started.stdout).into_owned();
    assert!(
        started.status.success(),
        "SyncEvolution's server did not start:\n{printed}\n{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("run-server.sh printed no {name}:\n{printed}"))
            .trim()
            .to_string()
    };
    let sevo_url = field("SERVER_URL");
    let pgid: i32 = field("PGID").parse().unwrap();
    let sevo = measure(pgid, || {
        run_client(
            &client_script,
            &sevo_url,
            &contacts,
            &sevo_dir.join("client"),
            "addressbook",
        )
    });
    let _ = Command::new("bash")
        .arg(&server_script)
        .arg("--stop")
        .arg(&state)
        .output();
    let sevo_items = std::fs::read_dir(data.join("contacts"))
        .map(|d| d.count())
        .unwrap_or(0);

    assert_eq!(sevo_items, count, "SyncEvolution stored every contact");

    println!();
    println!(
        "{:<28} {:>12} {:>14} {:>14}",
        "server", "wall (s)", "server CPU (s)", "peak RSS (MiB)"
    );
    for (name, m) in [("handsync", &handsync), ("SyncEvolution server", &sevo)] {
        println!(
            "{:<28} {:>12.2} {:>14.2} {:>14.1}",
            name,
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.peak_rss as f64 / (1024.0 * 1024.0)
        );
    }
    println!();
    println!(
        "handsync vs SyncEvolution: server CPU {:.1}x less, peak memory {:.1}x less, wall {:.1}x less",
        sevo.cpu.as_secs_f64() / handsync.cpu.as_secs_f64().max(1e-9),
        sevo.peak_rss as f64 / handsync.peak_rss.max(1) as f64,
        sevo.wall.as_secs_f64() / handsync.wall.as_secs_f64().max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&base);
}

struct Measured {
    wall: Duration,
    cpu: Duration,
    peak_rss: u64,
}

/// Runs `work` while sampling the process group `pgid`.
fn measure(pgid: i32, work: impl FnOnce()) -> Measured {
    let cpu_before = group_cpu(pgid);
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let running = running.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while running.load(Ordering::Relaxed) {
                peak = peak.max(group_rss(pgid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak.max(group_rss(pgid))
        })
    };
    let start = Instant::now();
    work();
    let wall = start.elapsed();
    running.store(false, Ordering::Relaxed);
    let peak_rss = sampler.join().unwrap();
    let cpu = group_cpu(pgid).saturating_sub(cpu_before);
    Measured {
        wall,
        cpu,
        peak_rss,
    }
}

/// The `/proc/PID/stat` fields of every process in the group: (utime+stime+cutime+cstime
/// in ticks, RSS in pages).
fn group_stats(pgid: i32) -> Vec<(u64, u64)> {
    let mut stats = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return stats;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces: split after the last ')'.
        let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] is the state (stat field 3): field N is fields[N - 3].
        let get = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<i64>().ok());
        if get(5) != Some(pgid as i64) {
            continue;
        }
        let ticks: i64 = [14, 15, 16, 17].iter().filter_map(|&n| get(n)).sum();
        stats.push((ticks.max(0) as u64, get(24).unwrap_or(0).max(0) as u64));
    }
    stats
}

fn group_cpu(pgid: i32) -> Duration {
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ticks: u64 = group_stats(pgid).iter().map(|(t, _)| t).sum();
    Duration::from_secs_f64(ticks as f64 / ticks_per_second)
}

fn group_rss(pgid: i32) -> u64 {
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    group_stats(pgid)
        .iter()
        .map(|(_, pages)| pages * page)
        .sum()
}

fn run_client(script: &Path, url: &str, contacts: &Path, home: &Path, uri: &str) {
    let output = Command::new("bash")
        .arg(script)
        .args(["--url", url, "--contacts"])
        .arg(contacts)
        .args(["--mode", "slow", "--wbxml", "1", "--version", "1.2"])
        .args(["--device-id", "bench-client", "--contacts-uri", uri])
        .args(["--timeout", "1800"])
        .arg("--home")
        .arg(home)
        .output()
        .expect("run-client.sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("synchronization completed successfully"),
        "the client's sync against {url} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `count` realistic vCard 3.0 files, one per contact, as SyncEvolution's file backend keeps
/// them.
fn write_contacts(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for n in 0..count {
        let card = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller{n};Anna;Maria;Dr.;\r\nFN:Dr. Anna Maria Müller{n}\r\n\
             ORG:Example GmbH;Sales\r\nTITLE:Account Manager\r\n\
             TEL;TYPE=CELL:+49 170 {n:07}\r\nTEL;TYPE=WORK,VOICE:+49 30 {n:06}\r\n\
             EMAIL;TYPE=INTERNET,WORK:anna.mueller{n}@example.org\r\n\
             ADR;TYPE=HOME:;;Hauptstraße {n};Berlin;;10115;Germany\r\n\
             BDAY:1970-01-{:02}\r\nNOTE:Met at the fair in Hannover\\, hall {n}.\r\n\
             END:VCARD\r\n",
            n % 28 + 1
        );
        std::fs::write(dir.join(format!("{n:05}.vcf")), card).unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HANDSYNC_TOOLS") {
        return PathBuf::from(dir);
    }
    let corpus = std::env::var_os("HANDSYNC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    corpus.join("../tools")
}
