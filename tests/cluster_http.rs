//! Two `handsync serve --http` processes on one database (an SQLite file, and PostgreSQL
//! as a hosted service runs it) behind nginx as a plain
//! round-robin reverse proxy: a session lives in the process that opened it, and a message
//! nginx hands to the other one is relayed there. Emulated phones (`handsync emulate --http`)
//! sync through nginx; one process is killed in the middle of a session, which the survivor
//! records as cut, and the phone's next sync converges.
//!
//! Needs nginx (Debian's `nginx`); without it the tests say so and skip, unless
//! HANDSYNC_REQUIRE_ORACLES is set.

#[path = "support/emulator.rs"]
mod emulator_support;
#[path = "support/postgres.rs"]
mod postgres;
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use handsync::emulator::{DeviceProfile, EmulatedPhone, PhoneConfig, PhoneStore};
use handsync::store::{Datastore, SessionResult, Store};

/// nginx, wherever Debian puts it (/usr/sbin is not on every user's PATH); `None` when it is
/// missing and may be skipped.
fn nginx_program() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .or_else(|| {
            let output = Command::new("sh")
                .args(["-c", "command -v nginx"])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
            (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        });
    if found.is_none() {
        if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
            panic!("nginx is not installed (scripts/test-all installs it as root)");
        }
        eprintln!("skipping: nginx is not installed (apt-get install nginx)");
    }
    found
}

/// A `handsync serve` process: its HTTP address, node id and log.
struct Node {
    child: Child,
    http: SocketAddr,
    id: String,
    log: PathBuf,
}

impl Node {
    fn start(dir: &Path, db: &Path, name: &str) -> Node {
        let log = dir.join(format!("{name}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(db)
            .args([
                "serve",
                "--http",
                "127.0.0.1:0",
                "--no-bluetooth",
                "--no-usb",
            ])
            .args(["--no-desktop", "--no-notify", "--config"])
            .arg(dir.join("config.toml"))
            .env("XDG_CONFIG_HOME", dir)
            .env(
                "HANDSYNC_LOG",
                "warn,handsync::transport::http=debug,handsync::daemon=info",
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start handsync serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut http, mut id) = (None, None);
        while http.is_none() || id.is_none() {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("{name} ended early: {}", read(&log)))
                .unwrap();
            if let Some(rest) = line.strip_prefix("HTTP: listening on http://") {
                http = Some(rest.trim_end_matches('/').parse().unwrap());
            }
            if let Some(rest) = line.strip_prefix("Cluster: node ") {
                id = Some(rest.split(',').next().unwrap().to_string());
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Node {
            child,
            http: http.unwrap(),
            id: id.unwrap(),
            log,
        }
    }

    /// Log lines saying `what`.
    fn count(&self, what: &str) -> usize {
        read(&self.log).matches(what).count()
    }

    fn stop(mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert!(self.child.wait().unwrap().success(), "{}", read(&self.log));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// nginx in front of the nodes: round robin, HTTP/1.1 to them, the client's Host (so that
/// RespURI names nginx) and X-Forwarded-For passed on.
struct Proxy {
    child: Child,
    address: SocketAddr,
    dir: PathBuf,
}

impl Proxy {
    fn start(program: &Path, dir: &Path, nodes: &[&Node]) -> Proxy {
        let dir = dir.join("nginx");
        std::fs::create_dir_all(&dir).unwrap();
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let upstreams: String = nodes
            .iter()
            .map(|node| format!("        server {};\n", node.http))
            .collect();
        // As root nginx would hand its workers to `nobody`, who cannot write here.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root;\n"
        } else {
            ""
        };
        let d = dir.display();
        let conf = format!(
            "{user}worker_processes 1;\n\
             error_log {d}/error.log info;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n\
                 access_log {d}/access.log;\n\
                 client_body_temp_path {d}/body;\n\
                 proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n\
                 uwsgi_temp_path {d}/uwsgi;\n\
                 scgi_temp_path {d}/scgi;\n\
                 upstream handsync {{\n{upstreams}    }}\n\
                 server {{\n\
                     listen {address};\n\
                     location / {{\n\
                         proxy_pass http://handsync;\n\
                         proxy_http_version 1.1;\n\
                         proxy_set_header Connection \"\";\n\
                         proxy_set_header Host $http_host;\n\
                         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                     }}\n\
                 }}\n\
             }}\n"
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(program)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-g")
            .arg(format!("daemon off; pid {d}/nginx.pid;"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(address).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {}{}",
                read(&dir.join("stderr.log")),
                read(&dir.join("error.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Proxy {
            child,
            address,
            dir,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/sync", self.address)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// The configuration both nodes read: nginx on loopback is trusted, heartbeats every second,
/// small messages (many per session, so that nginx spreads each one over both nodes).
fn write_config(dir: &Path, idle_timeout: u64) {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[server]\nmax-msg-size = 2048\n\
             [http]\ntrusted-proxies = [\"127.0.0.1\"]\nidle-timeout = {idle_timeout}\n\
             [cluster]\nheartbeat = 1\n"
        ),
    )
    .unwrap();
}

/// A phone of the test: its model, data directory and generated contacts.
struct Phone {
    profile: &'static str,
    data: PathBuf,
}

impl Phone {
    fn command(&self, url: &str, mode: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
        command
            .args([
                "emulate",
                "--profile",
                self.profile,
                "--datastore",
                "contacts",
            ])
            .args(["--mode", mode, "--http", url, "--timeout", "60", "--data"])
            .arg(&self.data);
        command
    }

    /// The identity keys of what the phone holds.
    fn keys(&self) -> Vec<String> {
        let profile = DeviceProfile::builtin(self.profile).unwrap();
        let tasks_in_calendar = profile.datastores.iter().any(|d| d.holds_tasks);
        let store = PhoneStore::load_dir(&self.data, tasks_in_calendar).unwrap();
        let phone = EmulatedPhone::new(profile, store, PhoneConfig::default());
        emulator_support::phone_keys(&phone, Datastore::Contacts)
    }
}

/// Runs the commands at once; each one's success and output.
fn run_all(commands: Vec<Command>) -> Vec<(bool, String)> {
    let children: Vec<Child> = commands
        .into_iter()
        .map(|mut command| {
            command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            (
                output.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            )
        })
        .collect()
}

fn assert_all_completed(round: &str, results: &[(bool, String)], nodes: &[&Node]) {
    for (n, (ok, output)) in results.iter().enumerate() {
        assert!(
            *ok && output.contains("completed"),
            "{round}, phone {n}: {output}\n{}",
            nodes.iter().map(|n| read(&n.log)).collect::<String>()
        );
    }
}

/// The identity keys of the store's live contacts, sorted.
fn store_keys(store: &mut Store) -> Vec<String> {
    let mut keys: Vec<String> = store
        .read(|tx| tx.items(Datastore::Contacts, false))
        .unwrap()
        .into_iter()
        .map(|item| item.identity_key.unwrap_or_default())
        .collect();
    keys.sort();
    keys
}

fn assert_no_duplicates(keys: &[String]) {
    let mut unique = keys.to_vec();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "duplicated items: {keys:?}");
}

/// Waits until `done` holds, for at most `seconds`.
fn wait_for(seconds: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const RELAYED_TO: &str = "relaying the message to the node holding its session";
const RELAYED_FROM: &str = "message relayed from another node";

/// Four phones, one of them ignoring RespURI, sync through nginx three times (slow, two-way
/// with changes on both sides, two-way): every session completes, both processes answer
/// messages of sessions the other opened, nothing is duplicated and all converge.
#[test]
fn phones_sync_through_nginx_with_two_processes_on_one_sqlite_file() {
    let dir = support::scratch_dir("cluster-http");
    phones_sync_through_nginx(&dir, dir.join("handsync.db"));
}

#[test]
fn phones_sync_through_nginx_with_two_processes_on_one_postgres_database() {
    let Some(database) = postgres::postgres_or_skip("cluster http") else {
        return;
    };
    let dir = support::scratch_dir("cluster-http-postgres");
    phones_sync_through_nginx(&dir, PathBuf::from(database.url()));
}

fn phones_sync_through_nginx(dir: &Path, db: PathBuf) {
    let Some(nginx) = nginx_program() else {
        return;
    };
    let dir = dir.to_path_buf();
    write_config(&dir, 3);
    let first = Node::start(&dir, &db, "first");
    let second = Node::start(&dir, &db, "second");
    assert_ne!(first.id, second.id);
    let proxy = Proxy::start(&nginx, &dir, &[&first, &second]);
    let mut store = Store::open(&db).unwrap();
    let mut nodes: Vec<String> = store
        .read(|tx| tx.nodes())
        .unwrap()
        .into_iter()
        .map(|node| node.id)
        .collect();
    nodes.sort();
    let mut expected = vec![first.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(nodes, expected, "both processes registered as nodes");

    let profiles = [
        "nokia-6230i",
        "sonyericsson-k750i",
        "nokia-e51",
        "siemens-s65",
    ];
    let phones: Vec<Phone> = profiles
        .iter()
        .map(|profile| Phone {
            profile,
            data: dir.join(profile),
        })
        .collect();
    let url = proxy.url();
    let command = |n: usize, mode: &str| {
        let mut command = phones[n].command(&url, mode);
        // The last phone posts every message to the first URL, as some old phones do: its
        // session is found by its SessionID and device, on whichever node holds it.
        if n == phones.len() - 1 {
            command.arg("--ignore-resp-uri");
        }
        command
    };
    let both = [&first, &second];

    // Slow syncs: 15 generated contacts each.
    let round = (0..phones.len())
        .map(|n| {
            let mut command = command(n, "slow");
            command.args(["--generate", "15", "--seed", &(n + 1).to_string()]);
            command
        })
        .collect();
    assert_all_completed("slow sync", &run_all(round), &both);

    // The PC and each phone add a contact; two-way syncs.
    let pc_cards = dir.join("pc.vcf");
    std::fs::write(
        &pc_cards,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Neu;Karl;;;\r\nFN:Karl Neu\r\nTEL:+4930123456\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nN:Alt;Berta;;;\r\nFN:Berta Alt\r\nTEL:+4930654321\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_handsync"))
        .arg("--db")
        .arg(&db)
        .args(["import", "--datastore", "contacts"])
        .arg(&pc_cards)
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    let round = (0..phones.len())
        .map(|n| {
            let card = dir.join(format!("phone{n}.vcf"));
            std::fs::write(
                &card,
                format!(
                    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Telefon{n};Neu\r\nTEL;CELL:+4917100000{n}\r\nEND:VCARD\r\n"
                ),
            )
            .unwrap();
            let mut command = command(n, "two-way");
            command.arg("--add").arg(card);
            command
        })
        .collect();
    assert_all_completed("two-way sync with changes", &run_all(round), &both);
    // And once more, so that each phone gets what the others added meanwhile.
    let round = (0..phones.len()).map(|n| command(n, "two-way")).collect();
    assert_all_completed("two-way sync", &run_all(round), &both);

    // Both processes relayed, and both answered relayed messages.
    for node in both {
        assert!(
            node.count(RELAYED_TO) > 0 && node.count(RELAYED_FROM) > 0,
            "node {} relayed {} and answered {} relayed messages:\n{}",
            node.id,
            node.count(RELAYED_TO),
            node.count(RELAYED_FROM),
            read(&node.log)
        );
    }
    eprintln!(
        "relays: first {} out / {} in, second {} out / {} in",
        first.count(RELAYED_TO),
        first.count(RELAYED_FROM),
        second.count(RELAYED_TO),
        second.count(RELAYED_FROM)
    );

    // Nothing duplicated, nothing lost: 4 × 15 generated, 2 from the PC, 4 added on phones.
    let keys = store_keys(&mut store);
    assert_eq!(keys.len(), 4 * 15 + 2 + 4, "{keys:?}");
    assert_no_duplicates(&keys);
    for phone in &phones {
        assert_eq!(
            phone.keys(),
            keys,
            "{} differs from the store",
            phone.profile
        );
    }
    let sessions = store.read(|tx| tx.sessions(None, 100)).unwrap();
    assert_eq!(sessions.len(), 12, "{sessions:?}");
    assert!(
        sessions
            .iter()
            .all(|s| s.result == SessionResult::Completed),
        "{sessions:?}"
    );
    // Completed sessions linger for late messages until the idle timeout (3 s), then their
    // routes go.
    wait_for(20, "the routes of ended sessions to go", || {
        store.read(|tx| tx.session_routes()).unwrap().is_empty()
    });

    drop(proxy);
    first.stop();
    second.stop();
    assert!(
        store.read(|tx| tx.nodes()).unwrap().is_empty(),
        "nodes remove themselves on shutdown"
    );
}

/// The process holding a session is killed in its middle: the phone's session fails, the
/// survivor records the session as cut (it does not stay running), and the phone's next sync
/// through nginx completes with nothing duplicated or lost.
#[test]
fn on_sqlite_a_killed_owner_leaves_its_session_cut_and_the_next_sync_converges() {
    let dir = support::scratch_dir("cluster-http-kill");
    killed_owner(&dir, dir.join("handsync.db"));
}

#[test]
fn on_postgres_a_killed_owner_leaves_its_session_cut_and_the_next_sync_converges() {
    let Some(database) = postgres::postgres_or_skip("cluster kill") else {
        return;
    };
    let dir = support::scratch_dir("cluster-http-kill-postgres");
    killed_owner(&dir, PathBuf::from(database.url()));
}

fn killed_owner(dir: &Path, db: PathBuf) {
    let Some(nginx) = nginx_program() else {
        return;
    };
    let dir = dir.to_path_buf();
    write_config(&dir, 300);
    let first = Node::start(&dir, &db, "first");
    let second = Node::start(&dir, &db, "second");
    let proxy = Proxy::start(&nginx, &dir, &[&first, &second]);
    let mut store = Store::open(&db).unwrap();

    // 1,000 contacts in 2 KiB messages: a session of a few hundred messages.
    let phone = Phone {
        profile: "nokia-6230i",
        data: dir.join("6230i"),
    };
    let mut slow = phone.command(&proxy.url(), "slow");
    slow.args(["--generate", "1000", "--seed", "7"]);
    let emulator = slow
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The session's first answer records its route: its node is the one to kill. The phone
    // is stopped (SIGSTOP) the moment the route shows, so that the kill lands mid-session
    // however fast the machine; it goes on (SIGCONT) once its server is dead.
    let deadline = Instant::now() + Duration::from_secs(30);
    let route = loop {
        let found = store
            .read(|tx| tx.session_routes())
            .unwrap()
            .into_iter()
            .find(|r| r.store_session.is_some());
        if let Some(route) = found {
            unsafe { libc::kill(emulator.id() as i32, libc::SIGSTOP) };
            break route;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting: the session's route"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let store_session = route.store_session.unwrap();
    assert_eq!(
        store.read(|tx| tx.session(store_session)).unwrap().result,
        SessionResult::Running,
        "the phone was stopped mid-session"
    );
    let (mut owner, survivor) = if route.node == first.id {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(route.node, owner.id);
    unsafe { libc::kill(owner.child.id() as i32, libc::SIGKILL) };
    owner.child.wait().unwrap();
    unsafe { libc::kill(emulator.id() as i32, libc::SIGCONT) };
    let output = emulator.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "the session survived its owner (the kill came too late?): {printed}"
    );
    // Refused by the survivor as a session that ended (the relay's connection refused), or
    // as one whose owner did not answer (killed while answering).
    assert!(
        printed.contains("HTTP 404") || printed.contains("HTTP 502"),
        "{printed}"
    );

    // The survivor records it as cut (at once when the relay was refused, else when the
    // killed node's heartbeat is three periods late), and forgets its route.
    wait_for(15, "the session to be recorded as cut", || {
        store.read(|tx| tx.session(store_session)).unwrap().result != SessionResult::Running
    });
    let session = store.read(|tx| tx.session(store_session)).unwrap();
    assert_eq!(session.result, SessionResult::Cut, "{session:?}");
    assert!(
        session.error.as_deref().unwrap_or("").contains(&owner.id),
        "{session:?}"
    );
    assert!(store.read(|tx| tx.session_routes()).unwrap().is_empty());
    let told = [
        "the node holding the session is gone",
        "a message for a session whose node is gone",
        "a node stopped its heartbeat",
    ];
    assert!(
        told.iter().any(|what| survivor.count(what) > 0),
        "{}",
        read(&survivor.log)
    );
    // The killed node's heartbeat stops: the survivor removes it within three periods.
    wait_for(15, "the killed node to be taken for gone", || {
        let nodes = store.read(|tx| tx.nodes()).unwrap();
        nodes.len() == 1 && nodes[0].id == survivor.id
    });

    // The phone's next sync converges.
    let results = run_all(vec![phone.command(&proxy.url(), "two-way")]);
    assert_all_completed("the sync after the cut", &results, &[&survivor]);
    let keys = store_keys(&mut store);
    assert_eq!(keys.len(), 1000, "{keys:?}");
    assert_no_duplicates(&keys);
    assert_eq!(phone.keys(), keys);
    let running = store
        .read(|tx| tx.sessions(None, 100))
        .unwrap()
        .into_iter()
        .filter(|s| s.result == SessionResult::Running)
        .count();
    assert_eq!(running, 0);
    let _ = std::fs::remove_dir_all(&proxy.dir);
    drop(proxy);
    survivor.stop();
}
