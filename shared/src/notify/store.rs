//! Notifications in D1: turning a request into rows (in-app items, deliveries,
//! queued mail) in one batch, the inbox, preferences, held mail and digests.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::pipeline::{self, Decision, DigestFrequency, Settings};
use super::request::{sealed_field, Requested, REQUESTED};
use super::templates::{self, Category, Channel, Template, DIGEST};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::{self, EventEnvelope};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::time::{Instant, TimeZone};
use crate::kernel::vault::Keyring;
use crate::mail;
use crate::stmt;

/// Receipts of this consumer.
pub const CONSUMER: &str = "notifications";
/// Recipients one consumer run serves; a bigger request is split into requests of
/// this many (a run stays well inside D1's queries and the subrequests a worker
/// may make).
pub const CHUNK: usize = 50;
/// Held or digested e-mails one tick sends at most.
pub const TICK_BATCH: i64 = 200;

/// A resolved recipient.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Person {
    /// `usr_…`, for a person with an account.
    pub user_id: Option<String>,
    /// Where e-mail goes.
    pub address: String,
}

/// The people a request names who belong to `firm_id` (active members or active
/// portal users), and its bare addresses; anyone else is dropped, never told.
pub async fn people(
    db: &impl Sql,
    firm_id: &str,
    request: &Requested,
) -> DomainResult<Vec<Person>> {
    // A notice about one's own account outside any firm reaches the account
    // holder; everything else only the firm's own people. One query for all.
    let own_account = firm_id == crate::kernel::audit::PLATFORM_CHAIN
        && request.template == super::request::SECURITY_NOTICE;
    let ids: Vec<&str> = request
        .recipients
        .iter()
        .filter_map(|r| r.user_id.as_deref())
        .collect();
    let mut out: Vec<Person> = if ids.is_empty() {
        Vec::new()
    } else {
        query_as(
            db,
            stmt!(
                "SELECT u.id AS user_id, u.email AS address FROM auth_users u
                  WHERE u.id IN (SELECT value FROM json_each(?1)) AND (?3 OR
                    EXISTS (SELECT 1 FROM firm_memberships m WHERE m.firm_id = ?2 AND m.user_id = u.id AND m.is_active = 1)
                    OR EXISTS (SELECT 1 FROM clients_portal_users p WHERE p.firm_id = ?2 AND p.user_id = u.id AND p.is_active = 1))
                  ORDER BY u.id",
                serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
                firm_id,
                own_account
            ),
        )
        .await?
    };
    for r in request.recipients.iter().filter(|r| r.user_id.is_none()) {
        if let Some(address) = &r.email {
            let address = address.to_ascii_lowercase();
            if !out.iter().any(|p| p.address == address) {
                out.push(Person {
                    user_id: None,
                    address,
                });
            }
        }
    }
    Ok(out)
}

/// The settings of each of `people` who set any, by user id (one query).
async fn settings_of(
    db: &impl Sql,
    firm_id: &str,
    people: &[Person],
) -> DomainResult<std::collections::HashMap<String, Settings>> {
    #[derive(Deserialize)]
    struct Row {
        user_id: String,
        settings: String,
    }
    let ids: Vec<&str> = people.iter().filter_map(|p| p.user_id.as_deref()).collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<Row> = query_as(
        db,
        stmt!(
            "SELECT user_id, settings FROM notify_settings
              WHERE firm_id = ?1 AND user_id IN (SELECT value FROM json_each(?2))",
            firm_id,
            serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.user_id, serde_json::from_str(&r.settings).ok()?)))
        .collect())
}

/// Which of `people`'s addresses are suppressed (one query).
async fn suppressed_among(
    db: &impl Sql,
    people: &[Person],
) -> DomainResult<std::collections::HashSet<String>> {
    #[derive(Deserialize)]
    struct Row {
        address: String,
    }
    let addresses: Vec<&str> = people.iter().map(|p| p.address.as_str()).collect();
    let rows: Vec<Row> = query_as(
        db,
        stmt!(
            "SELECT address FROM notify_suppressions WHERE address IN (SELECT value FROM json_each(?1))",
            serde_json::to_string(&addresses).unwrap_or_else(|_| "[]".into())
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.address).collect())
}

/// A person's settings in a firm (defaults when they set none).
pub async fn settings(db: &impl Sql, firm_id: &str, user_id: &str) -> DomainResult<Settings> {
    #[derive(Deserialize)]
    struct Row {
        settings: String,
    }
    let rows: Vec<Row> = query_as(
        db,
        stmt!(
            "SELECT settings FROM notify_settings WHERE firm_id = ?1 AND user_id = ?2",
            firm_id,
            user_id
        ),
    )
    .await?;
    Ok(rows
        .first()
        .and_then(|r| serde_json::from_str(&r.settings).ok())
        .unwrap_or_default())
}

/// The variables of a request, its sealed ones opened with the firm's `keys`.
pub fn variables(
    event: &EventEnvelope,
    request: &Requested,
    keys: Option<&Keyring>,
) -> DomainResult<Map<String, Value>> {
    let mut vars = request.variables.clone();
    if let Some(sealed) = &request.sealed {
        let keys = keys.ok_or_else(|| {
            DomainError::Unavailable("sealed variables need the firm's keys".into())
        })?;
        let bound_to = request.sealed_for.as_deref().unwrap_or(&event.id);
        let text = keys.open_text(sealed_field(bound_to), sealed)?;
        let secret: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| DomainError::Unavailable(format!("sealed variables: {e}")))?;
        vars.extend(secret);
    }
    Ok(vars)
}

/// What consuming one request writes: the statements of one batch (receipt first)
/// and the mail it queued for immediate delivery.
#[derive(Debug, Default)]
pub struct Planned {
    /// One batch.
    pub statements: Vec<Statement>,
    /// Mail to send at once.
    pub mail_ids: Vec<String>,
}

/// One delivery row of a notification.
struct Delivery<'a> {
    notification_id: &'a str,
    firm_id: &'a str,
    person: &'a Person,
    channel: Channel,
    status: &'a str,
    email: Option<(&'a str, &'a str)>,
    due_at: Option<i64>,
    mail_id: Option<&'a str>,
}

impl Delivery<'_> {
    fn statement(&self, now: Instant) -> DomainResult<Statement> {
        Ok(stmt!(
            "INSERT INTO notify_deliveries (id, notification_id, firm_id, user_id, channel, status, address, subject, body,
                    due_at, mail_id, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
            new_id("ndl", now.millis())?,
            self.notification_id,
            self.firm_id,
            self.person.user_id.clone(),
            self.channel.name(),
            self.status,
            (self.channel == Channel::Email).then(|| self.person.address.clone()),
            self.email.map(|(s, _)| s.to_owned()),
            self.email.map(|(_, b)| b.to_owned()),
            self.due_at,
            self.mail_id.map(str::to_owned),
            now.millis()
        ))
    }
}

/// Plans one notification request: for each person, the in-app item and one
/// delivery per channel as the pipeline decides. A variable missing is an error
/// (nothing is sent with a placeholder in it).
pub async fn plan(
    db: &impl Sql,
    event: &EventEnvelope,
    request: &Requested,
    vars: &Map<String, Value>,
    now: Instant,
) -> DomainResult<Planned> {
    let template: &Template = templates::find(&request.template).ok_or_else(|| {
        DomainError::invalid(
            "template",
            "enum",
            format!("no template {}", request.template),
        )
    })?;
    let rendered = templates::render_all(template, vars)?;
    let mut planned = Planned {
        statements: vec![events::receipt(CONSUMER, event, now)],
        mail_ids: Vec::new(),
    };
    let people = people(db, &event.firm_id, request).await?;
    let chosen = settings_of(db, &event.firm_id, &people).await?;
    let suppressed = suppressed_among(db, &people).await?;
    for person in people {
        let prefs = person
            .user_id
            .as_ref()
            .and_then(|u| chosen.get(u))
            .cloned()
            .unwrap_or_default();
        let id = new_id("ntf", now.millis())?;
        let row = |channel, status, email, due_at, mail_id| {
            Delivery {
                notification_id: &id,
                firm_id: &event.firm_id,
                person: &person,
                channel,
                status,
                email,
                due_at,
                mail_id,
            }
            .statement(now)
        };
        let title = if person.user_id.is_some() {
            rendered.title.clone()
        } else {
            None
        };
        let shown = title.is_some()
            && pipeline::decide(template, Channel::InApp, &prefs, false, now) == Decision::Send;
        planned.statements.push(stmt!(
            "INSERT INTO notify_notifications (id, firm_id, recipient, user_id, template, category, critical, title, link,
                    event_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            id.as_str(),
            event.firm_id.as_str(),
            person.user_id.clone().unwrap_or_else(|| person.address.clone()),
            person.user_id.clone(),
            template.key,
            template.category.name(),
            template.critical,
            if shown { title.clone() } else { None },
            request.link.clone(),
            event.id.as_str(),
            now.millis()
        ));
        if title.is_some() {
            let status = if shown { "shown" } else { "declined" };
            planned
                .statements
                .push(row(Channel::InApp, status, None, None, None)?);
        }
        let Some((subject, body)) = &rendered.email else {
            continue;
        };
        let email = Some((subject.as_str(), body.as_str()));
        let blocked = suppressed.contains(&person.address);
        let statement = match pipeline::decide(template, Channel::Email, &prefs, blocked, now) {
            Decision::Send => {
                let (mail_id, queued) = mail::enqueue(&person.address, subject, body, now)?;
                planned.statements.push(queued);
                let statement = row(Channel::Email, "queued", None, None, Some(&mail_id))?;
                planned.mail_ids.push(mail_id);
                statement
            }
            Decision::Hold(until) => {
                row(Channel::Email, "held", email, Some(until.millis()), None)?
            }
            Decision::Digest => row(Channel::Email, "digest", email, None, None)?,
            Decision::Declined => row(Channel::Email, "declined", None, None, None)?,
            Decision::Suppressed => row(Channel::Email, "suppressed", None, None, None)?,
        };
        planned.statements.push(statement);
    }
    Ok(planned)
}

/// Splits a request for more than [`CHUNK`] recipients: the parent's receipt and
/// one child request per chunk, in one batch, and the children to publish. `None`
/// when the request is small enough to serve at once.
pub fn split(
    event: &EventEnvelope,
    request: &Requested,
    now: Instant,
) -> DomainResult<Option<(Vec<Statement>, Vec<EventEnvelope>)>> {
    if request.recipients.len() <= CHUNK {
        return Ok(None);
    }
    let scope = crate::kernel::tenant::TenantScope::new(&event.firm_id, None);
    let mut statements = vec![events::receipt(CONSUMER, event, now)];
    let mut children = Vec::new();
    for chunk in request.recipients.chunks(CHUNK) {
        let part = Requested {
            recipients: chunk.to_vec(),
            sealed_for: Some(
                request
                    .sealed_for
                    .clone()
                    .unwrap_or_else(|| event.id.clone()),
            ),
            ..request.clone()
        };
        let data = serde_json::to_value(&part)
            .map_err(|e| DomainError::Unavailable(format!("notification: {e}")))?;
        let child = EventEnvelope::new(&scope, REQUESTED, now, data)?;
        statements.push(events::record(&child, now)?);
        children.push(child);
    }
    Ok(Some((statements, children)))
}

/// Whether `event` is a notification request, and its data.
pub fn parse(event: &EventEnvelope) -> Option<Requested> {
    (event.kind == REQUESTED)
        .then(|| serde_json::from_value(event.data.clone()).ok())
        .flatten()
}

/// An in-app item as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// `ntf_…`.
    pub id: String,
    /// The template key.
    pub kind: String,
    /// Its category.
    pub category: String,
    /// Critical.
    #[serde(deserialize_with = "crate::kernel::sql::columns::bool_from_int")]
    pub critical: bool,
    /// The text.
    pub title: String,
    /// Where it leads.
    pub link: Option<String>,
    /// When (Unix ms).
    pub created_at: i64,
    /// When it was read.
    pub read_at: Option<i64>,
}

/// A page of a person's items, newest first (only unread ones with `unread`).
pub async fn inbox(
    db: &impl Sql,
    firm_id: &str,
    user_id: &str,
    unread: bool,
    page: &PageRequest,
) -> DomainResult<Page<Item>> {
    let rows: Vec<Item> = query_as(
        db,
        stmt!(
            "SELECT id, template AS kind, category, critical, title, link, created_at, read_at FROM notify_notifications
              WHERE firm_id = ?1 AND user_id = ?2 AND title IS NOT NULL AND (?3 = 0 OR read_at IS NULL)
                AND (?4 IS NULL OR id < ?4)
              ORDER BY id DESC LIMIT ?5",
            firm_id,
            user_id,
            unread,
            page.after.clone(),
            page.fetch_limit()
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |i| i.id.clone()))
}

/// How many unread items a person has.
pub async fn unread_count(db: &impl Sql, firm_id: &str, user_id: &str) -> DomainResult<i64> {
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    let rows: Vec<N> = query_as(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM notify_notifications
              WHERE firm_id = ?1 AND user_id = ?2 AND title IS NOT NULL AND read_at IS NULL",
            firm_id,
            user_id
        ),
    )
    .await?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// Marks one item read (again is fine); 404 unless it is the person's.
pub async fn mark_read(
    db: &impl Sql,
    firm_id: &str,
    user_id: &str,
    id: &str,
    now: Instant,
) -> DomainResult<()> {
    let changed = db
        .execute(stmt!(
            "UPDATE notify_notifications SET read_at = COALESCE(read_at, ?4)
              WHERE id = ?1 AND firm_id = ?2 AND user_id = ?3 AND title IS NOT NULL",
            id,
            firm_id,
            user_id,
            now.millis()
        ))
        .await?;
    if changed == 0 {
        return Err(DomainError::NotFound("notification"));
    }
    Ok(())
}

/// Marks every unread item read; returns how many.
pub async fn mark_all_read(
    db: &impl Sql,
    firm_id: &str,
    user_id: &str,
    now: Instant,
) -> DomainResult<u64> {
    db.execute(stmt!(
        "UPDATE notify_notifications SET read_at = ?3
          WHERE firm_id = ?1 AND user_id = ?2 AND title IS NOT NULL AND read_at IS NULL",
        firm_id,
        user_id,
        now.millis()
    ))
    .await
}

/// Reads a preferences body: `disabled` [{category, channel}], `quiet_hours`
/// {start, end} or null, `timezone`, `digest`, `digest_hour`. Fields left out keep
/// their current value.
pub fn parse_settings(body: &Value, current: &Settings) -> DomainResult<Settings> {
    let object = body
        .as_object()
        .ok_or_else(|| DomainError::invalid("body", "type", "the body must be a JSON object"))?;
    let mut next = current.clone();
    let mut errors = crate::kernel::validate::Validator::new();
    for key in object.keys() {
        if ![
            "disabled",
            "quiet_hours",
            "timezone",
            "digest",
            "digest_hour",
        ]
        .contains(&key.as_str())
        {
            errors.add(
                key.as_str(),
                "unknown",
                format!("{key} is not a preference"),
            );
        }
    }
    if let Some(list) = object.get("disabled") {
        match list.as_array() {
            Some(items) => {
                next.disabled.clear();
                for (i, item) in items.iter().enumerate() {
                    let extra = item.as_object().map_or(Vec::new(), |o| {
                        o.keys()
                            .filter(|k| !["category", "channel"].contains(&k.as_str()))
                            .cloned()
                            .collect()
                    });
                    for key in extra {
                        errors.add(
                            format!("disabled[{i}].{key}"),
                            "unknown",
                            format!("{key} is not part of a preference"),
                        );
                    }
                    let field = |name: &str| {
                        item.get(name)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let category = errors.take(Category::parse(
                        &format!("disabled[{i}].category"),
                        &field("category"),
                    ));
                    let channel = errors.take(Channel::parse(
                        &format!("disabled[{i}].channel"),
                        &field("channel"),
                    ));
                    if category == Some(Category::Security) {
                        errors.add(
                            format!("disabled[{i}].category"),
                            "critical",
                            "security notifications cannot be turned off",
                        );
                    }
                    if let (Some(c), Some(ch)) = (category, channel) {
                        if !next.disabled.contains(&(c, ch)) {
                            next.disabled.push((c, ch));
                        }
                    }
                }
            }
            None => errors.add(
                "disabled",
                "type",
                "disabled is a list of {category, channel}",
            ),
        }
    }
    match object.get("quiet_hours") {
        None => {}
        Some(Value::Null) => next.quiet_hours = None,
        Some(Value::Object(q)) => {
            for key in q.keys().filter(|k| !["start", "end"].contains(&k.as_str())) {
                errors.add(
                    format!("quiet_hours.{key}"),
                    "unknown",
                    format!("{key} is not part of quiet hours"),
                );
            }
            let read = |name: &str| {
                let raw = q.get(name).and_then(Value::as_str).unwrap_or_default();
                pipeline::parse_clock(&format!("quiet_hours.{name}"), raw).map(|_| raw.to_owned())
            };
            let (start, end) = (errors.take(read("start")), errors.take(read("end")));
            if let (Some(s), Some(e)) = (start, end) {
                // A window that ends when it starts is no window.
                next.quiet_hours = (s != e).then_some((s, e));
            }
        }
        Some(_) => errors.add(
            "quiet_hours",
            "type",
            "quiet_hours is {start, end} (HH:MM) or null",
        ),
    }
    if let Some(zone) = object.get("timezone") {
        if let Some(tz) = errors.take(TimeZone::parse(
            "timezone",
            zone.as_str().unwrap_or_default(),
        )) {
            next.timezone = tz.name().to_owned();
        }
    }
    if let Some(digest) = object.get("digest") {
        if let Some(d) = errors.take(DigestFrequency::parse(
            "digest",
            digest.as_str().unwrap_or_default(),
        )) {
            next.digest = d;
        }
    }
    if let Some(hour) = object.get("digest_hour") {
        match hour.as_u64().filter(|h| *h < 24) {
            Some(h) => next.digest_hour = h as u32,
            None => errors.add(
                "digest_hour",
                "range",
                "digest_hour is a local hour, 0 to 23",
            ),
        }
    }
    errors.finish()?;
    Ok(next)
}

/// Stores a person's settings.
pub fn save_settings(
    firm_id: &str,
    user_id: &str,
    settings: &Settings,
    now: Instant,
) -> DomainResult<Statement> {
    let text =
        serde_json::to_string(settings).map_err(|e| DomainError::Unavailable(e.to_string()))?;
    Ok(stmt!(
        "INSERT INTO notify_settings (firm_id, user_id, settings, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (firm_id, user_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        firm_id,
        user_id,
        text,
        now.millis()
    ))
}

#[derive(Deserialize)]
struct Waiting {
    id: String,
    address: String,
    subject: String,
    body: String,
}

/// Sends the e-mail whose quiet hours are over: each delivery is claimed and its
/// mail queued in one batch, so two ticks never send it twice. Returns the mail ids.
pub async fn release_held(db: &impl Sql, now: Instant) -> DomainResult<Vec<String>> {
    let due: Vec<Waiting> = query_as(
        db,
        stmt!(
            "SELECT id, address, subject, body FROM notify_deliveries
              WHERE status = 'held' AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
            now.millis(),
            TICK_BATCH
        ),
    )
    .await?;
    let mut mail_ids = Vec::new();
    for d in due {
        let (mail_id, queued) = mail::enqueue_if_changed(&d.address, &d.subject, &d.body, now)?;
        db.batch(vec![
            stmt!(
                "UPDATE notify_deliveries SET status = 'queued', mail_id = ?2, subject = NULL, body = NULL, updated_at = ?3
                  WHERE id = ?1 AND status = 'held'",
                d.id.as_str(),
                mail_id.as_str(),
                now.millis()
            ),
            queued,
        ])
        .await?;
        mail_ids.push(mail_id);
    }
    Ok(mail_ids)
}

/// Sends each digest that is due at `now`: one e-mail per person and firm listing
/// what waited. Returns the mail ids.
pub async fn flush_digests(db: &impl Sql, now: Instant) -> DomainResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Waiter {
        firm_id: String,
        user_id: String,
    }
    let waiting: Vec<Waiter> = query_as(
        db,
        stmt!(
            "SELECT DISTINCT firm_id, user_id FROM notify_deliveries WHERE status = 'digest' AND user_id IS NOT NULL LIMIT ?1",
            TICK_BATCH
        ),
    )
    .await?;
    let template = templates::find(DIGEST)
        .ok_or_else(|| DomainError::Unavailable("no digest template".into()))?;
    let mut mail_ids = Vec::new();
    for w in waiting {
        let prefs = settings(db, &w.firm_id, &w.user_id).await?;
        // Someone who turned the digest off since gets what waited at once.
        if prefs.digest != DigestFrequency::Off && !pipeline::digest_due(&prefs, now) {
            continue;
        }
        let items: Vec<Waiting> = query_as(
            db,
            stmt!(
                "SELECT id, address, subject, body FROM notify_deliveries
                  WHERE firm_id = ?1 AND user_id = ?2 AND status = 'digest' ORDER BY id LIMIT 100",
                w.firm_id.as_str(),
                w.user_id.as_str()
            ),
        )
        .await?;
        let Some(first) = items.first() else {
            continue;
        };
        let mut vars = Map::new();
        vars.insert("count".into(), Value::from(items.len()));
        vars.insert(
            "items".into(),
            Value::from(
                items
                    .iter()
                    .map(|i| format!("- {}", i.subject))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        );
        let rendered = templates::render_all(template, &vars)?;
        let Some((subject, body)) = rendered.email else {
            continue;
        };
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let (mail_id, queued) = mail::enqueue_if_changed(&first.address, &subject, &body, now)?;
        let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        db.batch(vec![
            stmt!(
                "UPDATE notify_deliveries SET status = 'digested', mail_id = ?2, subject = NULL, body = NULL, updated_at = ?3
                  WHERE status = 'digest' AND id IN (SELECT value FROM json_each(?1))",
                ids_json,
                mail_id.as_str(),
                now.millis()
            ),
            queued,
        ])
        .await?;
        mail_ids.push(mail_id);
    }
    Ok(mail_ids)
}

/// A person's settings as the API answers them, with the categories they may tune.
pub fn settings_answer(settings: &Settings) -> Value {
    serde_json::json!({
        "disabled": settings.disabled.iter()
            .map(|(c, ch)| serde_json::json!({"category": c.name(), "channel": ch.name()}))
            .collect::<Vec<_>>(),
        "quiet_hours": settings.quiet_hours.as_ref().map(|(s, e)| serde_json::json!({"start": s, "end": e})),
        "timezone": settings.timezone,
        "digest": settings.digest.name(),
        "digest_hour": settings.digest_hour,
        "categories": Category::ALL.iter()
            .map(|c| serde_json::json!({"category": c.name(), "critical": *c == Category::Security}))
            .collect::<Vec<_>>(),
    })
}
