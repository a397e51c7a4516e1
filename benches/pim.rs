//! PIM benchmark: `cargo bench --bench pim`.
//!
//! 10,000 vCard 2.1 contacts with photos, built from the corpus (gammu's real phone vCard with
//! a JPEG photo, and SyncEvolution's vCard 2.1 items given the same photo), are parsed,
//! converted to vCard 3.0 and serialized, by handsync and, side by side on the same file, by
//! Python's `vobject` (`pip install vobject`), which parses and serializes as 3.0.
//! Reports items/s and peak memory for both. Goal (issue 4): 20x vobject's throughput.

mod support;

use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: support::CountingAllocator = support::CountingAllocator;

/// `count` vCard 2.1 contacts, each with the corpus photo, CRLF line ends.
fn contacts_with_photos(count: usize) -> String {
    let corpus = support::corpus_dir();
    let photo_card = std::fs::read_to_string(corpus.join("pim/gammu/vcards/photo.vcf"))
        .expect("corpus: pim/gammu/vcards/photo.vcf")
        .replace("\r\n", "\n");
    let photo: String = photo_card
        .lines()
        .skip_while(|line| !line.starts_with("PHOTO"))
        .take_while(|line| line.starts_with("PHOTO") || line.starts_with(' '))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(photo.len() > 1000, "the corpus card carries its photo");
    let items = std::fs::read_to_string(corpus.join("pim/syncevolution/vcard21.vcf"))
        .expect("corpus: pim/syncevolution/vcard21.vcf");
    let mut templates: Vec<String> = items
        .split("\n\n")
        .map(str::trim)
        .filter(|block| block.starts_with("BEGIN:VCARD") && !block.contains("PHOTO"))
        .map(|block| block.replacen("\nEND:VCARD", &format!("\n{}END:VCARD", photo), 1))
        .collect();
    templates.push(photo_card.trim().to_string());
    let mut out = String::new();
    for i in 0..count {
        let card = &templates[i % templates.len()];
        // A distinct contact each time: a number and a UID-free note line.
        let card = card.replacen("\nEND:VCARD", &format!("\nX-BENCH-INDEX:{i}\nEND:VCARD"), 1);
        out.push_str(&card.replace('\n', "\r\n"));
        out.push_str("\r\n");
    }
    out
}

const VOBJECT_SCRIPT: &str = r#"
import resource, sys, time
import vobject
data = open(sys.argv[1], encoding="utf-8").read()
start = time.perf_counter()
count = 0
out = 0
for card in vobject.readComponents(data):
    # vobject does not convert 2.1 to 3.0 itself: do what it needs (VERSION, ENCODING=b;
    # its 3.0 writer cannot write a 2.1 BASE64 value), then serialize as 3.0.
    card.version.value = "3.0"
    for line in card.getChildren():
        encoding = line.params.get("ENCODING")
        if encoding and encoding[0].upper() == "BASE64":
            line.params["ENCODING"] = ["b"]
    out += len(card.serialize(validate=False))
    count += 1
elapsed = time.perf_counter() - start
print(count, elapsed, out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"#;

fn main() {
    // `cargo test --all-targets` runs benches once as tests: a small smoke run there.
    let quick = !std::env::args().any(|a| a == "--bench");
    let count = if quick { 200 } else { 10_000 };
    let input = contacts_with_photos(count);
    println!(
        "{count} vCard 2.1 contacts with photos: {} bytes",
        input.len()
    );

    let run = || {
        let cards = handsync::pim::vcard::VCard::parse_all(input.as_bytes())
            .expect("the benchmark contacts parse");
        let mut written = 0;
        for card in &cards {
            written += card.to_v30().write().len();
        }
        (cards.len(), written)
    };
    let ((parsed, _), peak, _) = support::heap_during(run);
    assert_eq!(parsed, count);
    let mut best = Duration::MAX;
    for _ in 0..if quick { 1 } else { 5 } {
        let start = Instant::now();
        std::hint::black_box(run());
        best = best.min(start.elapsed());
    }
    let ours = count as f64 / best.as_secs_f64();
    println!(
        "handsync: {:10.0} items/s ({:.1} ms), peak heap {:.1} MB ({:.2}x the input)",
        ours,
        best.as_secs_f64() * 1e3,
        peak as f64 / 1e6,
        peak as f64 / input.len() as f64
    );

    let dir = std::env::temp_dir().join(format!("handsync-pim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("contacts.vcf");
    std::fs::write(&file, &input).unwrap();
    let script = dir.join("vobject_bench.py");
    std::fs::write(&script, VOBJECT_SCRIPT).unwrap();
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(&file)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match output {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let fields: Vec<&str> = text.split_whitespace().collect();
            let theirs_count: usize = fields[0].parse().unwrap();
            let seconds: f64 = fields[1].parse().unwrap();
            let max_rss_kib: f64 = fields[3].parse().unwrap();
            let theirs = theirs_count as f64 / seconds;
            println!(
                "vobject:  {:10.0} items/s ({:.1} ms), process peak RSS {:.1} MB (interpreter included)",
                theirs,
                seconds * 1e3,
                max_rss_kib / 1e3
            );
            println!("handsync is {:.1}x vobject's throughput", ours / theirs);
        }
        Ok(o) => println!(
            "vobject run failed (pip install vobject): {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("python3 not available: {e}"),
    }
}
