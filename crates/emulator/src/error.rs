//! What can go wrong in an emulated phone: bad input from the server, API misuse, files.

use std::fmt;

use handsync_proto::syncml::StatusCode;

/// An error of the emulator. Input from the server never panics: it ends up here, saying what
/// was wrong with it.
#[derive(Debug)]
pub enum EmulatorError {
    /// The server's message is not a SyncML message we can read.
    Decode(String),
    /// The server's message breaks the protocol (no header, wrong session, unknown datastore...).
    Protocol(String),
    /// The server refused our credentials (or asked for some we do not have).
    Authentication { code: StatusCode, detail: String },
    /// The server answered our header with an error status; the session is over.
    SessionRefused(StatusCode),
    /// A call that does not fit the phone's state (a message while no session runs...).
    WrongState(&'static str),
    /// Our own message could not be encoded (a bug, or data the encoding cannot carry).
    Encode(String),
    /// A Server Alerted Notification that cannot be used.
    Notification(String),
    /// Reading or writing a data directory or transcript.
    Io { path: String, error: std::io::Error },
    /// A data file or transcript whose content is wrong.
    Format { path: String, message: String },
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmulatorError::Decode(message) => write!(f, "unreadable server message: {message}"),
            EmulatorError::Protocol(message) => write!(f, "protocol error: {message}"),
            EmulatorError::Authentication { code, detail } => {
                write!(f, "authentication failed ({code}): {detail}")
            }
            EmulatorError::SessionRefused(code) => {
                write!(f, "the server refused the session: {code}")
            }
            EmulatorError::WrongState(what) => write!(f, "not possible now: {what}"),
            EmulatorError::Encode(message) => write!(f, "cannot encode our message: {message}"),
            EmulatorError::Notification(message) => {
                write!(f, "unusable server alerted notification: {message}")
            }
            EmulatorError::Io { path, error } => write!(f, "{path}: {error}"),
            EmulatorError::Format { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for EmulatorError {}

impl EmulatorError {
    pub(crate) fn io(path: &std::path::Path, error: std::io::Error) -> EmulatorError {
        EmulatorError::Io {
            path: path.display().to_string(),
            error,
        }
    }
}
