//! Provisioning: a new firm, its owner's account and the owner's membership, created
//! in one batch together with the `firm.created` event.

use crate::auth::claims::AccessClaims;
use crate::auth::password::NewPassword;
use crate::auth::roles::{Flag, Role};
use crate::auth::sessions;
use crate::auth::users::{self, User};
use crate::catalogue::DomainEvent as _;
use crate::kernel::audit::Origin;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::events::{self, EventEnvelope};
use crate::kernel::id::new_id;
use crate::kernel::money::Currency;
use crate::kernel::sql::{violates_unique, Statement};
use crate::kernel::tenant::TenantScope;
use crate::kernel::time::{Instant, TimeZone};
use crate::kernel::validate::{text, EmailAddress, Input, Validator};

use super::model::{parse_slug, Firm, FirmStatus, Tier, TRIAL_DAYS};
use super::repository;

/// Default zone when the request names none (the original's default).
pub const DEFAULT_TIMEZONE: &str = "America/New_York";
/// Default currency when the request names none.
pub const DEFAULT_CURRENCY: &str = "USD";

/// A checked provisioning request.
pub struct ProvisionFirm {
    name: String,
    slug: String,
    timezone: TimeZone,
    currency: Currency,
    owner_email: EmailAddress,
    owner_name: String,
    owner_password: NewPassword,
}

impl ProvisionFirm {
    /// Reads `{"name", "slug", "timezone"?, "currency"?, "owner": {"email", "password", "name"}}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(&mut v, &["name", "slug", "timezone", "currency", "owner"]);
        let name = input
            .string(&mut v, "name", true)
            .and_then(|s| v.take(text("name", s, 1, 255)));
        let slug = input
            .string(&mut v, "slug", true)
            .and_then(|s| v.take(parse_slug("slug", s)));
        let timezone_raw = input
            .string(&mut v, "timezone", false)
            .unwrap_or(DEFAULT_TIMEZONE);
        let timezone = v.take(TimeZone::parse("timezone", timezone_raw));
        let currency_raw = input
            .string(&mut v, "currency", false)
            .unwrap_or(DEFAULT_CURRENCY);
        let currency = v.take(Currency::parse("currency", currency_raw));
        let mut owner_email = None;
        let mut owner_name = None;
        let mut owner_password = None;
        if let Some(owner) = input.object(&mut v, "owner", true) {
            owner.reject_unknown(&mut v, &["email", "password", "name"]);
            owner_email = owner
                .string(&mut v, "email", true)
                .and_then(|s| v.take(EmailAddress::parse("owner.email", s)));
            owner_name = owner
                .string(&mut v, "name", true)
                .and_then(|s| v.take(text("owner.name", s, 1, 255)));
            owner_password = owner.string(&mut v, "password", true).and_then(|s| {
                v.take(NewPassword::parse(
                    "owner.password",
                    s,
                    owner_email.as_ref(),
                ))
            });
        }
        v.finish()?;
        match (
            name,
            slug,
            timezone,
            currency,
            owner_email,
            owner_name,
            owner_password,
        ) {
            (
                Some(name),
                Some(slug),
                Some(timezone),
                Some(currency),
                Some(owner_email),
                Some(owner_name),
                Some(owner_password),
            ) => Ok(Self {
                name,
                slug,
                timezone,
                currency,
                owner_email,
                owner_name,
                owner_password,
            }),
            _ => Err(DomainError::invalid(
                "body",
                "invalid",
                "the request is incomplete",
            )),
        }
    }
}

/// Everything a provisioning writes, ready to run as one batch.
pub struct Provisioned {
    /// The new firm.
    pub firm: Firm,
    /// Its owner's account.
    pub owner: User,
    /// Claims for the owner's first access token. Its session is real (sign-out and
    /// revocation work) but its refresh token is never shown: the provisioning answer
    /// may be stored for idempotent replay, and a 30-day secret must not be. The owner
    /// signs in for a refresh token.
    pub owner_claims: AccessClaims,
    /// The `firm.created` event, to publish after the batch.
    pub event: EventEnvelope,
    /// The statements, in order.
    pub statements: Vec<Statement>,
}

/// Names the field behind a unique violation of the provisioning batch; other
/// errors pass through.
pub fn explain_conflict(err: DomainError) -> DomainError {
    if violates_unique(&err, "firm_firms.slug") {
        DomainError::conflict("slug", "a firm with this slug already exists")
    } else if violates_unique(&err, "auth_users.email") {
        DomainError::conflict(
            "owner.email",
            "an account with this e-mail address already exists; sign in to create another firm",
        )
    } else {
        err
    }
}

/// The event a provisioning emits; the firm module finishes the firm when it arrives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FirmCreated {
    /// The new firm (`frm_…`).
    pub firm_id: String,
    /// Its URL name.
    pub slug: String,
    /// The owner's user id (`usr_…`).
    pub owner_user_id: String,
}

impl crate::catalogue::DomainEvent for FirmCreated {
    const TYPE: &'static str = "firm.created";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A firm was provisioned with its owner; it is on trial until its plan is chosen.";
    fn example() -> Self {
        Self {
            firm_id: "frm_01JD7X3V9T2Q4M8K6P1R5S0W3Z".into(),
            slug: "demo".into(),
            owner_user_id: "usr_01JD7X3V9T2Q4M8K6P1R5S0W40".into(),
        }
    }
}

/// Type of the event a provisioning emits.
pub const FIRM_CREATED: &str = <FirmCreated as crate::catalogue::DomainEvent>::TYPE;

/// Plans the provisioning of `input` at `now` (hashes the password, makes the ids,
/// opens the owner's first session from `origin`).
pub fn plan(input: ProvisionFirm, origin: &Origin, now: Instant) -> DomainResult<Provisioned> {
    let firm_id = new_id("frm", now.millis())?;
    let user_id = new_id("usr", now.millis())?;
    let scope = TenantScope::for_new_firm(&firm_id);
    let password_hash = input.owner_password.hash()?;
    let firm = Firm {
        id: firm_id.clone(),
        name: input.name,
        slug: input.slug,
        status: FirmStatus::Trial,
        tier: Tier::Starter,
        timezone: input.timezone.name().to_owned(),
        currency: input.currency.code().to_owned(),
        locale: "en-US".to_owned(),
        fiscal_year_start_month: 1,
        brand_color: None,
        trial_ends_at: Some(now.plus_millis(TRIAL_DAYS * 86_400_000).millis()),
        provisioned_at: None,
        created_at: now.millis(),
        updated_at: now.millis(),
        version: 1,
    };
    let owner = User {
        id: user_id.clone(),
        email: input.owner_email.as_str().to_owned(),
        name: input.owner_name.clone(),
    };
    let flags = Flag::ALL.to_vec();
    let event = FirmCreated {
        firm_id: firm.id.clone(),
        slug: firm.slug.clone(),
        owner_user_id: owner.id.clone(),
    }
    .envelope(&scope, now)?;
    let amr = vec!["pwd".to_owned()];
    let session = sessions::open(&user_id, &firm_id, &amr, None, origin, now)?;
    let mut statements = vec![
        repository::insert_firm(&firm),
        users::insert(
            &user_id,
            &input.owner_email,
            &input.owner_name,
            &password_hash,
            now,
        ),
        repository::insert_membership(&scope, &user_id, Role::FirmAdmin, &flags, now),
        events::record(&event, now)?,
    ];
    statements.extend(session.statements);
    let owner_claims = AccessClaims {
        sub: user_id,
        firm: firm_id,
        role: Role::FirmAdmin,
        client: None,
        flags,
        sid: session.id,
        amr,
        mfa_at: None,
        iss: String::new(),
        aud: String::new(),
    };
    Ok(Provisioned {
        firm,
        owner,
        owner_claims,
        event,
        statements,
    })
}
