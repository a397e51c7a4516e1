//! Errors of the phone data layer: every one names the line it was found on.

use std::fmt;

/// What was wrong with an item, and on which line (1-based, counted in the
/// physical lines of the input as received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The input held no `BEGIN:` line at all.
    NoObject,
    /// A content line without the `:` that separates name and value.
    MissingColon,
    /// A content line whose property name is empty.
    EmptyName,
    /// A property before the first `BEGIN:` or after the last `END:`.
    PropertyOutsideObject(String),
    /// `END:found` while `expected` was open.
    MismatchedEnd { expected: String, found: String },
    /// The input ended while this component was still open.
    UnterminatedComponent(String),
    /// A `CHARSET` parameter naming no charset we know.
    UnknownCharset(String),
    /// `ENCODING=BASE64` or `b` data that is not base64.
    InvalidBase64,
    /// BEGIN blocks nested deeper than any real item (hostile input).
    NestingTooDeep,
}

impl ParseError {
    pub fn new(line: usize, kind: ParseErrorKind) -> Self {
        ParseError { line, kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ParseErrorKind::NoObject => write!(f, "no BEGIN: line found"),
            ParseErrorKind::MissingColon => {
                write!(f, "content line has no ':' between name and value")
            }
            ParseErrorKind::EmptyName => write!(f, "content line has an empty property name"),
            ParseErrorKind::PropertyOutsideObject(name) => {
                write!(f, "property {name} outside of any BEGIN/END block")
            }
            ParseErrorKind::MismatchedEnd { expected, found } => {
                write!(f, "END:{found} while {expected} is open")
            }
            ParseErrorKind::UnterminatedComponent(name) => {
                write!(f, "input ends inside {name} (no END:{name})")
            }
            ParseErrorKind::UnknownCharset(name) => write!(f, "unknown CHARSET {name:?}"),
            ParseErrorKind::InvalidBase64 => write!(f, "invalid base64 data"),
            ParseErrorKind::NestingTooDeep => write!(f, "BEGIN blocks nested too deeply"),
        }
    }
}

impl std::error::Error for ParseError {}
