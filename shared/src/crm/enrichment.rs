//! Enrichment: a lead's company and person looked up at a data provider (the
//! Clearbit-style "combined" API: `GET {base}/v2/combined/find?email=…` or
//! `?domain=…` with a bearer key), run as a job and retried by the jobs system.
//! What the provider knows fills the lead's empty fields and refreshes values it
//! gave before; a value a person typed is never overwritten.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lead::{Lead, LeadFields};
use crate::kernel::error::{DomainError, DomainResult};

/// The job type that runs a lookup.
pub const JOB_TYPE: &str = "crm.enrich_lead";

crate::wire_enum!(
    /// Where a lookup stands.
    EnrichmentStatus, "of the enrichment statuses" {
        /// Queued or being retried.
        Pending = "pending",
        /// The provider knew the lead; what it said is applied.
        Found = "found",
        /// The provider knows nothing of it.
        NotFound = "not_found",
        /// It could not be done (the provider refused it, or every attempt failed).
        Failed = "failed",
    }
);

/// What to look a lead up by: its e-mail address, else its website's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `?email=`
    Email(String),
    /// `?domain=`
    Domain(String),
}

impl Lookup {
    /// The lead's lookup, or a 409 when it has neither an address nor a website.
    pub fn of(lead: &Lead) -> DomainResult<Self> {
        if let Some(email) = &lead.email {
            return Ok(Lookup::Email(email.clone()));
        }
        let domain = lead.website.as_deref().map(|w| {
            let bare = w
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_start_matches("www.");
            bare.split(['/', '?', '#'])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        });
        match domain.filter(|d| d.contains('.')) {
            Some(d) => Ok(Lookup::Domain(d)),
            None => Err(DomainError::conflict(
                "lead_id",
                "the lead has neither an e-mail address nor a website to look it up by",
            )),
        }
    }

    /// The request path and query under the provider's base URL.
    pub fn path(&self) -> String {
        let (key, value) = match self {
            Lookup::Email(e) => ("email", e),
            Lookup::Domain(d) => ("domain", d),
        };
        // Percent-encoding of everything but RFC 3986's unreserved characters.
        let encoded: String = value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        format!("/v2/combined/find?{key}={encoded}")
    }

    /// The lookup as kept on its record (`email:…`, `domain:…`).
    pub fn label(&self) -> String {
        match self {
            Lookup::Email(e) => format!("email:{e}"),
            Lookup::Domain(d) => format!("domain:{d}"),
        }
    }
}

/// What a provider's answer means for the job.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// It knew the lead: the fields it gives, by lead field name.
    Found(Map<String, Value>),
    /// It knows nothing of the lead.
    NotFound,
    /// It is still looking (202): ask again after the given seconds.
    Later(i64),
    /// Slow down (429), for the given seconds if it said.
    RateLimited(Option<i64>),
    /// A failure a later attempt may not have (5xx, 408).
    Retry(String),
    /// A failure no retry helps (a refused key, a request it cannot read).
    Refused(String),
}

/// Reads a provider's answer: `status`, its `Retry-After` in seconds, and its body.
pub fn read_answer(status: u16, retry_after: Option<i64>, body: &str) -> Answer {
    match status {
        200 => match serde_json::from_str::<Value>(body) {
            Ok(v) => Answer::Found(facts(&v)),
            Err(e) => Answer::Retry(format!("unreadable answer: {e}")),
        },
        202 => Answer::Later(retry_after.unwrap_or(30).clamp(1, 3_600)),
        404 => Answer::NotFound,
        429 => Answer::RateLimited(retry_after),
        s if crate::kernel::retry::retryable_status(s) => Answer::Retry(format!("HTTP {s}")),
        s => Answer::Refused(format!(
            "HTTP {s}: {}",
            body.chars().take(200).collect::<String>()
        )),
    }
}

/// The lead fields a combined answer gives (company first, the person's title).
fn facts(v: &Value) -> Map<String, Value> {
    let at = |path: &[&str]| -> Option<Value> {
        let mut cur = v;
        for key in path {
            cur = cur.get(key)?;
        }
        (!cur.is_null()).then(|| cur.clone())
    };
    let mut out = Map::new();
    let mut put = |field: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(field.to_owned(), value);
        }
    };
    put("company_name", at(&["company", "name"]));
    put("industry", at(&["company", "category", "industry"]));
    put("company_size", at(&["company", "metrics", "employees"]));
    put(
        "country",
        at(&["company", "geo", "countryCode"]).or_else(|| at(&["person", "geo", "countryCode"])),
    );
    put(
        "website",
        at(&["company", "domain"]).or_else(|| at(&["person", "employment", "domain"])),
    );
    put("title", at(&["person", "employment", "title"]));
    out
}

/// A lookup's effect on a lead: the change to write, and the values it set by
/// field (kept to tell the provider's values from a person's next time).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merge {
    /// The checked change (`None` when nothing changes).
    pub fields: Option<LeadFields>,
    /// Every field the provider's value now fills, with that value.
    pub applied: Map<String, Value>,
    /// Fields left alone because a person typed them.
    pub kept: Vec<String>,
}

/// What `found` does to `lead`: an empty field is filled; a field still holding
/// the value an earlier lookup set (`before`) is refreshed; anything else is a
/// person's and kept. A value the lead's own rules refuse (a country that is
/// not two letters) is skipped.
pub fn merge(lead: &Lead, before: &Map<String, Value>, found: &Map<String, Value>) -> Merge {
    let current = serde_json::to_value(lead).unwrap_or_default();
    let mut change = Map::new();
    let mut applied = Map::new();
    let mut kept = Vec::new();
    for (field, value) in found {
        let now = current.get(field).cloned().unwrap_or(Value::Null);
        let ours = now.is_null() || before.get(field) == Some(&now);
        if !ours {
            kept.push(field.clone());
            continue;
        }
        // Each value is checked alone with the lead's own parser.
        let one = Value::Object(Map::from_iter([(field.clone(), value.clone())]));
        if LeadFields::parse(&one, false).is_err() {
            continue;
        }
        applied.insert(field.clone(), value.clone());
        if now != *value {
            change.insert(field.clone(), value.clone());
        }
    }
    let fields = if change.is_empty() {
        None
    } else {
        LeadFields::parse(&Value::Object(change), false).ok()
    };
    Merge {
        fields,
        applied,
        kept,
    }
}

/// A lookup as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    /// `enr_…`
    pub id: String,
    /// The lead looked up.
    pub lead_id: String,
    /// Where it stands.
    pub status: EnrichmentStatus,
    /// `email:…` or `domain:…`.
    pub lookup: String,
    /// The job that runs it.
    pub job_id: Option<String>,
    /// The fields the provider's values now fill.
    #[serde(deserialize_with = "crate::kernel::sql::columns::json_typed")]
    pub applied: Map<String, Value>,
    /// Fields left alone because a person typed them.
    #[serde(deserialize_with = "crate::kernel::sql::columns::json_typed")]
    pub kept: Vec<String>,
    /// Why it failed, or why it is still waiting.
    pub error: Option<String>,
    /// Who asked.
    pub requested_by: String,
    /// Unix ms.
    pub requested_at: i64,
    /// Unix ms it ended (found, not found or failed).
    pub finished_at: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lead(body: Value) -> Lead {
        let mut base = json!({
            "id": "led_1", "contact_name": "Ada", "source": "website", "status": "new", "score": 0,
            "tags": "[]", "custom_fields": "{}", "version": 1, "created_by": "usr_x", "created_at": 0, "updated_at": 0
        });
        for (k, v) in body.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn answer() -> Map<String, Value> {
        let body = json!({
            "person": {"name": {"fullName": "Ada Lovelace"}, "employment": {"title": "CTO", "domain": "engines.example"},
                       "geo": {"countryCode": "GB"}},
            "company": {"name": "Analytical Engines Ltd", "domain": "engines.example",
                        "category": {"industry": "Machinery"}, "metrics": {"employees": 120},
                        "geo": {"countryCode": "GB"}}
        });
        match read_answer(200, None, &body.to_string()) {
            Answer::Found(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_typed_value_is_kept_and_an_empty_field_filled() {
        let typed = lead(
            json!({"email": "ada@engines.example", "title": "Founder", "company_name": "Engines"}),
        );
        let m = merge(&typed, &Map::new(), &answer());
        let f = m.fields.unwrap();
        assert_eq!(f.industry, Some(Some("Machinery".into())));
        assert_eq!(f.company_size, Some(Some(120)));
        assert_eq!(f.country, Some(Some("GB".into())));
        assert_eq!(f.title, None, "the person's title stays");
        assert_eq!(f.company_name, None);
        let mut kept = m.kept.clone();
        kept.sort();
        assert_eq!(kept, ["company_name", "title"]);
        // Next time, the provider's own earlier value may be refreshed.
        let filled = lead(
            json!({"email": "ada@engines.example", "industry": "Machinery", "company_size": 100}),
        );
        let before = Map::from_iter([
            ("company_size".to_owned(), json!(100)),
            ("industry".to_owned(), json!("Machinery")),
        ]);
        let again = merge(&filled, &before, &answer());
        assert_eq!(again.fields.unwrap().company_size, Some(Some(120)));
        // But not once a person changed it.
        let edited = lead(json!({"email": "ada@engines.example", "company_size": 90}));
        assert!(merge(&edited, &before, &answer())
            .kept
            .contains(&"company_size".to_owned()));
    }

    #[test]
    fn the_provider_s_statuses_become_the_job_s_outcomes() {
        assert_eq!(read_answer(404, None, ""), Answer::NotFound);
        assert_eq!(read_answer(202, Some(5), ""), Answer::Later(5));
        assert_eq!(read_answer(429, Some(2), ""), Answer::RateLimited(Some(2)));
        assert!(matches!(read_answer(503, None, ""), Answer::Retry(_)));
        assert!(matches!(
            read_answer(401, None, "bad key"),
            Answer::Refused(_)
        ));
        let by_site = lead(json!({"website": "https://www.Engines.example/about"}));
        assert_eq!(
            Lookup::of(&by_site).unwrap().path(),
            "/v2/combined/find?domain=engines.example"
        );
        assert!(Lookup::of(&lead(json!({}))).is_err());
        let plus = lead(json!({"email": "ada+crm@engines.example"}));
        assert_eq!(
            Lookup::of(&plus).unwrap().path(),
            "/v2/combined/find?email=ada%2Bcrm%40engines.example"
        );
    }
}
