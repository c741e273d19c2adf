//! Native adapter of the [`Sql`] port over an in-memory SQLite database built from
//! the real `schema/` migrations, for repository tests.

use std::cell::RefCell;

use rusqlite::types::ValueRef;

use super::error::{DomainError, DomainResult};
use super::sql::{unique_violation, Outcome, Row, Sql, Statement, Value};

/// An in-memory database with every migration of `schema/` applied.
pub struct MemoryDb {
    conn: RefCell<rusqlite::Connection>,
}

fn storage(e: rusqlite::Error) -> DomainError {
    let text = e.to_string();
    unique_violation(&text).unwrap_or(DomainError::Unavailable(text))
}

impl MemoryDb {
    /// Opens a fresh database and applies `schema/*.sql` in file-name order.
    pub fn migrated() -> DomainResult<Self> {
        let conn = rusqlite::Connection::open_in_memory().map_err(storage)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(storage)?;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| DomainError::Unavailable(format!("{}: {e}", dir.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        files.sort();
        for file in files {
            let sql = std::fs::read_to_string(&file)
                .map_err(|e| DomainError::Unavailable(e.to_string()))?;
            conn.execute_batch(&sql).map_err(storage)?;
        }
        Ok(Self {
            conn: RefCell::new(conn),
        })
    }

    fn run(conn: &rusqlite::Connection, stmt: &Statement) -> DomainResult<Outcome> {
        stmt.check_limits()?;
        let mut prepared = conn.prepare(&stmt.sql).map_err(storage)?;
        let params = rusqlite::params_from_iter(stmt.params.iter().map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Integer(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(f) => rusqlite::types::Value::Real(*f),
            Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        }));
        let names: Vec<String> = prepared
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let before = conn.total_changes();
        let mut rows = prepared.query(params).map_err(storage)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(storage)? {
            let mut obj = Row::new();
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i).map_err(storage)? {
                    ValueRef::Null => serde_json::Value::Null,
                    ValueRef::Integer(n) => n.into(),
                    ValueRef::Real(f) => {
                        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, Into::into)
                    }
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                    ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned().into(),
                };
                obj.insert(name.clone(), value);
            }
            out.push(obj);
        }
        drop(rows);
        let changes = conn.total_changes().saturating_sub(before);
        Ok(Outcome { rows: out, changes })
    }
}

impl Sql for MemoryDb {
    async fn query(&self, stmt: Statement) -> DomainResult<Vec<Row>> {
        Ok(Self::run(&self.conn.borrow(), &stmt)?.rows)
    }

    async fn execute(&self, stmt: Statement) -> DomainResult<u64> {
        Ok(Self::run(&self.conn.borrow(), &stmt)?.changes)
    }

    async fn batch(&self, stmts: Vec<Statement>) -> DomainResult<Vec<Outcome>> {
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(storage)?;
        let mut outcomes = Vec::with_capacity(stmts.len());
        for stmt in &stmts {
            outcomes.push(Self::run(&tx, stmt)?);
        }
        tx.commit().map_err(storage)?;
        Ok(outcomes)
    }
}
