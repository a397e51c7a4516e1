//! A slow sync of 300 contacts over infrared: `handsync sync --irda` against `handsync
//! emulate --irda-pty` (Nokia 6230i, MaxMsgSize 3584) across the simulated air, at 9600 b/s
//! (a plain adapter) and 115200 b/s (a SIR port), without and with 1% of frames lost.
//!
//! The physical floor is the air time of every frame the PC's capture holds (SIR-encoded:
//! BOF, escapes, FCS, EOF; 10 bits a byte), both directions added since IrDA is half-duplex.
//! The link's share is measured from the UA that opened the link to the last frame; the
//! whole command's wall time (discovery, IAS, the database) is shown beside it.
//!
//! `cargo bench --bench irda`; `HANDSYNC_BENCH_CONTACTS` changes the count. Under `cargo
//! test` (no `--bench`) a quick run of 20 contacts at 115200 checks the harness.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use handsync_proto::irda::sir;

struct Case {
    dongle: &'static str,
    speed: u32,
    loss: f64,
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let count: usize = std::env::var("HANDSYNC_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20 } else { 300 });
    let cases: Vec<Case> = if quick {
        vec![Case {
            dongle: "sir",
            speed: 115_200,
            loss: 0.0,
        }]
    } else {
        let mut cases = Vec::new();
        for (dongle, speed) in [("plain", 9600), ("sir", 115_200)] {
            for loss in [0.0, 0.01] {
                cases.push(Case {
                    dongle,
                    speed,
                    loss,
                });
            }
        }
        cases
    };
    println!("IrDA slow sync of {count} contacts, Nokia 6230i emulated, simulated air");
    println!(
        "{:>7} {:>5} {:>9} {:>9} {:>9} {:>7} {:>8} {:>7}",
        "speed", "loss", "command", "link", "floor", "ratio", "frames", "air KB"
    );
    for case in cases {
        run(&case, count);
    }
}

fn run(case: &Case, count: usize) {
    let dir = std::env::temp_dir().join(format!(
        "handsync-bench-irda-{}-{}-{}",
        std::process::id(),
        case.speed,
        (case.loss * 100.0) as u32
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut phone = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args([
            "emulate",
            "--irda-pty",
            "--profile",
            "nokia-6230i",
            "--timeout",
            "120",
        ])
        .args(["--generate", &count.to_string()])
        .args(["--air-loss", &case.loss.to_string(), "--air-seed", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let mut lines = BufReader::new(phone.stdout.take().unwrap()).lines();
    let path = loop {
        let line = lines.next().expect("the emulator names its pty").unwrap();
        if let Some(path) = line.strip_prefix("emulate: infrared on ") {
            break path.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let capture = dir.join("session.pcap");
    let started = Instant::now();
    let sync = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(dir.join("handsync.db"))
        .args(["sync", "--irda", &path, "--dongle", case.dongle])
        .args(["--datastore", "contacts", "--timeout", "120", "--capture"])
        .arg(&capture)
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .expect("handsync runs");
    let command = started.elapsed();
    let said = String::from_utf8_lossy(&sync.stderr);
    assert!(sync.status.success(), "{said}");
    assert!(said.contains(&format!("at {} b/s", case.speed)), "{said}");
    let _ = phone.wait();
    let air = air_of(&capture, case.speed);
    println!(
        "{:>7} {:>4}% {:>8.2}s {:>8.2}s {:>8.2}s {:>6.2}x {:>8} {:>7.1}",
        case.speed,
        case.loss * 100.0,
        command.as_secs_f64(),
        air.link.as_secs_f64(),
        air.floor.as_secs_f64(),
        air.link.as_secs_f64() / air.floor.as_secs_f64(),
        air.frames,
        air.bytes as f64 / 1024.0,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

struct Air {
    /// From the UA that opened the link to the last frame.
    link: Duration,
    /// The air time of the frames in that span.
    floor: Duration,
    frames: usize,
    bytes: usize,
}

/// Reads a LINKTYPE_LINUX_IRDA capture: records after the 24-byte header, each a 16-byte
/// record header, the 16-byte pseudo-header and the IrLAP frame.
fn air_of(capture: &Path, speed: u32) -> Air {
    let bytes = std::fs::read(capture).expect("the capture was written");
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= bytes.len() {
        let word = |i: usize| u32::from_le_bytes(bytes[at + i..at + i + 4].try_into().unwrap());
        let time = Duration::from_secs(u64::from(word(0))) + Duration::from_micros(word(4).into());
        let len = word(8) as usize;
        let data = &bytes[at + 16..at + 16 + len];
        frames.push((time, data[16..].to_vec()));
        at += 16 + len;
    }
    // The link opens with the secondary's UA (control 0x63, the F bit 0x10 aside).
    let opened = frames
        .iter()
        .position(|(_, frame)| frame.len() >= 2 && frame[1] & !0x10 == 0x63)
        .expect("a UA opened the link");
    let span = &frames[opened + 1..];
    let mut air = Air {
        link: span.last().unwrap().0 - frames[opened].0,
        floor: Duration::ZERO,
        frames: span.len(),
        bytes: 0,
    };
    for (_, frame) in span {
        let on_air = sir::encoded_len(frame, 0);
        air.bytes += on_air;
        air.floor += Duration::from_nanos(on_air as u64 * 10 * 1_000_000_000 / u64::from(speed));
    }
    air
}
