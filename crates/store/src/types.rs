//! The store's own value types (what only its history and listings speak: the direction of a
//! change, a version of an item) and the conversions between the engine's storage types and
//! SQLite columns. The engine's types live in `handsync_engine::storage`; the orphan rule
//! keeps `ToSql`/`FromSql` off them, so columns are converted where they are read.

use std::fmt;
use std::str::FromStr;

use crate::db::{Column, DbError, DbResult, FromColumn, Row, ToValue, Value};
use handsync_engine::storage::{
    Cause, Datastore, DeviceId, Guid, Reason, Revision, SessionId, Timestamp,
};

use super::error::StoreError;

/// Which way a change travelled in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    ToPhone,
    FromPhone,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToPhone => "to_phone",
            Direction::FromPhone => "from_phone",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        match s {
            "to_phone" => Ok(Direction::ToPhone),
            "from_phone" => Ok(Direction::FromPhone),
            other => Err(StoreError::InvalidInput(format!(
                "unknown Direction {other:?}"
            ))),
        }
    }
}

impl ToValue for Direction {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self.as_str())
    }
}

impl FromColumn for Direction {
    fn from_column(column: Column<'_>) -> Result<Self, String> {
        String::from_column(column)?
            .parse()
            .map_err(|e: StoreError| e.to_string())
    }
}

/// One version of an item in its history. Every applied change writes one, so the version
/// before any overwrite or delete is always here to restore from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVersion {
    pub guid: Guid,
    pub datastore: Datastore,
    /// The revision this version took from the change counter.
    pub revision: Revision,
    pub content_type: String,
    pub raw: Vec<u8>,
    pub canonical: String,
    pub identity_key: Option<String>,
    /// This version is a deletion (its content is the content that was deleted).
    pub deleted: bool,
    /// `false` for a conflict loser, kept for the record but never the item's content.
    pub applied: bool,
    pub at: Timestamp,
    pub cause: Cause,
    /// For a restore: the revision of the version it brought back.
    pub restored_from: Option<Revision>,
}

/// Reads a column holding the name of a value (a datastore, a reason, a session result...).
pub(crate) fn text_column<T>(row: &Row<'_>, index: usize) -> DbResult<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let text: String = row.get(index)?;
    text.parse().map_err(|e: T::Err| DbError::Column {
        index,
        detail: e.to_string(),
    })
}

/// Reads a nullable column holding the name of a value.
pub(crate) fn optional_text_column<T>(row: &Row<'_>, index: usize) -> DbResult<Option<T>>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    if row.is_null(index)? {
        return Ok(None);
    }
    text_column(row, index).map(Some)
}

/// An engine identifier (or time) held as an INTEGER column.
pub(crate) trait IntegerColumn: Copy {
    fn from_integer(value: i64) -> Self;
    fn integer(self) -> i64;
}

macro_rules! integer_column {
    ($($name:ident),+) => {$(
        impl IntegerColumn for $name {
            fn from_integer(value: i64) -> Self {
                $name(value)
            }
            fn integer(self) -> i64 {
                self.0
            }
        }
    )+};
}

integer_column!(DeviceId, Guid, Revision, SessionId, Timestamp);

/// Reads an INTEGER column as an engine identifier or time.
pub(crate) fn id_column<T: IntegerColumn>(row: &Row<'_>, index: usize) -> DbResult<T> {
    row.get(index).map(T::from_integer)
}

/// Reads a nullable INTEGER column as an engine identifier or time.
pub(crate) fn optional_id_column<T: IntegerColumn>(
    row: &Row<'_>,
    index: usize,
) -> DbResult<Option<T>> {
    Ok(row.get::<Option<i64>>(index)?.map(T::from_integer))
}

/// The INTEGER an optional identifier is stored as (NULL for `None`).
pub(crate) fn optional_id<T: IntegerColumn>(value: Option<T>) -> Option<i64> {
    value.map(IntegerColumn::integer)
}

/// Reads the cause columns of a version: reason, device, session, note.
pub(crate) fn cause_columns(row: &Row<'_>, first: usize) -> DbResult<Cause> {
    Ok(Cause {
        reason: text_column::<Reason>(row, first)?,
        device: optional_id_column(row, first + 1)?,
        session: optional_id_column(row, first + 2)?,
        note: row.get(first + 3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::params;
    use crate::Store;
    use handsync_engine::storage::SessionResult;

    #[test]
    fn datastore_names_round_trip_and_unknown_ones_are_refused() {
        for datastore in Datastore::ALL {
            assert_eq!(datastore.as_str().parse::<Datastore>().unwrap(), datastore);
            assert_eq!(datastore.to_string(), datastore.as_str());
        }
        assert_eq!(
            "Contacts".parse::<Datastore>().unwrap(),
            Datastore::Contacts
        );
        assert!("./EriPBDB".parse::<Datastore>().is_err());
    }

    #[test]
    fn text_columns_round_trip_through_sqlite_and_bad_text_is_an_error() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.begin().unwrap();
        for reason in [
            Reason::AddedByPhone,
            Reason::ConflictLoser,
            Reason::Restored,
        ] {
            let back: Reason = tx
                .query_row_cached("SELECT ?1", [reason.as_str()], |row| text_column(row, 0))
                .unwrap();
            assert_eq!(back, reason);
        }
        let bad = tx.query_row_cached("SELECT 'exploded'", crate::db::NO_PARAMS, |row| {
            text_column::<SessionResult>(row, 0)
        });
        let message = bad.unwrap_err().to_string();
        assert!(message.contains("exploded"), "{message}");
        let not_text = tx.query_row_cached("SELECT 7", crate::db::NO_PARAMS, |row| {
            text_column::<Datastore>(row, 0)
        });
        assert!(not_text.is_err());
        let unknown = tx.query_row_cached("SELECT 'diary'", crate::db::NO_PARAMS, |row| {
            text_column::<Datastore>(row, 0)
        });
        assert!(unknown.unwrap_err().to_string().contains("diary"));
        let direction: Direction = tx
            .query_row_cached("SELECT ?1", params![Direction::ToPhone], |row| row.get(0))
            .unwrap();
        assert_eq!(direction, Direction::ToPhone);
    }

    #[test]
    fn identifiers_round_trip_through_integer_columns() {
        let mut store = Store::open_in_memory().unwrap();
        let tx = store.begin().unwrap();
        let (guid, none): (Guid, Option<SessionId>) = tx
            .query_row_cached("SELECT ?1, NULL", [Guid(7).integer()], |row| {
                Ok((id_column(row, 0)?, optional_id_column(row, 1)?))
            })
            .unwrap();
        assert_eq!((guid, none), (Guid(7), None));
        assert_eq!(optional_id(Some(DeviceId(3))), Some(3));
    }
}
