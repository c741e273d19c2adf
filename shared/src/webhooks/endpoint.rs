//! A firm's webhook endpoints: what a request may set (and the 422 for each rule it
//! breaks), the row and what the API shows of it, and the state changes: pause,
//! resume, disable, delete, and secret rotation with an overlap during which the
//! previous secret keeps signing beside the new one.
//!
//! Secrets and custom header values are sealed at rest, bound to the endpoint's id;
//! the API never shows them, except a secret to a firm admin who asks for it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::destination::{self, Policy};
use super::signature::Secret;
use super::{DisabledReason, EndpointStatus};
use crate::auth::roles::Role;
use crate::catalogue;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::{parse_pattern, pattern_matches};
use crate::kernel::id::new_id;
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{columns, query_as, query_one, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::kernel::validate::{self, Input, Validator};
use crate::kernel::vault::{Field, Keyring};
use crate::stmt;

/// Longest endpoint name.
pub const MAX_NAME: usize = 255;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 1_000;
/// Most entries in an event-type filter.
pub const MAX_FILTER: usize = 100;
/// Most custom headers.
pub const MAX_HEADERS: usize = 10;
/// Longest custom header value.
pub const MAX_HEADER_VALUE: usize = 1_000;
/// Default and bounds of the request timeout, seconds.
pub const TIMEOUT_SECS: (i64, i64, i64) = (15, 1, 30);
/// Default and bounds of the attempts per message.
pub const MAX_ATTEMPTS: (i64, i64, i64) = (8, 1, 8);
/// Default overlap of a rotated secret, and the longest, hours.
pub const OVERLAP_HOURS: (i64, i64) = (24, 168);
/// Endpoints one firm may have.
pub const MAX_ENDPOINTS: i64 = 50;

/// Header names a firm may not set: the signature's, and those the transport owns.
pub const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "connection",
    "transfer-encoding",
];

/// What a create or update request sets; on update, `None` keeps the field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Display name.
    pub name: Option<String>,
    /// The checked URL.
    pub url: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Event-type filter (types, `group.*` or `*`).
    pub event_types: Option<Vec<String>>,
    /// Seconds before an attempt is abandoned.
    pub timeout_secs: Option<i64>,
    /// Attempts per message.
    pub max_attempts: Option<i64>,
    /// Requests per second at most; `Some(None)` removes the limit.
    pub rate_limit_per_sec: Option<Option<i64>>,
    /// Custom headers; `Some(vec![])` removes them.
    pub headers: Option<Vec<(String, String)>>,
    /// A linked client; `Some(None)` unlinks.
    pub client_id: Option<Option<String>>,
}

const FIELDS: &[&str] = &[
    "name",
    "url",
    "description",
    "event_types",
    "timeout_secs",
    "max_attempts",
    "rate_limit_per_sec",
    "headers",
    "client_id",
];

/// Parses a create request: `name`, `url` and `event_types` are required.
pub fn parse_new(body: &Value, policy: Policy) -> DomainResult<Settings> {
    parse(body, policy, true)
}

/// Parses an update request: any subset of the fields, at least one.
pub fn parse_patch(body: &Value, policy: Policy) -> DomainResult<Settings> {
    let settings = parse(body, policy, false)?;
    if settings == Settings::default() {
        return Err(DomainError::invalid(
            "body",
            "required",
            format!(
                "the request must change at least one of: {}",
                FIELDS.join(", ")
            ),
        ));
    }
    Ok(settings)
}

fn bounded(
    v: &mut Validator,
    field: &str,
    raw: Option<i64>,
    (_, min, max): (i64, i64, i64),
) -> Option<i64> {
    let n = raw?;
    if (min..=max).contains(&n) {
        Some(n)
    } else {
        v.add(
            field.to_owned(),
            "range",
            format!("{field} must be from {min} to {max}"),
        );
        None
    }
}

fn parse(body: &Value, policy: Policy, create: bool) -> DomainResult<Settings> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, FIELDS);
    let mut s = Settings {
        name: input
            .string(&mut v, "name", create)
            .and_then(|raw| v.take(validate::text("name", raw, 1, MAX_NAME))),
        url: input
            .string(&mut v, "url", create)
            .and_then(|raw| v.take(destination::parse("url", raw, policy)))
            .map(|d| d.url),
        description: input
            .string(&mut v, "description", false)
            .and_then(|raw| v.take(validate::text("description", raw, 0, MAX_DESCRIPTION))),
        event_types: input
            .array(&mut v, "event_types", create)
            .and_then(|list| v.take(parse_filter(list))),
        ..Settings::default()
    };
    let timeout = input.integer(&mut v, "timeout_secs", false);
    s.timeout_secs = bounded(&mut v, "timeout_secs", timeout, TIMEOUT_SECS);
    let attempts = input.integer(&mut v, "max_attempts", false);
    s.max_attempts = bounded(&mut v, "max_attempts", attempts, MAX_ATTEMPTS);
    if input.has("rate_limit_per_sec") {
        let limit = input
            .raw("rate_limit_per_sec")
            .and_then(|_| input.integer(&mut v, "rate_limit_per_sec", false));
        match limit {
            Some(n) if !(1..=1_000).contains(&n) => v.add(
                "rate_limit_per_sec".to_owned(),
                "range",
                "rate_limit_per_sec must be from 1 to 1000, or null for no limit".to_owned(),
            ),
            _ => s.rate_limit_per_sec = Some(limit),
        }
    }
    if input.has("headers") {
        s.headers = match input.raw("headers") {
            None => Some(Vec::new()),
            Some(raw) => v.take(parse_headers(raw)),
        };
    }
    if input.has("client_id") {
        match input.raw("client_id") {
            None => s.client_id = Some(None),
            Some(_) => {
                let raw = input.string(&mut v, "client_id", false).unwrap_or_default();
                s.client_id = v
                    .take(crate::kernel::id::parse("client_id", "cli", raw))
                    .map(Some);
            }
        }
    }
    v.finish()?;
    Ok(s)
}

/// Checks an event-type filter: each entry a catalogued type, a group with at
/// least one catalogued type, or `*`; duplicates dropped.
pub fn parse_filter(list: &[Value]) -> DomainResult<Vec<String>> {
    if list.len() > MAX_FILTER {
        return Err(DomainError::invalid(
            "event_types",
            "too_long",
            format!("event_types may hold at most {MAX_FILTER} entries"),
        ));
    }
    let mut v = Validator::new();
    let mut out: Vec<String> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let field = format!("event_types[{i}]");
        let Some(raw) = item.as_str() else {
            v.add(field.clone(), "type", format!("{field} must be a string"));
            continue;
        };
        let Some(pattern) = v.take(parse_pattern(&field, raw)) else {
            continue;
        };
        let known = pattern == "*"
            || catalogue::published_types()
                .iter()
                .any(|t| pattern_matches(&pattern, t));
        if !known {
            v.add(
                field.clone(),
                "unknown_type",
                format!("{field} names no event type of the catalogue (GET /v1/events/types)"),
            );
        } else if !out.contains(&pattern) {
            out.push(pattern);
        }
    }
    v.finish()?;
    Ok(out)
}

/// Checks custom headers: an object of at most 10 string values, names of token
/// characters, none reserved, values of at most 1,000 characters on one line.
pub fn parse_headers(raw: &Value) -> DomainResult<Vec<(String, String)>> {
    let Some(map) = raw.as_object() else {
        return Err(DomainError::invalid(
            "headers",
            "type",
            "headers must be an object of header names to values",
        ));
    };
    if map.len() > MAX_HEADERS {
        return Err(DomainError::invalid(
            "headers",
            "too_long",
            format!("headers may hold at most {MAX_HEADERS} entries"),
        ));
    }
    let mut v = Validator::new();
    let mut out = Vec::new();
    for (name, value) in map {
        let field = format!("headers.{name}");
        let lower = name.to_ascii_lowercase();
        let token = !name.is_empty()
            && name.len() <= 100
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            v.add(
                field,
                "format",
                format!("{name:?} is not a valid header name"),
            );
            continue;
        }
        if lower.starts_with("webhook-") || RESERVED_HEADERS.contains(&lower.as_str()) {
            v.add(
                field,
                "reserved",
                format!("{name} is set by Firmament and may not be overridden"),
            );
            continue;
        }
        match value.as_str() {
            Some(text)
                if text.chars().count() <= MAX_HEADER_VALUE
                    && !text.chars().any(char::is_control) =>
            {
                out.push((name.clone(), text.to_owned()));
            }
            Some(_) => v.add(
                field.clone(),
                "format",
                format!("{field} must be at most {MAX_HEADER_VALUE} characters on one line"),
            ),
            None => v.add(field.clone(), "type", format!("{field} must be a string")),
        }
    }
    v.finish()?;
    Ok(out)
}

/// An endpoint's row, sealed columns included (never answered as is).
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    /// `whe_…`.
    pub id: String,
    /// Owning firm.
    pub firm_id: String,
    /// Display name.
    pub name: String,
    /// Where deliveries go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// Whether it receives deliveries.
    pub status: EndpointStatus,
    /// Why it is disabled.
    pub disabled_reason: Option<DisabledReason>,
    /// Event-type filter.
    #[serde(deserialize_with = "columns::json_from_text")]
    pub filter: Value,
    /// Sealed current secret.
    pub secret: String,
    /// Sealed previous secret, while it still signs.
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs (Unix ms).
    pub previous_expires_at: Option<i64>,
    /// Seconds before an attempt is abandoned.
    pub timeout_secs: i64,
    /// Attempts per message.
    pub max_attempts: i64,
    /// Requests per second at most.
    pub rate_limit_per_sec: Option<i64>,
    /// Sealed JSON object of custom headers.
    pub headers: Option<String>,
    /// The custom headers' names.
    #[serde(deserialize_with = "columns::json_from_text")]
    pub header_names: Value,
    /// Linked client.
    pub client_id: Option<String>,
    /// First failure after the last success.
    pub failing_since: Option<i64>,
    /// Last 2xx.
    pub last_success_at: Option<i64>,
    /// Last failure.
    pub last_failure_at: Option<i64>,
    /// When it was disabled.
    pub disabled_at: Option<i64>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Optimistic-concurrency version.
    pub version: i64,
}

const ROW_COLUMNS: &str = "id, firm_id, name, url, description, status, disabled_reason, filter, secret, previous_secret, previous_expires_at,
    timeout_secs, max_attempts, rate_limit_per_sec, headers, header_names, client_id, failing_since, last_success_at,
    last_failure_at, disabled_at, created_by, created_at, updated_at, version";

/// An endpoint as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `whe_…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where deliveries go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// `active`, `paused` or `disabled`.
    pub status: EndpointStatus,
    /// `manual`, `failing` or `gone` when disabled.
    pub disabled_reason: Option<DisabledReason>,
    /// Event-type filter.
    pub event_types: Value,
    /// Seconds before an attempt is abandoned.
    pub timeout_secs: i64,
    /// Attempts per message.
    pub max_attempts: i64,
    /// Requests per second at most.
    pub rate_limit_per_sec: Option<i64>,
    /// Names of the custom headers (their values are never shown).
    pub header_names: Value,
    /// Linked client.
    pub client_id: Option<String>,
    /// Until when the previous secret still signs, after a rotation.
    pub previous_secret_expires_at: Option<i64>,
    /// First failure after the last success.
    pub failing_since: Option<i64>,
    /// Last 2xx.
    pub last_success_at: Option<i64>,
    /// Last failure.
    pub last_failure_at: Option<i64>,
    /// When it was disabled.
    pub disabled_at: Option<i64>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// `"<version>"`, for `If-Match`.
    pub etag: String,
}

impl Row {
    /// What the API shows at `now` (an expired previous secret is not mentioned).
    pub fn view(&self, now: Instant) -> Endpoint {
        Endpoint {
            id: self.id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            status: self.status,
            disabled_reason: self.disabled_reason,
            event_types: self.filter.clone(),
            timeout_secs: self.timeout_secs,
            max_attempts: self.max_attempts,
            rate_limit_per_sec: self.rate_limit_per_sec,
            header_names: self.header_names.clone(),
            client_id: self.client_id.clone(),
            previous_secret_expires_at: self.previous_expires_at.filter(|t| *t > now.millis()),
            failing_since: self.failing_since,
            last_success_at: self.last_success_at,
            last_failure_at: self.last_failure_at,
            disabled_at: self.disabled_at,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
            etag: crate::kernel::etag::of(self.version),
        }
    }

    /// Whether the filter covers `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        self.filter
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|p| pattern_matches(p, kind))
    }

    /// The secrets that sign at `now`: the current one, and the previous one
    /// inside its overlap.
    pub fn live_secrets(&self, keys: &Keyring, now: Instant) -> DomainResult<Vec<Secret>> {
        let mut live = vec![open_secret(keys, field("secret", &self.id), &self.secret)?];
        if let (Some(sealed), Some(until)) = (&self.previous_secret, self.previous_expires_at) {
            if until > now.millis() {
                live.push(open_secret(
                    keys,
                    field("previous_secret", &self.id),
                    sealed,
                )?);
            }
        }
        Ok(live)
    }

    /// The current secret.
    pub fn current_secret(&self, keys: &Keyring) -> DomainResult<Secret> {
        open_secret(keys, field("secret", &self.id), &self.secret)
    }

    /// The custom headers, opened.
    pub fn custom_headers(&self, keys: &Keyring) -> DomainResult<Vec<(String, String)>> {
        let Some(sealed) = &self.headers else {
            return Ok(Vec::new());
        };
        let bytes = keys.open(field("headers", &self.id), sealed)?;
        let map: serde_json::Map<String, Value> = serde_json::from_slice(&bytes)
            .map_err(|e| DomainError::Unavailable(format!("sealed headers: {e}")))?;
        Ok(map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect())
    }
}

/// Where an endpoint's sealed `column` lives (under the firm's data keys).
fn field<'a>(column: &'a str, endpoint_id: &'a str) -> Field<'a> {
    Field::new("webhooks_endpoints", column, endpoint_id)
}

fn open_secret(keys: &Keyring, at: Field<'_>, sealed: &str) -> DomainResult<Secret> {
    let text = keys.open(at, sealed)?;
    Secret::parse("secret", &String::from_utf8_lossy(&text))
        .map_err(|_| DomainError::Unavailable("a sealed secret does not parse".into()))
}

fn seal_headers(
    keys: &Keyring,
    endpoint_id: &str,
    headers: &[(String, String)],
) -> DomainResult<(Option<String>, String)> {
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let names = serde_json::to_string(&names).unwrap_or_else(|_| "[]".into());
    if headers.is_empty() {
        return Ok((None, names));
    }
    let map: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let text = Value::Object(map).to_string();
    Ok((
        Some(keys.seal(field("headers", endpoint_id), text.as_bytes())?),
        names,
    ))
}

fn filter_text(types: &[String]) -> String {
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

/// A new endpoint: its id, its first secret (to show once) and the statement that
/// stores it. `settings` is from [`parse_new`].
pub fn insert(
    scope: &TenantScope,
    settings: &Settings,
    keys: &Keyring,
    created_by: &str,
    now: Instant,
) -> DomainResult<(String, Secret, Statement)> {
    let id = new_id("whe", now.millis())?;
    let secret = Secret::generate()?;
    let sealed = keys.seal(field("secret", &id), secret.expose().as_bytes())?;
    let (headers, header_names) =
        seal_headers(keys, &id, settings.headers.as_deref().unwrap_or_default())?;
    let statement = stmt!(
        "INSERT INTO webhooks_endpoints (id, firm_id, name, url, description, status, filter, secret, timeout_secs,
                max_attempts, rate_limit_per_sec, headers, header_names, client_id, created_by, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15
          WHERE (SELECT COUNT(*) FROM webhooks_endpoints WHERE firm_id = ?2) < ?16",
        id.as_str(),
        scope.firm_id(),
        settings.name.clone().unwrap_or_default(),
        settings.url.clone().unwrap_or_default(),
        settings.description.clone().unwrap_or_default(),
        filter_text(settings.event_types.as_deref().unwrap_or_default()),
        sealed,
        settings.timeout_secs.unwrap_or(TIMEOUT_SECS.0),
        settings.max_attempts.unwrap_or(MAX_ATTEMPTS.0),
        settings.rate_limit_per_sec.flatten(),
        headers,
        header_names,
        settings.client_id.clone().flatten(),
        created_by,
        now.millis(),
        MAX_ENDPOINTS
    );
    Ok((id, secret, statement))
}

/// The row of one of the scope's endpoints, or `NotFound`.
pub async fn get(db: &impl Sql, scope: &TenantScope, id: &str) -> DomainResult<Row> {
    query_one(
        db,
        Statement::new(
            format!("SELECT {ROW_COLUMNS} FROM webhooks_endpoints WHERE id = ?1 AND firm_id = ?2"),
            vec![id.into(), scope.firm_id().into()],
        ),
    )
    .await?
    .ok_or(DomainError::NotFound("endpoint"))
}

/// The row of an endpoint by id alone (the sender, which has no caller).
pub async fn by_id(db: &impl Sql, id: &str) -> DomainResult<Option<Row>> {
    query_one(
        db,
        Statement::new(
            format!("SELECT {ROW_COLUMNS} FROM webhooks_endpoints WHERE id = ?1"),
            vec![id.into()],
        ),
    )
    .await
}

/// The firm's endpoints that may receive new messages (active and paused).
pub async fn receiving(db: &impl Sql, firm_id: &str) -> DomainResult<Vec<Row>> {
    query_as(
        db,
        Statement::new(
            format!(
                "SELECT {ROW_COLUMNS} FROM webhooks_endpoints
                  WHERE firm_id = ?1 AND status IN ('active', 'paused') ORDER BY id"
            ),
            vec![firm_id.into()],
        ),
    )
    .await
}

/// A page of the scope's endpoints, oldest first, optionally of one status.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    status: Option<EndpointStatus>,
    page: &PageRequest,
) -> DomainResult<Page<Row>> {
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {ROW_COLUMNS} FROM webhooks_endpoints
                  WHERE firm_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id > ?3)
                  ORDER BY id LIMIT ?4"
            ),
            vec![
                scope.firm_id().into(),
                status.map(EndpointStatus::name).into(),
                page.after.clone().into(),
                page.fetch_limit().into(),
            ],
        ),
    )
    .await?;
    Ok(Page::from_rows(rows, page, |r| r.id.clone()))
}

/// Applies `settings` (from [`parse_patch`]) to the endpoint at `expected` version
/// (any when `None`); a stale version is a 412.
pub async fn update(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    settings: &Settings,
    expected: Option<i64>,
    keys: &Keyring,
    now: Instant,
) -> DomainResult<Row> {
    let current = get(db, scope, id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(DomainError::PreconditionFailed(format!(
            "the endpoint is at version {}; read it again",
            current.version
        )));
    }
    let (headers, header_names) = match &settings.headers {
        Some(list) => {
            let (h, n) = seal_headers(keys, id, list)?;
            (Some(h), Some(n))
        }
        None => (None, None),
    };
    let changed = db
        .execute(stmt!(
            "UPDATE webhooks_endpoints SET
                    name = COALESCE(?1, name), url = COALESCE(?2, url), description = COALESCE(?3, description),
                    filter = COALESCE(?4, filter), timeout_secs = COALESCE(?5, timeout_secs),
                    max_attempts = COALESCE(?6, max_attempts),
                    rate_limit_per_sec = CASE WHEN ?7 THEN ?8 ELSE rate_limit_per_sec END,
                    headers = CASE WHEN ?9 THEN ?10 ELSE headers END,
                    header_names = COALESCE(?11, header_names),
                    client_id = CASE WHEN ?12 THEN ?13 ELSE client_id END,
                    version = version + 1, updated_at = ?14
              WHERE id = ?15 AND firm_id = ?16 AND version = ?17",
            settings.name.clone(),
            settings.url.clone(),
            settings.description.clone(),
            settings.event_types.as_deref().map(filter_text),
            settings.timeout_secs,
            settings.max_attempts,
            settings.rate_limit_per_sec.is_some(),
            settings.rate_limit_per_sec.flatten(),
            headers.is_some(),
            headers.flatten(),
            header_names,
            settings.client_id.is_some(),
            settings.client_id.clone().flatten(),
            now.millis(),
            id,
            scope.firm_id(),
            current.version
        ))
        .await?;
    if changed == 0 {
        return Err(DomainError::PreconditionFailed(
            "the endpoint changed meanwhile; read it again".into(),
        ));
    }
    if let Some(usage) = keys.usage() {
        db.execute(usage).await?;
    }
    get(db, scope, id).await
}

/// The statements that cancel an endpoint's waiting deliveries.
pub fn cancel_waiting(endpoint_id: &str, now: Instant) -> Statement {
    stmt!(
        "UPDATE webhooks_deliveries SET status = 'cancelled', next_attempt_at = NULL, completed_at = ?1, updated_at = ?1
          WHERE endpoint_id = ?2 AND status IN ('pending', 'retrying')",
        now.millis(),
        endpoint_id
    )
}

/// A state change a person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Hold deliveries (they are kept).
    Pause,
    /// Deliver again: from paused (waiting deliveries go out now) or disabled.
    Resume,
    /// Stop for good (until resumed); waiting deliveries are cancelled.
    Disable,
}

/// Applies `action`; answers the status before it and the endpoint after it. A
/// change the state does not allow (pausing a disabled endpoint) is a 409; asking
/// for the state it is in changes nothing.
pub async fn act(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    action: Action,
    now: Instant,
) -> DomainResult<(EndpointStatus, Row)> {
    let row = get(db, scope, id).await?;
    let before = row.status;
    let target = match action {
        Action::Pause => EndpointStatus::Paused,
        Action::Resume => EndpointStatus::Active,
        Action::Disable => EndpointStatus::Disabled,
    };
    if row.status == target {
        return Ok((before, row));
    }
    let mut statements = Vec::new();
    match (row.status, action) {
        (EndpointStatus::Disabled, Action::Pause) => {
            return Err(DomainError::Conflict {
                field: Some("status"),
                detail: "a disabled endpoint cannot be paused; resume it first".into(),
            })
        }
        (_, Action::Resume) => {
            statements.push(stmt!(
                "UPDATE webhooks_endpoints SET status = 'active', disabled_reason = NULL, disabled_at = NULL,
                        failing_since = NULL, version = version + 1, updated_at = ?1
                  WHERE id = ?2 AND firm_id = ?3",
                now.millis(),
                id,
                scope.firm_id()
            ));
            // What waited while it was paused goes out now.
            statements.push(stmt!(
                "UPDATE webhooks_deliveries SET next_attempt_at = ?1, updated_at = ?1
                  WHERE endpoint_id = ?2 AND status IN ('pending', 'retrying')",
                now.millis(),
                id
            ));
        }
        (_, Action::Pause) => statements.push(stmt!(
            "UPDATE webhooks_endpoints SET status = 'paused', version = version + 1, updated_at = ?1
              WHERE id = ?2 AND firm_id = ?3",
            now.millis(),
            id,
            scope.firm_id()
        )),
        (_, Action::Disable) => {
            statements.push(disable(id, DisabledReason::Manual, now));
            statements.push(cancel_waiting(id, now));
        }
    }
    db.batch(statements).await?;
    Ok((before, get(db, scope, id).await?))
}

/// The statement that disables an endpoint for `reason`.
pub fn disable(endpoint_id: &str, reason: DisabledReason, now: Instant) -> Statement {
    stmt!(
        "UPDATE webhooks_endpoints SET status = 'disabled', disabled_reason = ?1, disabled_at = ?2,
                version = version + 1, updated_at = ?2
          WHERE id = ?3 AND status != 'disabled'",
        reason.name(),
        now.millis(),
        endpoint_id
    )
}

/// Deletes an endpoint; its waiting deliveries are cancelled (the log stays until
/// retention takes it).
pub async fn delete(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    now: Instant,
) -> DomainResult<()> {
    get(db, scope, id).await?;
    db.batch(vec![
        cancel_waiting(id, now),
        stmt!(
            "DELETE FROM webhooks_endpoints WHERE id = ?1 AND firm_id = ?2",
            id,
            scope.firm_id()
        ),
    ])
    .await?;
    Ok(())
}

/// Whether a caller may read an endpoint's secret: a firm admin in person (not a
/// settings manager by flag, not an API key).
pub fn may_read_secret(role: Role, api_key: bool) -> DomainResult<()> {
    if role == Role::FirmAdmin && !api_key {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only a firm admin may read a webhook signing secret".into(),
        ))
    }
}

/// A rotation request: how long the old secret keeps signing, and whether to
/// replace a previous secret still inside its overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Hours the current secret keeps signing beside the new one (0 revokes it now).
    pub overlap_hours: i64,
    /// Rotate even inside an open overlap (the oldest secret stops at once).
    pub force: bool,
}

/// Parses `{overlap_hours?, force?}` (an empty body is the defaults).
pub fn parse_rotation(body: &Value) -> DomainResult<Rotation> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["overlap_hours", "force"]);
    let overlap = input.integer(&mut v, "overlap_hours", false);
    let overlap_hours = match overlap {
        Some(h) if !(0..=OVERLAP_HOURS.1).contains(&h) => {
            v.add(
                "overlap_hours".to_owned(),
                "range",
                format!(
                    "overlap_hours must be from 0 (revoke now) to {}",
                    OVERLAP_HOURS.1
                ),
            );
            0
        }
        Some(h) => h,
        None => OVERLAP_HOURS.0,
    };
    let force = input.boolean(&mut v, "force", false).unwrap_or(false);
    v.finish()?;
    Ok(Rotation {
        overlap_hours,
        force,
    })
}

/// Rotates the endpoint's secret: the new one signs at once, the old one beside it
/// for the overlap. Inside an open overlap, a 409 unless forced. Returns the new
/// secret (shown once) and the endpoint after.
pub async fn rotate(
    db: &impl Sql,
    scope: &TenantScope,
    id: &str,
    rotation: Rotation,
    keys: &Keyring,
    now: Instant,
) -> DomainResult<(Secret, Row)> {
    let row = get(db, scope, id).await?;
    let open = row.previous_expires_at.is_some_and(|t| t > now.millis());
    if open && !rotation.force {
        return Err(DomainError::Conflict {
            field: Some("force"),
            detail: "the previous secret is still signing; wait until previous_secret_expires_at, or rotate with force: true".into(),
        });
    }
    let secret = Secret::generate()?;
    let sealed = keys.seal(field("secret", id), secret.expose().as_bytes())?;
    // The old secret moves column, so it is sealed again for its new place.
    let (previous, until) = if rotation.overlap_hours == 0 {
        (None, None)
    } else {
        let old = keys.open(field("secret", id), &row.secret)?;
        (
            Some(keys.seal(field("previous_secret", id), &old)?),
            Some(now.millis() + rotation.overlap_hours * 3_600_000),
        )
    };
    let mut statements = vec![stmt!(
        "UPDATE webhooks_endpoints SET secret = ?1, previous_secret = ?2, previous_expires_at = ?3,
                    version = version + 1, updated_at = ?4
              WHERE id = ?5 AND firm_id = ?6 AND version = ?7",
        sealed,
        previous,
        until,
        now.millis(),
        id,
        scope.firm_id(),
        row.version
    )];
    statements.extend(keys.usage());
    let changed = db.batch(statements).await?.first().map_or(0, |o| o.changes);
    if changed == 0 {
        return Err(DomainError::Conflict {
            field: None,
            detail: "the endpoint changed during the rotation; try again".into(),
        });
    }
    Ok((secret, get(db, scope, id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(err: DomainError) -> Vec<(String, &'static str)> {
        match err {
            DomainError::Validation(errs) => errs.into_iter().map(|e| (e.field, e.rule)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_new_endpoint_needs_a_name_a_public_url_and_known_types() {
        let ok = parse_new(
            &json!({"name": "Ledger sync", "url": "https://hooks.example.com/in", "event_types": ["firm.*", "firm.created", "*"]}),
            Policy::default(),
        )
        .unwrap();
        assert_eq!(ok.event_types.unwrap(), ["firm.*", "firm.created", "*"]);
        assert_eq!(ok.timeout_secs, None);
        let bad = parse_new(
            &json!({"url": "https://10.0.0.1/x", "event_types": ["invoice.paid", "nope.*", "Bad"], "timeout_secs": 31, "max_attempts": 0, "colour": 1}),
            Policy::default(),
        )
        .unwrap_err();
        let got = rules(bad);
        for expected in [
            ("name", "required"),
            ("url", "blocked_destination"),
            ("event_types[0]", "unknown_type"),
            ("event_types[1]", "unknown_type"),
            ("event_types[2]", "pattern"),
            ("timeout_secs", "range"),
            ("max_attempts", "range"),
            ("colour", "unknown"),
        ] {
            assert!(
                got.contains(&(expected.0.to_owned(), expected.1)),
                "{expected:?} in {got:?}"
            );
        }
    }

    #[test]
    fn custom_headers_may_not_take_reserved_names() {
        let got = rules(
            parse_headers(&json!({"Webhook-Id": "x", "Host": "y", "X-Ok": "fine", "Bad Name": "z", "X-Long": "a".repeat(1_001)}))
                .unwrap_err(),
        );
        assert!(got.contains(&("headers.Webhook-Id".into(), "reserved")));
        assert!(got.contains(&("headers.Host".into(), "reserved")));
        assert!(got.contains(&("headers.Bad Name".into(), "format")));
        assert!(got.contains(&("headers.X-Long".into(), "format")));
        assert!(!got.iter().any(|(f, _)| f == "headers.X-Ok"));
        let many: serde_json::Map<String, Value> =
            (0..11).map(|i| (format!("X-{i}"), json!("v"))).collect();
        assert_eq!(
            rules(parse_headers(&Value::Object(many)).unwrap_err())[0].1,
            "too_long"
        );
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let p = parse_patch(
            &json!({"rate_limit_per_sec": null, "client_id": null}),
            Policy::default(),
        )
        .unwrap();
        assert_eq!(p.rate_limit_per_sec, Some(None));
        assert_eq!(p.client_id, Some(None));
        assert_eq!(p.name, None);
        assert_eq!(
            rules(parse_patch(&json!({}), Policy::default()).unwrap_err())[0].1,
            "required"
        );
        assert_eq!(
            rules(parse_patch(&json!({"rate_limit_per_sec": 0}), Policy::default()).unwrap_err())
                [0]
            .1,
            "range"
        );
    }

    #[test]
    fn only_a_firm_admin_in_person_reads_a_secret() {
        assert!(may_read_secret(Role::FirmAdmin, false).is_ok());
        assert!(may_read_secret(Role::FirmAdmin, true).is_err());
        assert!(may_read_secret(Role::Staff, false).is_err());
    }

    #[test]
    fn rotation_defaults_to_a_day_of_overlap() {
        assert_eq!(
            parse_rotation(&json!({})).unwrap(),
            Rotation {
                overlap_hours: 24,
                force: false
            }
        );
        assert_eq!(
            parse_rotation(&json!({"overlap_hours": 0, "force": true})).unwrap(),
            Rotation {
                overlap_hours: 0,
                force: true
            }
        );
        assert_eq!(
            rules(parse_rotation(&json!({"overlap_hours": 169})).unwrap_err())[0].1,
            "range"
        );
    }
}
