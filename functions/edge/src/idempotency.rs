//! `Idempotency-Key` for POST handlers: replay a stored answer, or store the new
//! answer in the same batch as the change.

use shared::kernel::idempotency::IdempotencyKey;
use shared::kernel::sql::Statement;
use shared::DomainError;
use worker::{Request, Response};

use crate::{http, RequestContext, D1};

/// The request's key, if it sent one.
pub struct Idempotency {
    key: Option<IdempotencyKey>,
}

/// What to do with a POST.
pub enum Begin {
    /// The same request was answered before: send this again.
    Replay(Response),
    /// Go ahead, and store the answer with [`Idempotency::store`].
    Proceed(Idempotency),
}

fn replayed(status: u16, body: String, cx: &RequestContext) -> Response {
    http::with_header(
        http::raw_json(status, body, &cx.request_id),
        "idempotent-replayed",
        "true",
    )
}

impl Idempotency {
    /// Reads the header of `req` (whose body was `bytes`) for `path` within `scope`
    /// (a firm id, or `public`), and looks for a stored answer.
    pub async fn begin(
        req: &Request,
        scope: &str,
        path: &str,
        bytes: &[u8],
        db: &D1,
        cx: &RequestContext,
    ) -> Result<Begin, DomainError> {
        let Some(raw) = http::header(req, "idempotency-key") else {
            return Ok(Begin::Proceed(Self { key: None }));
        };
        let key = IdempotencyKey::parse(scope, &raw, "POST", path, bytes)?;
        match key.replay(db, cx.now).await? {
            Some(stored) => Ok(Begin::Replay(replayed(stored.status, stored.body, cx))),
            None => Ok(Begin::Proceed(Self { key: Some(key) })),
        }
    }

    /// Appends the statement that stores this answer to the change's batch.
    pub fn store(
        &self,
        statements: &mut Vec<Statement>,
        status: u16,
        body: &str,
        cx: &RequestContext,
    ) {
        if let Some(key) = &self.key {
            statements.push(key.store(status, body, cx.now));
        }
    }

    /// After the batch failed: a concurrent request with the same key may have won
    /// the race, in which case its answer is the answer.
    pub async fn recover(&self, db: &D1, cx: &RequestContext) -> Option<Response> {
        let key = self.key.as_ref()?;
        let stored = key.replay(db, cx.now).await.ok()??;
        Some(replayed(stored.status, stored.body, cx))
    }
}
