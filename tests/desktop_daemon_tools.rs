//! `handsync serve` keeps the desktop in step by itself, tested with the real desktop tools:
//! an emulated phone syncs, and its contact and event appear in khard and khal; khard and
//! khal then create, edit and delete items non-interactively in the vdir, the daemon takes
//! the edits in as they happen (inotify), and the phone holds them after its next sync.
//! Without khard or khal the test skips, unless HANDSYNC_REQUIRE_ORACLES is set.

mod cli_store_support;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cli_store_support::*;
use handsync::store::Datastore;
use support::{oracle_available, spawn_until};

/// The daemon, stopped (SIGTERM) when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn start_serve(db: &Path, vdir: &Path, config_home: &Path) -> (Daemon, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .arg("--db")
        .arg(db)
        .args(["serve", "--no-http", "--no-bluetooth", "--no-usb"])
        .args(["--obex-tcp", "127.0.0.1:0", "--vdir"])
        .arg(vdir)
        .env("XDG_CONFIG_HOME", config_home)
        .env_remove("HANDSYNC_DB");
    let (child, address) = spawn_until(command, "OBEX over TCP: listening on ");
    (Daemon(child), address)
}

/// One session of the emulated Nokia 6230i keeping its data in `phone`, its user adding the
/// files of `add` first.
fn phone_syncs(phone: &Path, add: Option<&Path>, address: &str) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .args(["emulate", "--profile", "nokia-6230i", "--data"])
        .arg(phone)
        .args(["--connect-obex-tcp", address]);
    if let Some(add) = add {
        command.arg("--add").arg(add);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success() && text(&output.stdout).contains("completed"),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Every item file the emulated phone holds in one datastore, as text.
fn phone_holds(phone: &Path, kind: &str) -> String {
    let mut all = String::new();
    if let Ok(entries) = std::fs::read_dir(phone.join(kind)) {
        for entry in entries.flatten() {
            all.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    all
}

/// Polls `check` until it holds or the deadline passes (the daemon syncs the desktop half a
/// second after the last edit; a slow CI machine gets far longer).
fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match check() {
            Ok(()) => return,
            Err(why) if Instant::now() > deadline => panic!("{what}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

struct Tools {
    khard_conf: PathBuf,
    khal_conf: PathBuf,
}

impl Tools {
    fn new(dir: &Path, vdir: &Path) -> Tools {
        let khard_conf = dir.join("khard.conf");
        std::fs::write(
            &khard_conf,
            format!(
                "[addressbooks]\n[[phone]]\npath = {}\n[general]\ndefault_action = list\n\
                 editor = /bin/false\nmerge_editor = /bin/false\n",
                vdir.join("contacts").display()
            ),
        )
        .unwrap();
        let khal_conf = dir.join("khal.conf");
        std::fs::write(
            &khal_conf,
            format!(
                "[calendars]\n[[phone]]\npath = {}\ntype = calendar\n[locale]\n\
                 timeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
                 datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n\
                 default_timezone = UTC\nlocal_timezone = UTC\n[default]\n\
                 default_calendar = phone\n",
                vdir.join("calendar").display()
            ),
        )
        .unwrap();
        Tools {
            khard_conf,
            khal_conf,
        }
    }

    fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> String {
        let conf = if program == "khard" {
            &self.khard_conf
        } else {
            &self.khal_conf
        };
        let mut child = Command::new(program)
            .arg("-c")
            .arg(conf)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.unwrap_or("").as_bytes());
        drop(input);
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?} failed:\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// khard's listing; an address book still empty is an empty listing (khard exits 1
    /// then, saying "Found no contacts").
    fn contacts(&self) -> String {
        let output = Command::new("khard")
            .arg("-c")
            .arg(&self.khard_conf)
            .args(["list", "--parsable"])
            .output()
            .expect("run khard");
        let stdout = text(&output.stdout);
        assert!(
            output.status.success() || stdout.trim().is_empty(),
            "khard list failed:\n{stdout}{}",
            text(&output.stderr)
        );
        stdout
    }

    fn events(&self) -> String {
        self.run("khal", &["list", "2026-12-10", "5d"], None)
    }
}

fn stored_text(db: &Path, datastore: Datastore) -> String {
    stored_items(db, datastore)
        .into_iter()
        .map(|i| i.canonical)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_daemon_keeps_khard_khal_and_the_phone_in_step() {
    if !oracle_available("khard") || !oracle_available("khal") {
        return;
    }
    let (dir, db) = scratch_db("desktop-daemon-tools");
    let vdir = dir.join("vdir");
    let phone = dir.join("phone");
    let add = dir.join("phone-user-adds");
    std::fs::create_dir_all(&add).unwrap();
    std::fs::write(
        add.join("people.vcf"),
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person;Phone\r\nTEL;CELL:+4917011111\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person;Gone\r\nTEL;CELL:+4917022222\r\nEND:VCARD\r\n",
    )
    .unwrap();
    std::fs::write(
        add.join("meeting.vcs"),
        "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Phone Meeting\r\n\
         DTSTART:20261211T090000Z\r\nDTEND:20261211T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let (_daemon, address) = start_serve(&db, &vdir, &dir);
    let tools = Tools::new(&dir, &vdir);

    // The phone's items reach khard and khal by themselves.
    phone_syncs(&phone, Some(&add), &address);
    eventually("the phone's items in khard and khal", || {
        let contacts = tools.contacts();
        let events = tools.events();
        if contacts.contains("Phone Person")
            && contacts.contains("Gone Person")
            && events.contains("09:00-10:00 Phone Meeting")
        {
            Ok(())
        } else {
            Err(format!("khard:\n{contacts}\nkhal:\n{events}"))
        }
    });

    // The desktop creates, edits and deletes, each through its own tool.
    let new_card = dir.join("desk.yaml");
    std::fs::write(
        &new_card,
        "First name: Desk\nLast name: Person\nPhone:\n    cell: \"+49 170 3333333\"\n",
    )
    .unwrap();
    tools.run(
        "khard",
        &["new", "-a", "phone", "-i", new_card.to_str().unwrap()],
        None,
    );
    let current = tools.run("khard", &["show", "--format", "yaml", "Phone Person"], None);
    assert!(current.contains("+4917011111"), "{current}");
    let edited = dir.join("phone-person.yaml");
    std::fs::write(&edited, current.replace("+4917011111", "+4917044444")).unwrap();
    tools.run(
        "khard",
        &["edit", "-i", edited.to_str().unwrap(), "Phone Person"],
        Some("y\n"),
    );
    tools.run("khard", &["remove", "--force", "Gone Person"], None);
    tools.run(
        "khal",
        &["new", "2026-12-12", "10:00", "11:00", "Desk Meeting"],
        None,
    );
    // khal edits interactively: [s]ummary, the new one, then [n]o more edits.
    tools.run(
        "khal",
        &["edit", "Phone Meeting"],
        Some("s\nPhone Meeting moved\nn\n"),
    );
    let events = tools.events();
    assert!(events.contains("Phone Meeting moved"), "{events}");

    // The daemon takes each edit into the store without being asked.
    eventually("the desktop's edits in the store", || {
        let contacts = stored_text(&db, Datastore::Contacts);
        let calendar = stored_text(&db, Datastore::Calendar);
        let checks = [
            contacts.contains("Desk"),
            contacts.contains("+4917044444") && !contacts.contains("+4917011111"),
            !contacts.contains("Gone"),
            calendar.contains("Desk Meeting"),
            calendar.contains("Phone Meeting moved"),
        ];
        if checks.iter().all(|c| *c) {
            Ok(())
        } else {
            Err(format!("{checks:?}\n{contacts}\n{calendar}"))
        }
    });

    // The phone's next sync brings the desktop's changes; its user adds one more contact,
    // which reaches khard.
    let later = dir.join("later");
    std::fs::create_dir_all(&later).unwrap();
    std::fs::write(
        later.join("later.vcf"),
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person;Later\r\nTEL;CELL:+4917055555\r\nEND:VCARD\r\n",
    )
    .unwrap();
    phone_syncs(&phone, Some(&later), &address);
    let contacts = phone_holds(&phone, "contacts");
    assert!(contacts.contains("Person;Desk"), "{contacts}");
    assert!(contacts.contains("+4917044444"), "{contacts}");
    assert!(!contacts.contains("+4917011111"), "{contacts}");
    assert!(!contacts.contains("Person;Gone"), "{contacts}");
    let calendar = phone_holds(&phone, "calendar");
    assert!(calendar.contains("SUMMARY:Desk Meeting"), "{calendar}");
    assert!(
        calendar.contains("SUMMARY:Phone Meeting moved"),
        "{calendar}"
    );
    eventually("the phone's new contact in khard", || {
        let contacts = tools.contacts();
        if contacts.contains("Later Person") {
            Ok(())
        } else {
            Err(contacts)
        }
    });

    // khal deletes an event: gone from the phone after its next sync.
    tools.run("khal", &["edit", "Desk Meeting"], Some("D\ny\n"));
    eventually("the deleted event gone from the store", || {
        let calendar = stored_text(&db, Datastore::Calendar);
        if calendar.contains("Desk Meeting") {
            Err(calendar)
        } else {
            Ok(())
        }
    });
    phone_syncs(&phone, None, &address);
    let calendar = phone_holds(&phone, "calendar");
    assert!(!calendar.contains("Desk Meeting"), "{calendar}");
    assert!(calendar.contains("Phone Meeting moved"), "{calendar}");
}
