//! Value types of the store: identifiers, the datastore kinds, time, causes of changes and
//! the records queries return.

use std::fmt;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use super::error::StoreError;
pub use handsync_proto::pim::Datastore;

/// Declares a text-valued enum stored as its name, with exact parsing.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, StoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::InvalidInput(format!(
                        concat!("unknown ", stringify!($name), " {:?}"), other
                    ))),
                }
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let text = value.as_str()?;
                text.parse().map_err(FromSqlError::other)
            }
        }
    };
}

text_enum! {
    /// Why a version of an item exists: what the phone or the user did.
    Reason {
        AddedByPhone => "added_by_phone",
        ReplacedByPhone => "replaced_by_phone",
        DeletedByPhone => "deleted_by_phone",
        AddedOnPc => "added_on_pc",
        ReplacedOnPc => "replaced_on_pc",
        DeletedOnPc => "deleted_on_pc",
        /// A version that lost a conflict: kept for the record, never the item's content.
        ConflictLoser => "conflict_loser",
        /// A version written by a restore from history.
        Restored => "restored",
    }
}

text_enum! {
    /// How a session ended. `Running` until it does.
    SessionResult {
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        /// The transport went away mid-session.
        Cut => "cut",
        /// Suspended by either side (SyncML 1.2 suspend/resume); the resume state is kept.
        Suspended => "suspended",
    }
}

text_enum! {
    /// Which way a change travelled in a session.
    Direction {
        ToPhone => "to_phone",
        FromPhone => "from_phone",
    }
}

text_enum! {
    /// What a change did to an item.
    ChangeKind {
        Add => "add",
        Replace => "replace",
        Delete => "delete",
    }
}

text_enum! {
    /// How the device sent its DevInf.
    DevInfEncoding {
        Xml => "xml",
        Wbxml => "wbxml",
    }
}

/// Declares an integer id newtype stored as INTEGER.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_i64().map($name)
            }
        }
    };
}

id_type! {
    /// The server's id of an item, as sent to phones: the decimal rowid ("1234"), short enough
    /// for the smallest MaxGUIDSize and never reused.
    Guid
}
id_type! {
    /// A value of the global change counter. Every applied change of any item takes the next
    /// one, so "changed since revision R" is a plain comparison.
    Revision
}
id_type! {
    /// The store's id of a device row.
    DeviceId
}
id_type! {
    /// The store's id of a session row (not the SyncML SessionID, which phones reuse).
    SessionId
}

impl FromStr for Guid {
    type Err = StoreError;
    /// Parses the GUID text a phone sends back (Target or Map LocURI).
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(Guid(n)),
            _ => Err(StoreError::InvalidInput(format!(
                "{s:?} is not a handsync GUID"
            ))),
        }
    }
}

/// A point in time in milliseconds since the Unix epoch, UTC. The caller supplies it: the store
/// never reads the clock, so the engine and tests decide what "now" is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis)
    }
    pub fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds.saturating_mul(1000))
    }
    pub fn unix_millis(self) -> i64 {
        self.0
    }
}

impl ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

impl FromSql for Timestamp {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value.as_i64().map(Timestamp)
    }
}

/// Who or what caused a change: recorded with every version of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub reason: Reason,
    /// The device whose message caused it; `None` for changes made on the PC.
    pub device: Option<DeviceId>,
    pub session: Option<SessionId>,
    /// Free text for people reading the history ("conflict: phone won over PC revision 12").
    pub note: Option<String>,
}

impl Cause {
    /// A change made on the PC (desktop import, CLI, ...).
    pub fn pc(reason: Reason) -> Self {
        Cause {
            reason,
            device: None,
            session: None,
            note: None,
        }
    }

    /// A change caused by a device's message in a session.
    pub fn device(reason: Reason, device: DeviceId, session: Option<SessionId>) -> Self {
        Cause {
            reason,
            device: Some(device),
            session,
            note: None,
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// The content of an item as the PIM layer hands it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemContent<'a> {
    /// MIME type as received, e.g. `text/x-vcard`.
    pub content_type: &'a str,
    /// The bytes exactly as received, kept so nothing the phone sent is lost.
    pub raw: &'a [u8],
    /// The normalized form the PIM layer produced.
    pub canonical: &'a str,
    /// The slow-sync matching key the PIM layer computed; `None` when it has none.
    pub identity_key: Option<&'a str>,
}

/// Deletion record of a tombstoned item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub at: Timestamp,
    pub device: Option<DeviceId>,
    pub session: Option<SessionId>,
    pub reason: Reason,
}

/// The current state of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub guid: Guid,
    pub datastore: Datastore,
    pub content_type: String,
    pub raw: Vec<u8>,
    pub canonical: String,
    pub identity_key: Option<String>,
    pub revision: Revision,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    /// `Some` for a tombstone. A tombstone keeps its last content.
    pub deleted: Option<Tombstone>,
}

impl Item {
    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }
}

/// One version of an item in its history. Every applied change writes one, so the version
/// before any overwrite or delete is always here to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVersion {
    pub guid: Guid,
    pub datastore: Datastore,
    /// The revision this version took from the change counter.
    pub revision: Revision,
    pub content_type: String,
    pub raw: Vec<u8>,
    pub canonical: String,
    pub identity_key: Option<String>,
    /// This version is a deletion (its content is the content that was deleted).
    pub deleted: bool,
    /// `false` for a conflict loser, kept for the record but never the item's content.
    pub applied: bool,
    pub at: Timestamp,
    pub cause: Cause,
    /// For a restore: the revision of the version it brought back.
    pub restored_from: Option<Revision>,
}

/// Reads a datastore name column ([`Datastore`] is the engine's type; SQLite holds its name).
pub(crate) fn datastore_column(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Datastore> {
    let text: String = row.get(index)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(StoreError::InvalidInput(format!("{e}"))),
        )
    })
}

/// Reads a nullable datastore name column.
pub(crate) fn optional_datastore_column(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<Datastore>> {
    match row.get_ref(index)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => datastore_column(row, index).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn datastore_names_round_trip_and_unknown_ones_are_refused() {
        for datastore in Datastore::ALL {
            assert_eq!(datastore.as_str().parse::<Datastore>().unwrap(), datastore);
            assert_eq!(datastore.to_string(), datastore.as_str());
        }
        assert_eq!(
            "Contacts".parse::<Datastore>().unwrap(),
            Datastore::Contacts
        );
        assert!("./EriPBDB".parse::<Datastore>().is_err());
    }

    #[test]
    fn text_enums_round_trip_through_sqlite_and_bad_text_is_an_error() {
        let conn = Connection::open_in_memory().unwrap();
        for reason in [
            Reason::AddedByPhone,
            Reason::ConflictLoser,
            Reason::Restored,
        ] {
            let back: Reason = conn
                .query_row("SELECT ?1", [reason], |row| row.get(0))
                .unwrap();
            assert_eq!(back, reason);
        }
        let bad = conn.query_row("SELECT 'exploded'", [], |row| {
            row.get::<_, SessionResult>(0)
        });
        let message = bad.unwrap_err().to_string();
        assert!(message.contains("exploded"), "{message}");
        let not_text = conn.query_row("SELECT 7", [], |row| datastore_column(row, 0));
        assert!(not_text.is_err());
        let unknown = conn.query_row("SELECT 'diary'", [], |row| datastore_column(row, 0));
        assert!(unknown.unwrap_err().to_string().contains("diary"));
    }

    #[test]
    fn timestamps_convert_seconds_to_millis() {
        assert_eq!(Timestamp::from_unix_seconds(2).unix_millis(), 2000);
        assert_eq!(Timestamp::from_unix_millis(5).0, 5);
        assert_eq!(Timestamp::from_unix_seconds(i64::MAX).0, i64::MAX);
    }
}
