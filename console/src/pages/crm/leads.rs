//! The lead screens: the list with its filters, a new lead, import from and
//! export to CSV, and one lead.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde_json::{json, Value};
use shared::crm::lead::{parse_reason, LeadFields};

use super::enrichment::Enrichment;
use super::{may_write, status_label, Timeline};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{
    items, loaded, send_form, table_of, FormError, Pager, PagerNav, SelectField, Status, Submit,
    TableScroll, TextField,
};

/// The query string of the lead list: its filters, and for a page of the list
/// (not the export) the page size and cursor.
fn lead_query(q: &str, status: &str, min_score: &str, page: Option<Option<&str>>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if page.is_some() {
        query.append_pair("limit", "25");
    }
    for (name, value) in [
        ("q", q.trim()),
        ("status", status),
        ("min_score", min_score.trim()),
    ] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    if let Some(Some(cursor)) = page {
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
            Some(pager.cursor.get().as_deref()),
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
            <a href="/crm/setup">{t("crm.setup")}</a>
        </div>
        <Show when=may>
            <NewLead on_created=move || refresh.update(|n| *n += 1)/>
            <ImportLeads on_imported=move || refresh.update(|n| *n += 1)/>
        </Show>
        <form class="filters" role="search" on:submit=|ev: SubmitEvent| ev.prevent_default()>
            <div><TextField label=t("crm.search") id="lead-search" field="q" value=q problem=problem kind="search"/></div>
            <div><SelectField label=t("crm.status") id="lead-status" field="status" value=status problem=problem options=statuses/></div>
            <div><TextField label=t("crm.min_score") id="lead-min-score" field="min_score" value=min_score problem=problem kind="number"/></div>
        </form>
        {move || loaded(page.get(), |answer| {
            let headers = [t("field.name"), t("crm.company"), t("crm.status"), t("crm.score"), t("crm.source")];
            table_of(t("crm.leads"), t("crm.no_leads"), &headers, items(&answer), |l| view! {
                <tr>
                    <td><a href=format!("/crm/leads/{}", text(&l, "id"))>{text(&l, "contact_name")}</a></td>
                    <td>{text(&l, "company_name")}</td>
                    <td>{status_label(&text(&l, "status"))}</td>
                    <td><span class="score">{l.get("score").and_then(Value::as_i64).unwrap_or(0)}</span></td>
                    <td>{text(&l, "source").replace('_', " ")}</td>
                </tr>
            }.into_any())
        })}
        <PagerNav pager=pager/>
        <p>
            <a class="button secondary" download=""
                href=move || format!("/v1/crm/leads/export?{}", lead_query(&q.get(), &status.get(), &min_score.get(), None))>
                {t("crm.export")}</a>
        </p>
    }
}

/// Import from a CSV file: what was made, and each refused row with the fields
/// and rules it broke (nothing is dropped without a line saying so).
#[component]
fn ImportLeads(on_imported: impl Fn() + Copy + 'static) -> impl IntoView {
    let chosen = NodeRef::<leptos::html::Input>::new();
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let result = RwSignal::new(None::<Value>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let file = chosen
            .get()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        let Some(file) = file else {
            problem.set(Problem::refused("file", t("crm.import_choose")));
            return;
        };
        result.set(None);
        let sent = async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .ok()
                .and_then(|t| t.as_string())
                .ok_or_else(|| Problem::refused("file", t("crm.import_unreadable")))?;
            api::post_text("/v1/crm/leads/import", "text/csv", text).await
        };
        send_form(pending, problem, sent, move |answer| {
            result.set(Some(answer));
            on_imported();
        });
    };
    view! {
        <details class="card">
            <summary>{t("crm.import")}</summary>
            <form class="form" on:submit=submit novalidate>
                <label for="import-file">{t("crm.import_file")}</label>
                <p class="hint" id="import-file-hint">{t("crm.import_hint")}</p>
                <input id="import-file" type="file" accept=".csv,text/csv" node_ref=chosen
                    aria-describedby="import-file-hint import-file-error"
                    aria-invalid=move || if problem.get().fields.is_empty() { "false" } else { "true" }/>
                // The file is the form's only field: whatever the server named
                // (the file, a column) is said here.
                <p class="field-error" id="import-file-error" aria-live="polite">
                    {move || problem.get().fields.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ")}
                </p>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.import_submit")/>
            </form>
            {move || result.get().map(|r| {
                let count = |k: &str| r.get(k).and_then(Value::as_i64).unwrap_or(0);
                let ignored: Vec<String> = r.get("ignored_columns").and_then(Value::as_array).cloned().unwrap_or_default()
                    .iter().filter_map(|c| c.as_str().map(str::to_owned)).collect();
                let failed: Vec<Value> = r.get("rows").and_then(Value::as_array).cloned().unwrap_or_default()
                    .into_iter().filter(|row| text(row, "status") == "failed").collect();
                view! {
                    <p class="notice" role="status">
                        {count("created")} " " {t("crm.import_created")} ", " {count("failed")} " " {t("crm.import_failed")}
                    </p>
                    {(!ignored.is_empty()).then(|| view! { <p>{t("crm.import_ignored")} " " {ignored.join(", ")}</p> })}
                    {(!failed.is_empty()).then(|| view! {
                        <TableScroll label=t("crm.import_refused")>
                        <table class="import-errors">
                            <caption>{t("crm.import_refused")}</caption>
                            <thead><tr>
                                <th scope="col">{t("crm.import_line")}</th>
                                <th scope="col">{t("crm.import_field")}</th>
                                <th scope="col">{t("crm.import_problem")}</th>
                            </tr></thead>
                            <tbody>
                                {failed.into_iter().flat_map(|row| {
                                    let line = row.get("line").and_then(Value::as_i64).unwrap_or(0);
                                    row.get("errors").and_then(Value::as_array).cloned().unwrap_or_default().into_iter().map(move |e| view! {
                                        <tr><td>{line}</td><td>{text(&e, "field")}</td><td>{text(&e, "message")}</td></tr>
                                    })
                                }).collect_view()}
                            </tbody>
                        </table>
                        </TableScroll>
                    })}
                }
            })}
        </details>
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
        {move || (!id().is_empty()).then(|| view! {
            <Enrichment lead_id=id() changed=refresh/>
            <Timeline path=format!("/v1/crm/leads/{}/activities", id()) changed=refresh/>
        })}
    }
}
