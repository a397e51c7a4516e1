//! The kill loop through the program itself: `handsync serve` on a SQLite file, `handsync
//! emulate --data` as the phone (it keeps its memory in a directory, as a phone keeps it in
//! flash), over OBEX over TCP (phone- and PC-started) and HTTP. Between rounds the user edits
//! both sides; then the link is cut at a random byte inside a packet (`--cut-after`) or the
//! daemon is SIGKILLed at a random moment and started again. After every round the database
//! passes `integrity_check` and no session stays "running"; at the end, after uncut syncs,
//! both sides hold exactly what the user made.

mod support;

#[path = "support/kill_loop.rs"]
mod kill_loop;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use handsync::emulator::{DeviceProfile, PhoneStore, Rng};
use handsync::store::{SessionResult, Store};

use kill_loop::{edit, phone_contacts, Damage, Model, Pc};

/// `handsync serve` on the loop's database, listening on OBEX over TCP and HTTP.
struct Daemon {
    child: Child,
    obex: String,
    http: String,
}

impl Daemon {
    fn start(dir: &Path, db: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(db)
            .args([
                "serve",
                "--obex-tcp",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
            ])
            .args(["--no-bluetooth"])
            .env("XDG_CONFIG_HOME", dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("handsync serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut obex, mut http) = (None, None);
        while obex.is_none() || http.is_none() {
            let line = lines.next().expect("serve says where it listens").unwrap();
            if let Some(rest) = line.strip_prefix("OBEX over TCP: listening on ") {
                obex = Some(rest.trim().to_string());
            }
            if let Some(rest) = line.strip_prefix("HTTP: listening on ") {
                http = Some(format!("{}sync", rest.trim()));
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Daemon {
            child,
            obex: obex.unwrap(),
            http: http.unwrap(),
        }
    }

    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().unwrap();
    }
}

#[derive(Debug, Clone, Copy)]
enum Wire {
    ObexPhoneStarts,
    ObexPcStarts,
    Http,
}

/// `handsync emulate` for the phone's directory, its link cut after `cut_after` bytes.
fn phone_command(phone_dir: &Path, profile: &str, cut_after: Option<usize>) -> Command {
    let mut phone = Command::new(env!("CARGO_BIN_EXE_handsync"));
    phone
        .args(["emulate", "--profile", profile, "--datastore", "contacts"])
        .arg("--data")
        .arg(phone_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(bytes) = cut_after {
        phone.args(["--cut-after", &bytes.to_string()]);
    }
    phone
}

/// One session over `wire`; returns whether the phone saw it complete, and what it said.
fn session(
    daemon: &Daemon,
    db: &Path,
    phone_dir: &Path,
    profile: &str,
    wire: Wire,
    cut_after: Option<usize>,
) -> (bool, String) {
    let mut phone = phone_command(phone_dir, profile, cut_after);
    let output = match wire {
        Wire::Http => phone.args(["--http", &daemon.http]).output().unwrap(),
        Wire::ObexPhoneStarts => phone
            .args(["--connect-obex-tcp", &daemon.obex])
            .output()
            .unwrap(),
        Wire::ObexPcStarts => {
            let mut child = phone
                .args(["--listen-obex-tcp", "127.0.0.1:0"])
                .spawn()
                .unwrap();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let address = loop {
                let line = lines.next().expect("the phone listens").unwrap();
                if let Some(rest) = line.strip_prefix("emulate: listening for OBEX on ") {
                    break rest.trim().to_string();
                }
            };
            let device = phone_store_device(db, profile);
            let sync = Command::new(env!("CARGO_BIN_EXE_handsync"))
                .arg("--db")
                .arg(db)
                .args(["sync", "--obex-tcp", &address, "--device", &device])
                .args(["--datastore", "contacts"])
                .output()
                .unwrap();
            let said: Vec<String> = lines.map_while(|l| l.ok()).collect();
            let status = child.wait().unwrap();
            let mut text = said.join("\n");
            text.push_str(&String::from_utf8_lossy(&sync.stdout));
            text.push_str(&String::from_utf8_lossy(&sync.stderr));
            Output {
                status,
                stdout: text.into_bytes(),
                stderr: Vec::new(),
            }
        }
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// The device id `handsync devices` gives the phone of this profile.
fn phone_store_device(db: &Path, profile: &str) -> String {
    let uri = DeviceProfile::builtin(profile).unwrap().device_id;
    let mut store = Store::open(db).unwrap();
    let device = store
        .read(|tx| tx.device_by_uri(&uri))
        .unwrap()
        .expect("the phone synced before");
    device.id.0.to_string()
}

fn phone_store(dir: &Path) -> PhoneStore {
    PhoneStore::load_dir(dir, false).expect("the phone's directory loads")
}

#[test]
fn the_program_survives_cut_links_and_a_killed_daemon() {
    let dir = support::scratch_dir("kill-loop-wire");
    let profiles = ["nokia-6230i", "sonyericsson-k750i", "siemens-s65"];
    let mut rng = Rng::new(7);
    let mut report = Vec::new();
    for profile in profiles {
        assert!(DeviceProfile::builtin(profile).is_some());
        let phone_dir: PathBuf = dir.join(profile);
        let db = dir.join(format!("{profile}.db"));
        std::fs::create_dir_all(&phone_dir).unwrap();
        let mut model = Model::default();
        let mut daemon = Daemon::start(&dir, &db);
        // The phone's first sync, whole.
        let (completed, output) = session(&daemon, &db, &phone_dir, profile, Wire::Http, None);
        assert!(completed, "{output}");
        let (mut cuts, mut kills, mut interrupted) = (0, 0, 0);
        let mut session_bytes = 800;
        for round in 0..40 {
            let mut phone = phone_store(&phone_dir);
            let mut pc = Pc::on_file(Store::open(&db).unwrap());
            edit(&mut rng, &mut model, &mut phone, &mut pc);
            phone.save_dir(&phone_dir).unwrap();
            drop(pc);
            let wire = match rng.below(3) {
                0 => Wire::ObexPhoneStarts,
                1 => Wire::ObexPcStarts,
                _ => Wire::Http,
            };
            let (completed, output) = match rng.below(3) {
                0 => session(&daemon, &db, &phone_dir, profile, wire, None),
                1 => {
                    // `--cut-after` drops an OBEX link; HTTP has none to drop.
                    let wire = if matches!(wire, Wire::Http) {
                        Wire::ObexPhoneStarts
                    } else {
                        wire
                    };
                    cuts += 1;
                    // Anywhere in the session: below what the phone sent in the last one.
                    let cut = 40 + rng.below(session_bytes.max(80) - 40);
                    session(&daemon, &db, &phone_dir, profile, wire, Some(cut))
                }
                _ => {
                    // The daemon dies while the phone syncs with it, and starts again.
                    kills += 1;
                    let mut phone = phone_command(&phone_dir, profile, None);
                    if rng.below(2) == 0 {
                        phone.args(["--http", &daemon.http]);
                    } else {
                        phone.args(["--connect-obex-tcp", &daemon.obex]);
                    }
                    let child = phone.spawn().unwrap();
                    std::thread::sleep(Duration::from_millis(rng.below(15) as u64));
                    daemon.kill();
                    let output = child.wait_with_output().unwrap();
                    daemon = Daemon::start(&dir, &db);
                    (
                        output.status.success(),
                        String::from_utf8_lossy(&output.stdout).into_owned(),
                    )
                }
            };
            if let Some(bytes) = bytes_sent(&output) {
                session_bytes = bytes;
            }
            if completed {
                model.session_completed();
            } else {
                interrupted += 1;
            }
            let mut store = Store::open(&db).unwrap();
            assert!(
                store.check_integrity().unwrap().is_empty(),
                "{profile} round {round}: integrity ({output})"
            );
            // The daemon records a cut once it notices the link is gone: give it a moment.
            let mut running = usize::MAX;
            for _ in 0..200 {
                running = store
                    .read(|tx| tx.sessions(None, 1000))
                    .unwrap()
                    .into_iter()
                    .filter(|s| s.result == SessionResult::Running)
                    .count();
                if running == 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert_eq!(
                running, 0,
                "{profile} round {round}: a session left running"
            );
        }
        for _ in 0..3 {
            let (completed, output) = session(&daemon, &db, &phone_dir, profile, Wire::Http, None);
            assert!(completed, "{profile}: an uncut sync: {output}");
        }
        daemon.stop();
        let mut damage = Damage::default();
        let on_phone: Vec<(u32, u32)> = phone_contacts(&phone_store(&phone_dir))
            .into_iter()
            .map(|(id, v, _)| (id, v))
            .collect();
        let mut pc = Pc::on_file(Store::open(&db).unwrap());
        let on_pc: Vec<(u32, u32)> = pc
            .contacts()
            .into_iter()
            .map(|(id, v, _)| (id, v))
            .collect();
        damage.count(&model, &on_phone);
        damage.count(&model, &on_pc);
        let made = model.items.len();
        let live = model.items.values().filter(|v| v.is_some()).count();
        report.push(format!(
            "{profile}: {cuts} cuts, {kills} daemon kills, {interrupted} sessions interrupted, \
             {live} items live of {made} made, {damage:?}"
        ));
        assert!(
            interrupted >= 6,
            "{profile}: only {interrupted} sessions interrupted"
        );
        assert!(made >= 20, "{profile}: only {made} items made");
        assert_eq!(
            damage.lost + damage.duplicated + damage.resurrected + damage.reverted,
            0,
            "{profile}: {damage:?} after {cuts} cuts and {kills} kills"
        );
    }
    eprintln!("{}", report.join("\n"));
}

/// What the phone says it sent in a session that completed (`link: N bytes sent, ...`).
fn bytes_sent(said: &str) -> Option<usize> {
    said.lines()
        .find_map(|line| line.trim().strip_prefix("link: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
}
