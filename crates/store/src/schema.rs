//! The database schema and its forward migrations, versioned with `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. Migrations are only ever
//! appended: a released one is never edited, so every file can be brought forward.

use rusqlite::{Connection, TransactionBehavior};

use super::error::{Context, Result, StoreError};

/// Schema version 1: the whole store.
const V1: &str = r#"
-- The global change counter: one row. Every applied item change takes the next value.
CREATE TABLE change_counter (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);

CREATE TABLE devices (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The phone's SyncML Source LocURI, e.g. IMEI:350000000000000.
    uri              TEXT NOT NULL UNIQUE,
    devinf_raw       BLOB,
    devinf_encoding  TEXT CHECK (devinf_encoding IN ('xml', 'wbxml')),
    manufacturer     TEXT,
    model            TEXT,
    oem              TEXT,
    firmware_version TEXT,
    software_version TEXT,
    hardware_version TEXT,
    devinf_devid     TEXT,
    device_type      TEXT,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    -- The NextNonce we last gave the device for syncml:auth-md5.
    next_nonce       BLOB
);

CREATE TABLE device_settings (
    device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (device_id, key)
);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id         INTEGER NOT NULL REFERENCES devices(id),
    -- The SessionID from the SyncHdr (phones reuse them; ours is `id`).
    syncml_session_id TEXT,
    transport         TEXT NOT NULL,
    started_at        INTEGER NOT NULL,
    ended_at          INTEGER,
    result            TEXT NOT NULL DEFAULT 'running'
                      CHECK (result IN ('running', 'completed', 'failed', 'cut', 'suspended')),
    error             TEXT,
    -- The change counter when the session began and ended: "as before/after this session".
    revision_at_start INTEGER NOT NULL,
    revision_at_end   INTEGER,
    -- What the engine needs to resume a suspended session; opaque to the store.
    resume_state      BLOB
);
CREATE INDEX sessions_device ON sessions(device_id, started_at);

CREATE TABLE session_counts (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    datastore  TEXT NOT NULL CHECK (datastore IN ('contacts', 'calendar', 'tasks', 'notes')),
    direction  TEXT NOT NULL CHECK (direction IN ('to_phone', 'from_phone')),
    added      INTEGER NOT NULL DEFAULT 0,
    replaced   INTEGER NOT NULL DEFAULT 0,
    deleted    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, datastore, direction)
);

-- The current state of every item. Rows are never deleted: a delete makes a tombstone.
-- AUTOINCREMENT so that a GUID is never handed out twice.
CREATE TABLE items (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    datastore          TEXT NOT NULL CHECK (datastore IN ('contacts', 'calendar', 'tasks', 'notes')),
    content_type       TEXT NOT NULL,
    raw                BLOB NOT NULL,
    canonical          TEXT NOT NULL,
    identity_key       TEXT,
    revision           INTEGER NOT NULL UNIQUE,
    created_at         INTEGER NOT NULL,
    modified_at        INTEGER NOT NULL,
    deleted            INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    deleted_at         INTEGER,
    deleted_by_device  INTEGER REFERENCES devices(id),
    deleted_by_session INTEGER REFERENCES sessions(id),
    deleted_reason     TEXT
);
CREATE INDEX items_identity ON items(datastore, identity_key) WHERE deleted = 0;
CREATE INDEX items_datastore_revision ON items(datastore, revision);

-- Every version of every item, the current one included: the history restores come from.
CREATE TABLE item_versions (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id                INTEGER NOT NULL REFERENCES items(id),
    revision               INTEGER NOT NULL UNIQUE,
    content_type           TEXT NOT NULL,
    raw                    BLOB NOT NULL,
    canonical              TEXT NOT NULL,
    identity_key           TEXT,
    deleted                INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    -- 0 for a conflict loser: recorded, never the item's content.
    applied                INTEGER NOT NULL CHECK (applied IN (0, 1)),
    at                     INTEGER NOT NULL,
    reason                 TEXT NOT NULL,
    device_id              INTEGER REFERENCES devices(id),
    session_id             INTEGER REFERENCES sessions(id),
    note                   TEXT,
    restored_from_revision INTEGER,
    restore_id             INTEGER REFERENCES restores(id)
);
CREATE INDEX item_versions_item ON item_versions(item_id, revision);
CREATE INDEX item_versions_at ON item_versions(at);

-- Each restore from history, so it can be listed and undone.
CREATE TABLE restores (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    datastore       TEXT CHECK (datastore IN ('contacts', 'calendar', 'tasks', 'notes')),
    item_id         INTEGER REFERENCES items(id),
    -- The state restored: as of this revision of the change counter.
    target_revision INTEGER NOT NULL,
    -- The counter just before the restore: restoring to it undoes the restore.
    revision_before INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    changed         INTEGER NOT NULL DEFAULT 0
);

-- A device's copy of one of our datastores.
CREATE TABLE device_datastores (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id               INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    datastore               TEXT NOT NULL CHECK (datastore IN ('contacts', 'calendar', 'tasks', 'notes')),
    -- The phone's own URI for it, e.g. "Contacts" or "./EriPBDB".
    device_uri              TEXT NOT NULL,
    -- Anchors of the last completed sync, as the phone sent them / as we sent ours.
    client_last_anchor      TEXT,
    server_last_anchor      TEXT,
    -- Anchors of the sync in progress; they become the last ones only when it completes.
    pending_client_anchor   TEXT,
    pending_server_anchor   TEXT,
    last_session_completed  INTEGER NOT NULL DEFAULT 0 CHECK (last_session_completed IN (0, 1)),
    last_session_id         INTEGER REFERENCES sessions(id),
    last_sync_at            INTEGER,
    last_result             TEXT,
    last_completed_at       INTEGER,
    UNIQUE (device_id, datastore)
);

-- What a device holds: the LUID <-> GUID map and the revision of the item the device has.
-- A NULL luid is a pending mapping: the device took our Add, its Map has not come yet.
CREATE TABLE device_items (
    device_datastore_id INTEGER NOT NULL REFERENCES device_datastores(id) ON DELETE CASCADE,
    item_id             INTEGER NOT NULL REFERENCES items(id),
    luid                TEXT,
    seen_revision       INTEGER NOT NULL,
    mapped_at           INTEGER,
    PRIMARY KEY (device_datastore_id, item_id)
);
CREATE UNIQUE INDEX device_items_luid ON device_items(device_datastore_id, luid)
    WHERE luid IS NOT NULL;

-- Accounts for SyncML authentication. Only md5("name:password") is kept, never the password.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    md5_digest BLOB NOT NULL CHECK (length(md5_digest) = 16),
    created_at INTEGER NOT NULL
);
"#;

/// Schema version 2: items a phone sent that the engine refused, kept with their bytes.
const V2: &str = r#"
-- An item a phone sent that the engine did not store (unreadable, incomplete, too large, not
-- allowed in the sync mode...): kept as it came, so nothing a phone sends is lost and the
-- user can look at it and export it. Rows are only ever added.
CREATE TABLE rejected_items (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id        INTEGER NOT NULL REFERENCES devices(id),
    session_id       INTEGER REFERENCES sessions(id),
    -- Our datastore; NULL when the phone's datastore name matched none of ours.
    datastore        TEXT CHECK (datastore IN ('contacts', 'calendar', 'tasks', 'notes')),
    -- The phone's own name for its datastore (the Sync's Source), e.g. "./EriPBDB".
    device_datastore TEXT NOT NULL,
    -- The phone's id of the item; NULL when the item named none.
    luid             TEXT,
    -- The SyncML command that carried it: Add or Replace.
    command          TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    raw              BLOB NOT NULL,
    -- The SyncML status code the phone was answered with.
    status           INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    received_at      INTEGER NOT NULL
);
CREATE INDEX rejected_items_device ON rejected_items(device_id, received_at);
"#;

/// Schema version 3: what a phone that missed the end of a sync holds. The anchors it started
/// that sync from stay beside the new ones, so that it gets a two-way sync, not a slow one.
const V3: &str = r#"
ALTER TABLE device_datastores ADD COLUMN previous_client_anchor TEXT;
ALTER TABLE device_datastores ADD COLUMN previous_server_anchor TEXT;
-- When the sync that gave the phone the previous anchors completed (mappings made up to then
-- are known to a phone holding them); NULL when unknown.
ALTER TABLE device_datastores ADD COLUMN previous_completed_at INTEGER;
"#;

/// Schema version 4: the process serving each session, so that one left `running` by a
/// process that died can be found and ended as cut.
const V4: &str = r#"
-- `<boot id>:<pid>:<start time>` of the process serving the session (see owner.rs); NULL
-- for sessions from before version 4.
ALTER TABLE sessions ADD COLUMN owner TEXT;
"#;

/// Schema version 5: the desktop's copy of the store, a vdir kept in step both ways. One row
/// per file the two-way desktop sync knows: the item it holds, the item's revision and the
/// file's content hash when the two last agreed, so a later run tells which side changed.
const V5: &str = r#"
CREATE TABLE desktop_files (
    vdir          TEXT NOT NULL,      -- the vdir's absolute path
    datastore     TEXT NOT NULL,
    name          TEXT NOT NULL,      -- the file's name in the datastore's folder
    item_id       INTEGER NOT NULL REFERENCES items(id),
    item_revision INTEGER NOT NULL,   -- the item's revision the file agrees with
    file_hash     TEXT NOT NULL,      -- MD5 of the file's bytes then
    written_by_us INTEGER NOT NULL,   -- 1: handsync wrote these bytes; 0: the desktop did
    PRIMARY KEY (vdir, datastore, name)
);
CREATE UNIQUE INDEX desktop_files_item ON desktop_files(vdir, item_id);
"#;

/// Schema version 6: accounts as tenants. Devices, items and restores belong to an account's
/// data (`account_id`: 0 is the household's, which everything before this version was);
/// sessions, history, maps and refused items follow their device or item. A device's URI is
/// unique within one account's data, so `devices` is rebuilt (SQLite cannot change a
/// constraint in place); indexes lead with the account, so one account's queries cost the
/// same however much the others hold.
const V6: &str = r#"
ALTER TABLE accounts ADD COLUMN own_data INTEGER NOT NULL DEFAULT 0 CHECK (own_data IN (0, 1));
ALTER TABLE items ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE restores ADD COLUMN account_id INTEGER NOT NULL DEFAULT 0;
DROP INDEX items_identity;
CREATE INDEX items_identity ON items(account_id, datastore, identity_key) WHERE deleted = 0;
DROP INDEX items_datastore_revision;
CREATE INDEX items_datastore_revision ON items(account_id, datastore, revision);
CREATE INDEX restores_account ON restores(account_id, id);

CREATE TABLE devices_v6 (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL DEFAULT 0,
    uri              TEXT NOT NULL,
    devinf_raw       BLOB,
    devinf_encoding  TEXT CHECK (devinf_encoding IN ('xml', 'wbxml')),
    manufacturer     TEXT,
    model            TEXT,
    oem              TEXT,
    firmware_version TEXT,
    software_version TEXT,
    hardware_version TEXT,
    devinf_devid     TEXT,
    device_type      TEXT,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    next_nonce       BLOB,
    UNIQUE (account_id, uri)
);
INSERT INTO devices_v6 (id, uri, devinf_raw, devinf_encoding, manufacturer, model, oem,
    firmware_version, software_version, hardware_version, devinf_devid, device_type,
    first_seen, last_seen, next_nonce)
SELECT id, uri, devinf_raw, devinf_encoding, manufacturer, model, oem, firmware_version,
    software_version, hardware_version, devinf_devid, device_type, first_seen, last_seen,
    next_nonce FROM devices;
DROP TABLE devices;
ALTER TABLE devices_v6 RENAME TO devices;
"#;

/// Schema version 7: several `serve` processes on one database (see nodes.rs). Portable SQL
/// (SQLite and PostgreSQL): BIGINT times in ms, no foreign keys (a route outlives a dead node).
const V7: &str = r#"
-- A serve process with HTTP: where its peers reach it, and when it last said it lives.
CREATE TABLE cluster_nodes (
    id           TEXT PRIMARY KEY,   -- random, per process
    address      TEXT NOT NULL,      -- HOST:PORT of its HTTP listener
    -- The process, as sessions.owner names it: its sessions are not orphans while it beats.
    process      TEXT,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
-- An open HTTP session and the node holding it in memory.
CREATE TABLE cluster_sessions (
    session_key       TEXT PRIMARY KEY,   -- the RespURI's sessionid, 16 hex digits
    node_id           TEXT NOT NULL,
    -- For clients that ignore RespURI: their address, SyncML SessionID and Source LocURI.
    client_address    TEXT,
    syncml_session_id TEXT,
    device_uri        TEXT,
    store_session_id  BIGINT,             -- sessions.id, once the first message was applied
    opened_at         BIGINT NOT NULL
);
CREATE INDEX cluster_sessions_header
    ON cluster_sessions(client_address, syncml_session_id, device_uri);
CREATE INDEX cluster_sessions_node ON cluster_sessions(node_id);
"#;

/// Schema version 8: a session's cost follows its work, not the store. The LUIDs a phone sent
/// of a slow sync are kept here rather than in the session's memory; the few rows a query
/// looks for among many (pending Maps, running sessions, what a device wrote or deleted) get
/// partial indexes, so finding them no longer reads a whole table of every account's data.
const V8: &str = r#"
-- What a phone sent of the slow sync (or refresh from it) of a datastore under way: the LUIDs
-- it still holds; what it held and did not send, it no longer has. Cleared when a sync of the
-- datastore begins anew or completes; kept across a suspension for the resume.
CREATE TABLE luids_sent (
    device_datastore_id INTEGER NOT NULL REFERENCES device_datastores(id) ON DELETE CASCADE,
    luid                TEXT NOT NULL,
    PRIMARY KEY (device_datastore_id, luid)
) WITHOUT ROWID;
CREATE INDEX device_items_pending ON device_items(device_datastore_id) WHERE luid IS NULL;
CREATE INDEX sessions_running ON sessions(result) WHERE result = 'running';
CREATE INDEX item_versions_device ON item_versions(device_id) WHERE device_id IS NOT NULL;
CREATE INDEX items_deleted_by_device ON items(deleted_by_device)
    WHERE deleted_by_device IS NOT NULL;
"#;

const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database forward to [`SCHEMA_VERSION`], one migration per transaction. Each
/// transaction takes the write lock first and reads the version under it, so two processes
/// opening a new file at once do not both migrate it.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    // A migration that rebuilds a table drops the old one while other tables refer to it:
    // foreign keys are off meanwhile (SQLite only lets them change outside a transaction)
    // and checked before each migration commits.
    let pragma = |conn: &Connection, on: bool| {
        conn.pragma_update(None, "foreign_keys", on)
            .context(|| "switching foreign keys".to_string())
    };
    let enforced: bool = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .context(|| "reading the foreign key setting".to_string())?;
    pragma(conn, false)?;
    let result = migrate_steps(conn);
    pragma(conn, enforced)?;
    result
}

fn migrate_steps(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context(|| "locking the store to check its schema".to_string())?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .context(|| "reading the schema version".to_string())?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            return Ok(());
        }
        let from = found.max(0);
        let to = from + 1;
        let fail = |source: rusqlite::Error| StoreError::Migration {
            from,
            to,
            source: source.into(),
        };
        tx.execute_batch(MIGRATIONS[from as usize]).map_err(fail)?;
        let dangling: i64 = tx
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })
            .map_err(fail)?;
        if dangling > 0 {
            return Err(StoreError::Corrupt {
                table: "(foreign keys)",
                row: dangling,
                detail: format!(
                    "{dangling} rows refer to missing rows; the migration to {to} was undone"
                ),
            });
        }
        tx.pragma_update(None, "user_version", to).map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(from, to, "store schema migrated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
    }

    #[test]
    fn a_version_1_file_is_brought_forward_with_its_data() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO devices (uri, first_seen, last_seen) VALUES ('IMEI:1', 0, 0)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let devices: i64 = conn
            .query_row("SELECT count(*) FROM devices", [], |row| row.get(0))
            .unwrap();
        assert_eq!(devices, 1, "the data of version 1 stays");
        conn.execute(
            "INSERT INTO rejected_items (device_id, device_datastore, command, content_type, \
             raw, status, reason, received_at) VALUES (1, 'Contacts', 'Add', 'text/x-vcard', \
             x'00', 415, 'not a vCard', 0)",
            [],
        )
        .unwrap();
        // Version 3: the previous anchors, empty for datastores synced before.
        conn.execute(
            "INSERT INTO device_datastores (device_id, datastore, device_uri) \
             VALUES (1, 'contacts', 'Contacts')",
            [],
        )
        .unwrap();
        let previous: Option<String> = conn
            .query_row(
                "SELECT previous_client_anchor FROM device_datastores",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(previous, None);
    }

    #[test]
    fn a_version_2_file_gains_previous_anchors_and_session_owners() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(V2).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute_batch(
            "INSERT INTO devices (uri, first_seen, last_seen) VALUES ('IMEI:1', 0, 0);
             INSERT INTO sessions (device_id, transport, started_at, revision_at_start)
                 VALUES (1, 'http', 0, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let owner: Option<String> = conn
            .query_row("SELECT owner FROM sessions WHERE id = 1", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(owner, None);
    }

    #[test]
    fn a_failed_migration_leaves_the_version_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        // A table in the way makes the first migration fail halfway through its script.
        conn.execute_batch("CREATE TABLE items (x)").unwrap();
        match migrate(&mut conn) {
            Err(StoreError::Migration { from: 0, to: 1, .. }) => {}
            other => panic!("expected a failed migration, got {other:?}"),
        }
        assert_eq!(version(&conn), 0);
        // Nothing of the half-run script stayed.
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'change_counter'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }
}
