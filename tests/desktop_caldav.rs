//! CardDAV and CalDAV through vdirsyncer, end to end: an emulated phone syncs with `handsync
//! serve --vdir V`; vdirsyncer pairs V with Radicale (Debian's, on loopback, with a password);
//! a contact and an event travel phone -> handsync -> Radicale, and edits, a deletion and a new
//! contact made on Radicale (plain CardDAV/CalDAV requests, as another client would make them)
//! travel back through vdirsyncer and serve's watcher to the phone at its next sync, without
//! echoing back to the server; the phone's edits of the server's items update those items
//! (same UID, same time zone) instead of making new ones, and its deletion deletes there.
//!
//! The vdirsyncer configuration is the one the README shows, with Radicale for the server.
//! Without radicale or vdirsyncer the test skips, unless HANDSYNC_REQUIRE_ORACLES is set.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use handsync::emulator::{DeviceProfile, PhoneStore};
use handsync::store::Datastore;

/// How long any one thing the test waits for may take before it fails.
const PATIENCE: Duration = Duration::from_secs(60);
const USER: &str = "alice";
const PASSWORD: &str = "s3cret-for-the-test";
/// The server's collections (the README's Nextcloud names stand in for Radicale's).
const ADDRESS_BOOK: &str = "contacts";
const CALENDAR: &str = "personal";

/// A child process killed and reaped when the test ends, passed or not.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it gives a value; fails with `what` and `context()` after PATIENCE.
fn wait_for<T>(
    what: &str,
    context: impl Fn() -> String,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up waiting for {what} after {PATIENCE:?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An HTTP answer: status, headers (names lower-cased) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A PROPFIND asking for no more than each item's ETag.
const ETAGS_ONLY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
    <propfind xmlns=\"DAV:\"><prop><getetag/></prop></propfind>";

/// Radicale on loopback: htpasswd authentication, each user sees only their own collections.
struct Radicale {
    port: u16,
    dir: PathBuf,
    process: Reaped,
}

impl Radicale {
    fn start(dir: &Path) -> Radicale {
        let dir = dir.join("radicale");
        std::fs::create_dir_all(&dir).unwrap();
        // Plain passwords keep the test free of bcrypt; the users file is the test's own.
        std::fs::write(dir.join("users"), format!("{USER}:{PASSWORD}\n")).unwrap();
        let port = free_port();
        let config = dir.join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\
                 [auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n\
                 htpasswd_encryption = plain\n\
                 [rights]\ntype = owner_only\n\
                 [storage]\nfilesystem_folder = {storage}\n\
                 [logging]\nlevel = warning\n",
                users = dir.join("users").display(),
                storage = dir.join("collections").display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("log")).unwrap();
        let process = Reaped(
            Command::new("radicale")
                .arg("--config")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start radicale"),
        );
        let mut radicale = Radicale { port, dir, process };
        // It answers once it listens; the principal needs the password. A port taken meanwhile
        // by someone else makes it exit: that is reported, not waited out.
        let deadline = Instant::now() + PATIENCE;
        while !radicale.answers() {
            if let Some(status) = radicale.process.0.try_wait().unwrap() {
                panic!(
                    "radicale ended ({status}) before answering\n{}",
                    radicale.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "Radicale did not answer within {PATIENCE:?}\n{}",
                radicale.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        radicale
    }

    fn answers(&self) -> bool {
        if TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            return false;
        }
        let anonymous = self.request_as(None, "PROPFIND", "/", &[("Depth", "0")], "");
        let principal = self.request("PROPFIND", &format!("/{USER}/"), &[("Depth", "0")], "");
        anonymous.status == 401 && principal.status == 207
    }

    fn log(&self) -> String {
        format!(
            "Radicale's log:\n{}",
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        )
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        self.request_as(Some((USER, PASSWORD)), method, path, headers, body)
    }

    /// One HTTP/1.1 request on a connection of its own.
    fn request_as(
        &self,
        login: Option<(&str, &str)>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to Radicale");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some((user, password)) = login {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .expect("read Radicale's answer");
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {raw:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Answer {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// The items of one of the user's collections: (path, ETag, text), read with PROPFIND
    /// and GET as any CardDAV/CalDAV client reads them.
    fn items(&self, collection: &str) -> Vec<(String, String, String)> {
        let base = format!("/{USER}/{collection}/");
        let listing = self.request("PROPFIND", &base, &[("Depth", "1")], ETAGS_ONLY);
        assert_eq!(listing.status, 207, "PROPFIND {base}: {}", listing.body);
        let mut items: Vec<(String, String, String)> = hrefs(&listing.body)
            .into_iter()
            .filter(|href| href != &base)
            .map(|href| {
                let item = self.request("GET", &href, &[], "");
                assert_eq!(item.status, 200, "GET {href}: {}", item.body);
                let etag = item.header("etag").expect("an ETag").to_string();
                (href, etag, item.body)
            })
            .collect();
        items.sort();
        items
    }
}

/// The `href` of each `response` of a multistatus answer (Radicale writes DAV: unprefixed).
fn hrefs(multistatus: &str) -> Vec<String> {
    multistatus
        .split("<response>")
        .skip(1)
        .filter_map(|response| {
            let start = response.find("<href>")? + "<href>".len();
            let end = start + response[start..].find("</href>")?;
            Some(response[start..end].to_string())
        })
        .collect()
}

/// `handsync serve` keeping `vdir` in step, serving phones over OBEX on TCP.
struct Serve {
    address: String,
    log: PathBuf,
    process: Reaped,
}

impl Serve {
    fn start(dir: &Path, db: &Path, vdir: &Path) -> Serve {
        let log = dir.join("serve.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(db)
            .args(["serve", "--no-http", "--no-bluetooth", "--no-usb"])
            .args(["--obex-tcp", "127.0.0.1:0", "--vdir"])
            .arg(vdir)
            .env("XDG_CONFIG_HOME", dir)
            .env("HANDSYNC_LOG", "handsync=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start handsync serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let process = Reaped(child);
        let address = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| {
                    panic!(
                        "serve ended before listening:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )
                })
                .unwrap();
            if let Some(address) = line.strip_prefix("OBEX over TCP: listening on ") {
                break address.trim().to_string();
            }
        };
        // Keep reading, so that serve never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Serve {
            address,
            log,
            process,
        }
    }

    fn log(&self) -> String {
        format!(
            "serve's log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Stops it as systemd would, and checks that it stopped cleanly.
    fn stop(mut self) {
        unsafe { libc::kill(self.process.0.id() as i32, libc::SIGTERM) };
        let status = self.process.0.wait().unwrap();
        assert!(
            status.success(),
            "serve stopped with {status}\n{}",
            self.log()
        );
    }
}

/// The emulated Nokia starts a session with serve from its Sync menu; its items stay in
/// `phone` between runs. `add`: files whose entries its user adds first.
fn phone_syncs(phone: &Path, serve: &Serve, add: &[&Path]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .args(["emulate", "--profile", "nokia-6230i", "--data"])
        .arg(phone)
        .args(["--connect-obex-tcp", &serve.address]);
    for file in add {
        command.arg("--add").arg(file);
    }
    let output = command.output().expect("run handsync emulate");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && printed.contains("completed"),
        "the phone's sync failed:\n{printed}\n{}",
        serve.log()
    );
    printed
}

/// The phone's user changes items as on the phone's keypad, to go to the PC at the next sync:
/// `edits` (old, new) replaces old by new in the item holding old; `deletions` deletes the
/// item holding the text.
fn phone_user_changes(phone: &Path, edits: &[(&str, &str)], deletions: &[&str]) {
    let profile = DeviceProfile::builtin("nokia-6230i").unwrap();
    let tasks_in_calendar = profile.datastores.iter().any(|d| d.holds_tasks);
    let mut store = PhoneStore::load_dir(phone, tasks_in_calendar).unwrap();
    let mut changed = 0;
    for kind in [Datastore::Contacts, Datastore::Calendar] {
        let items: Vec<(String, String)> = store
            .datastore(kind)
            .items()
            .iter()
            .map(|(luid, item)| (luid.clone(), String::from_utf8_lossy(&item.data).into()))
            .collect();
        for (luid, text) in items {
            for (old, new) in edits.iter().filter(|(old, _)| text.contains(old)) {
                assert!(store.replace(kind, &luid, text.replace(old, new)));
                changed += 1;
            }
            if deletions.iter().any(|gone| text.contains(gone)) {
                assert!(store.delete(kind, &luid));
                changed += 1;
            }
        }
    }
    assert_eq!(
        changed,
        edits.len() + deletions.len(),
        "one item per change on the phone"
    );
    store.save_dir(phone).unwrap();
}

/// The texts of the files of one folder whose names end with `extension`.
fn texts_in(folder: &Path, extension: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut texts: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    texts.sort();
    texts
}

/// Whether exactly one text contains every one of `needles`.
fn one_holds(texts: &[String], needles: &[&str]) -> bool {
    texts
        .iter()
        .filter(|t| needles.iter().all(|n| t.contains(n)))
        .count()
        == 1
}

/// vdirsyncer with the test's configuration; its status stays in the test's folder.
fn vdirsyncer(dir: &Path, args: &[&str], answers: &str) -> String {
    let mut child = Command::new("vdirsyncer")
        .args(args)
        .env("VDIRSYNCER_CONFIG", dir.join("vdirsyncer.conf"))
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vdirsyncer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && !printed.to_ascii_lowercase().contains("error"),
        "vdirsyncer {args:?} failed ({}):\n{printed}",
        output.status
    );
    printed
}

/// The README's vdirsyncer configuration, pointed at the test's vdir and Radicale: what the
/// README shows is what runs, and a README that drifts from it fails here.
fn vdirsyncer_config(dir: &Path, vdir: &Path, port: u16) -> String {
    let readme = include_str!("../README.md");
    let (_, after) = readme
        .split_once("In `~/.config/vdirsyncer/config`:\n\n")
        .expect("the README shows the vdirsyncer configuration");
    // The indented block up to the first line that is not indented.
    let mut config = String::new();
    for line in after.lines() {
        match line.strip_prefix("    ") {
            Some(line) => config.push_str(line),
            None if line.is_empty() => {}
            None => break,
        }
        config.push('\n');
    }
    let password = dir.join("password");
    std::fs::write(&password, PASSWORD).unwrap();
    let replacements = [
        (
            "~/.local/share/vdirsyncer/status/",
            format!("{}/", dir.join("vdirsyncer-status").display()),
        ),
        (
            "~/.local/share/handsync/vdir/",
            format!("{}/", vdir.display()),
        ),
        (
            "https://cloud.example.com/remote.php/dav/",
            format!("http://127.0.0.1:{port}/"),
        ),
        ("\"me\"", format!("\"{USER}\"")),
        (
            "[\"command\", \"pass\", \"nextcloud\"]",
            format!("[\"command\", \"cat\", \"{}\"]", password.display()),
        ),
    ];
    for (readme_text, ours) in replacements {
        assert!(
            config.contains(readme_text),
            "the README's vdirsyncer configuration lacks {readme_text}:\n{config}"
        );
        config = config.replace(readme_text, &ours);
    }
    // The server's collections are the test's: the README's Nextcloud names.
    for pair in [
        format!("[\"contacts\", \"contacts\", \"{ADDRESS_BOOK}\"]"),
        format!("[\"calendar\", \"calendar\", \"{CALENDAR}\"]"),
    ] {
        assert!(config.contains(&pair), "{pair} not in:\n{config}");
    }
    config
}

#[test]
fn contacts_and_events_travel_between_the_phone_and_radicale_both_ways() {
    if !support::oracle_available("radicale") || !support::oracle_available("vdirsyncer") {
        return;
    }
    let dir = support::scratch_dir("caldav");
    let db = dir.join("handsync.db");
    let vdir = dir.join("vdir");
    let phone = dir.join("phone");
    let radicale = Radicale::start(&dir);
    let serve = Serve::start(&dir, &db, &vdir);
    let context = || format!("{}\n{}", serve.log(), radicale.log());

    // The phone's user has two contacts and an appointment; the phone syncs.
    let ann = dir.join("ann.vcf");
    std::fs::write(
        &ann,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Example;Ann\r\nTEL;CELL:+49301111\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let bert = dir.join("bert.vcf");
    std::fs::write(
        &bert,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Example;Bert\r\nTEL;CELL:+49302222\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let dentist = dir.join("dentist.vcs");
    std::fs::write(
        &dentist,
        "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\nSUMMARY:Dentist\r\n\
         DTSTART:20261210T090000Z\r\nDTEND:20261210T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    phone_syncs(&phone, &serve, &[&ann, &bert, &dentist]);

    // serve writes them into the vdir after the session.
    wait_for("the phone's items in the vdir", context, || {
        let contacts = texts_in(&vdir.join("contacts"), "vcf");
        let events = texts_in(&vdir.join("calendar"), "ics");
        (contacts.len() == 2
            && one_holds(&contacts, &["Ann", "+49301111"])
            && one_holds(&contacts, &["Bert", "+49302222"])
            && events.len() == 1
            && one_holds(&events, &["Dentist"]))
        .then_some(())
    });

    // vdirsyncer creates the collections on the server (it asks first), then uploads.
    std::fs::write(
        dir.join("vdirsyncer.conf"),
        vdirsyncer_config(&dir, &vdir, radicale.port),
    )
    .unwrap();
    vdirsyncer(&dir, &["discover"], &"y\n".repeat(4));
    vdirsyncer(&dir, &["sync"], "");
    let contacts = radicale.items(ADDRESS_BOOK);
    let texts: Vec<String> = contacts.iter().map(|(_, _, t)| t.clone()).collect();
    assert!(
        texts.len() == 2
            && one_holds(&texts, &["Ann", "+49301111"])
            && one_holds(&texts, &["Bert", "+49302222"]),
        "Radicale's address book: {texts:#?}"
    );
    let events = radicale.items(CALENDAR);
    assert!(
        events.len() == 1 && events[0].2.contains("SUMMARY:Dentist"),
        "Radicale's calendar: {events:#?}"
    );

    // Another client of the server: Ann gets a new number and a longer name, Bert goes, the
    // appointment is renamed. Each change names the version it changes (If-Match).
    for (href, etag, text) in &contacts {
        if text.contains("+49301111") {
            let edited = text
                .replace("+49301111", "+49309999")
                .replace("Ann", "Anneliese");
            let put = radicale.request(
                "PUT",
                href,
                &[("If-Match", etag), ("Content-Type", "text/vcard")],
                &edited,
            );
            assert!(matches!(put.status, 201 | 204), "PUT {href}: {}", put.body);
        } else {
            let delete = radicale.request("DELETE", href, &[("If-Match", etag)], "");
            assert!(
                matches!(delete.status, 200 | 204),
                "DELETE {href}: {}",
                delete.body
            );
        }
    }
    let (href, etag, text) = &events[0];
    let put = radicale.request(
        "PUT",
        href,
        &[("If-Match", etag), ("Content-Type", "text/calendar")],
        &text.replace("SUMMARY:Dentist", "SUMMARY:Dentist at 11"),
    );
    assert!(matches!(put.status, 201 | 204), "PUT {href}: {}", put.body);
    // A contact made on the server, with a UID no file can be named after: vdirsyncer names
    // its file by a hash, which handsync takes as any foreign file name.
    let carla = format!("/{USER}/{ADDRESS_BOOK}/carla.vcf");
    let put = radicale.request(
        "PUT",
        &carla,
        &[("If-None-Match", "*"), ("Content-Type", "text/vcard")],
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:carla/42@example.org\r\nN:Server;Carla;;;\r\n\
         FN:Carla Server\r\nTEL;TYPE=WORK:+49303333\r\nEND:VCARD\r\n",
    );
    assert_eq!(put.status, 201, "PUT {carla}: {}", put.body);
    // An event as calendar clients write it: in a named time zone, defined alongside.
    let standup = format!("/{USER}/{CALENDAR}/standup.ics");
    let put = radicale.request(
        "PUT",
        &standup,
        &[("If-None-Match", "*"), ("Content-Type", "text/calendar")],
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
         BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n\
         BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n\
         TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n\
         BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
         TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n\
         END:VTIMEZONE\r\n\
         BEGIN:VEVENT\r\nUID:standup-7@example.org\r\nDTSTAMP:20261201T080000Z\r\n\
         DTSTART;TZID=Europe/Berlin:20261211T100000\r\nDTEND;TZID=Europe/Berlin:20261211T101500\r\n\
         SUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    assert_eq!(put.status, 201, "PUT {standup}: {}", put.body);

    // vdirsyncer brings them into the vdir; serve sees the files change and takes them in.
    vdirsyncer(&dir, &["sync"], "");
    let export = |datastore: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(&db)
            .args(["export", "--datastore", datastore])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    wait_for("the server's edits in the store", context, || {
        let contacts = export("contacts");
        (contacts.contains("+49309999")
            && contacts.contains("Anneliese")
            && !contacts.contains("+49302222")
            && contacts.contains("+49303333")
            && export("calendar").contains("Dentist at 11")
            && export("calendar").contains("Standup"))
        .then_some(())
    });

    // The phone's next sync brings them to the phone.
    phone_syncs(&phone, &serve, &[]);
    let on_phone = texts_in(&phone.join("contacts"), "vcf");
    assert!(
        on_phone.len() == 2
            && one_holds(&on_phone, &["Anneliese", "+49309999"])
            && one_holds(&on_phone, &["Carla", "+49303333"]),
        "the phone's contacts: {on_phone:#?}"
    );
    let on_phone = texts_in(&phone.join("calendar"), "vcs");
    // 10:00 in Berlin in December is 09:00 UTC.
    assert!(
        on_phone.len() == 2
            && one_holds(&on_phone, &["SUMMARY:Dentist at 11"])
            && one_holds(&on_phone, &["SUMMARY:Standup", "DTSTART:20261211T090000Z"]),
        "the phone's calendar: {on_phone:#?}"
    );

    // The phone's user edits both items the server made and deletes Anneliese: handsync
    // writes the edits over vdirsyncer's files, keeping the server's UIDs the phone never
    // saw, so vdirsyncer updates the same items on the server instead of making new ones;
    // the deletion removes her file, and vdirsyncer her card on the server.
    phone_user_changes(
        &phone,
        &[("+49303333", "+49304444"), ("Standup", "Standup moved")],
        &["+49309999"],
    );
    phone_syncs(&phone, &serve, &[]);
    wait_for("the phone's edits in the vdir", context, || {
        let contacts = texts_in(&vdir.join("contacts"), "vcf");
        let events = texts_in(&vdir.join("calendar"), "ics");
        (contacts.len() == 1
            && one_holds(&contacts, &["UID:carla/42@example.org", "+49304444"])
            && one_holds(&events, &["UID:standup-7@example.org", "Standup moved"]))
        .then_some(())
    });
    vdirsyncer(&dir, &["sync"], "");
    let contacts = radicale.items(ADDRESS_BOOK);
    assert!(
        contacts.len() == 1
            && contacts.iter().any(|(href, _, text)| href == &carla
                && text.contains("UID:carla/42@example.org")
                && text.contains("+49304444")),
        "Radicale's address book after the phone's changes: {contacts:#?}"
    );
    let events = radicale.items(CALENDAR);
    assert!(
        events.len() == 2
            && events.iter().any(|(href, _, text)| href == &standup
                && text.contains("UID:standup-7@example.org")
                && text.contains("SUMMARY:Standup moved")
                && text.contains("DTSTART;TZID=Europe/Berlin:20261211T100000")),
        "Radicale's calendar after the phone's changes: {events:#?}"
    );

    // Nothing echoes: what handsync took in it leaves as it is. A desktop sync of our own
    // (serve's after the session may run before or after it) finds nothing to write, the
    // next vdirsyncer run nothing to copy either way, and the server keeps its versions.
    let desktop = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["desktop", "sync", "--vdir"])
        .arg(&vdir)
        .env("XDG_CONFIG_HOME", &dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&desktop.stdout);
    assert!(
        desktop.status.success()
            && said.contains(
                "to the desktop 0 added, 0 changed, 0 deleted; \
                 from the desktop 0 added, 0 changed, 0 deleted"
            ),
        "desktop sync after the round trip: {said}{}\n{}",
        String::from_utf8_lossy(&desktop.stderr),
        serve.log()
    );
    let last = vdirsyncer(&dir, &["sync"], "");
    assert!(
        !last.contains("Copying") && !last.contains("Deleting"),
        "vdirsyncer found changes after the round trip:\n{last}\n{}",
        serve.log()
    );
    let texts: Vec<String> = radicale
        .items(ADDRESS_BOOK)
        .into_iter()
        .map(|(_, _, t)| t)
        .collect();
    assert!(
        texts.len() == 1 && one_holds(&texts, &["UID:carla/42@example.org", "+49304444"]),
        "Radicale's address book at the end: {texts:#?}"
    );
    serve.stop();
    drop(radicale);
    let _ = std::fs::remove_dir_all(&dir);
}
