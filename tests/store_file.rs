//! The store on real SQLite files: migrations, reopening, WAL, transactions, bad data and
//! what lands on disk for accounts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use handsync::engine::credentials::basic_matches;
use handsync::store::{
    Cause, Datastore, ItemContent, Reason, Store, StoreError, Timestamp, SCHEMA_VERSION,
};

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("handsync-store-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("handsync.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const NOW: Timestamp = Timestamp(1_700_000_000_000);

fn vcard(name: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:2.1\r\nN:{name}\r\nEND:VCARD\r\n")
}

fn content<'a>(text: &'a str, key: &'a str) -> ItemContent<'a> {
    ItemContent {
        content_type: "text/x-vcard",
        raw: text.as_bytes(),
        canonical: text,
        identity_key: Some(key),
    }
}

fn pc(reason: Reason) -> Cause {
    Cause::pc(reason)
}

/// Every byte of the database and its WAL.
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).expect("reading the database file");
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(PathBuf::from(wal)) {
        bytes.extend(more);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_new_file_is_migrated_to_the_current_schema() {
    let dir = TempDir::new("migrate");
    let store = Store::open(dir.db()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    let raw = rusqlite::Connection::open(dir.db()).unwrap();
    let tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in [
        "accounts",
        "change_counter",
        "device_datastores",
        "device_items",
        "device_settings",
        "devices",
        "item_versions",
        "items",
        "restores",
        "session_counts",
        "sessions",
    ] {
        assert!(tables.iter().any(|t| t == table), "missing table {table}");
    }
}

#[cfg(unix)]
#[test]
fn a_new_store_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("mode");
    let mut store = Store::open(dir.db()).unwrap();
    store
        .transaction(|tx| tx.add_account("phone", "secret", NOW))
        .unwrap();
    let mode = std::fs::metadata(dir.db()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let mut wal = dir.db().into_os_string();
    wal.push("-wal");
    let wal_mode = std::fs::metadata(PathBuf::from(wal))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(wal_mode & 0o777, 0o600);
}

#[test]
fn opening_a_store_in_a_missing_directory_names_the_path() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no/such/dir/handsync.db");
    let err = Store::open(&path).unwrap_err();
    assert!(err.to_string().contains("no/such/dir/handsync.db"), "{err}");
}

#[test]
fn wal_mode_is_on_and_a_fresh_store_is_sound() {
    let dir = TempDir::new("wal");
    let mut store = Store::open(dir.db()).unwrap();
    assert_eq!(store.journal_mode().unwrap(), "wal");
    store
        .transaction(|tx| tx.upsert_device("IMEI:1", NOW))
        .unwrap();
    // Written data sits in the WAL until a checkpoint.
    let mut wal = dir.db().into_os_string();
    wal.push("-wal");
    assert!(std::fs::metadata(PathBuf::from(wal)).unwrap().len() > 0);
    assert!(store.check_integrity().unwrap().is_empty());
    // The mode is a property of the file: a plain reopen still finds it.
    drop(store);
    let raw = rusqlite::Connection::open(dir.db()).unwrap();
    let mode: String = raw
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn reopening_keeps_items_history_and_counter() {
    let dir = TempDir::new("reopen");
    let text = vcard("Lovelace;Ada");
    let edited = vcard("Lovelace;Augusta Ada");
    let guid = {
        let mut store = Store::open(dir.db()).unwrap();
        store
            .transaction(|tx| {
                let item = tx.add_item(
                    Datastore::Contacts,
                    content(&text, "ada"),
                    &pc(Reason::AddedOnPc),
                    NOW,
                )?;
                tx.replace_item(
                    item.guid,
                    content(&edited, "ada"),
                    &pc(Reason::ReplacedOnPc),
                    NOW,
                )?;
                Ok::<_, StoreError>(item.guid)
            })
            .unwrap()
    };
    let mut store = Store::open(dir.db()).unwrap();
    store
        .read(|tx| {
            let item = tx.item(guid)?;
            assert_eq!(item.canonical, edited);
            assert_eq!(item.raw, edited.as_bytes());
            assert_eq!(tx.item_history(guid)?.len(), 2);
            assert_eq!(tx.current_revision()?, item.revision);
            Ok::<_, StoreError>(())
        })
        .unwrap();
    // The counter goes on from where it was: revisions never repeat across reopenings.
    let next = store
        .transaction(|tx| {
            tx.add_item(
                Datastore::Notes,
                ItemContent {
                    content_type: "text/plain",
                    raw: b"milk",
                    canonical: "milk",
                    identity_key: None,
                },
                &pc(Reason::AddedOnPc),
                NOW,
            )
        })
        .unwrap();
    assert!(next.revision.0 > 2);
    assert!(next.guid.0 > guid.0);
}

#[test]
fn an_error_midway_rolls_the_whole_transaction_back() {
    let dir = TempDir::new("rollback");
    let mut store = Store::open(dir.db()).unwrap();
    let text = vcard("Babbage;Charles");
    let result = store.transaction(|tx| {
        let device = tx.upsert_device("IMEI:2", NOW)?;
        tx.add_item(
            Datastore::Contacts,
            content(&text, "babbage"),
            &pc(Reason::AddedOnPc),
            NOW,
        )?;
        // Fails: no such item. Everything above must go too.
        tx.replace_item(
            handsync::store::Guid(4242),
            content(&text, "babbage"),
            &Cause::device(Reason::ReplacedByPhone, device, None),
            NOW,
        )?;
        Ok::<_, StoreError>(())
    });
    assert!(matches!(
        result,
        Err(StoreError::ItemNotFound(handsync::store::Guid(4242)))
    ));
    drop(store);
    let mut store = Store::open(dir.db()).unwrap();
    store
        .read(|tx| {
            assert!(tx.items(Datastore::Contacts, true)?.is_empty());
            assert!(tx.device_by_uri("IMEI:2")?.is_none());
            assert_eq!(tx.current_revision()?.0, 0);
            Ok::<_, StoreError>(())
        })
        .unwrap();

    // The Tx object: dropped without commit, nothing stays.
    {
        let tx = store.begin().unwrap();
        tx.add_item(
            Datastore::Contacts,
            content(&text, "babbage"),
            &pc(Reason::AddedOnPc),
            NOW,
        )
        .unwrap();
    }
    let tx = store.begin().unwrap();
    assert!(tx.items(Datastore::Contacts, true).unwrap().is_empty());
    tx.rollback().unwrap();
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = TempDir::new("too-new");
    drop(Store::open(dir.db()).unwrap());
    let raw = rusqlite::Connection::open(dir.db()).unwrap();
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 5)
        .unwrap();
    drop(raw);
    match Store::open(dir.db()) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!(found, SCHEMA_VERSION + 5);
            assert_eq!(supported, SCHEMA_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn a_corrupt_row_is_an_error_that_names_the_item() {
    let dir = TempDir::new("corrupt");
    let mut store = Store::open(dir.db()).unwrap();
    let text = vcard("Hopper;Grace");
    let guid = store
        .transaction(|tx| {
            tx.add_item(
                Datastore::Contacts,
                content(&text, "hopper"),
                &pc(Reason::AddedOnPc),
                NOW,
            )
            .map(|item| item.guid)
        })
        .unwrap();
    drop(store);
    let raw = rusqlite::Connection::open(dir.db()).unwrap();
    raw.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    raw.execute(
        "UPDATE items SET datastore = 'fax', created_at = 'yesterday' WHERE id = ?1",
        [guid.0],
    )
    .unwrap();
    drop(raw);
    let mut store = Store::open(dir.db()).unwrap();
    let err = store.read(|tx| tx.item(guid)).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("item {guid}")),
        "message does not name the item: {message}"
    );
    assert!(store
        .read(|tx| tx.items(Datastore::Contacts, true))
        .unwrap()
        .is_empty());
}

#[test]
fn accounts_never_store_the_password() {
    let dir = TempDir::new("accounts");
    let password = "Zebra-Quartz-7731";
    let mut store = Store::open(dir.db()).unwrap();
    store
        .transaction(|tx| tx.add_account("phone", password, NOW))
        .unwrap();
    let bytes = file_bytes(&dir.db());
    assert!(
        contains(&bytes, b"phone"),
        "account name not found: wrong file?"
    );
    assert!(!contains(&bytes, password.as_bytes()));
    assert!(!contains(&bytes, format!("phone:{password}").as_bytes()));

    store
        .read(|tx| {
            assert!(basic_matches(
                tx.account_digest("phone")?,
                "phone",
                password
            ));
            assert!(!basic_matches(
                tx.account_digest("phone")?,
                "phone",
                "zebra-quartz-7731"
            ));
            assert!(!basic_matches(
                tx.account_digest("nobody")?,
                "nobody",
                password
            ));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    drop(store);
    // After a checkpoint into the main file, still not there.
    let raw = rusqlite::Connection::open(dir.db()).unwrap();
    raw.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(raw);
    assert!(!contains(&file_bytes(&dir.db()), password.as_bytes()));
}
