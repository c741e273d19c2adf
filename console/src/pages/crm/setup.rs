//! The CRM's setup: who gets new leads (assignment rules, tried by priority,
//! turned off and on, removed), and what happens when a deal enters a stage (the
//! pipeline's stage automations).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Map, Value};
use shared::crm::assignment::{AssignmentInput, Method};
use shared::crm::automation::Step;
use shared::crm::lead::{LeadSource, FACTS};
use shared::kernel::money::{Currency, Money};

use super::tasks::priority_options;
use super::{
    firm_currency, may_write, member_name, member_options, members, stages_of, PipelineChoice,
};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{
    items, loaded, row_action, send_form, table_of, FormError, SelectField, Status, Submit,
    TextField,
};

/// A number typed into a text field as JSON: an integer when it reads as one,
/// else the text, so the server's parser (run here first) names the field.
fn number_or_text(raw: &str) -> Value {
    raw.trim()
        .parse::<i64>()
        .map_or_else(|_| json!(raw.trim()), |n| json!(n))
}

fn method_label(method: &str) -> &'static str {
    match method {
        "territory" => t("crm.method_territory"),
        "value_range" => t("crm.method_value_range"),
        "source" => t("crm.method_source"),
        _ => t("crm.method_round_robin"),
    }
}

/// The page: assignment rules, then the stage automations of a pipeline.
#[component]
pub fn Setup() -> impl IntoView {
    let people = members();
    view! {
        <div class="heading">
            <h1>{t("crm.setup")}</h1>
            <a href="/crm/leads">{t("crm.leads")}</a>
            <a href="/crm/pipeline">{t("crm.board")}</a>
        </div>
        <AssignmentRules people=people/>
        <Automations people=people/>
    }
}

/// The body that replaces `rule` with itself, on or off.
fn rule_body(rule: &Value, active: bool) -> Value {
    let mut body = Map::new();
    for key in [
        "name",
        "method",
        "priority",
        "users",
        "field",
        "territories",
        "currency",
        "min_minor",
        "max_minor",
        "sources",
    ] {
        let Some(value) = rule.get(key) else { continue };
        let empty = value.is_null()
            || value.as_array().is_some_and(Vec::is_empty)
            || value.as_object().is_some_and(Map::is_empty);
        if !empty {
            body.insert(key.to_owned(), value.clone());
        }
    }
    body.insert("is_active".to_owned(), json!(active));
    Value::Object(body)
}

#[component]
fn AssignmentRules(people: LocalResource<Result<Value, Problem>>) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let rules = LocalResource::new(move || {
        refresh.track();
        api::call("GET", "/v1/crm/assignment-rules", None)
    });
    let row_problem = RwSignal::new(Problem::default());
    let change = move |method: &'static str, path: String, body: Option<Value>, etag: String| {
        let request = async move {
            match body {
                Some(body) => api::call_if_match(method, &path, &body, &etag).await,
                None => api::call(method, &path, None).await,
            }
        };
        row_action(request, row_problem, refresh);
    };
    let may = may_write();
    view! {
        <section aria-labelledby="rules-title">
            <h2 id="rules-title">{t("crm.assignment_rules")}</h2>
            <p class="hint">{t("crm.assignment_help")}</p>
            <Show when=may>
                <NewRule people=people on_created=move || refresh.update(|n| *n += 1)/>
            </Show>
            <p class="form-error" role="alert">{move || row_problem.get().detail}</p>
            {move || loaded(rules.get(), |answer| {
                let names = people.get().and_then(Result::ok).map(|a| member_options(&a)).unwrap_or_default();
                let headers = [t("field.name"), t("crm.method"), t("crm.rule_members"), t("crm.rule_priority"), t("crm.actions")];
                table_of(t("crm.assignment_rules"), t("crm.no_rules"), &headers, items(&answer), |rule| {
                    let id = text(&rule, "id");
                    let active = rule.get("is_active").and_then(Value::as_bool).unwrap_or(true);
                    let named = |list: &Value| list.as_array().cloned().unwrap_or_default().iter()
                        .filter_map(Value::as_str).map(|u| member_name(&names, u)).collect::<Vec<_>>();
                    let mut who = rule.get("users").map(named).unwrap_or_default();
                    if let Some(map) = rule.get("territories").and_then(Value::as_object) {
                        who.extend(map.iter().map(|(value, users)| format!("{value}: {}", named(users).join(", "))));
                    }
                    let etag = shared::kernel::etag::of(rule.get("version").and_then(Value::as_i64).unwrap_or(0));
                    let name = text(&rule, "name");
                    let path = format!("/v1/crm/assignment-rules/{id}");
                    let toggle_body = rule_body(&rule, !active);
                    let (toggle_path, delete_path) = (path.clone(), path);
                    let toggle_label = if active { t("crm.turn_off") } else { t("crm.turn_on") };
                    view! {
                        <tr class:faded=!active>
                            <td>{name.clone()} {(!active).then(|| view! { " " <span class="tag">{t("crm.off")}</span> })}</td>
                            <td>{method_label(&text(&rule, "method"))}</td>
                            <td>{who.join("; ")}</td>
                            <td>{rule.get("priority").and_then(Value::as_i64).unwrap_or(0)}</td>
                            <td>
                                <Show when=may>
                                    <button type="button" class="secondary" aria-label=format!("{toggle_label} {name}")
                                        on:click={ let (p, b, e) = (toggle_path.clone(), toggle_body.clone(), etag.clone()); move |_| change("PUT", p.clone(), Some(b.clone()), e.clone()) }>
                                        {toggle_label}</button>
                                    <button type="button" class="secondary" aria-label=format!("{} {}", t("crm.remove"), name)
                                        on:click={ let p = delete_path.clone(); move |_| change("DELETE", p.clone(), None, String::new()) }>
                                        {t("crm.remove")}</button>
                                </Show>
                            </td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

/// Checkboxes over `options` (value, label) whose ticked values are `chosen`,
/// in a fieldset with the error line of `field`.
#[component]
fn Checkboxes(
    legend: &'static str,
    id: &'static str,
    field: &'static str,
    options: Signal<Vec<(String, String)>>,
    chosen: RwSignal<Vec<String>>,
    problem: RwSignal<Problem>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <fieldset id=id aria-describedby=error_id.clone()>
            <legend>{legend}</legend>
            {move || options.get().into_iter().map(|(value, label)| {
                let box_id = format!("{id}-{value}");
                let label_for = box_id.clone();
                let (checked_value, toggled_value) = (value.clone(), value.clone());
                view! {
                    <label class="check" for=label_for>
                        <input type="checkbox" id=box_id value=value
                            prop:checked=move || chosen.get().contains(&checked_value)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen.update(|c| {
                                    c.retain(|v| *v != toggled_value);
                                    if on { c.push(toggled_value.clone()); }
                                });
                            }/>
                        " " {label}
                    </label>
                }
            }).collect_view()}
        </fieldset>
        <p class="field-error" id=error_id aria-live="polite">
            {move || problem.get().field(field).unwrap_or_default()}
        </p>
    }
}

/// Reads "value: e-mail, e-mail" lines into territories of member ids.
fn territories(
    typed: &str,
    members: &[(String, String, String)],
) -> Result<Map<String, Value>, Problem> {
    let mut out = Map::new();
    for (n, line) in typed.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((value, people)) = line.rsplit_once(':') else {
            return Err(Problem::refused(
                "territories",
                &format!(
                    "{} {}: {}",
                    t("crm.territory_line"),
                    n + 1,
                    t("crm.territory_format")
                ),
            ));
        };
        let mut ids = Vec::new();
        for email in people.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match members
                .iter()
                .find(|(_, _, e)| e.eq_ignore_ascii_case(email))
            {
                Some((id, _, _)) => ids.push(json!(id)),
                None => {
                    return Err(Problem::refused(
                        "territories",
                        &format!(
                            "{} {}: {email} {}",
                            t("crm.territory_line"),
                            n + 1,
                            t("crm.territory_unknown")
                        ),
                    ))
                }
            }
        }
        out.insert(value.trim().to_owned(), Value::Array(ids));
    }
    Ok(out)
}

#[component]
fn NewRule(
    people: LocalResource<Result<Value, Problem>>,
    on_created: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let method = RwSignal::new("round_robin".to_owned());
    let priority = RwSignal::new("0".to_owned());
    let users = RwSignal::new(Vec::<String>::new());
    let field = RwSignal::new("country".to_owned());
    let areas = RwSignal::new(String::new());
    let currency = firm_currency();
    let min = RwSignal::new(String::new());
    let max = RwSignal::new(String::new());
    let sources = RwSignal::new(Vec::<String>::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    // (id, name, e-mail) of the active members.
    let roster = move || {
        people
            .get()
            .and_then(Result::ok)
            .map(|a| {
                items(&a)
                    .into_iter()
                    .filter(|m| m.get("is_active") != Some(&Value::Bool(false)))
                    .map(|m| (text(&m, "user_id"), text(&m, "name"), text(&m, "email")))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let member_choices = Signal::derive(move || {
        roster()
            .into_iter()
            .map(|(id, name, _)| (id, name))
            .collect::<Vec<_>>()
    });
    let source_choices = Signal::derive(|| {
        LeadSource::ALL
            .iter()
            .map(|s| (s.name().to_owned(), s.name().replace('_', " ")))
            .collect::<Vec<_>>()
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let chosen = method.get_untracked();
        let mut body = json!({
            "name": name.get_untracked().trim(),
            "method": chosen,
            "priority": number_or_text(&priority.get_untracked()),
        });
        let Some(o) = body.as_object_mut() else {
            return;
        };
        let mut refused = Vec::new();
        match chosen.as_str() {
            "territory" => {
                o.insert("field".to_owned(), json!(field.get_untracked()));
                match territories(&areas.get_untracked(), &roster()) {
                    Ok(map) => {
                        o.insert("territories".to_owned(), Value::Object(map));
                    }
                    Err(p) => refused.extend(p.fields),
                }
            }
            "value_range" => {
                o.insert("users".to_owned(), json!(users.get_untracked()));
                let code = currency.get_untracked();
                o.insert("currency".to_owned(), json!(code.trim()));
                if let Ok(c) = Currency::parse("currency", &code) {
                    for (key, typed) in [("min_minor", min), ("max_minor", max)] {
                        let typed = typed.get_untracked();
                        if typed.trim().is_empty() {
                            continue;
                        }
                        let label = if key == "min_minor" {
                            t("crm.min_value")
                        } else {
                            t("crm.max_value")
                        };
                        match Money::parse_major(label, &typed, c) {
                            Ok(m) => {
                                o.insert(key.to_owned(), json!(m.minor));
                            }
                            Err(e) => refused.extend(
                                Problem::checked(vec![e])
                                    .fields
                                    .into_iter()
                                    .map(|(_, m)| (key.to_owned(), m)),
                            ),
                        }
                    }
                }
            }
            "source" => {
                o.insert("users".to_owned(), json!(users.get_untracked()));
                o.insert("sources".to_owned(), json!(sources.get_untracked()));
            }
            _ => {
                o.insert("users".to_owned(), json!(users.get_untracked()));
            }
        }
        let mut checked = match AssignmentInput::parse(&body) {
            Ok(_) => Problem::default(),
            Err(e) => Problem::checked(vec![e]),
        };
        checked
            .fields
            .retain(|(f, _)| !refused.iter().any(|(r, _)| r == f));
        checked.fields.extend(refused);
        if !checked.fields.is_empty() {
            checked.status = 422;
            problem.set(checked);
            return;
        }
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/crm/assignment-rules", Some(&body)).await },
            move |made| {
                name.set(String::new());
                areas.set(String::new());
                status.set(format!("{} {}", t("crm.rule_created"), text(&made, "name")));
                on_created();
            },
        );
    };
    let methods: Vec<(String, String)> = Method::ALL
        .iter()
        .map(|m| (m.name().to_owned(), method_label(m.name()).to_owned()))
        .collect();
    let fields: Vec<(String, String)> = FACTS
        .iter()
        .map(|f| ((*f).to_owned(), f.replace('_', " ")))
        .collect();
    view! {
        <details class="card">
            <summary>{t("crm.new_rule")}</summary>
            <form class="form" on:submit=submit novalidate>
                <TextField label=t("field.name") id="rule-name" field="name" value=name problem=problem/>
                <SelectField label=t("crm.method") id="rule-method" field="method" value=method problem=problem options=methods/>
                <TextField label=t("crm.rule_priority") id="rule-priority" field="priority" value=priority problem=problem
                    kind="number" hint=t("crm.rule_priority_hint")/>
                <Show when=move || method.get() == "territory">
                    <SelectField label=t("crm.territory_field") id="rule-field" field="field" value=field problem=problem options=fields.clone()/>
                    <label for="rule-territories">{t("crm.territories")}</label>
                    <p class="hint" id="rule-territories-hint">{t("crm.territories_hint")}</p>
                    <textarea id="rule-territories" rows="4" aria-describedby="rule-territories-hint rule-territories-error"
                        aria-invalid=move || if problem.get().field("territories").is_some() { "true" } else { "false" }
                        prop:value=move || areas.get() on:input=move |ev| areas.set(event_target_value(&ev))></textarea>
                    <p class="field-error" id="rule-territories-error" aria-live="polite">
                        {move || problem.get().field("territories").unwrap_or_default()}
                    </p>
                </Show>
                <Show when=move || method.get() == "value_range">
                    <TextField label=t("crm.currency") id="rule-currency" field="currency" value=currency problem=problem/>
                    <TextField label=t("crm.min_value") id="rule-min" field="min_minor" value=min problem=problem/>
                    <TextField label=t("crm.max_value") id="rule-max" field="max_minor" value=max problem=problem/>
                </Show>
                <Show when=move || method.get() == "source">
                    <Checkboxes legend=t("crm.rule_sources") id="rule-sources" field="sources" options=source_choices chosen=sources problem=problem/>
                </Show>
                <Show when=move || method.get() != "territory">
                    <Checkboxes legend=t("crm.rule_members") id="rule-users" field="users" options=member_choices chosen=users problem=problem/>
                </Show>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_rule")/>
                <Status text=status/>
            </form>
        </details>
    }
}

/// What an automation does, in a sentence.
fn describe(a: &Value, name_of: &dyn Fn(&str) -> String) -> String {
    let number = |k: &str| a.get(k).and_then(Value::as_i64).unwrap_or(0);
    match text(a, "action").as_str() {
        "assign" => format!("{} {}", t("crm.do_assign"), name_of(&text(a, "user_id"))),
        "create_task" => {
            let mut s = format!("{} “{}”", t("crm.do_task"), text(a, "title"));
            if let Some(days) = a.get("due_in_days").and_then(Value::as_i64) {
                s.push_str(&format!(", {} {days} {}", t("crm.due_in"), t("crm.days")));
            }
            s
        }
        "notify" => {
            let to = if text(a, "to") == "team" {
                t("crm.to_team")
            } else {
                t("crm.to_owner")
            };
            format!("{} {to}: {}", t("crm.do_notify"), text(a, "message"))
        }
        "set_probability" => format!("{} {} %", t("crm.do_probability"), number("probability")),
        "add_tag" => format!("{} {}", t("crm.do_tag"), text(a, "tag")),
        "set_expected_close" => format!(
            "{} {} {}",
            t("crm.do_close"),
            number("in_days"),
            t("crm.days")
        ),
        _ => t("crm.do_webhook").to_owned(),
    }
}

#[component]
fn Automations(people: LocalResource<Result<Value, Problem>>) -> impl IntoView {
    let choice = PipelineChoice::new();
    let pipeline = choice.shown;
    let refresh = RwSignal::new(0u32);
    let automations = LocalResource::new(move || {
        refresh.track();
        let id = choice.id();
        async move {
            if id.is_empty() {
                return Ok(json!({"items": []}));
            }
            api::call("GET", &format!("/v1/crm/pipelines/{id}/automations"), None).await
        }
    });
    let row_problem = RwSignal::new(Problem::default());
    let remove = move |id: String| {
        let path = format!("/v1/crm/automations/{id}");
        row_action(
            async move { api::call("DELETE", &path, None).await },
            row_problem,
            refresh,
        );
    };
    let may = may_write();
    view! {
        <section aria-labelledby="automations-title">
            <h2 id="automations-title">{t("crm.automations")}</h2>
            <p class="hint">{t("crm.automations_help")}</p>
            {choice.menu("automation-pipeline")}
            <Show when=may>
                {move || pipeline.get().map(|p| view! {
                    <NewAutomation stages=stages_of(&p) pipeline_id=text(&p, "id") people=people on_created=move || refresh.update(|n| *n += 1)/>
                })}
            </Show>
            <p class="form-error" role="alert">{move || row_problem.get().detail}</p>
            {move || loaded(automations.get(), |answer| {
                let stages = pipeline.get().map(|p| stages_of(&p)).unwrap_or_default();
                let names = people.get().and_then(Result::ok).map(|a| member_options(&a)).unwrap_or_default();
                let headers = [t("crm.stage"), t("crm.automation_does"), t("crm.actions")];
                table_of(t("crm.automations"), t("crm.no_automations"), &headers, items(&answer), |a| {
                    let id = text(&a, "id");
                    let stage = stages.iter().find(|(s, _, _)| *s == text(&a, "stage_id")).map(|(_, n, _)| n.clone()).unwrap_or_default();
                    let what = describe(&a, &|u| member_name(&names, u));
                    let label = format!("{} {what}", t("crm.remove"));
                    view! {
                        <tr>
                            <td>{stage}</td>
                            <td>{what.clone()}</td>
                            <td><Show when=may>
                                <button type="button" class="secondary" aria-label=label.clone()
                                    on:click={ let id = id.clone(); move |_| remove(id.clone()) }>{t("crm.remove")}</button>
                            </Show></td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

#[component]
fn NewAutomation(
    stages: Vec<(String, String, String)>,
    pipeline_id: String,
    people: LocalResource<Result<Value, Problem>>,
    on_created: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let stage = RwSignal::new(
        stages
            .first()
            .map(|(id, _, _)| id.clone())
            .unwrap_or_default(),
    );
    let action = RwSignal::new("create_task".to_owned());
    let user = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let priority = RwSignal::new("medium".to_owned());
    let days = RwSignal::new(String::new());
    let to = RwSignal::new("owner".to_owned());
    let message = RwSignal::new(String::new());
    let probability = RwSignal::new(String::new());
    let tag = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let chosen = action.get_untracked();
        let mut body = json!({"stage_id": stage.get_untracked(), "action": chosen});
        let Some(o) = body.as_object_mut() else {
            return;
        };
        let mut put = |key: &str, value: Value| {
            o.insert(key.to_owned(), value);
        };
        match chosen.as_str() {
            "assign" => put("user_id", json!(user.get_untracked())),
            "create_task" => {
                put("title", json!(title.get_untracked().trim()));
                put("priority", json!(priority.get_untracked()));
                let d = days.get_untracked();
                if !d.trim().is_empty() {
                    put("due_in_days", number_or_text(&d));
                }
                let u = user.get_untracked();
                if !u.is_empty() {
                    put("assignee_id", json!(u));
                }
            }
            "notify" => {
                put("to", json!(to.get_untracked()));
                put("message", json!(message.get_untracked().trim()));
            }
            "set_probability" => put("probability", number_or_text(&probability.get_untracked())),
            "add_tag" => put("tag", json!(tag.get_untracked().trim())),
            "set_expected_close" => put("in_days", number_or_text(&days.get_untracked())),
            _ => {}
        }
        if let Err(e) = Step::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = format!("/v1/crm/pipelines/{pipeline_id}/automations");
        send_form(
            pending,
            problem,
            async move { api::call("POST", &path, Some(&body)).await },
            move |_| {
                for s in [title, message, probability, tag, days] {
                    s.set(String::new());
                }
                status.set(t("crm.automation_created").to_owned());
                on_created();
            },
        );
    };
    let stage_options: Vec<(String, String)> =
        stages.into_iter().map(|(id, name, _)| (id, name)).collect();
    let actions: Vec<(String, String)> = [
        ("create_task", "crm.do_task"),
        ("assign", "crm.do_assign"),
        ("notify", "crm.do_notify"),
        ("set_probability", "crm.do_probability"),
        ("add_tag", "crm.do_tag"),
        ("set_expected_close", "crm.do_close"),
        ("webhook", "crm.do_webhook"),
    ]
    .into_iter()
    .map(|(a, k)| (a.to_owned(), t(k).to_owned()))
    .collect();
    let priorities = priority_options();
    let audiences = vec![
        ("owner".to_owned(), t("crm.to_owner").to_owned()),
        ("team".to_owned(), t("crm.to_team").to_owned()),
    ];
    let is = move |a: &'static str| move || action.get() == a;
    view! {
        <details class="card">
            <summary>{t("crm.new_automation")}</summary>
            <form class="form" on:submit=submit novalidate>
                <SelectField label=t("crm.when_enters") id="automation-stage" field="stage_id" value=stage problem=problem options=stage_options/>
                <SelectField label=t("crm.automation_does") id="automation-action" field="action" value=action problem=problem options=actions/>
                <Show when=is("create_task")>
                    <TextField label=t("crm.task_title") id="automation-title" field="title" value=title problem=problem/>
                    <SelectField label=t("crm.priority") id="automation-priority" field="priority" value=priority problem=problem options=priorities.clone()/>
                    <TextField label=t("crm.due_in_days") id="automation-due" field="due_in_days" value=days problem=problem kind="number"/>
                </Show>
                <Show when=move || action.get() == "assign" || action.get() == "create_task">
                    {move || {
                        let mut options = if action.get() == "create_task" { vec![(String::new(), t("crm.deal_owner").to_owned())] } else { Vec::new() };
                        options.extend(people.get().and_then(Result::ok).map(|a| member_options(&a)).unwrap_or_default());
                        if action.get_untracked() == "assign" && user.get_untracked().is_empty() {
                            if let Some((first, _)) = options.first() { user.set(first.clone()); }
                        }
                        let field = if action.get_untracked() == "assign" { "user_id" } else { "assignee_id" };
                        view! { <SelectField label=t("crm.assignee") id="automation-user" field=field value=user problem=problem options=options/> }
                    }}
                </Show>
                <Show when=is("notify")>
                    <SelectField label=t("crm.notify_whom") id="automation-to" field="to" value=to problem=problem options=audiences.clone()/>
                    <TextField label=t("crm.message") id="automation-message" field="message" value=message problem=problem/>
                </Show>
                <Show when=is("set_probability")>
                    <TextField label=t("crm.probability") id="automation-probability" field="probability" value=probability problem=problem kind="number"/>
                </Show>
                <Show when=is("add_tag")>
                    <TextField label=t("crm.tag") id="automation-tag" field="tag" value=tag problem=problem/>
                </Show>
                <Show when=is("set_expected_close")>
                    <TextField label=t("crm.close_in_days") id="automation-in-days" field="in_days" value=days problem=problem kind="number"/>
                </Show>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_automation")/>
                <Status text=status/>
            </form>
        </details>
    }
}
