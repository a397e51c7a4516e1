//! Errors of the model's reader and writer.

use crate::markup::{MarkupError, Position};
use std::fmt;

/// A message could not be read into the model, or the model could not be written.
///
/// Says where (the element path such as `SyncML/SyncBody/Sync/Add/Item`, and the position in
/// the input when reading) and what was expected. A markup-level error of the underlying reader
/// or sink is kept in `markup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncMlError {
    /// Element names from the root to the element being read or written, joined by `/`.
    pub path: String,
    /// Where in the input, when reading (the writer has no input position).
    pub position: Option<Position>,
    pub message: String,
    /// The reader's or sink's own error, when the failure came from there.
    pub markup: Option<Box<MarkupError>>,
}

impl SyncMlError {
    pub fn new(path: String, position: Option<Position>, message: impl Into<String>) -> Self {
        SyncMlError {
            path,
            position,
            message: message.into(),
            markup: None,
        }
    }

    pub(crate) fn from_markup(path: String, error: MarkupError) -> Self {
        SyncMlError {
            path,
            position: Some(error.position),
            message: error.message.clone(),
            markup: Some(Box::new(error)),
        }
    }
}

impl fmt::Display for SyncMlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str("(document)")?;
        } else {
            f.write_str(&self.path)?;
        }
        if let Some(position) = &self.position {
            write!(f, " at {position}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SyncMlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.markup
            .as_ref()
            .map(|e| &**e as &(dyn std::error::Error + 'static))
    }
}
