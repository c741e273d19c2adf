//! Assignment rules in D1, the rotation each keeps, and the reassignment of a
//! departing member's open leads and deals.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::timeline::Entry;
use crate::auth::roles::{self, Access, Area, Flag, Role};
use crate::crm::activity::{ActivityKind, Subject};
use crate::crm::assignment::{
    hand_over, AssignmentInput, AssignmentRule, Routable, Route, Router, MAX_RULES,
};
use crate::crm::deal::Deal;
use crate::crm::lead::Lead;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::{receipt, EventEnvelope};
use crate::kernel::id::new_id;
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

const COLUMNS: &str =
    "id, name, method, users, field, territories, currency, min_minor, max_minor, sources,
    priority, is_active, version, created_at, updated_at";

/// Records reassigned per batch.
const CHUNK: usize = 40;

/// Every rule of the firm, highest priority first.
pub async fn list(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<AssignmentRule>> {
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM crm_assignment_rules WHERE firm_id = ?1 ORDER BY priority DESC, id"
            ),
            vec![scope.firm_id().into()],
        ),
    )
    .await
}

/// One rule.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<AssignmentRule> {
    super::by_id(
        db,
        scope,
        "crm_assignment_rules",
        COLUMNS,
        id,
        "assignment rule",
    )
    .await
}

/// The firm's active members who may work CRM records, by id.
pub async fn eligible(db: &impl Sql, scope: &TenantScope) -> DomainResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Row {
        user_id: String,
        role: String,
        flags: String,
    }
    let rows: Vec<Row> = query_as(
        db,
        stmt!(
            "SELECT user_id, role, flags FROM firm_memberships WHERE firm_id = ?1 AND is_active = 1 ORDER BY user_id",
            scope.firm_id()
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            let flags: Vec<Flag> = serde_json::from_str(&r.flags).unwrap_or_default();
            Role::parse("role", &r.role)
                .is_ok_and(|role| roles::allows(role, &flags, Area::Crm, Access::Write))
        })
        .map(|r| r.user_id)
        .collect())
}

/// The firm's rules prepared for routing.
pub async fn router(db: &impl Sql, scope: &TenantScope) -> DomainResult<Router> {
    Ok(Router::new(
        list(db, scope).await?,
        eligible(db, scope).await?,
    ))
}

/// A 409 on the first member `input` names who may not take CRM work.
async fn check_members(
    db: &impl Sql,
    scope: &TenantScope,
    input: &AssignmentInput,
) -> DomainResult<()> {
    let eligible = eligible(db, scope).await?;
    if let Some(user) = input
        .members()
        .into_iter()
        .find(|u| !eligible.iter().any(|e| e == u))
    {
        let (field, place) = match input
            .territories
            .iter()
            .find(|(_, users)| users.iter().any(|u| u == user))
        {
            Some((key, _)) if !input.users.iter().any(|u| u == user) => {
                ("territories", format!(" (territory {key})"))
            }
            _ => ("users", String::new()),
        };
        return Err(DomainError::conflict(
            field,
            format!("{user}{place} is not an active member who may work CRM records"),
        ));
    }
    Ok(())
}

fn json(value: &impl serde::Serialize, empty: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| empty.to_owned())
}

/// Adds a rule (at most 100 per firm); every member it names must be able to take the work.
pub async fn create(
    db: &impl Sql,
    scope: &TenantScope,
    input: &AssignmentInput,
    now: Instant,
) -> DomainResult<AssignmentRule> {
    check_members(db, scope, input).await?;
    let id = new_id("asr", now.millis())?;
    super::insert_capped(
        db,
        stmt!(
            "INSERT INTO crm_assignment_rules (id, firm_id, name, method, users, field, territories, currency, min_minor,
                    max_minor, sources, priority, is_active, version, created_at, updated_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 1, ?14, ?14
              WHERE (SELECT COUNT(*) FROM crm_assignment_rules WHERE firm_id = ?2) < ?15",
            id.as_str(),
            scope.firm_id(),
            input.name.as_str(),
            input.method.name(),
            json(&input.users, "[]"),
            input.field.clone(),
            json(&input.territories, "{}"),
            input.currency.clone(),
            input.min_minor,
            input.max_minor,
            json(&input.sources, "[]"),
            input.priority,
            input.is_active,
            now.millis(),
            MAX_RULES
        ),
        "body",
        format!("a firm has at most {MAX_RULES} assignment rules"),
    )
    .await?;
    get(db, scope, &id).await
}

/// Replaces a rule at `expected` version (any when `None`). Its rotation carries on.
pub async fn replace(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    input: &AssignmentInput,
    expected: Option<i64>,
    now: Instant,
) -> DomainResult<AssignmentRule> {
    let current = get(db, scope, id).await?;
    super::expect_version("assignment rule", current.version, expected)?;
    check_members(db, scope, input).await?;
    let changed = db
        .execute(stmt!(
            "UPDATE crm_assignment_rules SET name = ?1, method = ?2, users = ?3, field = ?4, territories = ?5,
                    currency = ?6, min_minor = ?7, max_minor = ?8, sources = ?9, priority = ?10, is_active = ?11,
                    version = version + 1, updated_at = ?12
              WHERE firm_id = ?13 AND id = ?14 AND version = ?15",
            input.name.as_str(),
            input.method.name(),
            json(&input.users, "[]"),
            input.field.clone(),
            json(&input.territories, "{}"),
            input.currency.clone(),
            input.min_minor,
            input.max_minor,
            json(&input.sources, "[]"),
            input.priority,
            input.is_active,
            now.millis(),
            scope.firm_id(),
            id,
            current.version
        ))
        .await?;
    if changed == 0 {
        return Err(super::changed(
            "assignment rule",
            get(db, scope, id).await?.version,
        ));
    }
    get(db, scope, id).await
}

/// Deletes a rule and its rotation; whom it assigned keeps the work.
pub async fn delete(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<()> {
    get(db, scope, id).await?;
    db.batch(vec![
        stmt!(
            "DELETE FROM crm_assignment_rules WHERE firm_id = ?1 AND id = ?2",
            scope.firm_id(),
            id
        ),
        stmt!(
            "DELETE FROM crm_assignment_turns WHERE firm_id = ?1 AND rule_id = ?2",
            scope.firm_id(),
            id
        ),
    ])
    .await?;
    Ok(())
}

/// Takes `count` consecutive turns of `route`'s rotation in one statement (so
/// records arriving together never share a turn) and returns the first.
pub async fn take_turns(
    db: &impl Sql,
    scope: &TenantScope,
    route: &Route,
    count: i64,
    now: Instant,
) -> DomainResult<i64> {
    #[derive(Deserialize)]
    struct Turn {
        turn: i64,
    }
    let rows: Vec<Turn> = query_as(
        db,
        stmt!(
            "INSERT INTO crm_assignment_turns (firm_id, rule_id, key, turn, updated_at) VALUES (?1, ?2, ?3, ?4 - 1, ?5)
             ON CONFLICT (firm_id, rule_id, key) DO UPDATE SET turn = turn + ?4, updated_at = ?5
             RETURNING turn",
            scope.firm_id(),
            route.rule_id.as_str(),
            route.key.as_str(),
            count,
            now.millis()
        ),
    )
    .await?;
    let last = rows.first().map_or(count - 1, |t| t.turn);
    Ok(last - count + 1)
}

/// Who takes `record` now (a turn is used), or `None` when nobody may.
pub async fn choose(
    db: &impl Sql,
    scope: &TenantScope,
    router: &Router,
    record: &impl Routable,
    now: Instant,
) -> DomainResult<Option<String>> {
    let Some(route) = router.route(record, None) else {
        return Ok(None);
    };
    let turn = take_turns(db, scope, &route, 1, now).await?;
    Ok(Some(route.pick(turn).to_owned()))
}

/// For each of `records`, the member who takes it over from `departing` (turns
/// taken per rotation in one statement each), or `None` when nobody may.
async fn successors<R: Routable>(
    db: &impl Sql,
    scope: &TenantScope,
    router: &Router,
    records: &[R],
    departing: &str,
    now: Instant,
) -> DomainResult<Vec<Option<String>>> {
    let routes: Vec<Option<Route>> = records
        .iter()
        .map(|r| router.route(r, Some(departing)))
        .collect();
    let mut counts: BTreeMap<(String, String), (i64, Route)> = BTreeMap::new();
    for route in routes.iter().flatten() {
        counts
            .entry((route.rule_id.clone(), route.key.clone()))
            .or_insert((0, route.clone()))
            .0 += 1;
    }
    let mut next: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (key, (count, route)) in &counts {
        next.insert(
            key.clone(),
            take_turns(db, scope, route, *count, now).await?,
        );
    }
    Ok(routes
        .into_iter()
        .map(|route| {
            let route = route?;
            let turn = next.get_mut(&(route.rule_id.clone(), route.key.clone()))?;
            let picked = route.pick(*turn).to_owned();
            *turn += 1;
            Some(picked)
        })
        .collect())
}

fn reassigned_entry<'a>(
    subject: Subject,
    id: &'a str,
    from: &str,
    to: Option<&str>,
    now: Instant,
) -> Entry<'a> {
    let summary = if to.is_some() {
        "Reassigned: its owner left the firm"
    } else {
        "Unassigned: its owner left the firm and nobody may take it"
    };
    let mut entry = Entry::system(subject, id, ActivityKind::Changed, summary, None, now);
    entry.changes = serde_json::json!({"owner_id": {"from": from, "to": to}});
    entry
}

/// What a reassignment did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reassigned {
    /// Open leads handed over (or left unassigned).
    pub leads: usize,
    /// Open deals handed over.
    pub deals: usize,
    /// How many records each new owner took.
    #[serde(skip)]
    pub taken: BTreeMap<String, usize>,
}

impl Reassigned {
    fn took(&mut self, owner: Option<&str>) {
        if let Some(owner) = owner {
            *self.taken.entry(owner.to_owned()).or_default() += 1;
        }
    }
}

/// Hands the open leads and deals of `departing` to others through the firm's
/// rules, skipping them; a lead nobody may take is left unassigned, a deal nobody
/// may take stays. Safe to run again: only records still theirs move, and nothing
/// moves if they were made active again meanwhile.
pub async fn reassign(
    db: &impl Sql,
    scope: &TenantScope,
    departing: &str,
    now: Instant,
) -> DomainResult<Reassigned> {
    let still_gone = db
        .query(stmt!(
            "SELECT 1 AS gone FROM firm_memberships WHERE firm_id = ?1 AND user_id = ?2 AND is_active = 0",
            scope.firm_id(),
            departing
        ))
        .await?;
    if still_gone.is_empty() {
        return Ok(Reassigned::default());
    }
    let router = router(db, scope).await?;
    let mut done = Reassigned::default();
    loop {
        let leads: Vec<Lead> = query_as(
            db,
            Statement::new(
                format!(
                    "SELECT {} FROM crm_leads WHERE firm_id = ?1 AND owner_id = ?2
                        AND status IN ('new', 'contacted', 'qualified') ORDER BY id LIMIT {CHUNK}",
                    super::leads::COLUMNS
                ),
                vec![scope.firm_id().into(), departing.into()],
            ),
        )
        .await?;
        if leads.is_empty() {
            break;
        }
        let to = successors(db, scope, &router, &leads, departing, now).await?;
        let mut statements = Vec::new();
        for (lead, to) in leads.iter().zip(&to) {
            statements.push(stmt!(
                "UPDATE crm_leads SET owner_id = ?1, version = version + 1, updated_at = ?2
                  WHERE firm_id = ?3 AND id = ?4 AND owner_id = ?5",
                to.clone(),
                now.millis(),
                scope.firm_id(),
                lead.id.as_str(),
                departing
            ));
            let entry = reassigned_entry(Subject::Lead, &lead.id, departing, to.as_deref(), now);
            statements.push(entry.statement(scope, now)?.1);
            done.took(to.as_deref());
        }
        db.batch(statements).await?;
        done.leads += leads.len();
    }
    let mut after = String::new();
    loop {
        let deals: Vec<Deal> = query_as(
            db,
            Statement::new(
                format!(
                    "SELECT {} FROM crm_deals WHERE firm_id = ?1 AND owner_id = ?2 AND status = 'open' AND id > ?3
                      ORDER BY id LIMIT {CHUNK}",
                    super::deals::COLUMNS
                ),
                vec![scope.firm_id().into(), departing.into(), after.as_str().into()],
            ),
        )
        .await?;
        let Some(last) = deals.last() else {
            break;
        };
        after = last.id.clone();
        let to = successors(db, scope, &router, &deals, departing, now).await?;
        let mut statements = Vec::new();
        for (deal, to) in deals.iter().zip(&to) {
            let Some(to) = to else {
                continue;
            };
            let splits = hand_over(&deal.splits, departing, to);
            statements.push(stmt!(
                "UPDATE crm_deals SET owner_id = ?1, splits = ?2, version = version + 1, updated_at = ?3
                  WHERE firm_id = ?4 AND id = ?5 AND owner_id = ?6",
                to.as_str(),
                json(&splits, "[]"),
                now.millis(),
                scope.firm_id(),
                deal.id.as_str(),
                departing
            ));
            let entry = reassigned_entry(Subject::Deal, &deal.id, departing, Some(to), now);
            statements.push(entry.statement(scope, now)?.1);
            done.deals += 1;
            done.took(Some(to));
        }
        if !statements.is_empty() {
            db.batch(statements).await?;
        }
    }
    Ok(done)
}

/// Acts on `firm.member_deactivated`: reassigns, then returns what moved with
/// the statements to write (the receipt) and the notices to publish (each new
/// owner hears once how many of the departing member's records are theirs now).
/// `None` for another event.
pub async fn handle(
    db: &impl Sql,
    event: &EventEnvelope,
    now: Instant,
) -> DomainResult<Option<(Reassigned, Vec<Statement>, Vec<EventEnvelope>)>> {
    use crate::catalogue::DomainEvent as _;
    use crate::firm::members::MemberDeactivated;
    if event.kind != MemberDeactivated::TYPE {
        return Ok(None);
    }
    let scope = event.scope();
    let (done, departing) = match serde_json::from_value::<MemberDeactivated>(event.data.clone()) {
        Ok(gone) => (
            reassign(db, &scope, &gone.user_id, now).await?,
            gone.user_id,
        ),
        Err(_) => (Reassigned::default(), String::new()),
    };
    let mut notices = Vec::new();
    if !done.taken.is_empty() {
        #[derive(Deserialize)]
        struct Person {
            name: String,
        }
        let name = query_as::<Person>(
            db,
            stmt!(
                "SELECT name FROM auth_users WHERE id = ?1",
                departing.as_str()
            ),
        )
        .await?
        .into_iter()
        .next()
        .map_or_else(|| "a former member".to_owned(), |p| p.name);
        for (owner, count) in &done.taken {
            notices.push(crate::notify::request::request(
                &scope,
                "crm.work_reassigned",
                vec![crate::notify::Recipient::user(owner)],
                crate::notify::request::vars([
                    ("count", count.to_string().as_str()),
                    ("from_name", name.as_str()),
                    ("path", "/crm/leads"),
                ]),
                None,
                now,
            )?);
        }
    }
    let statements = vec![receipt(crate::crm::events::CONSUMER, event, now)];
    Ok(Some((done, statements, notices)))
}
