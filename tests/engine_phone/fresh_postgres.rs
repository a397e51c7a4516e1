//! A fresh PostgreSQL database per test, on the server `HANDSYNC_TEST_POSTGRES` names (a URL
//! whose role may create databases; `scripts/test-all` sets it up). Databases are named after
//! the test process; those of processes that ended are dropped on first use.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's URL, or `None` (the caller skips) unless oracles are required.
pub fn server_url() -> Option<String> {
    match std::env::var("HANDSYNC_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("HANDSYNC_REQUIRE_ORACLES").is_some() => {
            panic!("HANDSYNC_TEST_POSTGRES is not set: run scripts/test-all as root to set up PostgreSQL")
        }
        _ => None,
    }
}

/// Creates an empty database and returns its URL.
pub fn fresh_database(server: &str, label: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut admin = postgres::Client::connect(server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e}"));
    if NEXT.load(Ordering::SeqCst) == 0 {
        drop_leftovers(&mut admin);
    }
    let name = format!(
        "hs_{label}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    with_database(server, &name)
}

/// `server` with its database replaced by `name`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |at| at + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Drops the databases of test processes that no longer run.
fn drop_leftovers(admin: &mut postgres::Client) {
    let Ok(rows) = admin.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'hs\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.rsplit('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}
