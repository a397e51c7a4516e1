//! The two databases the store runs on, behind one small interface: SQLite (the embedded
//! default, one file) and PostgreSQL (hosted: several processes on one database).
//!
//! The store's queries are written once, in the SQL both understand (`?N` placeholders,
//! `ON CONFLICT`, `RETURNING`, `COALESCE`, integers as 64-bit, booleans as 0/1 integers,
//! byte strings as BLOB/BYTEA). For PostgreSQL `?N` becomes `$N`; each statement is prepared
//! once per connection on either database. Values travel as [`Value`] and come back through
//! [`FromColumn`], so the store's row readers do not know which database answered.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A parameter or column value, as both databases can hold it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What a query can take as a parameter.
pub(crate) trait ToValue {
    fn to_value(&self) -> Value<'_>;
}

macro_rules! to_value_int {
    ($($t:ty),+) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value<'_> {
                Value::Int(i64::from(*self))
            }
        }
    )+};
}
to_value_int!(i64, i32, u32, u16, u8);

impl ToValue for bool {
    fn to_value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value<'_> {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value<'_> {
        match self {
            Some(value) => value.to_value(),
            None => Value::Null,
        }
    }
}

/// The parameters of one statement.
pub(crate) trait Params {
    fn values(&self) -> Vec<Value<'_>>;
}

impl Params for [&dyn ToValue] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<P: Params + ?Sized> Params for &P {
    fn values(&self) -> Vec<Value<'_>> {
        (**self).values()
    }
}

/// No parameters.
pub(crate) const NO_PARAMS: [&dyn ToValue; 0] = [];

/// A statement's parameters, in order: `params![a, b]`.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$(&$p as &dyn $crate::db::ToValue),*] as &[&dyn $crate::db::ToValue]
    };
}
pub(crate) use params;

/// What went wrong talking to the database.
#[derive(Debug)]
pub enum DbError {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
    /// A query that must return a row returned none.
    NoRows,
    /// A column held what its reader cannot take.
    Column {
        index: usize,
        detail: String,
    },
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Sqlite(e) => write!(f, "{e}"),
            DbError::Postgres(e) => match e.as_db_error() {
                // The server's own words say more than "db error".
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => write!(f, "{e}"),
            },
            DbError::NoRows => f.write_str("no row where one was expected"),
            DbError::Column { index, detail } => write!(f, "column {index}: {detail}"),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DbError::Sqlite(e) => Some(e),
            DbError::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => DbError::NoRows,
            other => DbError::Sqlite(other),
        }
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        DbError::Postgres(e)
    }
}

impl DbError {
    /// Another transaction holds what this one needs, or a serialization failure: worth
    /// trying the whole transaction again.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            DbError::Postgres(e) => e.code().is_some_and(|code| {
                // serialization_failure, deadlock_detected
                matches!(code.code(), "40001" | "40P01")
            }),
            _ => false,
        }
    }
}

pub(crate) type DbResult<T> = std::result::Result<T, DbError>;

/// `Ok(None)` for a query that found no row.
pub(crate) trait OptionalRow<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalRow<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A column as read, before conversion.
#[derive(Debug)]
pub(crate) enum Column<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What a column can be read as.
pub(crate) trait FromColumn: Sized {
    fn from_column(column: Column<'_>) -> Result<Self, String>;
}

impl FromColumn for i64 {
    fn from_column(column: Column<'_>) -> Result<Self, String> {
        match column {
            Column::Int(n) => Ok(n),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}
macro_rules! from_column_int {
    ($($t:ty),+) => {$(
        impl FromColumn for $t {
            fn from_column(column: Column<'_>) -> Result<Self, String> {
                let n = i64::from_column(column)?;
                <$t>::try_from(n).map_err(|_| format!("{n} is out of range"))
            }
        }
    )+};
}
from_column_int!(i32, u32, u16, u8);

impl FromColumn for bool {
    fn from_column(column: Column<'_>) -> Result<Self, String> {
        i64::from_column(column).map(|n| n != 0)
    }
}
impl FromColumn for String {
    fn from_column(column: Column<'_>) -> Result<Self, String> {
        match column {
            Column::Text(s) => Ok(s.to_string()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}
impl FromColumn for Vec<u8> {
    fn from_column(column: Column<'_>) -> Result<Self, String> {
        match column {
            Column::Blob(b) => Ok(b.to_vec()),
            // SQLite keeps whatever it was given: a BLOB column may hold text.
            Column::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}
impl<T: FromColumn> FromColumn for Option<T> {
    fn from_column(column: Column<'_>) -> Result<Self, String> {
        match column {
            Column::Null => Ok(None),
            other => T::from_column(other).map(Some),
        }
    }
}

/// One row of a result, from either database.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    pub fn get<T: FromColumn>(&self, index: usize) -> DbResult<T> {
        let convert = |column: Column<'_>| {
            T::from_column(column).map_err(|detail| DbError::Column { index, detail })
        };
        match self {
            Row::Sqlite(row) => {
                use rusqlite::types::ValueRef;
                let column = match row.get_ref(index)? {
                    ValueRef::Null => Column::Null,
                    ValueRef::Integer(n) => Column::Int(n),
                    ValueRef::Real(r) => {
                        return Err(DbError::Column {
                            index,
                            detail: format!("unexpected real number {r}"),
                        })
                    }
                    ValueRef::Text(t) => {
                        Column::Text(std::str::from_utf8(t).map_err(|e| DbError::Column {
                            index,
                            detail: format!("text is not UTF-8: {e}"),
                        })?)
                    }
                    ValueRef::Blob(b) => Column::Blob(b),
                };
                convert(column)
            }
            Row::Postgres(row) => pg::column(row, index, convert),
        }
    }

    /// Whether the column is NULL.
    pub fn is_null(&self, index: usize) -> DbResult<bool> {
        struct IsNull(bool);
        impl FromColumn for IsNull {
            fn from_column(column: Column<'_>) -> Result<Self, String> {
                Ok(IsNull(matches!(column, Column::Null)))
            }
        }
        self.get::<IsNull>(index).map(|n| n.0)
    }
}

/// An open connection.
pub(crate) enum Connection {
    Sqlite(rusqlite::Connection),
    /// Boxed: a PostgreSQL client is three times the size of an SQLite connection.
    Postgres(Box<pg::PgConnection>),
}

/// How a transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Writes: SQLite takes the write lock at once (no deadlock upgrading a read lock).
    Write,
    /// One consistent snapshot, nothing written.
    Read,
}

/// An open transaction on either database.
pub(crate) enum Transaction<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres(pg::PgTransaction<'c>),
}

impl Connection {
    pub fn begin(&mut self, how: Begin) -> DbResult<Transaction<'_>> {
        match self {
            Connection::Sqlite(conn) => {
                let behavior = match how {
                    Begin::Write => rusqlite::TransactionBehavior::Immediate,
                    Begin::Read => rusqlite::TransactionBehavior::Deferred,
                };
                Ok(Transaction::Sqlite(
                    conn.transaction_with_behavior(behavior)?,
                ))
            }
            Connection::Postgres(conn) => Ok(Transaction::Postgres(conn.begin(how)?)),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Connection::Postgres(_))
    }
}

impl Transaction<'_> {
    pub fn commit(self) -> DbResult<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.commit()?),
            Transaction::Postgres(tx) => tx.finish("COMMIT"),
        }
    }

    pub fn rollback(self) -> DbResult<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.rollback()?),
            Transaction::Postgres(tx) => tx.finish("ROLLBACK"),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Transaction::Postgres(_))
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> DbResult<usize> {
        let values = params.values();
        match self {
            Transaction::Sqlite(tx) => {
                let mut statement = tx.prepare_cached(sql)?;
                Ok(statement
                    .execute(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?)
            }
            Transaction::Postgres(tx) => tx.execute(sql, &values),
        }
    }

    /// Runs statements without parameters, one after the other.
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match self {
            Transaction::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Transaction::Postgres(tx) => tx.batch(sql),
        }
    }

    /// The first row's `map`, [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        let values = params.values();
        match self {
            Transaction::Sqlite(tx) => {
                let mut statement = tx.prepare_cached(sql)?;
                let mut rows =
                    statement.query(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?;
                match rows.next()? {
                    Some(row) => map(&Row::Sqlite(row)),
                    None => Err(DbError::NoRows),
                }
            }
            Transaction::Postgres(tx) => {
                let rows = tx.query(sql, &values)?;
                match rows.first() {
                    Some(row) => map(&Row::Postgres(row)),
                    None => Err(DbError::NoRows),
                }
            }
        }
    }

    /// Every row's `map`, in order.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut map: impl FnMut(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let values = params.values();
        match self {
            Transaction::Sqlite(tx) => {
                let mut statement = tx.prepare_cached(sql)?;
                let mut rows =
                    statement.query(rusqlite::params_from_iter(values.iter().map(sqlite_value)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(map(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Transaction::Postgres(tx) => {
                let rows = tx.query(sql, &values)?;
                rows.iter().map(|row| map(&Row::Postgres(row))).collect()
            }
        }
    }
}

fn sqlite_value<'a>(value: &'a Value<'a>) -> rusqlite::types::ToSqlOutput<'a> {
    use rusqlite::types::{ToSqlOutput, ValueRef};
    ToSqlOutput::Borrowed(match *value {
        Value::Null => ValueRef::Null,
        Value::Int(n) => ValueRef::Integer(n),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
    })
}

/// `?N` placeholders as PostgreSQL's `$N` (outside quoted text).
pub(crate) fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

pub(crate) mod pg {
    //! The PostgreSQL side: the `postgres` crate (blocking, over tokio-postgres), because the
    //! engine's storage trait is synchronous by design and each session's messages are
    //! handled on a thread of their own; an async driver would only be blocked on.

    use super::*;
    use postgres::types::{FromSql, IsNull, ToSql, Type};

    pub(crate) struct PgConnection {
        client: postgres::Client,
        /// Statements prepared on this connection, by their text.
        statements: HashMap<String, postgres::Statement>,
    }

    impl PgConnection {
        pub fn connect(url: &str) -> DbResult<PgConnection> {
            let client = postgres::Client::connect(url, postgres::NoTls)?;
            Ok(PgConnection {
                client,
                statements: HashMap::new(),
            })
        }

        pub fn begin(&mut self, how: Begin) -> DbResult<PgTransaction<'_>> {
            self.client.batch_execute(match how {
                Begin::Write => "BEGIN ISOLATION LEVEL READ COMMITTED",
                Begin::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            })?;
            Ok(PgTransaction {
                conn: RefCell::new(self),
                open: Cell::new(true),
            })
        }
    }

    pub(crate) struct PgTransaction<'c> {
        conn: RefCell<&'c mut PgConnection>,
        open: Cell<bool>,
    }

    impl PgTransaction<'_> {
        pub fn finish(self, how: &str) -> DbResult<()> {
            self.open.set(false);
            Ok(self.conn.borrow_mut().client.batch_execute(how)?)
        }

        pub fn batch(&self, sql: &str) -> DbResult<()> {
            Ok(self.conn.borrow_mut().client.batch_execute(sql)?)
        }

        fn statement(conn: &mut PgConnection, sql: &str) -> DbResult<postgres::Statement> {
            if let Some(statement) = conn.statements.get(sql) {
                return Ok(statement.clone());
            }
            let statement = conn.client.prepare(&postgres_placeholders(sql))?;
            conn.statements.insert(sql.to_string(), statement.clone());
            Ok(statement)
        }

        pub fn execute(&self, sql: &str, values: &[Value<'_>]) -> DbResult<usize> {
            let mut conn = self.conn.borrow_mut();
            let statement = Self::statement(&mut conn, sql)?;
            let params = pg_params(values);
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            Ok(conn.client.execute(&statement, &refs)? as usize)
        }

        pub fn query(&self, sql: &str, values: &[Value<'_>]) -> DbResult<Vec<postgres::Row>> {
            let mut conn = self.conn.borrow_mut();
            let statement = Self::statement(&mut conn, sql)?;
            let params = pg_params(values);
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
            Ok(conn.client.query(&statement, &refs)?)
        }
    }

    impl Drop for PgTransaction<'_> {
        fn drop(&mut self) {
            if self.open.get() {
                // Dropped without commit: undo. A broken connection rolls back by itself.
                let _ = self.conn.get_mut().client.batch_execute("ROLLBACK");
            }
        }
    }

    fn pg_params<'v>(values: &'v [Value<'v>]) -> Vec<PgValue<'v>> {
        values.iter().map(|v| PgValue(*v)).collect()
    }

    /// A value sent as whatever type the server inferred for its placeholder.
    #[derive(Debug)]
    struct PgValue<'a>(Value<'a>);

    impl ToSql for PgValue<'_> {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut postgres::types::private::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            match self.0 {
                Value::Null => Ok(IsNull::Yes),
                Value::Int(n) => match *ty {
                    Type::INT8 => n.to_sql(ty, out),
                    Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
                    Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
                    Type::BOOL => (n != 0).to_sql(ty, out),
                    Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                    _ => Err(format!("an integer cannot be sent as {ty}").into()),
                },
                Value::Text(s) => s.to_sql(ty, out),
                Value::Blob(b) => b.to_sql(ty, out),
            }
        }

        fn accepts(ty: &Type) -> bool {
            matches!(
                *ty,
                Type::INT8
                    | Type::INT4
                    | Type::INT2
                    | Type::BOOL
                    | Type::TEXT
                    | Type::VARCHAR
                    | Type::BPCHAR
                    | Type::NAME
                    | Type::UNKNOWN
                    | Type::BYTEA
            )
        }

        postgres::types::to_sql_checked!();
    }

    /// Reads column `index` of a PostgreSQL row as a [`Column`].
    pub(super) fn column<T>(
        row: &postgres::Row,
        index: usize,
        convert: impl FnOnce(Column<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        let ty = match row.columns().get(index) {
            Some(column) => column.type_().clone(),
            None => {
                return Err(DbError::Column {
                    index,
                    detail: "no such column".into(),
                })
            }
        };
        fn get<'r, V: FromSql<'r>>(row: &'r postgres::Row, index: usize) -> DbResult<Option<V>> {
            Ok(row.try_get::<_, Option<V>>(index)?)
        }
        fn null_or(value: Option<Column<'_>>) -> Column<'_> {
            value.unwrap_or(Column::Null)
        }
        match ty {
            Type::INT8 => convert(null_or(get::<i64>(row, index)?.map(Column::Int))),
            Type::INT4 => convert(null_or(
                get::<i32>(row, index)?.map(|n| Column::Int(n.into())),
            )),
            Type::INT2 => convert(null_or(
                get::<i16>(row, index)?.map(|n| Column::Int(n.into())),
            )),
            Type::BOOL => convert(null_or(
                get::<bool>(row, index)?.map(|b| Column::Int(b.into())),
            )),
            Type::BYTEA => convert(null_or(get::<&[u8]>(row, index)?.map(Column::Blob))),
            _ => convert(null_or(get::<&str>(row, index)?.map(Column::Text))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            postgres_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $12"
        );
    }
}
