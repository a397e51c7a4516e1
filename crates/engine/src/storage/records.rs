//! What storage records about devices, sessions and refused items, and the changes that
//! travel between a device and the PC.

use super::types::{
    ChangeKind, Datastore, DevInfEncoding, DeviceId, Guid, ItemContent, ItemRecord, Revision,
    SessionId, SessionResult, Timestamp,
};

/// The identifying fields of a DevInf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevInfSummary {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub oem: Option<String>,
    pub firmware_version: Option<String>,
    pub software_version: Option<String>,
    pub hardware_version: Option<String>,
    /// DevInf's DevID (usually the same as the Source LocURI, not always).
    pub dev_id: Option<String>,
    /// DevInf's DevTyp: phone, pda, smartphone...
    pub device_type: Option<String>,
}

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    /// The SyncML Source LocURI, e.g. `IMEI:350000000000000`.
    pub uri: String,
    /// The DevInf exactly as received.
    pub devinf_raw: Option<Vec<u8>>,
    pub devinf_encoding: Option<DevInfEncoding>,
    pub summary: DevInfSummary,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The NextNonce we last gave it for syncml:auth-md5.
    pub next_nonce: Option<Vec<u8>>,
}

/// The state of one of our datastores on one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDatastore {
    pub device: DeviceId,
    pub datastore: Datastore,
    /// The phone's URI for it, e.g. `Contacts` or `./EriPBDB`.
    pub device_uri: String,
    /// The phone's anchor of the last completed sync (its Next then, its Last now).
    pub client_last_anchor: Option<String>,
    /// Our anchor of the last completed sync.
    pub server_last_anchor: Option<String>,
    /// Anchors of the sync under way; they become the last ones only when it completes.
    pub pending_client_anchor: Option<String>,
    pub pending_server_anchor: Option<String>,
    pub last_session_completed: bool,
    pub last_session: Option<SessionId>,
    pub last_sync_at: Option<Timestamp>,
    pub last_result: Option<SessionResult>,
    pub last_completed_at: Option<Timestamp>,
    /// What the phone holds when it missed the end of the last completed sync: the anchors
    /// it had at that sync's start (see [`AnchorBase`]).
    pub previous_client_anchor: Option<String>,
    pub previous_server_anchor: Option<String>,
    /// When the sync that handed out the previous anchors completed (`None`: unknown, or it
    /// was a slow sync the phone started from anchors we never gave it).
    pub previous_completed_at: Option<Timestamp>,
}

/// The anchors a phone started a sync from, kept when that sync completes: a phone that
/// never saw the end comes back with them, and a two-way sync from them is still exact
/// (it sends again what it sent; see docs/engine.md, "Interrupted syncs").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorBase {
    /// The phone's Last anchor of that sync.
    pub client: String,
    /// The Last anchor we sent the phone in that sync.
    pub server: Option<String>,
    /// When the sync that gave the phone these anchors completed; mappings made up to then
    /// are known to a phone holding them.
    pub completed_at: Option<Timestamp>,
}

/// One item a device holds, or has been sent and not yet mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceItem {
    pub guid: Guid,
    /// `None` while the mapping is pending: the device took our Add, its Map has not come.
    pub luid: Option<String>,
    /// The item's revision the device has.
    pub seen_revision: Revision,
    /// The item's current revision.
    pub item_revision: Revision,
    pub item_deleted: bool,
    /// When the device's LUID was mapped to the item (`None` while pending).
    pub mapped_at: Option<Timestamp>,
}

/// A change a device sends, identified by its LUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChange<'a> {
    Add {
        luid: &'a str,
        content: ItemContent<'a>,
    },
    Replace {
        luid: &'a str,
        content: ItemContent<'a>,
    },
    Delete {
        luid: &'a str,
    },
}

/// What applying a device's change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliedOutcome {
    /// A new item (an Add, or a Replace of a LUID we did not know).
    Added,
    /// The mapped item got the device's content (a Replace, or an Add of a LUID already
    /// mapped: a resend after a cut session, which must not duplicate).
    Replaced,
    Deleted,
    /// The mapped item was already deleted; the device no longer holds it.
    AlreadyDeleted,
    /// A Delete of a LUID we do not know.
    NotFound,
}

/// The result of [`SyncStore::apply_from_device`](super::SyncStore::apply_from_device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub outcome: AppliedOutcome,
    pub guid: Option<Guid>,
    /// The item's revision after the change.
    pub revision: Option<Revision>,
    /// The PC had changed the item since the device last saw it; the device's change won and
    /// the PC's version is in the item's history.
    pub conflict: bool,
    /// The item had been deleted on the PC and the device's Replace brought it back.
    pub revived: bool,
}

/// A change the device has not seen yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcChange {
    pub kind: ChangeKind,
    /// The item as it is now (for a Delete, the tombstone).
    pub item: ItemRecord,
    /// The device's id for it; `None` for an Add, and for a Replace or Delete of an item
    /// whose mapping is still pending.
    pub luid: Option<String>,
}

/// A change the device has not seen, named but not read: the engine lists them a page at a
/// time as its messages go ([`SyncStore::unseen_changes_after`](super::SyncStore)) and reads
/// each item only when a message is about to carry it
/// ([`SyncStore::change_for_device`](super::SyncStore::change_for_device)), so that a sync
/// sending many items never holds them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnseenChange {
    pub kind: ChangeKind,
    pub guid: Guid,
    /// The item's revision when listed.
    pub revision: Revision,
    /// The device's LUID for the item is known (always `false` for an Add): a Replace or
    /// Delete without one cannot be addressed until its Map comes.
    pub mapped: bool,
}

impl UnseenChange {
    /// Its place in the order changes are listed: Adds by revision (the index of a
    /// datastore's items), then Replaces and Deletes each by GUID (the index of what the
    /// device holds), so that each page is read from where the last one stopped.
    pub fn position(&self) -> (u8, i64) {
        match self.kind {
            ChangeKind::Add => (0, self.revision.0),
            ChangeKind::Replace => (1, self.guid.0),
            ChangeKind::Delete => (2, self.guid.0),
        }
    }
}

/// What the engine knows when a session starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession<'a> {
    pub device: DeviceId,
    /// How the phone reached us: "obex-bluetooth", "http", "usb"...
    pub transport: &'a str,
    /// The SessionID of the SyncHdr.
    pub syncml_session_id: Option<&'a str>,
    pub started_at: Timestamp,
}

/// A refused item, as the engine records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRejectedItem<'a> {
    pub device: DeviceId,
    pub session: Option<SessionId>,
    /// Our datastore; `None` when the phone's datastore matched none of ours.
    pub datastore: Option<Datastore>,
    /// The phone's name for its datastore (the Sync's Source LocURI).
    pub device_datastore: &'a str,
    /// The phone's id of the item, when it named one.
    pub luid: Option<&'a str>,
    /// The SyncML command that carried it (`Add`, `Replace`).
    pub command: &'a str,
    pub content_type: &'a str,
    pub raw: &'a [u8],
    /// The SyncML status code the phone was answered with.
    pub status: u16,
    pub reason: &'a str,
}
