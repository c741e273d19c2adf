//! A lead's lookup at the data provider: ask for one, watch it finish, and see
//! what it filled and what it left because a person had typed it.

use leptos::prelude::*;
use serde_json::{json, Value};

use super::may_write;
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{send_form, FormError};

fn status_label(status: &str) -> &'static str {
    match status {
        "found" => t("crm.enrich_found"),
        "not_found" => t("crm.enrich_not_found"),
        "failed" => t("crm.enrich_failed"),
        _ => t("crm.enrich_pending"),
    }
}

/// The lookup of lead `lead_id`; `changed` ticks when it finds something (the
/// lead's facts are then read again).
#[component]
pub fn Enrichment(lead_id: String, changed: RwSignal<u32>) -> impl IntoView {
    let latest = RwSignal::new(None::<Value>);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let path = format!("/v1/crm/leads/{lead_id}/enrichment");
    // Reads the newest lookup; while it waits, reads again every two seconds.
    let watch = {
        let path = path.clone();
        move || {
            let path = path.clone();
            leptos::task::spawn_local(async move {
                for _ in 0..60 {
                    match api::call("GET", &path, None).await {
                        Ok(e) => {
                            let waiting = text(&e, "status") == "pending";
                            let found = text(&e, "status") == "found";
                            latest.set(Some(e));
                            if !waiting {
                                if found {
                                    changed.update(|n| *n += 1);
                                }
                                return;
                            }
                        }
                        Err(_) => return,
                    }
                    gloo_sleep(2_000).await;
                }
            });
        }
    };
    let first = watch.clone();
    Effect::new(move |_| first());
    let ask_path = format!("/v1/crm/leads/{lead_id}/enrich");
    let ask = move |_| {
        let path = ask_path.clone();
        let watch = watch.clone();
        send_form(
            pending,
            problem,
            async move { api::call("POST", &path, Some(&json!({}))).await },
            move |e| {
                latest.set(Some(e));
                watch();
            },
        );
    };
    let may = may_write();
    view! {
        <section aria-labelledby="enrich-title">
            <h2 id="enrich-title">{t("crm.enrichment")}</h2>
            {move || latest.get().map(|e| {
                let applied: Vec<String> = e.get("applied").and_then(Value::as_object).map(|m| {
                    m.iter().map(|(k, v)| format!("{} = {}", k.replace('_', " "), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
                }).unwrap_or_default();
                let kept: Vec<String> = e.get("kept").and_then(Value::as_array).cloned().unwrap_or_default()
                    .iter().filter_map(Value::as_str).map(|k| k.replace('_', " ")).collect();
                view! {
                    <p role="status" class="enrich-status">{status_label(&text(&e, "status"))}
                        {(!text(&e, "error").is_empty()).then(|| view! { " — " {text(&e, "error")} })}</p>
                    {(!applied.is_empty()).then(|| view! { <p>{t("crm.enrich_applied")} " " {applied.join(", ")}</p> })}
                    {(!kept.is_empty()).then(|| view! { <p>{t("crm.enrich_kept")} " " {kept.join(", ")}</p> })}
                }
            })}
            <Show when=may>
                <FormError problem=problem/>
                <button type="button" on:click=ask.clone() disabled=move || pending.get()
                    aria-busy=move || pending.get().to_string()>{t("crm.enrich")}</button>
            </Show>
        </section>
    }
}

/// Waits `ms` milliseconds in the browser.
async fn gloo_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
