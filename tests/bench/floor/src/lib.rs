//! The floor for `scripts/bench`: one route, no gateway hop, no token, no domain
//! layer; only the D1 query that `GET /v1/firm` runs, answered as JSON. What the
//! product adds on top of this is what the benchmark measures.

use worker::{event, Context, Env, Request, Response};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let id = req.path().rsplit('/').next().unwrap_or_default().to_owned();
    let row: Option<serde_json::Value> = env
        .d1("DB")?
        .prepare(
            "SELECT id, name, slug, status, tier, timezone, currency, locale, fiscal_year_start_month, \
             trial_ends_at, provisioned_at, created_at, updated_at, version FROM firm_firms WHERE id = ?1",
        )
        .bind(&[id.into()])?
        .first(None)
        .await?;
    match row {
        Some(firm) => Response::from_json(&firm),
        None => Response::error("not found", 404),
    }
}
