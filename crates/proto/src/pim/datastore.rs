//! The four kinds of PIM data a phone syncs, as the PC keeps them.

use std::fmt;
use std::str::FromStr;

/// The four kinds of PIM data a phone syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Datastore {
    Contacts,
    Calendar,
    Tasks,
    Notes,
}

impl Datastore {
    pub const ALL: [Datastore; 4] = [
        Datastore::Contacts,
        Datastore::Calendar,
        Datastore::Tasks,
        Datastore::Notes,
    ];

    /// The name stored in the database and shown by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Datastore::Contacts => "contacts",
            Datastore::Calendar => "calendar",
            Datastore::Tasks => "tasks",
            Datastore::Notes => "notes",
        }
    }
}

impl fmt::Display for Datastore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is none of the four datastores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDatastore(pub String);

impl fmt::Display for UnknownDatastore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown datastore {:?}", self.0)
    }
}

impl std::error::Error for UnknownDatastore {}

impl FromStr for Datastore {
    type Err = UnknownDatastore;
    fn from_str(s: &str) -> Result<Self, UnknownDatastore> {
        Datastore::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownDatastore(s.to_string()))
    }
}
