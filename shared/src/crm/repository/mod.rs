//! The SQL of the CRM. Every statement filters by the caller's firm; CRM records
//! are the firm's own, never a client portal's.

pub mod accounts;
pub mod convert;
pub mod deals;
pub mod forecasts;
pub mod leads;
pub mod pipelines;
pub mod rules;
pub mod timeline;

use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::{query_as, Sql, Statement, Value};
use crate::kernel::tenant::TenantScope;

/// A record's stored fields by column, for [`insert_row`] and [`update_row`].
pub(crate) type Row = Vec<(&'static str, Value)>;

/// The record `id` of the firm from `table`, as `T` (its `columns`), or a 404 naming `what`.
pub(crate) async fn by_id<T: serde::de::DeserializeOwned>(
    db: &impl Sql,
    scope: &TenantScope,
    table: &str,
    columns: &str,
    id: &str,
    what: &'static str,
) -> DomainResult<T> {
    query_as::<T>(
        db,
        Statement::new(
            format!("SELECT {columns} FROM {table} WHERE firm_id = ?1 AND id = ?2"),
            vec![scope.firm_id().into(), id.into()],
        ),
    )
    .await?
    .into_iter()
    .next()
    .ok_or(DomainError::NotFound(what))
}

/// Inserts record `id` of the firm into `table` with `row`, at version 1.
pub(crate) fn insert_row(table: &str, scope: &TenantScope, id: &str, row: Row) -> Statement {
    let names: Vec<&str> = row.iter().map(|(n, _)| *n).collect();
    let marks: Vec<String> = (3..row.len() + 3).map(|i| format!("?{i}")).collect();
    let mut params: Vec<Value> = vec![id.into(), scope.firm_id().into()];
    params.extend(row.into_iter().map(|(_, v)| v));
    Statement::new(
        format!(
            "INSERT INTO {table} (id, firm_id, {}, version) VALUES (?1, ?2, {}, 1)",
            names.join(", "),
            marks.join(", ")
        ),
        params,
    )
}

/// Stores `row` over record `id` of the firm in `table` if it is still at
/// `version`, moving it to the next version.
pub(crate) fn update_row(
    table: &str,
    scope: &TenantScope,
    id: &str,
    version: i64,
    row: Row,
) -> Statement {
    let sets: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{n} = ?{}", i + 4))
        .collect();
    let mut params: Vec<Value> = vec![id.into(), scope.firm_id().into(), version.into()];
    params.extend(row.into_iter().map(|(_, v)| v));
    Statement::new(
        format!(
            "UPDATE {table} SET {}, version = version + 1 WHERE id = ?1 AND firm_id = ?2 AND version = ?3",
            sets.join(", ")
        ),
        params,
    )
}

/// The 412 of a record (`what`) that changed since it was read.
pub(crate) fn changed(what: &str, version: i64) -> DomainError {
    DomainError::PreconditionFailed(format!(
        "the {what} has changed since you read it; its current etag is {}",
        crate::kernel::etag::of(version)
    ))
}

/// A 412 unless the caller's `expected` version (any when `None`) is `current`.
pub(crate) fn expect_version(what: &str, current: i64, expected: Option<i64>) -> DomainResult<()> {
    match expected {
        Some(v) if v != current => Err(changed(what, current)),
        _ => Ok(()),
    }
}

/// Runs the batch of a change made to record `id` of `table` read at `version`.
/// When it fails and the record has moved on meanwhile, the race is a 412 (the
/// batch's version guard failed it, and nothing of it was applied); any other
/// failure is answered as it is.
pub(crate) async fn commit(
    db: &impl Sql,
    scope: &TenantScope,
    (table, what): (&str, &str),
    id: &str,
    version: i64,
    statements: Vec<Statement>,
) -> DomainResult<()> {
    let Err(e) = db.batch(statements).await else {
        return Ok(());
    };
    let rows = db
        .query(Statement::new(
            format!("SELECT version FROM {table} WHERE firm_id = ?1 AND id = ?2"),
            vec![scope.firm_id().into(), id.into()],
        ))
        .await?;
    match rows
        .first()
        .and_then(|r| r.get("version"))
        .and_then(serde_json::Value::as_i64)
    {
        Some(now) if now != version => Err(changed(what, now)),
        _ => Err(e),
    }
}
