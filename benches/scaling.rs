//! Whether the server's cost follows the work, not the store: two measures, each reported as
//! ratios against the goals of docs/performance.md.
//!
//! 1. **Sizes.** A slow sync of N generated contacts from the emulated Nokia E51 (SyncML 1.2,
//!    WBXML, MaxMsgSize 10,000) over OBEX/TCP into an empty SQLite store, for N = 500, 5,000
//!    and 50,000 (`HANDSYNC_BENCH_SIZES`, comma-separated). Per size: the server's CPU time
//!    for the session, per item, and its peak RSS. Goals: per-item CPU at the largest size
//!    within 1.2x of that at the size before it; peak RSS at the largest within 1.2x of that
//!    at the smallest.
//! 2. **Other accounts.** A store holding 1,000 or 1,000,000 items of 1,000 other accounts
//!    (`HANDSYNC_BENCH_OTHER_ITEMS`), each account's held by a phone of it, filled in bulk
//!    with SQL; then phones of fresh accounts (data of their own, md5 login) slow-sync 500
//!    contacts each (`HANDSYNC_BENCH_SESSION_ITEMS`), `HANDSYNC_BENCH_SESSIONS` of them (10),
//!    on SQLite and, when `HANDSYNC_TEST_POSTGRES` names a server, on PostgreSQL; as many
//!    more are cut inside their second message (the server records the cut and prunes the
//!    devices that never exchanged anything). Per store: the server's CPU time per session
//!    (their mean) and the median wall time of one (of a cut one: from the phone's start to
//!    the cut recorded). Goal: the same whatever the others hold (the ratio of the largest
//!    store to the smallest within 1.2x).
//! 3. **To the phone.** The other direction of part 1: a store holding N contacts of the
//!    phone's account (filled with SQL) and an empty phone slow-syncing them, so that the
//!    server sends N Adds and takes N Maps; per-item CPU and peak RSS as in part 1.
//!
//! Each size runs `HANDSYNC_BENCH_REPEAT` times (3) and keeps its least CPU time and peak,
//! since other processes on the machine only ever add to them.
//! `HANDSYNC_BENCH_PARTS=sizes,others,to-phone` picks the parts; `HANDSYNC_BENCH_SERVER=PATH` runs
//! another build of `handsync` as the server (the store is made by it, in its schema), to
//! compare two builds side by side. Under `cargo test` (no `--bench`) a tiny run (50 and 200
//! contacts; 100 and 2,000 other items, 50-contact sessions) checks the harness.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/support/postgres.rs"]
mod postgres;
mod process;

use handsync::emulator::{
    generate, AuthKind, Credentials, DataSetSpec, DeviceProfile, EmulatedPhone, PhoneConfig,
    PhoneStore, SyncMode, SyncRequest,
};
use handsync::obex::ObexClientConfig;
use handsync::store::Datastore;
use handsync::transport::emulated::{phone_starts, CutLink};
use postgres::TestDatabase;
use process::{peak_rss_kib, process_cpu, ServeChild};

const MAX_MSG_SIZE: u64 = 10_000;
/// The goals' tolerance: a ratio up to this is "the same cost".
const GOAL: f64 = 1.2;

struct Plan {
    sizes: Vec<usize>,
    repeat: usize,
    other_items: Vec<usize>,
    session_items: usize,
    sessions: usize,
    parts: Vec<String>,
}

impl Plan {
    fn quick() -> Plan {
        Plan {
            sizes: vec![50, 200],
            repeat: 1,
            other_items: vec![100, 2_000],
            session_items: 50,
            sessions: 2,
            parts: vec!["sizes".into(), "others".into(), "to-phone".into()],
        }
    }

    fn from_environment() -> Plan {
        let list = |name: &str, default: &[usize]| -> Vec<usize> {
            match std::env::var(name) {
                Ok(text) => text
                    .split(',')
                    .map(|n| {
                        n.trim()
                            .replace('_', "")
                            .parse()
                            .unwrap_or_else(|_| usage(&format!("{name}: {n:?} is not a count")))
                    })
                    .collect(),
                Err(_) => default.to_vec(),
            }
        };
        let one = |name: &str, default: usize| list(name, &[default])[0].max(1);
        Plan {
            sizes: list("HANDSYNC_BENCH_SIZES", &[500, 5_000, 50_000]),
            repeat: one("HANDSYNC_BENCH_REPEAT", 3),
            other_items: list("HANDSYNC_BENCH_OTHER_ITEMS", &[1_000, 1_000_000]),
            session_items: one("HANDSYNC_BENCH_SESSION_ITEMS", 500),
            sessions: one("HANDSYNC_BENCH_SESSIONS", 10),
            parts: std::env::var("HANDSYNC_BENCH_PARTS")
                .unwrap_or_else(|_| "sizes,others,to-phone".into())
                .split(',')
                .map(|p| p.trim().to_string())
                .collect(),
        }
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("scaling: {problem}");
    std::process::exit(2)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let plan = if quick {
        Plan::quick()
    } else {
        Plan::from_environment()
    };
    let dir = std::env::temp_dir().join(format!("handsync-bench-scaling-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("handsync")).unwrap();
    if plan.parts.iter().any(|p| p == "sizes") {
        sizes(&plan, &dir);
    }
    // From here on phones log in as their account.
    std::fs::write(
        dir.join("handsync/config.toml"),
        "[server.auth-by-transport]\nobex-tcp = \"md5\"\n",
    )
    .unwrap();
    if plan.parts.iter().any(|p| p == "to-phone") {
        to_phone(&plan, &dir);
    }
    if plan.parts.iter().any(|p| p == "others") {
        others(&plan, &dir, Backend::Sqlite);
        if postgres::server_url().is_some() {
            others(&plan, &dir, Backend::Postgres);
        } else {
            println!("PostgreSQL: skipped (HANDSYNC_TEST_POSTGRES is not set)");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ----- part 1: sizes -----

struct SizeRun {
    count: usize,
    wall: Duration,
    cpu: Duration,
    peak_kib: u64,
}

fn sizes(plan: &Plan, dir: &Path) {
    println!(
        "slow sync of N contacts, emulator (Nokia E51, SyncML 1.2 WBXML, MaxMsgSize \
         {MAX_MSG_SIZE}) -> handsync over OBEX/TCP, empty SQLite store; best of {}",
        plan.repeat
    );
    size_runs(plan, |count, attempt| {
        let db = dir.join(format!("sizes-{count}-{attempt}.db"));
        let server = Server::start(dir, &db.display().to_string());
        let phone = phone(count, 7, "IMEI:350000000000001", None);
        let run = measured_sync(&server, phone, count);
        drop(server);
        remove_sqlite(&db);
        run
    });
}

/// The server's figures for one session of `count` items (what the phone holds after it).
fn measured_sync(server: &Server, phone: EmulatedPhone, count: usize) -> SizeRun {
    let cpu_before = process_cpu(server.pid());
    let (wall, phone) = sync(&server.address, phone);
    let held = phone.store().datastore(Datastore::Contacts).len();
    assert_eq!(held, count, "the phone holds every contact after the sync");
    SizeRun {
        count,
        wall,
        cpu: process_cpu(server.pid()).saturating_sub(cpu_before),
        peak_kib: peak_rss_kib(server.pid()),
    }
}

/// Runs `run(count, attempt)` for every size, best of `plan.repeat`, and prints the table
/// and the ratios against the goals.
fn size_runs(plan: &Plan, mut run: impl FnMut(usize, usize) -> SizeRun) {
    println!(
        "{:>8} {:>8} {:>12} {:>14} {:>14}",
        "N", "wall s", "server CPU s", "CPU/item us", "peak RSS MiB"
    );
    let mut runs = Vec::new();
    for &count in &plan.sizes {
        let mut best: Option<SizeRun> = None;
        for attempt in 0..plan.repeat {
            let latest = run(count, attempt);
            best = Some(match best {
                None => latest,
                Some(b) => SizeRun {
                    count,
                    wall: b.wall.min(latest.wall),
                    cpu: b.cpu.min(latest.cpu),
                    peak_kib: b.peak_kib.min(latest.peak_kib),
                },
            });
        }
        let run = best.expect("at least one run");
        println!(
            "{:>8} {:>8.2} {:>12.2} {:>14.1} {:>14.1}",
            run.count,
            run.wall.as_secs_f64(),
            run.cpu.as_secs_f64(),
            per_item_us(&run),
            run.peak_kib as f64 / 1024.0
        );
        runs.push(run);
    }
    if let [smallest, .., before, largest] = runs.as_slice() {
        report_ratio(
            &format!(
                "per-item server CPU, {} against {}",
                largest.count, before.count
            ),
            per_item_us(largest),
            per_item_us(before),
        );
        report_ratio(
            &format!(
                "peak server RSS, {} against {}",
                largest.count, smallest.count
            ),
            largest.peak_kib as f64,
            smallest.peak_kib as f64,
        );
    } else if let [smallest, largest] = runs.as_slice() {
        report_ratio(
            &format!(
                "per-item server CPU, {} against {}",
                largest.count, smallest.count
            ),
            per_item_us(largest),
            per_item_us(smallest),
        );
    }
}

fn per_item_us(run: &SizeRun) -> f64 {
    run.cpu.as_secs_f64() * 1e6 / run.count.max(1) as f64
}

/// Prints `measured / reference` against the goal; a reference of zero (under /proc's 10 ms
/// tick) is too short to compare.
fn report_ratio(what: &str, measured: f64, reference: f64) {
    if reference <= 0.0 {
        println!("{what}: too short to compare");
        return;
    }
    let ratio = measured / reference;
    let verdict = if ratio <= GOAL { "within" } else { "OVER" };
    println!("{what}: {ratio:.2}x ({verdict} the goal of {GOAL}x)");
}

// ----- part 3: to the phone -----

fn to_phone(plan: &Plan, dir: &Path) {
    println!(
        "slow sync of an empty phone (Nokia E51, as above) with N contacts of its account in \
         the SQLite store: N Adds to the phone, N Maps back; best of {}",
        plan.repeat
    );
    size_runs(plan, |count, attempt| {
        let db = dir.join(format!("to-phone-{count}-{attempt}.db"));
        let location = db.display().to_string();
        add_account(&location, "reader");
        fill_account(Backend::Sqlite, &location, "reader", count);
        let server = Server::start(dir, &location);
        let phone = phone(0, 7, "IMEI:350000000000002", Some("reader"));
        let run = measured_sync(&server, phone, count);
        drop(server);
        remove_sqlite(&db);
        run
    });
}

// ----- part 2: other accounts' items -----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// The filler accounts the other items belong to, each with a phone holding them.
const OTHER_ACCOUNTS: usize = 1_000;

struct OthersRun {
    others: usize,
    cpu: Duration,
    wall: Duration,
    /// Sessions cut in their second message: the server's CPU per cut, and the median time
    /// from the phone's start to the cut recorded (devices that never exchanged anything
    /// pruned with it).
    cut_cpu: Duration,
    cut_wall: Duration,
}

/// Where the phone's link breaks in a cut session: past its first message (1.4 KB with its
/// DevInf), inside its second (its first items).
const CUT_AFTER_BYTES: usize = 4_000;

fn others(plan: &Plan, dir: &Path, backend: Backend) {
    println!(
        "{}: phones of fresh accounts slow-sync {} contacts each ({} sessions: mean CPU, median \
         wall), the store holding items of {OTHER_ACCOUNTS} other accounts",
        backend.name(),
        plan.session_items,
        plan.sessions
    );
    println!(
        "{:>12} {:>10} {:>16} {:>14} {:>14} {:>12}",
        "other items", "fill s", "server CPU ms", "wall ms", "cut: CPU ms", "cut: wall ms"
    );
    let mut runs = Vec::new();
    for &others in &plan.other_items {
        let (location, database) = match backend {
            Backend::Sqlite => (
                dir.join(format!("others-{others}.db"))
                    .display()
                    .to_string(),
                None,
            ),
            Backend::Postgres => {
                let database = TestDatabase::create("bench_scaling");
                (database.url().to_string(), Some(database))
            }
        };
        let started = Instant::now();
        for session in 0..plan.sessions {
            add_account(&location, &phone_account(session));
            add_account(&location, &cut_account(session));
        }
        fill(backend, &location, others);
        let fill_time = started.elapsed();
        let server = Server::start(dir, &location);
        // The CPU time of all sessions together: /proc counts in 10 ms ticks, a session
        // takes a few of them.
        let mut walls = Vec::new();
        let cpu_before = process_cpu(server.pid());
        for session in 0..plan.sessions {
            let account = phone_account(session);
            let device = format!("IMEI:35100{session:010}");
            let phone = phone(plan.session_items, 11, &device, Some(&account));
            walls.push(sync(&server.address, phone).0);
        }
        let cpu = process_cpu(server.pid()).saturating_sub(cpu_before);
        let mut watch = Watch::open(backend, &location);
        let mut cut_walls = Vec::new();
        let cut_cpu_before = process_cpu(server.pid());
        for session in 0..plan.sessions {
            let account = cut_account(session);
            let device = format!("IMEI:35200{session:010}");
            let phone = phone(plan.session_items, 13, &device, Some(&account));
            let recorded = watch.cut_sessions();
            let started = Instant::now();
            sync_cut(&server.address, phone);
            watch.wait_for_cut_sessions(recorded + 1);
            cut_walls.push(started.elapsed());
        }
        let cut_cpu = process_cpu(server.pid()).saturating_sub(cut_cpu_before);
        drop(watch);
        drop(server);
        if backend == Backend::Sqlite {
            remove_sqlite(Path::new(&location));
        }
        drop(database);
        let run = OthersRun {
            others,
            cpu: cpu / plan.sessions as u32,
            wall: median(walls),
            cut_cpu: cut_cpu / plan.sessions as u32,
            cut_wall: median(cut_walls),
        };
        println!(
            "{:>12} {:>10.1} {:>16.1} {:>14.1} {:>14.1} {:>12.1}",
            run.others,
            fill_time.as_secs_f64(),
            run.cpu.as_secs_f64() * 1e3,
            run.wall.as_secs_f64() * 1e3,
            run.cut_cpu.as_secs_f64() * 1e3,
            run.cut_wall.as_secs_f64() * 1e3
        );
        runs.push(run);
    }
    if let (Some(least), Some(most)) = (runs.first(), runs.last()) {
        if runs.len() > 1 {
            let what = |measure: &str| {
                format!(
                    "{} session {measure}, {} other items against {}",
                    backend.name(),
                    most.others,
                    least.others
                )
            };
            let compare = |measure: &str, most: Duration, least: Duration| {
                report_ratio(&what(measure), most.as_secs_f64(), least.as_secs_f64());
            };
            compare("server CPU", most.cpu, least.cpu);
            compare("wall time", most.wall, least.wall);
            compare("cut: server CPU", most.cut_cpu, least.cut_cpu);
            compare("cut: wall time", most.cut_wall, least.cut_wall);
        }
    }
}

fn phone_account(session: usize) -> String {
    format!("phone{session:03}")
}

fn cut_account(session: usize) -> String {
    format!("cut{session:03}")
}

/// A reader of the store beside the server: how many sessions it recorded as cut.
enum Watch {
    Sqlite(rusqlite::Connection),
    Postgres(::postgres::Client),
}

impl Watch {
    fn open(backend: Backend, location: &str) -> Watch {
        match backend {
            Backend::Sqlite => Watch::Sqlite(rusqlite::Connection::open(location).unwrap()),
            Backend::Postgres => {
                Watch::Postgres(::postgres::Client::connect(location, ::postgres::NoTls).unwrap())
            }
        }
    }

    fn cut_sessions(&mut self) -> i64 {
        let sql = "SELECT count(*) FROM sessions WHERE result = 'cut'";
        match self {
            Watch::Sqlite(conn) => conn.query_row(sql, [], |row| row.get(0)).unwrap(),
            Watch::Postgres(client) => client.query_one(sql, &[]).unwrap().get(0),
        }
    }

    fn wait_for_cut_sessions(&mut self, count: i64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.cut_sessions() < count {
            assert!(
                Instant::now() < deadline,
                "the server never recorded the cut"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// Adds an account with the server's own binary (which makes the store, in the schema that
/// binary writes); [`fill`] gives it data of its own.
fn add_account(location: &str, name: &str) {
    let output = Command::new(server_binary())
        .arg("--db")
        .arg(location)
        .args(["account", "add", name, "--password", &password(name)])
        .output()
        .expect("handsync account add runs");
    assert!(
        output.status.success(),
        "account add {name}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

fn password(account: &str) -> String {
    format!("secret-{account}")
}

/// Gives the accounts there are data of their own, and fills the store with `items` contacts
/// of [`OTHER_ACCOUNTS`] more such accounts, each account's held by one phone of it: the
/// items with their first version, the phones, their datastores and mappings, written with a
/// few bulk statements (the same SQL on both databases but for making bytes and moving the
/// change counter; only tables and columns every schema since version 6 has).
fn fill(backend: Backend, location: &str, items: usize) {
    let base = FILL_BASE_REVISION;
    let bytes = backend.text_as_bytes("t.card");
    let digest = match backend {
        Backend::Sqlite => "zeroblob(16)",
        Backend::Postgres => "decode('00000000000000000000000000000000', 'hex')",
    };
    let sql = format!(
        "UPDATE accounts SET own_data = 1;
         INSERT INTO accounts (name, md5_digest, created_at, own_data) \
             WITH RECURSIVE counter(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM counter \
                 WHERE i < {OTHER_ACCOUNTS}) \
             SELECT 'other' || i, {digest}, 0, 1 FROM counter;
         CREATE TABLE fill_accounts AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n \
             FROM accounts WHERE name LIKE 'other%';
         INSERT INTO devices (account_id, uri, first_seen, last_seen) \
             SELECT id, 'IMEI:other' || id, 0, 0 FROM fill_accounts;
         INSERT INTO device_datastores (device_id, datastore, device_uri) \
             SELECT d.id, 'contacts', 'Contacts' FROM devices d \
             JOIN fill_accounts a ON a.id = d.account_id;
         INSERT INTO items (account_id, datastore, content_type, raw, canonical, identity_key, \
             revision, created_at, modified_at) \
             WITH RECURSIVE counter(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM counter \
                 WHERE i < {items}), \
             t AS (SELECT i, {GENERATED_CARD} AS card FROM counter) \
             SELECT a.id, 'contacts', 'text/vcard', {bytes}, t.card, 'fn:person ' || t.i || ' other', \
                 {base} + t.i, 0, 0 FROM t JOIN fill_accounts a ON a.n = t.i % {OTHER_ACCOUNTS};
         INSERT INTO item_versions (item_id, revision, content_type, raw, canonical, \
             identity_key, deleted, applied, at, reason) \
             SELECT id, revision, content_type, raw, canonical, identity_key, 0, 1, 0, \
             'added_on_pc' FROM items WHERE revision > {base};
         INSERT INTO device_items (device_datastore_id, item_id, luid, seen_revision, mapped_at) \
             SELECT s.id, i.id, 'L' || i.id, i.revision, 0 FROM items i \
             JOIN devices d ON d.account_id = i.account_id \
             JOIN device_datastores s ON s.device_id = d.id \
             WHERE i.revision > {base};
         DROP TABLE fill_accounts;"
    );
    run_fill(backend, location, &sql, items);
}

/// The revisions of the items a fill writes come after this one.
const FILL_BASE_REVISION: i64 = 1_000_000_000;

/// The vCard of item `i` of a fill, in SQL (line breaks inside the literals: the two
/// databases name the function that makes one differently).
const GENERATED_CARD: &str = "'BEGIN:VCARD\nVERSION:3.0\nN:Other;Person ' || i \
     || '\nFN:Person ' || i || ' Other\nTEL;TYPE=CELL:+1555' || i || '\nEND:VCARD\n'";

impl Backend {
    /// SQL turning a text expression into bytes.
    fn text_as_bytes(self, text: &str) -> String {
        match self {
            Backend::Sqlite => format!("CAST({text} AS BLOB)"),
            Backend::Postgres => format!("convert_to({text}, 'UTF8')"),
        }
    }
}

/// Runs a fill's SQL in one transaction and moves the change counter past what it wrote.
fn run_fill(backend: Backend, location: &str, sql: &str, items: usize) {
    let last = FILL_BASE_REVISION + items as i64;
    let counter = match backend {
        Backend::Sqlite => format!("UPDATE change_counter SET value = {last} WHERE id = 1;"),
        Backend::Postgres => format!("SELECT setval('change_counter', {last});"),
    };
    match backend {
        Backend::Sqlite => {
            let mut conn = rusqlite::Connection::open(location).expect("the SQLite file opens");
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).expect("the fill runs");
            tx.execute_batch(&counter).expect("the counter moves");
            tx.commit().unwrap();
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .unwrap();
        }
        Backend::Postgres => {
            let mut client =
                ::postgres::Client::connect(location, ::postgres::NoTls).expect("PostgreSQL");
            let mut tx = client.transaction().unwrap();
            tx.batch_execute(sql).expect("the fill runs");
            tx.batch_execute(&counter).expect("the counter moves");
            tx.commit().unwrap();
            // As autovacuum would have by then: the planner knows the tables' sizes.
            client.batch_execute("VACUUM ANALYZE").unwrap();
            // Written out before the sessions, not during them (a role of pg_checkpoint
            // may; others leave it to the checkpointer).
            let _ = client.batch_execute("CHECKPOINT");
        }
    }
    // The fill's dirty pages go to disk now, not while the sessions' commits wait for theirs.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// Gives `account` data of its own holding `items` contacts no phone holds yet.
fn fill_account(backend: Backend, location: &str, account: &str, items: usize) {
    let sql = format!(
        "UPDATE accounts SET own_data = 1 WHERE name = '{account}';
         INSERT INTO items (account_id, datastore, content_type, raw, canonical, identity_key, \
             revision, created_at, modified_at) \
             WITH RECURSIVE counter(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM counter \
                 WHERE i < {items}), \
             t AS (SELECT i, {card} AS card FROM counter) \
             SELECT a.id, 'contacts', 'text/vcard', {bytes}, t.card, \
                 'fn:person ' || t.i || ' other', {base} + t.i, 0, 0 \
             FROM t JOIN accounts a ON a.name = '{account}';
         INSERT INTO item_versions (item_id, revision, content_type, raw, canonical, \
             identity_key, deleted, applied, at, reason) \
             SELECT id, revision, content_type, raw, canonical, identity_key, 0, 1, 0, \
             'added_on_pc' FROM items WHERE revision > {base};",
        card = GENERATED_CARD,
        bytes = backend.text_as_bytes("t.card"),
        base = FILL_BASE_REVISION,
    );
    run_fill(backend, location, &sql, items);
}

// ----- the server and the phone -----

/// The `handsync` the server runs: this build's, or `HANDSYNC_BENCH_SERVER` (another build,
/// to compare two side by side on the same machine at the same time).
fn server_binary() -> PathBuf {
    std::env::var_os("HANDSYNC_BENCH_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_handsync")))
}

/// `handsync serve` on OBEX/TCP, stopped (SIGTERM, waited for) when dropped.
struct Server {
    child: ServeChild,
    address: String,
}

impl Server {
    fn start(dir: &Path, db: &str) -> Server {
        let mut child = Command::new(server_binary())
            .arg("--db")
            .arg(db)
            .args(["serve", "--no-http", "--no-desktop", "--no-bluetooth"])
            .args(["--no-usb", "--no-notify", "--obex-tcp", "127.0.0.1:0"])
            .env("XDG_CONFIG_HOME", dir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .process_group(0)
            .spawn()
            .expect("handsync serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "serve ended before listening: see {}",
                    dir.join("serve.log").display()
                );
            };
            if let Some(rest) = line.strip_prefix("OBEX over TCP: listening on ") {
                break rest.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server {
            child: ServeChild(child),
            address,
        }
    }

    fn pid(&self) -> i32 {
        self.child.pid()
    }
}

/// An E51 holding `count` generated contacts, logged in as `account` when given.
fn phone(count: usize, seed: u64, device_id: &str, account: Option<&str>) -> EmulatedPhone {
    let mut profile = DeviceProfile::builtin("nokia-e51").expect("the E51 profile");
    profile.max_msg_size = MAX_MSG_SIZE;
    profile.device_id = device_id.to_string();
    // Room for everything the server sends (the E51 holds 10,000 contacts).
    for datastore in &mut profile.datastores {
        datastore.max_items = None;
    }
    let store: PhoneStore = generate(&profile, &DataSetSpec::contacts(count, seed));
    let config = PhoneConfig {
        credentials: account.map(|user| Credentials {
            user: user.to_string(),
            password: password(user),
            kind: AuthKind::Md5,
        }),
        ..PhoneConfig::default()
    };
    EmulatedPhone::new(profile, store, config)
}

/// One slow sync of the phone's contacts; returns its wall time and the phone after it.
fn sync(address: &str, phone: EmulatedPhone) -> (Duration, EmulatedPhone) {
    let request = SyncRequest::only(Datastore::Contacts, SyncMode::Slow);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let (phone, result) = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let _ = stream.set_nodelay(true);
        let config = ObexClientConfig {
            max_packet_length: 0x8000,
            max_object_size: 16 * 1024 * 1024,
            response_timeout: Some(Duration::from_secs(600)),
        };
        phone_starts(stream, phone, request, config, &mut |_| {}).await
    });
    let wall = started.elapsed();
    let report = result.expect("the session runs");
    assert!(report.completed, "the session completes: {report:?}");
    (wall, phone)
}

/// A slow sync whose link breaks after [`CUT_AFTER_BYTES`] from the phone.
fn sync_cut(address: &str, phone: EmulatedPhone) {
    let request = SyncRequest::only(Datastore::Contacts, SyncMode::Slow);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, result) = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let _ = stream.set_nodelay(true);
        let stream = CutLink::new(stream, CUT_AFTER_BYTES, None);
        let config = ObexClientConfig {
            max_packet_length: 0x8000,
            max_object_size: 16 * 1024 * 1024,
            response_timeout: Some(Duration::from_secs(600)),
        };
        phone_starts(stream, phone, request, config, &mut |_| {}).await
    });
    assert!(result.is_err(), "the link was cut: {result:?}");
}

fn remove_sqlite(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(PathBuf::from(format!("{}{suffix}", db.display())));
    }
}
