//! The SQL of the CRM. Every statement filters by the caller's firm; CRM records
//! are the firm's own, never a client portal's.

pub mod accounts;
pub mod assignment;
pub mod automations;
pub mod campaigns;
pub mod contracts;
pub mod convert;
pub mod deals;
pub mod enrichment;
pub mod forecasts;
pub mod leads;
pub mod pipelines;
pub mod products;
pub mod proposals;
pub mod rules;
pub mod tasks;
pub mod timeline;
pub mod transfer;

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

/// A list query's `WHERE` built from the filters actually given, so SQLite can use
/// the index that fits (a clause written `(?n IS NULL OR col = ?n)` keeps it from
/// any index, and a cursor page would scan from the newest row every time).
pub(crate) struct Where {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Where {
    /// `firm_id = ?1`, and `id < cursor` when paging on.
    pub(crate) fn firm(scope: &TenantScope, after: Option<&str>) -> Self {
        let mut w = Self {
            clauses: vec!["firm_id = ?1".to_owned()],
            params: vec![scope.firm_id().into()],
        };
        if let Some(after) = after {
            w.add("id < ?", after);
        }
        w
    }

    /// Adds `clause`, whose every `?` is the next parameter `value` (the same value
    /// for each `?` of the clause).
    pub(crate) fn add(&mut self, clause: &str, value: impl Into<Value>) -> &mut Self {
        self.params.push(value.into());
        let n = self.params.len();
        self.clauses.push(clause.replace('?', &format!("?{n}")));
        self
    }

    /// Adds `clause` when `value` is given.
    pub(crate) fn maybe<T: Into<Value>>(&mut self, clause: &str, value: Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.add(clause, v);
        }
        self
    }

    /// `SELECT {columns} FROM {table} WHERE … ORDER BY id DESC LIMIT n`.
    pub(crate) fn newest_first(self, table: &str, columns: &str, limit: i64) -> Statement {
        let mut params = self.params;
        params.push(limit.into());
        Statement::new(
            format!(
                "SELECT {columns} FROM {table} WHERE {} ORDER BY id DESC LIMIT ?{}",
                self.clauses.join(" AND "),
                params.len()
            ),
            params,
        )
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::kernel::sqlite::MemoryDb;
    use futures_executor::block_on;

    /// The plan SQLite chooses for a filtered page deep in the list: an index range
    /// from the cursor, not a scan from the newest row.
    #[test]
    fn a_filtered_cursor_page_reads_through_its_index() {
        let db = MemoryDb::migrated().unwrap();
        let scope = TenantScope::for_tests("frm_x", None);
        let mut w = Where::firm(&scope, Some("led_01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        w.maybe("status = ?", Some("qualified"))
            .maybe("score >= ?", None::<i64>);
        let statement = w.newest_first("crm_leads", "id", 26);
        assert!(
            statement.sql.contains("status = ?3") && statement.sql.ends_with("LIMIT ?4"),
            "{}",
            statement.sql
        );
        let plan = block_on(db.query(Statement::new(
            format!("EXPLAIN QUERY PLAN {}", statement.sql),
            statement.params,
        )))
        .unwrap();
        let text = format!("{plan:?}");
        assert!(
            text.contains("crm_leads_status") && text.contains("id<?"),
            "{text}"
        );
    }
}

/// The calendar day it is in the firm's time zone (UTC when the zone is unknown).
pub async fn firm_today(
    db: &impl Sql,
    scope: &TenantScope,
    now: crate::kernel::time::Instant,
) -> DomainResult<chrono::NaiveDate> {
    let firm = crate::firm::repository::get(db, scope).await?;
    Ok(day_in(&firm.timezone, now))
}

/// The calendar day `now` is in time zone `zone` (UTC when unknown).
pub fn day_in(zone: &str, now: crate::kernel::time::Instant) -> chrono::NaiveDate {
    let zone = zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
    now.to_chrono().with_timezone(&zone).date_naive()
}

/// The whole number a one-row query answers as `n` (0 when it answers none or null).
pub(crate) async fn number(db: &impl Sql, query: Statement) -> DomainResult<i64> {
    let rows = db.query(query).await?;
    #[allow(clippy::cast_possible_truncation)] // D1 answers every number as a double
    Ok(rows
        .first()
        .and_then(|r| r.get("n"))
        .and_then(serde_json::Value::as_f64)
        .map_or(0, |n| n as i64))
}

/// A 409 once the firm has `cap` records in `table` (`what`, plural, names them).
pub(crate) async fn under_cap(
    db: &impl Sql,
    scope: &TenantScope,
    table: &str,
    cap: i64,
    what: &str,
) -> DomainResult<()> {
    let n = number(
        db,
        Statement::new(
            format!("SELECT COUNT(*) AS n FROM {table} WHERE firm_id = ?1"),
            vec![scope.firm_id().into()],
        ),
    )
    .await?;
    if n >= cap {
        return Err(DomainError::conflict(
            "body",
            format!("a firm has at most {cap} {what}"),
        ));
    }
    Ok(())
}

/// Runs an insert whose `WHERE` holds the firm's (or the parent's) count under its
/// cap; nothing inserted means the cap was reached: a 409 of `field` saying `limit`.
pub(crate) async fn insert_capped(
    db: &impl Sql,
    insert: Statement,
    field: &'static str,
    limit: impl Into<String>,
) -> DomainResult<()> {
    if db.execute(insert).await? == 0 {
        return Err(DomainError::conflict(field, limit));
    }
    Ok(())
}
