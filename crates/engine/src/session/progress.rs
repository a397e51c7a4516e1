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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::ServerConfig;
    use crate::session::SessionParams;
    use crate::storage::MemoryStore;
    use crate::storage::Timestamp;

    fn header(msg_id: u32) -> String {
        format!(
            "<SyncHdr><VerDTD>1.1</VerDTD><VerProto>SyncML/1.1</VerProto>\
             <SessionID>1</SessionID><MsgID>{msg_id}</MsgID>\
             <Target><LocURI>PC Suite</LocURI></Target>\
             <Source><LocURI>IMEI:350000000000001</LocURI></Source></SyncHdr>"
        )
    }

    fn add(cmd_id: u32, luid: &str, name: &str) -> String {
        format!(
            "<Add><CmdID>{cmd_id}</CmdID><Meta><Type xmlns='syncml:metinf'>text/x-vcard</Type></Meta>\
             <Item><Source><LocURI>{luid}</LocURI></Source><Data>BEGIN:VCARD\r\nVERSION:2.1\r\n\
             N:{name};Anna\r\nEND:VCARD\r\n</Data></Item></Add>"
        )
    }

    /// A slow sync of contacts in which the phone announces three changes and sends them
    /// over two messages: the session's progress follows each message.
    #[test]
    fn progress_counts_what_the_phone_announced_and_sent() {
        let mut store = MemoryStore::new();
        let mut session = Session::new(
            Arc::new(ServerConfig::default()),
            SessionParams::new("test"),
        );
        let now = Timestamp::from_unix_millis(1_000_000);
        let mut exchange = |session: &mut Session, body: String, msg_id: u32| {
            let xml = format!(
                "<SyncML>{}<SyncBody>{body}</SyncBody></SyncML>",
                header(msg_id)
            );
            store
                .transaction(|tx| session.receive(tx, xml.as_bytes(), now))
                .expect("answered");
        };
        exchange(
            &mut session,
            "<Alert><CmdID>1</CmdID><Data>201</Data><Item><Target><LocURI>./contacts</LocURI>\
             </Target><Source><LocURI>./C</LocURI></Source><Meta><Anchor xmlns='syncml:metinf'>\
             <Next>1</Next></Anchor></Meta></Item></Alert><Final/>"
                .into(),
            1,
        );
        assert_eq!(session.client_uri(), Some("IMEI:350000000000001"));
        let contacts = |session: &Session| session.progress()[0].clone();
        assert_eq!(contacts(&session).datastore, Datastore::Contacts);
        assert_eq!(contacts(&session).from_phone_announced, None);
        assert_eq!(contacts(&session).from_phone, 0);

        let sync = |adds: String| {
            format!(
                "<Sync><CmdID>2</CmdID><Target><LocURI>./contacts</LocURI></Target>\
                 <Source><LocURI>./C</LocURI></Source><NumberOfChanges>3</NumberOfChanges>\
                 {adds}</Sync>"
            )
        };
        exchange(
            &mut session,
            sync(add(3, "1", "Ek") + &add(4, "2", "Zwei")),
            2,
        );
        let so_far = contacts(&session);
        assert_eq!(so_far.from_phone_announced, Some(3));
        assert_eq!(so_far.from_phone, 2);
        assert!(so_far.from_phone_bytes > 60, "{so_far:?}");
        exchange(&mut session, sync(add(3, "3", "Drei")) + "<Final/>", 3);
        let at_end = contacts(&session);
        assert_eq!(at_end.from_phone, 3);
        assert!(at_end.from_phone_bytes > so_far.from_phone_bytes);
        assert_eq!((at_end.to_phone_queued, at_end.to_phone), (0, 0));
        assert_eq!(session.failure(), None);
    }
}
