//! Shared helpers for integration tests: where the corpus is, and external oracles.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared test corpus: `$HANDSYNC_CORPUS`, else `../shared/corpus` beside the checkout.
pub fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HANDSYNC_CORPUS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// Files of a corpus folder whose names end with `suffix`, sorted; fails loudly when the
/// corpus is missing, so a misplaced corpus never passes as "no files".
pub fn corpus_files(folder: &str, suffix: &str) -> Vec<PathBuf> {
    let dir = corpus_dir().join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus folder {} unreadable: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *{suffix} in {}", dir.display());
    files
}

/// Whether an external oracle program is installed. When `HANDSYNC_REQUIRE_ORACLES` is set
/// (the README's test command sets it) a missing oracle fails the test instead of skipping it.
pub fn oracle_available(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
            panic!("oracle {program} is not installed (scripts/test-all installs it as root)");
        }
        eprintln!("skipping: oracle {program} is not installed");
    }
    found
}

/// A scratch directory unique to this test process and name, emptied first.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("handsync-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs a program and returns its status, panicking with its output if it could not run.
pub fn run(program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// A small deterministic pseudo-random generator (xorshift64*), so robustness tests are
/// repeatable without a dependency.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The bytes of one corpus file, `relative` to the corpus root (`obex/buteo-SAN01.bin`).
pub fn corpus_file(relative: &str) -> Vec<u8> {
    let path = corpus_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "corpus file {} unreadable ({error}); set HANDSYNC_CORPUS",
            path.display()
        )
    })
}

/// Every file of a corpus folder ending with `suffix`, as (file name, bytes), sorted.
pub fn corpus_contents(folder: &str, suffix: &str) -> Vec<(String, Vec<u8>)> {
    corpus_files(folder, suffix)
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Runs a daemon (`handsync serve ...`) for `how_long`, collects the status lines it prints on
/// stdout meanwhile, then stops it with SIGTERM and checks that it stopped cleanly.
pub fn status_lines_within(mut command: Command, how_long: std::time::Duration) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon");
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + how_long;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(
        child.wait().expect("wait for the daemon").success(),
        "{seen:?}"
    );
    seen
}

/// `handsync emulate ...` running in the background, its stdout after the announcing line
/// collected by a thread.
pub struct EmulatorProcess {
    pub child: std::process::Child,
    rest: std::thread::JoinHandle<String>,
}

impl EmulatorProcess {
    /// Waits for the emulator: whether it succeeded, and everything it printed.
    pub fn finish(self) -> (bool, String) {
        let output = self.child.wait_with_output().unwrap();
        let printed = self.rest.join().unwrap();
        (
            output.status.success(),
            format!("{printed}{}", String::from_utf8_lossy(&output.stderr)),
        )
    }
}

/// Starts `handsync emulate ARGS` and waits for the line starting with `announce` (the
/// device it made: "emulate: cable on ", "emulate: infrared on "); returns the process and
/// the rest of that line.
pub fn emulator_announcing(args: &[&str], announce: &str) -> (EmulatorProcess, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("emulate")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let device = loop {
        let line = lines
            .next()
            .expect("the emulator announces its device")
            .unwrap();
        if let Some(device) = line.strip_prefix(announce) {
            break device.trim().to_string();
        }
    };
    let rest = std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .map(|l| l + "\n")
            .collect::<String>()
    });
    (EmulatorProcess { child, rest }, device)
}

/// Starts a command (`handsync serve ...`) and waits for the stdout line starting with
/// `prefix` ("OBEX over TCP: listening on "); returns the process and the rest of that line.
/// Later lines are read and dropped, so the process never blocks on a full pipe.
pub fn spawn_until(mut command: Command, prefix: &str) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the command");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let found = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{command:?} ended before saying {prefix:?}"))
            .expect("read its stdout");
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, found)
}
