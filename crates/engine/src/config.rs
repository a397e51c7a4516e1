//! What a server instance is configured with: its identity, the datastore alias table, the
//! authentication and conflict policies and the limits it advertises.

use std::collections::BTreeMap;

use crate::storage::Datastore;

/// How phones must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPolicy {
    /// No credentials needed (a cable or a paired Bluetooth link is trust enough).
    None,
    /// `syncml:auth-basic` (or auth-md5, which is accepted wherever basic is).
    Basic,
    /// `syncml:auth-md5` only, with a NextNonce kept per device.
    Md5,
}

/// Who wins when an item changed on both sides since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// The phone's change is applied; the PC's version stays in history (the default: the
    /// phone is what the user holds in hand and edited last, typically).
    PhoneWins,
    /// The PC's version is kept and sent back to the phone; the phone's is kept in history as
    /// a conflict loser.
    PcWins,
    /// Both survive: the phone's version becomes a new item, the PC's is sent to the phone as
    /// a new item too.
    KeepBoth,
    /// The side changed last wins, judged by the phone's timestamp in the item (vCard REV,
    /// iCalendar LAST-MODIFIED) against the PC's modification time. Without a timestamp the
    /// phone's edit wins, and the PC's edit wins over the phone's delete.
    NewerWins,
}

/// The server's configuration, shared by all its sessions.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// DevInf DevID and Model: phones expect "PC Suite".
    pub server_id: String,
    pub manufacturer: String,
    /// Phone datastore names (as the phone's Alert targets them) and the datastore each is.
    /// Compared case-insensitively, with a leading `./` ignored.
    pub aliases: Vec<(String, Datastore)>,
    /// Authentication by default.
    pub auth: AuthPolicy,
    /// Authentication per transport name ("http", "obex-bluetooth"...), overriding `auth`.
    pub auth_by_transport: BTreeMap<String, AuthPolicy>,
    /// Failed authentication attempts after which the session ends.
    pub max_auth_failures: u32,
    pub conflicts: ConflictPolicy,
    /// The largest message we accept (our `MaxMsgSize`).
    pub max_msg_size: u64,
    /// The largest object we accept (our `MaxObjSize`, SyncML 1.1 and later).
    pub max_obj_size: u64,
    /// The size of the messages we send when the phone gives no `MaxMsgSize`.
    pub default_client_max_msg_size: u64,
    /// Serve listeners beyond loopback without authentication. Off: the daemon refuses to
    /// start such a listener, since anyone on the network could then sync (read and write
    /// the user's data); a user who wants it says so.
    pub unauthenticated_network: bool,
    /// Open sessions at once, in all and per device: a client starting one more is told to
    /// come back later (HTTP 503, OBEX 0xD3).
    pub max_sessions: usize,
    pub max_sessions_per_device: usize,
    /// Open sessions from one network address (HTTP, OBEX over TCP).
    pub max_sessions_per_address: usize,
    /// Devices that never exchanged anything (first messages, then silence) kept on record,
    /// the most recent; older ones go with their sessions when a peer goes away.
    pub empty_devices_kept: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            server_id: "PC Suite".into(),
            manufacturer: "handsync".into(),
            aliases: default_aliases(),
            auth: AuthPolicy::None,
            auth_by_transport: BTreeMap::new(),
            max_auth_failures: 3,
            conflicts: ConflictPolicy::PhoneWins,
            max_msg_size: 64 * 1024,
            max_obj_size: 4 * 1024 * 1024,
            default_client_max_msg_size: 8 * 1024,
            unauthenticated_network: false,
            max_sessions: 64,
            max_sessions_per_device: 4,
            max_sessions_per_address: 16,
            // More than a household's phones ever are; a flood of first messages stays at this.
            empty_devices_kept: 100,
        }
    }
}

/// The names phones of 2002-2012 use for the four datastores.
pub fn default_aliases() -> Vec<(String, Datastore)> {
    let table: [(&[&str], Datastore); 4] = [
        (
            &[
                "contacts",
                "contact",
                "card",
                "addressbook",
                "address book",
                "telecom/pb",
                "telecom/pb.vcf",
                "pb",
                "phonebook",
                "vcard",
                "EriPBDB",
            ],
            Datastore::Contacts,
        ),
        (
            &[
                "calendar",
                "agenda",
                "cal",
                "events",
                "event",
                "vcalendar",
                "EriCalDB",
                "telecom/cal",
            ],
            Datastore::Calendar,
        ),
        (&["tasks", "task", "todo", "todos"], Datastore::Tasks),
        (
            &["notes", "note", "memo", "memos", "vnote", "telecom/nt"],
            Datastore::Notes,
        ),
    ];
    table
        .iter()
        .flat_map(|(names, datastore)| names.iter().map(|n| (n.to_string(), *datastore)))
        .collect()
}

/// A datastore name as compared: lower case, without a leading `./` or `/`, trimmed.
fn normalise(name: &str) -> String {
    let name = name.trim();
    let name = name.strip_prefix("./").unwrap_or(name);
    let name = name.strip_prefix('/').unwrap_or(name);
    name.to_ascii_lowercase()
}

impl ServerConfig {
    /// The datastore a phone's name stands for.
    pub fn datastore_for(&self, name: &str) -> Option<Datastore> {
        let wanted = normalise(name);
        self.aliases
            .iter()
            .find(|(alias, _)| normalise(alias) == wanted)
            .map(|(_, datastore)| *datastore)
    }

    /// The names we know, for the log line of a 404.
    pub fn known_names(&self) -> Vec<&str> {
        self.aliases.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The authentication policy on a transport.
    pub fn auth_for(&self, transport: &str) -> AuthPolicy {
        self.auth_by_transport
            .get(transport)
            .copied()
            .unwrap_or(self.auth)
    }

    /// The URI our DevInf gives a datastore.
    pub fn server_uri(datastore: Datastore) -> &'static str {
        match datastore {
            Datastore::Contacts => "Contacts",
            Datastore::Calendar => "Calendar",
            Datastore::Tasks => "Tasks",
            Datastore::Notes => "Notes",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_names_map_to_datastores() {
        let config = ServerConfig::default();
        for (name, datastore) in [
            ("Contacts", Datastore::Contacts),
            ("./contacts", Datastore::Contacts),
            ("card", Datastore::Contacts),
            ("telecom/pb", Datastore::Contacts),
            ("./EriPBDB", Datastore::Contacts),
            ("Agenda", Datastore::Calendar),
            ("./calendar", Datastore::Calendar),
            ("todo", Datastore::Tasks),
            ("Memo", Datastore::Notes),
        ] {
            assert_eq!(config.datastore_for(name), Some(datastore), "{name}");
        }
        assert_eq!(config.datastore_for("./mails"), None);
    }

    #[test]
    fn transports_may_override_the_auth_policy() {
        let mut config = ServerConfig {
            auth: AuthPolicy::Md5,
            ..ServerConfig::default()
        };
        config
            .auth_by_transport
            .insert("obex-usb".into(), AuthPolicy::None);
        assert_eq!(config.auth_for("http"), AuthPolicy::Md5);
        assert_eq!(config.auth_for("obex-usb"), AuthPolicy::None);
    }
}
