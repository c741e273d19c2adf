//! Leads: people and companies who may become clients, before anyone sells to them.
//! A lead is worked (`new` → `contacted` → `qualified`), then converted into an
//! account, a contact and an open deal (the prospect being sold to), or lost with a
//! reason.

use serde::{Deserialize, Serialize};

use super::fields::{self, clearable, CustomFields};
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::columns::json_typed;
use crate::kernel::validate::{text, EmailAddress, Input, Validator};

crate::wire_enum!(
    /// Where a lead came from.
    LeadSource, "of the lead sources" {
        /// A form on the firm's website.
        Website = "website",
        /// Someone recommended the firm.
        Referral = "referral",
        /// A marketing campaign.
        Campaign = "campaign",
        /// The firm reached out first.
        ColdOutreach = "cold_outreach",
        /// An event or conference.
        Event = "event",
        /// A partner firm.
        Partnership = "partnership",
        /// Anything else.
        Other = "other",
    }
);

crate::wire_enum!(
    /// Where a lead stands.
    LeadStatus, "of the lead statuses" {
        /// Just captured.
        New = "new",
        /// Someone has reached them.
        Contacted = "contacted",
        /// Worth selling to; may be converted.
        Qualified = "qualified",
        /// Became an account, a contact and a deal.
        Converted = "converted",
        /// Not going anywhere (with a reason).
        Lost = "lost",
    }
);

impl LeadStatus {
    /// Whether a person may set `to` directly on a lead in `self` (conversion and
    /// losing have routes of their own; a lost lead may be reopened as new).
    pub fn may_become(self, to: LeadStatus) -> bool {
        use LeadStatus::*;
        match (self, to) {
            (a, b) if a == b => true,
            (New | Contacted | Qualified, New | Contacted | Qualified) => true,
            (Lost, New) => true,
            _ => false,
        }
    }
}

/// A lead as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// `led_…`
    pub id: String,
    /// The person.
    pub contact_name: String,
    /// Their company, if any.
    pub company_name: Option<String>,
    /// Their address.
    pub email: Option<String>,
    /// Their phone, E.164.
    pub phone: Option<String>,
    /// Their job title.
    pub title: Option<String>,
    /// The company's industry.
    pub industry: Option<String>,
    /// The company's website.
    pub website: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// Employees.
    pub company_size: Option<i64>,
    /// What they may spend, in minor units of `currency`.
    pub budget_minor: Option<i64>,
    /// Currency of the budget.
    pub currency: Option<String>,
    /// Where it came from.
    pub source: LeadSource,
    /// Where it stands.
    pub status: LeadStatus,
    /// 0–100, from the firm's scoring rules.
    pub score: i64,
    /// The member working it.
    pub owner_id: Option<String>,
    /// The campaign it came from.
    pub campaign_id: Option<String>,
    /// Lower-case tags.
    #[serde(deserialize_with = "json_typed")]
    pub tags: Vec<String>,
    /// The firm's own fields.
    #[serde(deserialize_with = "json_typed")]
    pub custom_fields: CustomFields,
    /// Free text.
    pub notes: Option<String>,
    /// Why it was lost.
    pub lost_reason: Option<String>,
    /// The account it became.
    pub account_id: Option<String>,
    /// The deal it became.
    pub deal_id: Option<String>,
    /// Unix ms of the last call, e-mail, meeting or note.
    pub last_activity_at: Option<i64>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who captured it (a user, or `import` / `form`).
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Lead {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }

    /// A fact by field name, borrowed: what scoring reads for every rule of every
    /// lead, so nothing is copied.
    pub fn fact_ref(&self, field: &str) -> Fact<'_> {
        fn text(v: &Option<String>) -> Fact<'_> {
            v.as_deref().map_or(Fact::Absent, Fact::Text)
        }
        match field {
            "contact_name" => Fact::Text(&self.contact_name),
            "company_name" => text(&self.company_name),
            "email" => text(&self.email),
            "email_domain" => self
                .email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map_or(Fact::Absent, |(_, d)| Fact::Text(d)),
            "phone" => text(&self.phone),
            "title" => text(&self.title),
            "industry" => text(&self.industry),
            "website" => text(&self.website),
            "country" => text(&self.country),
            "company_size" => self.company_size.map_or(Fact::Absent, Fact::Number),
            "budget_minor" => self.budget_minor.map_or(Fact::Absent, Fact::Number),
            "source" => Fact::Text(self.source.name()),
            "status" => Fact::Text(self.status.name()),
            "tags" => Fact::Tags(&self.tags),
            other => other
                .strip_prefix("custom.")
                .and_then(|name| self.custom_fields.get(name))
                .filter(|v| !v.is_null())
                .map_or(Fact::Absent, Fact::Json),
        }
    }

    /// The facts scoring rules and segments look at, by field name.
    pub fn fact(&self, field: &str) -> Option<serde_json::Value> {
        use serde_json::Value;
        let text = |v: &Option<String>| v.clone().map(Value::String);
        match field {
            "contact_name" => Some(Value::String(self.contact_name.clone())),
            "company_name" => text(&self.company_name),
            "email" => text(&self.email),
            "email_domain" => self
                .email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| Value::String(d.to_owned())),
            "phone" => text(&self.phone),
            "title" => text(&self.title),
            "industry" => text(&self.industry),
            "website" => text(&self.website),
            "country" => text(&self.country),
            "company_size" => self.company_size.map(Value::from),
            "budget_minor" => self.budget_minor.map(Value::from),
            "source" => Some(Value::String(self.source.name().to_owned())),
            "status" => Some(Value::String(self.status.name().to_owned())),
            "tags" => Some(Value::from(self.tags.clone())),
            other => other
                .strip_prefix("custom.")
                .and_then(|name| self.custom_fields.get(name))
                .filter(|v| !v.is_null())
                .cloned(),
        }
    }
}

/// One fact of a lead, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fact<'a> {
    /// Not set.
    Absent,
    /// Text.
    Text(&'a str),
    /// A whole number.
    Number(i64),
    /// The lead's tags (lower-case).
    Tags(&'a [String]),
    /// A custom field or a signal's property, as sent.
    Json(&'a serde_json::Value),
}

/// Lead fields that scoring rules and filters may name (besides `custom.<name>`).
pub const FACTS: &[&str] = &[
    "contact_name",
    "company_name",
    "email",
    "email_domain",
    "phone",
    "title",
    "industry",
    "website",
    "country",
    "company_size",
    "budget_minor",
    "source",
    "status",
    "tags",
];

/// The checked fields of a lead, for creating one or changing it (`None`: not given;
/// `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadFields {
    /// The person (required to create).
    pub contact_name: Option<String>,
    /// Company.
    pub company_name: Option<Option<String>>,
    /// Address.
    pub email: Option<Option<String>>,
    /// Phone.
    pub phone: Option<Option<String>>,
    /// Job title.
    pub title: Option<Option<String>>,
    /// Industry.
    pub industry: Option<Option<String>>,
    /// Website.
    pub website: Option<Option<String>>,
    /// Country.
    pub country: Option<Option<String>>,
    /// Employees.
    pub company_size: Option<Option<i64>>,
    /// Budget in minor units.
    pub budget_minor: Option<Option<i64>>,
    /// Budget currency.
    pub currency: Option<Option<String>>,
    /// Source.
    pub source: Option<LeadSource>,
    /// Status (new, contacted, qualified).
    pub status: Option<LeadStatus>,
    /// Owner.
    pub owner_id: Option<Option<String>>,
    /// The campaign it came from.
    pub campaign_id: Option<Option<String>>,
    /// Tags (the whole list).
    pub tags: Option<Vec<String>>,
    /// Custom fields to set (`null` removes one).
    pub custom_fields: Option<CustomFields>,
    /// Notes.
    pub notes: Option<Option<String>>,
}

/// The fields a person writes on a lead (the body of a create or a change, and
/// what its timeline tracks).
pub const LEAD_FIELDS: &[&str] = &[
    "contact_name",
    "company_name",
    "email",
    "phone",
    "title",
    "industry",
    "website",
    "country",
    "company_size",
    "budget_minor",
    "currency",
    "source",
    "status",
    "owner_id",
    "campaign_id",
    "tags",
    "custom_fields",
    "notes",
];

fn parse_website(field: &str, raw: &str) -> DomainResult<String> {
    let value = text(field, raw, 1, 255)?;
    let bare = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .unwrap_or(&value);
    let host = bare.split('/').next().unwrap_or_default();
    if host.contains('.') && !host.contains(' ') && !host.starts_with('.') {
        Ok(value)
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be a web address such as acme.example"),
        ))
    }
}

impl LeadFields {
    /// Reads a lead's fields; `creating` requires `contact_name` and refuses `null`s.
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, LEAD_FIELDS);
        let short = |max: usize| move |f: &str, raw: &str| text(f, raw, 1, max);
        let contact_name = input
            .string(&mut v, "contact_name", creating)
            .and_then(|s| v.take(text("contact_name", s, 1, 255)));
        let mut fields = Self {
            contact_name,
            company_name: clearable(&mut v, &input, "company_name", short(255)),
            email: clearable(&mut v, &input, "email", |f, raw| {
                EmailAddress::parse(f, raw).map(|e| e.as_str().to_owned())
            }),
            phone: clearable(&mut v, &input, "phone", crate::auth::sms::parse_phone),
            title: clearable(&mut v, &input, "title", short(120)),
            industry: clearable(&mut v, &input, "industry", short(100)),
            website: clearable(&mut v, &input, "website", parse_website),
            country: clearable(&mut v, &input, "country", fields::parse_country),
            company_size: fields::company_size(&mut v, &input, "company_size"),
            budget_minor: None,
            currency: clearable(&mut v, &input, "currency", |f, raw| {
                crate::kernel::money::Currency::parse(f, raw).map(|c| c.code().to_owned())
            }),
            source: input
                .string(&mut v, "source", false)
                .and_then(|raw| v.take(LeadSource::parse("source", raw))),
            status: input
                .string(&mut v, "status", false)
                .and_then(|raw| v.take(LeadStatus::parse("status", raw))),
            owner_id: fields::link(&mut v, &input, "owner_id", "usr"),
            campaign_id: fields::link(&mut v, &input, "campaign_id", "cmp"),
            tags: fields::tags(&mut v, &input, "tags"),
            custom_fields: fields::custom_fields(&mut v, &input, "custom_fields"),
            notes: clearable(&mut v, &input, "notes", short(10_000)),
        };
        if input.has("budget_minor") {
            fields.budget_minor = Some(match input.raw("budget_minor") {
                None => None,
                Some(_) => fields::amount(&mut v, &input, "budget_minor", false),
            });
        }
        if let Some(LeadStatus::Converted | LeadStatus::Lost) = fields.status {
            v.add(
                "status",
                "transition",
                "status may be new, contacted or qualified here: convert or lose a lead with its own action",
            );
        }
        if creating {
            for (key, cleared) in [
                ("company_name", fields.company_name == Some(None)),
                ("email", fields.email == Some(None)),
                ("owner_id", fields.owner_id == Some(None)),
                ("campaign_id", fields.campaign_id == Some(None)),
                ("budget_minor", fields.budget_minor == Some(None)),
                ("currency", fields.currency == Some(None)),
            ] {
                if cleared {
                    v.add(
                        key,
                        "type",
                        format!("{key}: leave it out rather than send null"),
                    );
                }
            }
        }
        v.finish()?;
        if !creating && fields == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one field to change",
            ));
        }
        Ok(fields)
    }

    /// Whether the budget has a currency once these fields are applied to `lead`.
    pub fn check_budget(&self, lead: Option<&Lead>) -> DomainResult<()> {
        let budget = match self.budget_minor {
            Some(b) => b,
            None => lead.and_then(|l| l.budget_minor),
        };
        let currency = match &self.currency {
            Some(c) => c.clone(),
            None => lead.and_then(|l| l.currency.clone()),
        };
        if budget.is_some() && currency.is_none() {
            // Creating, the request lacks it; changing, the lead's state does.
            return Err(match lead {
                None => DomainError::invalid(
                    "currency",
                    "required",
                    "currency is required with budget_minor",
                ),
                Some(_) => DomainError::conflict(
                    "currency",
                    "the lead has no currency: send currency with budget_minor",
                ),
            });
        }
        Ok(())
    }
}

/// What a list of leads is narrowed to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeadFilter {
    /// Only this status.
    pub status: Option<LeadStatus>,
    /// Only this source.
    pub source: Option<LeadSource>,
    /// Only leads this member owns.
    pub owner_id: Option<String>,
    /// Only leads with this tag.
    pub tag: Option<String>,
    /// Only leads scoring at least this.
    pub min_score: Option<i64>,
    /// Text in the name, company or address.
    pub q: Option<String>,
}

impl LeadFilter {
    /// Reads `status`, `source`, `owner_id`, `tag`, `min_score` and `q`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let status = get("status").and_then(|raw| v.take(LeadStatus::parse("status", raw)));
        let source = get("source").and_then(|raw| v.take(LeadSource::parse("source", raw)));
        let owner_id = get("owner_id")
            .and_then(|raw| v.take(crate::kernel::id::parse("owner_id", "usr", raw)));
        let tag = get("tag")
            .and_then(|t| v.take(text("tag", t, 1, 40)))
            .map(|t| t.to_lowercase());
        let min_score = get("min_score").and_then(|raw| match raw.parse::<i64>() {
            Ok(n) if (0..=100).contains(&n) => Some(n),
            _ => {
                v.add(
                    "min_score",
                    "range",
                    "min_score must be a whole number from 0 to 100",
                );
                None
            }
        });
        let q = get("q")
            .and_then(|q| v.take(text("q", q, 1, 100)))
            .map(|q| q.to_lowercase());
        v.finish()?;
        Ok(Self {
            status,
            source,
            owner_id,
            tag,
            min_score,
            q,
        })
    }
}

/// A reason a lead or deal was lost: 1–500 characters.
pub fn parse_reason(body: &serde_json::Value) -> DomainResult<String> {
    let input = Input::body(body)?;
    let mut v = Validator::new();
    input.reject_unknown(&mut v, &["reason"]);
    let reason = input
        .string(&mut v, "reason", true)
        .and_then(|s| v.take(text("reason", s, 1, 500)));
    v.finish()?;
    reason.ok_or_else(|| DomainError::invalid("reason", "required", "reason is required"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_lead_needs_a_name_and_checks_each_field() {
        let ok = LeadFields::parse(
            &json!({"contact_name": "Ada Lovelace", "email": "ADA@Example.com", "country": "gb",
                    "website": "https://analytical.example/engines", "company_size": 40, "tags": ["Warm"]}),
            true,
        )
        .unwrap();
        assert_eq!(ok.email, Some(Some("ada@example.com".into())));
        assert_eq!(ok.country, Some(Some("GB".into())));
        let err = LeadFields::parse(
            &json!({"email": "nope", "country": "GBR", "website": "nowhere", "company_size": 0,
                    "status": "converted", "source": "tv", "owner_id": "x", "email_domain": "a"}),
            true,
        )
        .unwrap_err();
        let text = format!("{err:?}");
        for field in [
            "contact_name",
            "email",
            "country",
            "website",
            "company_size",
            "status",
            "source",
            "owner_id",
            "email_domain",
        ] {
            assert!(text.contains(&format!("\"{field}")), "{field} in {text}");
        }
    }

    #[test]
    fn a_change_may_clear_fields_but_must_name_one() {
        assert!(LeadFields::parse(&json!({}), false).is_err());
        let patch =
            LeadFields::parse(&json!({"company_name": null, "company_size": null}), false).unwrap();
        assert_eq!(patch.company_name, Some(None));
        assert_eq!(patch.company_size, Some(None));
        assert!(LeadFields::parse(&json!({"company_name": null}), true).is_err());
    }

    #[test]
    fn a_budget_needs_a_currency() {
        let f =
            LeadFields::parse(&json!({"contact_name": "A", "budget_minor": 100}), true).unwrap();
        assert!(f.check_budget(None).is_err());
        let f = LeadFields::parse(
            &json!({"contact_name": "A", "budget_minor": 100, "currency": "eur"}),
            true,
        )
        .unwrap();
        assert!(f.check_budget(None).is_ok());
        // On a change the missing currency is the lead's state: a conflict.
        let change = LeadFields::parse(&json!({"budget_minor": 100}), false).unwrap();
        let lead: Lead = serde_json::from_value(json!({"id": "led_1", "contact_name": "A", "company_name": null,
            "email": null, "phone": null, "title": null, "industry": null, "website": null, "country": null,
            "company_size": null, "budget_minor": null, "currency": null, "source": "website", "status": "new",
            "score": 0, "owner_id": null, "tags": "[]", "custom_fields": "{}", "notes": null, "lost_reason": null,
            "account_id": null, "deal_id": null, "last_activity_at": null, "version": 1, "created_by": "usr_1",
            "created_at": 0, "updated_at": 0}))
        .unwrap();
        assert!(matches!(
            change.check_budget(Some(&lead)),
            Err(DomainError::Conflict {
                field: Some("currency"),
                ..
            })
        ));
        assert!(LeadFields::parse(&json!({"contact_name": "A", "currency": null}), true).is_err());
    }

    #[test]
    fn statuses_move_forward_back_and_reopen() {
        use LeadStatus::*;
        assert!(New.may_become(Qualified));
        assert!(Qualified.may_become(Contacted));
        assert!(Lost.may_become(New));
        assert!(!Lost.may_become(Qualified));
        assert!(!Converted.may_become(New));
    }
}
