//! The one error type of storage, as the engine sees it: what kind of failure (so the engine
//! can act on the few it handles) and what went wrong, in words.

use std::fmt;

/// What kind of failure a storage call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageErrorKind {
    /// What the call names does not exist: an item, a device, a device's datastore, a session.
    NotFound,
    /// The call was refused as it stands: an empty name, a GUID of another datastore, a
    /// deleted item, a session that already ended, bad text where an identifier was expected.
    Invalid,
    /// The storage itself failed (I/O, a corrupt database): nothing the engine can answer.
    Failed,
}

/// A storage failure: its kind and a message naming what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
}

impl StorageError {
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> StorageError {
        StorageError {
            kind,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> StorageError {
        StorageError::new(StorageErrorKind::NotFound, message)
    }

    pub fn invalid(message: impl Into<String>) -> StorageError {
        StorageError::new(StorageErrorKind::Invalid, message)
    }

    pub fn failed(message: impl Into<String>) -> StorageError {
        StorageError::new(StorageErrorKind::Failed, message)
    }

    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StorageError {}

pub type StorageResult<T> = std::result::Result<T, StorageError>;
