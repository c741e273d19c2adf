//! The storage port: statements with bound parameters, run one at a time or as an
//! all-or-nothing batch (D1 has no interactive transactions, so a batch is the unit
//! of atomic work). The D1 adapter lives in the runtime crate; an in-memory SQLite
//! adapter (feature `sqlite`) runs the same statements in native tests.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::error::{DomainError, DomainResult};
use super::money::MAX_SAFE_MINOR;

/// A value bound to a statement parameter or read from a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer; must be within ±(2^53 − 1) to cross into D1 exactly.
    Integer(i64),
    /// A float (never money).
    Real(f64),
    /// Text.
    Text(String),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One SQL statement and its bound parameters (`?1`, `?2` … or `?`).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text; bound parameters only, never interpolated input.
    pub sql: Cow<'static, str>,
    /// The parameters in order.
    pub params: Vec<Value>,
}

impl Statement {
    /// A statement with parameters.
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Value>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }

    /// Checks the limits D1 enforces, so that a bad statement fails the same way natively.
    pub fn check_limits(&self) -> DomainResult<()> {
        if self.params.len() > 100 {
            return Err(DomainError::Unavailable(format!(
                "statement binds {} parameters; D1 allows 100",
                self.params.len()
            )));
        }
        if self.sql.len() > 100_000 {
            return Err(DomainError::Unavailable(
                "statement is longer than D1's 100 KB".into(),
            ));
        }
        for p in &self.params {
            if let Value::Integer(i) = p {
                if i.abs() > MAX_SAFE_MINOR {
                    return Err(DomainError::Unavailable(format!(
                        "integer {i} cannot cross into D1 exactly"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Builds a [`Statement`]: `stmt!("SELECT … WHERE id = ?1", id)`.
#[macro_export]
macro_rules! stmt {
    ($sql:expr $(, $param:expr)* $(,)?) => {
        $crate::kernel::sql::Statement::new($sql, vec![$($crate::kernel::sql::Value::from($param)),*])
    };
}

/// A statement that fails its batch (so that none of it is applied) when the
/// statement before it changed no row: put it after a version-checked `UPDATE`
/// whose batch must not half-happen. The failure is SQLite's own (malformed JSON);
/// the caller reads the record again to tell a lost race (412) from anything else.
pub fn require_change() -> Statement {
    Statement::new(
        "SELECT json_extract(CASE WHEN changes() = 0 THEN 'unchanged' ELSE '{}' END, '$') AS guard",
        Vec::new(),
    )
}

/// Column decoders for `#[serde(deserialize_with = "…")]` on row types: SQLite has
/// no boolean or JSON column types, so those arrive as integers and text.
pub mod columns {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A 0/1 integer column as a boolean.
    pub fn bool_from_int<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(Value::deserialize(d)?.as_i64().is_some_and(|n| n != 0))
    }

    /// A JSON text column as its value (`null` when it does not parse).
    pub fn json_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
            _ => Value::Null,
        })
    }

    /// A JSON text column as a typed value (its default when it does not parse, so
    /// one bad row never hides a list).
    pub fn json_typed<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned + Default>(
        d: D,
    ) -> Result<T, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(text) => serde_json::from_str(&text).unwrap_or_default(),
            _ => T::default(),
        })
    }

    /// A nullable JSON text column as its value.
    pub fn json_from_optional_text<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Value>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(text) => serde_json::from_str(&text).ok(),
            _ => None,
        })
    }
}

/// A row as a JSON object keyed by column name; typed by [`from_row`].
pub type Row = serde_json::Map<String, serde_json::Value>;

/// What one statement of a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Rows it returned (for `SELECT` or `RETURNING`).
    pub rows: Vec<Row>,
    /// Rows it inserted, updated or deleted.
    pub changes: u64,
}

/// The storage port every repository is written against.
#[allow(async_fn_in_trait)]
pub trait Sql {
    /// Runs one statement and returns its rows.
    async fn query(&self, stmt: Statement) -> DomainResult<Vec<Row>>;
    /// Runs one statement and returns how many rows it changed.
    async fn execute(&self, stmt: Statement) -> DomainResult<u64>;
    /// Runs every statement as one transaction: all applied, or none.
    async fn batch(&self, stmts: Vec<Statement>) -> DomainResult<Vec<Outcome>>;
}

/// Types a row.
pub fn from_row<T: DeserializeOwned>(row: Row) -> DomainResult<T> {
    serde_json::from_value(serde_json::Value::Object(row))
        .map_err(|e| DomainError::Unavailable(format!("row shape: {e}")))
}

/// Runs a query and types every row.
pub async fn query_as<T: DeserializeOwned>(db: &impl Sql, stmt: Statement) -> DomainResult<Vec<T>> {
    db.query(stmt).await?.into_iter().map(from_row).collect()
}

/// Runs a query and types its first row, if any.
pub async fn query_one<T: DeserializeOwned>(
    db: &impl Sql,
    stmt: Statement,
) -> DomainResult<Option<T>> {
    db.query(stmt)
        .await?
        .into_iter()
        .next()
        .map(from_row)
        .transpose()
}

/// The message both SQLite and D1 give for a unique index violation names
/// `table.column`; adapters turn it into a [`DomainError::Conflict`] with that text.
pub fn unique_violation(message: &str) -> Option<DomainError> {
    message
        .find("UNIQUE constraint failed: ")
        .map(|at| DomainError::Conflict {
            field: None,
            detail: message.get(at..).unwrap_or(message).trim().to_owned(),
        })
}

/// True when `err` is a unique violation on `table.column`.
pub fn violates_unique(err: &DomainError, column: &str) -> bool {
    matches!(err, DomainError::Conflict { field: None, detail } if detail.contains(column))
}
