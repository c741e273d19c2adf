//! The pipeline board and one deal with its proposals and tasks.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde_json::{json, Value};
use shared::crm::deal::DealMove;

use super::contracts::Contracts;
use super::proposals::Proposals;
use super::tasks::Tasks;
use super::{locale, may_write, money, stages_of, PipelineChoice, Timeline};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{items, loaded, send_form, FormError, SelectField, Status, Submit, TextField};

/// The pipeline board: a column per stage with its open deals; a deal moves by
/// dragging its card to another column, or with its card's stage menu. Moving to
/// the lost column asks for the reason first.
#[component]
pub fn Board() -> impl IntoView {
    let choice = PipelineChoice::new();
    let pipeline = choice.shown;
    let refresh = RwSignal::new(0u32);
    let deals = LocalResource::new(move || {
        refresh.track();
        let id = choice.id();
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
    view! {
        <div class="heading">
            <h1>{t("crm.board")}</h1>
            <a href="/crm/leads">{t("crm.leads")}</a>
            <a href="/crm/forecast">{t("crm.forecast")}</a>
        </div>
        {choice.menu("board-pipeline")}
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
    let currency = Memo::new(move |_| {
        deal.get()
            .and_then(Result::ok)
            .map(|d| text(&d, "currency"))
            .unwrap_or_default()
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
        {move || (!id().is_empty()).then(|| view! {
            <Proposals deal_id=id() currency=currency/>
            <Contracts deal_id=id() currency=currency/>
            <Tasks deal_id=id() deal_changed=refresh/>
            <Timeline path=format!("/v1/crm/deals/{}/activities", id()) changed=refresh/>
        })}
    }
}
