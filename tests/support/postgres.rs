//! A PostgreSQL database of its own for a test (or a benchmark), made through `psql` on the
//! server `$HANDSYNC_TEST_POSTGRES` names (`scripts/test-all` sets it up and exports it) and
//! dropped again when the test is done with it.
//!
//! Included with `#[path = "support/postgres.rs"] mod postgres;` (benches:
//! `"../tests/support/postgres.rs"`); needs nothing but `psql`, which Debian installs with
//! the server.
#![allow(dead_code)] // each test binary uses its own subset

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable naming the server: `postgres://USER:PASSWORD@HOST:PORT/postgres`, a role
/// that may log in and create databases.
pub const SERVER_VARIABLE: &str = "HANDSYNC_TEST_POSTGRES";

/// The server's URL from `$HANDSYNC_TEST_POSTGRES`, or `None` when it is unset or empty.
pub fn server_url() -> Option<String> {
    std::env::var(SERVER_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A fresh database for the test `label`, or `None` (with a message saying why the test
/// skips) when no server is configured. With `HANDSYNC_REQUIRE_ORACLES` set, as
/// `scripts/test-all` sets it, a missing server fails the test instead: CI never passes a
/// PostgreSQL test it did not run.
pub fn postgres_or_skip(label: &str) -> Option<TestDatabase> {
    if server_url().is_none() {
        if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() {
            panic!(
                "{SERVER_VARIABLE} is not set: {label} needs a PostgreSQL server \
                 (scripts/test-all sets one up as root)"
            );
        }
        eprintln!("skipping {label}: {SERVER_VARIABLE} is not set (no PostgreSQL server)");
        return None;
    }
    Some(TestDatabase::create(label))
}

/// A database made for one test, dropped (`WITH (FORCE)`, so connections still open do not
/// keep it) when this value is dropped.
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a database named after `label`, the process and a counter, so that tests
    /// running at once, and reruns after a crash left one behind, never meet. Panics with
    /// psql's message when the server refuses.
    pub fn create(label: &str) -> TestDatabase {
        let server = server_url()
            .unwrap_or_else(|| panic!("{SERVER_VARIABLE} is not set: no PostgreSQL server"));
        let name = unique_name(label);
        psql_at(&server, &format!("CREATE DATABASE \"{name}\""));
        let url = with_database(&server, &name);
        TestDatabase { server, name, url }
    }

    /// `postgres://USER:PASSWORD@HOST:PORT/NAME`: what `--db` takes.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql` in this database and returns what it printed, unaligned, without headers,
    /// trimmed; panics with psql's message when it fails.
    pub fn psql(&self, sql: &str) -> String {
        psql_at(&self.url, sql)
    }

    /// The server URL this database was made through.
    pub fn server(&self) -> &str {
        &self.server
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Never a panic here: a drop during a failing test's unwinding would abort the run
        // and hide its message. A database left behind is named, to drop by hand.
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        match psql(&self.server, &sql) {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "could not drop test database {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => eprintln!("could not drop test database {}: {error}", self.name),
        }
    }
}

/// Whether the server `server` names holds a database called `name`.
pub fn database_exists(server: &str, name: &str) -> bool {
    psql_at(
        server,
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    ) == "1"
}

/// `handsync_test_<label>_<pid>_<n>_<time>`: lowercase ASCII letters, digits and
/// underscores only (no quoting surprises), within PostgreSQL's 63-byte identifiers.
fn unique_name(label: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "handsync_test_{clean}_{}_{}_{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The server URL with its database replaced by `name` (user, password, host, port and any
/// `?parameters` kept).
pub fn with_database(server: &str, name: &str) -> String {
    let after_scheme = server.find("://").map(|at| at + 3).unwrap_or(0);
    let authority_end = server[after_scheme..]
        .find(['/', '?', '#'])
        .map(|at| after_scheme + at)
        .unwrap_or(server.len());
    let query = server[authority_end..]
        .find('?')
        .map(|at| &server[authority_end + at..])
        .unwrap_or("");
    format!("{}/{name}{query}", &server[..authority_end])
}

fn psql(url: &str, sql: &str) -> std::io::Result<Output> {
    Command::new("psql")
        .arg(url)
        .args([
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            "--set",
            "ON_ERROR_STOP=1",
            "--command",
            sql,
        ])
        .output()
}

/// Runs `sql` on the database `url` names and returns what it printed, unaligned, without
/// headers, trimmed; panics with psql's message when it fails.
pub fn psql_at(url: &str, sql: &str) -> String {
    let output = psql(url, sql).unwrap_or_else(|error| {
        panic!("cannot run psql ({error}): install Debian's postgresql-client")
    });
    assert!(
        output.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
