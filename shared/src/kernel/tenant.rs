//! The tenant boundary. A [`TenantScope`] is made only from verified token claims
//! (or, inside this crate, for the firm being provisioned), never from a request
//! body, and every repository statement filters by it. A client's portal user is
//! scoped further, to that client: repositories of client-owned records filter by
//! [`TenantScope::client_id`] when it is set.

use crate::auth::claims::VerifiedClaims;

/// The firm a request acts within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    firm_id: String,
    client_id: Option<String>,
}

impl TenantScope {
    /// The scope of a caller whose token was verified.
    pub fn from_claims(claims: &VerifiedClaims) -> Self {
        Self {
            firm_id: claims.firm_id().to_owned(),
            client_id: claims.client_id().map(str::to_owned),
        }
    }

    /// The scope of a firm that is being created right now (no token exists yet).
    pub(crate) fn for_new_firm(firm_id: &str) -> Self {
        Self {
            firm_id: firm_id.to_owned(),
            client_id: None,
        }
    }

    /// The firm's id, for binding into statements.
    pub fn firm_id(&self) -> &str {
        &self.firm_id
    }

    /// For a portal user, the one client whose records the request may touch.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}
