//! Codec benchmark: `cargo bench --bench codec`.
//!
//! Builds two ~1 MB SyncML 1.1 WBXML packages from the corpus, both under a real Sony Ericsson
//! SyncHdr: a slow-sync package (SyncEvolution's vCard 2.1 items as Adds; mostly payload) and a
//! Status + Map package (all structure). For each it reports:
//! - WBXML -> model and model -> WBXML throughput in MB/s, and WBXML -> markup tree;
//! - peak heap used while decoding, as a multiple of the message size;
//! - whole-process time and peak RSS of `handsync decode FILE` against libwbxml's
//!   `wbxml2xml FILE`, run alternately on the same file.
//!
//! Goals (issue 2): decode at least 5x faster than wbxml2xml, memory under 4x the message.

mod support;

use handsync::markup::{DocumentType, Element, Namespace, Node, Version};
use handsync::wbxml;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: support::CountingAllocator = support::CountingAllocator;

fn text_element(namespace: Namespace, name: &str, text: &str) -> Element {
    Element::new(namespace, name).with_text(text)
}

fn phone_header() -> Element {
    let phone = std::fs::read(support::corpus_dir().join("wbxml/horde-k500i_client_0.wbxml"))
        .expect("corpus: wbxml/horde-k500i_client_0.wbxml");
    let phone = wbxml::decode_tree(&phone).expect("the K500i capture decodes");
    phone.child("SyncHdr").expect("SyncHdr").clone()
}

fn loc(name: &str, uri: &str) -> Element {
    Element::new(Namespace::SyncMl, name).with_child(text_element(Namespace::SyncMl, "LocURI", uri))
}

fn encode_message(body_children: Vec<Element>) -> Vec<u8> {
    let mut body = Element::new(Namespace::SyncMl, "SyncBody");
    for child in body_children {
        body.children.push(Node::Element(child));
    }
    body.children
        .push(Node::Element(Element::new(Namespace::SyncMl, "Final")));
    let root = Element::new(Namespace::SyncMl, "SyncML")
        .with_child(phone_header())
        .with_child(body);
    wbxml::encode_tree(
        DocumentType::SyncMl(Version::V1_1),
        &root,
        &wbxml::WriterOptions::default(),
    )
    .expect("the benchmark message encodes")
}

/// A slow sync's package from the phone: a real phone's SyncHdr and a Sync full of vCard
/// Adds (the SyncEvolution vCard 2.1 test items), about `target` bytes. Mostly payload.
fn slow_sync_package(target: usize) -> Vec<u8> {
    let vcards =
        std::fs::read_to_string(support::corpus_dir().join("pim/syncevolution/vcard21.vcf"))
            .expect("corpus: pim/syncevolution/vcard21.vcf");
    let vcards: Vec<String> = vcards
        .split("\n\n")
        .map(|block| block.trim().replace('\n', "\r\n") + "\r\n")
        .filter(|block| block.starts_with("BEGIN:VCARD"))
        .collect();
    assert!(!vcards.is_empty());
    let mut sync = Element::new(Namespace::SyncMl, "Sync")
        .with_child(text_element(Namespace::SyncMl, "CmdID", "2"))
        .with_child(loc("Target", "./contacts"))
        .with_child(loc("Source", "./EriPBDB"));
    let mut size = 0;
    let mut n = 0;
    while size < target {
        let vcard = &vcards[n % vcards.len()];
        let add = Element::new(Namespace::SyncMl, "Add")
            .with_child(text_element(
                Namespace::SyncMl,
                "CmdID",
                &(n + 3).to_string(),
            ))
            .with_child(
                Element::new(Namespace::SyncMl, "Meta").with_child(text_element(
                    Namespace::MetInf,
                    "Type",
                    "text/x-vcard",
                )),
            )
            .with_child(
                Element::new(Namespace::SyncMl, "Item")
                    .with_child(loc("Source", &(1000 + n).to_string()))
                    .with_child(text_element(Namespace::SyncMl, "Data", vcard)),
            );
        size += vcard.len() + 40;
        sync.children.push(Node::Element(add));
        n += 1;
    }
    encode_message(vec![sync])
}

/// The phone's answer to a refresh from the PC: a Status for each Add it received and the
/// Map of its new LUIDs, about `target` bytes. All structure, no payload.
fn status_and_map_package(target: usize) -> Vec<u8> {
    let mut commands = Vec::new();
    let mut map = Element::new(Namespace::SyncMl, "Map")
        .with_child(text_element(Namespace::SyncMl, "CmdID", "1"))
        .with_child(loc("Target", "./contacts"))
        .with_child(loc("Source", "./EriPBDB"));
    let mut size = 0;
    let mut n = 0;
    while size < target {
        let status = Element::new(Namespace::SyncMl, "Status")
            .with_child(text_element(
                Namespace::SyncMl,
                "CmdID",
                &(n + 2).to_string(),
            ))
            .with_child(text_element(Namespace::SyncMl, "MsgRef", "3"))
            .with_child(text_element(
                Namespace::SyncMl,
                "CmdRef",
                &(n + 5).to_string(),
            ))
            .with_child(text_element(Namespace::SyncMl, "Cmd", "Add"))
            .with_child(text_element(Namespace::SyncMl, "SourceRef", &n.to_string()))
            .with_child(text_element(Namespace::SyncMl, "Data", "201"));
        commands.push(status);
        map.children.push(Node::Element(
            Element::new(Namespace::SyncMl, "MapItem")
                .with_child(loc("Target", &n.to_string()))
                .with_child(loc("Source", &(1000 + n).to_string())),
        ));
        size += 60;
        n += 1;
    }
    commands.push(map);
    encode_message(commands)
}

/// Runs `f` repeatedly for about `budget`, returns the best time of one run.
fn best_of(budget: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut best = Duration::MAX;
    let mut runs = 0;
    while runs < 3 || (start.elapsed() < budget && runs < 1000) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
        runs += 1;
    }
    best
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

/// Wall time, CPU time (user + system) and peak RSS of one child process.
struct ProcessRun {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: i64,
}

/// Runs one program and waits for it with wait4, which gives that child's own rusage.
// The child is reaped by wait4, which std's Child does not know about.
#[allow(clippy::zombie_processes)]
fn spawn_and_wait(program: &str, args: &[String]) -> ProcessRun {
    use std::process::{Command, Stdio};
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(waited, pid, "wait4 failed for {program}");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{program} {args:?} failed with status {status}"
    );
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    ProcessRun {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
    }
}

/// Measures a program through a fresh copy of this binary (`--launch`). Linux carries the
/// forking process's RSS high-water mark into a child's ru_maxrss, so a child forked straight
/// from this benchmark, with its megabytes of test data, would report the benchmark's memory.
/// The launcher is small when it forks, so the figure is the program's own.
fn run_process(program: &str, args: &[&str]) -> ProcessRun {
    let launcher = std::env::current_exe().expect("the benchmark's own path");
    let output = std::process::Command::new(launcher)
        .arg("--launch")
        .arg(program)
        .args(args)
        .output()
        .expect("the launcher runs");
    assert!(
        output.status.success(),
        "launcher failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().expect("launcher output is three numbers"))
        .collect();
    ProcessRun {
        wall: Duration::from_nanos(fields[0]),
        cpu: Duration::from_nanos(fields[1]),
        max_rss_kib: fields[2] as i64,
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--launch") {
        let run = spawn_and_wait(&args[2], &args[3..]);
        println!(
            "{} {} {}",
            run.wall.as_nanos(),
            run.cpu.as_nanos(),
            run.max_rss_kib
        );
        return;
    }
    // `cargo test --all-targets` runs benches once as tests; a quick smoke run is enough there.
    let quick = !std::env::args().any(|a| a == "--bench");
    let size = if quick { 64 * 1024 } else { 1024 * 1024 };
    measure(
        "slow-sync package (vCard Adds, mostly payload)",
        &slow_sync_package(size),
        quick,
    );
    measure(
        "Status + Map package (all structure)",
        &status_and_map_package(size),
        quick,
    );
}

fn measure(name: &str, message: &[u8], quick: bool) {
    let budget = Duration::from_millis(if quick { 50 } else { 2000 });
    println!("\n== {name}: {} bytes of SyncML 1.1 WBXML", message.len());
    let decoded = handsync::syncml::decode(message).expect("the benchmark message decodes");
    let t_tree = best_of(budget, || {
        std::hint::black_box(wbxml::decode_tree(message).unwrap());
    });
    let t_decode = best_of(budget, || {
        std::hint::black_box(handsync::syncml::decode(message).unwrap());
    });
    let options = wbxml::WriterOptions::default();
    let t_encode = best_of(budget, || {
        std::hint::black_box(handsync::syncml::to_wbxml(&decoded, &options).unwrap());
    });
    println!(
        "WBXML -> markup tree: {:8.1} MB/s",
        mb_per_s(message.len(), t_tree)
    );
    println!(
        "WBXML -> model:       {:8.1} MB/s",
        mb_per_s(message.len(), t_decode)
    );
    println!(
        "model -> WBXML:       {:8.1} MB/s",
        mb_per_s(message.len(), t_encode)
    );

    drop(decoded);
    let (kept, peak, retained) =
        support::heap_during(|| handsync::syncml::decode(message).unwrap());
    drop(kept);
    println!(
        "decode heap: peak {} bytes ({:.2}x the message), model kept {} bytes ({:.2}x)",
        peak,
        peak as f64 / message.len() as f64,
        retained,
        retained as f64 / message.len() as f64
    );

    let dir = std::env::temp_dir().join(format!("handsync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("message.wbxml");
    std::fs::write(&file, message).unwrap();
    let file = file.to_str().unwrap();
    let out = dir.join("out.xml");
    let out = out.to_str().unwrap();
    let handsync = env!("CARGO_BIN_EXE_handsync");
    let have_oracle = std::process::Command::new("wbxml2xml")
        .arg("-o")
        .arg(out)
        .arg(file)
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_oracle {
        println!(
            "wbxml2xml not installed: process comparison skipped (apt-get install libwbxml2-utils)"
        );
        return;
    }
    // 15 alternating rounds, or as many as fit in 60 s (at least 3) when a run is slow.
    let max_rounds = if quick { 1 } else { 15 };
    let started = Instant::now();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    while ours.len() < max_rounds
        && (ours.len() < 3.min(max_rounds) || started.elapsed() < Duration::from_secs(60))
    {
        ours.push(run_process(handsync, &["decode", file]));
        theirs.push(run_process("wbxml2xml", &["-o", out, file]));
    }
    let rounds = ours.len();
    let report = |name: &str, runs: &[ProcessRun]| {
        let wall = median(runs.iter().map(|r| r.wall).collect());
        let cpu = median(runs.iter().map(|r| r.cpu).collect());
        let rss = runs.iter().map(|r| r.max_rss_kib).max().unwrap_or(0);
        println!(
            "{name:<22} wall {:8.2} ms   cpu {:8.2} ms   peak RSS {:6} KiB",
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3,
            rss
        );
        (wall, cpu)
    };
    println!("whole process, median of {rounds} alternating runs on the same file:");
    let (our_wall, our_cpu) = report("handsync decode", &ours);
    let (their_wall, their_cpu) = report("wbxml2xml", &theirs);
    println!(
        "handsync decode is {:.1}x faster in wall time and {:.1}x in CPU time than wbxml2xml",
        their_wall.as_secs_f64() / our_wall.as_secs_f64(),
        their_cpu.as_secs_f64() / our_cpu.as_secs_f64().max(1e-6)
    );
    if std::env::var_os("HANDSYNC_BENCH_KEEP").is_some() {
        println!("kept the message in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
