//! Flags in D1: definitions with their history, the snapshot workers evaluate,
//! and experiment exposures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::eval::BUCKETS;
use super::model::{Flag, FlagKind, FlagType, Rule, RELEASE_LIFETIME_MS, STALE_AFTER_MS};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::paging::{Page, PageRequest};
use crate::kernel::sql::{query_as, Sql, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::Instant;
use crate::stmt;

/// Most flags a firm has.
pub const MAX_FLAGS: i64 = 500;

/// What a firm admin writes to create or replace a flag.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagInput {
    /// Value type (default `boolean`).
    #[serde(rename = "type", default)]
    pub flag_type: Option<FlagType>,
    /// Purpose (default `release`).
    #[serde(default)]
    pub kind: Option<FlagKind>,
    /// For people.
    #[serde(default)]
    pub description: Option<String>,
    /// On or off (default off).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Named values (boolean flags default to `on: true`, `off: false`).
    #[serde(default)]
    pub variants: Option<BTreeMap<String, Value>>,
    /// Served when on and no rule matches (boolean default `on`).
    #[serde(default)]
    pub default_variant: Option<String>,
    /// Served when off (boolean default `off`).
    #[serde(default)]
    pub off_variant: Option<String>,
    /// Ordered rules.
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    /// Bucket salt (default the key).
    #[serde(default)]
    pub salt: Option<String>,
}

impl FlagInput {
    /// A boolean release flag, off, with every default.
    pub fn default_boolean() -> Self {
        Self {
            flag_type: None,
            kind: None,
            description: None,
            enabled: None,
            variants: None,
            default_variant: None,
            off_variant: None,
            rules: None,
            salt: None,
        }
    }
}

/// The body that replaces `flag` with only `enabled` changed (the switch the
/// console offers, sent with the flag's etag): every field the definition has,
/// so the replace keeps its variants, rules and salt.
pub fn switched(flag: &Flag, description: &str, enabled: bool) -> Value {
    serde_json::json!({
        "type": flag.flag_type,
        "kind": flag.kind,
        "description": description,
        "enabled": enabled,
        "variants": flag.variants,
        "default_variant": flag.default_variant,
        "off_variant": flag.off_variant,
        "rules": flag.rules,
        "salt": flag.salt,
    })
}

/// A new boolean flag as the console's form starts one: off until switched on,
/// then serving `on` to `share` per cent of people (whole numbers 0–100) by the
/// stable buckets, so widening it later keeps everyone it had.
pub fn rollout(kind: &str, description: &str, share: &str) -> DomainResult<Value> {
    let kind = FlagKind::parse("kind", kind)?;
    let share: u32 = share
        .trim()
        .parse()
        .ok()
        .filter(|s| *s <= 100)
        .ok_or_else(|| {
            DomainError::invalid(
                "share",
                "range",
                "share must be a whole number from 0 to 100",
            )
        })?;
    let mut body = serde_json::json!({"kind": kind, "enabled": false});
    if let Some(fields) = body.as_object_mut() {
        if !description.trim().is_empty() {
            fields.insert("description".into(), Value::from(description.trim()));
        }
        if share < 100 {
            let on = share * (BUCKETS / 100);
            fields.insert(
                "rules".into(),
                serde_json::json!([{"serve": {"split": [
                    {"variant": "on", "weight": on},
                    {"variant": "off", "weight": BUCKETS - on},
                ]}}]),
            );
        }
    }
    Ok(body)
}

/// A body must be a JSON object, and a field left out is left out: an explicit
/// `null` clears nothing here, so it is refused rather than read as absent.
fn plain_object(body: &Value) -> DomainResult<()> {
    let object = body
        .as_object()
        .ok_or_else(|| DomainError::invalid("body", "type", "the body must be a JSON object"))?;
    match object.iter().find(|(_, v)| v.is_null()) {
        Some((field, _)) => Err(DomainError::invalid(
            field.as_str(),
            "type",
            format!("{field} may be left out but not null"),
        )),
        None => Ok(()),
    }
}

/// Reads a flag definition from a request body; a 422 naming the field otherwise.
pub fn parse_input(body: &Value) -> DomainResult<FlagInput> {
    read(body)
}

/// Reads a request body into `T`: a JSON object without nulls, each field that
/// does not read named by its path (`rules[0].serve.split`).
fn read<T: serde::de::DeserializeOwned>(body: &Value) -> DomainResult<T> {
    plain_object(body)?;
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            path
        };
        DomainError::invalid(
            field,
            "format",
            format!("the request does not read: {}", e.into_inner()),
        )
    })
}

/// What a client asks to have evaluated for its caller.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRequest {
    /// The flags wanted (none: all of the firm's).
    #[serde(default)]
    pub keys: Vec<String>,
    /// The client application's version.
    #[serde(default)]
    pub version: Option<String>,
    /// Custom attributes.
    #[serde(default)]
    pub custom: serde_json::Map<String, Value>,
}

/// Reads and checks an evaluation request.
pub fn parse_evaluation(body: &Value) -> DomainResult<EvaluationRequest> {
    let ask: EvaluationRequest = read(body)?;
    if ask.keys.len() > 100 {
        return Err(DomainError::invalid(
            "keys",
            "length",
            "at most 100 keys at once",
        ));
    }
    if let Some(bad) = ask.keys.iter().position(|k| !super::model::valid_key(k)) {
        return Err(DomainError::invalid(
            format!("keys[{bad}]"),
            "format",
            "a flag key is 2–64 of a-z, 0-9, '.', '_', '-'",
        ));
    }
    if ask.version.as_ref().is_some_and(|v| v.len() > 64) {
        return Err(DomainError::invalid(
            "version",
            "too_long",
            "version is at most 64 characters",
        ));
    }
    let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
    if ask.custom.len() > 20 || !ask.custom.values().all(scalar) {
        return Err(DomainError::invalid(
            "custom",
            "format",
            "custom holds at most 20 strings, numbers or booleans",
        ));
    }
    Ok(ask)
}

/// A stored flag with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    /// The definition.
    #[serde(flatten)]
    pub flag: Flag,
    /// For people.
    pub description: String,
    /// Release flags: when it should be gone (Unix ms).
    pub expires_at: Option<i64>,
    /// Whether it has served one variant to everyone for 30 days.
    pub stale: bool,
    /// Who made it.
    pub created_by: String,
    /// When (Unix ms).
    pub created_at: i64,
    /// Who changed it last.
    pub updated_by: String,
    /// When (Unix ms).
    pub updated_at: i64,
    /// `"<version>"`, for `If-Match`.
    pub etag: String,
}

#[derive(Deserialize)]
struct Row {
    key: String,
    description: String,
    definition: String,
    expires_at: Option<i64>,
    created_by: String,
    created_at: i64,
    updated_by: String,
    updated_at: i64,
}

fn stored(row: Row, now: Instant) -> DomainResult<Stored> {
    let flag: Flag = serde_json::from_str(&row.definition)
        .map_err(|e| DomainError::Unavailable(format!("flag {} does not read: {e}", row.key)))?;
    let stale = flag.single_variant().is_some() && now.millis() - row.updated_at >= STALE_AFTER_MS;
    Ok(Stored {
        etag: format!("\"{}\"", flag.version),
        flag,
        description: row.description,
        expires_at: row.expires_at,
        stale,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    })
}

const COLUMNS: &str =
    "key, description, definition, expires_at, created_by, created_at, updated_by, updated_at";

/// The flag `key` of the scope's firm.
pub async fn get(
    db: &impl Sql,
    scope: &TenantScope,
    key: &str,
    now: Instant,
) -> DomainResult<Stored> {
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            format!("SELECT {COLUMNS} FROM flags_flags WHERE firm_id = ?1 AND key = ?2"),
            vec![scope.firm_id().into(), key.into()],
        ),
    )
    .await?;
    rows.into_iter()
        .next()
        .map(|r| stored(r, now))
        .transpose()?
        .ok_or(DomainError::NotFound("flag"))
}

/// A page of the firm's flags by key.
pub async fn list(
    db: &impl Sql,
    scope: &TenantScope,
    page: &PageRequest,
    now: Instant,
) -> DomainResult<Page<Stored>> {
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT {COLUMNS} FROM flags_flags WHERE firm_id = ?1 AND (?2 IS NULL OR key > ?2)
                  ORDER BY key LIMIT ?3"
            ),
            vec![
                scope.firm_id().into(),
                page.after.clone().into(),
                page.fetch_limit().into(),
            ],
        ),
    )
    .await?;
    let items = rows
        .into_iter()
        .map(|r| stored(r, now))
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |s| s.flag.key.clone()))
}

/// Every flag of a firm, as workers evaluate them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Bumped by any change to any of the firm's flags (the latest change time).
    pub version: i64,
    /// By key.
    pub flags: BTreeMap<String, Flag>,
}

/// The firm's snapshot, read from D1.
pub async fn snapshot(db: &impl Sql, firm_id: &str) -> DomainResult<Snapshot> {
    #[derive(Deserialize)]
    struct Def {
        key: String,
        definition: String,
        updated_at: i64,
    }
    let rows: Vec<Def> = query_as(
        db,
        stmt!(
            "SELECT key, definition, updated_at FROM flags_flags WHERE firm_id = ?1",
            firm_id
        ),
    )
    .await?;
    let mut snap = Snapshot::default();
    for row in rows {
        if let Ok(flag) = serde_json::from_str::<Flag>(&row.definition) {
            snap.version = snap.version.max(row.updated_at);
            snap.flags.insert(row.key, flag);
        }
    }
    Ok(snap)
}

/// Builds the definition `input` describes over `current` (a replace keeps nothing
/// but the salt, which only changes when asked: changing it reshuffles everyone).
pub fn define(key: &str, input: FlagInput, current: Option<&Flag>) -> DomainResult<Flag> {
    let flag_type = input.flag_type.unwrap_or(FlagType::Boolean);
    let boolean = flag_type == FlagType::Boolean;
    let variants = match input.variants {
        Some(v) => v,
        None if boolean => BTreeMap::from([
            ("on".to_owned(), Value::Bool(true)),
            ("off".to_owned(), Value::Bool(false)),
        ]),
        None => {
            return Err(DomainError::invalid(
                "variants",
                "required",
                "variants are required unless the flag is boolean",
            ))
        }
    };
    let pick = |given: Option<String>, boolean_default: &str, field: &'static str| {
        given
            .or_else(|| boolean.then(|| boolean_default.to_owned()))
            .ok_or_else(|| {
                DomainError::invalid(
                    field,
                    "required",
                    format!("{field} is required unless the flag is boolean"),
                )
            })
    };
    let flag = Flag {
        key: key.to_owned(),
        flag_type,
        kind: input.kind.unwrap_or(FlagKind::Release),
        enabled: input.enabled.unwrap_or(false),
        variants,
        default_variant: pick(input.default_variant, "on", "default_variant")?,
        off_variant: pick(input.off_variant, "off", "off_variant")?,
        rules: input.rules.unwrap_or_default(),
        salt: input
            .salt
            .or_else(|| current.map(|c| c.salt.clone()))
            .unwrap_or_else(|| key.to_owned()),
        version: current.map_or(1, |c| c.version + 1),
    };
    flag.validate()?;
    Ok(flag)
}

/// Creates or replaces the flag `key`. With `expected`, the stored version must be
/// it (412 otherwise); `Some(0)` means "must not exist yet". Returns the stored
/// flag and whether it was created.
pub async fn put(
    db: &impl Sql,
    scope: &TenantScope,
    key: &str,
    mut input: FlagInput,
    expected: Option<i64>,
    actor: &str,
    now: Instant,
) -> DomainResult<(Stored, bool)> {
    let current = match get(db, scope, key, now).await {
        Ok(s) => Some(s),
        Err(DomainError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let version = current.as_ref().map_or(0, |c| c.flag.version);
    if expected.is_some_and(|v| v != version) {
        return Err(DomainError::PreconditionFailed(format!(
            "the flag is at version {version}; read it again"
        )));
    }
    let description = input.description.take();
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(DomainError::invalid(
            "description",
            "too_long",
            "description is at most 500 characters",
        ));
    }
    let flag = define(key, input, current.as_ref().map(|c| &c.flag))?;
    let text = serde_json::to_string(&flag).map_err(|e| DomainError::Unavailable(e.to_string()))?;
    let created = current.is_none();
    let write = if created {
        let expires = (flag.kind == FlagKind::Release).then(|| now.millis() + RELEASE_LIFETIME_MS);
        stmt!(
            "INSERT INTO flags_flags (firm_id, key, kind, description, definition, enabled, version, expires_at,
                    created_by, created_at, updated_by, updated_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, ?10
              WHERE (SELECT COUNT(*) FROM flags_flags WHERE firm_id = ?1) < ?11",
            scope.firm_id(),
            key,
            flag.kind.name(),
            description.clone().unwrap_or_default(),
            text.as_str(),
            flag.enabled,
            flag.version,
            expires,
            actor,
            now.millis(),
            MAX_FLAGS
        )
    } else {
        stmt!(
            "UPDATE flags_flags SET kind = ?3, description = COALESCE(?4, description), definition = ?5, enabled = ?6,
                    version = ?7, updated_by = ?8, updated_at = ?9
              WHERE firm_id = ?1 AND key = ?2 AND version = ?10",
            scope.firm_id(),
            key,
            flag.kind.name(),
            description,
            text.as_str(),
            flag.enabled,
            flag.version,
            actor,
            now.millis(),
            version
        )
    };
    let history = stmt!(
        "INSERT INTO flags_changes (firm_id, key, version, action, definition, changed_by, changed_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1",
        scope.firm_id(),
        key,
        flag.version,
        if created { "created" } else { "updated" },
        text.as_str(),
        actor,
        now.millis()
    );
    let outcomes = db.batch(vec![write, history]).await?;
    if outcomes.first().map_or(0, |o| o.changes) == 0 {
        return Err(if created {
            DomainError::Conflict {
                field: None,
                detail: format!("a firm has at most {MAX_FLAGS} flags"),
            }
        } else {
            DomainError::PreconditionFailed("the flag changed meanwhile; read it again".into())
        });
    }
    Ok((get(db, scope, key, now).await?, created))
}

/// Deletes the flag `key` (its history stays).
pub async fn delete(
    db: &impl Sql,
    scope: &TenantScope,
    key: &str,
    actor: &str,
    now: Instant,
) -> DomainResult<()> {
    let current = get(db, scope, key, now).await?;
    let outcomes = db
        .batch(vec![
            stmt!(
                "DELETE FROM flags_flags WHERE firm_id = ?1 AND key = ?2",
                scope.firm_id(),
                key
            ),
            stmt!(
                "INSERT INTO flags_changes (firm_id, key, version, action, definition, changed_by, changed_at)
                 SELECT ?1, ?2, ?3, 'deleted', NULL, ?4, ?5 WHERE changes() = 1",
                scope.firm_id(),
                key,
                current.flag.version + 1,
                actor,
                now.millis()
            ),
        ])
        .await?;
    if outcomes.first().map_or(0, |o| o.changes) == 0 {
        return Err(DomainError::NotFound("flag"));
    }
    Ok(())
}

/// The UTC day of `now`, `YYYY-MM-DD`.
pub fn day(now: Instant) -> String {
    now.to_chrono().format("%Y-%m-%d").to_string()
}

/// Records that `subject` was exposed to `variant` of `key` today (once per day).
pub fn exposure(firm_id: &str, key: &str, subject: &str, variant: &str, now: Instant) -> Statement {
    stmt!(
        "INSERT OR IGNORE INTO flags_exposures (firm_id, key, subject, variant, day, first_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        firm_id,
        key,
        subject,
        variant,
        day(now),
        now.millis()
    )
}

/// Exposures of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantExposures {
    /// The variant.
    pub variant: String,
    /// Distinct subjects exposed to it.
    pub subjects: u64,
}

/// Distinct subjects per variant of `key` since `since_day` (inclusive).
pub async fn exposures(
    db: &impl Sql,
    scope: &TenantScope,
    key: &str,
    since_day: &str,
) -> DomainResult<Vec<VariantExposures>> {
    query_as(
        db,
        stmt!(
            "SELECT variant, COUNT(DISTINCT subject) AS subjects FROM flags_exposures
              WHERE firm_id = ?1 AND key = ?2 AND day >= ?3 GROUP BY variant ORDER BY variant",
            scope.firm_id(),
            key,
            since_day
        ),
    )
    .await
}

/// The first day an experiment report counts: `since` (`YYYY-MM-DD`) when given,
/// else 30 days before `now`.
pub fn since_day(since: Option<&str>, now: Instant) -> DomainResult<String> {
    match since {
        Some(day) => {
            Instant::parse("since", &format!("{day}T00:00:00Z"))?;
            Ok(day.to_owned())
        }
        None => Ok(day(now.plus_millis(-30 * 86_400_000))),
    }
}

/// One arm of an experiment: a share of its split and who saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arm {
    /// The variant.
    pub variant: String,
    /// Its weight in basis points.
    pub weight: u32,
    /// Distinct subjects exposed.
    pub subjects: u64,
}

/// An experiment's report: its arms (the shares of the flag's first split) with
/// their exposures, and the sample-ratio check of those against the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// The flag.
    pub flag_key: String,
    /// The first day counted.
    pub since: String,
    /// Its arms.
    pub arms: Vec<Arm>,
    /// χ² of exposures against weights (`None` with fewer than two arms or none seen).
    pub sample_ratio: Option<super::srm::Check>,
}

/// The report of `flag` from its exposure `counts`.
pub fn experiment(flag: &Flag, since: &str, counts: &[VariantExposures]) -> Experiment {
    let shares = flag
        .rules
        .iter()
        .find_map(|r| match &r.serve {
            super::model::Serve::Split(s) => Some(s.clone()),
            super::model::Serve::Variant(_) => None,
        })
        .unwrap_or_default();
    let arms: Vec<Arm> = shares
        .iter()
        .map(|s| Arm {
            variant: s.variant.clone(),
            weight: s.weight,
            subjects: counts
                .iter()
                .find(|c| c.variant == s.variant)
                .map_or(0, |c| c.subjects),
        })
        .collect();
    let observed: Vec<u64> = arms.iter().map(|a| a.subjects).collect();
    let weights: Vec<f64> = arms.iter().map(|a| f64::from(a.weight)).collect();
    Experiment {
        flag_key: flag.key.clone(),
        since: since.to_owned(),
        sample_ratio: super::srm::check(&observed, &weights),
        arms,
    }
}

/// How far back the minute's republish looks for changed flags: a snapshot whose
/// write to KV failed is rewritten within a minute, and every change gets a few
/// chances.
pub const REPUBLISH_WINDOW_MS: i64 = 5 * 60_000;

/// Firms whose flags changed in the last [`REPUBLISH_WINDOW_MS`] (their snapshots
/// are written again, so one lost KV write cannot leave workers stale).
pub async fn recently_changed(db: &impl Sql, now: Instant) -> DomainResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Firm {
        firm_id: String,
    }
    let rows: Vec<Firm> = query_as(
        db,
        stmt!(
            "SELECT DISTINCT firm_id FROM flags_changes WHERE changed_at >= ?1 LIMIT 500",
            now.millis() - REPUBLISH_WINDOW_MS
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|f| f.firm_id).collect())
}
