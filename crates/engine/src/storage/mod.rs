//! What the engine needs from storage, in its own words: the [`SyncStore`] trait, the values
//! it speaks ([`types`], [`records`]) and its error ([`StorageError`]).
//!
//! The engine never opens or commits a transaction: the driver (tests, the HTTP and OBEX
//! bindings) begins one per incoming SyncML message, hands it to
//! [`Session::receive`](crate::Session::receive) and commits it when that returns `Ok` (rolls
//! it back on `Err`). Everything the engine does for one message is thus atomic.
//!
//! Two implementations: the SQLite store (`handsync-store`, the program's) and
//! [`MemoryStore`] here, which needs nothing and keeps everything in maps.

mod error;
mod memory;
pub mod records;
mod sync_store;
pub mod types;

pub use error::{StorageError, StorageErrorKind, StorageResult};
pub use memory::{ChangeCounts, MemoryStore, StoredRejection, StoredSession, StoredVersion};
pub use records::{
    AnchorBase, Applied, AppliedOutcome, DevInfSummary, DeviceChange, DeviceDatastore, DeviceItem,
    DeviceRecord, NewRejectedItem, NewSession, PcChange, UnseenChange,
};
pub use sync_store::SyncStore;
pub use types::{
    Cause, ChangeKind, Datastore, DevInfEncoding, DeviceId, Guid, ItemContent, ItemRecord, Reason,
    Revision, SessionId, SessionResult, Timestamp, Tombstone,
};
