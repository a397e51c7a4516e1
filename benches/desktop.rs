//! The two-way desktop sync against vdirsyncer doing the same job on the same folder, side by
//! side: N contacts written out on a first run, a run with nothing to do, and a run after 1%
//! of the files were edited. handsync compares a vdir with the store (`handsync desktop
//! sync`); vdirsyncer compares the same vdir with a second folder (its filesystem-to-
//! filesystem pair): both read every file's state, act on what changed and record what they
//! saw. Wall time of each whole command, the process start included on both sides.
//!
//! `cargo bench --bench desktop`; `HANDSYNC_BENCH_CONTACTS` changes N (default 2,000). Under
//! `cargo test` (no `--bench`) a run of 50 checks the harness.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn contact(i: usize) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bench-{i}\r\nFN:Person {i}\r\nN:{i};Person;;;\r\n\
         TEL;TYPE=CELL:+49170{i:07}\r\nEMAIL:person{i}@example.org\r\nEND:VCARD\r\n"
    )
}

fn run(command: &mut Command) -> Duration {
    let start = Instant::now();
    let output = command.output().expect("the command runs");
    let took = start.elapsed();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    took
}

fn handsync(db: &Path, vdir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .arg("--db")
        .arg(db)
        .args(["desktop", "sync", "--datastore", "contacts", "--vdir"])
        .arg(vdir)
        .env("XDG_CONFIG_HOME", db.parent().unwrap());
    command
}

fn vdirsyncer(config: &Path, what: &str) -> Command {
    let mut command = Command::new("vdirsyncer");
    command.env("VDIRSYNCER_CONFIG", config).arg(what);
    if what == "discover" {
        command.arg("bench");
    }
    command
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let count: usize = std::env::var("HANDSYNC_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 50 } else { 2000 });
    let have_vdirsyncer = Command::new("vdirsyncer").arg("--version").output().is_ok();
    if !have_vdirsyncer {
        assert!(
            std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_none(),
            "vdirsyncer is not installed (scripts/test-all installs it as root)"
        );
        eprintln!("skipping: vdirsyncer, the peer, is not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("handsync-bench-desktop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("handsync.db");
    let vdir = dir.join("vdir");
    let cards = dir.join("cards.vcf");
    std::fs::write(&cards, (0..count).map(contact).collect::<String>()).unwrap();
    let imported = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .arg("import")
        .arg(&cards)
        .output()
        .unwrap();
    assert!(imported.status.success());

    // handsync, first run: every item written.
    let first = run(&mut handsync(&db, &vdir));

    // vdirsyncer pairs the written folder with an empty one: every file copied.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let config = dir.join("vdirsyncer.conf");
    std::fs::write(
        &config,
        format!(
            "[general]\nstatus_path = \"{status}/\"\n[pair bench]\na = \"bench_a\"\n\
             b = \"bench_b\"\ncollections = null\n[storage bench_a]\ntype = \"filesystem\"\n\
             path = \"{a}\"\nfileext = \".vcf\"\n[storage bench_b]\ntype = \"filesystem\"\n\
             path = \"{b}\"\nfileext = \".vcf\"\n",
            status = dir.join("status").display(),
            a = vdir.join("contacts").display(),
            b = other.display()
        ),
    )
    .unwrap();
    run(&mut vdirsyncer(&config, "discover"));
    let peer_first = run(&mut vdirsyncer(&config, "sync"));

    // Nothing changed.
    let idle = run(&mut handsync(&db, &vdir));
    let peer_idle = run(&mut vdirsyncer(&config, "sync"));

    // 1% of the files edited on the desktop: handsync takes them into the store, vdirsyncer
    // copies them to the other folder.
    let edits = (count / 100).max(1);
    for i in 0..edits {
        let path = vdir.join("contacts").join(format!("bench-{i}.vcf"));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("END:VCARD", "NOTE:edited on the desktop\r\nEND:VCARD"),
        )
        .unwrap();
    }
    let edited = run(&mut handsync(&db, &vdir));
    let peer_edited = run(&mut vdirsyncer(&config, "sync"));

    println!("desktop sync of {count} contacts (wall time of each command):");
    println!("| run | handsync desktop sync | vdirsyncer sync | handsync / vdirsyncer |");
    println!("|---|---|---|---|");
    for (what, ours, theirs) in [
        ("first (all written)", first, peer_first),
        ("nothing changed", idle, peer_idle),
        (&*format!("{edits} files edited"), edited, peer_edited),
    ] {
        println!(
            "| {what} | {:.3} s | {:.3} s | {:.2}x |",
            ours.as_secs_f64(),
            theirs.as_secs_f64(),
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
