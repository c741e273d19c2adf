//! The SQL of clients. Every statement filters by the caller's firm and, for a
//! portal user, by their own client: another client's record is simply not found.

use super::model::{Client, ClientFilter, ClientKind, ClientPatch, ClientStatus, NewClient};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;

const COLUMNS: &str = "id, name, kind, email, status, version, created_by, created_at, updated_at";

/// The client to create and the statement that stores it.
pub fn insert(
    scope: &TenantScope,
    input: NewClient,
    created_by: &str,
    now: Instant,
) -> DomainResult<(Client, Statement)> {
    let client = Client {
        id: new_id("cli", now.millis())?,
        name: input.name,
        kind: input.kind,
        email: input.email,
        status: ClientStatus::Active,
        version: 1,
        created_by: created_by.to_owned(),
        created_at: now.millis(),
        updated_at: now.millis(),
    };
    let statement = crate::stmt!(
        "INSERT INTO clients_clients (id, firm_id, name, kind, email, status, version, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'active', 1, ?6, ?7, ?7)",
        client.id.as_str(),
        scope.firm_id(),
        client.name.as_str(),
        client.kind.name(),
        client.email.clone(),
        created_by,
        now.millis()
    );
    Ok((client, statement))
}

/// One client of the scope (for a portal user, only their own).
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Client> {
    query_one(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM clients_clients
                  WHERE id = ?1 AND firm_id = ?2 AND (?3 IS NULL OR id = ?3)"
            ),
            vec![id.into(), scope.firm_id().into(), scope.client_id().into()],
        ),
    )
    .await?
    .ok_or(DomainError::NotFound("client"))
}

/// A page of the scope's clients in creation order, narrowed by `filter`.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &ClientFilter,
    page: &PageRequest,
) -> DomainResult<Page<Client>> {
    let rows: Vec<Client> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM clients_clients
                  WHERE firm_id = ?1 AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR status = ?3)
                    AND (?4 IS NULL OR id > ?4) AND (?6 IS NULL OR kind = ?6)
                    AND (?7 IS NULL OR instr(lower(name), ?7) > 0 OR instr(lower(email), ?7) > 0)
                  ORDER BY id LIMIT ?5"
            ),
            vec![
                scope.firm_id().into(),
                scope.client_id().into(),
                filter.status.map(|s| s.name()).into(),
                page.after.clone().into(),
                page.fetch_limit().into(),
                filter.kind.map(ClientKind::name).into(),
                filter.needle().into(),
            ],
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |c| c.id.clone()))
}

/// Applies `patch` if the client is still at `expected_version` (any when `None`).
/// Archiving closes the client's portal: its users' sessions end at once (their
/// access already ends with the status, since memberships need an active client).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    patch: &ClientPatch,
    expected_version: Option<i64>,
    now: Instant,
) -> DomainResult<Client> {
    let updated: Option<Client> = query_one(
        db,
        Statement::new(
            format!(
                "UPDATE clients_clients SET name = COALESCE(?1, name), kind = COALESCE(?2, kind), email = CASE WHEN ?9 THEN ?3 ELSE email END,
                        status = COALESCE(?4, status), updated_at = ?5, version = version + 1
                  WHERE id = ?6 AND firm_id = ?7 AND (?8 IS NULL OR version = ?8)
                    AND (?10 IS NULL OR id = ?10)
              RETURNING {COLUMNS}"
            ),
            vec![
                patch.name.clone().into(),
                patch.kind.map(ClientKind::name).into(),
                patch.email.clone().flatten().into(),
                patch.status.map(|s| s.name()).into(),
                now.millis().into(),
                id.into(),
                scope.firm_id().into(),
                expected_version.into(),
                patch.email.is_some().into(),
                scope.client_id().into(),
            ],
        ),
    )
    .await?;
    let Some(client) = updated else {
        // Not found (404), or found at another version (412).
        let current = get(db, scope, id).await?;
        return Err(DomainError::PreconditionFailed(format!(
            "the client has changed since you read it; its current etag is {}",
            current.etag()
        )));
    };
    if patch.status == Some(ClientStatus::Archived) {
        db.execute(super::portal::end_sessions_of_client(
            scope, &client.id, now,
        ))
        .await?;
    }
    Ok(client)
}
