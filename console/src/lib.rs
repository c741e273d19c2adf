//! The web console: a Leptos app rendered in the browser, served by the gateway
//! from the same origin as the API it calls (`api.rs`). It signs people in with
//! the browser session of the API (HttpOnly cookies and a CSRF token) and checks
//! what it can before sending with the same rules the server runs (`shared/`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;
use serde_json::{json, Value};
use wasm_bindgen::prelude::wasm_bindgen;

mod api;
mod messages;

use api::Problem;
use messages::t;

/// Mounts the app on the page.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/sign-in") view=SignIn/>
                <Route path=path!("/") view=Home/>
            </Routes>
        </Router>
    }
}

/// A field's error line, tied to its input by id (`aria-describedby`).
#[component]
fn FieldError(id: &'static str, problem: RwSignal<Problem>, field: &'static str) -> impl IntoView {
    view! {
        <p class="field-error" id=id aria-live="polite">
            {move || problem.get().field(field).unwrap_or_default()}
        </p>
    }
}

/// What the sign-in form is waiting for.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Password,
    Code { challenge: String },
}

#[component]
fn SignIn() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let step = RwSignal::new(Step::Password);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let navigate = use_navigate();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let (path, body) = match step.get_untracked() {
            Step::Password => {
                // The address rule the server runs, checked before sending.
                if let Err(e) = shared::kernel::validate::EmailAddress::parse(
                    "email",
                    email.get_untracked().trim(),
                ) {
                    problem.set(Problem {
                        status: 422,
                        detail: String::new(),
                        fields: vec![("email".into(), e.to_string())],
                    });
                    return;
                }
                (
                    "/v1/auth/sign-in",
                    json!({"email": email.get_untracked().trim(), "password": password.get_untracked()}),
                )
            }
            Step::Code { challenge } => {
                // Six digits are an authenticator's code; anything else a recovery code.
                let typed = code.get_untracked().trim().to_owned();
                let field = if typed.len() == 6 && typed.bytes().all(|b| b.is_ascii_digit()) {
                    "code"
                } else {
                    "recovery_code"
                };
                (
                    "/v1/auth/mfa/challenge",
                    json!({"challenge": challenge, field: typed}),
                )
            }
        };
        pending.set(true);
        problem.set(Problem::default());
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::call("POST", path, Some(&body)).await {
                Ok(answer) if answer.get("mfa_required") == Some(&Value::Bool(true)) => {
                    step.set(Step::Code {
                        challenge: api::text(&answer, "challenge"),
                    });
                }
                Ok(_) => navigate("/", Default::default()),
                Err(p) => problem.set(p),
            }
            pending.set(false);
        });
    };

    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{t("sign_in.title")}</h1>
                <Show
                    when=move || step.get() == Step::Password
                    fallback=move || view! {
                        <p>{t("sign_in.code_title")}</p>
                        <label for="code">{t("field.code")}</label>
                        <input id="code" name="code" autocomplete="one-time-code" inputmode="numeric"
                            aria-describedby="code-error"
                            prop:value=move || code.get()
                            on:input=move |ev| code.set(event_target_value(&ev))/>
                        <FieldError id="code-error" problem=problem field="code"/>
                    }
                >
                    <label for="email">{t("field.email")}</label>
                    <input id="email" name="email" type="email" autocomplete="username"
                        aria-describedby="email-error"
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))/>
                    <FieldError id="email-error" problem=problem field="email"/>
                    <label for="password">{t("field.password")}</label>
                    <input id="password" name="password" type="password" autocomplete="current-password"
                        aria-describedby="password-error"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                    <FieldError id="password-error" problem=problem field="password"/>
                </Show>
                <p class="form-error" role="alert">
                    {move || {
                        let p = problem.get();
                        if p.fields.is_empty() { p.detail } else { String::new() }
                    }}
                </p>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { t("sign_in.working") } else if step.get() == Step::Password { t("sign_in.submit") } else { t("sign_in.code_submit") }}
                </button>
            </form>
        </main>
    }
}

#[component]
fn Home() -> impl IntoView {
    let navigate = use_navigate();
    let firm = LocalResource::new(|| api::call("GET", "/v1/firm", None));
    let unread = LocalResource::new(|| api::call("GET", "/v1/notifications/unread-count", None));
    // No session: to the sign-in page.
    Effect::new(move |_| {
        if let Some(Err(p)) = firm.get() {
            if p.status == 401 {
                navigate("/sign-in", Default::default());
            }
        }
    });
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::call("POST", "/v1/auth/sign-out", None).await;
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_href("/sign-in");
            }
        });
    };
    view! {
        <header class="bar">
            <strong>{move || firm.get().and_then(Result::ok).map(|f| api::text(&f, "name")).unwrap_or_else(|| t("app.name").to_owned())}</strong>
            <span class="bell" aria-label=t("home.notifications")>
                {move || unread.get().and_then(Result::ok).and_then(|u| u.get("unread").and_then(Value::as_i64)).unwrap_or(0)}
                " " {t("home.unread")}
            </span>
            <button type="button" on:click=sign_out>{t("nav.sign_out")}</button>
        </header>
        <main>
            <h1>{t("home.title")}</h1>
        </main>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main class="narrow">
            <h1>{t("not_found.title")}</h1>
            <a href="/">{t("not_found.back")}</a>
        </main>
    }
}
