//! HTTP handlers of the jobs worker: a manager's view of the firm's jobs (list,
//! one with its attempts, metrics, types), the actions on them (start by hand,
//! cancel, retry now) and the dead-letter list (reprocess, discard; one or by
//! filter), each action audited; and the platform clock's tick.

use edge::http::{self, read_json};
use edge::{RequestContext, D1};
use serde_json::{json, Value};
use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::jobs::admin::{self, Bulk, Cancelled, DeadFilter, JobFilter, Reprocessed};
use shared::jobs::metrics::{self, Window};
use shared::jobs::store::{self, Dispatch, NewJob};
use shared::jobs::types::{self, JOB_TYPES};
use shared::kernel::audit::Category;
use shared::kernel::sql::Sql as _;
use shared::kernel::tenant::TenantScope;
use shared::DomainError;
use worker::{Env, Request, Response};

type Handled = Result<Response, DomainError>;
type Params = [(&'static str, String)];

/// Runs the handler of `operation`.
pub async fn dispatch(
    operation: &str,
    params: Vec<(&'static str, String)>,
    req: Request,
    env: &Env,
    cx: &RequestContext,
) -> Handled {
    match operation {
        "listJobs" => list(req, env, cx).await,
        "startJob" => start(req, env, cx).await,
        "listJobTypes" => list_types(req, env, cx).await,
        "getJobMetrics" => get_metrics(req, env, cx).await,
        "getJob" => get(req, env, cx, &params).await,
        "cancelJob" => cancel(req, env, cx, &params).await,
        "retryJob" => retry(req, env, cx, &params).await,
        "listJobDeadLetters" => list_dead(req, env, cx).await,
        "getJobDeadLetter" => get_dead(req, env, cx, &params).await,
        "reprocessJobDeadLetter" => act_on_dead(req, env, cx, &params, Bulk::Reprocess).await,
        "discardJobDeadLetter" => act_on_dead(req, env, cx, &params, Bulk::Discard).await,
        "reprocessJobDeadLetters" => bulk(req, env, cx, Bulk::Reprocess).await,
        "discardJobDeadLetters" => bulk(req, env, cx, Bulk::Discard).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// Paths only other workers reach: the every-minute tick.
pub async fn internal(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    edge::events::serve_tick(&req, cx, "jobs", |now| {
        crate::tick(env, now, &cx.request_id)
    })
    .await
}

async fn reader(req: &Request, env: &Env, cx: &RequestContext) -> Result<TenantScope, DomainError> {
    Ok(cx
        .authorize(req, env, Area::Operations, Access::Read)
        .await?
        .1)
}

async fn writer(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
) -> Result<(VerifiedClaims, TenantScope), DomainError> {
    cx.authorize(req, env, Area::Operations, Access::Write)
        .await
}

/// A job with its attempts, as answered.
async fn job_with_attempts(
    db: &D1,
    scope: &TenantScope,
    job_id: &str,
) -> Result<Value, DomainError> {
    let job = admin::get(db, scope, job_id).await?;
    let attempts = admin::attempts(db, scope, job_id).await?;
    let mut value =
        serde_json::to_value(job).map_err(|e| DomainError::Unavailable(e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("attempts".into(), json!(attempts));
    }
    Ok(value)
}

async fn list(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let filter = JobFilter::parse(|name| query.get(name))?;
    let jobs = admin::list(&D1::from_env(env)?, &scope, &filter, &page).await?;
    Ok(http::json(200, &jobs, &cx.request_id))
}

async fn get(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let job_id = http::path_id(params, "job_id")?;
    let value = job_with_attempts(&D1::from_env(env)?, &scope, &job_id).await?;
    Ok(http::json(200, &value, &cx.request_id))
}

async fn list_types(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    reader(&req, env, cx).await?;
    let spec = crate::extra_types(env);
    let extra = types::parse_extra(&spec);
    let items: Vec<Value> = JOB_TYPES
        .iter()
        .chain(extra.iter())
        .map(|t| {
            json!({
                "type": t.name,
                "category": t.category,
                "module": t.module,
                "manual": t.manual,
                "description": t.description,
                "max_attempts": t.policy.schedule.max_attempts(),
                "run_timeout_ms": t.policy.run_timeout_ms,
                "retry_on": t.policy.retry_on,
                "concurrency_per_firm": t.category.concurrency_per_firm(),
            })
        })
        .collect();
    Ok(http::unpaged(&items, &cx.request_id))
}

async fn get_metrics(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let window = Window::parse("window", http::query_param(&req, "window").as_deref())?;
    let m = metrics::compute(&D1::from_env(env)?, &scope, window, cx.now).await?;
    Ok(http::json(200, &m, &cx.request_id))
}

async fn start(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let (_, body) = read_json(&mut req, edge::config::body_limit(env)).await?;
    let spec = crate::extra_types(env);
    let extra = types::parse_extra(&spec);
    let header_key = http::header(&req, "idempotency-key");
    let wanted = admin::parse_start(
        &body,
        &extra,
        scope.firm_id(),
        header_key.as_deref(),
        cx.now,
    )?;
    let kind = wanted.job_type;
    let job = NewJob {
        job_type: kind,
        payload: &wanted.payload,
        payload_version: &wanted.payload_version,
        priority: wanted.priority,
        run_at: wanted.run_at,
        max_attempts: Some(wanted.max_attempts),
        manual: true,
        created_by: Some(claims.user_id()),
    };
    let enqueued = store::enqueue(&scope, &job, cx.now)?;
    let db = D1::from_env(env)?;
    db.batch(vec![enqueued.statement.clone()]).await?;
    let found = store::by_key(&db, &scope, &enqueued.idempotency_key).await?;
    let created = found == enqueued.job_id;
    if created {
        edge::jobs::start(
            env,
            std::slice::from_ref(&enqueued.dispatch),
            cx.now,
            &cx.request_id,
        )
        .await;
        edge::audit::member_action(
            &db,
            &req,
            cx,
            &claims,
            Category::System,
            "jobs.started",
            json!({"job_id": found, "type": kind.name}),
        )
        .await;
    }
    let mut value = job_with_attempts(&db, &scope, &found).await?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("lint".into(), json!(enqueued.lint));
    }
    Ok(http::json(
        if created { 201 } else { 200 },
        &value,
        &cx.request_id,
    ))
}

async fn cancel(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let job_id = http::path_id(params, "job_id")?;
    let db = D1::from_env(env)?;
    let how = admin::cancel(&db, &scope, &job_id, cx.now).await?;
    let when = match how {
        Cancelled::Now => "now",
        Cancelled::AfterAttempt => "after_attempt",
    };
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::System,
        "jobs.cancelled",
        json!({"job_id": job_id, "when": when}),
    )
    .await;
    let mut value = job_with_attempts(&db, &scope, &job_id).await?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("cancelled".into(), when.into());
    }
    Ok(http::json(200, &value, &cx.request_id))
}

async fn retry(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let job_id = http::path_id(params, "job_id")?;
    let db = D1::from_env(env)?;
    let dispatch = admin::retry_now(&db, &scope, &job_id, cx.now).await?;
    edge::jobs::start(env, &[dispatch], cx.now, &cx.request_id).await;
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::System,
        "jobs.retried",
        json!({"job_id": job_id}),
    )
    .await;
    let value = job_with_attempts(&db, &scope, &job_id).await?;
    Ok(http::json(202, &value, &cx.request_id))
}

async fn list_dead(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let filter = DeadFilter::parse(|name| query.get(name))?;
    let letters = admin::dead_letters(&D1::from_env(env)?, &scope, &filter, &page).await?;
    Ok(http::json(200, &letters, &cx.request_id))
}

async fn get_dead(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let scope = reader(&req, env, cx).await?;
    let id = http::path_id(params, "dead_letter_id")?;
    let letter = admin::dead_letter(&D1::from_env(env)?, &scope, &id).await?;
    Ok(http::json(200, &letter, &cx.request_id))
}

async fn act_on_dead(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    action: Bulk,
) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let id = http::path_id(params, "dead_letter_id")?;
    let body = http::optional_json_body(&mut req, edge::config::body_limit(env)).await?;
    let notes = admin::parse_notes(&body)?;
    let db = D1::from_env(env)?;
    match action {
        Bulk::Reprocess => {
            let r = admin::reprocess(&db, &scope, &id, claims.user_id(), notes.as_deref(), cx.now)
                .await?;
            edge::jobs::start(
                env,
                std::slice::from_ref(&r.dispatch),
                cx.now,
                &cx.request_id,
            )
            .await;
            edge::audit::member_action(
                &db,
                &req,
                cx,
                &claims,
                Category::System,
                "jobs.dead_letter.reprocessed",
                json!({"dead_letter_id": id, "job_id": r.job_id, "notes": notes}),
            )
            .await;
        }
        Bulk::Discard => {
            admin::discard(&db, &scope, &id, claims.user_id(), notes.as_deref(), cx.now).await?;
            edge::audit::member_action(
                &db,
                &req,
                cx,
                &claims,
                Category::System,
                "jobs.dead_letter.discarded",
                json!({"dead_letter_id": id, "notes": notes}),
            )
            .await;
        }
    }
    let letter = admin::dead_letter(&db, &scope, &id).await?;
    let status = match action {
        Bulk::Reprocess => 202,
        Bulk::Discard => 200,
    };
    Ok(http::json(status, &letter, &cx.request_id))
}

async fn bulk(mut req: Request, env: &Env, cx: &RequestContext, action: Bulk) -> Handled {
    let (claims, scope) = writer(&req, env, cx).await?;
    let body = http::optional_json_body(&mut req, edge::config::body_limit(env)).await?;
    let (filter, notes) = admin::parse_bulk(&body)?;
    let db = D1::from_env(env)?;
    let (touched, reprocessed) = admin::bulk(
        &db,
        &scope,
        &filter,
        action,
        claims.user_id(),
        notes.as_deref(),
        cx.now,
    )
    .await?;
    let starts: Vec<Dispatch> = reprocessed.iter().map(|r| r.dispatch.clone()).collect();
    edge::jobs::start(env, &starts, cx.now, &cx.request_id).await;
    let (action_name, status) = match action {
        Bulk::Reprocess => ("jobs.dead_letters.reprocessed", 202),
        Bulk::Discard => ("jobs.dead_letters.discarded", 200),
    };
    let filter_json = json!({
        "category": filter.category,
        "type": filter.kind,
        "error_class": filter.error_class,
    });
    edge::audit::member_action(
        &db,
        &req,
        cx,
        &claims,
        Category::System,
        action_name,
        json!({"filter": filter_json, "count": touched.len(), "notes": notes}),
    )
    .await;
    let jobs: Vec<Value> = reprocessed
        .iter()
        .map(
            |Reprocessed {
                 dead_letter_id,
                 job_id,
                 ..
             }| json!({"dead_letter_id": dead_letter_id, "job_id": job_id}),
        )
        .collect();
    Ok(http::json(
        status,
        &json!({"count": touched.len(), "dead_letter_ids": touched, "jobs": jobs}),
        &cx.request_id,
    ))
}
