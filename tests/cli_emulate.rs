//! The commands a user without a phone runs: `handsync serve --obex-tcp` with
//! `handsync emulate --connect-obex-tcp`, and `handsync emulate --listen-obex-tcp` with
//! `handsync sync --obex-tcp --device`; then `handsync export` shows the phone's data.

mod support;

use std::path::Path;
use std::process::{Command, Output};

fn handsync(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Starts a command and reads its stdout until a line starts with `prefix`; returns the rest.

#[test]
fn an_emulated_phone_syncs_with_serve_and_the_pc_calls_it_back() {
    let dir = support::scratch_dir("cli-emulate");
    let db = dir.join("handsync.db");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_handsync"));
    serve
        .arg("--db")
        .arg(&db)
        .args(["serve", "--no-http", "--obex-tcp", "127.0.0.1:0"])
        .env("XDG_CONFIG_HOME", &dir);
    let (mut daemon, address) = support::spawn_until(serve, "OBEX over TCP: listening on ");

    // The phone starts: a Sony Ericsson with 12 generated contacts, kept in a directory.
    let phone_dir = dir.join("k750i");
    let phone_dir_text = phone_dir.to_str().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args([
            "emulate",
            "--profile",
            "sonyericsson-k750i",
            "--generate",
            "12",
        ])
        .args(["--data", phone_dir_text, "--connect-obex-tcp", &address])
        .args(["--transcripts", dir.join("transcripts").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("completed"), "{}", text(&output));
    assert!(phone_dir.join("emulator-state.txt").exists());
    assert_eq!(
        std::fs::read_dir(dir.join("transcripts")).unwrap().count(),
        1,
        "one transcript"
    );
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    assert!(daemon.wait().unwrap().success());

    let export = handsync(&db, &["export", "--datastore", "contacts"]);
    assert_eq!(
        String::from_utf8_lossy(&export.stdout)
            .matches("BEGIN:VCARD")
            .count(),
        12,
        "{}",
        text(&export)
    );
    let devices = handsync(&db, &["devices"]);
    assert!(text(&devices).contains("K750i"), "{}", text(&devices));

    // The PC adds a contact and calls the phone, which listens for OBEX.
    let card = dir.join("new.vcf");
    std::fs::write(
        &card,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Neu;Karl;;;\r\nFN:Karl Neu\r\nTEL:+4930123456\r\nEND:VCARD\r\n",
    )
    .unwrap();
    assert!(handsync(
        &db,
        &["import", "--datastore", "contacts", card.to_str().unwrap()]
    )
    .status
    .success());
    let mut listen = Command::new(env!("CARGO_BIN_EXE_handsync"));
    listen
        .args(["emulate", "--profile", "sonyericsson-k750i"])
        .args(["--data", phone_dir_text, "--listen-obex-tcp", "127.0.0.1:0"]);
    let (mut phone, phone_address) =
        support::spawn_until(listen, "emulate: listening for OBEX on ");
    let sync = handsync(
        &db,
        &[
            "sync",
            "--obex-tcp",
            &phone_address,
            "--device",
            "1",
            "--datastore",
            "contacts",
        ],
    );
    assert!(sync.status.success(), "{}", text(&sync));
    assert!(
        text(&sync).contains("contacts to phone +1"),
        "{}",
        text(&sync)
    );
    // The K750i refuses the binary SAN: handsync falls back to the SyncML 1.1 form.
    assert!(
        text(&sync).contains("legacy SyncML 1.1 notification"),
        "{}",
        text(&sync)
    );
    assert!(phone.wait().unwrap().success());
    let held: usize = std::fs::read_dir(phone_dir.join("contacts"))
        .unwrap()
        .count();
    assert_eq!(held, 13, "the phone now holds the PC's contact too");
    // Both the daemon and the one-shot sync kept the desktop's vdir (beside the database) in
    // step: the phone's twelve contacts and the PC's.
    assert!(
        text(&sync).contains("handsync: desktop "),
        "{}",
        text(&sync)
    );
    let in_vdir = std::fs::read_dir(dir.join("vdir/contacts"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".vcf"))
        .count();
    assert_eq!(in_vdir, 13, "the vdir holds every contact");
}
