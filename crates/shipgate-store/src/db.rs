//! The two database backends behind one small, explicit interface (no ORM).
//!
//! Every statement is written once, in portable SQL with SQLite-style numbered placeholders
//! (`?1`, `?2`...); for PostgreSQL they are rewritten to `$1`, `$2` outside string literals
//! and quoted identifiers ([`pg_placeholders`]). Portable means: no `julianday`, `strftime`,
//! `datetime`, `unixepoch` or `json_extract`; times are fixed-format RFC 3339 text, so
//! comparisons and `substr(time, 1, 10)` work on both; aggregates that PostgreSQL widens to
//! `numeric` (`SUM`, `AVG`) are `CAST(... AS BIGINT)` / `CAST(... AS DOUBLE PRECISION)`.
//!
//! How to run a query from another module of the crate:
//!
//! ```text
//! use crate::db::params;
//! // Several rows: each is a `Row` with typed getters by column index.
//! let rows = self.db.query("SELECT id, target FROM scan_reports WHERE scanner = ?1",
//!                          params![scanner])?;
//! for r in &rows { let id = r.i64(0)?; let target = r.string(1)?; }
//! // At most one row: `query_opt`; exactly one: `query_one`.
//! let n = self.db.query_one("SELECT COUNT(*) FROM events", params![])?.i64(0)?;
//! ```
//!
//! Writes go through [`Db::write_tx`], which serializes writers across processes: SQLite with
//! `BEGIN IMMEDIATE`, PostgreSQL with a transaction-scoped advisory lock
//! ([`WRITE_LOCK_KEY`]), so the ledger chain stays linear with concurrent writers.

use std::collections::HashMap;
use std::error::Error as StdError;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::ValueRef;

use crate::error::StoreError;

/// Key of the PostgreSQL advisory lock that every write transaction (and the migrations)
/// takes: `pg_advisory_xact_lock(WRITE_LOCK_KEY)`. Any 64-bit value unlikely to clash with
/// other applications sharing the database; this is "shipgate" in ASCII.
pub(crate) const WRITE_LOCK_KEY: i64 = 0x7368_6970_6761_7465;

/// Which SQL dialect a connection speaks (for the few places that must differ, such as the
/// column types of the schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// One open connection.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Pg),
}

/// A PostgreSQL client with its prepared statements (prepared once per connection: the
/// sync client has no statement cache of its own) and the redacted URL for errors.
pub(crate) struct Pg {
    pub(crate) client: postgres::Client,
    pub(crate) statements: HashMap<String, postgres::Statement>,
    /// The URL with its password replaced by `***`.
    pub(crate) name: String,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Db::Sqlite(c) => f.debug_tuple("Sqlite").field(c).finish(),
            Db::Postgres(p) => f.debug_tuple("Postgres").field(&p.name).finish(),
        }
    }
}

/// A statement parameter. Build them with [`params!`]; anything that is `Into<Param>` works
/// (integers, `bool` as 0/1, `&str`, `&String`, and `Option`s of those: `None` is NULL).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<i32> for Param<'_> {
    fn from(v: i32) -> Self {
        Param::Int(i64::from(v))
    }
}
impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Int(i64::from(v))
    }
}
impl From<f64> for Param<'_> {
    fn from(v: f64) -> Self {
        Param::Real(v)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}
impl<'a, T: Into<Param<'a>>> From<Option<T>> for Param<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// `params![a, b, c]`: a `&[Param]` for [`Db::execute`], [`Db::query`] and friends.
macro_rules! params {
    ($($x:expr),* $(,)?) => {
        &[$($crate::db::Param::from($x)),*][..]
    };
}
pub(crate) use params;

/// One value of a result row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One result row: values by column index, read with the typed getters, which fail with
/// [`StoreError::Column`] (never panic) on a missing column or another type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    fn value(&self, i: usize) -> Result<&Value, StoreError> {
        self.0.get(i).ok_or_else(|| StoreError::Column {
            index: i,
            message: format!("the row has {} columns", self.0.len()),
        })
    }

    fn wrong(&self, i: usize, want: &str) -> StoreError {
        StoreError::Column {
            index: i,
            message: format!("expected {want}, found {:?}", self.0.get(i)),
        }
    }

    /// An integer (booleans are stored as 0/1).
    pub(crate) fn i64(&self, i: usize) -> Result<i64, StoreError> {
        match self.value(i)? {
            Value::Int(v) => Ok(*v),
            _ => Err(self.wrong(i, "an integer")),
        }
    }

    /// A non-negative integer (counts).
    pub(crate) fn u64(&self, i: usize) -> Result<u64, StoreError> {
        u64::try_from(self.i64(i)?).map_err(|_| self.wrong(i, "a non-negative integer"))
    }

    /// An integer or NULL.
    pub(crate) fn opt_i64(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            _ => self.i64(i).map(Some),
        }
    }

    /// A number (integers are widened) or NULL.
    #[allow(dead_code)] // reason: part of the getter set for the crate's other query modules
    pub(crate) fn opt_f64(&self, i: usize) -> Result<Option<f64>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Real(v) => Ok(Some(*v)),
            Value::Int(v) => Ok(Some(*v as f64)),
            Value::Text(_) => Err(self.wrong(i, "a number")),
        }
    }

    /// Text.
    pub(crate) fn str(&self, i: usize) -> Result<&str, StoreError> {
        match self.value(i)? {
            Value::Text(s) => Ok(s),
            _ => Err(self.wrong(i, "text")),
        }
    }

    /// Text, owned.
    pub(crate) fn string(&self, i: usize) -> Result<String, StoreError> {
        self.str(i).map(str::to_owned)
    }

    /// Text or NULL.
    pub(crate) fn opt_string(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            _ => self.string(i).map(Some),
        }
    }
}

impl Db {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Run one statement; returns the number of rows changed.
    pub(crate) fn execute(
        &mut self,
        what: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(sql_err(what))?;
                let n = stmt
                    .execute(rusqlite::params_from_iter(params.iter()))
                    .map_err(sql_err(what))?;
                Ok(n as u64)
            }
            Db::Postgres(pg) => {
                let stmt = pg.statement(what, sql)?;
                let args: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                pg.client
                    .execute(&stmt, &args)
                    .map_err(|e| pg_err(&pg.name, what, e))
            }
        }
    }

    /// Run a query and collect its rows.
    pub(crate) fn query(
        &mut self,
        what: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        self.for_each(what, sql, params, |r| {
            rows.push(r);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Run a query and hand each row to `f` as it arrives (for results too large to
    /// collect). `f` cannot use the connection: finish the loop first.
    pub(crate) fn for_each(
        &mut self,
        what: &str,
        sql: &str,
        params: &[Param<'_>],
        mut f: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(sql_err(what))?;
                let n = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(sql_err(what))?;
                while let Some(r) = rows.next().map_err(sql_err(what))? {
                    let mut values = Vec::with_capacity(n);
                    for i in 0..n {
                        values.push(match r.get_ref(i).map_err(sql_err(what))? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(v) => Value::Int(v),
                            ValueRef::Real(v) => Value::Real(v),
                            ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            ValueRef::Blob(_) => {
                                return Err(StoreError::Column {
                                    index: i,
                                    message: format!("{what}: a BLOB, not a value the store uses"),
                                });
                            }
                        });
                    }
                    f(Row(values))?;
                }
                Ok(())
            }
            Db::Postgres(pg) => {
                let stmt = pg.statement(what, sql)?;
                let name = pg.name.clone();
                let mut it = pg
                    .client
                    .query_raw(&stmt, params.iter())
                    .map_err(|e| pg_err(&name, what, e))?;
                use postgres::fallible_iterator::FallibleIterator as _;
                while let Some(r) = it.next().map_err(|e| pg_err(&name, what, e))? {
                    f(pg_row(&r, what)?)?;
                }
                Ok(())
            }
        }
    }

    /// At most one row (the first).
    pub(crate) fn query_opt(
        &mut self,
        what: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(what, sql, params)?.into_iter().next())
    }

    /// Exactly one row.
    pub(crate) fn query_one(
        &mut self,
        what: &str,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Row, StoreError> {
        self.query_opt(what, sql, params)?
            .ok_or_else(|| StoreError::Column {
                index: 0,
                message: format!("{what}: the query returned no row"),
            })
    }

    /// Run several `;`-separated statements without parameters (migrations, maintenance).
    pub(crate) fn batch(&mut self, what: &str, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(c) => c.execute_batch(sql).map_err(sql_err(what)),
            Db::Postgres(pg) => pg
                .client
                .batch_execute(sql)
                .map_err(|e| pg_err(&pg.name, what, e)),
        }
    }

    /// Run `f` in a write transaction that excludes every other writer of the database
    /// (other connections and processes wait), committed when `f` returns `Ok`, rolled back
    /// otherwise. A lost connection rolls back on the server: nothing half-written remains.
    pub(crate) fn write_tx<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE".to_owned(),
            // The lock is held until COMMIT/ROLLBACK; taken first, so that the ledger head
            // read inside the transaction is the newest.
            Backend::Postgres => format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"),
        };
        self.batch(&format!("starting a transaction ({what})"), &begin)?;
        match f(self) {
            Ok(v) => match self.batch(&format!("committing {what}"), "COMMIT") {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = self.batch("rolling back", "ROLLBACK");
                    Err(e)
                }
            },
            Err(e) => {
                // A failed rollback (the connection is gone) leaves nothing either: the server
                // discards an unfinished transaction when its connection ends.
                let _ = self.batch("rolling back", "ROLLBACK");
                Err(e)
            }
        }
    }
}

impl Pg {
    fn statement(&mut self, what: &str, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let translated = pg_placeholders(sql);
        let s = self
            .client
            .prepare(&translated)
            .map_err(|e| pg_err(&self.name, what, e))?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

fn sql_err(what: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sql {
        what: what.to_owned(),
        source,
    }
}

pub(crate) fn pg_err(name: &str, what: &str, source: postgres::Error) -> StoreError {
    StoreError::Postgres {
        database: name.to_owned(),
        what: what.to_owned(),
        source,
    }
}

fn pg_row(r: &postgres::Row, what: &str) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let ty = col.type_();
        let bad = |e: postgres::Error| StoreError::Column {
            index: i,
            message: format!("{what}: {e}"),
        };
        let v = if *ty == Type::INT8 {
            r.try_get::<_, Option<i64>>(i).map_err(bad)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            r.try_get::<_, Option<f64>>(i)
                .map_err(bad)?
                .map(Value::Real)
        } else if *ty == Type::FLOAT4 {
            r.try_get::<_, Option<f32>>(i)
                .map_err(bad)?
                .map(|v| Value::Real(v.into()))
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            r.try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Value::Text)
        } else {
            return Err(StoreError::Column {
                index: i,
                message: format!(
                    "{what}: column {:?} has PostgreSQL type {ty}; CAST it to BIGINT, DOUBLE PRECISION or TEXT",
                    col.name()
                ),
            });
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput;
        Ok(match self {
            Param::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Param::Int(v) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*v)),
            Param::Real(v) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*v)),
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// Binds like SQLite does: an integer parameter fits any integer (or boolean) column, text
/// any text column; a mismatch is an error, not a panic.
impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => {
                if *ty == Type::INT8 {
                    v.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*v)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*v != 0).to_sql(ty, out)
                } else if *ty == Type::FLOAT8 {
                    (*v as f64).to_sql(ty, out)
                } else {
                    Err(format!("an integer parameter where PostgreSQL expects {ty}").into())
                }
            }
            Param::Real(v) => {
                if *ty == Type::FLOAT8 {
                    v.to_sql(ty, out)
                } else {
                    Err(format!("a float parameter where PostgreSQL expects {ty}").into())
                }
            }
            Param::Text(s) => {
                if [
                    Type::TEXT,
                    Type::VARCHAR,
                    Type::BPCHAR,
                    Type::NAME,
                    Type::UNKNOWN,
                ]
                .contains(ty)
                {
                    s.to_sql(ty, out)
                } else {
                    Err(format!("a text parameter where PostgreSQL expects {ty}").into())
                }
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Rewrite `?N` placeholders to `$N`, leaving string literals (`'...'`, with `''` escapes),
/// quoted identifiers (`"..."`) and `--` comments untouched.
pub(crate) fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                // A doubled quote inside reads as close + open: the same loop handles it.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '?' if chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_literals() {
        assert_eq!(
            pg_placeholders(
                "SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"?3\" = ?12 -- ?4\n AND d = ?5"
            ),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"?3\" = $12 -- ?4\n AND d = $5"
        );
        assert_eq!(pg_placeholders("'it''s ?1' || ?2"), "'it''s ?1' || $2");
        // A bare `?` (not a numbered placeholder) is left alone.
        assert_eq!(pg_placeholders("a ? b"), "a ? b");
    }

    #[test]
    fn row_getters_check_types() {
        let r = Row(vec![Value::Int(3), Value::Text("x".into()), Value::Null]);
        assert_eq!(r.i64(0).ok(), Some(3));
        assert_eq!(r.opt_f64(0).ok(), Some(Some(3.0)));
        assert_eq!(r.str(1).ok(), Some("x"));
        assert_eq!(r.opt_string(2).ok(), Some(None));
        assert!(r.i64(1).is_err());
        assert!(r.str(0).is_err());
        assert!(r.i64(9).is_err());
        assert!(Row(vec![Value::Int(-1)]).u64(0).is_err());
    }
}
