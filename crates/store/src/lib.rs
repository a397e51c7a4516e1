//! The SQLite store: items and their full history, devices and what each one holds, sessions
//! and accounts. It is the program's implementation of the engine's storage trait
//! ([`handsync_engine::SyncStore`], implemented for [`Tx`]) and speaks the engine's storage
//! vocabulary (re-exported here); on top it keeps what only the program needs: restores,
//! listings, accounts and settings for the CLI.
//!
//! # What it may depend on
//! `handsync-engine` (the trait and types it implements), `handsync-proto`, `rusqlite` and
//! `tracing`; no network or async crates. Nothing below it (proto, engine, emulator) may
//! depend on it: only the program does.
//!
//! # Transactions
//! Everything happens inside a [`Tx`]. The engine applies one SyncML message per transaction:
//! ```no_run
//! # use handsync_store::*;
//! # fn demo(store: &mut Store, now: Timestamp) -> Result<(), StoreError> {
//! let guid = store.transaction(|tx| {
//!     let content = ItemContent {
//!         content_type: "text/vcard",
//!         raw: b"BEGIN:VCARD...",
//!         canonical: "BEGIN:VCARD...",
//!         identity_key: Some("fn:ada lovelace"),
//!     };
//!     let item = tx.add_item(Datastore::Contacts, content, &Cause::pc(Reason::AddedOnPc), now)?;
//!     Ok::<_, StoreError>(item.guid)
//! })?;
//! # let _ = guid; Ok(()) }
//! ```
//! The closure's `Ok` commits, its `Err` (or a panic) rolls everything back. [`Store::begin`]
//! gives the same as an object for callers that cannot use a closure: [`Tx::commit`] commits,
//! dropping it rolls back.
//!
//! # Nothing is lost
//! Item rows are never deleted: a delete leaves a tombstone. Every applied change writes a
//! version into `item_versions`, with the device, session and reason that caused it, so the
//! content before any overwrite or delete can be restored ([`Tx::restore_item`],
//! [`Tx::restore_datastore`]); a restore writes versions too and can itself be undone.
//!
//! What *is* deleted is bookkeeping that a sync can rebuild: a device's mapping once it
//! confirmed a Delete or before a slow sync, a stale LUID the device reused, an account.
//!
//! # Tables
//! - `items`: the current state of each item (GUID = rowid, never reused), tombstones included;
//! - `item_versions`: every version of every item, the current one included, with its cause;
//! - `change_counter`: the global revision counter;
//! - `restores`: each restore, with the revision that undoes it;
//! - `devices`, `device_settings`: phones, their DevInf, nonce and settings;
//! - `device_datastores`: a device's copy of a datastore: its URI, anchors, last result;
//! - `device_items`: what it holds: LUID <-> GUID and the revision it has (NULL LUID: the
//!   Map is pending);
//! - `luids_sent`: the LUIDs a device sent of the slow sync of a datastore under way (what
//!   it still holds), kept here so that a session's memory does not grow with them;
//! - `sessions`, `session_counts`: sessions, their result, resume state and counts, and the
//!   process serving each (so [`Tx::cut_orphaned_sessions`] can end those whose process died);
//! - `accounts`: names and `md5("name:password")` digests;
//! - `desktop_files`: the files of a vdir kept in step both ways, each with the item and the
//!   item revision and file hash the two last agreed on ([`Tx::desktop_files`]);
//! - `rejected_items`: items a phone sent that the engine refused, with their bytes and why
//!   ([`Tx::record_rejected_item`], [`Tx::rejected_items`]);
//! - `cluster_nodes`, `cluster_sessions`: the `serve` processes sharing the database and the
//!   open HTTP sessions each holds ([`Tx::register_node`], [`Tx::session_route`]).
//!
//! # A two-way sync, as the engine drives it
//! 1. [`Tx::upsert_device`], [`Tx::set_device_info`], [`Tx::begin_session`];
//!    [`Tx::set_up_device_datastore`] and [`Tx::begin_datastore_sync`] with the new anchors
//!    (compare the phone's Last anchor with [`DeviceDatastore::client_last_anchor`] to choose
//!    a fast or slow sync).
//! 2. The phone's changes: [`Tx::apply_from_device`] for each (slow sync:
//!    [`Tx::forget_device_items`] first, then [`Tx::unheld_items_by_identity_key`] and
//!    [`Tx::map_device_item`] to match what both sides have; [`Tx::record_luid_sent`] for
//!    each LUID, and at the end [`Tx::held_items_not_sent`] for what the phone no longer
//!    holds).
//! 3. Ours: [`Tx::changes_for_device`] (or [`Tx::unseen_changes`], then each item as a
//!    message takes it); on each Status 2xx [`Tx::record_delivered`]; each Map item
//!    [`Tx::map_device_item`] (in this session or a later one).
//! 4. [`Tx::complete_datastore_sync`] moves the anchors; [`Tx::end_session`] or
//!    [`Tx::suspend_session`] closes the session. A session cut anywhere leaves the anchors as
//!    they were and everything applied so far consistent: the next sync converges.
//!
//! # Time
//! The store never reads the clock: every write takes a [`Timestamp`] from the caller.

mod accounts;
mod db;
mod desktop;
mod devices;
mod error;
mod items;
mod luids_sent;
mod nodes;
mod owner;
mod pg_schema;
mod rejected;
mod schema;
mod sessions;
mod sync_store;
mod types;
mod unseen;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use accounts::Account;
pub use db::DbError;
pub use desktop::DesktopFile;
pub use devices::{DeviceDatastoreSummary, DeviceSummary};
pub use error::{Result, StoreError};
pub use items::{PointInTime, RestoreRecord, RestoreReport};
pub use nodes::{GoneNode, NewSessionRoute, NodeRecord, SessionRoute};
pub use rejected::RejectedItem;
pub use schema::SCHEMA_VERSION;
pub use sessions::{SessionCounts, SessionRecord};
pub use types::{Direction, ItemVersion};
// The engine's storage vocabulary, which the store speaks too: so callers find every type of
// the store's API here.
pub use handsync_engine::storage::{
    Applied, AppliedOutcome, Cause, ChangeKind, Datastore, DevInfEncoding, DevInfSummary,
    DeviceChange, DeviceDatastore, DeviceId, DeviceItem, DeviceRecord, Guid, ItemContent,
    ItemRecord, NewRejectedItem, NewSession, PcChange, Reason, Revision, SessionId, SessionResult,
    Timestamp, Tombstone, UnseenChange,
};

use error::Context;
use types::id_column;

/// PostgreSQL advisory lock keys of accounts: this plus the tenant (the schema migration's
/// key is far from them).
const ACCOUNT_LOCKS: i64 = 0x4853_0000_0000;

/// How long a writer waits for another process (CLI beside the daemon) to finish its write.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open store: one connection, to an SQLite file (or memory) or a PostgreSQL database.
pub struct Store {
    conn: db::Connection,
    /// The account whose data every transaction begun here works in ([`Store::use_account`]);
    /// `None`: the household's.
    account: Option<String>,
    path: Option<PathBuf>,
    /// For PostgreSQL: the server and database, without the password (messages, logs).
    server: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("server", &self.server)
            .finish()
    }
}

/// Whether `--db` names a PostgreSQL database (`postgres://` or `postgresql://` URL) rather
/// than an SQLite file.
pub fn is_postgres_url(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// A PostgreSQL URL as it may be shown: without its password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_string(),
    }
    .split("password=")
    .next()
    .unwrap_or_default()
    .to_string()
}

/// What a look at a PostgreSQL store finds, changing nothing (`handsync doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresProbe {
    /// The server's `server_version`.
    pub server_version: String,
    /// The store's schema version there (0: no tables yet) and this build's.
    pub schema: i64,
    pub supported: i64,
    /// `pg_database_size` of the database, in bytes.
    pub size: i64,
}

/// Connects to a PostgreSQL store and reads what it is, in a read-only transaction: no
/// migration, nothing written.
pub fn probe_postgres(url: &str) -> Result<PostgresProbe> {
    let what = redact_url(url);
    let mut conn = db::pg::PgConnection::connect(url).map_err(|source| StoreError::Open {
        what: what.clone(),
        source,
    })?;
    let tx = db::Transaction::Postgres(
        conn.begin(db::Begin::Read)
            .context(|| format!("reading {what}"))?,
    );
    let (server_version, size) = tx
        .query_row(
            "SELECT current_setting('server_version'), pg_database_size(current_database())",
            db::NO_PARAMS,
            |row| Ok((row.get::<String>(0)?, row.get::<i64>(1)?)),
        )
        .context(|| format!("reading {what}"))?;
    let schema = pg_schema::read_version(&tx)?;
    Ok(PostgresProbe {
        server_version,
        schema,
        supported: pg_schema::PG_SCHEMA_VERSION,
        size,
    })
}

impl Store {
    /// Opens the store at `path` and migrates it to the current schema: an SQLite file
    /// (created if needed, owner-only), or a PostgreSQL database when `path` is a
    /// `postgres://` URL (see [`Store::open_postgres`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        if let Some(url) = path.to_str().filter(|text| is_postgres_url(text)) {
            return Store::open_postgres(url);
        }
        let path = path.to_path_buf();
        let open_err = |source: rusqlite::Error| StoreError::Open {
            what: path.display().to_string(),
            source: source.into(),
        };
        create_private_file(&path)?;
        let conn = rusqlite::Connection::open(&path).map_err(open_err)?;
        let mut store = Store {
            conn: db::Connection::Sqlite(conn),
            account: None,
            path: Some(path.clone()),
            server: None,
        };
        store.configure().map_err(|e| match e {
            StoreError::Database { source, .. } => StoreError::Open {
                what: path.display().to_string(),
                source,
            },
            other => other,
        })?;
        store.migrate()?;
        tracing::debug!(path = %path.display(), "store opened");
        Ok(store)
    }

    /// Connects to a PostgreSQL database (`postgres://user:password@host:port/database`,
    /// or the key=value form) and brings its schema forward. The database must exist; the
    /// role needs to create tables in it the first time.
    pub fn open_postgres(url: &str) -> Result<Store> {
        let what = redact_url(url);
        let conn = db::pg::PgConnection::connect(url).map_err(|source| StoreError::Open {
            what: what.clone(),
            source,
        })?;
        let mut store = Store {
            conn: db::Connection::Postgres(Box::new(conn)),
            account: None,
            path: None,
            server: Some(what.clone()),
        };
        store.migrate()?;
        tracing::debug!(server = %what, "store opened");
        Ok(store)
    }

    /// A store in memory, for tests and dry runs. Everything but WAL applies.
    pub fn open_in_memory() -> Result<Store> {
        let conn = rusqlite::Connection::open_in_memory()
            .context(|| "opening an in-memory store".into())?;
        let mut store = Store {
            conn: db::Connection::Sqlite(conn),
            account: None,
            path: None,
            server: None,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        match &mut self.conn {
            db::Connection::Sqlite(conn) => schema::migrate(conn),
            db::Connection::Postgres(conn) => pg_schema::migrate(conn),
        }
    }

    fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.conn {
            db::Connection::Sqlite(conn) => Some(conn),
            db::Connection::Postgres(_) => None,
        }
    }

    fn configure(&mut self) -> Result<()> {
        let is_file = self.path.is_some();
        let Some(conn) = self.sqlite() else {
            return Ok(());
        };
        conn.busy_timeout(BUSY_TIMEOUT)
            .context(|| "setting the busy timeout".into())?;
        // WAL lets the CLI read while the daemon writes; an in-memory database stays "memory".
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .context(|| "switching to WAL mode".into())?;
        if is_file && !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "SQLite refused WAL mode");
        }
        // FULL: a phone is told its change is stored only once it is on disk.
        conn.pragma_update(None, "synchronous", "FULL")
            .context(|| "setting synchronous=FULL".into())?;
        conn.pragma_update(None, "foreign_keys", true)
            .context(|| "enabling foreign keys".into())?;
        // Every statement the store runs is a constant: parse each once per connection (a
        // slow sync runs the same few statements thousands of times).
        conn.set_prepared_statement_cache_capacity(256);
        Ok(())
    }

    /// The file this store lives in; `None` in memory and on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The PostgreSQL server and database (no password); `None` for SQLite.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// Whether this store is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.conn.is_postgres()
    }

    /// The SQLite journal mode in force ("wal" for a file store; "postgresql" there).
    pub fn journal_mode(&self) -> Result<String> {
        match self.sqlite() {
            Some(conn) => conn
                .pragma_query_value(None, "journal_mode", |row| row.get(0))
                .context(|| "reading the journal mode".into()),
            None => Ok("postgresql".into()),
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        match &self.conn {
            db::Connection::Sqlite(conn) => conn
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .context(|| "reading the schema version".into()),
            // Migrated to this build's version when opened; a newer one is refused then.
            db::Connection::Postgres(_) => Ok(pg_schema::PG_SCHEMA_VERSION),
        }
    }

    /// Runs SQLite's integrity and foreign key checks; returns the problems found (none when
    /// the file is sound). PostgreSQL keeps its own constraints: nothing to check here.
    pub fn check_integrity(&self) -> Result<Vec<String>> {
        let what = || "checking the store's integrity".to_string();
        let mut problems = Vec::new();
        let Some(conn) = self.sqlite() else {
            return Ok(problems);
        };
        let mut stmt = conn.prepare("PRAGMA integrity_check").context(what)?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .context(what)?;
        for row in rows {
            let line = row.context(what)?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = conn.prepare("PRAGMA foreign_key_check").context(what)?;
        let rows = stmt
            .query_map([], |row| {
                Ok(format!(
                    "row {} of {} refers to a missing row of {}",
                    row.get::<_, Option<i64>>(1)?.unwrap_or_default(),
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(2)?
                ))
            })
            .context(what)?;
        for row in rows {
            problems.push(row.context(what)?);
        }
        Ok(problems)
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (IMMEDIATE), so
    /// two processes never deadlock upgrading a read lock. Dropping the [`Tx`] rolls it back.
    pub fn begin(&mut self) -> Result<Tx<'_>> {
        let tx = self
            .conn
            .begin(db::Begin::Write)
            .context(|| "beginning a transaction".into())?;
        let tx = Tx::new(tx, true);
        if let Some(account) = &self.account {
            tx.enter_account(Some(account))?;
        }
        Ok(tx)
    }

    /// From here on every transaction begun on this store works in the data of account
    /// `name` (see [`Tx::enter_account`]): how the CLI looks at, exports, imports and restores
    /// one account's data. Fails if there is no such account.
    pub fn use_account(&mut self, name: &str) -> Result<()> {
        let exists = self.read(|tx| tx.account_tenant(name))?.is_some();
        if !exists {
            return Err(StoreError::AccountNotFound(name.to_string()));
        }
        self.account = Some(name.to_string());
        Ok(())
    }

    /// Runs `f` in one write transaction: committed if it returns `Ok`, rolled back otherwise.
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self.begin()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on one consistent snapshot and writes nothing (for queries: CLI listings).
    pub fn read<T, E>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .begin(db::Begin::Read)
            .context(|| "beginning a read transaction".into())?;
        let tx = Tx::new(tx, false);
        if let Some(account) = &self.account {
            tx.enter_account(Some(account))?;
        }
        let value = f(&tx);
        tx.rollback()?;
        value
    }
}

/// Creates the database file readable by its owner only, before SQLite touches it: it holds
/// the account digests, and SQLite gives the WAL and shm files the same permissions.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn check_savepoint_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::InvalidInput(format!(
            "savepoint name {name:?} is not a plain identifier"
        )));
    }
    Ok(())
}

/// An open transaction. All store operations are its methods.
///
/// A transaction works in one account's data (its tenant): the household's (shared by the
/// phones that need no login and by accounts without data of their own) until
/// [`Tx::enter_account`] names an account that has its own.
pub struct Tx<'a> {
    tx: db::Transaction<'a>,
    tenant: std::cell::Cell<i64>,
    /// Begun to write ([`Store::begin`]) rather than to read a snapshot ([`Store::read`]).
    writes: bool,
    /// The row ids of the device datastores this transaction looked up: nearly every call
    /// of a sync names one, and on PostgreSQL each lookup is a round trip. A row's id stays
    /// until the row goes, which only pruning a device or a savepoint's rollback can do
    /// inside a transaction: both empty it.
    device_datastore_ids: std::cell::RefCell<Vec<(DeviceId, Datastore, i64)>>,
}

/// The household's data: what every store held before accounts could have their own.
pub const HOUSEHOLD: i64 = 0;

/// The tenant of an account name that does not exist: no row has it, so nothing is found.
const NO_TENANT: i64 = -1;

impl<'a> Tx<'a> {
    fn new(tx: db::Transaction<'a>, writes: bool) -> Tx<'a> {
        Tx {
            tx,
            tenant: std::cell::Cell::new(HOUSEHOLD),
            writes,
            device_datastore_ids: std::cell::RefCell::new(Vec::new()),
        }
    }
}

impl Tx<'_> {
    pub fn commit(self) -> Result<()> {
        self.tx.commit().context(|| "committing".into())
    }

    pub fn rollback(self) -> Result<()> {
        self.tx.rollback().context(|| "rolling back".into())
    }

    /// Whether this transaction runs on PostgreSQL.
    pub(crate) fn is_postgres(&self) -> bool {
        self.tx.is_postgres()
    }

    /// The account whose data this transaction works in (see [`Tx::enter_account`]).
    pub(crate) fn tenant(&self) -> i64 {
        self.tenant.get()
    }

    /// From here on works in the data of account `name` (`None`: the household's): its own
    /// if it has, the household's otherwise; an unknown name's data is empty. On PostgreSQL
    /// a write transaction also waits for, then holds until commit, the account's lock, so
    /// that sessions of one account on several processes apply their messages one after the
    /// other (no lost update, no duplicate) while other accounts go on. A read transaction
    /// reads a snapshot and waits for nobody (a listing, the end-of-session report).
    pub fn enter_account(&self, name: Option<&str>) -> Result<()> {
        let tenant = match name {
            None => HOUSEHOLD,
            Some(name) => self.account_tenant(name)?.unwrap_or(NO_TENANT),
        };
        self.tenant.set(tenant);
        if self.writes && self.is_postgres() && tenant != NO_TENANT {
            self.query_row_cached(
                "SELECT pg_advisory_xact_lock(?1)",
                [ACCOUNT_LOCKS + tenant],
                |_| Ok(()),
            )
            .context(|| format!("waiting for the lock of account {name:?}"))?;
        }
        Ok(())
    }

    /// Runs a statement (prepared once per connection); returns the rows it changed.
    fn execute_cached<P: db::Params>(&self, sql: &str, params: P) -> db::DbResult<usize> {
        self.tx.execute(sql, params)
    }

    /// The first row of a query (prepared once per connection), mapped.
    fn query_row_cached<T, P, F>(&self, sql: &str, params: P, f: F) -> db::DbResult<T>
    where
        P: db::Params,
        F: FnOnce(&db::Row<'_>) -> db::DbResult<T>,
    {
        self.tx.query_row(sql, params, f)
    }

    /// Opens a savepoint inside the transaction (for SyncML `Atomic`): what follows can be
    /// undone alone with [`Tx::rollback_to_savepoint`]. `name` must be a plain identifier.
    pub fn savepoint(&self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        self.tx
            .execute_batch(&format!("SAVEPOINT {name}"))
            .context(|| format!("opening savepoint {name}"))
    }

    /// Undoes everything since the savepoint and closes it.
    pub fn rollback_to_savepoint(&self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        // A device datastore made since may be undone with it.
        self.forget_device_datastore_ids();
        self.tx
            .execute_batch(&format!(
                "ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"
            ))
            .context(|| format!("rolling back to savepoint {name}"))
    }

    /// Keeps what was done since the savepoint and closes it.
    pub fn release_savepoint(&self, name: &str) -> Result<()> {
        check_savepoint_name(name)?;
        self.tx
            .execute_batch(&format!("RELEASE SAVEPOINT {name}"))
            .context(|| format!("releasing savepoint {name}"))
    }

    /// The id of a device datastore's row this transaction looked up, if it did.
    pub(crate) fn known_device_datastore_id(
        &self,
        device: DeviceId,
        datastore: Datastore,
    ) -> Option<i64> {
        self.device_datastore_ids
            .borrow()
            .iter()
            .find(|(d, s, _)| *d == device && *s == datastore)
            .map(|(_, _, id)| *id)
    }

    pub(crate) fn remember_device_datastore_id(
        &self,
        device: DeviceId,
        datastore: Datastore,
        id: i64,
    ) {
        self.device_datastore_ids
            .borrow_mut()
            .push((device, datastore, id));
    }

    /// Rows of device datastores may have gone: look them up again.
    pub(crate) fn forget_device_datastore_ids(&self) {
        self.device_datastore_ids.borrow_mut().clear();
    }

    /// The last revision handed out by the change counter.
    pub fn current_revision(&self) -> Result<Revision> {
        let sql = if self.is_postgres() {
            // A sequence: revisions never wait for another account's transaction.
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM change_counter"
        } else {
            "SELECT value FROM change_counter WHERE id = 1"
        };
        self.query_row_cached(sql, db::NO_PARAMS, |row| id_column(row, 0))
            .context(|| "reading the change counter".into())
    }

    /// Takes the next revision from the change counter.
    fn next_revision(&self) -> Result<Revision> {
        let sql = if self.is_postgres() {
            "SELECT nextval('change_counter')"
        } else {
            "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value"
        };
        self.query_row_cached(sql, db::NO_PARAMS, |row| id_column(row, 0))
            .context(|| "advancing the change counter".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_keys_are_enforced() {
        let store = Store::open_in_memory().unwrap();
        let enabled: bool = store
            .sqlite()
            .unwrap()
            .pragma_query_value(None, "foreign_keys", |row| row.get(0))
            .unwrap();
        assert!(enabled);
        let orphan = store.sqlite().unwrap().execute(
            "INSERT INTO item_versions (item_id, revision, content_type, raw, canonical, \
             deleted, applied, at, reason) VALUES (99, 1, 't', x'', '', 0, 1, 0, 'added_on_pc')",
            [],
        );
        assert!(orphan.is_err());
        assert!(store.check_integrity().unwrap().is_empty());
    }

    #[test]
    fn a_savepoint_undoes_only_what_followed_it() {
        let mut store = Store::open_in_memory().unwrap();
        let content = ItemContent {
            content_type: "text/plain",
            raw: b"a",
            canonical: "a",
            identity_key: None,
        };
        let cause = Cause::pc(Reason::AddedOnPc);
        store
            .transaction(|tx| {
                tx.add_item(Datastore::Notes, content, &cause, Timestamp(1))?;
                tx.savepoint("atomic")?;
                tx.add_item(Datastore::Notes, content, &cause, Timestamp(2))?;
                tx.rollback_to_savepoint("atomic")?;
                tx.savepoint("atomic")?;
                tx.add_item(Datastore::Notes, content, &cause, Timestamp(3))?;
                tx.release_savepoint("atomic")?;
                assert!(tx.savepoint("bad name; DROP").is_err());
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let count = store.read(|tx| tx.item_count(Datastore::Notes)).unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn the_integrity_check_reports_dangling_references() {
        let store = Store::open_in_memory().unwrap();
        store
            .sqlite()
            .unwrap()
            .execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO device_settings (device_id, key, value) VALUES (42, 'k', 'v');",
            )
            .unwrap();
        let problems = store.check_integrity().unwrap();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("device_settings"), "{problems:?}");
    }
}
