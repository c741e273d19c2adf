//! One error type for every domain operation; the runtime crate maps it to HTTP once.

use serde::Serialize;

/// A problem with one input field: which field, which rule it broke, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the field in the request body (`owner.email`).
    pub field: String,
    /// Stable machine name of the rule (`required`, `too_long`, `format` …).
    pub rule: &'static str,
    /// Human explanation.
    pub message: String,
}

/// Everything that can go wrong in a domain operation, in the firm's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request body or parameters broke one or more rules.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The request could not be read at all (malformed JSON, wrong content type).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body is larger than the route accepts.
    #[error("payload too large: limit {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No credentials, or credentials that cannot be trusted.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The action is sensitive and needs a second factor proved in the last minutes.
    #[error("step-up required")]
    StepUpRequired,
    /// The resource does not exist in the caller's firm (or at all).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with existing state: a unique handle already taken, an
    /// idempotency key already used for another request, a step the state does not allow.
    #[error("conflict: {detail}")]
    Conflict {
        /// Field that conflicts, when there is one.
        field: Option<&'static str>,
        /// Human explanation.
        detail: String,
    },
    /// A link or one-time token that worked once and no longer does (used, expired
    /// or withdrawn; unknown ones answer the same, so nothing is learnt by guessing).
    #[error("gone: {0}")]
    Gone(String),
    /// `If-Match` named a version that is no longer current.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// Too many requests; try again after the given number of seconds.
    #[error("rate limited, retry after {retry_after_secs}s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The content is not of the type it claims, or of no type the route takes.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A dependency (database, queue) failed; never caused by the caller's input.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// A validation error about one field.
    pub fn invalid(
        field: impl Into<String>,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        DomainError::Validation(vec![FieldError {
            field: field.into(),
            rule,
            message: message.into(),
        }])
    }

    /// A conflict on one field's unique value.
    pub fn conflict(field: &'static str, detail: impl Into<String>) -> Self {
        DomainError::Conflict {
            field: Some(field),
            detail: detail.into(),
        }
    }

    /// The human explanation without the kind prefix, for a problem's `detail`.
    pub fn detail(&self) -> String {
        match self {
            DomainError::Validation(errs) => errs
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            DomainError::BadRequest(d)
            | DomainError::Unauthenticated(d)
            | DomainError::Forbidden(d)
            | DomainError::PreconditionFailed(d)
            | DomainError::Gone(d)
            | DomainError::Unavailable(d)
            | DomainError::UnsupportedMediaType(d)
            | DomainError::Conflict { detail: d, .. } => d.clone(),
            DomainError::PayloadTooLarge { limit } => {
                format!("the request body must be at most {limit} bytes")
            }
            DomainError::NotFound(what) => format!("no such {what}"),
            DomainError::StepUpRequired => {
                "this action needs a second factor from the last 10 minutes: POST /v1/auth/mfa/step-up".into()
            }
            DomainError::RateLimited { retry_after_secs } => {
                format!("try again in {retry_after_secs} seconds")
            }
        }
    }

    /// Stable problem type slug, used in problem+json `type` URIs and by clients.
    pub fn kind(&self) -> &'static str {
        match self {
            DomainError::Validation(_) => "validation",
            DomainError::BadRequest(_) => "bad-request",
            DomainError::PayloadTooLarge { .. } => "payload-too-large",
            DomainError::Unauthenticated(_) => "unauthenticated",
            DomainError::Forbidden(_) => "forbidden",
            DomainError::StepUpRequired => "step-up-required",
            DomainError::NotFound(_) => "not-found",
            DomainError::Conflict { .. } => "conflict",
            DomainError::PreconditionFailed(_) => "precondition-failed",
            DomainError::Gone(_) => "gone",
            DomainError::RateLimited { .. } => "rate-limited",
            DomainError::Unavailable(_) => "unavailable",
            DomainError::UnsupportedMediaType(_) => "unsupported-media-type",
        }
    }
}
