//! The service provider side of SAML 2.0 Web Browser SSO, per firm: the firm's
//! identity-provider settings, SP metadata, the AuthnRequest (HTTP-Redirect
//! binding), and the checks an assertion must pass at the Assertion Consumer
//! Service (issuer, audience, recipient, validity window with 2 minutes of skew,
//! InResponseTo, one use per assertion id).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use super::xml::Element;
use crate::auth::roles::Role;
use crate::kernel::error::{DomainError, DomainResult};
use crate::kernel::sql::{query_one, Sql, Statement};
use crate::kernel::time::Instant;
use crate::kernel::validate::{text, Input, Validator};
use crate::stmt;

/// Clock skew tolerated on assertion times.
pub const SKEW_MS: i64 = 2 * 60 * 1000;
/// How long an AuthnRequest waits for its answer.
pub const REQUEST_TTL_MS: i64 = 10 * 60 * 1000;

/// A firm's identity-provider settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlConfig {
    /// The IdP's entity id (the assertion's Issuer).
    pub idp_entity_id: String,
    /// Where AuthnRequests go (HTTP-Redirect).
    pub idp_sso_url: String,
    /// The IdP's signing certificate (PEM).
    pub idp_certificate: String,
    /// Attribute holding the e-mail address (NameID when absent).
    pub email_attribute: String,
    /// Attribute holding the display name.
    pub name_attribute: String,
    /// Role of people who join through SSO.
    pub default_role: Role,
    /// Accept responses the IdP sends unasked (stored as 0/1).
    pub allow_idp_initiated: i64,
}

impl SamlConfig {
    /// Reads `{"idp_entity_id", "idp_sso_url", "idp_certificate", "email_attribute"?,
    /// "name_attribute"?, "default_role"?, "allow_idp_initiated"?}`.
    pub fn parse(body: &serde_json::Value) -> DomainResult<Self> {
        let input = Input::body(body)?;
        let mut v = Validator::new();
        input.reject_unknown(
            &mut v,
            &[
                "idp_entity_id",
                "idp_sso_url",
                "idp_certificate",
                "email_attribute",
                "name_attribute",
                "default_role",
                "allow_idp_initiated",
            ],
        );
        let entity = input
            .string(&mut v, "idp_entity_id", true)
            .and_then(|s| v.take(text("idp_entity_id", s, 1, 1024)));
        let url = input
            .string(&mut v, "idp_sso_url", true)
            .and_then(|s| v.take(text("idp_sso_url", s, 1, 2048)));
        if url.as_ref().is_some_and(|u| {
            !(u.starts_with("https://")
                || u.starts_with("http://127.0.0.1")
                || u.starts_with("http://localhost"))
        }) {
            v.add("idp_sso_url", "format", "idp_sso_url must be an https URL");
        }
        let certificate = input
            .string(&mut v, "idp_certificate", true)
            .map(str::to_owned);
        if let Some(pem) = &certificate {
            v.take(super::dsig::idp_key(pem).map(|_| ()).map_err(|_| {
                DomainError::invalid(
                    "idp_certificate",
                    "format",
                    "idp_certificate must be the IdP's X.509 signing certificate (PEM, RSA key)",
                )
            }));
        }
        let email_attribute = input
            .string(&mut v, "email_attribute", false)
            .unwrap_or("email")
            .to_owned();
        let name_attribute = input
            .string(&mut v, "name_attribute", false)
            .unwrap_or("displayName")
            .to_owned();
        let role = input
            .string(&mut v, "default_role", false)
            .and_then(|s| v.take(Role::parse("default_role", s)));
        if role == Some(Role::FirmAdmin) {
            v.add(
                "default_role",
                "one_of",
                "people who join through SSO cannot start as firm_admin",
            );
        }
        let allow = match body.get("allow_idp_initiated") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => {
                v.add(
                    "allow_idp_initiated",
                    "type",
                    "allow_idp_initiated must be true or false",
                );
                false
            }
        };
        v.finish()?;
        match (entity, url, certificate) {
            (Some(idp_entity_id), Some(idp_sso_url), Some(idp_certificate)) => Ok(Self {
                idp_entity_id,
                idp_sso_url,
                idp_certificate,
                email_attribute,
                name_attribute,
                default_role: role.unwrap_or(Role::Staff),
                allow_idp_initiated: i64::from(allow),
            }),
            _ => Err(DomainError::invalid(
                "body",
                "invalid",
                "the request is incomplete",
            )),
        }
    }

    /// The statement that stores it for `firm_id`.
    pub fn store(&self, firm_id: &str, now: Instant) -> Statement {
        stmt!(
            "INSERT INTO sso_saml_configs (firm_id, idp_entity_id, idp_sso_url, idp_certificate, email_attribute, name_attribute,
                                           default_role, allow_idp_initiated, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (firm_id) DO UPDATE SET idp_entity_id = excluded.idp_entity_id, idp_sso_url = excluded.idp_sso_url,
               idp_certificate = excluded.idp_certificate, email_attribute = excluded.email_attribute,
               name_attribute = excluded.name_attribute, default_role = excluded.default_role,
               allow_idp_initiated = excluded.allow_idp_initiated, updated_at = excluded.updated_at",
            firm_id,
            self.idp_entity_id.as_str(),
            self.idp_sso_url.as_str(),
            self.idp_certificate.as_str(),
            self.email_attribute.as_str(),
            self.name_attribute.as_str(),
            self.default_role.name(),
            self.allow_idp_initiated,
            now.millis()
        )
    }
}

/// A firm with SAML configured, found by its slug.
#[derive(Debug, Clone, Deserialize)]
pub struct FirmSaml {
    /// The firm.
    pub firm_id: String,
    /// Its plan.
    pub tier: crate::firm::model::Tier,
    /// Its settings.
    #[serde(flatten)]
    pub config: SamlConfig,
}

/// The SAML settings of the firm with `slug`, if it has any.
pub async fn for_slug(db: &impl Sql, slug: &str) -> DomainResult<Option<FirmSaml>> {
    query_one(
        db,
        stmt!(
            "SELECT c.firm_id, f.tier, c.idp_entity_id, c.idp_sso_url, c.idp_certificate, c.email_attribute, c.name_attribute,
                    c.default_role, c.allow_idp_initiated
               FROM sso_saml_configs c JOIN firm_firms f ON f.id = c.firm_id WHERE f.slug = ?1",
            slug
        ),
    )
    .await
}

/// The SP entity id and ACS URL of a firm.
pub fn endpoints(api_url: &str, slug: &str) -> (String, String) {
    let base = format!("{}/v1/sso/saml/{slug}", api_url.trim_end_matches('/'));
    (base.clone(), format!("{base}/acs"))
}

fn xml_attr(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// SP metadata (SAML 2.0 metadata, one ACS with the HTTP-POST binding).
pub fn metadata(entity_id: &str, acs_url: &str) -> String {
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{}\">\
<md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>\
<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"{}\" index=\"0\" isDefault=\"true\"/>\
</md:SPSSODescriptor></md:EntityDescriptor>",
        xml_attr(entity_id),
        xml_attr(acs_url)
    )
}

/// An AuthnRequest for the HTTP-Redirect binding: the `SAMLRequest` value
/// (raw DEFLATE, then base64) and the statement that remembers its id.
pub fn authn_request(
    firm_id: &str,
    config: &SamlConfig,
    entity_id: &str,
    acs_url: &str,
    browser: bool,
    now: Instant,
) -> DomainResult<(String, Statement)> {
    let mut random = [0u8; 16];
    crate::kernel::id::random_bytes(&mut random)?;
    let id = format!(
        "_{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" \
ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" AssertionConsumerServiceURL=\"{}\" \
ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"><saml:Issuer>{}</saml:Issuer></samlp:AuthnRequest>",
        now.to_chrono().format("%Y-%m-%dT%H:%M:%SZ"),
        xml_attr(&config.idp_sso_url),
        xml_attr(acs_url),
        xml_attr(entity_id)
    );
    let encoded = STANDARD.encode(miniz_oxide::deflate::compress_to_vec(xml.as_bytes(), 6));
    let statement = stmt!(
        "INSERT INTO sso_saml_requests (request_id, firm_id, browser, expires_at) VALUES (?1, ?2, ?3, ?4)",
        id,
        firm_id,
        browser,
        now.plus_millis(REQUEST_TTL_MS).millis()
    );
    Ok((encoded, statement))
}

/// What an accepted assertion says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Address, lower-case.
    pub email: String,
    /// Display name.
    pub name: String,
    /// The assertion's id (used once).
    pub assertion_id: String,
    /// Until when the assertion id must be remembered (Unix ms).
    pub valid_until: i64,
    /// The request it answers, if any.
    pub in_response_to: Option<String>,
}

fn refused(why: &str) -> DomainError {
    DomainError::Unauthenticated(format!("the SAML assertion was refused: {why}"))
}

fn time_of(element: Option<&Element>, attr: &str) -> Option<i64> {
    element
        .and_then(|e| e.attr(attr))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis())
}

fn descendant<'a>(element: &'a Element, path: &[&str]) -> Option<&'a Element> {
    path.iter().try_fold(element, |e, local| e.child(local))
}

/// Checks a verified assertion against the firm's settings and the SP's endpoints.
pub fn check(
    assertion: &Element,
    config: &SamlConfig,
    entity_id: &str,
    acs_url: &str,
    now: Instant,
) -> DomainResult<Person> {
    let issuer = assertion
        .child("Issuer")
        .map(|i| i.text())
        .unwrap_or_default();
    if issuer.trim() != config.idp_entity_id {
        return Err(refused("issued by another identity provider"));
    }
    let conditions = assertion.child("Conditions");
    let audience_ok = conditions
        .and_then(|c| c.child("AudienceRestriction"))
        .is_some_and(|r| {
            r.elements()
                .any(|a| a.local() == "Audience" && a.text().trim() == entity_id)
        });
    if !audience_ok {
        return Err(refused("meant for another service"));
    }
    let not_before = time_of(conditions, "NotBefore");
    let not_after =
        time_of(conditions, "NotOnOrAfter").ok_or_else(|| refused("no NotOnOrAfter"))?;
    if not_before.is_some_and(|t| t > now.millis() + SKEW_MS) {
        return Err(refused("not valid yet"));
    }
    if not_after <= now.millis() - SKEW_MS {
        return Err(refused("expired"));
    }
    let confirmation = descendant(
        assertion,
        &["Subject", "SubjectConfirmation", "SubjectConfirmationData"],
    );
    if confirmation.and_then(|c| c.attr("Recipient")) != Some(acs_url) {
        return Err(refused("delivered to another address"));
    }
    if time_of(confirmation, "NotOnOrAfter").is_some_and(|t| t <= now.millis() - SKEW_MS) {
        return Err(refused("expired"));
    }
    let attribute = |name: &str| {
        assertion
            .child("AttributeStatement")
            .and_then(|s| {
                s.elements()
                    .find(|a| a.local() == "Attribute" && a.attr("Name") == Some(name))
            })
            .and_then(|a| a.child("AttributeValue"))
            .map(|v| v.text().trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let email = attribute(&config.email_attribute)
        .or_else(|| {
            descendant(assertion, &["Subject", "NameID"]).map(|n| n.text().trim().to_owned())
        })
        .map(|e| e.to_lowercase())
        .filter(|e| e.contains('@'))
        .ok_or_else(|| refused("no e-mail address"))?;
    let name = attribute(&config.name_attribute).unwrap_or_else(|| email.clone());
    Ok(Person {
        email,
        name,
        assertion_id: assertion.attr("ID").unwrap_or_default().to_owned(),
        valid_until: not_after + SKEW_MS,
        in_response_to: confirmation
            .and_then(|c| c.attr("InResponseTo"))
            .map(str::to_owned),
    })
}

#[derive(Deserialize)]
struct Pending {
    browser: i64,
}

/// Takes the pending request an assertion answers (once); `None` when unknown or expired.
pub async fn take_request(
    db: &impl Sql,
    firm_id: &str,
    request_id: &str,
    now: Instant,
) -> DomainResult<Option<bool>> {
    let pending: Option<Pending> = query_one(
        db,
        stmt!(
            "DELETE FROM sso_saml_requests WHERE request_id = ?1 AND firm_id = ?2 AND expires_at > ?3 RETURNING browser",
            request_id,
            firm_id,
            now.millis()
        ),
    )
    .await?;
    Ok(pending.map(|p| p.browser != 0))
}

/// Whether the response may be taken, and if so whether it answers a browser
/// sign-in: it must answer a pending request of this firm (consumed now), or be
/// unsolicited where the firm allows IdP-initiated sign-in.
pub async fn answered(
    db: &impl Sql,
    firm: &FirmSaml,
    person: &Person,
    now: Instant,
) -> DomainResult<bool> {
    match &person.in_response_to {
        Some(request_id) => take_request(db, &firm.firm_id, request_id, now)
            .await?
            .ok_or_else(|| {
                DomainError::Unauthenticated(
                    "the SAML response answers no pending request of this firm".into(),
                )
            }),
        None if firm.config.allow_idp_initiated != 0 => Ok(false),
        None => Err(DomainError::Unauthenticated(
            "unsolicited SAML responses are not accepted for this firm".into(),
        )),
    }
}

/// Remembers an assertion id until it expires; fails (unique violation) on a replay.
pub fn remember(firm_id: &str, person: &Person) -> Statement {
    stmt!(
        "INSERT INTO sso_saml_assertions (firm_id, assertion_id, expires_at) VALUES (?1, ?2, ?3)",
        firm_id,
        person.assertion_id.as_str(),
        person.valid_until
    )
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// The person's account and active membership in the firm, created just in time:
/// a new account when none has the address, a membership with the firm's default
/// role when there is a seat. A deactivated member stays out.
pub async fn member_for(
    db: &impl Sql,
    firm: &FirmSaml,
    person: &Person,
    now: Instant,
) -> DomainResult<(String, crate::firm::members::Membership)> {
    let email = crate::kernel::validate::EmailAddress::parse("email", &person.email)?;
    let mut statements = Vec::new();
    let user_id = match crate::auth::recovery::account_for(db, &email).await? {
        Some((id, _)) => id,
        None => {
            let id = crate::kernel::id::new_id("usr", now.millis())?;
            statements.push(crate::auth::users::insert_without_password(
                &id,
                email.as_str(),
                &person.name,
                now,
            ));
            id
        }
    };
    if let Some(membership) = crate::firm::members::active_in(db, &user_id, &firm.firm_id).await? {
        return Ok((user_id, membership));
    }
    let existing: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM firm_memberships WHERE firm_id = ?1 AND user_id = ?2",
            firm.firm_id.as_str(),
            user_id.as_str()
        ),
    )
    .await?;
    if existing.is_some_and(|c| c.n > 0) {
        return Err(DomainError::Forbidden(
            "this member has been deactivated in the firm".into(),
        ));
    }
    let active: Option<Count> = query_one(
        db,
        stmt!(
            "SELECT COUNT(*) AS n FROM firm_memberships WHERE firm_id = ?1 AND is_active = 1",
            firm.firm_id.as_str()
        ),
    )
    .await?;
    if active.map_or(0, |c| c.n) >= crate::firm::members::plan_limit(firm.tier) {
        return Err(DomainError::Conflict {
            field: None,
            detail: "the firm's plan has no free seat for a new member".into(),
        });
    }
    statements.push(stmt!(
        "INSERT INTO firm_memberships (firm_id, user_id, role, flags, is_active, created_at) VALUES (?1, ?2, ?3, '[]', 1, ?4)",
        firm.firm_id.as_str(),
        user_id.as_str(),
        firm.config.default_role.name(),
        now.millis()
    ));
    db.batch(statements).await?;
    let membership = crate::firm::members::active_in(db, &user_id, &firm.firm_id)
        .await?
        .ok_or(DomainError::NotFound("membership"))?;
    Ok((user_id, membership))
}
