//! The tenant boundary. A [`TenantScope`] is made only from verified token claims
//! (`auth::claims::VerifiedClaims::scope`) or, inside this crate, for the firm being
//! provisioned, never from a request body, and every repository statement filters by it. A client's portal user is
//! scoped further, to that client: repositories of client-owned records filter by
//! [`TenantScope::client_id`] when it is set.

/// The firm a request acts within.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantScope {
    firm_id: String,
    client_id: Option<String>,
}

impl TenantScope {
    /// A scope for `firm_id`, narrowed to `client_id` for a portal user. Only code of
    /// this crate that holds verified claims (or creates the firm) may make one.
    pub(crate) fn new(firm_id: &str, client_id: Option<&str>) -> Self {
        Self {
            firm_id: firm_id.to_owned(),
            client_id: client_id.map(str::to_owned),
        }
    }

    /// The scope of a firm that is being created right now (no token exists yet).
    pub(crate) fn for_new_firm(firm_id: &str) -> Self {
        Self::new(firm_id, None)
    }

    /// A scope for native repository tests (the `sqlite` feature exists only there).
    #[cfg(feature = "sqlite")]
    pub fn for_tests(firm_id: &str, client_id: Option<&str>) -> Self {
        Self::new(firm_id, client_id)
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
