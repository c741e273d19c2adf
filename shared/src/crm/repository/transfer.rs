//! Leads imported from and exported to CSV (the file rules are in
//! [`crate::crm::csv`]). An import stores the rows that pass in batches and
//! answers for every row; an export pages through the list with its filters.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::leads::{self, Prepared};
use crate::crm::csv::{self, RowResult};
use crate::crm::lead::{Lead, LeadFields, LeadFilter};
use crate::kernel::error::{DomainError, DomainResult, FieldError};
use crate::kernel::paging::PageRequest;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// Leads stored per batch.
const BATCH: usize = 25;
/// Leads an export writes at most (filter to export fewer).
pub const MAX_EXPORT: usize = 100_000;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// Rows stored.
    pub created: usize,
    /// Rows refused.
    pub failed: usize,
    /// Read-only columns the file had and the import did not use.
    pub ignored_columns: Vec<String>,
    /// Every row, in file order.
    pub rows: Vec<RowResult>,
}

fn error(field: &str, rule: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        rule,
        message: message.into(),
    }
}

/// A row's problems from a domain error (a validation's fields, a conflict's field).
fn row_errors(e: DomainError) -> DomainResult<Vec<FieldError>> {
    match e {
        DomainError::Validation(errors) => Ok(errors),
        DomainError::Conflict { field, detail } => {
            Ok(vec![error(field.unwrap_or("body"), "conflict", detail)])
        }
        other => Err(other),
    }
}

/// The firm's active members by lower-case e-mail.
async fn members_by_email(
    db: &impl Sql,
    scope: &TenantScope,
) -> DomainResult<HashMap<String, String>> {
    #[derive(Deserialize)]
    struct Member {
        user_id: String,
        email: String,
    }
    let rows: Vec<Member> = query_as(
        db,
        stmt!(
            "SELECT m.user_id, u.email FROM firm_memberships m JOIN auth_users u ON u.id = m.user_id
              WHERE m.firm_id = ?1 AND m.is_active = 1",
            scope.firm_id()
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| (m.email.to_lowercase(), m.user_id))
        .collect())
}

/// Which of `emails` the firm's leads already have.
async fn known_emails(
    db: &impl Sql,
    scope: &TenantScope,
    emails: &[String],
) -> DomainResult<HashSet<String>> {
    #[derive(Deserialize)]
    struct Found {
        email: String,
    }
    let mut known = HashSet::new();
    for chunk in emails.chunks(80) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("?{}", i + 2)).collect();
        let mut params = vec![scope.firm_id().into()];
        params.extend(chunk.iter().map(|e| e.as_str().into()));
        let found: Vec<Found> = query_as(
            db,
            Statement::new(
                format!(
                    "SELECT email FROM crm_leads WHERE firm_id = ?1 AND email IN ({})",
                    marks.join(", ")
                ),
                params,
            ),
        )
        .await?;
        known.extend(found.into_iter().map(|f| f.email));
    }
    Ok(known)
}

/// Imports the CSV `file` as leads captured by `actor`: each row is checked like a
/// create (with its owner by `owner_email` among the active members, and an
/// e-mail no lead of the firm or earlier row has); rows that pass are stored,
/// scored and assigned, those that do not are answered with their problems. A
/// file that cannot be read at all is a 422 and stores nothing.
pub async fn import(
    db: &impl Sql,
    scope: &TenantScope,
    file: &[u8],
    actor: &str,
    now: Instant,
) -> DomainResult<Imported> {
    let sheet = csv::read(file)?;
    let prepared = Prepared::load(db, scope).await?;
    let members = if sheet.rows.iter().any(|r| r.owner_email.is_some()) {
        members_by_email(db, scope).await?
    } else {
        HashMap::new()
    };
    let mut parsed = Vec::with_capacity(sheet.rows.len());
    for row in &sheet.rows {
        let mut errors = row.errors.clone();
        let mut body = row.body.clone();
        if let Some(email) = &row.owner_email {
            match members.get(email) {
                Some(user) => {
                    if let Some(obj) = body.as_object_mut() {
                        obj.insert("owner_id".into(), user.as_str().into());
                    }
                }
                None => errors.push(error(
                    "owner_email",
                    "conflict",
                    format!("{email} is not an active member of the firm"),
                )),
            }
        }
        let fields = match LeadFields::parse(&body, true) {
            Ok(f) => Some(f),
            Err(e) => {
                errors.extend(row_errors(e)?);
                None
            }
        };
        parsed.push((row.line, fields, errors));
    }
    let emails: Vec<String> = parsed
        .iter()
        .filter_map(|(_, f, _)| f.as_ref()?.email.clone()?)
        .collect();
    let mut taken = known_emails(db, scope, &emails).await?;
    let mut results: Vec<RowResult> = Vec::with_capacity(parsed.len());
    let mut pending: Vec<(usize, Lead, Vec<Statement>)> = Vec::new();
    for (line, fields, mut errors) in parsed {
        if let Some(email) = fields.as_ref().and_then(|f| f.email.clone().flatten()) {
            if !taken.insert(email.clone()) {
                errors.push(error(
                    "email",
                    "duplicate",
                    format!("a lead with {email} exists already (here or on an earlier row)"),
                ));
            }
        }
        let planned = match fields {
            Some(fields) if errors.is_empty() => {
                match leads::plan_insert_with(db, scope, &prepared, &fields, actor, now).await {
                    Ok(plan) => Some(plan),
                    Err(e) => {
                        errors.extend(row_errors(e)?);
                        None
                    }
                }
            }
            _ => None,
        };
        match planned {
            Some((lead, statements)) => pending.push((line, lead, statements)),
            None => results.push(RowResult::failed(line, errors)),
        }
        if pending.len() == BATCH {
            store(db, std::mem::take(&mut pending), &mut results).await;
        }
    }
    store(db, pending, &mut results).await;
    results.sort_by_key(|r| r.line);
    let created = results.iter().filter(|r| r.status == "created").count();
    Ok(Imported {
        created,
        failed: results.len() - created,
        ignored_columns: sheet.ignored_columns,
        rows: results,
    })
}

/// Stores one batch of planned leads; if the batch fails, each of its rows is
/// answered as failed (none of them was stored).
async fn store(
    db: &impl Sql,
    pending: Vec<(usize, Lead, Vec<Statement>)>,
    results: &mut Vec<RowResult>,
) {
    if pending.is_empty() {
        return;
    }
    let statements: Vec<Statement> = pending
        .iter()
        .flat_map(|(_, _, s)| s.iter().cloned())
        .collect();
    match db.batch(statements).await {
        Ok(_) => results.extend(
            pending
                .iter()
                .map(|(line, lead, _)| RowResult::created(*line, &lead.id)),
        ),
        Err(e) => results.extend(pending.iter().map(|(line, _, _)| {
            RowResult::failed(
                *line,
                vec![error(
                    "row",
                    "store",
                    format!(
                        "the row could not be stored ({}); import it again",
                        e.detail()
                    ),
                )],
            )
        })),
    }
}

/// The firm's leads matching `filter`, newest first, as CSV with a column per
/// custom field any of them has. More than [`MAX_EXPORT`] is a 422 asking for a
/// narrower filter.
pub async fn export(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &LeadFilter,
) -> DomainResult<String> {
    let mut all: Vec<Lead> = Vec::new();
    let mut page = PageRequest {
        limit: 500,
        after: None,
    };
    loop {
        let got = leads::list(db, scope, filter, &page).await?;
        page.after = got.items.last().map(|l| l.id.clone());
        all.extend(got.items);
        if all.len() > MAX_EXPORT {
            return Err(DomainError::invalid(
                "filter",
                "too_many",
                format!(
                    "an export holds at most {MAX_EXPORT} leads; filter the list to export fewer"
                ),
            ));
        }
        if got.next_cursor.is_none() {
            break;
        }
    }
    let custom: BTreeSet<String> = all
        .iter()
        .flat_map(|l| l.custom_fields.keys().cloned())
        .collect();
    Ok(csv::write(&all, &custom.into_iter().collect::<Vec<_>>()))
}
