//! Accounts (companies being sold to) and contacts (people at them). An account is
//! a prospect until a deal with it is won, then a customer linked to the client it
//! became.

use serde::{Deserialize, Serialize};

use super::fields;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::columns::json_typed;
use crate::kernel::validate::{text, EmailAddress, Input, Validator};

crate::wire_enum!(
    /// Where an account stands with the firm.
    Lifecycle, "of the account lifecycles" {
        /// Being sold to.
        Prospect = "prospect",
        /// A deal was won: it is (linked to) a client.
        Customer = "customer",
        /// No longer worked.
        Former = "former",
    }
);

/// An account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// `acc_…`
    pub id: String,
    /// The company's name.
    pub name: String,
    /// Its web domain (`acme.example`).
    pub domain: Option<String>,
    /// Its industry.
    pub industry: Option<String>,
    /// Employees.
    pub company_size: Option<i64>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Prospect, customer or former.
    pub lifecycle: Lifecycle,
    /// The member who owns the relationship.
    pub owner_id: Option<String>,
    /// The client it became.
    pub client_id: Option<String>,
    /// Lower-case tags.
    #[serde(deserialize_with = "json_typed")]
    pub tags: Vec<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Account {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// `ctc_…`
    pub id: String,
    /// The account they work at.
    pub account_id: Option<String>,
    /// Their name.
    pub name: String,
    /// Their address.
    pub email: Option<String>,
    /// Their phone, E.164.
    pub phone: Option<String>,
    /// Their job title.
    pub title: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// Checked account fields (`None`: not given; `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFields {
    /// Name (required to create).
    pub name: Option<String>,
    /// Domain.
    pub domain: Option<Option<String>>,
    /// Industry.
    pub industry: Option<Option<String>>,
    /// Employees.
    pub company_size: Option<Option<i64>>,
    /// Country.
    pub country: Option<Option<String>>,
    /// Lifecycle (changes only; customer comes from a won deal).
    pub lifecycle: Option<Lifecycle>,
    /// Owner.
    pub owner_id: Option<Option<String>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
}

fn parse_domain(field: &str, raw: &str) -> DomainResult<String> {
    let d = raw
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be a domain such as acme.example"),
        ))
    }
}

impl AccountFields {
    /// Reads `{"name", "domain"?, "industry"?, "company_size"?, "country"?, "owner_id"?, "tags"?}`
    /// and, for a change, `lifecycle` (prospect or former).
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        let mut known = vec![
            "name",
            "domain",
            "industry",
            "company_size",
            "country",
            "owner_id",
            "tags",
        ];
        if !creating {
            known.push("lifecycle");
        }
        input.reject_unknown(&mut v, &known);
        let name = input
            .string(&mut v, "name", creating)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let domain = fields::clearable(&mut v, &input, "domain", parse_domain);
        let industry = fields::optional_text(&mut v, &input, "industry", 100);
        let country = fields::clearable(&mut v, &input, "country", fields::parse_country);
        let company_size = fields::company_size(&mut v, &input, "company_size");
        let lifecycle = input
            .string(&mut v, "lifecycle", false)
            .and_then(|raw| v.take(Lifecycle::parse("lifecycle", raw)));
        if lifecycle == Some(Lifecycle::Customer) {
            v.add(
                "lifecycle",
                "transition",
                "an account becomes a customer when one of its deals is won",
            );
        }
        let out = Self {
            name,
            domain,
            industry,
            company_size,
            country,
            lifecycle,
            owner_id: fields::link(&mut v, &input, "owner_id", "usr"),
            tags: fields::tags(&mut v, &input, "tags"),
        };
        v.finish()?;
        if !creating && out == Self::default() {
            return Err(DomainError::invalid(
                "body",
                "empty",
                "name at least one field to change",
            ));
        }
        Ok(out)
    }
}

/// What a list of accounts is narrowed to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccountFilter {
    /// Only this lifecycle.
    pub lifecycle: Option<Lifecycle>,
    /// Text in the name or domain (lower-cased).
    pub q: Option<String>,
}

impl AccountFilter {
    /// Reads `lifecycle` and `q` through `get`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let lifecycle = get("lifecycle").and_then(|raw| v.take(Lifecycle::parse("lifecycle", raw)));
        let q = get("q")
            .and_then(|raw| v.take(text("q", raw, 1, 100)))
            .map(|q| q.to_lowercase());
        v.finish()?;
        Ok(Self { lifecycle, q })
    }
}

/// A checked new contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    /// Their account.
    pub account_id: Option<String>,
    /// 1–255 characters.
    pub name: String,
    /// Their address.
    pub email: Option<String>,
    /// Their phone.
    pub phone: Option<String>,
    /// Their title.
    pub title: Option<String>,
}

impl NewContact {
    /// Reads `{"name", "account_id"?, "email"?, "phone"?, "title"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "account_id", "email", "phone", "title"]);
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let account_id = input
            .string(&mut v, "account_id", false)
            .and_then(|raw| v.take(crate::kernel::id::parse("account_id", "acc", raw)));
        let email = input
            .string(&mut v, "email", false)
            .and_then(|raw| v.take(EmailAddress::parse("email", raw)))
            .map(|e| e.as_str().to_owned());
        let phone = input
            .string(&mut v, "phone", false)
            .and_then(|raw| v.take(crate::auth::sms::parse_phone("phone", raw)));
        let title = input
            .string(&mut v, "title", false)
            .and_then(|s| v.take(text("title", s, 1, 120)));
        v.finish()?;
        Ok(Self {
            account_id,
            name: name
                .ok_or_else(|| DomainError::invalid("name", "required", "name is required"))?,
            email,
            phone,
            title,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accounts_check_their_fields_and_never_become_customers_by_hand() {
        let ok = AccountFields::parse(
            &json!({"name": "Acme", "domain": "https://Acme.Example/", "country": "fr"}),
            true,
        )
        .unwrap();
        assert_eq!(ok.domain, Some(Some("acme.example".into())));
        assert_eq!(ok.country, Some(Some("FR".into())));
        let err = AccountFields::parse(&json!({"domain": "no", "lifecycle": "customer"}), false)
            .unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("domain") && text.contains("lifecycle"),
            "{text}"
        );
        assert!(AccountFields::parse(&json!({"lifecycle": "former"}), true).is_err());
    }

    #[test]
    fn a_contact_needs_a_name() {
        assert!(NewContact::parse(&json!({"email": "a@b.example"})).is_err());
        let c = NewContact::parse(&json!({"name": "Bo", "phone": "+44 20 7946 0958"})).unwrap();
        assert!(c.phone.unwrap().starts_with("+44"));
    }
}
