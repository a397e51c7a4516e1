//! The values storage speaks in: identifiers, time, why a change happened, and items.

use std::fmt;
use std::str::FromStr;

pub use handsync_proto::pim::Datastore;

use super::error::StorageError;

/// Declares a text-valued enum (stored as its name), with exact parsing.
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
            type Err = StorageError;
            fn from_str(s: &str) -> Result<Self, StorageError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(StorageError::invalid(format!(
                        concat!("unknown ", stringify!($name), " {:?}"), other
                    ))),
                }
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

/// Declares an integer id newtype.
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
    };
}

id_type! {
    /// The server's id of an item, as sent to phones: a decimal number ("1234"), short enough
    /// for the smallest MaxGUIDSize and never reused.
    Guid
}
id_type! {
    /// A value of the global change counter. Every applied change of any item takes the next
    /// one, so "changed since revision R" is a plain comparison.
    Revision
}
id_type! {
    /// Storage's id of a device.
    DeviceId
}
id_type! {
    /// Storage's id of a session (not the SyncML SessionID, which phones reuse).
    SessionId
}

impl FromStr for Guid {
    type Err = StorageError;
    /// Parses the GUID text a phone sends back (Target or Map LocURI).
    fn from_str(s: &str) -> Result<Self, StorageError> {
        match s.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(Guid(n)),
            _ => Err(StorageError::invalid(format!(
                "{s:?} is not a handsync GUID"
            ))),
        }
    }
}

/// A point in time in milliseconds since the Unix epoch, UTC. The caller supplies it: storage
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

/// The current state of an item as storage keeps it (not the SyncML `<Item>` of a message,
/// nor the PIM layer's `StoredItem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRecord {
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

impl ItemRecord {
    pub fn is_deleted(&self) -> bool {
        self.deleted.is_some()
    }

    /// Its content, as it would be handed over again.
    pub fn content(&self) -> ItemContent<'_> {
        ItemContent {
            content_type: &self.content_type,
            raw: &self.raw,
            canonical: &self.canonical,
            identity_key: self.identity_key.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_round_trip_and_unknown_text_is_invalid() {
        for reason in [
            Reason::AddedByPhone,
            Reason::ConflictLoser,
            Reason::Restored,
        ] {
            assert_eq!(reason.as_str().parse::<Reason>().unwrap(), reason);
        }
        let error = "exploded".parse::<SessionResult>().unwrap_err();
        assert_eq!(error.kind(), super::super::StorageErrorKind::Invalid);
        assert!(error.message().contains("exploded"), "{error}");
    }

    #[test]
    fn guids_parse_from_what_phones_send_back() {
        assert_eq!(" 12 ".parse::<Guid>().unwrap(), Guid(12));
        assert!("0".parse::<Guid>().is_err());
        assert!("./EriPBDB".parse::<Guid>().is_err());
    }

    #[test]
    fn timestamps_convert_seconds_to_millis() {
        assert_eq!(Timestamp::from_unix_seconds(2).unix_millis(), 2000);
        assert_eq!(Timestamp::from_unix_millis(5).0, 5);
        assert_eq!(Timestamp::from_unix_seconds(i64::MAX).0, i64::MAX);
    }
}
