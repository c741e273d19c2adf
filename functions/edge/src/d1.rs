//! The D1 adapter of the `Sql` port.

use shared::kernel::error::{DomainError, DomainResult};
use shared::kernel::sql::{unique_violation, Outcome, Row, Sql, Statement, Value};
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

/// The firm-wide D1 database behind the `DB` binding.
pub struct D1(D1Database);

impl D1 {
    /// Opens the `DB` binding.
    pub fn from_env(env: &Env) -> DomainResult<Self> {
        env.d1("DB")
            .map(Self)
            .map_err(|e| DomainError::Unavailable(format!("D1 binding DB: {e}")))
    }

    fn prepare(&self, stmt: &Statement) -> DomainResult<D1PreparedStatement> {
        stmt.check_limits()?;
        let params: Vec<JsValue> = stmt
            .params
            .iter()
            .map(|p| match p {
                Value::Null => JsValue::null(),
                Value::Integer(i) => JsValue::from_f64(*i as f64),
                Value::Real(f) => JsValue::from_f64(*f),
                Value::Text(s) => JsValue::from_str(s),
            })
            .collect();
        self.0
            .prepare(stmt.sql.as_ref())
            .bind(&params)
            .map_err(storage)
    }
}

fn storage(e: worker::Error) -> DomainError {
    let text = e.to_string();
    unique_violation(&text).unwrap_or(DomainError::Unavailable(format!("D1: {text}")))
}

fn outcome(result: &D1Result) -> DomainResult<Outcome> {
    if let Some(error) = result.error() {
        return Err(
            unique_violation(&error).unwrap_or(DomainError::Unavailable(format!("D1: {error}")))
        );
    }
    let rows: Vec<serde_json::Value> = result.results().map_err(storage)?;
    let rows = rows
        .into_iter()
        .filter_map(|v| match v {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        })
        .collect::<Vec<Row>>();
    let changes = result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .map_or(0, |c| c as u64);
    Ok(Outcome { rows, changes })
}

impl Sql for D1 {
    async fn query(&self, stmt: Statement) -> DomainResult<Vec<Row>> {
        let result = self.prepare(&stmt)?.all().await.map_err(storage)?;
        Ok(outcome(&result)?.rows)
    }

    async fn execute(&self, stmt: Statement) -> DomainResult<u64> {
        let result = self.prepare(&stmt)?.run().await.map_err(storage)?;
        Ok(outcome(&result)?.changes)
    }

    async fn batch(&self, stmts: Vec<Statement>) -> DomainResult<Vec<Outcome>> {
        let prepared = stmts
            .iter()
            .map(|s| self.prepare(s))
            .collect::<DomainResult<Vec<_>>>()?;
        let results = self.0.batch(prepared).await.map_err(storage)?;
        results.iter().map(outcome).collect()
    }
}
