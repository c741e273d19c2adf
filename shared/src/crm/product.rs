//! The firm's catalogue of what it sells: services, goods, subscriptions and
//! bundles, each with a unique code and a price in one currency. A proposal's
//! line may name a product; the line then takes the product's name and price
//! unless it says otherwise. An archived product stays on the proposals that
//! named it but is offered no more.

use serde::{Deserialize, Serialize};

use super::fields;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::validate::{text, Input, Validator};

crate::wire_enum!(
    /// What kind of thing it is.
    ProductKind, "of the product kinds" {
        /// Work done for the client (an audit, an hour of advice).
        Service = "service",
        /// A thing delivered.
        Product = "product",
        /// Billed again every interval.
        Subscription = "subscription",
        /// Several of the others sold together.
        Bundle = "bundle",
    }
);

crate::wire_enum!(
    /// Whether it is offered.
    ProductStatus, "of the product statuses" {
        /// On sale: proposals may name it.
        Active = "active",
        /// Paused: not offered, may come back.
        Inactive = "inactive",
        /// Retired for good.
        Archived = "archived",
    }
);

crate::wire_enum!(
    /// How often a subscription is billed.
    BillingInterval, "of the billing intervals" {
        /// Every month.
        Month = "month",
        /// Every quarter.
        Quarter = "quarter",
        /// Every year.
        Year = "year",
    }
);

/// Products a firm may have.
pub const MAX_PRODUCTS: i64 = 5_000;

/// A product as stored and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// `prd_…`
    pub id: String,
    /// The firm's own code, unique in the firm (`AUDIT-STD`).
    pub code: String,
    /// What it is called on a proposal.
    pub name: String,
    /// More about it.
    pub description: Option<String>,
    /// What kind of thing it is.
    pub kind: ProductKind,
    /// Whether it is offered.
    pub status: ProductStatus,
    /// The price of one, in minor units of `currency`.
    pub unit_price_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// A subscription's billing interval (none for the other kinds).
    pub billing_interval: Option<BillingInterval>,
    /// A grouping for the catalogue (`Tax`, `Advisory`).
    pub category: Option<String>,
    /// Lower-case labels.
    #[serde(deserialize_with = "crate::kernel::sql::columns::json_typed")]
    pub tags: Vec<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Product {
    /// The strong entity tag of this version.
    pub fn etag(&self) -> String {
        crate::kernel::etag::of(self.version)
    }
}

/// A checked product body: on a create `code`, `name`, `kind`,
/// `unit_price_minor` and `currency` are required; on a change any field may be
/// given (`Some(None)` clears an optional one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFields {
    /// 1–40 of letters, digits, `.`, `_` and `-`, kept as typed.
    pub code: Option<String>,
    /// 1–200 characters.
    pub name: Option<String>,
    /// Up to 5,000 characters.
    pub description: Option<Option<String>>,
    /// The kind.
    pub kind: Option<ProductKind>,
    /// Offered or not.
    pub status: Option<ProductStatus>,
    /// The price of one.
    pub unit_price_minor: Option<i64>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// Required for a subscription, refused for the other kinds.
    pub billing_interval: Option<Option<BillingInterval>>,
    /// Up to 100 characters.
    pub category: Option<Option<String>>,
    /// Lower-case labels.
    pub tags: Option<Vec<String>>,
}

fn parse_code(field: &str, raw: &str) -> Result<String, DomainError> {
    let code = raw.trim();
    let ok = (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(code.to_owned())
    } else {
        Err(DomainError::invalid(
            field,
            "format",
            format!("{field} must be 1 to 40 letters, digits, dots, underscores or hyphens"),
        ))
    }
}

impl ProductFields {
    /// Reads a product body (see the type).
    pub fn parse(body: &serde_json::Value, creating: bool) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &[
                "code",
                "name",
                "description",
                "kind",
                "status",
                "unit_price_minor",
                "currency",
                "billing_interval",
                "category",
                "tags",
            ],
        );
        let code = input
            .string(&mut v, "code", creating)
            .and_then(|raw| v.take(parse_code("code", raw)));
        let name = input
            .string(&mut v, "name", creating)
            .and_then(|raw| v.take(text("name", raw, 1, 200)));
        let description = fields::optional_text(&mut v, &input, "description", 5_000);
        let kind = input
            .string(&mut v, "kind", creating)
            .and_then(|raw| v.take(ProductKind::parse("kind", raw)));
        let status = input
            .string(&mut v, "status", false)
            .and_then(|raw| v.take(ProductStatus::parse("status", raw)));
        let unit_price_minor = fields::amount(&mut v, &input, "unit_price_minor", creating);
        let currency =
            fields::currency(&mut v, &input, "currency", creating).map(|c| c.code().to_owned());
        let billing_interval = fields::clearable(&mut v, &input, "billing_interval", |f, raw| {
            BillingInterval::parse(f, raw)
        });
        let category = fields::optional_text(&mut v, &input, "category", 100);
        let tags = fields::tags(&mut v, &input, "tags");
        v.finish()?;
        let parsed = Self {
            code,
            name,
            description,
            kind,
            status,
            unit_price_minor,
            currency,
            billing_interval,
            category,
            tags,
        };
        fields::require_change(creating, parsed == Self::default(), "product")?;
        Ok(parsed)
    }

    /// The product these fields make of `before` (a new one when `None`), checked
    /// as a whole: a subscription has a billing interval and nothing else does. A
    /// new product that breaks the rule is a 422; a change that would leave the
    /// stored product breaking it a 409.
    pub fn apply(&self, before: Option<&Product>, id: &str, now: i64) -> DomainResult<Product> {
        let mut p = match before {
            Some(p) => p.clone(),
            None => Product {
                id: id.to_owned(),
                code: String::new(),
                name: String::new(),
                description: None,
                kind: ProductKind::Service,
                status: ProductStatus::Active,
                unit_price_minor: 0,
                currency: String::new(),
                billing_interval: None,
                category: None,
                tags: Vec::new(),
                version: 1,
                created_at: now,
                updated_at: now,
            },
        };
        let set = |slot: &mut Option<String>, v: &Option<Option<String>>| {
            if let Some(v) = v {
                slot.clone_from(v);
            }
        };
        if let Some(v) = &self.code {
            p.code.clone_from(v);
        }
        if let Some(v) = &self.name {
            p.name.clone_from(v);
        }
        set(&mut p.description, &self.description);
        set(&mut p.category, &self.category);
        if let Some(v) = self.kind {
            p.kind = v;
        }
        if let Some(v) = self.status {
            p.status = v;
        }
        if let Some(v) = self.unit_price_minor {
            p.unit_price_minor = v;
        }
        if let Some(v) = &self.currency {
            p.currency.clone_from(v);
        }
        if let Some(v) = self.billing_interval {
            p.billing_interval = v;
        }
        if let Some(v) = &self.tags {
            p.tags.clone_from(v);
        }
        p.updated_at = now;
        let refuse = |rule: &'static str, message: &str| match before {
            None => DomainError::invalid("billing_interval", rule, message),
            Some(_) => DomainError::conflict("billing_interval", message),
        };
        match (p.kind, p.billing_interval) {
            (ProductKind::Subscription, None) => Err(refuse(
                "required",
                "a subscription needs billing_interval: month, quarter or year",
            )),
            (ProductKind::Subscription, Some(_)) | (_, None) => Ok(p),
            (_, Some(_)) => Err(refuse(
                "unexpected",
                "only a subscription has a billing_interval",
            )),
        }
    }
}

/// What a list of products is narrowed to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProductFilter {
    /// Only this status.
    pub status: Option<ProductStatus>,
    /// Only this kind.
    pub kind: Option<ProductKind>,
    /// Only this category (as written).
    pub category: Option<String>,
    /// Text in the code or name (lower-cased).
    pub q: Option<String>,
}

impl ProductFilter {
    /// Reads `status`, `kind`, `category` and `q` through `get`.
    pub fn parse<'a>(get: impl Fn(&str) -> Option<&'a str>) -> DomainResult<Self> {
        let mut v = Validator::new();
        let status = get("status").and_then(|raw| v.take(ProductStatus::parse("status", raw)));
        let kind = get("kind").and_then(|raw| v.take(ProductKind::parse("kind", raw)));
        let category = get("category").and_then(|raw| v.take(text("category", raw, 1, 100)));
        let q = get("q")
            .and_then(|raw| v.take(text("q", raw, 1, 100)))
            .map(|q| q.to_lowercase());
        v.finish()?;
        Ok(Self {
            status,
            kind,
            category,
            q,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule_of(result: DomainResult<impl std::fmt::Debug>) -> (String, String) {
        match result {
            Err(DomainError::Validation(list)) => (list[0].field.clone(), list[0].rule.to_owned()),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_product_needs_its_code_name_kind_and_price_and_a_subscription_its_interval() {
        let body = json!({"code": "AUDIT-STD", "name": "Statutory audit", "kind": "service",
                          "unit_price_minor": 900000, "currency": "eur"});
        let fields = ProductFields::parse(&body, true).unwrap();
        let p = fields.apply(None, "prd_1", 5).unwrap();
        assert_eq!(
            (p.currency.as_str(), p.status),
            ("EUR", ProductStatus::Active)
        );
        assert_eq!(
            rule_of(ProductFields::parse(&json!({"name": "x"}), true)).0,
            "code"
        );
        assert_eq!(
            rule_of(ProductFields::parse(&json!({"code": "a b"}), false)),
            ("code".to_owned(), "format".to_owned())
        );
        let sub = ProductFields::parse(
            &json!({"code": "BOOKS", "name": "Bookkeeping", "kind": "subscription",
                    "unit_price_minor": 30000, "currency": "EUR"}),
            true,
        )
        .unwrap();
        assert_eq!(
            rule_of(sub.apply(None, "prd_2", 5)),
            ("billing_interval".to_owned(), "required".to_owned())
        );
        let monthly = ProductFields::parse(&json!({"billing_interval": "month"}), false).unwrap();
        let made = sub
            .apply(None, "prd_2", 5)
            .or_else(|_| {
                let mut with = sub.clone();
                with.billing_interval = monthly.billing_interval;
                with.apply(None, "prd_2", 5)
            })
            .unwrap();
        assert_eq!(made.billing_interval, Some(BillingInterval::Month));
        // Turning it into a service keeps no interval by accident.
        let service = ProductFields::parse(&json!({"kind": "service"}), false).unwrap();
        assert!(matches!(
            service.apply(Some(&made), "prd_2", 6),
            Err(DomainError::Conflict {
                field: Some("billing_interval"),
                ..
            })
        ));
        let both =
            ProductFields::parse(&json!({"kind": "service", "billing_interval": null}), false)
                .unwrap();
        assert_eq!(
            both.apply(Some(&made), "prd_2", 6)
                .unwrap()
                .billing_interval,
            None
        );
        assert_eq!(rule_of(ProductFields::parse(&json!({}), false)).1, "empty");
    }
}
