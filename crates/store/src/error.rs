//! The one error type of the store.

use std::fmt;
use std::path::PathBuf;

use handsync_engine::storage::{
    Datastore, DeviceId, Guid, Revision, SessionId, StorageError, StorageErrorKind,
};
use handsync_engine::EngineError;

use crate::db::{DbError, DbResult};

/// Everything that can go wrong in the store. Messages name what failed and which item,
/// device or session it concerned.
#[derive(Debug)]
pub enum StoreError {
    /// The database (a file, or a PostgreSQL server: `what` names it without its password)
    /// could not be opened or set up.
    Open {
        what: String,
        source: DbError,
    },
    /// The database file could not be created with owner-only permissions.
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A database call failed; `context` says what the store was doing.
    Database {
        context: String,
        source: DbError,
    },
    /// The file was written by a newer handsync: we refuse to touch a schema we do not know.
    SchemaTooNew {
        found: i64,
        supported: i64,
    },
    /// A forward migration failed; the file stays at `from`.
    Migration {
        from: i64,
        to: i64,
        source: DbError,
    },
    /// A row holds a value the store cannot interpret (a corrupt or hand-edited database).
    Corrupt {
        table: &'static str,
        row: i64,
        detail: String,
    },
    ItemNotFound(Guid),
    /// The operation needs a live item but the item is a tombstone.
    ItemDeleted(Guid),
    /// The item belongs to another datastore than the one the caller named.
    WrongDatastore {
        guid: Guid,
        expected: Datastore,
        found: Datastore,
    },
    /// No version of the item carries this revision.
    VersionNotFound {
        guid: Guid,
        revision: Revision,
    },
    DeviceNotFound(DeviceId),
    /// The device has never been set up for this datastore (no URI, anchors or map).
    DeviceDatastoreNotFound {
        device: DeviceId,
        datastore: Datastore,
    },
    SessionNotFound(SessionId),
    /// The session already ended and cannot be changed any more.
    SessionEnded(SessionId),
    AccountExists(String),
    AccountNotFound(String),
    /// No rejected item has this id.
    RejectedItemNotFound(i64),
    /// A caller passed a value the store cannot accept (empty name, bad GUID text...).
    InvalidInput(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Open { what, source } => write!(f, "cannot open store {what}: {source}"),
            StoreError::Create { path, source } => {
                write!(f, "cannot create store {}: {source}", path.display())
            }
            StoreError::Database { context, source } => write!(f, "{context}: {source}"),
            StoreError::SchemaTooNew { found, supported } => write!(
                f,
                "store schema version {found} is newer than this handsync supports ({supported}); \
                 upgrade handsync"
            ),
            StoreError::Migration { from, to, source } => {
                write!(
                    f,
                    "store migration from schema {from} to {to} failed: {source}"
                )
            }
            StoreError::Corrupt { table, row, detail } => {
                write!(f, "corrupt row {row} in table {table}: {detail}")
            }
            StoreError::ItemNotFound(guid) => write!(f, "item {guid} not found"),
            StoreError::ItemDeleted(guid) => write!(f, "item {guid} is deleted"),
            StoreError::WrongDatastore {
                guid,
                expected,
                found,
            } => write!(f, "item {guid} belongs to {found}, not {expected}"),
            StoreError::VersionNotFound { guid, revision } => {
                write!(f, "item {guid} has no version at revision {revision}")
            }
            StoreError::DeviceNotFound(device) => write!(f, "device {device} not found"),
            StoreError::DeviceDatastoreNotFound { device, datastore } => {
                write!(f, "device {device} has no {datastore} datastore set up")
            }
            StoreError::SessionNotFound(session) => write!(f, "session {session} not found"),
            StoreError::SessionEnded(session) => write!(f, "session {session} has already ended"),
            StoreError::AccountExists(name) => write!(f, "account {name:?} already exists"),
            StoreError::AccountNotFound(name) => write!(f, "account {name:?} not found"),
            StoreError::RejectedItemNotFound(id) => write!(f, "rejected item {id} not found"),
            StoreError::InvalidInput(detail) => write!(f, "invalid input: {detail}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Open { source, .. }
            | StoreError::Database { source, .. }
            | StoreError::Migration { source, .. } => Some(source),
            StoreError::Create { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The engine sees the store's failures in its own words: what was not found, what was
/// refused, and what failed in SQLite.
impl From<StoreError> for StorageError {
    fn from(error: StoreError) -> StorageError {
        let kind = match &error {
            StoreError::ItemNotFound(_)
            | StoreError::VersionNotFound { .. }
            | StoreError::DeviceNotFound(_)
            | StoreError::DeviceDatastoreNotFound { .. }
            | StoreError::SessionNotFound(_)
            | StoreError::AccountNotFound(_)
            | StoreError::RejectedItemNotFound(_) => StorageErrorKind::NotFound,
            StoreError::ItemDeleted(_)
            | StoreError::WrongDatastore { .. }
            | StoreError::SessionEnded(_)
            | StoreError::AccountExists(_)
            | StoreError::InvalidInput(_) => StorageErrorKind::Invalid,
            StoreError::Open { .. }
            | StoreError::Create { .. }
            | StoreError::Database { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::Migration { .. }
            | StoreError::Corrupt { .. } => StorageErrorKind::Failed,
        };
        StorageError::new(kind, error.to_string())
    }
}

/// So a driver can `?` a failed `begin` or `commit` where it answers with engine errors.
impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> EngineError {
        EngineError::Store(error.into())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Attaches what the store was doing to a database error.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for DbResult<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| StoreError::Database {
            context: what(),
            source,
        })
    }
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(DbError::from).context(what)
    }
}

impl StoreError {
    /// Another writer held the database, or PostgreSQL gave up on a conflict: the whole
    /// transaction is worth trying again.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database { source, .. } => source.is_transient(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_sees_what_was_missing_refused_or_broken() {
        let kind = |error: StoreError| StorageError::from(error).kind();
        assert_eq!(
            kind(StoreError::ItemNotFound(Guid(1))),
            StorageErrorKind::NotFound
        );
        let wrong = StoreError::WrongDatastore {
            guid: Guid(1),
            expected: Datastore::Contacts,
            found: Datastore::Notes,
        };
        assert_eq!(kind(wrong), StorageErrorKind::Invalid);
        let corrupt = StoreError::Corrupt {
            table: "items",
            row: 1,
            detail: "bad".into(),
        };
        assert_eq!(kind(corrupt), StorageErrorKind::Failed);
        let message = StorageError::from(StoreError::SessionEnded(SessionId(4))).to_string();
        assert_eq!(message, "session 4 has already ended");
    }
}
