//! The CRM's screens: leads (list, a new lead, import and export, one lead with
//! its score explained, its timeline, and qualify / lose / convert), the pipeline
//! board (drag a deal to another stage, or choose the stage from its card's menu
//! with the keyboard), one deal (its facts, its predicted chance and why, its
//! proposals and tasks, its timeline, a move), the forecast (a chart, the same
//! figures as a table, and past periods against what was won), and the CRM's
//! setup (assignment rules, stage automations). Requests are checked in the
//! browser by the parsers the server runs (`shared::crm`).

mod catalogue;
mod contracts;
mod deals;
mod enrichment;
mod forecast;
mod leads;
mod proposals;
mod setup;
mod tasks;

pub use catalogue::Catalogue;
pub use deals::{Board, DealDetail};
pub use forecast::Forecast;
pub use leads::{LeadDetail, Leads};
pub use setup::Setup;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area};
use shared::crm::activity::NewActivity;
use shared::kernel::money::{Currency, Money};

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{items, loaded, send_form, FormError, Locale, SelectField, Submit, TextField};

pub(crate) fn status_label(status: &str) -> &'static str {
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

/// A record's timeline, newest first, with the form that logs a call, e-mail,
/// meeting, note or task on it; read again when `changed` ticks.
#[component]
fn Timeline(path: String, #[prop(optional)] changed: Option<RwSignal<u32>>) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let list_path = path.clone();
    let entries = LocalResource::new(move || {
        refresh.track();
        if let Some(changed) = changed {
            changed.track();
        }
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

/// The firm's active members as (user id, name) choices.
fn member_options(answer: &Value) -> Vec<(String, String)> {
    items(answer)
        .into_iter()
        .filter(|m| m.get("is_active") != Some(&Value::Bool(false)))
        .map(|m| (text(&m, "user_id"), text(&m, "name")))
        .collect()
}

/// The name of member `id` among `names` (the id itself for someone no longer
/// listed; nothing for nobody).
fn member_name(names: &[(String, String)], id: &str) -> String {
    names
        .iter()
        .find(|(u, _)| u == id)
        .map_or_else(|| id.to_owned(), |(_, n)| n.clone())
}

/// The firm's pipelines and the one a screen shows: the first until another is
/// chosen from [`PipelineChoice::menu`].
#[derive(Clone, Copy)]
struct PipelineChoice {
    all: LocalResource<Result<Value, Problem>>,
    chosen: RwSignal<String>,
    /// The pipeline shown, once loaded.
    shown: Memo<Option<Value>>,
}

impl PipelineChoice {
    fn new() -> Self {
        let all = LocalResource::new(|| api::call("GET", "/v1/crm/pipelines", None));
        let chosen = RwSignal::new(String::new());
        let shown = Memo::new(move |_| {
            let list = all
                .get()
                .and_then(Result::ok)
                .map(|a| items(&a))
                .unwrap_or_default();
            let wanted = chosen.get();
            list.iter()
                .find(|p| text(p, "id") == wanted)
                .or_else(|| list.first())
                .cloned()
        });
        Self { all, chosen, shown }
    }

    /// The id of the pipeline shown ("" until loaded).
    fn id(self) -> String {
        self.shown.get().map(|p| text(&p, "id")).unwrap_or_default()
    }

    /// The labelled menu that chooses the pipeline shown.
    fn menu(self, id: &'static str) -> impl IntoView {
        let options = move || {
            self.all
                .get()
                .and_then(Result::ok)
                .map(|a| items(&a))
                .unwrap_or_default()
                .into_iter()
                .map(|p| (text(&p, "id"), text(&p, "name")))
                .collect::<Vec<_>>()
        };
        view! {
            <label for=id>{t("crm.pipeline")}</label>
            <select id=id on:change=move |ev| self.chosen.set(event_target_value(&ev))>
                {move || options().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
            </select>
        }
    }
}

/// The firm's members, loaded once for a screen's choices.
fn members() -> LocalResource<Result<Value, Problem>> {
    LocalResource::new(|| api::call("GET", "/v1/firm/members", None))
}

/// A field's text that starts as the firm's currency once the session is known
/// (and is the person's to change from then on).
fn firm_currency() -> RwSignal<String> {
    let currency = RwSignal::new(String::new());
    let me = session::me();
    Effect::new(move |_| {
        if currency.get_untracked().is_empty() {
            if let Some(m) = me.get() {
                currency.set(m.locale.currency.clone());
            }
        }
    });
    currency
}

/// A new idempotency key for the next creation a form sends.
fn fresh_key() -> String {
    shared::kernel::id::new_id("idem", js_sys::Date::now() as i64).unwrap_or_default()
}
