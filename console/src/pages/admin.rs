//! Firm administration beyond settings and people: the audit log and its chain,
//! the event log with redelivery, webhook endpoints with their deliveries and
//! health, background jobs and dead letters, feature flags, and SAML.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area};

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{
    items, loaded, send_form, FormError, Locale, Pager, PagerNav, Status, Submit, TextField,
};

/// How one column shows a row.
type Cell = fn(&Value, &Locale) -> String;

/// A row action: its label and the request it sends (method, path).
#[derive(Clone, Copy)]
struct Action {
    label: &'static str,
    request: fn(&Value) -> Option<(&'static str, String)>,
    area: Area,
}

fn field(key: &'static str) -> impl Fn(&Value) -> String {
    move |v| match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "—".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// A paged table over `path` (a list answer with `items` and `next_cursor`),
/// with an optional action per row, shown to those who may take it.
#[component]
fn PagedTable(
    caption: &'static str,
    path: &'static str,
    columns: Vec<(&'static str, Cell)>,
    #[prop(optional)] action: Option<Action>,
) -> impl IntoView {
    let me = session::me();
    let pager = Pager::new();
    let version = RwSignal::new(0);
    let outcome = RwSignal::new(String::new());
    let page = LocalResource::new(move || {
        version.get();
        let cursor = pager.cursor.get();
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match cursor {
            Some(c) => format!(
                "{path}{separator}limit=25&cursor={}",
                String::from(js_sys::encode_uri_component(&c))
            ),
            None => format!("{path}{separator}limit=25"),
        };
        async move {
            let answer = api::call("GET", &url, None).await;
            if let Ok(p) = &answer {
                pager.saw(p);
            }
            answer
        }
    });
    let columns = StoredValue::new(columns);
    let run = move |row: Value| {
        let Some(action) = action else { return };
        let Some((method, url)) = (action.request)(&row) else {
            return;
        };
        leptos::task::spawn_local(async move {
            match api::call(method, &url, None).await {
                Ok(_) => outcome.set(t("admin.done").to_owned()),
                Err(p) => outcome.set(p.detail),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <p class="notice" role="status">{move || outcome.get()}</p>
        {move || loaded(page.get(), |answer| {
                let rows = items(&answer);
                if rows.is_empty() {
                    return view! { <p>{t("admin.none")}</p> }.into_any();
                }
                let locale = me.get().map(|m| m.locale).unwrap_or_default();
                let may_act = action.is_some_and(|a| me.get().is_some_and(|m| m.may(a.area, Access::Write)));
                view! {
                    <div class="table-wrap"><table>
                        <caption class="visually-hidden">{caption}</caption>
                        <thead><tr>
                            {columns.with_value(|cols| cols.iter().map(|(title, _)| view! { <th scope="col">{*title}</th> }).collect_view())}
                            {may_act.then(|| view! { <th scope="col"><span class="visually-hidden">{t("admin.actions")}</span></th> })}
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|row| {
                                let cells = columns.with_value(|cols| cols.iter().map(|(_, cell)| {
                                    view! { <td>{cell(&row, &locale)}</td> }
                                }).collect_view());
                                let act = (may_act && action.and_then(|a| (a.request)(&row)).is_some()).then(|| {
                                    let label = action.map(|a| a.label).unwrap_or_default();
                                    let row = row.clone();
                                    view! { <td><button type="button" class="link" on:click=move |_| run(row.clone())>{label}</button></td> }
                                });
                                view! { <tr>{cells}{act}</tr> }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            })}
        <PagerNav pager=pager/>
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let verdict = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let problem = RwSignal::new(Problem::default());
    let verify = move |_| {
        verdict.set(String::new());
        send_form(
            pending,
            problem,
            async move { api::call("GET", "/v1/firm/audit/verify", None).await },
            move |v| {
                let entries = v.get("entries").and_then(Value::as_i64).unwrap_or(0);
                verdict.set(if v.get("intact") == Some(&Value::Bool(true)) {
                    format!("{} ({entries})", t("audit.intact"))
                } else {
                    format!("{} {}", t("audit.broken"), field("first_broken_seq")(&v))
                });
            },
        );
    };
    view! {
        <h1>{t("nav.audit")}</h1>
        <button type="button" class="secondary" on:click=verify disabled=move || pending.get()>{t("audit.verify")}</button>
        <p class="notice" role="status">{move || verdict.get()}</p>
        <FormError problem=problem/>
        <PagedTable caption=t("nav.audit") path="/v1/firm/audit" columns=vec![
            (t("admin.when"), (|v, l| l.when(v, "at")) as Cell),
            (t("audit.action"), |v, _| field("action")(v)),
            (t("audit.actor"), |v, _| field("actor")(v)),
            (t("audit.target"), |v, _| field("target")(v)),
            (t("audit.outcome"), |v, _| field("outcome")(v)),
            (t("audit.ip"), |v, _| field("ip")(v)),
        ]/>
    }
}

#[component]
pub fn Events() -> impl IntoView {
    view! {
        <h1>{t("nav.events")}</h1>
        <PagedTable caption=t("nav.events") path="/v1/firm/events" columns=vec![
            (t("admin.when"), (|v, l| l.when(v, "created_at")) as Cell),
            (t("events.type"), |v, _| field("type")(v)),
            (t("events.published"), |v, l| l.when(v, "published_at")),
            (t("events.deliveries"), |v, _| v.get("deliveries").map(summary).unwrap_or_default()),
        ] action=Action {
            label: t("events.redeliver"),
            request: |v| Some(("POST", format!("/v1/firm/events/{}/redeliver", text(v, "id")))),
            area: Area::Admin,
        }/>
    }
}

/// A delivery tally (`{"delivered": 2, "failed": 1}`) as text.
fn summary(v: &Value) -> String {
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(list) => list.len().to_string(),
        other => other.to_string(),
    }
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let me = session::me();
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let types = RwSignal::new("client.created".to_owned());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let secret = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let event_types: Vec<String> = types
            .get_untracked()
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let body = json!({"name": name.get_untracked().trim(), "url": url.get_untracked().trim(), "event_types": event_types});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/webhooks/endpoints", Some(&body)).await },
            move |created| {
                secret.set(Some(text(&created, "secret")));
                name.set(String::new());
                url.set(String::new());
            },
        );
    };
    let may_write = move || {
        me.get()
            .is_some_and(|m| m.may(Area::Integrations, Access::Write))
    };
    view! {
        <h1>{t("nav.webhooks")}</h1>
        <h2>{t("webhooks.endpoints")}</h2>
        <PagedTable caption=t("webhooks.endpoints") path="/v1/webhooks/endpoints" columns=vec![
            (t("field.name"), (|v, _| field("name")(v)) as Cell),
            (t("webhooks.url"), |v, _| field("url")(v)),
            (t("webhooks.status"), |v, _| field("status")(v)),
            (t("webhooks.last_success"), |v, l| l.when(v, "last_success_at")),
            (t("webhooks.failing_since"), |v, l| l.when(v, "failing_since")),
        ] action=Action {
            label: t("webhooks.test"),
            request: |v| Some(("POST", format!("/v1/webhooks/endpoints/{}/test", text(v, "id")))),
            area: Area::Integrations,
        }/>
        <Show when=may_write>
            <form class="card form" on:submit=submit novalidate>
                <h3>{t("webhooks.new")}</h3>
                {move || secret.get().map(|s| view! {
                    <div class="codes" role="status"><p><strong>{t("webhooks.secret_once")}</strong></p><code class="secret">{s}</code></div>
                })}
                <TextField label=t("field.name") id="hook-name" field="name" value=name problem=problem/>
                <TextField label=t("webhooks.url") id="hook-url" field="url" value=url problem=problem kind="url"/>
                <TextField label=t("webhooks.types") id="hook-types" field="event_types" value=types problem=problem
                    hint=t("webhooks.types_hint")/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("webhooks.create")/>
            </form>
        </Show>
        <h2>{t("webhooks.deliveries")}</h2>
        <PagedTable caption=t("webhooks.deliveries") path="/v1/webhooks/deliveries" columns=vec![
            (t("admin.when"), (|v, l| l.when(v, "created_at")) as Cell),
            (t("events.type"), |v, _| field("type")(v)),
            (t("webhooks.status"), |v, _| field("status")(v)),
            (t("webhooks.attempts"), |v, _| field("attempts")(v)),
            (t("webhooks.last_status"), |v, _| field("last_status")(v)),
            (t("webhooks.last_error"), |v, _| field("last_error")(v)),
        ] action=Action {
            label: t("webhooks.resend"),
            request: |v| Some(("POST", format!("/v1/webhooks/deliveries/{}/resend", text(v, "id")))),
            area: Area::Integrations,
        }/>
    }
}

#[component]
pub fn Jobs() -> impl IntoView {
    view! {
        <h1>{t("nav.jobs")}</h1>
        <PagedTable caption=t("nav.jobs") path="/v1/jobs" columns=vec![
            (t("admin.when"), (|v, l| l.when(v, "created_at")) as Cell),
            (t("jobs.type"), |v, _| field("type")(v)),
            (t("jobs.status"), |v, _| field("status")(v)),
            (t("jobs.attempts"), |v, _| format!("{}/{}", field("attempt_count")(v), field("max_attempts")(v))),
            (t("jobs.error"), |v, _| field("last_error")(v)),
        ] action=Action {
            label: t("jobs.cancel"),
            request: |v| (text(v, "status") == "pending").then(|| ("POST", format!("/v1/jobs/{}/cancel", text(v, "id")))),
            area: Area::Operations,
        }/>
        <h2>{t("jobs.dead_letters")}</h2>
        <PagedTable caption=t("jobs.dead_letters") path="/v1/jobs/dead-letters" columns=vec![
            (t("admin.when"), (|v, l| l.when(v, "created_at")) as Cell),
            (t("jobs.type"), |v, _| field("type")(v)),
            (t("jobs.status"), |v, _| field("status")(v)),
            (t("jobs.error"), |v, _| field("error")(v)),
        ] action=Action {
            label: t("jobs.reprocess"),
            request: |v| (text(v, "status") == "pending_review")
                .then(|| ("POST", format!("/v1/jobs/dead-letters/{}/reprocess", text(v, "id")))),
            area: Area::Operations,
        }/>
    }
}

#[component]
pub fn Flags() -> impl IntoView {
    view! {
        <h1>{t("nav.flags")}</h1>
        <p>{t("flags.help")}</p>
        <PagedTable caption=t("nav.flags") path="/v1/flags" columns=vec![
            (t("flags.key"), (|v, _| field("key")(v)) as Cell),
            (t("flags.kind"), |v, _| field("kind")(v)),
            (t("flags.enabled"), |v, _| if v.get("enabled") == Some(&Value::Bool(true)) { t("flags.on") } else { t("flags.off") }.to_owned()),
            (t("flags.default"), |v, _| field("default_variant")(v)),
            (t("flags.description"), |v, _| field("description")(v)),
            (t("flags.updated"), |v, l| l.when(v, "updated_at")),
        ]/>
    }
}

#[component]
pub fn Sso() -> impl IntoView {
    let me = session::me();
    let entity = RwSignal::new(String::new());
    let sso_url = RwSignal::new(String::new());
    let certificate = RwSignal::new(String::new());
    let settings = RwSignal::new(None::<Value>);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    leptos::task::spawn_local(async move {
        if let Ok(s) = api::call("GET", "/v1/sso/saml", None).await {
            if let Some(config) = s.get("config").filter(|c| !c.is_null()) {
                entity.set(text(config, "idp_entity_id"));
                sso_url.set(text(config, "idp_sso_url"));
                certificate.set(text(config, "idp_certificate"));
            }
            settings.set(Some(s));
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"idp_entity_id": entity.get_untracked().trim(), "idp_sso_url": sso_url.get_untracked().trim(),
                          "idp_certificate": certificate.get_untracked().trim()});
        send_form(
            pending,
            problem,
            async move { api::call("PUT", "/v1/sso/saml", Some(&body)).await },
            move |s| {
                settings.set(Some(s));
                status.set(t("form.saved").to_owned());
            },
        );
    };
    let may_write = move || me.get().is_some_and(|m| m.may(Area::Admin, Access::Write));
    view! {
        <h1>{t("nav.sso")}</h1>
        <section class="card">
            <h2>{t("sso.provider_side")}</h2>
            <p>{t("sso.entity")} " " <code>{move || settings.get().map(|s| text(&s, "sp_entity_id"))}</code></p>
            <p>{t("sso.acs")} " " <code>{move || settings.get().map(|s| text(&s, "acs_url"))}</code></p>
        </section>
        <form class="card form" on:submit=submit novalidate>
            <h2>{t("sso.idp")}</h2>
            <fieldset disabled=move || !may_write()>
                <TextField label=t("sso.idp_entity") id="idp-entity" field="idp_entity_id" value=entity problem=problem/>
                <TextField label=t("sso.idp_url") id="idp-url" field="idp_sso_url" value=sso_url problem=problem kind="url"/>
                <label for="idp-cert">{t("sso.idp_certificate")}</label>
                <textarea id="idp-cert" rows="6" aria-describedby="idp-cert-error"
                    aria-invalid=move || if problem.get().field("idp_certificate").is_some() { "true" } else { "false" }
                    prop:value=move || certificate.get()
                    on:input=move |ev| certificate.set(event_target_value(&ev))></textarea>
                <p class="field-error" id="idp-cert-error" aria-live="polite">
                    {move || problem.get().field("idp_certificate").unwrap_or_default()}</p>
            </fieldset>
            <FormError problem=problem/>
            <Status text=status/>
            <Show when=may_write><Submit pending=pending label=t("form.save")/></Show>
        </form>
    }
}
