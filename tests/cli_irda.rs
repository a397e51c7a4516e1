//! Infrared, with the real binaries on both ends: `handsync emulate --irda-pty` is a phone
//! whose infrared port faces the PC's SIR port (a pseudo-terminal), the simulated air between
//! them; `handsync sync --irda`, `serve --irda` and `devices --irda` run the whole stack
//! (SIR, IrLAP, IrLMP, IAS, TinyTP, OBEX, SyncML) on the other end. Wireshark's dissectors
//! (tshark) judge the frames of a whole session.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use handsync::emulator::DeviceProfile;
use handsync_proto::irda::frame::{Frame, FrameKind};

fn handsync() -> Command {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

type Phone = support::EmulatorProcess;

fn emulated_phone(args: &[&str]) -> (Phone, String) {
    let mut all = vec!["--irda-pty", "--timeout", "60"];
    all.extend_from_slice(args);
    support::emulator_announcing(&all, "emulate: infrared on ")
}

fn contacts_in(db: &Path) -> usize {
    let export = handsync()
        .arg("--db")
        .arg(db)
        .args(["export", "--datastore", "contacts"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&export.stdout)
        .matches("BEGIN:VCARD")
        .count()
}

fn history(db: &Path) -> String {
    text(
        &handsync()
            .arg("--db")
            .arg(db)
            .args(["history"])
            .output()
            .unwrap(),
    )
}

fn sync_irda(db: &Path, path: &str, extra: &[&str]) -> Output {
    handsync()
        .arg("--db")
        .arg(db)
        .args([
            "sync",
            "--irda",
            path,
            "--datastore",
            "contacts",
            "--timeout",
            "30",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn infrared_models() -> Vec<&'static str> {
    let models: Vec<_> = DeviceProfile::BUILTIN
        .into_iter()
        .filter(|name| DeviceProfile::builtin(name).unwrap().infrared)
        .collect();
    assert!(models.len() >= 3, "{models:?}");
    models
}

/// Every model with an infrared port, the PC calling: through a SIR port that follows the
/// line's speed (115200 negotiated) and through a plain adapter fixed at 9600.
#[test]
fn every_infrared_model_syncs_when_the_pc_starts_at_both_speeds() {
    for name in infrared_models() {
        for (dongle, speed) in [("sir", "115200"), ("plain", "9600")] {
            let dir = support::scratch_dir(&format!("irda-pc-{name}-{dongle}"));
            let db = dir.join("handsync.db");
            let data = dir.join("phone");
            let (phone, path) = emulated_phone(&[
                "--profile",
                name,
                "--data",
                data.to_str().unwrap(),
                "--generate",
                "8",
            ]);
            let sync = sync_irda(&db, &path, &["--dongle", dongle]);
            let said = text(&sync);
            assert!(sync.status.success(), "{name} {dongle}: {said}");
            assert!(
                said.contains("synced over infrared with")
                    && said.contains(&format!("at {speed} b/s")),
                "{name} {dongle}: {said}"
            );
            let (ok, printed) = phone.finish();
            assert!(ok && printed.contains("completed"), "{name}: {printed}");
            assert_eq!(contacts_in(&db), 8, "{name} {dongle}");
            assert!(
                history(&db).contains("obex-irda"),
                "{name}: {}",
                history(&db)
            );
        }
    }
}

/// Every model with an infrared port starting from its menu: it discovers "PC Suite" (serve
/// --irda), finds its OBEX service through IAS and syncs, at 115200 and at 9600.
#[test]
fn every_infrared_model_syncs_when_the_phone_starts_at_both_speeds() {
    for name in infrared_models() {
        for (dongle, speed) in [("sir", "115200"), ("plain", "9600")] {
            let dir = support::scratch_dir(&format!("irda-phone-{name}-{dongle}"));
            let db = dir.join("handsync.db");
            let (phone, path) =
                emulated_phone(&["--profile", name, "--generate", "5", "--irda-start"]);
            let (ok, printed, served) =
                serve_until_the_phone_is_done(&db, &dir, &path, dongle, phone);
            assert!(
                ok && printed.contains("completed"),
                "{name} {dongle}: {printed}\n{served}"
            );
            assert!(
                served.contains("IrDA: discoverable as \"PC Suite\""),
                "{name}: {served}"
            );
            assert!(
                served.contains(&format!("speed={speed}")),
                "{name} {dongle}: {served}"
            );
            assert_eq!(contacts_in(&db), 5, "{name} {dongle}");
        }
    }
}

/// `handsync serve --irda PATH` until the emulated phone exits; the phone's and the daemon's
/// output.
fn serve_until_the_phone_is_done(
    db: &Path,
    dir: &Path,
    path: &str,
    dongle: &str,
    phone: Phone,
) -> (bool, String, String) {
    let serve = handsync()
        .arg("--db")
        .arg(db)
        .args([
            "serve",
            "--irda",
            path,
            "--dongle",
            dongle,
            "--http",
            "127.0.0.1:0",
        ])
        .env("HANDSYNC_LOG", "handsync::transport::irda=info")
        .args(["--no-bluetooth", "--no-usb"])
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (ok, printed) = phone.finish();
    // SIGTERM, so the daemon stops as systemd would stop it.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(serve.id().to_string())
        .status();
    let mut serve = serve;
    let deadline = Instant::now() + Duration::from_secs(20);
    while serve.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = serve.kill();
    let output = serve.wait_with_output().unwrap();
    (ok, printed, text(&output))
}

#[test]
fn devices_lists_the_phone_in_range() {
    let (mut phone, path) = emulated_phone(&["--profile", "nokia-6230i"]);
    let devices = handsync()
        .args(["devices", "--irda", &path])
        .output()
        .unwrap();
    assert!(devices.status.success(), "{}", text(&devices));
    assert!(
        text(&devices).contains("\"Nokia 6230i\""),
        "{}",
        text(&devices)
    );
    // The phone waited for a call that never came.
    let _ = phone.child.kill();
    let _ = phone.child.wait();
}

#[test]
fn a_phone_leaving_range_mid_sync_is_recorded_as_cut_and_the_next_sync_converges() {
    let dir = support::scratch_dir("irda-out-of-range");
    let db = dir.join("handsync.db");
    let data = dir.join("phone");
    let data_text = data.to_str().unwrap();
    let (phone, path) = emulated_phone(&[
        "--profile",
        "nokia-6230i",
        "--data",
        data_text,
        "--generate",
        "120",
        "--out-of-range-after",
        "1.5",
    ]);
    let sync = sync_irda(&db, &path, &[]);
    assert!(!sync.status.success(), "{}", text(&sync));
    assert!(text(&sync).contains("out of range"), "{}", text(&sync));
    let _ = phone.finish();
    assert!(history(&db).contains("cut"), "{}", history(&db));

    let (phone, path) = emulated_phone(&["--profile", "nokia-6230i", "--data", data_text]);
    let sync = sync_irda(&db, &path, &[]);
    assert!(sync.status.success(), "{}", text(&sync));
    let (ok, printed) = phone.finish();
    assert!(ok, "{printed}");
    assert_eq!(contacts_in(&db), 120);
}

#[test]
fn lost_and_damaged_frames_are_sent_again() {
    let dir = support::scratch_dir("irda-lossy");
    let db = dir.join("handsync.db");
    let (phone, path) = emulated_phone(&[
        "--profile",
        "siemens-s65",
        "--generate",
        "30",
        "--air-loss",
        "0.03",
        "--air-errors",
        "0.000005",
        "--air-seed",
        "7",
    ]);
    let sync = sync_irda(&db, &path, &[]);
    assert!(sync.status.success(), "{}", text(&sync));
    let (ok, printed) = phone.finish();
    assert!(ok && printed.contains("completed"), "{printed}");
    assert_eq!(contacts_in(&db), 30);
}

#[test]
fn nobody_in_range_is_said_plainly() {
    // A pty nobody answers on: a dongle with no phone in front of it.
    let (phone_side, path) = handsync::transport::serial::open_pty().unwrap();
    let dir = support::scratch_dir("irda-nobody");
    let sync = sync_irda(&dir.join("handsync.db"), &path, &[]);
    drop(phone_side);
    assert!(!sync.status.success());
    assert!(
        text(&sync).contains("no phone in infrared range"),
        "{}",
        text(&sync)
    );
}

#[test]
fn a_model_without_infrared_is_refused() {
    let output = handsync()
        .args(["emulate", "--irda-pty", "--profile", "motorola-v3"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).contains("has no infrared port"),
        "{}",
        text(&output)
    );
}

#[test]
fn wireshark_decodes_every_frame_of_a_whole_session() {
    if !support::oracle_available("tshark") {
        return;
    }
    let dir = support::scratch_dir("irda-capture");
    let db = dir.join("handsync.db");
    let capture = dir.join("session.pcap");
    let (phone, path) = emulated_phone(&["--profile", "nokia-6230i", "--generate", "4"]);
    let sync = sync_irda(&db, &path, &["--capture", capture.to_str().unwrap()]);
    assert!(sync.status.success(), "{}", text(&sync));
    let _ = phone.finish();
    let decoded = Command::new("tshark")
        .args(["-r", capture.to_str().unwrap(), "-V"])
        .output()
        .unwrap();
    assert!(decoded.status.success(), "{}", text(&decoded));
    let verbose = String::from_utf8_lossy(&decoded.stdout);
    let problems = handsync_proto::irda::pcap::tshark_problems(&verbose);
    assert!(problems.is_empty(), "{problems:#?}");
    let layers = handsync_proto::irda::pcap::tshark_frame_layers(&verbose);
    assert!(layers.len() > 20, "{} frames", layers.len());
    // Every frame is IrLAP; the discovery, connection, IAS lookup and the OBEX data are
    // IrLMP on top (Wireshark follows TinyTP only on the LSAPs of IrCOMM and IrLPT, so the
    // OBEX payload shows as IrLMP data).
    assert!(layers
        .iter()
        .all(|frame| frame.first().map(String::as_str) == Some("IrDA Link Access Protocol")));
    let seen = |name: &str| layers.iter().any(|frame| frame.iter().any(|l| l == name));
    for layer in [
        "IrDA Link Management Protocol",
        "Information Access Protocol",
    ] {
        assert!(seen(layer), "no {layer} frame: {layers:?}");
    }
    for part in ["XID", "SNRM", "UA", "DISC"] {
        assert!(verbose.contains(part), "no {part} frame in\n{verbose}");
    }

    // One device address from discovery to connection: a phone may check the SNRM's source
    // against the station it discovered.
    let mut xid_sources = Vec::new();
    let mut snrm_sources = Vec::new();
    for frame in pcap_frames(&capture) {
        match Frame::decode(&frame).map(|f| (f.command, f.kind)) {
            Ok((true, FrameKind::Xid(xid))) => xid_sources.push(xid.source),
            Ok((true, FrameKind::Snrm(Some(snrm)))) => snrm_sources.push(snrm.source),
            _ => {}
        }
    }
    assert!(!xid_sources.is_empty() && !snrm_sources.is_empty());
    assert!(
        xid_sources
            .iter()
            .chain(&snrm_sources)
            .all(|a| *a == xid_sources[0]),
        "discovered as {xid_sources:?}, connected as {snrm_sources:?}"
    );
}

/// The IrLAP frames of a LINKTYPE_LINUX_IRDA capture (after the 24-byte file header: a
/// 16-byte record header, the 16-byte pseudo-header, the frame).
fn pcap_frames(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = 24;
    let mut frames = Vec::new();
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        frames.push(bytes[at + 32..at + 16 + len].to_vec());
        at += 16 + len;
    }
    frames
}
