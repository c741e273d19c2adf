//! HTTP handlers of the CRM: authorise, parse with the domain's parsers, call the
//! repository, answer. Reading needs CRM read rights (staff and read-only members
//! too); changing needs CRM write rights (managers and up, or the can-manage-clients
//! flag). Portal users have no CRM rights at all.

use edge::http::{self, read_json};
use edge::idempotency::{Begin, Idempotency};
use edge::{config, RequestContext, D1};
use serde_json::{json, Value};
use shared::auth::claims::VerifiedClaims;
use shared::auth::roles::{Access, Area};
use shared::crm::account::{Account, AccountFields, AccountFilter, NewContact};
use shared::crm::activity::{ActivityKind, NewActivity, Subject};
use shared::crm::assignment::AssignmentInput;
use shared::crm::automation::Step;
use shared::crm::campaign::{CampaignFields, CampaignFilter};
use shared::crm::contract::{Contract, ContractFields, Signature};
use shared::crm::deal::{self, Deal, DealFields, DealFilter, DealMove};
use shared::crm::forecast::{self, AdjustmentInput, ForecastQuery, MIN_OUTCOMES, MIN_RARER};
use shared::crm::lead::{self, Lead, LeadFields, LeadFilter};
use shared::crm::pipeline::{NewPipeline, Pipeline, PipelinePatch};
use shared::crm::product::{Product, ProductFields, ProductFilter};
use shared::crm::proposal::{Proposal, ProposalFields, ProposalStatus};
use shared::crm::repository::campaigns::CampaignView;
use shared::crm::repository::{
    accounts, assignment, automations, campaigns, contracts, convert, deals, enrichment, forecasts,
    leads, pipelines, products, proposals, rules, tasks, timeline, transfer,
};
use shared::crm::scoring::{RuleInput, Signal};
use shared::crm::task::{DealTask, TaskFields};
use shared::kernel::etag::parse_if_match;
use shared::kernel::events;
use shared::kernel::paging::{Page, PageRequest};
use shared::kernel::sql::{Sql as _, Statement};
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
        "createPipeline" => create_pipeline(req, env, cx).await,
        "listPipelines" => {
            list_all(req, env, cx, None, async |db, scope, _| {
                pipelines::list(db, scope).await
            })
            .await
        }
        "getPipeline" => {
            read_one(
                req,
                env,
                cx,
                &params,
                "pipeline_id",
                Pipeline::etag,
                pipelines::get,
            )
            .await
        }
        "updatePipeline" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "pipeline_id",
                Pipeline::etag,
                async |c| {
                    let patch = PipelinePatch::parse(&c.body)?;
                    pipelines::update(c.db, c.scope, &c.id, &patch, c.expected, c.now).await
                },
            )
            .await
        }
        "createAccount" => create_account(req, env, cx).await,
        "listAccounts" => {
            list_page(req, env, cx, async |db, scope, query, page| {
                accounts::list(db, scope, &AccountFilter::parse(|n| query.get(n))?, page).await
            })
            .await
        }
        "getAccount" => {
            read_one(
                req,
                env,
                cx,
                &params,
                "account_id",
                Account::etag,
                accounts::get,
            )
            .await
        }
        "updateAccount" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "account_id",
                Account::etag,
                async |c| {
                    let fields = AccountFields::parse(&c.body, false)?;
                    accounts::update(
                        c.db,
                        c.scope,
                        &c.id,
                        &fields,
                        c.expected,
                        c.claims.user_id(),
                        c.now,
                    )
                    .await
                },
            )
            .await
        }
        "createContact" => create_contact(req, env, cx).await,
        "listContacts" => list_contacts(req, env, cx).await,
        "createLead" => create_lead(req, env, cx).await,
        "listLeads" => {
            list_page(req, env, cx, async |db, scope, query, page| {
                leads::list(db, scope, &LeadFilter::parse(|n| query.get(n))?, page).await
            })
            .await
        }
        "importLeads" => import_leads(req, env, cx).await,
        "exportLeads" => export_leads(req, env, cx).await,
        "getLead" => read_one(req, env, cx, &params, "lead_id", Lead::etag, leads::get).await,
        "updateLead" => update_lead(req, env, cx, &params).await,
        "loseLead" => lose_lead(req, env, cx, &params).await,
        "convertLead" => convert_lead(req, env, cx, &params).await,
        "recordLeadSignal" => record_signal(req, env, cx, &params).await,
        "getLeadScore" => lead_score(req, env, cx, &params).await,
        "enrichLead" => enrich_lead(req, env, cx, &params).await,
        "getLeadEnrichment" => lead_enrichment(req, env, cx, &params).await,
        "createDeal" => create_deal(req, env, cx).await,
        "listDeals" => list_deals(req, env, cx).await,
        "getDeal" => get_deal(req, env, cx, &params).await,
        "updateDeal" => update_deal(req, env, cx, &params).await,
        "moveDeal" => move_deal(req, env, cx, &params).await,
        "getDealPrediction" => predict_deal(req, env, cx, &params).await,
        "listLeadActivities" => list_activities(req, env, cx, &params, Subject::Lead).await,
        "listDealActivities" => list_activities(req, env, cx, &params, Subject::Deal).await,
        "listAccountActivities" => list_activities(req, env, cx, &params, Subject::Account).await,
        "logLeadActivity" => log_activity(req, env, cx, &params, Subject::Lead).await,
        "logDealActivity" => log_activity(req, env, cx, &params, Subject::Deal).await,
        "logAccountActivity" => log_activity(req, env, cx, &params, Subject::Account).await,
        "getStaleDealReport" => stale_report(req, env, cx).await,
        "createProposal" => create_proposal(req, env, cx, &params).await,
        "listDealProposals" => {
            list_all(
                req,
                env,
                cx,
                Some((&params, "deal_id")),
                proposals::for_deal,
            )
            .await
        }
        "getProposal" => {
            read_one(
                req,
                env,
                cx,
                &params,
                "proposal_id",
                Proposal::etag,
                proposals::get,
            )
            .await
        }
        "updateProposal" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "proposal_id",
                Proposal::etag,
                async |c| {
                    let fields = ProposalFields::parse(&c.body, false)?;
                    proposals::update(c.db, c.scope, &c.id, &fields, c.expected, c.now).await
                },
            )
            .await
        }
        "sendProposal" => decide_proposal(req, env, cx, &params, ProposalStatus::Sent).await,
        "acceptProposal" => decide_proposal(req, env, cx, &params, ProposalStatus::Accepted).await,
        "rejectProposal" => decide_proposal(req, env, cx, &params, ProposalStatus::Rejected).await,
        "createDealTask" => create_task(req, env, cx, &params).await,
        "listDealTasks" => {
            list_all(req, env, cx, Some((&params, "deal_id")), tasks::for_deal).await
        }
        "updateDealTask" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "task_id",
                DealTask::etag,
                async |c| {
                    let fields = TaskFields::parse(&c.body, false)?;
                    tasks::update(
                        c.db,
                        c.scope,
                        &c.id,
                        &fields,
                        c.expected,
                        c.claims.user_id(),
                        c.now,
                    )
                    .await
                },
            )
            .await
        }
        "listStageAutomations" => {
            list_all(
                req,
                env,
                cx,
                Some((&params, "pipeline_id")),
                automations::for_pipeline,
            )
            .await
        }
        "createStageAutomation" => create_automation(req, env, cx, &params).await,
        "deleteStageAutomation" => delete_automation(req, env, cx, &params).await,
        "listAssignmentRules" => {
            list_all(req, env, cx, None, async |db, scope, _| {
                assignment::list(db, scope).await
            })
            .await
        }
        "createAssignmentRule" => create_assignment(req, env, cx).await,
        "replaceAssignmentRule" => replace_assignment(req, env, cx, &params).await,
        "deleteAssignmentRule" => delete_assignment(req, env, cx, &params).await,
        "createContract" => create_contract(req, env, cx, &params).await,
        "listDealContracts" => {
            list_all(
                req,
                env,
                cx,
                Some((&params, "deal_id")),
                contracts::for_deal,
            )
            .await
        }
        "getContract" => {
            read_one(
                req,
                env,
                cx,
                &params,
                "contract_id",
                Contract::etag,
                contracts::get,
            )
            .await
        }
        "updateContract" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "contract_id",
                Contract::etag,
                async |c| {
                    let fields = ContractFields::parse(&c.body, false)?;
                    contracts::update(c.db, c.scope, &c.id, &fields, c.expected, c.now).await
                },
            )
            .await
        }
        "signContract" | "holdContract" | "resumeContract" | "completeContract"
        | "terminateContract" => step_contract(operation, req, env, cx, &params).await,
        "createProduct" => create_product(req, env, cx).await,
        "listProducts" => {
            list_page(req, env, cx, async |db, scope, query, page| {
                products::list(db, scope, &ProductFilter::parse(|n| query.get(n))?, page).await
            })
            .await
        }
        "getProduct" => {
            read_one(
                req,
                env,
                cx,
                &params,
                "product_id",
                Product::etag,
                products::get,
            )
            .await
        }
        "updateProduct" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "product_id",
                Product::etag,
                async |c| {
                    let fields = ProductFields::parse(&c.body, false)?;
                    products::update(c.db, c.scope, &c.id, &fields, c.expected, c.now).await
                },
            )
            .await
        }
        "createCampaign" => create_campaign(req, env, cx).await,
        "listCampaigns" => {
            list_page(req, env, cx, async |db, scope, query, page| {
                campaigns::list(db, scope, &CampaignFilter::parse(|n| query.get(n))?, page).await
            })
            .await
        }
        "getCampaign" => {
            read_one(
                req,
                env,
                cx,
                &params,
                "campaign_id",
                CampaignView::etag,
                campaigns::get,
            )
            .await
        }
        "updateCampaign" => {
            change_one(
                req,
                env,
                cx,
                &params,
                "campaign_id",
                CampaignView::etag,
                async |c| {
                    let fields = CampaignFields::parse(&c.body, false)?;
                    campaigns::update(c.db, c.scope, &c.id, &fields, c.expected, c.now).await
                },
            )
            .await
        }
        "listScoringRules" => {
            list_all(req, env, cx, None, async |db, scope, _| {
                rules::list(db, scope).await
            })
            .await
        }
        "createScoringRule" => create_rule(req, env, cx).await,
        "replaceScoringRule" => replace_rule(req, env, cx, &params).await,
        "deleteScoringRule" => delete_rule(req, env, cx, &params).await,
        "getForecast" => get_forecast(req, env, cx).await,
        "getForecastAccuracy" => forecast_accuracy(req, env, cx).await,
        "putForecastAdjustment" => put_adjustment(req, env, cx).await,
        "getWinModel" => win_model(req, env, cx, false).await,
        "trainWinModel" => win_model(req, env, cx, true).await,
        _ => Err(DomainError::NotFound("route")),
    }
}

/// The caller's claims and firm after checking `access` to CRM records.
async fn caller(
    req: &Request,
    env: &Env,
    cx: &RequestContext,
    access: Access,
) -> Result<(VerifiedClaims, TenantScope, D1), DomainError> {
    let (claims, scope) = cx.scope(req, env).await?;
    claims.require(Area::Crm, access)?;
    Ok((claims, scope, D1::from_env(env)?))
}

/// Answers the record named by path parameter `param` (read rights) with its etag.
async fn read_one<T: serde::Serialize>(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    param: &str,
    etag: fn(&T) -> String,
    get: impl AsyncFnOnce(&D1, &TenantScope, &str) -> Result<T, DomainError>,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let found = get(&db, &scope, &http::path_id(params, param)?).await?;
    Ok(versioned(&found, &etag(&found), 200, cx))
}

/// What a change to one record works with: who, which firm and database, the
/// record's id from the path, the `If-Match` version and the JSON body.
struct Change<'a> {
    claims: &'a VerifiedClaims,
    scope: &'a TenantScope,
    db: &'a D1,
    id: String,
    expected: Option<i64>,
    body: Value,
    now: shared::kernel::time::Instant,
}

/// Changes the record named by path parameter `param` (write rights) and
/// answers it with its new etag.
async fn change_one<T: serde::Serialize>(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    param: &str,
    etag: fn(&T) -> String,
    change: impl AsyncFnOnce(&Change<'_>) -> Result<T, DomainError>,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, param)?;
    let expected = if_match(&req)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let changed = change(&Change {
        claims: &claims,
        scope: &scope,
        db: &db,
        id,
        expected,
        body,
        now: cx.now,
    })
    .await?;
    Ok(versioned(&changed, &etag(&changed), 200, cx))
}

/// Answers a page of a list (read rights), given the page asked for and the
/// query's filters.
async fn list_page<T: serde::Serialize>(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    list: impl AsyncFnOnce(
        &D1,
        &TenantScope,
        &http::Query,
        &PageRequest,
    ) -> Result<Page<T>, DomainError>,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let found = list(&db, &scope, &query, &page).await?;
    Ok(http::json(200, &found, &cx.request_id))
}

/// Answers every record `list` finds (read rights); with a path parameter
/// `param`, the records under the one it names.
async fn list_all<T: serde::Serialize>(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    under: Option<(&Params, &str)>,
    list: impl AsyncFnOnce(&D1, &TenantScope, &str) -> Result<Vec<T>, DomainError>,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let parent = match under {
        Some((params, param)) => http::path_id(params, param)?,
        None => String::new(),
    };
    let all = list(&db, &scope, &parent).await?;
    Ok(http::unpaged(&all, &cx.request_id))
}

/// `value` with its `etag` (and the header) as a single answer.
fn versioned(
    value: &impl serde::Serialize,
    etag: &str,
    status: u16,
    cx: &RequestContext,
) -> Response {
    let mut body = serde_json::to_value(value).unwrap_or_default();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("etag".to_owned(), etag.into());
    }
    http::with_header(http::json(status, &body, &cx.request_id), "etag", etag)
}

fn if_match(req: &Request) -> Result<Option<i64>, DomainError> {
    parse_if_match(http::header(req, "if-match").as_deref())
}

/// Who creates, in which firm, with which database: what a create's plan needs.
struct Creator<'a> {
    claims: &'a VerifiedClaims,
    scope: &'a TenantScope,
    db: &'a D1,
    now: shared::kernel::time::Instant,
}

/// A create's answer and the statements that make it, and how a failed batch is
/// explained (a unique name taken is a 409 of its field).
struct Planned {
    answer: Value,
    statements: Vec<Statement>,
    explain: fn(DomainError) -> DomainError,
}

impl Planned {
    fn new(answer: Value, statements: Vec<Statement>) -> Self {
        Self {
            answer,
            statements,
            explain: |e| e,
        }
    }
}

/// A create with `Idempotency-Key`: a retry answers what the first request did;
/// otherwise `plan` (given the checked caller and the body) decides the record,
/// whose statements go in one batch with the stored answer. Needs CRM write.
async fn create(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    plan: impl AsyncFnOnce(&Creator<'_>, &Value) -> Result<Planned, DomainError>,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let (bytes, body) = read_json(&mut req, config::body_limit(env)).await?;
    let path = req.path();
    let idempotency =
        match Idempotency::begin(&req, scope.firm_id(), &path, &bytes, &db, cx).await? {
            Begin::Replay(answer) => return Ok(answer),
            Begin::Proceed(idempotency) => idempotency,
        };
    let creator = Creator {
        claims: &claims,
        scope: &scope,
        db: &db,
        now: cx.now,
    };
    let Planned {
        answer,
        mut statements,
        explain,
    } = plan(&creator, &body).await?;
    idempotency.store(&mut statements, 201, &answer.to_string(), cx);
    if let Err(e) = db.batch(statements).await {
        return match idempotency.recover(&db, cx).await {
            Some(answer) => Ok(answer),
            None => Err(explain(e)),
        };
    }
    let response = http::json(201, &answer, &cx.request_id);
    Ok(match answer.get("etag").and_then(Value::as_str) {
        Some(etag) => http::with_header(response, "etag", etag),
        None => response,
    })
}

fn with_etag(value: &impl serde::Serialize, etag: String) -> Value {
    let mut body = serde_json::to_value(value).unwrap_or_default();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("etag".to_owned(), etag.into());
    }
    body
}

// ---- pipelines ----

async fn create_pipeline(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let (pipeline, statements) =
            pipelines::plan_create(c.db, c.scope, NewPipeline::parse(body)?, c.now).await?;
        let answer = with_etag(&pipeline, pipeline.etag());
        Ok(Planned {
            explain: pipelines::name_taken,
            ..Planned::new(answer, statements)
        })
    })
    .await
}

// ---- accounts and contacts ----

async fn create_account(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let fields = AccountFields::parse(body, true)?;
        let (account, statements) =
            accounts::plan_insert(c.db, c.scope, &fields, c.claims.user_id(), c.now).await?;
        Ok(Planned::new(
            with_etag(&account, account.etag()),
            statements,
        ))
    })
    .await
}

async fn create_contact(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let input = NewContact::parse(body)?;
        if let Some(account) = &input.account_id {
            accounts::get(c.db, c.scope, account).await.map_err(|_| {
                DomainError::conflict("account_id", "account_id names no account of the firm")
            })?;
        }
        let (contact, statement) = accounts::plan_contact(c.scope, &input, c.now)?;
        Ok(Planned::new(
            serde_json::to_value(&contact).unwrap_or_default(),
            vec![statement],
        ))
    })
    .await
}

async fn list_contacts(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let account = query
        .get("account_id")
        .map(|raw| shared::kernel::id::parse("account_id", "acc", raw))
        .transpose()?;
    let list = accounts::contacts(&db, &scope, account.as_deref(), &page).await?;
    Ok(http::json(200, &list, &cx.request_id))
}

// ---- leads ----

async fn create_lead(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let fields = LeadFields::parse(body, true)?;
        let (lead, statements) =
            leads::plan_insert(c.db, c.scope, &fields, c.claims.user_id(), c.now).await?;
        Ok(Planned::new(with_etag(&lead, lead.etag()), statements))
    })
    .await
}

/// Imports a CSV file of leads (Content-Type text/csv).
async fn import_leads(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let media = http::header(&req, "content-type").unwrap_or_default();
    let is_csv = media
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(DomainError::BadRequest(
            "Content-Type must be text/csv".to_owned(),
        ));
    }
    let file = http::read_body(&mut req, config::body_limit(env)).await?;
    let imported = transfer::import(&db, &scope, &file, claims.user_id(), cx.now).await?;
    Ok(http::json(200, &imported, &cx.request_id))
}

/// The leads the list's filters match, as a CSV download.
async fn export_leads(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let query = http::Query::of(&req);
    let filter = LeadFilter::parse(|name| query.get(name))?;
    let text = transfer::export(&db, &scope, &filter).await?;
    let day = cx.now.to_chrono().format("%Y-%m-%d");
    Ok(http::with_header(
        http::document(200, "text/csv; charset=utf-8", text, &cx.request_id),
        "content-disposition",
        &format!("attachment; filename=\"leads-{day}.csv\""),
    ))
}

async fn update_lead(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "lead_id")?;
    let expected = if_match(&req)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let fields = LeadFields::parse(&body, false)?;
    let lead = leads::update(
        &db,
        &scope,
        &id,
        &fields,
        expected,
        claims.user_id(),
        cx.now,
    )
    .await?;
    Ok(versioned(&lead, &lead.etag(), 200, cx))
}

async fn lose_lead(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "lead_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let reason = lead::parse_reason(&body)?;
    let lead = leads::lose(&db, &scope, &id, &reason, claims.user_id(), cx.now).await?;
    Ok(versioned(&lead, &lead.etag(), 200, cx))
}

async fn convert_lead(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "lead_id")?;
    let body = http::optional_json_body(&mut req, config::body_limit(env)).await?;
    let how = convert::Conversion::parse(&body)?;
    let firm = shared::firm::repository::get(&db, &scope).await?;
    let made = convert::convert(
        &db,
        &scope,
        &id,
        &how,
        &firm.currency,
        claims.user_id(),
        cx.now,
    )
    .await?;
    let pipeline = pipelines::get(&db, &scope, &made.deal.pipeline_id).await?;
    let answer = json!({
        "lead": with_etag(&made.lead, made.lead.etag()),
        "account": with_etag(&made.account, made.account.etag()),
        "contact": made.contact,
        "deal": deal::view(&made.deal, pipeline.stage(&made.deal.stage_id)),
    });
    Ok(http::json(201, &answer, &cx.request_id))
}

async fn record_signal(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "lead_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let signal = Signal::parse(&body)?;
    let lead = leads::signal(
        &db,
        &scope,
        &id,
        signal.trigger,
        &signal.properties,
        claims.user_id(),
        cx.now,
    )
    .await?;
    Ok(versioned(&lead, &lead.etag(), 200, cx))
}

async fn lead_score(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let explanation =
        leads::explain(&db, &scope, &http::path_id(params, "lead_id")?, cx.now).await?;
    Ok(http::json(200, &explanation, &cx.request_id))
}

// ---- deals ----

/// A deal as answered, with its stage looked up in its pipeline.
async fn deal_answer(db: &D1, scope: &TenantScope, deal: &Deal) -> Result<Value, DomainError> {
    let pipeline = pipelines::get(db, scope, &deal.pipeline_id).await?;
    Ok(deal::view(deal, pipeline.stage(&deal.stage_id)))
}

fn deal_response(answer: Value, status: u16, cx: &RequestContext) -> Response {
    let etag = answer
        .get("etag")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    http::with_header(http::json(status, &answer, &cx.request_id), "etag", &etag)
}

async fn create_deal(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let fields = DealFields::parse(body, true)?;
        let firm = shared::firm::repository::get(c.db, c.scope).await?;
        let (deal, statements) = deals::plan_insert(
            c.db,
            c.scope,
            &fields,
            &firm.currency,
            None,
            &[],
            c.claims.user_id(),
            c.now,
        )
        .await?;
        Ok(Planned::new(
            deal_answer(c.db, c.scope, &deal).await?,
            statements,
        ))
    })
    .await
}

async fn list_deals(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let filter = DealFilter::parse(|name| query.get(name))?;
    let list = deals::list(&db, &scope, &filter, &page).await?;
    let all: Vec<Pipeline> = pipelines::list(&db, &scope).await?;
    let stage = |d: &Deal| {
        all.iter()
            .find(|p| p.id == d.pipeline_id)
            .and_then(|p| p.stage(&d.stage_id))
    };
    let items: Vec<Value> = list.items.iter().map(|d| deal::view(d, stage(d))).collect();
    Ok(http::json(
        200,
        &json!({"items": items, "next_cursor": list.next_cursor}),
        &cx.request_id,
    ))
}

async fn get_deal(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let deal = deals::get(&db, &scope, &http::path_id(params, "deal_id")?).await?;
    Ok(deal_response(
        deal_answer(&db, &scope, &deal).await?,
        200,
        cx,
    ))
}

async fn update_deal(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "deal_id")?;
    let expected = if_match(&req)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let fields = DealFields::parse(&body, false)?;
    let deal = deals::update(
        &db,
        &scope,
        &id,
        &fields,
        expected,
        claims.user_id(),
        cx.now,
    )
    .await?;
    Ok(deal_response(
        deal_answer(&db, &scope, &deal).await?,
        200,
        cx,
    ))
}

async fn move_deal(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "deal_id")?;
    let expected = if_match(&req)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let movement = DealMove::parse(&body)?;
    let (before, mut after, pipeline) =
        deals::plan_move(&db, &scope, &id, &movement, expected, cx.now).await?;
    let (mut extra, mut made) =
        automations::on_entry(&db, &scope, &before, &mut after, &pipeline, cx.now).await?;
    let event = deals::closing_event(&db, &scope, &mut after, cx.now).await?;
    if let Some(e) = &event {
        extra.push(events::record(e, cx.now)?);
    }
    made.extend(event);
    let moved = deals::finish_move(
        &db,
        &scope,
        &before,
        &after,
        &pipeline,
        claims.user_id(),
        extra,
        cx.now,
    )
    .await?;
    if !made.is_empty() {
        edge::events::publish(env, &db, &made, cx.now, &cx.request_id).await;
    }
    Ok(deal_response(
        deal::view(&moved.deal, Some(&moved.to)),
        200,
        cx,
    ))
}

async fn predict_deal(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let deal = deals::get(&db, &scope, &http::path_id(params, "deal_id")?).await?;
    let pipeline = pipelines::get(&db, &scope, &deal.pipeline_id).await?;
    let stage = pipeline
        .stage(&deal.stage_id)
        .ok_or(DomainError::NotFound("stage"))?;
    let trained = forecasts::win_model(&db, &scope, false, cx.now).await?;
    let prediction = trained.model.predict_deal(&deal, stage, cx.now.millis());
    let name = |id: &str| pipeline.stage(id).map(|s| s.name.clone());
    let reasons: Vec<Value> = prediction
        .reasons
        .iter()
        .map(|r| json!({"feature": r.feature, "label": forecast::label(&r.feature, name), "effect": r.effect}))
        .collect();
    Ok(http::json(
        200,
        &json!({"deal_id": deal.id, "probability": prediction.probability, "basis": prediction.basis,
                "reasons": reasons, "likely_close_at": prediction.likely_close_at,
                "stage_probability": stage.probability}),
        &cx.request_id,
    ))
}

async fn stale_report(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let groups = shared::crm::rotting::report(&db, &scope, cx.now).await?;
    Ok(http::unpaged(&groups, &cx.request_id))
}

// ---- timelines ----

async fn list_activities(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    subject: Subject,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let id = http::path_id(params, path_name(subject))?;
    if !timeline::exists(&db, &scope, subject, &id).await? {
        return Err(DomainError::NotFound(subject.name()));
    }
    let page = http::page_request(&req)?;
    let query = http::Query::of(&req);
    let kind = query
        .get("kind")
        .map(|raw| ActivityKind::parse("kind", raw))
        .transpose()?;
    let list = timeline::list(&db, &scope, subject, &id, kind, &page).await?;
    Ok(http::json(200, &list, &cx.request_id))
}

fn path_name(subject: Subject) -> &'static str {
    match subject {
        Subject::Lead => "lead_id",
        Subject::Deal => "deal_id",
        Subject::Account => "account_id",
        Subject::Contact => "contact_id",
    }
}

async fn log_activity(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    subject: Subject,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, path_name(subject))?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = NewActivity::parse(&body)?;
    let activity =
        timeline::log(&db, &scope, subject, &id, input, claims.user_id(), cx.now).await?;
    Ok(http::json(201, &activity, &cx.request_id))
}

// ---- scoring rules ----

async fn create_rule(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = RuleInput::parse(&body)?;
    let rule = rules::create(&db, &scope, &input, cx.now).await?;
    Ok(versioned(&rule, &rule.etag(), 201, cx))
}

async fn replace_rule(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "rule_id")?;
    let expected = if_match(&req)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = RuleInput::parse(&body)?;
    let rule = rules::replace(&db, &scope, &id, &input, expected, cx.now).await?;
    Ok(versioned(&rule, &rule.etag(), 200, cx))
}

async fn delete_rule(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    rules::delete(&db, &scope, &http::path_id(params, "rule_id")?).await?;
    Ok(http::empty(204, &cx.request_id))
}

// ---- proposals ----

async fn create_proposal(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let deal_id = http::path_id(params, "deal_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let fields = ProposalFields::parse(&body, true)?;
    let made = proposals::create(&db, &scope, &deal_id, &fields, claims.user_id(), cx.now).await?;
    Ok(versioned(&made, &made.etag(), 201, cx))
}

/// Sends, accepts or rejects (with a reason) a proposal.
async fn decide_proposal(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
    to: ProposalStatus,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "proposal_id")?;
    let reason = if to == ProposalStatus::Rejected {
        let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
        Some(lead::parse_reason(&body)?)
    } else {
        None
    };
    let today = shared::crm::repository::firm_today(&db, &scope, cx.now).await?;
    let moved = proposals::decide(
        &db,
        &scope,
        &id,
        to,
        reason.as_deref(),
        today,
        claims.user_id(),
        cx.now,
    )
    .await?;
    Ok(versioned(&moved, &moved.etag(), 200, cx))
}

/// Queues a lookup of the lead at the enrichment provider (202; a lookup already
/// waiting is answered instead of a second one).
async fn enrich_lead(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let lead_id = http::path_id(params, "lead_id")?;
    let (made, dispatch) =
        enrichment::request(&db, &scope, &lead_id, claims.user_id(), cx.now).await?;
    if let Some(d) = dispatch {
        edge::jobs::start(env, &[d], cx.now, &cx.request_id).await;
    }
    Ok(http::json(202, &made, &cx.request_id))
}

/// The lead's newest lookup (404 when it was never looked up).
async fn lead_enrichment(req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let found = enrichment::latest(&db, &scope, &http::path_id(params, "lead_id")?)
        .await?
        .ok_or(DomainError::NotFound("enrichment"))?;
    Ok(http::json(200, &found, &cx.request_id))
}

// ---- contracts, products and campaigns ----

async fn create_contract(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let deal_id = http::path_id(params, "deal_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let fields = ContractFields::parse(&body, true)?;
    let made = contracts::create(&db, &scope, &deal_id, &fields, claims.user_id(), cx.now).await?;
    Ok(versioned(&made, &made.etag(), 201, cx))
}

/// Signs, holds, resumes, completes or terminates (with a reason) a contract.
async fn step_contract(
    operation: &str,
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "contract_id")?;
    let today = shared::crm::repository::firm_today(&db, &scope, cx.now).await?;
    let step = match operation {
        "signContract" => {
            let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
            contracts::Step::Sign(Signature::parse(&body, today)?)
        }
        "terminateContract" => {
            let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
            contracts::Step::Terminate(lead::parse_reason(&body)?)
        }
        "holdContract" => contracts::Step::Hold,
        "resumeContract" => contracts::Step::Resume,
        _ => contracts::Step::Complete,
    };
    let moved = contracts::step(&db, &scope, &id, &step, today, claims.user_id(), cx.now).await?;
    Ok(versioned(&moved, &moved.etag(), 200, cx))
}

async fn create_product(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let fields = ProductFields::parse(body, true)?;
        let (product, statements) = products::plan_create(c.db, c.scope, &fields, c.now).await?;
        Ok(Planned {
            explain: products::code_taken,
            ..Planned::new(with_etag(&product, product.etag()), statements)
        })
    })
    .await
}

async fn create_campaign(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    create(req, env, cx, async |c: &Creator<'_>, body: &Value| {
        let fields = CampaignFields::parse(body, true)?;
        let (campaign, statements) =
            campaigns::plan_create(c.db, c.scope, &fields, c.claims.user_id(), c.now).await?;
        Ok(Planned::new(
            with_etag(&campaign, campaign.etag()),
            statements,
        ))
    })
    .await
}

// ---- tasks and stage automations ----

async fn create_task(mut req: Request, env: &Env, cx: &RequestContext, params: &Params) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let deal_id = http::path_id(params, "deal_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let fields = TaskFields::parse(&body, true)?;
    let task = tasks::create(&db, &scope, &deal_id, &fields, claims.user_id(), cx.now).await?;
    Ok(versioned(&task, &task.etag(), 201, cx))
}

async fn create_automation(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let pipeline_id = http::path_id(params, "pipeline_id")?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let (stage_id, step) = Step::parse(&body)?;
    let made = automations::create(&db, &scope, &pipeline_id, &stage_id, &step, cx.now).await?;
    Ok(http::json(201, &made, &cx.request_id))
}

async fn delete_automation(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    automations::delete(&db, &scope, &http::path_id(params, "automation_id")?).await?;
    Ok(http::empty(204, &cx.request_id))
}

// ---- assignment rules ----

async fn create_assignment(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = AssignmentInput::parse(&body)?;
    let rule = assignment::create(&db, &scope, &input, cx.now).await?;
    Ok(versioned(&rule, &rule.etag(), 201, cx))
}

async fn replace_assignment(
    mut req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let id = http::path_id(params, "assignment_rule_id")?;
    let expected = if_match(&req)?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = AssignmentInput::parse(&body)?;
    let rule = assignment::replace(&db, &scope, &id, &input, expected, cx.now).await?;
    Ok(versioned(&rule, &rule.etag(), 200, cx))
}

async fn delete_assignment(
    req: Request,
    env: &Env,
    cx: &RequestContext,
    params: &Params,
) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Write).await?;
    assignment::delete(&db, &scope, &http::path_id(params, "assignment_rule_id")?).await?;
    Ok(http::empty(204, &cx.request_id))
}

// ---- forecast ----

async fn get_forecast(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let today = shared::crm::repository::firm_today(&db, &scope, cx.now).await?;
    let query = http::Query::of(&req);
    let ask = ForecastQuery::parse(|name| query.get(name), today)?;
    if let Some(id) = &ask.pipeline_id {
        pipelines::get(&db, &scope, id).await?;
    }
    let rows = forecasts::forecast(
        &db,
        &scope,
        ask.period,
        ask.from,
        ask.periods,
        ask.pipeline_id.as_deref(),
    )
    .await?;
    Ok(http::json(
        200,
        &json!({"period": ask.period.name(), "periods": ask.period.keys(ask.from, ask.periods), "rows": rows}),
        &cx.request_id,
    ))
}

async fn forecast_accuracy(req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (_, scope, db) = caller(&req, env, cx, Access::Read).await?;
    let today = shared::crm::repository::firm_today(&db, &scope, cx.now).await?;
    let query = http::Query::of(&req);
    let ask = ForecastQuery::parse(|name| query.get(name), today)?;
    let (periods, rows) = forecasts::accuracy(&db, &scope, ask.period, ask.periods, today).await?;
    Ok(http::json(
        200,
        &json!({"period": ask.period.name(), "periods": periods, "rows": rows}),
        &cx.request_id,
    ))
}

async fn put_adjustment(mut req: Request, env: &Env, cx: &RequestContext) -> Handled {
    let (claims, scope, db) = caller(&req, env, cx, Access::Write).await?;
    let (_, body) = read_json(&mut req, config::body_limit(env)).await?;
    let input = AdjustmentInput::parse(&body)?;
    if let Some(owner) = &input.owner_id {
        leads::check_member(&db, &scope, "owner_id", owner).await?;
    }
    let adjustment = forecasts::Adjustment {
        period: input.period,
        currency: input.currency,
        owner_id: input.owner_id,
        amount_minor: input.amount_minor,
        note: input.note,
        set_by: claims.user_id().to_owned(),
        set_at: cx.now.millis(),
    };
    forecasts::adjust(&db, &scope, &adjustment).await?;
    Ok(http::json(200, &adjustment, &cx.request_id))
}

async fn win_model(req: Request, env: &Env, cx: &RequestContext, retrain: bool) -> Handled {
    let access = if retrain { Access::Write } else { Access::Read };
    let (_, scope, db) = caller(&req, env, cx, access).await?;
    let trained = forecasts::win_model(&db, &scope, retrain, cx.now).await?;
    let model = &trained.model;
    Ok(http::json(
        200,
        &json!({
            "basis": if model.model.is_some() { "model" } else { "stage" },
            "outcomes": model.outcomes,
            "won": model.won,
            "needed": {"outcomes": MIN_OUTCOMES, "rarer": MIN_RARER},
            "accuracy": model.accuracy,
            "features": model.space.names(),
            "trained_at": trained.trained_at,
        }),
        &cx.request_id,
    ))
}
