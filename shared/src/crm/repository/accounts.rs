//! Accounts and contacts in D1.

use super::leads::{check_member, json_text};
use super::timeline::Entry;
use crate::crm::account::{Account, AccountFields, AccountFilter, Contact, Lifecycle, NewContact};
use crate::crm::activity::{diff, ActivityKind, Subject};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, require_change, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

const COLUMNS: &str = "id, name, domain, industry, company_size, country, lifecycle, owner_id, client_id, tags, version,
    created_by, created_at, updated_at";

/// One account.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Account> {
    super::by_id(db, scope, "crm_accounts", COLUMNS, id, "account").await
}

/// A page of accounts, newest first (`lifecycle` and `q`, text in the name or domain, narrow it).
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    filter: &AccountFilter,
    page: &PageRequest,
) -> DomainResult<Page<Account>> {
    let rows: Vec<Account> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM crm_accounts
                  WHERE firm_id = ?1 AND (?2 IS NULL OR id < ?2) AND (?4 IS NULL OR lifecycle = ?4)
                    AND (?5 IS NULL OR instr(lower(name), ?5) > 0 OR instr(domain, ?5) > 0)
                  ORDER BY id DESC LIMIT ?3"
            ),
            vec![
                scope.firm_id().into(),
                page.after.clone().into(),
                page.fetch_limit().into(),
                filter.lifecycle.map(Lifecycle::name).into(),
                filter.q.clone().into(),
            ],
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |a| a.id.clone()))
}

/// The account `fields` make and the statements that store it with its timeline.
pub async fn plan_insert(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &AccountFields,
    actor: &str,
    now: Instant,
) -> DomainResult<(Account, Vec<Statement>)> {
    if let Some(Some(owner)) = &fields.owner_id {
        check_member(db, scope, "owner_id", owner).await?;
    }
    let account = Account {
        id: new_id("acc", now.millis())?,
        name: fields.name.clone().unwrap_or_default(),
        domain: fields.domain.clone().flatten(),
        industry: fields.industry.clone().flatten(),
        company_size: fields.company_size.flatten(),
        country: fields.country.clone().flatten(),
        lifecycle: Lifecycle::Prospect,
        owner_id: fields.owner_id.clone().flatten(),
        client_id: None,
        tags: fields.tags.clone().unwrap_or_default(),
        version: 1,
        created_by: actor.to_owned(),
        created_at: now.millis(),
        updated_at: now.millis(),
    };
    let insert = stmt!(
        "INSERT INTO crm_accounts (id, firm_id, name, domain, industry, company_size, country, lifecycle, owner_id, tags,
                version, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'prospect', ?8, ?9, 1, ?10, ?11, ?11)",
        account.id.as_str(),
        scope.firm_id(),
        account.name.as_str(),
        account.domain.clone(),
        account.industry.clone(),
        account.company_size,
        account.country.clone(),
        account.owner_id.clone(),
        json_text(&account.tags),
        actor,
        now.millis()
    );
    let entry = Entry::system(
        Subject::Account,
        &account.id,
        ActivityKind::Created,
        "Account created",
        Some(actor),
        now,
    );
    Ok((
        account.clone(),
        vec![insert, entry.statement(scope, now)?.1],
    ))
}

/// Creates an account.
pub async fn insert(
    db: &impl Sql,
    scope: &TenantScope,
    fields: &AccountFields,
    actor: &str,
    now: Instant,
) -> DomainResult<Account> {
    let (account, statements) = plan_insert(db, scope, fields, actor, now).await?;
    db.batch(statements).await?;
    Ok(account)
}

/// Changes an account at `expected` version (any when `None`).
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    fields: &AccountFields,
    expected: Option<i64>,
    actor: &str,
    now: Instant,
) -> DomainResult<Account> {
    let before = get(db, scope, id).await?;
    super::expect_version("account", before.version, expected)?;
    if let Some(Some(owner)) = &fields.owner_id {
        check_member(db, scope, "owner_id", owner).await?;
    }
    let mut after = before.clone();
    if let Some(v) = &fields.name {
        after.name = v.clone();
    }
    if let Some(v) = &fields.domain {
        after.domain = v.clone();
    }
    if let Some(v) = &fields.industry {
        after.industry = v.clone();
    }
    if let Some(v) = fields.company_size {
        after.company_size = v;
    }
    if let Some(v) = &fields.country {
        after.country = v.clone();
    }
    if let Some(v) = fields.lifecycle {
        after.lifecycle = v;
    }
    if let Some(v) = &fields.owner_id {
        after.owner_id = v.clone();
    }
    if let Some(v) = &fields.tags {
        after.tags = v.clone();
    }
    let tracked = [
        "name",
        "domain",
        "industry",
        "company_size",
        "country",
        "lifecycle",
        "owner_id",
        "tags",
    ];
    let mut entry = Entry::system(
        Subject::Account,
        id,
        ActivityKind::Changed,
        "Account changed",
        Some(actor),
        now,
    );
    entry.changes = diff(
        &serde_json::to_value(&before).unwrap_or_default(),
        &serde_json::to_value(&after).unwrap_or_default(),
        &tracked,
    );
    let statements = vec![
        stmt!(
            "UPDATE crm_accounts SET name = ?1, domain = ?2, industry = ?3, company_size = ?4, country = ?5, lifecycle = ?6,
                    owner_id = ?7, tags = ?8, version = version + 1, updated_at = ?9
              WHERE firm_id = ?10 AND id = ?11 AND version = ?12",
            after.name.as_str(),
            after.domain.clone(),
            after.industry.clone(),
            after.company_size,
            after.country.clone(),
            after.lifecycle.name(),
            after.owner_id.clone(),
            json_text(&after.tags),
            now.millis(),
            scope.firm_id(),
            id,
            before.version
        ),
        require_change(),
        entry.statement(scope, now)?.1,
    ];
    super::commit(
        db,
        scope,
        ("crm_accounts", "account"),
        id,
        before.version,
        statements,
    )
    .await?;
    get(db, scope, id).await
}

/// The contact `input` makes and its statement (its account is the caller's to check).
pub fn plan_contact(
    scope: &TenantScope,
    input: &NewContact,
    now: Instant,
) -> DomainResult<(Contact, Statement)> {
    let contact = Contact {
        id: new_id("ctc", now.millis())?,
        account_id: input.account_id.clone(),
        name: input.name.clone(),
        email: input.email.clone(),
        phone: input.phone.clone(),
        title: input.title.clone(),
        created_at: now.millis(),
    };
    let statement = stmt!(
        "INSERT INTO crm_contacts (id, firm_id, account_id, name, email, phone, title, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        contact.id.as_str(),
        scope.firm_id(),
        contact.account_id.clone(),
        contact.name.as_str(),
        contact.email.clone(),
        contact.phone.clone(),
        contact.title.clone(),
        now.millis()
    );
    Ok((contact, statement))
}

/// Creates a contact.
pub async fn insert_contact(
    db: &impl Sql,
    scope: &TenantScope,
    input: &NewContact,
    now: Instant,
) -> DomainResult<Contact> {
    if let Some(account) = &input.account_id {
        get(db, scope, account).await.map_err(|_| {
            DomainError::conflict("account_id", "account_id names no account of the firm")
        })?;
    }
    let (contact, statement) = plan_contact(scope, input, now)?;
    db.execute(statement).await?;
    Ok(contact)
}

/// A page of contacts, newest first (of one account when `account_id` is given).
pub async fn contacts(
    db: &impl Sql,
    scope: &TenantScope,
    account_id: Option<&str>,
    page: &PageRequest,
) -> DomainResult<Page<Contact>> {
    let rows: Vec<Contact> = query_as(
        db,
        stmt!(
            "SELECT id, account_id, name, email, phone, title, created_at FROM crm_contacts
              WHERE firm_id = ?1 AND (?2 IS NULL OR id < ?2) AND (?4 IS NULL OR account_id = ?4)
              ORDER BY id DESC LIMIT ?3",
            scope.firm_id(),
            page.after.clone(),
            page.fetch_limit(),
            account_id
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |c| c.id.clone()))
}

/// One contact, if it is the firm's.
pub async fn contact(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
) -> DomainResult<Option<Contact>> {
    Ok(query_as::<Contact>(
        db,
        stmt!(
            "SELECT id, account_id, name, email, phone, title, created_at FROM crm_contacts WHERE firm_id = ?1 AND id = ?2",
            scope.firm_id(),
            id
        ),
    )
    .await?
    .into_iter()
    .next())
}
