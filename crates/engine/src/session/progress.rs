//! How far a session has got, per datastore: a value the driver reads after each message
//! (the engine does no IO, so it draws nothing; the binary renders it).

use crate::storage::Datastore;

use super::Session;

/// One datastore's progress in both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatastoreProgress {
    pub datastore: Datastore,
    /// The items the phone said it would send (SyncML 1.1+ `NumberOfChanges` in its Sync);
    /// `None` when it did not say.
    pub from_phone_announced: Option<u64>,
    /// Items the phone sent so far (a large object counts once, at its last chunk).
    pub from_phone: u64,
    /// Item data bytes the phone sent so far.
    pub from_phone_bytes: u64,
    /// Changes queued for the phone, known once our package begins.
    pub to_phone_queued: u64,
    /// Changes put into our messages so far.
    pub to_phone: u64,
    /// Item data bytes put into our messages so far.
    pub to_phone_bytes: u64,
}

impl DatastoreProgress {
    fn new(datastore: Datastore) -> DatastoreProgress {
        DatastoreProgress {
            datastore,
            from_phone_announced: None,
            from_phone: 0,
            from_phone_bytes: 0,
            to_phone_queued: 0,
            to_phone: 0,
            to_phone_bytes: 0,
        }
    }
}

impl Session {
    /// Each datastore of the session so far, in the order the phone alerted them.
    pub fn progress(&self) -> &[DatastoreProgress] {
        &self.state.progress
    }

    /// The phone's SyncML name (`IMEI:...`), once its first message came: the one thing
    /// known of a phone that never authenticated.
    pub fn client_uri(&self) -> Option<&str> {
        Some(self.state.peer.client_uri.as_str()).filter(|uri| !uri.is_empty())
    }

    /// Why the session ended without completing, when the engine ended it (authentication,
    /// protocol, limits); `None` while it runs, when it completed, or when it was cut.
    pub fn failure(&self) -> Option<&str> {
        self.state.failure.as_deref()
    }

    pub(super) fn progress_of(&mut self, datastore: Datastore) -> &mut DatastoreProgress {
        let tally = &mut self.state.progress;
        let index = match tally.iter().position(|p| p.datastore == datastore) {
            Some(index) => index,
            None => {
                tally.push(DatastoreProgress::new(datastore));
                tally.len() - 1
            }
        };
        &mut tally[index]
    }
}
