//! The PostgreSQL helper the store's tests stand on (`tests/support/postgres.rs`): a test
//! gets a database of its own that takes tables and rows, and that is gone after it, even
//! with a connection still open on it.

#[path = "support/postgres.rs"]
mod postgres;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postgres::{database_exists, postgres_or_skip, psql_at, with_database, TestDatabase};

#[test]
fn a_test_database_takes_tables_and_is_dropped_after_the_test() {
    let Some(database) = postgres_or_skip("support_roundtrip") else {
        return;
    };
    let (server, name) = (database.server().to_string(), database.name().to_string());
    assert!(database_exists(&server, &name));
    assert_eq!(database.psql("SELECT current_database()"), name);

    database.psql("CREATE TABLE contacts (id bigint PRIMARY KEY, name text NOT NULL)");
    database.psql("INSERT INTO contacts VALUES (1, 'Anna'), (2, 'Bruno')");
    assert_eq!(
        database.psql("SELECT string_agg(name, ',' ORDER BY id) FROM contacts"),
        "Anna,Bruno"
    );

    drop(database);
    assert!(
        !database_exists(&server, &name),
        "{name} is still on the server"
    );
}

#[test]
fn databases_of_the_same_label_are_distinct_and_plain_identifiers() {
    let Some(first) = postgres_or_skip("Same Label/é") else {
        return;
    };
    let second = TestDatabase::create("Same Label/é");
    assert_ne!(first.name(), second.name());
    for name in [first.name(), second.name()] {
        assert!(name.len() <= 63, "{name} is longer than an identifier");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
    }
    // Each is a database of its own: a table made in one is not in the other.
    first.psql("CREATE TABLE made_in_first (x int)");
    let count = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'made_in_first'";
    assert_eq!(first.psql(count), "1");
    assert_eq!(second.psql(count), "0");
}

#[test]
fn a_connection_left_open_does_not_keep_the_database() {
    let Some(database) = postgres_or_skip("support_force") else {
        return;
    };
    let (server, name) = (database.server().to_string(), database.name().to_string());
    // Another client holding a session on the database, as a server process that was not
    // stopped would.
    let mut holder = Command::new("psql")
        .arg(database.url())
        .args(["--no-psqlrc", "--quiet", "--command", "SELECT pg_sleep(60)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    let count_sql = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'");
    while psql_at(&server, &count_sql) == "0" {
        assert!(Instant::now() < deadline, "psql never connected to {name}");
        std::thread::sleep(Duration::from_millis(50));
    }

    drop(database);
    assert!(!database_exists(&server, &name));
    let status = holder.wait().expect("psql ends");
    assert!(!status.success(), "the open session was ended by the drop");
}

#[test]
fn the_database_url_keeps_user_host_port_and_parameters() {
    assert_eq!(
        with_database("postgres://u:p@127.0.0.1:5432/postgres", "t1"),
        "postgres://u:p@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@db:5433/postgres?sslmode=require", "t1"),
        "postgres://u:p@db:5433/t1?sslmode=require"
    );
    assert_eq!(with_database("postgres://db", "t1"), "postgres://db/t1");
    assert_eq!(
        with_database("postgresql://db?sslmode=disable", "t1"),
        "postgresql://db/t1?sslmode=disable"
    );
}
