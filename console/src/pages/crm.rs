//! The CRM's screens: leads (list, a new lead, one lead with its score explained,
//! its timeline, and qualify / lose / convert), the pipeline board (drag a deal to
//! another stage, or choose the stage from its card's menu with the keyboard), one
//! deal (its facts, its predicted chance and why, its timeline, a move), and the
//! forecast (a chart and the same figures as a table). Requests are checked in the
//! browser by the parsers the server runs (`shared::crm`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area};
use shared::crm::activity::NewActivity;
use shared::crm::deal::DealMove;
use shared::crm::lead::{parse_reason, LeadFields};
use shared::kernel::money::{Currency, Money};

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{
    items, loaded, send_form, FormError, Locale, Pager, PagerNav, SelectField, Status, Submit,
    TableScroll, TextField,
};

fn status_label(status: &str) -> &'static str {
    match status {
        "contacted" => t("crm.status.contacted"),
        "qualified" => t("crm.status.qualified"),
        "converted" => t("crm.status.converted"),
        "lost" => t("crm.status.lost"),
        _ => t("crm.status.new"),
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "call" => t("crm.kind.call"),
        "email" => t("crm.kind.email"),
        "meeting" => t("crm.kind.meeting"),
        "note" => t("crm.kind.note"),
        "task" => t("crm.kind.task"),
        "created" => t("crm.kind.created"),
        "stage_changed" => t("crm.kind.stage_changed"),
        "won" => t("crm.kind.won"),
        "lost" => t("crm.kind.lost"),
        "converted" => t("crm.kind.converted"),
        "scored" => t("crm.kind.scored"),
        _ => t("crm.kind.changed"),
    }
}

/// An amount of `value[minor_key]` in `value[currency_key]`, as the firm writes it.
fn money(locale: &Locale, value: &Value, minor_key: &str, currency_key: &str) -> String {
    let minor = value.get(minor_key).and_then(Value::as_i64);
    let currency = Currency::parse("currency", &text(value, currency_key)).ok();
    match (minor, currency) {
        (Some(minor), Some(currency)) => locale.money(Money { minor, currency }),
        _ => "—".to_owned(),
    }
}

fn may_write() -> impl Fn() -> bool + Copy {
    let me = session::me();
    move || me.get().is_some_and(|m| m.may(Area::Crm, Access::Write))
}

fn locale() -> Locale {
    session::me().get().map(|m| m.locale).unwrap_or_default()
}

/// The query string of the lead list.
fn lead_query(q: &str, status: &str, min_score: &str, cursor: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", "25");
    for (name, value) in [
        ("q", q.trim()),
        ("status", status),
        ("min_score", min_score.trim()),
    ] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    if let Some(cursor) = cursor {
        query.append_pair("cursor", cursor);
    }
    query.finish()
}

#[component]
pub fn Leads() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let min_score = RwSignal::new(String::new());
    let pager = Pager::new();
    let problem = RwSignal::new(Problem::default());
    let refresh = RwSignal::new(0u32);
    Effect::new(move |_| {
        q.track();
        status.track();
        min_score.track();
        pager.reset();
    });
    let page = LocalResource::new(move || {
        refresh.track();
        let query = lead_query(
            &q.get(),
            &status.get(),
            &min_score.get(),
            pager.cursor.get().as_deref(),
        );
        async move {
            let answer = api::call("GET", &format!("/v1/crm/leads?{query}"), None).await;
            match answer {
                Ok(page) => {
                    pager.saw(&page);
                    problem.set(Problem::default());
                    Ok(page)
                }
                Err(p) => {
                    problem.set(p.clone());
                    Err(p)
                }
            }
        }
    });
    let mut statuses = vec![(String::new(), t("crm.status.all").to_owned())];
    for s in ["new", "contacted", "qualified", "converted", "lost"] {
        statuses.push((s.to_owned(), status_label(s).to_owned()));
    }
    let may = may_write();
    view! {
        <div class="heading">
            <h1>{t("crm.leads")}</h1>
            <a href="/crm/pipeline">{t("crm.board")}</a>
        </div>
        <Show when=may>
            <NewLead on_created=move || refresh.update(|n| *n += 1)/>
        </Show>
        <form class="filters" role="search" on:submit=|ev: SubmitEvent| ev.prevent_default()>
            <div><TextField label=t("crm.search") id="lead-search" field="q" value=q problem=problem kind="search"/></div>
            <div><SelectField label=t("crm.status") id="lead-status" field="status" value=status problem=problem options=statuses/></div>
            <div><TextField label=t("crm.min_score") id="lead-min-score" field="min_score" value=min_score problem=problem kind="number"/></div>
        </form>
        {move || loaded(page.get(), |answer| {
            let rows = items(&answer);
            if rows.is_empty() {
                return view! { <p role="status">{t("crm.no_leads")}</p> }.into_any();
            }
            view! {
                <TableScroll label=t("crm.leads")>
                <table>
                    <caption class="visually-hidden">{t("crm.leads")}</caption>
                    <thead><tr>
                        <th scope="col">{t("field.name")}</th>
                        <th scope="col">{t("crm.company")}</th>
                        <th scope="col">{t("crm.status")}</th>
                        <th scope="col">{t("crm.score")}</th>
                        <th scope="col">{t("crm.source")}</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|l| view! {
                            <tr>
                                <td><a href=format!("/crm/leads/{}", text(&l, "id"))>{text(&l, "contact_name")}</a></td>
                                <td>{text(&l, "company_name")}</td>
                                <td>{status_label(&text(&l, "status"))}</td>
                                <td><span class="score">{l.get("score").and_then(Value::as_i64).unwrap_or(0)}</span></td>
                                <td>{text(&l, "source").replace('_', " ")}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </TableScroll>
            }.into_any()
        })}
        <PagerNav pager=pager/>
    }
}

/// The new-lead form above the list; what was typed stays on a refusal.
#[component]
fn NewLead(on_created: impl Fn() + Copy + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let company = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let key = RwSignal::new(
        shared::kernel::id::new_id("idem", js_sys::Date::now() as i64).unwrap_or_default(),
    );
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = json!({"contact_name": name.get_untracked().trim()});
        for (field, value) in [
            ("company_name", company),
            ("email", email),
            ("title", title),
        ] {
            let v = value.get_untracked();
            if let (false, Some(o)) = (v.trim().is_empty(), body.as_object_mut()) {
                o.insert(field.to_owned(), json!(v.trim()));
            }
        }
        if let Err(e) = LeadFields::parse(&body, true) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let idem = key.get_untracked();
        send_form(
            pending,
            problem,
            async move { api::call_idempotent("POST", "/v1/crm/leads", &body, &idem).await },
            move |lead| {
                for s in [name, company, email, title] {
                    s.set(String::new());
                }
                key.set(
                    shared::kernel::id::new_id("idem", js_sys::Date::now() as i64)
                        .unwrap_or_default(),
                );
                status.set(format!(
                    "{} {}",
                    t("crm.lead_created"),
                    lead.get("score").and_then(Value::as_i64).unwrap_or(0)
                ));
                on_created();
            },
        );
    };
    view! {
        <details class="card">
            <summary>{t("crm.new_lead")}</summary>
            <form class="form" on:submit=submit novalidate>
                <TextField label=t("crm.contact_name") id="lead-name" field="contact_name" value=name problem=problem autocomplete="name"/>
                <TextField label=t("crm.company") id="lead-company" field="company_name" value=company problem=problem autocomplete="organization"/>
                <TextField label=t("field.email_optional") id="lead-email" field="email" value=email problem=problem kind="email" autocomplete="email"/>
                <TextField label=t("crm.job_title") id="lead-title" field="title" value=title problem=problem autocomplete="organization-title"/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_lead")/>
                <Status text=status/>
            </form>
        </details>
    }
}

/// A record's timeline, newest first, with the form that logs a call, e-mail,
/// meeting, note or task on it.
#[component]
fn Timeline(path: String) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let list_path = path.clone();
    let entries = LocalResource::new(move || {
        refresh.track();
        let path = list_path.clone();
        async move { api::call("GET", &format!("{path}?limit=50"), None).await }
    });
    let kind = RwSignal::new("note".to_owned());
    let summary = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let log = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"kind": kind.get_untracked(), "summary": summary.get_untracked().trim()});
        if let Err(e) = NewActivity::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = path.clone();
        send_form(
            pending,
            problem,
            async move { api::call("POST", &path, Some(&body)).await },
            move |_| {
                summary.set(String::new());
                refresh.update(|n| *n += 1);
            },
        );
    };
    let kinds: Vec<(String, String)> = ["note", "call", "email", "meeting", "task"]
        .iter()
        .map(|k| ((*k).to_owned(), kind_label(k).to_owned()))
        .collect();
    let may = may_write();
    view! {
        <section aria-labelledby="timeline-title">
            <h2 id="timeline-title">{t("crm.timeline")}</h2>
            <Show when=may>
                <form class="form inline-form" on:submit=log.clone() novalidate>
                    <SelectField label=t("crm.activity_kind") id="activity-kind" field="kind" value=kind problem=problem options=kinds.clone()/>
                    <TextField label=t("crm.activity_summary") id="activity-summary" field="summary" value=summary problem=problem/>
                    <FormError problem=problem/>
                    <Submit pending=pending label=t("crm.log")/>
                </form>
            </Show>
            {move || loaded(entries.get(), |answer| {
                let locale = locale();
                view! {
                    <ol class="timeline">
                        {items(&answer).into_iter().map(|a| view! {
                            <li>
                                <span class="tag">{kind_label(&text(&a, "kind"))}</span> " "
                                <strong>{text(&a, "summary")}</strong> " "
                                <time>{locale.when(&a, "occurred_at")}</time>
                                {(!text(&a, "body").is_empty()).then(|| view! { <p>{text(&a, "body")}</p> })}
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            })}
        </section>
    }
}

/// One lead: its facts, its status (qualify it), lose or convert it, why it
/// scores what it does, and its timeline.
#[component]
pub fn LeadDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let lead = RwSignal::new(None::<Value>);
    let load_problem = RwSignal::new(None::<Problem>);
    let refresh = RwSignal::new(0u32);
    Effect::new(move |_| {
        refresh.track();
        let path = format!("/v1/crm/leads/{}", id());
        leptos::task::spawn_local(async move {
            match api::call("GET", &path, None).await {
                Ok(l) => {
                    lead.set(Some(l));
                    load_problem.set(None);
                }
                Err(p) => load_problem.set(Some(p)),
            }
        });
    });
    let score = LocalResource::new(move || {
        refresh.track();
        let path = format!("/v1/crm/leads/{}/score", id());
        async move { api::call("GET", &path, None).await }
    });
    let status = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(l) = lead.get() {
            status.set(text(&l, "status"));
        }
    });
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let saved = RwSignal::new(String::new());
    let save_status = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"status": status.get_untracked()});
        if let Err(e) = LeadFields::parse(&body, false) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = format!("/v1/crm/leads/{}", id());
        let tag = lead
            .get_untracked()
            .map(|l| text(&l, "etag"))
            .unwrap_or_default();
        send_form(
            pending,
            problem,
            async move { api::call_if_match("PATCH", &path, &body, &tag).await },
            move |l| {
                lead.set(Some(l));
                saved.set(t("form.saved").to_owned());
                refresh.update(|n| *n += 1);
            },
        );
    };
    let reason = RwSignal::new(String::new());
    let lose_problem = RwSignal::new(Problem::default());
    let lose_pending = RwSignal::new(false);
    let lose = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"reason": reason.get_untracked().trim()});
        if let Err(e) = parse_reason(&body) {
            lose_problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = format!("/v1/crm/leads/{}/lose", id());
        send_form(
            lose_pending,
            lose_problem,
            async move { api::call("POST", &path, Some(&body)).await },
            move |l| {
                lead.set(Some(l));
                refresh.update(|n| *n += 1);
            },
        );
    };
    let navigate = use_navigate();
    let convert_problem = RwSignal::new(Problem::default());
    let convert_pending = RwSignal::new(false);
    let convert = Callback::new(move |()| {
        let path = format!("/v1/crm/leads/{}/convert", id());
        let navigate = navigate.clone();
        send_form(
            convert_pending,
            convert_problem,
            async move { api::call("POST", &path, Some(&json!({}))).await },
            move |made| {
                let deal = made.get("deal").map(|d| text(d, "id")).unwrap_or_default();
                navigate(&format!("/crm/deals/{deal}"), Default::default());
            },
        );
    });
    let may = may_write();
    let open = move || {
        lead.get()
            .is_some_and(|l| !matches!(text(&l, "status").as_str(), "converted" | "lost"))
    };
    let qualified = move || {
        lead.get()
            .is_some_and(|l| text(&l, "status") == "qualified")
    };
    let statuses: Vec<(String, String)> = ["new", "contacted", "qualified"]
        .iter()
        .map(|s| ((*s).to_owned(), status_label(s).to_owned()))
        .collect();
    view! {
        <p><a href="/crm/leads">{t("crm.all_leads")}</a></p>
        {move || load_problem.get().map(|p| view! { <p class="form-error" role="alert">{p.detail}</p> })}
        {move || lead.get().map(|l| view! {
            <h1>{text(&l, "contact_name")}</h1>
            <dl class="facts">
                <dt>{t("crm.company")}</dt><dd>{text(&l, "company_name")}</dd>
                <dt>{t("crm.job_title")}</dt><dd>{text(&l, "title")}</dd>
                <dt>{t("field.email_plain")}</dt><dd>{text(&l, "email")}</dd>
                <dt>{t("crm.status")}</dt><dd>{status_label(&text(&l, "status"))}</dd>
                <dt>{t("crm.score")}</dt><dd><span class="score">{l.get("score").and_then(Value::as_i64).unwrap_or(0)}</span></dd>
            </dl>
        })}
        <Show when=move || may() && open()>
            <form class="card form" on:submit=save_status novalidate>
                <SelectField label=t("crm.status") id="lead-status-edit" field="status" value=status problem=problem options=statuses.clone()/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("form.save")/>
                <Status text=saved/>
            </form>
            <Show when=qualified>
                <div class="card">
                    <p>{t("crm.convert_help")}</p>
                    <FormError problem=convert_problem/>
                    <button type="button" on:click=move |_| convert.run(()) disabled=move || convert_pending.get()>{t("crm.convert")}</button>
                </div>
            </Show>
            <form class="card form" on:submit=lose novalidate>
                <TextField label=t("crm.lost_reason") id="lead-lost-reason" field="reason" value=reason problem=lose_problem/>
                <FormError problem=lose_problem/>
                <Submit pending=lose_pending label=t("crm.lose")/>
            </form>
        </Show>
        <section aria-labelledby="score-title">
            <h2 id="score-title">{t("crm.why_score")}</h2>
            {move || loaded(score.get(), |answer| {
                let rows = answer.get("adjustments").and_then(Value::as_array).cloned().unwrap_or_default();
                if rows.is_empty() {
                    return view! { <p role="status">{t("crm.no_adjustments")}</p> }.into_any();
                }
                view! {
                    <TableScroll label=t("crm.why_score")>
                    <table>
                        <caption class="visually-hidden">{t("crm.why_score")}</caption>
                        <thead><tr>
                            <th scope="col">{t("crm.reason")}</th>
                            <th scope="col">{t("crm.points")}</th>
                            <th scope="col">{t("crm.counts")}</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|a| {
                                let live = a.get("live").and_then(Value::as_bool).unwrap_or(false);
                                let points = a.get("points").and_then(Value::as_i64).unwrap_or(0);
                                view! {
                                    <tr class:faded=!live>
                                        <td>{text(&a, "reason")}</td>
                                        <td>{format!("{points:+}")}</td>
                                        <td>{if live { t("crm.live") } else { t("crm.faded") }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    </TableScroll>
                }.into_any()
            })}
        </section>
        {move || (!id().is_empty()).then(|| view! { <Timeline path=format!("/v1/crm/leads/{}/activities", id())/> })}
    }
}

/// The stages of a pipeline answer: (id, name, kind).
fn stages_of(pipeline: &Value) -> Vec<(String, String, String)> {
    pipeline
        .get("stages")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|s| (text(s, "id"), text(s, "name"), text(s, "kind")))
                .collect()
        })
        .unwrap_or_default()
}

/// The pipeline board: a column per stage with its open deals; a deal moves by
/// dragging its card to another column, or with its card's stage menu. Moving to
/// the lost column asks for the reason first.
#[component]
pub fn Board() -> impl IntoView {
    let pipelines = LocalResource::new(|| api::call("GET", "/v1/crm/pipelines", None));
    let chosen = RwSignal::new(String::new());
    let refresh = RwSignal::new(0u32);
    let pipeline = Memo::new(move |_| {
        let all = pipelines
            .get()
            .and_then(Result::ok)
            .map(|a| items(&a))
            .unwrap_or_default();
        let wanted = chosen.get();
        all.iter()
            .find(|p| text(p, "id") == wanted)
            .or_else(|| all.first())
            .cloned()
    });
    let deals = LocalResource::new(move || {
        refresh.track();
        let id = pipeline.get().map(|p| text(&p, "id")).unwrap_or_default();
        async move {
            if id.is_empty() {
                return Ok(json!({"items": []}));
            }
            api::call(
                "GET",
                &format!("/v1/crm/deals?pipeline_id={id}&status=open&limit=100"),
                None,
            )
            .await
        }
    });
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let notice = RwSignal::new(String::new());
    // A move to the lost stage waits here for its reason.
    let losing = RwSignal::new(None::<(String, String)>);
    let reason = RwSignal::new(String::new());
    let send_move = move |deal_id: String, stage_id: String, lost_reason: Option<String>| {
        let mut body = json!({"stage_id": stage_id});
        if let (Some(r), Some(o)) = (lost_reason, body.as_object_mut()) {
            o.insert("lost_reason".to_owned(), json!(r));
        }
        if let Err(e) = DealMove::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = format!("/v1/crm/deals/{deal_id}/move");
        send_form(
            pending,
            problem,
            async move { api::call("POST", &path, Some(&body)).await },
            move |deal| {
                losing.set(None);
                reason.set(String::new());
                notice.set(
                    format!("{} {}", text(&deal, "name"), t("crm.moved_to"))
                        + " "
                        + &text(&deal, "stage_name"),
                );
                refresh.update(|n| *n += 1);
            },
        );
    };
    let request_move = move |deal_id: String, stage_id: String, kind: String| {
        if kind == "lost" {
            losing.set(Some((deal_id, stage_id)));
        } else {
            send_move(deal_id, stage_id, None);
        }
    };
    let confirm_lost = move |ev: SubmitEvent| {
        ev.prevent_default();
        if let Some((deal, stage)) = losing.get_untracked() {
            let r = reason.get_untracked().trim().to_owned();
            send_move(deal, stage, Some(r));
        }
    };
    let may = may_write();
    let pipeline_options = move || {
        pipelines
            .get()
            .and_then(Result::ok)
            .map(|a| items(&a))
            .unwrap_or_default()
            .into_iter()
            .map(|p| (text(&p, "id"), text(&p, "name")))
            .collect::<Vec<_>>()
    };
    view! {
        <div class="heading">
            <h1>{t("crm.board")}</h1>
            <a href="/crm/leads">{t("crm.leads")}</a>
            <a href="/crm/forecast">{t("crm.forecast")}</a>
        </div>
        <label for="board-pipeline">{t("crm.pipeline")}</label>
        <select id="board-pipeline" on:change=move |ev| chosen.set(event_target_value(&ev))>
            {move || pipeline_options().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
        </select>
        <FormError problem=problem/>
        <Status text=notice/>
        {move || losing.get().map(|_| view! {
            <form class="card form" on:submit=confirm_lost novalidate>
                <TextField label=t("crm.lost_reason") id="board-lost-reason" field="lost_reason" value=reason problem=problem/>
                <Submit pending=pending label=t("crm.lose")/>
                <button type="button" class="secondary" on:click=move |_| losing.set(None)>{t("crm.cancel")}</button>
            </form>
        })}
        {move || {
            let Some(p) = pipeline.get() else {
                return view! { <p role="status">{t("crm.no_pipeline")}</p> }.into_any();
            };
            let stages = stages_of(&p);
            let all = deals.get().and_then(Result::ok).map(|a| items(&a)).unwrap_or_default();
            let locale = locale();
            view! {
                <div class="board" role="list" aria-label=t("crm.board")>
                    {stages.clone().into_iter().map(|(stage_id, stage_name, kind)| {
                        let in_stage: Vec<Value> = all.iter().filter(|d| text(d, "stage_id") == stage_id).cloned().collect();
                        let drop_stage = stage_id.clone();
                        let drop_kind = kind.clone();
                        let heading_id = format!("stage-{stage_id}");
                        let labelled_by = heading_id.clone();
                        view! {
                            <section class="column" role="listitem" aria-labelledby=labelled_by data-stage=stage_id.clone()
                                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                                on:drop=move |ev: leptos::ev::DragEvent| {
                                    ev.prevent_default();
                                    let deal = ev.data_transfer().and_then(|d| d.get_data("text/plain").ok()).unwrap_or_default();
                                    if !deal.is_empty() && may() {
                                        request_move(deal, drop_stage.clone(), drop_kind.clone());
                                    }
                                }>
                                <h2 id=heading_id>{stage_name.clone()} " " <span class="count">{in_stage.len()}</span></h2>
                                <ul>
                                    {in_stage.into_iter().map(|d| {
                                        let deal_id = text(&d, "id");
                                        let drag_id = deal_id.clone();
                                        let menu_id = format!("move-{deal_id}");
                                        let menu_deal = deal_id.clone();
                                        let options = stages.clone();
                                        let current = text(&d, "stage_id");
                                        view! {
                                            <li class="deal-card" class:stale=d.get("is_stale").and_then(Value::as_bool).unwrap_or(false)
                                                draggable=move || if may() { "true" } else { "false" }
                                                on:dragstart=move |ev: leptos::ev::DragEvent| {
                                                    if let Some(dt) = ev.data_transfer() {
                                                        let _ = dt.set_data("text/plain", &drag_id);
                                                    }
                                                }>
                                                <a href=format!("/crm/deals/{deal_id}")>{text(&d, "name")}</a>
                                                <p>{money(&locale, &d, "value_minor", "currency")} " · "
                                                   {d.get("effective_probability").and_then(Value::as_i64).unwrap_or(0)} "%"</p>
                                                <Show when=may>
                                                    <label class="visually-hidden" for=menu_id.clone()>{t("crm.move_to")}</label>
                                                    <select id=menu_id.clone() on:change={
                                                        let menu_deal = menu_deal.clone();
                                                        let options = options.clone();
                                                        move |ev| {
                                                            let to = event_target_value(&ev);
                                                            if let Some((id, _, kind)) = options.iter().find(|(id, _, _)| *id == to) {
                                                                request_move(menu_deal.clone(), id.clone(), kind.clone());
                                                            }
                                                        }
                                                    }>
                                                        {options.iter().map(|(id, name, _)| {
                                                            let selected = *id == current;
                                                            view! { <option value=id.clone() selected=selected>{name.clone()}</option> }
                                                        }).collect_view()}
                                                    </select>
                                                </Show>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </section>
                        }
                    }).collect_view()}
                </div>
            }.into_any()
        }}
    }
}

/// One deal: its facts, its chance from the firm's history and why, a move, and
/// its timeline.
#[component]
pub fn DealDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let refresh = RwSignal::new(0u32);
    let deal = LocalResource::new(move || {
        refresh.track();
        let path = format!("/v1/crm/deals/{}", id());
        async move { api::call("GET", &path, None).await }
    });
    let prediction = LocalResource::new(move || {
        refresh.track();
        let path = format!("/v1/crm/deals/{}/prediction", id());
        async move { api::call("GET", &path, None).await }
    });
    let pipeline = LocalResource::new(move || {
        let pipeline_id = deal
            .get()
            .and_then(Result::ok)
            .map(|d| text(&d, "pipeline_id"))
            .unwrap_or_default();
        async move {
            if pipeline_id.is_empty() {
                return Ok(Value::Null);
            }
            api::call("GET", &format!("/v1/crm/pipelines/{pipeline_id}"), None).await
        }
    });
    let stage = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let notice = RwSignal::new(String::new());
    let move_deal = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = json!({"stage_id": stage.get_untracked()});
        let r = reason.get_untracked();
        if let (false, Some(o)) = (r.trim().is_empty(), body.as_object_mut()) {
            o.insert("lost_reason".to_owned(), json!(r.trim()));
        }
        if let Err(e) = DealMove::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = format!("/v1/crm/deals/{}/move", id());
        let tag = deal
            .get_untracked()
            .and_then(Result::ok)
            .map(|d| text(&d, "etag"))
            .unwrap_or_default();
        send_form(
            pending,
            problem,
            async move { api::call_if_match("POST", &path, &body, &tag).await },
            move |d| {
                notice.set(format!("{} {}", t("crm.moved_to"), text(&d, "stage_name")));
                reason.set(String::new());
                refresh.update(|n| *n += 1);
            },
        );
    };
    let may = may_write();
    view! {
        <p><a href="/crm/pipeline">{t("crm.board")}</a></p>
        {move || loaded(deal.get(), |d| {
            let locale = locale();
            view! {
                <h1>{text(&d, "name")}</h1>
                <dl class="facts">
                    <dt>{t("crm.stage")}</dt><dd>{text(&d, "stage_name")}</dd>
                    <dt>{t("crm.value")}</dt><dd>{money(&locale, &d, "value_minor", "currency")}</dd>
                    <dt>{t("crm.probability")}</dt><dd>{d.get("effective_probability").and_then(Value::as_i64).unwrap_or(0)} "%"</dd>
                    <dt>{t("crm.weighted")}</dt><dd>{money(&locale, &d, "weighted_minor", "currency")}</dd>
                    <dt>{t("crm.expected_close")}</dt><dd>{text(&d, "expected_close")}</dd>
                    <dt>{t("crm.status")}</dt><dd>{text(&d, "status")}</dd>
                </dl>
            }.into_any()
        })}
        <section aria-labelledby="prediction-title">
            <h2 id="prediction-title">{t("crm.prediction")}</h2>
            {move || loaded(prediction.get(), |p| {
                let basis = if text(&p, "basis") == "model" { t("crm.basis_model") } else { t("crm.basis_stage") };
                view! {
                    <p><strong class="score">{p.get("probability").and_then(Value::as_i64).unwrap_or(0)} "%"</strong> " " {basis}</p>
                    <ul>
                        {p.get("reasons").and_then(Value::as_array).cloned().unwrap_or_default().into_iter().map(|r| {
                            let up = r.get("effect").and_then(Value::as_f64).unwrap_or(0.0) > 0.0;
                            view! { <li>{if up { t("crm.raises") } else { t("crm.lowers") }} " " {text(&r, "label")}</li> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
        <Show when=may>
            <form class="card form" on:submit=move_deal novalidate>
                {move || {
                    let options: Vec<(String, String)> = pipeline.get().and_then(Result::ok).map(|p| stages_of(&p)).unwrap_or_default()
                        .into_iter().map(|(id, name, _)| (id, name)).collect();
                    if stage.get_untracked().is_empty() {
                        if let Some((first, _)) = options.first() {
                            stage.set(first.clone());
                        }
                    }
                    view! { <SelectField label=t("crm.move_to") id="deal-stage" field="stage_id" value=stage problem=problem options=options/> }
                }}
                <TextField label=t("crm.lost_reason_optional") id="deal-lost-reason" field="lost_reason" value=reason problem=problem/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.move")/>
                <Status text=notice/>
            </form>
        </Show>
        {move || (!id().is_empty()).then(|| view! { <Timeline path=format!("/v1/crm/deals/{}/activities", id())/> })}
    }
}

/// The forecast: won, weighted and best case per period as bars, the same figures
/// (with commit, worst case and managers' figures) as a table, and how well the
/// win model did on held-out history.
#[component]
pub fn Forecast() -> impl IntoView {
    let period = RwSignal::new("month".to_owned());
    let problem = RwSignal::new(Problem::default());
    let forecast = LocalResource::new(move || {
        let p = period.get();
        async move {
            api::call(
                "GET",
                &format!("/v1/crm/forecast?period={p}&periods=6"),
                None,
            )
            .await
        }
    });
    let model = LocalResource::new(|| api::call("GET", "/v1/crm/forecast/model", None));
    let periods = vec![
        ("month".to_owned(), t("crm.months").to_owned()),
        ("quarter".to_owned(), t("crm.quarters").to_owned()),
    ];
    view! {
        <div class="heading">
            <h1>{t("crm.forecast")}</h1>
            <a href="/crm/pipeline">{t("crm.board")}</a>
        </div>
        <form class="filters" on:submit=|ev: SubmitEvent| ev.prevent_default()>
            <div><SelectField label=t("crm.period") id="forecast-period" field="period" value=period problem=problem options=periods/></div>
        </form>
        {move || loaded(forecast.get(), |f| {
            let locale = locale();
            let rows: Vec<Value> = f.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
            let totals: Vec<Value> = rows.iter().filter(|r| r.get("owner_id").is_none_or(Value::is_null)).cloned().collect();
            let currency = totals.first().map(|r| text(r, "currency")).unwrap_or_else(|| locale.currency.clone());
            let keys: Vec<String> = f.get("periods").and_then(Value::as_array).cloned().unwrap_or_default()
                .iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
            let of = |p: &str, key: &str| totals.iter().find(|r| text(r, "period") == p && text(r, "currency") == currency)
                .and_then(|r| r.get(key).and_then(Value::as_i64)).unwrap_or(0);
            let top = keys.iter().map(|p| of(p, "best_case_minor")).max().unwrap_or(0).max(1);
            let height = |v: i64| (v.saturating_mul(160) / top).clamp(0, 160);
            view! {
                <figure class="chart">
                    <svg viewBox="0 0 640 200" role="img" aria-labelledby="forecast-chart-title">
                        <title id="forecast-chart-title">{t("crm.chart_title")}</title>
                        {keys.iter().enumerate().map(|(i, p)| {
                            let x = 20 + (i as i64) * 100;
                            let won = height(of(p, "won_minor"));
                            let weighted = height(of(p, "weighted_minor"));
                            let best = height(of(p, "best_case_minor"));
                            view! {
                                <g>
                                    <rect class="best" x=x y=180 - best width=70 height=best/>
                                    <rect class="won" x=x y=180 - won width=34 height=won/>
                                    <rect class="weighted" x=x + 36 y=180 - weighted width=34 height=weighted/>
                                    <text x=x y=196>{p.clone()}</text>
                                </g>
                            }
                        }).collect_view()}
                    </svg>
                    <figcaption>{t("crm.chart_legend")}</figcaption>
                </figure>
                <TableScroll label=t("crm.forecast")>
                <table>
                    <caption class="visually-hidden">{t("crm.forecast")}</caption>
                    <thead><tr>
                        <th scope="col">{t("crm.period")}</th>
                        <th scope="col">{t("crm.won")}</th>
                        <th scope="col">{t("crm.weighted")}</th>
                        <th scope="col">{t("crm.commit")}</th>
                        <th scope="col">{t("crm.best_case")}</th>
                        <th scope="col">{t("crm.adjusted")}</th>
                    </tr></thead>
                    <tbody>
                        {totals.into_iter().map(|r| {
                            let adjusted = r.get("adjustment").filter(|a| !a.is_null())
                                .map(|a| money(&locale, a, "amount_minor", "currency")).unwrap_or_else(|| "—".to_owned());
                            view! {
                                <tr>
                                    <th scope="row">{text(&r, "period")} " " {text(&r, "currency")}</th>
                                    <td>{money(&locale, &r, "won_minor", "currency")}</td>
                                    <td>{money(&locale, &r, "weighted_minor", "currency")}</td>
                                    <td>{money(&locale, &r, "commit_minor", "currency")}</td>
                                    <td>{money(&locale, &r, "best_case_minor", "currency")}</td>
                                    <td>{adjusted}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </TableScroll>
            }.into_any()
        })}
        <section aria-labelledby="model-title">
            <h2 id="model-title">{t("crm.model")}</h2>
            {move || loaded(model.get(), |m| {
                let outcomes = m.get("outcomes").and_then(Value::as_i64).unwrap_or(0);
                if text(&m, "basis") != "model" {
                    return view! { <p>{t("crm.model_prior")} " " {outcomes}</p> }.into_any();
                }
                let a = m.get("accuracy").cloned().unwrap_or_default();
                let fmt = |k: &str| a.get(k).and_then(Value::as_f64).map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"));
                view! {
                    <dl class="facts">
                        <dt>{t("crm.outcomes")}</dt><dd>{outcomes}</dd>
                        <dt>{t("crm.auc")}</dt><dd>{fmt("auc")} " (" {t("crm.stages")} " " {fmt("baseline_auc")} ")"</dd>
                        <dt>{t("crm.brier")}</dt><dd>{fmt("brier")} " (" {t("crm.stages")} " " {fmt("baseline_brier")} ")"</dd>
                    </dl>
                }.into_any()
            })}
        </section>
    }
}
