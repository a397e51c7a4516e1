//! The LM-MUX's public vocabulary: LSAP selectors, connection and query names, disconnect
//! reasons, events, settings and errors.

use std::fmt;
use std::time::Duration;

use crate::irda::ias::{IasDatabase, IasDatabaseError, IasEntry, IasError, IasValue};

#[cfg(doc)]
use super::Lmp;
use super::LmpDecodeError;

/// An LSAP selector: 7 bits naming a service access point on a station.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Lsap(pub u8);

impl Lsap {
    /// The IAS server.
    pub const IAS: Lsap = Lsap(0x00);
    /// Connectionless data.
    pub const CONNECTIONLESS: Lsap = Lsap(0x70);
    pub const FIRST_USER: Lsap = Lsap(0x01);
    pub const LAST_USER: Lsap = Lsap(0x6F);

    /// Whether a user may listen on or connect to this LSAP (0x01..=0x6F).
    pub fn is_user(self) -> bool {
        (Lsap::FIRST_USER.0..=Lsap::LAST_USER.0).contains(&self.0)
    }

    /// The LSAP an "IrDA:TinyTP:LsapSel" (or "IrDA:IrLMP:LsapSel") answer names: the first
    /// integer that is a user LSAP.
    pub fn from_ias_answer(entries: &[IasEntry]) -> Option<Lsap> {
        entries.iter().find_map(|entry| match entry.value {
            IasValue::Integer(value) => u8::try_from(value)
                .ok()
                .map(Lsap)
                .filter(|lsap| lsap.is_user()),
            _ => None,
        })
    }
}

impl fmt::Display for Lsap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

/// One LSAP connection, as this machine names it (never reused).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ConnectionId(pub(super) u32);

/// One IAS query.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct QueryId(pub(super) u32);

/// Why an LSAP connection ended (IrLMP 1.1, 3.2.4).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DisconnectReason {
    UserRequest,
    UnexpectedLinkDisconnect,
    LinkConnectFailed,
    LinkReset,
    LinkManagement,
    DataOnDisconnectedLsap,
    /// A client that did not answer (our connect timed out, or our user stopped reading).
    NonResponsiveClient,
    /// Nobody listens on the LSAP (or no connection is free).
    NoAvailableClient,
    ConnectionHalfOpen,
    IllegalSourceAddress,
    Unspecified,
    Other(u8),
}

impl DisconnectReason {
    pub fn from_byte(byte: u8) -> DisconnectReason {
        match byte {
            0x01 => DisconnectReason::UserRequest,
            0x02 => DisconnectReason::UnexpectedLinkDisconnect,
            0x03 => DisconnectReason::LinkConnectFailed,
            0x04 => DisconnectReason::LinkReset,
            0x05 => DisconnectReason::LinkManagement,
            0x06 => DisconnectReason::DataOnDisconnectedLsap,
            0x07 => DisconnectReason::NonResponsiveClient,
            0x08 => DisconnectReason::NoAvailableClient,
            0x09 => DisconnectReason::ConnectionHalfOpen,
            0x0A => DisconnectReason::IllegalSourceAddress,
            0xFF => DisconnectReason::Unspecified,
            other => DisconnectReason::Other(other),
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            DisconnectReason::UserRequest => 0x01,
            DisconnectReason::UnexpectedLinkDisconnect => 0x02,
            DisconnectReason::LinkConnectFailed => 0x03,
            DisconnectReason::LinkReset => 0x04,
            DisconnectReason::LinkManagement => 0x05,
            DisconnectReason::DataOnDisconnectedLsap => 0x06,
            DisconnectReason::NonResponsiveClient => 0x07,
            DisconnectReason::NoAvailableClient => 0x08,
            DisconnectReason::ConnectionHalfOpen => 0x09,
            DisconnectReason::IllegalSourceAddress => 0x0A,
            DisconnectReason::Unspecified => 0xFF,
            DisconnectReason::Other(byte) => byte,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            DisconnectReason::UserRequest => "user request",
            DisconnectReason::UnexpectedLinkDisconnect => "IrLAP link lost",
            DisconnectReason::LinkConnectFailed => "IrLAP connection failed",
            DisconnectReason::LinkReset => "IrLAP reset",
            DisconnectReason::LinkManagement => "link management",
            DisconnectReason::DataOnDisconnectedLsap => "data on a disconnected LSAP",
            DisconnectReason::NonResponsiveClient => "non responsive LM-MUX client",
            DisconnectReason::NoAvailableClient => "no available LM-MUX client",
            DisconnectReason::ConnectionHalfOpen => "connection half open",
            DisconnectReason::IllegalSourceAddress => "illegal source address",
            DisconnectReason::Unspecified => "unspecified",
            DisconnectReason::Other(byte) => return write!(f, "reason 0x{byte:02x}"),
        };
        f.write_str(text)
    }
}

/// What the LM-MUX tells its user.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LmpEvent {
    /// A peer connects to an LSAP we listen on: answer with [`Lmp::accept`] or refuse with
    /// [`Lmp::disconnect`].
    ConnectIndication {
        conn: ConnectionId,
        local: Lsap,
        remote: Lsap,
        user_data: Vec<u8>,
    },
    /// Our [`Lmp::connect`] was accepted.
    Connected {
        conn: ConnectionId,
        user_data: Vec<u8>,
    },
    Data {
        conn: ConnectionId,
        data: Vec<u8>,
    },
    /// The connection ended by the peer, the link or a timeout (never after our own
    /// [`Lmp::disconnect`]).
    Disconnected {
        conn: ConnectionId,
        reason: DisconnectReason,
    },
    /// The answer to [`Lmp::ias_query`]: the value of every object of the class holding the
    /// attribute (a class can have several objects, e.g. two OBEX services).
    IasAnswer {
        query: QueryId,
        result: Result<Vec<IasEntry>, IasError>,
    },
}

/// The LM-MUX's settings and limits.
#[derive(Clone, Debug)]
pub struct LmpConfig {
    /// What our IAS server answers.
    pub ias: IasDatabase,
    /// LSAP connections at once, both directions, IAS ones included.
    pub max_connections: usize,
    /// Of those, connections of peers to our IAS server (a peer needs one; more would only
    /// take the room of real services).
    pub max_ias_server_connections: usize,
    /// PDUs waiting for IrLAP; [`Lmp::send`] is refused beyond it.
    pub max_queued_pdus: usize,
    /// Data events waiting for the user.
    pub max_queued_events: usize,
    /// IAS queries waiting or under way.
    pub max_ias_queries: usize,
    /// How long a connect waits for the peer's confirm.
    pub connect_timeout: Duration,
    /// How long an IAS query waits for its answer once sent.
    pub ias_timeout: Duration,
}

impl LmpConfig {
    pub fn new(ias: IasDatabase) -> LmpConfig {
        LmpConfig {
            ias,
            max_connections: 8,
            max_ias_server_connections: 2,
            max_queued_pdus: 64,
            max_queued_events: 64,
            max_ias_queries: 8,
            connect_timeout: Duration::from_secs(5),
            ias_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the LM-MUX refused a request of its user, or a PDU of the peer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LmpError {
    /// No IrLAP connection.
    LinkDown,
    /// Not a user LSAP (0x01..=0x6F).
    InvalidLsap(Lsap),
    LsapInUse(Lsap),
    NoFreeLsap,
    TooManyConnections,
    UnknownConnection,
    /// The connection is not in the state the request needs (e.g. data before it is open).
    WrongState,
    /// The link's queue is full: poll PDUs out first.
    QueueFull,
    /// User data longer than one PDU carries.
    TooLarge {
        len: usize,
        max: usize,
    },
    TooManyQueries,
    Ias(IasDatabaseError),
    /// A PDU from the peer that could not be decoded (it was dropped).
    Malformed(LmpDecodeError),
}

impl fmt::Display for LmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LmpError::LinkDown => write!(f, "no IrLAP link"),
            LmpError::InvalidLsap(lsap) => write!(f, "LSAP {lsap} is not a user LSAP"),
            LmpError::LsapInUse(lsap) => write!(f, "LSAP {lsap} is in use"),
            LmpError::NoFreeLsap => write!(f, "no free LSAP"),
            LmpError::TooManyConnections => write!(f, "too many LSAP connections"),
            LmpError::UnknownConnection => write!(f, "unknown LSAP connection"),
            LmpError::WrongState => write!(f, "LSAP connection not in a state for this"),
            LmpError::QueueFull => write!(f, "IrLMP send queue full"),
            LmpError::TooLarge { len, max } => {
                write!(f, "{len} bytes of user data exceed the {max} a PDU carries")
            }
            LmpError::TooManyQueries => write!(f, "too many IAS queries waiting"),
            LmpError::Ias(error) => write!(f, "{error}"),
            LmpError::Malformed(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for LmpError {}
