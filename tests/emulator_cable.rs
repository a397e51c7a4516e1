//! Every emulated model on a data cable (a pseudo-terminal), with the real binaries on both
//! ends: `handsync emulate --pty` answers the AT commands as its maker's phones did, and
//! `handsync sync --serial` switches it, names the datastores from the phone's AT
//! identification, syncs and brings it back to AT mode; then the phone starts instead, with
//! `handsync serve --serial` waiting on the line.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use handsync::emulator::DeviceProfile;

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
    let mut all = vec!["--pty", "--timeout", "60"];
    all.extend_from_slice(args);
    support::emulator_announcing(&all, "emulate: cable on ")
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn every_model_on_a_cable_when_the_pc_starts() {
    for name in DeviceProfile::BUILTIN {
        let dir = support::scratch_dir(&format!("cable-pc-{name}"));
        let db = dir.join("handsync.db");
        let data = dir.join("phone");
        let data_text = data.to_str().unwrap();

        let (phone, path) =
            emulated_phone(&["--profile", name, "--data", data_text, "--generate", "6"]);
        let sync = handsync()
            .arg("--db")
            .arg(&db)
            .args(["sync", "--serial", &path, "--datastore", "contacts"])
            .output()
            .unwrap();
        assert!(sync.status.success(), "{name}: {}", text(&sync));
        assert!(
            text(&sync).contains("back in AT mode"),
            "{name}: {}",
            text(&sync)
        );
        let (ok, printed) = phone.finish();
        assert!(ok && printed.contains("completed"), "{name}: {printed}");
        let export = handsync()
            .arg("--db")
            .arg(&db)
            .args(["export", "--datastore", "contacts"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&export.stdout)
                .matches("BEGIN:VCARD")
                .count(),
            6,
            "{name}"
        );

        // The PC adds a contact; the next call brings it to the phone.
        let card = dir.join("pc.vcf");
        std::fs::write(
            &card,
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kabel;Karl;;;\r\nFN:Karl Kabel\r\nTEL:+4930999\r\nEND:VCARD\r\n",
        )
        .unwrap();
        assert!(handsync()
            .arg("--db")
            .arg(&db)
            .args(["import", "--datastore", "contacts", card.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .success());
        let (phone, path) = emulated_phone(&["--profile", name, "--data", data_text]);
        let sync = handsync()
            .arg("--db")
            .arg(&db)
            .args(["sync", "--serial", &path, "--datastore", "contacts"])
            .output()
            .unwrap();
        assert!(sync.status.success(), "{name}: {}", text(&sync));
        assert!(
            text(&sync).contains("contacts to phone +1"),
            "{name}: {}",
            text(&sync)
        );
        let (ok, printed) = phone.finish();
        assert!(ok, "{name}: {printed}");
        assert_eq!(count_files(&data.join("contacts")), 7, "{name}");
    }
}

#[test]
fn every_model_on_a_cable_when_the_phone_starts() {
    for name in DeviceProfile::BUILTIN {
        let dir = support::scratch_dir(&format!("cable-phone-{name}"));
        let db = dir.join("handsync.db");
        let (phone, path) = emulated_phone(&["--profile", name, "--generate", "5", "--pty-start"]);
        let mut serve = handsync()
            .arg("--db")
            .arg(&db)
            .args(["serve", "--no-http", "--serial", &path])
            .env("XDG_CONFIG_HOME", &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (ok, printed) = phone.finish();
        assert!(ok && printed.contains("completed"), "{name}: {printed}");
        // The session record is written before the phone's last answer; give serve a moment
        // to let go of the line, then stop it as systemd would.
        let deadline = Instant::now() + Duration::from_secs(10);
        let history = loop {
            let history = handsync()
                .arg("--db")
                .arg(&db)
                .arg("history")
                .output()
                .unwrap();
            if text(&history).contains("completed") || Instant::now() > deadline {
                break history;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        unsafe {
            libc::kill(serve.id() as i32, libc::SIGTERM);
        }
        let _ = serve.wait();
        assert!(
            text(&history).contains("obex-serial"),
            "{name}: {}",
            text(&history)
        );
        assert!(
            text(&history).contains("completed"),
            "{name}: {}",
            text(&history)
        );
    }
}
