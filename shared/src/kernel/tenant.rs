//! The tenant boundary. A [`TenantScope`] is made only from verified token claims
//! (or, inside this crate, for the firm being provisioned), never from a request
//! body, and every repository statement filters by it.

use crate::auth::claims::VerifiedClaims;

/// The firm a request acts within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    firm_id: String,
}

impl TenantScope {
    /// The scope of a caller whose token was verified.
    pub fn from_claims(claims: &VerifiedClaims) -> Self {
        Self {
            firm_id: claims.firm_id().to_owned(),
        }
    }

    /// The scope of a firm that is being created right now (no token exists yet).
    pub(crate) fn for_new_firm(firm_id: &str) -> Self {
        Self {
            firm_id: firm_id.to_owned(),
        }
    }

    /// The firm's id, for binding into statements.
    pub fn firm_id(&self) -> &str {
        &self.firm_id
    }
}
