//! A slow sync of 5,000 contacts from the phone emulator to `handsync serve` over OBEX on TCP
//! (Nokia E51 profile: SyncML 1.2, WBXML, MaxMsgSize 10,000): wall time, the server's CPU time
//! and peak memory, messages and bytes each way, and the message counts against the least
//! possible (the SyncML bytes each way divided by MaxMsgSize, rounded up).
//!
//! `cargo bench --bench obex_sync`; `HANDSYNC_BENCH_CONTACTS` changes the count. Under
//! `cargo test` (no `--bench`) a quick run of 100 contacts checks the harness.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod process;

use handsync::emulator::{
    generate, DataSetSpec, DeviceProfile, Direction, EmulatedPhone, PhoneConfig, SyncMode,
    SyncRequest,
};
use handsync::obex::ObexClientConfig;
use handsync::transport::emulated::phone_starts;
use process::{peak_rss_kib, process_cpu};

const MAX_MSG_SIZE: u64 = 10_000;

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let count: usize = std::env::var("HANDSYNC_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 100 } else { 5000 });
    let dir = std::env::temp_dir().join(format!("handsync-bench-obex-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let mut daemon = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(dir.join("handsync.db"))
        .args([
            "serve",
            "--no-http",
            "--no-desktop",
            "--obex-tcp",
            "127.0.0.1:0",
        ])
        .env("XDG_CONFIG_HOME", &dir)
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("handsync serve starts");
    let mut lines = BufReader::new(daemon.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("OBEX over TCP: listening on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let pid = daemon.id() as i32;

    let mut profile = DeviceProfile::builtin("nokia-e51").expect("the E51 profile");
    profile.max_msg_size = MAX_MSG_SIZE;
    let store = generate(&profile, &DataSetSpec::contacts(count, 7));
    let mut phone = EmulatedPhone::new(profile.clone(), store, PhoneConfig::default());
    phone.record_transcripts(true);
    let request = SyncRequest::only(handsync::store::Datastore::Contacts, SyncMode::Slow);

    let cpu_before = process_cpu(pid);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let (mut phone, result) = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let _ = stream.set_nodelay(true);
        let config = ObexClientConfig {
            max_packet_length: 0x8000,
            max_object_size: 16 * 1024 * 1024,
            response_timeout: Some(Duration::from_secs(600)),
        };
        phone_starts(stream, phone, request, config, &mut |_| {}).await
    });
    let wall = started.elapsed();
    let report = result.expect("the session runs");
    assert!(report.completed, "{report:?}");
    let cpu = process_cpu(pid).saturating_sub(cpu_before);
    let peak_kib = peak_rss_kib(pid);
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let _ = daemon.wait();

    let transcript = phone.take_transcripts().pop().expect("a transcript");
    let (mut to_pc, mut to_phone) = ((0usize, 0usize), (0usize, 0usize));
    for entry in &transcript.entries {
        let side = match entry.direction {
            Direction::Sent => &mut to_pc,
            Direction::Received => &mut to_phone,
        };
        side.0 += 1;
        side.1 += entry.bytes.len();
    }
    let minimum = |bytes: usize| bytes.div_ceil(MAX_MSG_SIZE as usize).max(1);
    println!("slow sync of {count} contacts, emulator (Nokia E51, SyncML 1.2 WBXML, MaxMsgSize {MAX_MSG_SIZE}) -> handsync over OBEX/TCP");
    println!(
        "wall {:.2} s, server CPU {:.2} s, server peak RSS {:.1} MiB",
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    // Every message of the phone gets one answer, so the exchanges are set by the larger
    // direction: the phone's items. The least possible is its bytes over MaxMsgSize.
    let least = minimum(to_pc.1.max(to_phone.1));
    println!(
        "phone -> PC: {} messages, {} SyncML bytes; PC -> phone: {} messages, {} bytes",
        to_pc.0, to_pc.1, to_phone.0, to_phone.1
    );
    println!(
        "exchanges: {} against the least possible {least} ({} bytes / {MAX_MSG_SIZE}): {:+.1}%",
        to_pc.0,
        to_pc.1.max(to_phone.1),
        (to_pc.0 as f64 / least as f64 - 1.0) * 100.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
