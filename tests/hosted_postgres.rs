//! A hosted handsync on PostgreSQL as its operator and its users meet it: accounts made with
//! the CLI (data of their own by default there), an address book imported into one account,
//! `serve --http` on the database with the configuration docs/hosting.md gives (read from
//! it), emulated phones of two accounts logging in over HTTP with md5, and then `devices`,
//! `history`, `export` and `restore` of each account showing that account's phones and items
//! only.

mod support;

#[path = "support/postgres.rs"]
mod postgres;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

struct Host {
    dir: PathBuf,
    url: String,
}

impl Host {
    fn handsync(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_handsync"));
        command
            .env("HOME", &self.dir)
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("XDG_RUNTIME_DIR", &self.dir)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("HANDSYNC_DB")
            .arg("--db")
            .arg(&self.url)
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.handsync(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn add_account(&self, name: &str, password: &str) -> String {
        let mut add = self
            .handsync(&["account", "add", name, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        add.stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        let output = add.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The configuration docs/hosting.md tells operators to write, on this test's database.
fn documented_config(url: &str) -> String {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/hosting.md")).unwrap();
    let after = doc
        .split_once("`/etc/handsync/config.toml`")
        .expect("docs/hosting.md names the configuration file")
        .1;
    let block = after
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a toml block after it")
        .0;
    assert!(
        block.contains("md5") && block.contains("trusted-proxies"),
        "{block}"
    );
    block
        .lines()
        .map(|line| {
            if line.starts_with("db = ") {
                format!("db = {url:?}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn phone_syncs(phone: &Path, url: &str, user: &str, password: &str, seed: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_handsync"))
        .args([
            "emulate",
            "--profile",
            "nokia-e51",
            "--generate",
            "4",
            "--seed",
            seed,
        ])
        .arg("--data")
        .arg(phone)
        .args(["--http", url, "--user", user, "--password", password])
        .args(["--datastore", "contacts", "--timeout", "30"])
        .output()
        .unwrap()
}

fn stop(mut daemon: Child) {
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert!(daemon.wait().unwrap().success(), "serve stops cleanly");
}

/// The FN lines of a vCard export, sorted.
fn names(export: &str) -> Vec<String> {
    let mut names: Vec<String> = export
        .lines()
        .filter_map(|l| l.strip_prefix("FN:"))
        .map(|n| n.trim().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn two_accounts_sync_their_phones_over_http_on_postgres_and_see_only_their_own() {
    let Some(database) = postgres::postgres_or_skip("hosted accounts") else {
        return;
    };
    let dir = support::scratch_dir("hosted-postgres");
    let host = Host {
        dir: dir.clone(),
        url: database.url().to_string(),
    };
    std::fs::create_dir_all(dir.join("config/handsync")).unwrap();
    std::fs::write(
        dir.join("config/handsync/config.toml"),
        documented_config(database.url()),
    )
    .unwrap();

    assert!(host
        .add_account("alice", "alice's secret")
        .contains("with data of its own"));
    assert!(host
        .add_account("bob", "bob's secret")
        .contains("with data of its own"));
    let listed = host.ok(&["account", "list"]);
    assert!(
        listed.contains("alice") && listed.contains("own data"),
        "{listed}"
    );

    // The operator imports an address book into alice's data only.
    let book = dir.join("book.vcf");
    std::fs::write(
        &book,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lovelace;Ada\r\nFN:Ada Lovelace\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let imported = host.ok(&["--account", "alice", "import", book.to_str().unwrap()]);
    assert!(imported.contains("1 added"), "{imported}");

    let mut serve = host.handsync(&[
        "serve",
        "--http",
        "127.0.0.1:0",
        "--no-bluetooth",
        "--no-usb",
    ]);
    serve.stderr(Stdio::null());
    let (daemon, line) = support::spawn_until(serve, "HTTP: listening on ");
    let url = line
        .trim_start_matches("HTTP: listening on ")
        .trim()
        .to_string();

    let alices_phone = dir.join("alice-phone");
    let synced = phone_syncs(&alices_phone, &url, "alice", "alice's secret", "1");
    assert!(synced.status.success(), "{}", text(&synced));
    let bobs_phone = dir.join("bob-phone");
    let synced = phone_syncs(&bobs_phone, &url, "bob", "bob's secret", "2");
    assert!(synced.status.success(), "{}", text(&synced));
    // A wrong password gets nothing and records nothing.
    let refused = phone_syncs(&dir.join("mallory"), &url, "alice", "guess", "3");
    assert!(!refused.status.success() || !text(&refused).contains("completed"));
    stop(daemon);

    let alices = names(&host.ok(&["--account", "alice", "export", "--datastore", "contacts"]));
    let bobs = names(&host.ok(&["--account", "bob", "export", "--datastore", "contacts"]));
    assert_eq!(alices.len(), 5, "{alices:?}");
    assert!(alices.contains(&"Ada Lovelace".to_string()));
    assert_eq!(bobs.len(), 4, "{bobs:?}");
    assert!(!bobs.contains(&"Ada Lovelace".to_string()));
    assert!(
        alices.iter().all(|name| !bobs.contains(name)),
        "{alices:?} {bobs:?}"
    );
    // The household's data (no account) holds nothing of theirs.
    assert!(names(&host.ok(&["export", "--datastore", "contacts"])).is_empty());

    let devices = host.ok(&["--account", "bob", "devices", "--no-bluetooth"]);
    // Both phones are E51s with one IMEI: a device of each account, each seeing its own.
    assert_eq!(devices.matches("IMEI:").count(), 1, "{devices}");
    assert!(devices.contains("contacts 4"), "{devices}");
    let history = host.ok(&["--account", "bob", "history"]);
    assert_eq!(history.matches("completed").count(), 1, "{history}");
    let household = host.ok(&["history"]);
    assert!(!household.contains("completed"), "{household}");
    // Bob undoes his phone's session: his four contacts go, alice's stay.
    let session = history
        .lines()
        .find(|l| l.contains("completed"))
        .and_then(|l| {
            l.split_whitespace().find_map(|w| {
                w.trim_matches(|c: char| !c.is_ascii_digit())
                    .parse::<u64>()
                    .ok()
            })
        })
        .expect("a session id in the history");
    host.ok(&[
        "--account",
        "bob",
        "restore",
        "--datastore",
        "contacts",
        "--before-session",
        &session.to_string(),
    ]);
    assert!(names(&host.ok(&["--account", "bob", "export", "--datastore", "contacts"])).is_empty());
    assert_eq!(
        names(&host.ok(&["--account", "alice", "export", "--datastore", "contacts"])).len(),
        5
    );
    // An account that does not exist is an error, not the household's data.
    let unknown = host.run(&["--account", "mallory", "history"]);
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("mallory"), "{}", text(&unknown));
    // doctor looks at the database without changing it, and never shows the password.
    let password = postgres::server_url()
        .and_then(|url| {
            let user_info = url.split_once("://")?.1.split_once('@')?.0.to_string();
            Some(user_info.split_once(':')?.1.to_string())
        })
        .expect("the test server's URL has a password");
    let doctor = text(&host.run(&["doctor"]));
    let line = doctor
        .lines()
        .find(|l| l.contains("database:"))
        .unwrap_or_else(|| panic!("{doctor}"));
    assert!(
        line.starts_with("ok") && line.contains("PostgreSQL") && line.contains("schema"),
        "{line}"
    );
    assert!(!doctor.contains(&password), "{doctor}");
    let wrong = Host {
        dir: dir.clone(),
        url: host.url.replace(&format!(":{password}@"), ":wrong@"),
    };
    let doctor = text(&wrong.run(&["doctor"]));
    let line = doctor.lines().find(|l| l.contains("database:")).unwrap();
    assert!(line.starts_with("FAIL"), "{line}");
    // The password never reaches the output.
    assert!(!text(&host.run(&["history"])).contains(&password));
}
