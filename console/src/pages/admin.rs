//! Firm administration beyond settings and people: the audit log and its chain,
//! the event log with redelivery, webhook endpoints with their deliveries and
//! health, background jobs and dead letters, feature flags, and SAML.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area};
use shared::flags::model::valid_key;
use shared::flags::store::{rollout, switched};
use shared::flags::{Flag, FlagKind};

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{
    items, loaded, send_form, FormError, Locale, Pager, PagerNav, SelectField, Status, Submit,
    TableScroll, TextField,
};

/// How one column shows a row.
type Cell = fn(&Value, &Locale) -> String;

/// A request a row action sends: a change to a versioned record carries a body
/// and the etag it was read at.
struct Send {
    method: &'static str,
    path: String,
    body: Option<(Value, String)>,
}

impl Send {
    /// A request without a body.
    fn plain(method: &'static str, path: String) -> Self {
        Self {
            method,
            path,
            body: None,
        }
    }
}

/// A row action: its label for the row, the request it sends (none: the row
/// offers no such action), the right it needs, and what the status line says of
/// the answer (none: "Done."). A change reloads the list; a look does not.
#[derive(Clone, Copy)]
struct Action {
    label: fn(&Value) -> &'static str,
    request: fn(&Value) -> Option<Send>,
    area: Area,
    access: Access,
    says: Option<fn(&Value, &Locale) -> String>,
}

impl Action {
    /// A look at the row's details, answered with what `says` makes of them.
    const fn look(
        label: fn(&Value) -> &'static str,
        request: fn(&Value) -> Option<Send>,
        area: Area,
        says: fn(&Value, &Locale) -> String,
    ) -> Self {
        Self {
            label,
            request,
            area,
            access: Access::Read,
            says: Some(says),
        }
    }

    /// A change to the row, answered "Done.".
    const fn change(
        label: fn(&Value) -> &'static str,
        request: fn(&Value) -> Option<Send>,
        area: Area,
    ) -> Self {
        Self {
            label,
            request,
            area,
            access: Access::Write,
            says: None,
        }
    }
}

fn field(key: &'static str) -> impl Fn(&Value) -> String {
    move |v| match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "—".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// A paged table over `path` (a list answer with `items` and `next_cursor`),
/// with actions per row, each shown to those who may take it.
#[component]
fn PagedTable(
    caption: &'static str,
    path: &'static str,
    columns: Vec<(&'static str, Cell)>,
    #[prop(optional)] actions: Vec<Action>,
    /// Bumped by the screen when it changed the list (a new row).
    #[prop(optional)]
    refresh: Option<RwSignal<u32>>,
) -> impl IntoView {
    let me = session::me();
    let pager = Pager::new();
    let version = RwSignal::new(0);
    let outcome = RwSignal::new(String::new());
    let page = LocalResource::new(move || {
        version.get();
        if let Some(r) = refresh {
            r.get();
        }
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
    let actions = StoredValue::new(actions);
    let run = move |action: Action, row: Value| {
        let Some(send) = (action.request)(&row) else {
            return;
        };
        outcome.set(String::new());
        leptos::task::spawn_local(async move {
            let answer = match &send.body {
                Some((body, etag)) => api::call_if_match(send.method, &send.path, body, etag).await,
                None => api::call(send.method, &send.path, None).await,
            };
            match (answer, action.says) {
                (Ok(a), Some(says)) => {
                    let locale = me.get_untracked().map(|m| m.locale).unwrap_or_default();
                    outcome.set(says(&a, &locale));
                }
                (Ok(_), None) => outcome.set(t("admin.done").to_owned()),
                (Err(p), _) => outcome.set(p.detail),
            }
            if action.access == Access::Write {
                version.update(|v| *v += 1);
            }
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
                let allowed: Vec<Action> = actions.with_value(|all| all.iter()
                    .filter(|a| me.get().is_some_and(|m| m.may(a.area, a.access))).copied().collect());
                let may_act = !allowed.is_empty();
                view! {
                    <TableScroll label=caption><table>
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
                                let act = may_act.then(|| {
                                    let buttons = allowed.iter().filter(|a| (a.request)(&row).is_some()).map(|a| {
                                        let (a, row) = (*a, row.clone());
                                        view! { <button type="button" class="link" on:click=move |_| run(a, row.clone())>{(a.label)(&row)}</button> " " }
                                    }).collect_view();
                                    view! { <td>{buttons}</td> }
                                });
                                view! { <tr>{cells}{act}</tr> }
                            }).collect_view()}
                        </tbody>
                    </table></TableScroll>
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
    let me = session::me();
    let verify = move |_| {
        verdict.set(String::new());
        send_form(
            pending,
            problem,
            async move { api::call("GET", "/v1/firm/audit/verify", None).await },
            move |v| {
                let entries = v.get("entries").and_then(Value::as_i64).unwrap_or(0);
                verdict.set(if v.get("intact") == Some(&Value::Bool(true)) {
                    let locale = me.get_untracked().map(|m| m.locale).unwrap_or_default();
                    format!("{} ({})", t("audit.intact"), locale.number(entries))
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
        ] actions=vec![Action::change(
            |_| t("events.redeliver"),
            |v| Some(Send::plain("POST", format!("/v1/firm/events/{}/redeliver", text(v, "id")))),
            Area::Admin,
        )]/>
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
    let types = RwSignal::new("*".to_owned());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let secret = RwSignal::new(None::<String>);
    let refresh = RwSignal::new(0_u32);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let event_types: Vec<String> = types
            .get_untracked()
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // The catalogue's rule, checked before sending.
        let listed: Vec<Value> = event_types.iter().map(|t| json!(t)).collect();
        if let Err(e) = shared::webhooks::endpoint::parse_filter(&listed) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let body = json!({"name": name.get_untracked().trim(), "url": url.get_untracked().trim(), "event_types": event_types});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/webhooks/endpoints", Some(&body)).await },
            move |created| {
                secret.set(Some(text(&created, "secret")));
                name.set(String::new());
                url.set(String::new());
                refresh.update(|r| *r += 1);
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
        <PagedTable caption=t("webhooks.endpoints") path="/v1/webhooks/endpoints" refresh=refresh columns=vec![
            (t("field.name"), (|v, _| field("name")(v)) as Cell),
            (t("webhooks.url"), |v, _| field("url")(v)),
            (t("webhooks.status"), |v, _| field("status")(v)),
            (t("webhooks.last_success"), |v, l| l.when(v, "last_success_at")),
            (t("webhooks.failing_since"), |v, l| l.when(v, "failing_since")),
        ] actions=vec![Action::change(
            |_| t("webhooks.test"),
            |v| Some(Send::plain("POST", format!("/v1/webhooks/endpoints/{}/test", text(v, "id")))),
            Area::Integrations,
        ), Action::look(
            |_| t("webhooks.health"),
            |v| Some(Send::plain("GET", format!("/v1/webhooks/endpoints/{}/health", text(v, "id")))),
            Area::Integrations,
            health_line,
        )]/>
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
        ] actions=vec![Action::change(
            |_| t("webhooks.resend"),
            |v| Some(Send::plain("POST", format!("/v1/webhooks/deliveries/{}/resend", text(v, "id")))),
            Area::Integrations,
        ), Action::look(
            |_| t("webhooks.attempts_show"),
            |v| Some(Send::plain("GET", format!("/v1/webhooks/deliveries/{}", text(v, "id")))),
            Area::Integrations,
            attempts_line,
        )]/>
    }
}

/// An endpoint's last 24 hours, in a line: attempts, success rate and its
/// rating, latency, what is waiting, and since when it fails.
fn health_line(health: &Value, locale: &Locale) -> String {
    let day = health
        .get("windows")
        .and_then(Value::as_array)
        .and_then(|w| w.iter().find(|w| text(w, "window") == "24h"))
        .cloned()
        .unwrap_or(Value::Null);
    let count = |v: &Value, k: &str| locale.number(v.get(k).and_then(Value::as_i64).unwrap_or(0));
    let latency = |k: &str| {
        day.get("latency_ms")
            .and_then(|l| l.get(k))
            .and_then(Value::as_i64)
            .map_or_else(|| "—".to_owned(), |ms| format!("{} ms", locale.number(ms)))
    };
    let rate = day
        .get("success_rate")
        .and_then(Value::as_f64)
        .map_or_else(|| "—".to_owned(), |r| format!("{r} %"));
    let mut line = format!(
        "{}: {} {}, {} {} ({}), p50 {}, p95 {}; {} {}",
        t("webhooks.last_day"),
        count(&day, "attempts"),
        t("webhooks.attempts").to_lowercase(),
        rate,
        t("webhooks.succeeded"),
        text(&day, "rating"),
        latency("p50"),
        latency("p95"),
        count(health, "backlog"),
        t("webhooks.waiting"),
    );
    if health.get("failing_since").is_some_and(|f| !f.is_null()) {
        line.push_str(&format!(
            "; {} {}",
            t("webhooks.failing_since"),
            locale.when(health, "failing_since")
        ));
    }
    line
}

/// A delivery's attempts, in a line each: when, the answer (or error) and how long.
fn attempts_line(delivery: &Value, locale: &Locale) -> String {
    let attempts = items(delivery.get("attempts").unwrap_or(&Value::Null));
    if attempts.is_empty() {
        return t("webhooks.no_attempts").to_owned();
    }
    attempts
        .iter()
        .map(|a| {
            let answer = a
                .get("status_code")
                .and_then(Value::as_i64)
                .map_or_else(|| field("error")(a), |c| c.to_string());
            let ms = a.get("duration_ms").and_then(Value::as_i64).unwrap_or(0);
            format!(
                "#{} {} → {answer} ({} ms)",
                field("number")(a),
                locale.when(a, "started_at"),
                locale.number(ms)
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
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
        ] actions=vec![Action::change(
            |_| t("jobs.cancel"),
            |v| (text(v, "status") == "pending").then(|| Send::plain("POST", format!("/v1/jobs/{}/cancel", text(v, "id")))),
            Area::Operations,
        )]/>
        <h2>{t("jobs.dead_letters")}</h2>
        <PagedTable caption=t("jobs.dead_letters") path="/v1/jobs/dead-letters" columns=vec![
            (t("admin.when"), (|v, l| l.when(v, "created_at")) as Cell),
            (t("jobs.type"), |v, _| field("type")(v)),
            (t("jobs.status"), |v, _| field("status")(v)),
            (t("jobs.error"), |v, _| field("error")(v)),
        ] actions=vec![Action::change(
            |_| t("jobs.reprocess"),
            |v| (text(v, "status") == "pending_review")
                .then(|| Send::plain("POST", format!("/v1/jobs/dead-letters/{}/reprocess", text(v, "id")))),
            Area::Operations,
        )]/>
    }
}

/// A flag's switch: the whole definition sent back with only `enabled` changed,
/// at the etag the list read (a change someone made meanwhile is a 412).
fn switch_flag(row: &Value) -> Option<Send> {
    let flag: Flag = serde_json::from_value(row.clone()).ok()?;
    let body = switched(&flag, &text(row, "description"), !flag.enabled);
    Some(Send {
        method: "PUT",
        path: format!("/v1/flags/{}", flag.key),
        body: Some((body, text(row, "etag"))),
    })
}

#[component]
pub fn Flags() -> impl IntoView {
    let me = session::me();
    let key = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let kind = RwSignal::new(FlagKind::Release.name().to_owned());
    let share = RwSignal::new("100".to_owned());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let refresh = RwSignal::new(0_u32);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        status.set(String::new());
        let typed_key = key.get_untracked().trim().to_owned();
        if !valid_key(&typed_key) {
            problem.set(Problem::refused("key", t("flags.key_rule")));
            return;
        }
        let body = match rollout(
            &kind.get_untracked(),
            &description.get_untracked(),
            &share.get_untracked(),
        ) {
            Ok(body) => body,
            Err(e) => return problem.set(Problem::checked(vec![e])),
        };
        let path = format!("/v1/flags/{typed_key}");
        send_form(
            pending,
            problem,
            // "0": only if no flag has this key yet.
            async move {
                api::call_if_match("PUT", &path, &body, "\"0\"")
                    .await
                    .map_err(|p| {
                        if p.status == 412 {
                            Problem::refused("key", t("flags.key_taken"))
                        } else {
                            p
                        }
                    })
            },
            move |_| {
                status.set(format!("{} {typed_key}", t("flags.created")));
                key.set(String::new());
                description.set(String::new());
                refresh.update(|r| *r += 1);
            },
        );
    };
    let may_write = move || me.get().is_some_and(|m| m.may(Area::Admin, Access::Write));
    let kinds = FlagKind::ALL
        .iter()
        .map(|k| (k.name().to_owned(), kind_label(*k).to_owned()))
        .collect::<Vec<_>>();
    view! {
        <h1>{t("nav.flags")}</h1>
        <p>{t("flags.help")}</p>
        <PagedTable caption=t("nav.flags") path="/v1/flags" refresh=refresh columns=vec![
            (t("flags.key"), (|v, _| field("key")(v)) as Cell),
            (t("flags.kind"), |v, _| field("kind")(v)),
            (t("flags.enabled"), |v, _| if v.get("enabled") == Some(&Value::Bool(true)) { t("flags.on") } else { t("flags.off") }.to_owned()),
            (t("flags.default"), |v, _| field("default_variant")(v)),
            (t("flags.description"), |v, _| field("description")(v)),
            (t("flags.updated"), |v, l| l.when(v, "updated_at")),
        ] actions=vec![Action::change(
            |v| if v.get("enabled") == Some(&Value::Bool(true)) { t("flags.turn_off") } else { t("flags.turn_on") },
            switch_flag,
            Area::Admin,
        )]/>
        <Show when=may_write>
            <form class="card form" on:submit=submit novalidate>
                <h2>{t("flags.new")}</h2>
                <TextField label=t("flags.key") id="flag-key" field="key" value=key problem=problem hint=t("flags.key_rule")/>
                <TextField label=t("flags.description") id="flag-description" field="description" value=description problem=problem/>
                <SelectField label=t("flags.kind") id="flag-kind" field="kind" value=kind problem=problem options=kinds.clone()/>
                <TextField label=t("flags.share") id="flag-share" field="share" value=share problem=problem kind="number"
                    hint=t("flags.share_hint")/>
                <FormError problem=problem/>
                <Status text=status/>
                <Submit pending=pending label=t("flags.create")/>
            </form>
        </Show>
    }
}

/// A flag kind in the person's language.
fn kind_label(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Release => t("flags.kind_release"),
        FlagKind::Experiment => t("flags.kind_experiment"),
        FlagKind::Ops => t("flags.kind_ops"),
        FlagKind::Permission => t("flags.kind_permission"),
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
