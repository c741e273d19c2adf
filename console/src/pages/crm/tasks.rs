//! A deal's tasks: what is to be done, by whom and when, ticked off in the list
//! (a finished task is activity on the deal), and a new one.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::crm::task::{TaskFields, TaskPriority};

use super::{fresh_key, may_write, member_name, member_options, members};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{
    items, loaded, row_action, send_form, table_of, FormError, SelectField, Status, Submit,
    TextField,
};

fn priority_label(priority: &str) -> &'static str {
    match priority {
        "low" => t("crm.priority_low"),
        "high" => t("crm.priority_high"),
        "urgent" => t("crm.priority_urgent"),
        _ => t("crm.priority_medium"),
    }
}

pub(super) fn priority_options() -> Vec<(String, String)> {
    TaskPriority::ALL
        .iter()
        .map(|p| (p.name().to_owned(), priority_label(p.name()).to_owned()))
        .collect()
}

/// The tasks of deal `deal_id`, read again when `deal_changed` ticks (a move
/// may have run a stage's automations).
#[component]
pub fn Tasks(deal_id: String, deal_changed: RwSignal<u32>) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let path = format!("/v1/crm/deals/{deal_id}/tasks");
    let tasks = LocalResource::new({
        let path = path.clone();
        move || {
            refresh.track();
            deal_changed.track();
            let path = path.clone();
            async move { api::call("GET", &format!("{path}?limit=100"), None).await }
        }
    });
    let people = members();
    let row_problem = RwSignal::new(Problem::default());
    let toggle = move |id: String, done: bool| {
        let body = json!({"status": if done { "done" } else { "open" }});
        let path = format!("/v1/crm/tasks/{id}");
        row_action(
            async move { api::call("PATCH", &path, Some(&body)).await },
            row_problem,
            refresh,
        );
    };
    let may = may_write();
    view! {
        <section aria-labelledby="tasks-title">
            <h2 id="tasks-title">{t("crm.tasks")}</h2>
            <Show when=may>
                <NewTask path=path.clone() people=people on_created=move || refresh.update(|n| *n += 1)/>
            </Show>
            <p class="form-error" role="alert">{move || row_problem.get().detail}</p>
            {move || loaded(tasks.get(), |answer| {
                let names = people.get().and_then(Result::ok).map(|a| member_options(&a)).unwrap_or_default();
                let headers = [t("crm.task_done"), t("crm.task_title"), t("crm.priority"), t("crm.due_on"), t("crm.assignee")];
                table_of(t("crm.tasks"), t("crm.no_tasks"), &headers, items(&answer), |task| {
                    let id = text(&task, "id");
                    let done = text(&task, "status") == "done";
                    let title = text(&task, "title");
                    let from_automation = task.get("automation_id").is_some_and(|a| !a.is_null());
                    view! {
                        <tr class:faded=done>
                            <td><input type="checkbox" id=format!("task-{id}") prop:checked=done
                                aria-label=format!("{} {}", t("crm.task_done"), title)
                                disabled=move || !may()
                                on:change=move |ev| toggle(id.clone(), event_target_checked(&ev))/></td>
                            <td>{title.clone()}
                                {from_automation.then(|| view! { <span class="tag">{t("crm.automatic")}</span> })}</td>
                            <td>{priority_label(&text(&task, "priority"))}</td>
                            <td>{text(&task, "due_on")}</td>
                            <td>{member_name(&names, &text(&task, "assignee_id"))}</td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

/// The form of a new task.
#[component]
fn NewTask(
    path: String,
    people: LocalResource<Result<Value, Problem>>,
    on_created: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let due_on = RwSignal::new(String::new());
    let priority = RwSignal::new("medium".to_owned());
    let assignee = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let key = RwSignal::new(fresh_key());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body =
            json!({"title": title.get_untracked().trim(), "priority": priority.get_untracked()});
        for (field, value) in [("due_on", due_on), ("assignee_id", assignee)] {
            let v = value.get_untracked();
            if let (false, Some(o)) = (v.trim().is_empty(), body.as_object_mut()) {
                o.insert(field.to_owned(), json!(v.trim()));
            }
        }
        if let Err(e) = TaskFields::parse(&body, true) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = path.clone();
        let idem = key.get_untracked();
        send_form(
            pending,
            problem,
            async move { api::call_idempotent("POST", &path, &body, &idem).await },
            move |made| {
                title.set(String::new());
                due_on.set(String::new());
                key.set(fresh_key());
                status.set(format!(
                    "{} {}",
                    t("crm.task_created"),
                    text(&made, "title")
                ));
                on_created();
            },
        );
    };
    view! {
        <form class="card form inline-form" on:submit=submit novalidate>
            <TextField label=t("crm.task_title") id="task-title" field="title" value=title problem=problem/>
            <TextField label=t("crm.due_on_optional") id="task-due" field="due_on" value=due_on problem=problem kind="date"/>
            <SelectField label=t("crm.priority") id="task-priority" field="priority" value=priority problem=problem options=priority_options()/>
            {move || {
                let mut options = vec![(String::new(), t("crm.nobody").to_owned())];
                options.extend(people.get().and_then(Result::ok).map(|a| member_options(&a)).unwrap_or_default());
                view! { <SelectField label=t("crm.assignee") id="task-assignee" field="assignee_id" value=assignee problem=problem options=options/> }
            }}
            <FormError problem=problem/>
            <Submit pending=pending label=t("crm.add_task")/>
            <Status text=status/>
        </form>
    }
}
