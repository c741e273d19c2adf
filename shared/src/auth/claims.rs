//! What an access token says about its bearer.

use serde::{Deserialize, Serialize};

use super::roles::{Access, Area, Flag, Role};
use crate::kernel::error::DomainError;
use crate::kernel::tenant::TenantScope;

/// The custom claims Firmament signs into an access token (`exp`, `nbf` and `iat`
/// travel beside them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id.
    pub sub: String,
    /// The firm this token acts in.
    pub firm: String,
    /// The person's role in that firm (a staff role, or a portal role).
    pub role: Role,
    /// For a client's portal user: the client whose records they may see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Rights granted on top of the role.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// The sign-in session the token belongs to.
    pub sid: String,
    /// How the user authenticated (`pwd`, `otp`, `sms`, `oidc`, `saml`).
    #[serde(default)]
    pub amr: Vec<String>,
    /// When the bearer last proved a second factor (Unix seconds), if ever in this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_at: Option<i64>,
    /// Who issued it.
    pub iss: String,
    /// Who it is for.
    pub aud: String,
}

impl AccessClaims {
    /// Claims for a member of a firm in a session (`iss`/`aud` are set by the signer).
    pub fn for_member(
        user_id: &str,
        membership: &crate::firm::members::Membership,
        session_id: &str,
        amr: &[String],
        mfa_at: Option<i64>,
    ) -> Self {
        Self {
            sub: user_id.to_owned(),
            firm: membership.firm_id.clone(),
            role: membership.role,
            client: membership.client_id.clone(),
            flags: membership.flags.clone(),
            sid: session_id.to_owned(),
            amr: amr.to_vec(),
            mfa_at,
            iss: String::new(),
            aud: String::new(),
        }
    }
}

/// Claims whose signature, issuer, audience and validity window were checked.
/// Only the token verifier makes one, so holding one proves the checks ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub(super) claims: AccessClaims,
    pub(super) expires_at: i64,
    pub(super) api_key: Option<ApiKeyGrant>,
}

/// What an API key may do: its scopes instead of a member's role and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyGrant {
    /// The key's scopes.
    pub scopes: Vec<super::api_keys::Scope>,
}

impl VerifiedClaims {
    /// Claims of a verified API key.
    pub(super) fn for_api_key(claims: AccessClaims, grant: ApiKeyGrant, expires_at: i64) -> Self {
        Self {
            claims,
            expires_at,
            api_key: Some(grant),
        }
    }

    /// Whether the bearer is an API key rather than a person.
    pub fn is_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The person behind the request; API keys may not use person-only routes
    /// (sessions, second factors, key management).
    pub fn person(&self) -> Result<&str, DomainError> {
        if self.is_api_key() {
            Err(DomainError::Forbidden(
                "this route is for people, not API keys".into(),
            ))
        } else {
            Ok(&self.claims.sub)
        }
    }

    /// The tenant scope these claims give: their firm, narrowed to their client for a
    /// portal user.
    pub fn scope(&self) -> TenantScope {
        TenantScope::new(self.firm_id(), self.client_id())
    }

    /// The user.
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }

    /// The firm.
    pub fn firm_id(&self) -> &str {
        &self.claims.firm
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.claims.role
    }

    /// For a client's portal user, their client.
    pub fn client_id(&self) -> Option<&str> {
        self.claims.client.as_deref()
    }

    /// The flags.
    pub fn flags(&self) -> &[Flag] {
        &self.claims.flags
    }

    /// The session.
    pub fn session_id(&self) -> &str {
        &self.claims.sid
    }

    /// How the bearer authenticated.
    pub fn methods(&self) -> &[String] {
        &self.claims.amr
    }

    /// When the bearer last proved a second factor (Unix seconds).
    pub fn mfa_at(&self) -> Option<i64> {
        self.claims.mfa_at
    }

    /// Whether a second factor was proved within `window_secs` before `now`.
    pub fn second_factor_within(
        &self,
        now: crate::kernel::time::Instant,
        window_secs: i64,
    ) -> bool {
        self.claims
            .mfa_at
            .is_some_and(|at| now.secs() - at <= window_secs && at <= now.secs() + 60)
    }

    /// Expiry, Unix seconds.
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Ok when the bearer's role and flags allow `access` to `area`.
    pub fn require(&self, area: Area, access: Access) -> Result<(), DomainError> {
        if let Some(grant) = &self.api_key {
            return if grant.scopes.iter().any(|s| s.allows(area, access)) {
                Ok(())
            } else {
                Err(DomainError::Forbidden(
                    "the API key has no scope for this".into(),
                ))
            };
        }
        super::roles::authorize(self.claims.role, &self.claims.flags, area, access)
    }
}
