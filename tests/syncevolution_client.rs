//! An external SyncML client against `handsync serve --http`: SyncEvolution's client from
//! Debian (through `../shared/tools/syncevolution/run-client.sh`), syncing a directory of
//! vCards. Slow sync to handsync, two-way after edits on both sides, refresh-from-server into
//! an empty directory; WBXML on and off, SyncML 1.1 and 1.2. The directories and handsync's
//! export are compared field by field (SyncEvolution rewrites files: it adds empty
//! properties and drops UID).

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use handsync::pim::content::{parse_objects, Component};

fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HANDSYNC_TOOLS") {
        return PathBuf::from(dir);
    }
    support::corpus_dir().join("../tools")
}

/// `handsync serve` as a user runs it, on a scratch database and a free port.
struct Daemon {
    child: Child,
    url: String,
    db: PathBuf,
}

impl Daemon {
    fn start(dir: &Path) -> Daemon {
        let db = dir.join("handsync.db");
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .args([
                "--db",
                db.to_str().unwrap(),
                "serve",
                "--http",
                "127.0.0.1:0",
            ])
            .env("XDG_CONFIG_HOME", dir) // no user configuration file
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("handsync serve starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("serve prints its address")
                .expect("readable output");
            if let Some(rest) = line.strip_prefix("HTTP: listening on ") {
                break format!("{}sync", rest.trim());
            }
        };
        // Keep draining stdout so the daemon never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Daemon { child, url, db }
    }

    fn handsync(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "handsync {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// What handsync holds, as comparable contacts.
    fn contacts(&self) -> BTreeSet<Contact> {
        let export = self.handsync(&["export", "--datastore", "contacts", "--format", "vcf"]);
        parse_objects(export.as_bytes())
            .expect("handsync's export parses")
            .iter()
            .map(|o| Contact::of(&o.component))
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM: the daemon stops the way systemd stops it.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// The fields both sides must agree on; empty values (SyncEvolution adds them) ignored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Contact {
    formatted_name: String,
    name: String,
    phones: BTreeSet<String>,
    emails: BTreeSet<String>,
    note: String,
}

impl Contact {
    fn of(card: &Component) -> Contact {
        let values = |name: &str| -> BTreeSet<String> {
            card.properties_named(name)
                .map(|p| p.text_value().trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        let first = |name: &str| card.text_of(name).unwrap_or_default().trim().to_string();
        Contact {
            formatted_name: first("FN"),
            name: first("N").trim_end_matches(';').to_string(),
            phones: values("TEL"),
            emails: values("EMAIL")
                .into_iter()
                .map(|e| e.to_lowercase())
                .collect(),
            note: first("NOTE"),
        }
    }
}

fn read_dir_contacts(dir: &Path) -> BTreeSet<Contact> {
    let mut contacts = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for object in parse_objects(&bytes)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        {
            contacts.insert(Contact::of(&object.component));
        }
    }
    contacts
}

fn vcard(n: usize, name: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{name}{n};Anna;;;\r\nFN:Anna {name}{n}\r\n\
         TEL;TYPE=CELL:+49170{n:07}\r\nTEL;TYPE=HOME:+4930{n:06}\r\n\
         EMAIL;TYPE=INTERNET:anna{n}@example.org\r\nNOTE:Zürich, größer {n}\r\nEND:VCARD\r\n"
    )
}

struct Client {
    script: PathBuf,
    home: PathBuf,
    url: String,
    wbxml: bool,
    version: &'static str,
}

impl Client {
    fn sync(&self, contacts: &Path, mode: &str, device: &str) -> String {
        let output = Command::new("bash")
            .arg(&self.script)
            .args(["--url", &self.url, "--contacts"])
            .arg(contacts)
            .args([
                "--mode",
                mode,
                "--wbxml",
                if self.wbxml { "1" } else { "0" },
            ])
            .args(["--version", self.version, "--device-id", device])
            .args(["--contacts-uri", "Contacts", "--timeout", "300"])
            .arg("--home")
            .arg(&self.home)
            .output()
            .expect("run-client.sh runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "SyncEvolution {mode} failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("synchronization completed successfully"),
            "{stdout}"
        );
        stdout
    }
}

#[test]
fn syncevolution_client_slow_two_way_and_refresh_from_server() {
    if !support::oracle_available("syncevolution") {
        return;
    }
    let script = tools_dir().join("syncevolution/run-client.sh");
    assert!(script.exists(), "{} is missing", script.display());

    for (wbxml, version) in [(true, "1.2"), (false, "1.2"), (true, "1.1"), (false, "1.1")] {
        let label = format!("wbxml {wbxml}, SyncML {version}");
        let dir = support::scratch_dir(&format!("sevo-{wbxml}-{version}"));
        let daemon = Daemon::start(&dir);
        let client = Client {
            script: script.clone(),
            home: dir.join("client"),
            url: daemon.url.clone(),
            wbxml,
            version,
        };

        // Slow sync of a directory of vCards into an empty handsync.
        let phone_dir = dir.join("contacts");
        std::fs::create_dir_all(&phone_dir).unwrap();
        for n in 0..12 {
            std::fs::write(phone_dir.join(format!("{n}.vcf")), vcard(n, "Client")).unwrap();
        }
        client.sync(&phone_dir, "slow", "sevo-one");
        let expected = read_dir_contacts(&phone_dir);
        assert_eq!(expected.len(), 12, "{label}");
        assert_eq!(daemon.contacts(), expected, "{label}: after the slow sync");

        // Edits on both sides, then two-way.
        std::fs::write(
            phone_dir.join("3.vcf"),
            vcard(3, "Client").replace("Zürich", "Genève"),
        )
        .unwrap();
        std::fs::remove_file(phone_dir.join("4.vcf")).unwrap();
        std::fs::write(phone_dir.join("new.vcf"), vcard(40, "Client")).unwrap();
        let pc_file = dir.join("pc.vcf");
        std::fs::write(&pc_file, vcard(70, "Desktop")).unwrap();
        daemon.handsync(&[
            "import",
            "--datastore",
            "contacts",
            pc_file.to_str().unwrap(),
        ]);
        let report = client.sync(&phone_dir, "two-way", "sevo-one");
        assert!(report.contains("two-way"), "{label}: {report}");
        let on_phone = read_dir_contacts(&phone_dir);
        assert_eq!(
            on_phone.len(),
            13,
            "{label}: 12 - 1 deleted + 1 new + 1 from the PC"
        );
        assert!(on_phone
            .iter()
            .any(|c| c.formatted_name == "Anna Desktop70"));
        assert!(on_phone.iter().any(|c| c.note == "Genève, größer 3"));
        assert_eq!(daemon.contacts(), on_phone, "{label}: after two-way");

        // A second client refreshes an empty directory from handsync.
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        client.sync(&empty, "refresh-from-server", "sevo-two");
        assert_eq!(
            read_dir_contacts(&empty),
            on_phone,
            "{label}: refresh from server"
        );

        // Every session was recorded as completed, over HTTP.
        let history = daemon.handsync(&["history"]);
        let completed = history.lines().filter(|l| l.contains("completed")).count();
        assert_eq!(completed, 3, "{label}: {history}");
    }
}

/// A phone that lost its memory: SyncEvolution's state wiped and its items back under new
/// names (new LUIDs), then a slow sync against a store that already holds them all. Nothing
/// may be doubled on either side, and what the PC added in between comes back once.
#[test]
fn syncevolution_client_reset_then_slow_sync_doubles_nothing() {
    if !support::oracle_available("syncevolution") {
        return;
    }
    let script = tools_dir().join("syncevolution/run-client.sh");
    assert!(script.exists(), "{} is missing", script.display());
    let dir = support::scratch_dir("sevo-reset");
    let daemon = Daemon::start(&dir);
    let client = Client {
        script,
        home: dir.join("client"),
        url: daemon.url.clone(),
        wbxml: true,
        version: "1.2",
    };
    let phone_dir = dir.join("contacts");
    std::fs::create_dir_all(&phone_dir).unwrap();
    for n in 0..10 {
        std::fs::write(phone_dir.join(format!("{n}.vcf")), vcard(n, "Reset")).unwrap();
    }
    client.sync(&phone_dir, "slow", "sevo-reset");
    let pc_file = dir.join("pc.vcf");
    std::fs::write(&pc_file, vcard(80, "Desktop")).unwrap();
    daemon.handsync(&[
        "import",
        "--datastore",
        "contacts",
        pc_file.to_str().unwrap(),
    ]);
    client.sync(&phone_dir, "two-way", "sevo-reset");
    let before = read_dir_contacts(&phone_dir);
    assert_eq!(before.len(), 11);
    assert_eq!(daemon.contacts(), before);

    // The reset: no sync state, every item under a new name, one contact lost with it.
    std::fs::remove_dir_all(&client.home).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&phone_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let lost = files.pop().unwrap();
    std::fs::remove_file(&lost).unwrap();
    for (n, path) in files.iter().enumerate() {
        std::fs::rename(path, phone_dir.join(format!("restored-{n}.vcf"))).unwrap();
    }
    let report = client.sync(&phone_dir, "slow", "sevo-reset");

    let on_phone = read_dir_contacts(&phone_dir);
    let files_on_phone = std::fs::read_dir(&phone_dir).unwrap().count();
    assert_eq!(
        files_on_phone, 11,
        "one file per contact, none doubled: {report}"
    );
    assert_eq!(
        on_phone, before,
        "the lost contact came back, nothing else changed"
    );
    let export = daemon.handsync(&["export", "--datastore", "contacts", "--format", "vcf"]);
    let on_pc = parse_objects(export.as_bytes()).unwrap().len();
    assert_eq!(on_pc, 11, "no second copy on the PC: {export}");
    assert_eq!(daemon.contacts(), before);
}

/// One SyncEvolution session syncing a calendar directory (vCalendar 1.0 on the wire, whose
/// DevInf lists VEVENT and VTODO in one datastore, as Nokia phones do).
fn sync_calendar(client: &Client, calendar: &Path, mode: &str) -> String {
    let contacts = client.home.with_extension("contacts");
    std::fs::create_dir_all(&contacts).unwrap();
    let output = Command::new("bash")
        .arg(&client.script)
        .args(["--url", &client.url, "--contacts"])
        .arg(&contacts)
        .arg("--calendar")
        .arg(calendar)
        .args(["--calendar-uri", "Calendar", "--contacts-uri", "Contacts"])
        .args(["--calendar-sync-format", "text/x-vcalendar"])
        .args(["--mode", mode, "--wbxml", "1", "--version", client.version])
        .args(["--device-id", "sevo-calendar", "--timeout", "300"])
        .arg("--home")
        .arg(&client.home)
        .output()
        .expect("run-client.sh runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.contains("synchronization completed successfully"),
        "SyncEvolution {mode} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn ics(member: &str, uid: &str, lines: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:{member}\r\nUID:{uid}\r\n\
         DTSTAMP:20060401T120000Z\r\n{lines}END:{member}\r\nEND:VCALENDAR\r\n"
    )
}

/// SyncEvolution's calendar in vCalendar 1.0 holds events and to-dos in one datastore and
/// says so in its DevInf: its to-dos land in handsync's Tasks (not Calendar), a to-do added on
/// the desktop reaches its calendar directory, and an edit and a delete on its side reach
/// Tasks, in two-way syncs.
#[test]
fn syncevolution_calendar_holding_todos_syncs_them_with_tasks() {
    if !support::oracle_available("syncevolution") {
        return;
    }
    let script = tools_dir().join("syncevolution/run-client.sh");
    assert!(script.exists(), "{} is missing", script.display());
    let dir = support::scratch_dir("sevo-calendar-todos");
    let daemon = Daemon::start(&dir);
    let client = Client {
        script,
        home: dir.join("client"),
        url: daemon.url.clone(),
        wbxml: true,
        version: "1.2",
    };
    let calendar = dir.join("calendar");
    std::fs::create_dir_all(&calendar).unwrap();
    let event_lines = "SUMMARY:Meeting\r\nDTSTART:20060403T090000Z\r\nDTEND:20060403T100000Z\r\n";
    std::fs::write(calendar.join("1.ics"), ics("VEVENT", "ev-1", event_lines)).unwrap();
    let todo_lines = "SUMMARY:Buy milk\r\nDUE:20060430T220000Z\r\nSTATUS:NEEDS-ACTION\r\n";
    std::fs::write(calendar.join("2.ics"), ics("VTODO", "todo-1", todo_lines)).unwrap();
    sync_calendar(&client, &calendar, "slow");
    let export =
        |datastore: &str| daemon.handsync(&["export", "--datastore", datastore, "--format", "ics"]);
    let tasks = export("tasks");
    assert!(tasks.contains("SUMMARY:Buy milk"), "{tasks}");
    let events = export("calendar");
    assert!(events.contains("SUMMARY:Meeting"), "{events}");
    assert!(!events.contains("VTODO"), "{events}");

    let desk = dir.join("desk.ics");
    let desk_lines = "SUMMARY:File taxes\r\nDUE:20070430T220000Z\r\n";
    std::fs::write(&desk, ics("VTODO", "desk-1", desk_lines)).unwrap();
    daemon.handsync(&["import", "--datastore", "tasks", desk.to_str().unwrap()]);
    std::fs::write(
        calendar.join("2.ics"),
        ics(
            "VTODO",
            "todo-1",
            &todo_lines.replace("NEEDS-ACTION", "COMPLETED"),
        ),
    )
    .unwrap();
    let report = sync_calendar(&client, &calendar, "two-way");
    assert!(report.contains("two-way"), "{report}");
    let holding = |text: &str| -> Vec<PathBuf> {
        std::fs::read_dir(&calendar)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| std::fs::read_to_string(p).unwrap().contains(text))
            .collect()
    };
    assert_eq!(
        holding("File taxes").len(),
        1,
        "the desktop's to-do arrived"
    );
    assert_eq!(std::fs::read_dir(&calendar).unwrap().count(), 3);
    let tasks = export("tasks");
    assert!(tasks.contains("STATUS:COMPLETED"), "{tasks}");
    assert!(!export("calendar").contains("VTODO"));

    std::fs::remove_file(&holding("File taxes")[0]).unwrap();
    let report = sync_calendar(&client, &calendar, "two-way");
    assert!(report.contains("two-way"), "{report}");
    let tasks = export("tasks");
    assert!(!tasks.contains("File taxes"), "{tasks}");
    assert!(tasks.contains("Buy milk"), "{tasks}");
}
