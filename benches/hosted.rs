//! Hosted handsync under load: many accounts' phones on P `handsync serve --http` processes
//! sharing one database (a SQLite file, or PostgreSQL), behind a round-robin HTTP proxy
//! (`benches/proxy`, standing in for nginx). N emulated phones (Nokia E51 profile, SyncML
//! over HTTP, each from its own 127.x address), K to an account and each logging in as its
//! account (auth-md5), run at once: a slow sync (the account's shared contacts, which every
//! phone of the account holds, and one contact of the phone's own), then a two-way sync
//! after the user edited that contact and added another.
//!
//! Then the duplicate check: every phone syncs once more, and a new phone per account
//! slow-syncs from empty (what the store holds for the account). Each must hold exactly the
//! contacts of its account's data (of every account's, where accounts share the household's
//! data), each once, with the edits in and the versions before them gone.
//!
//! Reported: sessions per second, p50/p99/max latency of an HTTP message (phone to proxy to
//! server and back), errors by kind, server CPU per session and peak RSS (summed over the
//! processes), the database's size per 1,000 contacts (SQLite: file + WAL; PostgreSQL:
//! `pg_database_size`), and the duplicate check.
//!
//! Switches, read by `cargo bench --bench hosted`:
//! - `HANDSYNC_BENCH_DB=sqlite|postgres` (sqlite): postgres makes a fresh database on the
//!   server `HANDSYNC_TEST_POSTGRES` names (`tests/support/postgres.rs`), gives its URL to
//!   `--db`, and drops it afterwards;
//! - `HANDSYNC_BENCH_PROCESSES` (1), `HANDSYNC_BENCH_PHONES` (200),
//!   `HANDSYNC_BENCH_PHONES_PER_ACCOUNT` (4), `HANDSYNC_BENCH_CONTACTS` (20 shared contacts
//!   per account);
//! - `HANDSYNC_BENCH_OWN_DATA=1`, or `cargo bench --bench hosted -- --own-data`: accounts made
//!   with `account add NAME --own-data` (SQLite; on PostgreSQL every account has its own
//!   data anyway);
//! - `HANDSYNC_BENCH_SERVE_ARGS`: more arguments for every `serve` process (split on
//!   whitespace);
//! - `HANDSYNC_BENCH_SERVER_CPU=S` (unset: no limit): each `serve` process limited to S of
//!   one core (0.3: 30 %) by a cgroup of its own (needs root). On a machine with few cores,
//!   where the phones, the proxy and the database run beside the servers, this is how the
//!   server tier's scaling shows: each process stands for a server machine of that size, and
//!   the rest of the machine is left to what the servers wait on.
//!
//! With more than one process a session lives in the process that opened it; the others
//! relay its messages there (docs/daemon.md).
//!
//! Under `cargo test` (no `--bench`) small runs, whatever the other switches say: 12 phones,
//! 3 to an account, 1 process on SQLite; then, when `HANDSYNC_TEST_POSTGRES` names a server
//! (scripts/test-all sets it up), 12 phones on 2 processes on PostgreSQL, each account with
//! data of its own. They check the harness, and that every session completes and nothing is
//! duplicated.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::ops::Range;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

mod http_client;
#[path = "../tests/support/postgres.rs"]
mod postgres;
mod process;
mod proxy;

use handsync::emulator::{
    contact, AuthKind, Credentials, DeviceProfile, EmulatedPhone, PhoneConfig, PhoneItem,
    PhoneStore, Step, SyncMode, SyncRequest, UnixMillis,
};
use handsync::store::Datastore;
use http_client::post_from;
use postgres::TestDatabase;
use process::{peak_rss_kib, process_cpu, CpuLimit, ServeChild};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DatabaseKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
struct Plan {
    phones: usize,
    phones_per_account: usize,
    processes: usize,
    shared_contacts: usize,
    database: DatabaseKind,
    own_data: bool,
    serve_args: Vec<String>,
    /// Each server's share of one core, when limited.
    server_cpu: Option<f64>,
}

impl Plan {
    fn quick() -> Plan {
        Plan {
            phones: 12,
            phones_per_account: 3,
            processes: 1,
            shared_contacts: 20,
            database: DatabaseKind::Sqlite,
            own_data: false,
            serve_args: Vec::new(),
            server_cpu: None,
        }
    }

    fn from_environment() -> Plan {
        let database = match std::env::var("HANDSYNC_BENCH_DB").as_deref() {
            Err(_) | Ok("sqlite") => DatabaseKind::Sqlite,
            Ok("postgres") => DatabaseKind::Postgres,
            Ok(other) => usage(&format!("HANDSYNC_BENCH_DB={other:?}: sqlite or postgres")),
        };
        let own_data = std::env::args().any(|a| a == "--own-data")
            || std::env::var("HANDSYNC_BENCH_OWN_DATA").is_ok_and(|v| v == "1");
        Plan {
            phones: positive("HANDSYNC_BENCH_PHONES", 200),
            phones_per_account: positive("HANDSYNC_BENCH_PHONES_PER_ACCOUNT", 4),
            processes: positive("HANDSYNC_BENCH_PROCESSES", 1),
            shared_contacts: positive("HANDSYNC_BENCH_CONTACTS", 20),
            database,
            own_data,
            serve_args: std::env::var("HANDSYNC_BENCH_SERVE_ARGS")
                .map(|args| args.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
            server_cpu: std::env::var("HANDSYNC_BENCH_SERVER_CPU").ok().map(|text| {
                match text.parse::<f64>() {
                    Ok(share) if share > 0.0 && share.is_finite() => share,
                    _ => usage(&format!(
                        "HANDSYNC_BENCH_SERVER_CPU={text:?}: a share of one core, such as 0.3"
                    )),
                }
            }),
        }
    }

    fn accounts(&self) -> usize {
        self.phones.div_ceil(self.phones_per_account)
    }

    fn account_of(&self, phone: usize) -> usize {
        phone / self.phones_per_account
    }

    /// Whether an account's phones see only that account's contacts: on PostgreSQL every
    /// account has its own data; on SQLite, accounts made with `--own-data`.
    fn data_per_account(&self) -> bool {
        self.own_data || self.database == DatabaseKind::Postgres
    }

    /// The accounts whose contacts `account`'s phones end up holding.
    fn accounts_sharing_with(&self, account: usize) -> Range<usize> {
        if self.data_per_account() {
            account..account + 1
        } else {
            0..self.accounts()
        }
    }

    fn phones_of(&self, accounts: Range<usize>) -> Range<usize> {
        (accounts.start * self.phones_per_account).min(self.phones)
            ..(accounts.end * self.phones_per_account).min(self.phones)
    }

    /// Contacts in the store after the run: each account's shared ones, and two per phone.
    fn contacts_stored(&self) -> usize {
        self.accounts() * self.shared_contacts + 2 * self.phones
    }
}

fn positive(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Err(_) => default,
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => usage(&format!("{name}={text:?}: a whole number above 0")),
        },
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("hosted: {problem}");
    std::process::exit(2)
}

#[derive(Default)]
struct Tally {
    latency: Mutex<Vec<Duration>>,
    completed: Mutex<BTreeMap<&'static str, usize>>,
    errors: Mutex<BTreeMap<String, usize>>,
}

impl Tally {
    fn error(&self, kind: String) {
        *self.errors.lock().unwrap().entry(kind).or_default() += 1;
    }

    fn completed(&self, what: &'static str) {
        *self.completed.lock().unwrap().entry(what).or_default() += 1;
    }

    fn count(&self, what: &str) -> usize {
        self.completed
            .lock()
            .unwrap()
            .get(what)
            .copied()
            .unwrap_or(0)
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    if !quick {
        run(&Plan::from_environment());
        return;
    }
    run(&Plan::quick());
    if postgres::server_url().is_some() {
        run(&Plan {
            processes: 2,
            database: DatabaseKind::Postgres,
            own_data: true,
            ..Plan::quick()
        });
    } else if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
        panic!("HANDSYNC_TEST_POSTGRES is not set: the hosted run on PostgreSQL cannot run");
    } else {
        eprintln!("hosted: no PostgreSQL server (HANDSYNC_TEST_POSTGRES): its small run skipped");
    }
}

fn run(plan: &Plan) {
    let scratch = Scratch::new();
    let dir = scratch.0.clone();
    std::fs::write(dir.join("handsync/config.toml"), server_config(plan)).unwrap();
    let database = Database::create(plan.database, &dir);
    // An empty PostgreSQL database already takes some megabytes of catalog.
    let (size_before, _) = database.size();
    println!(
        "hosted: {} phones, {} to an account ({} accounts, {}), {} serve process(es) behind a \
         round-robin proxy, {}",
        plan.phones,
        plan.phones_per_account,
        plan.accounts(),
        if plan.data_per_account() {
            "each account's data its own"
        } else {
            "all accounts sharing the household's data"
        },
        plan.processes,
        database.describe()
    );
    if let Some(share) = plan.server_cpu {
        println!(
            "each serve process limited to {:.0} % of one core (a cgroup of its own)",
            share * 100.0
        );
    }
    for account in 0..plan.accounts() {
        add_account(plan, &database, account);
    }
    // One after another: the first creates the schema, the others find it.
    let servers: Vec<Server> = (0..plan.processes)
        .map(|index| Server::start(plan, &dir, &database, index))
        .collect();

    let tally = Arc::new(Tally::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let proxy = runtime
        .block_on(proxy::start(servers.iter().map(|s| s.address).collect()))
        .expect("the proxy listens");

    let cpu_before: Vec<Duration> = servers.iter().map(|s| process_cpu(s.pid())).collect();
    let started = Instant::now();
    let phones = runtime.block_on(async {
        let tasks: Vec<_> = (0..plan.phones)
            .map(|n| tokio::spawn(phone_run(new_phone(plan, n), proxy, tally.clone())))
            .collect();
        let mut phones = Vec::new();
        for task in tasks {
            phones.push(task.await.expect("a phone task ends"));
        }
        phones
    });
    let main_phase = MainPhase {
        elapsed: started.elapsed(),
        sessions: tally.count("slow") + tally.count("two-way"),
        latency: std::mem::take(&mut *tally.latency.lock().unwrap()),
        cpu: servers
            .iter()
            .zip(&cpu_before)
            .map(|(server, before)| process_cpu(server.pid()).saturating_sub(*before))
            .sum(),
        peak_rss_kib: servers.iter().map(|s| peak_rss_kib(s.pid())).sum(),
        database_size: database.size(),
        database_size_before: size_before,
        every_phone_done: phones.iter().all(|p| p.done),
    };
    let problems = if main_phase.every_phone_done {
        runtime.block_on(duplicate_check(plan, phones, proxy, tally.clone()))
    } else {
        vec!["skipped: not every phone completed its sessions".to_string()]
    };
    drop(servers);
    drop(runtime);
    report(plan, &main_phase, &tally, &problems, &dir);
    drop(database);

    assert_eq!(
        main_phase.sessions,
        2 * plan.phones,
        "every phone completes both sessions"
    );
    assert!(problems.is_empty(), "the duplicate check found problems");
}

/// The run's folder (configuration, SQLite file, server logs): removed afterwards, kept
/// when the run fails so that the servers' logs can be read.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("handsync-bench-hosted-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("handsync")).expect("a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("hosted: the servers' logs are kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// What the timed sessions (every phone's slow and two-way sync) measured.
struct MainPhase {
    elapsed: Duration,
    sessions: usize,
    latency: Vec<Duration>,
    /// Summed over the server processes.
    cpu: Duration,
    peak_rss_kib: u64,
    /// Bytes, and how they were measured.
    database_size: (u64, String),
    database_size_before: u64,
    every_phone_done: bool,
}

fn report(plan: &Plan, main_phase: &MainPhase, tally: &Tally, problems: &[String], dir: &Path) {
    let MainPhase {
        elapsed, sessions, ..
    } = *main_phase;
    println!(
        "sessions: {sessions} of {} completed in {:.1} s: {:.1} sessions/s",
        2 * plan.phones,
        elapsed.as_secs_f64(),
        sessions as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    print_latency(main_phase.latency.clone());
    println!("errors: {:?}", tally.errors.lock().unwrap());
    println!(
        "server: CPU {:.2} s in all, {:.1} ms per session; peak RSS {:.1} MiB summed over {} \
         process(es)",
        main_phase.cpu.as_secs_f64(),
        main_phase.cpu.as_secs_f64() * 1e3 / sessions.max(1) as f64,
        main_phase.peak_rss_kib as f64 / 1024.0,
        plan.processes
    );
    let contacts = plan.contacts_stored();
    let mib = |bytes: u64| bytes as f64 / 1048576.0;
    let (size, measured) = &main_phase.database_size;
    let grown = size.saturating_sub(main_phase.database_size_before);
    if main_phase.every_phone_done {
        println!(
            "database: {:.2} MiB ({measured}), {:.2} MiB more than empty, holding {contacts} \
             contacts: {:.2} MiB per 1,000 contacts",
            mib(*size),
            mib(grown),
            mib(grown) * 1000.0 / contacts as f64
        );
    } else {
        println!(
            "database: {:.2} MiB ({measured}), not every phone's contacts in it",
            mib(*size)
        );
    }
    if problems.is_empty() {
        println!(
            "duplicate check: every phone, and a new phone for each of the {} accounts, holds \
             exactly its account's contacts, each once, edits in",
            plan.accounts()
        );
    } else {
        println!("duplicate check: {} problem(s)", problems.len());
        for problem in problems.iter().take(20) {
            println!("  {problem}");
        }
    }
    for index in 0..plan.processes {
        let log = dir.join(format!("serve-{index}.log"));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let warnings: Vec<&str> = text.lines().filter(|l| l.contains(" WARN ")).collect();
        println!(
            "server {index} log: {} lines, {} warnings{}",
            text.lines().count(),
            warnings.len(),
            warnings
                .first()
                .map(|first| format!(", the first: {first}"))
                .unwrap_or_default()
        );
    }
}

/// The servers' configuration: phones log in as their account over HTTP; the limits made
/// for one household are raised, since every phone comes through the proxy's one address.
fn server_config(plan: &Plan) -> String {
    let many = (4 * plan.phones).max(1024);
    // The queue holds a message of every phone at once: all start together, and a phone told
    // 503 mid-session would, on a real handset, fail its sync (docs/hosting.md sizes it).
    format!(
        "[server]\nmax-sessions = {many}\nmax-sessions-per-address = {many}\n\n\
         [server.auth-by-transport]\nhttp = \"md5\"\n\n\
         [limits]\nconnections = {many}\nconnections-per-address = {many}\nqueue = {many}\n"
    )
}

/// Where the store lives for the run.
enum Database {
    Sqlite(PathBuf),
    Postgres(TestDatabase),
}

impl Database {
    fn create(kind: DatabaseKind, dir: &Path) -> Database {
        match kind {
            DatabaseKind::Sqlite => Database::Sqlite(dir.join("handsync.db")),
            DatabaseKind::Postgres => {
                if postgres::server_url().is_none() {
                    usage(
                        "HANDSYNC_BENCH_DB=postgres needs HANDSYNC_TEST_POSTGRES \
                         (postgres://USER:PASSWORD@HOST:PORT/postgres, a role with CREATEDB)",
                    );
                }
                Database::Postgres(TestDatabase::create("bench_hosted"))
            }
        }
    }

    /// What `--db` takes.
    fn argument(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(database) => database.url().to_string(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("SQLite {}", path.display()),
            Database::Postgres(database) => format!("PostgreSQL database {}", database.name()),
        }
    }

    /// The database's size in bytes, and how it was measured.
    fn size(&self) -> (u64, String) {
        let mib = |bytes: u64| bytes as f64 / 1048576.0;
        match self {
            Database::Sqlite(path) => {
                let wal = PathBuf::from(format!("{}-wal", path.display()));
                let [file, wal] = [path.as_path(), wal.as_path()]
                    .map(|file| std::fs::metadata(file).map(|m| m.len()).unwrap_or(0));
                let how = format!("file {:.2} MiB + WAL {:.2} MiB", mib(file), mib(wal));
                (file + wal, how)
            }
            Database::Postgres(database) => {
                let bytes = database
                    .psql("SELECT pg_database_size(current_database())")
                    .parse()
                    .unwrap_or(0);
                (bytes, "pg_database_size".to_string())
            }
        }
    }
}

fn account_name(account: usize) -> String {
    format!("household{account:04}")
}

fn account_password(account: usize) -> String {
    format!("secret-{account}")
}

fn add_account(plan: &Plan, database: &Database, account: usize) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
    command
        .arg("--db")
        .arg(database.argument())
        .args(["account", "add", &account_name(account)])
        .args(["--password", &account_password(account)]);
    if plan.own_data {
        command.arg("--own-data");
    }
    let output = command.output().expect("handsync account add runs");
    assert!(
        output.status.success(),
        "account add {}: {}",
        account_name(account),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// One `handsync serve --http` process, stopped (SIGTERM, then waited for) when dropped.
struct Server {
    child: ServeChild,
    address: SocketAddr,
    /// Removed after the process was waited for (fields drop in order, `child` first).
    _cpu_limit: Option<CpuLimit>,
}

impl Server {
    fn start(plan: &Plan, dir: &Path, database: &Database, index: usize) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_handsync"))
            .arg("--db")
            .arg(database.argument())
            .args(["serve", "--http", "127.0.0.1:0"])
            .args(["--no-bluetooth", "--no-usb", "--no-desktop", "--no-notify"])
            .args(&plan.serve_args)
            .env("XDG_CONFIG_HOME", dir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join(format!("serve-{index}.log"))).unwrap())
            .process_group(0)
            .spawn()
            .expect("handsync serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "serve {index} ended before listening: see {}",
                    dir.join(format!("serve-{index}.log")).display()
                );
            };
            if let Some(rest) = line.strip_prefix("HTTP: listening on http://") {
                break rest.trim_end_matches('/').parse::<SocketAddr>().unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let pid = child.id() as i32;
        let mut server = Server {
            child: ServeChild(child),
            address,
            _cpu_limit: None,
        };
        if let Some(share) = plan.server_cpu {
            let name = format!("handsync-bench-{}-{index}", std::process::id());
            match CpuLimit::apply(pid, share, &name) {
                Ok(limit) => server._cpu_limit = Some(limit),
                Err(why) => panic!("HANDSYNC_BENCH_SERVER_CPU: {why}"),
            }
        }
        server
    }

    fn pid(&self) -> i32 {
        self.child.pid()
    }
}

/// An emulated phone of the run and what the harness knows of it.
struct Phone {
    number: usize,
    account: usize,
    emulated: EmulatedPhone,
    /// The LUID of the contact only this phone started with.
    own_contact: String,
    /// Both sessions completed.
    done: bool,
}

/// Phone `n`: its account's shared contacts (the same on every phone of the account, so
/// the server must match them instead of storing them again) and one of its own.
fn new_phone(plan: &Plan, n: usize) -> Phone {
    let account = plan.account_of(n);
    let mut profile = DeviceProfile::builtin("nokia-e51").expect("the E51 profile");
    profile.device_id = format!("IMEI:35300{n:010}");
    let mut store = PhoneStore::new();
    for index in 0..plan.shared_contacts {
        // Numbered across accounts, so no two accounts' contacts look alike.
        let card = contact(&profile, account * plan.shared_contacts + index, 7, None);
        store.add(Datastore::Contacts, card);
    }
    let own_contact = store.add(Datastore::Contacts, own_card(n, false));
    Phone {
        number: n,
        account,
        emulated: EmulatedPhone::new(profile, store, logged_in_as(account)),
        own_contact,
        done: false,
    }
}

fn logged_in_as(account: usize) -> PhoneConfig {
    PhoneConfig {
        credentials: Some(Credentials {
            user: account_name(account),
            password: account_password(account),
            kind: AuthKind::Md5,
        }),
        ..PhoneConfig::default()
    }
}

/// The numbers by which the check finds each phone's contacts on any phone, whatever form
/// the server gives a card for that phone model.
fn own_number(n: usize, edited: bool) -> String {
    format!("+1{}{n:07}", if edited { "666" } else { "555" })
}

fn added_number(n: usize) -> String {
    format!("+1777{n:07}")
}

fn own_card(n: usize, edited: bool) -> PhoneItem {
    vcard(&format!("Owner;Phone {n}"), &own_number(n, edited))
}

fn vcard(name: &str, number: &str) -> PhoneItem {
    PhoneItem::new(
        "text/x-vcard",
        format!("BEGIN:VCARD\r\nVERSION:2.1\r\nN:{name}\r\nTEL;CELL:{number}\r\nEND:VCARD\r\n"),
    )
}

/// The two timed sessions: slow, then two-way after the user's edits.
async fn phone_run(mut phone: Phone, proxy: SocketAddr, tally: Arc<Tally>) -> Phone {
    let from = source(3, phone.number);
    if !sync(&mut phone.emulated, SyncMode::Slow, from, proxy, &tally).await {
        return phone;
    }
    tally.completed("slow");
    let store = phone.emulated.store_mut();
    store.replace(
        Datastore::Contacts,
        &phone.own_contact,
        own_card(phone.number, true).data,
    );
    store.add(
        Datastore::Contacts,
        vcard(
            &format!("Added;Contact {}", phone.number),
            &added_number(phone.number),
        ),
    );
    if sync(&mut phone.emulated, SyncMode::TwoWay, from, proxy, &tally).await {
        tally.completed("two-way");
        phone.done = true;
    }
    phone
}

/// After every phone's sessions: a two-way sync of each phone, and a slow sync of a new,
/// empty phone per account; what each then holds is checked against what the account's
/// phones made. Returns the problems found.
async fn duplicate_check(
    plan: &Plan,
    phones: Vec<Phone>,
    proxy: SocketAddr,
    tally: Arc<Tally>,
) -> Vec<String> {
    let mut tasks = Vec::new();
    for mut phone in phones {
        let tally = tally.clone();
        tasks.push(tokio::spawn(async move {
            let from = source(3, phone.number);
            let synced = sync(&mut phone.emulated, SyncMode::TwoWay, from, proxy, &tally).await;
            (
                format!("phone {}", phone.number),
                phone.account,
                synced,
                phone.emulated,
            )
        }));
    }
    for account in 0..plan.accounts() {
        let tally = tally.clone();
        tasks.push(tokio::spawn(async move {
            let mut profile = DeviceProfile::builtin("nokia-e51").expect("the E51 profile");
            profile.device_id = format!("IMEI:35400{account:010}");
            let mut fresh = EmulatedPhone::new(profile, PhoneStore::new(), logged_in_as(account));
            let from = source(4, account);
            let synced = sync(&mut fresh, SyncMode::Slow, from, proxy, &tally).await;
            (
                format!("new phone of account {account}"),
                account,
                synced,
                fresh,
            )
        }));
    }
    let mut problems = Vec::new();
    for task in tasks {
        let (who, account, synced, emulated) = task.await.expect("a check task ends");
        if !synced {
            problems.push(format!("{who}: its check sync failed"));
            continue;
        }
        tally.completed("check");
        problems.extend(
            holding_problems(plan, account, emulated.store())
                .into_iter()
                .map(|problem| format!("{who} (account {account}): {problem}")),
        );
    }
    problems
}

/// What is wrong with the contacts a phone of `account` holds after the check sync.
fn holding_problems(plan: &Plan, account: usize, store: &PhoneStore) -> Vec<String> {
    let accounts = plan.accounts_sharing_with(account);
    let phones = plan.phones_of(accounts.clone());
    let expected = accounts.len() * plan.shared_contacts + 2 * phones.len();
    let items: Vec<&[u8]> = store
        .datastore(Datastore::Contacts)
        .items()
        .values()
        .map(|item| item.data.as_slice())
        .collect();
    let mut problems = Vec::new();
    if items.len() != expected {
        problems.push(format!("{} contacts, {expected} expected", items.len()));
    }
    let distinct: BTreeSet<&[u8]> = items.iter().copied().collect();
    if distinct.len() != items.len() {
        problems.push(format!(
            "{} contacts held twice or more",
            items.len() - distinct.len()
        ));
    }
    let held = |number: &str| {
        items
            .iter()
            .filter(|data| data.windows(number.len()).any(|w| w == number.as_bytes()))
            .count()
    };
    for n in phones {
        for (number, wanted) in [
            (own_number(n, true), 1),
            (added_number(n), 1),
            (own_number(n, false), 0),
        ] {
            let found = held(&number);
            if found != wanted {
                problems.push(format!("{found} contacts with {number}, {wanted} expected"));
            }
        }
    }
    problems
}

/// One session in `mode`, tried again after Retry-After while the server is busy; the
/// errors on the way are tallied.
async fn sync(
    phone: &mut EmulatedPhone,
    mode: SyncMode,
    from: SocketAddr,
    proxy: SocketAddr,
    tally: &Tally,
) -> bool {
    let request = SyncRequest::only(Datastore::Contacts, mode);
    for _attempt in 0..10 {
        match session(phone, &request, from, proxy, tally).await {
            Ok(()) => return true,
            Err(failure) => {
                phone.abort();
                tally.error(failure.kind);
                let Some(wait) = failure.retry_after else {
                    return false;
                };
                tokio::time::sleep(wait).await;
            }
        }
    }
    false
}

struct Failure {
    kind: String,
    /// The server was busy and said when to come back.
    retry_after: Option<Duration>,
}

impl From<String> for Failure {
    fn from(kind: String) -> Failure {
        Failure {
            kind,
            retry_after: None,
        }
    }
}

async fn session(
    phone: &mut EmulatedPhone,
    request: &SyncRequest,
    from: SocketAddr,
    proxy: SocketAddr,
    tally: &Tally,
) -> Result<(), Failure> {
    let url = format!("http://{proxy}/sync");
    let mut outgoing = phone
        .start_sync(request, now())
        .map_err(|e| format!("emulator: {e}"))?;
    loop {
        let target = phone.response_uri().unwrap_or(&url).to_string();
        let sent = Instant::now();
        let answer = post(
            from,
            proxy,
            &target,
            outgoing.content_type(),
            outgoing.bytes.clone(),
        )
        .await?;
        tally.latency.lock().unwrap().push(sent.elapsed());
        if answer.status != 200 {
            return Err(Failure {
                kind: format!("HTTP {}", answer.status),
                retry_after: answer.retry_after,
            });
        }
        match phone.receive(&answer.body, now()) {
            Ok(Step::Send(next)) => outgoing = next,
            Ok(Step::Finished(report)) if report.completed => return Ok(()),
            Ok(Step::Finished(report)) => {
                let failures: Vec<String> = report
                    .datastores
                    .iter()
                    .filter_map(|d| d.failure.clone())
                    .collect();
                return Err(format!("not completed: {}", failures.join("; ")).into());
            }
            Err(e) => return Err(format!("emulator: {e}").into()),
        }
    }
}

struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// One POST on its own connection from `from`, as phones on GPRS send them; a busy answer's
/// Retry-After (at most 10 s).
async fn post(
    from: SocketAddr,
    proxy: SocketAddr,
    target: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<Answer, String> {
    let answer = post_from(from, proxy, target, content_type, body).await?;
    let retry_after = (answer.status == 503).then(|| {
        let seconds = answer
            .headers
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .unwrap_or(10);
        Duration::from_secs(seconds.min(10))
    });
    Ok(Answer {
        status: answer.status,
        retry_after,
        body: answer.body,
    })
}

/// A loopback source address of its own for client `n` of `group`.
fn source(group: u8, n: usize) -> SocketAddr {
    SocketAddr::from(([127, group, (n / 250) as u8, (n % 250 + 1) as u8], 0))
}

fn now() -> UnixMillis {
    UnixMillis::from_system_time(SystemTime::now())
}

fn print_latency(mut samples: Vec<Duration>) {
    if samples.is_empty() {
        println!("HTTP message latency: no message answered");
        return;
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "HTTP message latency over {} samples: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
}
