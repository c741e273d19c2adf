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
use wasm_bindgen::JsCast;

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
                <Route path=path!("/sign-up") view=SignUp/>
                <Route path=path!("/forgot-password") view=ForgotPassword/>
                <Route path=path!("/reset-password") view=ResetPassword/>
                <Route path=path!("/") view=Home/>
            </Routes>
        </Router>
    }
}

/// A labelled input with its error line beside it, tied by id
/// (`aria-describedby`, `aria-invalid`). `field` is the request's field path the
/// server names in its problem (`owner.email`).
#[component]
fn TextField(
    label: &'static str,
    id: &'static str,
    field: &'static str,
    value: RwSignal<String>,
    problem: RwSignal<Problem>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <label for=id>{label}</label>
        <input id=id name=id type=kind autocomplete=autocomplete
            aria-describedby=error_id.clone()
            aria-invalid=move || if problem.get().field(field).is_some() { "true" } else { "false" }
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))/>
        <p class="field-error" id=error_id aria-live="polite">
            {move || problem.get().field(field).unwrap_or_default()}
        </p>
    }
}

/// The form's own message: the problem's sentence when it names no field.
#[component]
fn FormError(problem: RwSignal<Problem>) -> impl IntoView {
    view! {
        <p class="form-error" role="alert">
            {move || {
                let p = problem.get();
                if p.fields.is_empty() { p.detail } else { String::new() }
            }}
        </p>
    }
}

/// Sends a form's request: the button shows progress meanwhile, the last problem
/// is cleared, and the answer goes to `done` or the problem beside the fields.
fn send_form(
    pending: RwSignal<bool>,
    problem: RwSignal<Problem>,
    request: impl std::future::Future<Output = Result<Value, Problem>> + 'static,
    done: impl FnOnce(Value) + 'static,
) {
    pending.set(true);
    problem.set(Problem::default());
    leptos::task::spawn_local(async move {
        match request.await {
            Ok(answer) => done(answer),
            Err(p) => problem.set(p),
        }
        pending.set(false);
    });
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
                    problem.set(Problem::checked(vec![e]));
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
        let navigate = navigate.clone();
        send_form(
            pending,
            problem,
            async move { api::call("POST", path, Some(&body)).await },
            move |answer| {
                if answer.get("mfa_required") == Some(&Value::Bool(true)) {
                    step.set(Step::Code {
                        challenge: api::text(&answer, "challenge"),
                    });
                } else {
                    navigate("/", Default::default());
                }
            },
        );
    };

    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{t("sign_in.title")}</h1>
                <Show
                    when=move || step.get() == Step::Password
                    fallback=move || view! {
                        <p>{t("sign_in.code_title")}</p>
                        <TextField label=t("field.code") id="code" field="code" value=code problem=problem
                            autocomplete="one-time-code"/>
                    }
                >
                    <TextField label=t("field.email") id="email" field="email" value=email problem=problem
                        kind="email" autocomplete="username"/>
                    <TextField label=t("field.password") id="password" field="password" value=password
                        problem=problem kind="password" autocomplete="current-password"/>
                </Show>
                <FormError problem=problem/>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { t("sign_in.working") } else if step.get() == Step::Password { t("sign_in.submit") } else { t("sign_in.code_submit") }}
                </button>
            </form>
            <p><a href="/forgot-password">{t("sign_in.forgot")}</a></p>
            <p><a href="/sign-up">{t("sign_in.new_firm")}</a></p>
        </main>
    }
}

/// The browser's own time zone (IANA), the new firm's default.
fn browser_timezone() -> String {
    js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options()
        .dyn_into::<js_sys::Object>()
        .ok()
        .and_then(|o| js_sys::Reflect::get(&o, &"timeZone".into()).ok())
        .and_then(|z| z.as_string())
        .unwrap_or_else(|| "UTC".to_owned())
}

/// Creating a firm and its owner, then signing the owner in.
#[component]
fn SignUp() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let timezone = RwSignal::new(browser_timezone());
    let owner_name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let navigate = use_navigate();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        // The rules the server runs for these fields, checked before sending.
        let checks = [
            shared::firm::model::parse_slug("slug", slug.get_untracked().trim()).err(),
            shared::kernel::validate::EmailAddress::parse(
                "owner.email",
                email.get_untracked().trim(),
            )
            .err(),
        ];
        let refused: Vec<_> = checks.into_iter().flatten().collect();
        if !refused.is_empty() {
            problem.set(Problem::checked(refused));
            return;
        }
        let body = json!({
            "name": name.get_untracked().trim(),
            "slug": slug.get_untracked().trim(),
            "timezone": timezone.get_untracked().trim(),
            "owner": {"name": owner_name.get_untracked().trim(), "email": email.get_untracked().trim(),
                      "password": password.get_untracked()},
        });
        let credentials =
            json!({"email": email.get_untracked().trim(), "password": password.get_untracked()});
        let navigate = navigate.clone();
        let created_and_signed_in = async move {
            api::call("POST", "/v1/firms", Some(&body)).await?;
            api::call("POST", "/v1/auth/sign-in", Some(&credentials)).await
        };
        send_form(pending, problem, created_and_signed_in, move |_| {
            navigate("/", Default::default())
        });
    };

    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{t("sign_up.title")}</h1>
                <TextField label=t("field.firm_name") id="firm-name" field="name" value=name problem=problem
                    autocomplete="organization"/>
                <TextField label=t("field.slug") id="slug" field="slug" value=slug problem=problem/>
                <TextField label=t("field.timezone") id="timezone" field="timezone" value=timezone problem=problem/>
                <TextField label=t("field.owner_name") id="owner-name" field="owner.name" value=owner_name
                    problem=problem autocomplete="name"/>
                <TextField label=t("field.email") id="owner-email" field="owner.email" value=email problem=problem
                    kind="email" autocomplete="email"/>
                <TextField label=t("field.new_password") id="owner-password" field="owner.password" value=password
                    problem=problem kind="password" autocomplete="new-password"/>
                <FormError problem=problem/>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { t("sign_up.working") } else { t("sign_up.submit") }}
                </button>
            </form>
            <p><a href="/sign-in">{t("sign_up.have_account")}</a></p>
        </main>
    }
}

/// Asking for a password-reset link by e-mail.
#[component]
fn ForgotPassword() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let sent = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let typed = email.get_untracked().trim().to_owned();
        if let Err(e) = shared::kernel::validate::EmailAddress::parse("email", &typed) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let body = json!({"email": typed});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/password/forgot", Some(&body)).await },
            move |_| sent.set(true),
        );
    };
    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{t("forgot.title")}</h1>
                <p>{t("forgot.help")}</p>
                <TextField label=t("field.email") id="email" field="email" value=email problem=problem
                    kind="email" autocomplete="username"/>
                <FormError problem=problem/>
                <p class="notice" role="status">{move || if sent.get() { t("forgot.sent") } else { "" }}</p>
                <button type="submit" disabled=move || pending.get()>{t("forgot.submit")}</button>
            </form>
            <p><a href="/sign-in">{t("sign_up.have_account")}</a></p>
        </main>
    }
}

/// The token of a mailed link: it travels in the fragment (`#token=…`), which no
/// server and no log ever sees.
fn token_from_fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.trim_start_matches('#')
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Choosing a new password from the mailed link.
#[component]
fn ResetPassword() -> impl IntoView {
    let token = token_from_fragment();
    let has_token = token.is_some();
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() || done.get_untracked() {
            return;
        }
        let body = json!({"token": token.clone().unwrap_or_default(), "password": password.get_untracked()});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/password/reset", Some(&body)).await },
            move |_| done.set(true),
        );
    };
    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{t("reset.title")}</h1>
                <Show when=move || has_token fallback=|| view! { <p class="form-error" role="alert">{t("reset.no_token")}</p> }>
                    <TextField label=t("field.new_password") id="password" field="password" value=password
                        problem=problem kind="password" autocomplete="new-password"/>
                    <FormError problem=problem/>
                    <p class="notice" role="status">{move || if done.get() { t("reset.done") } else { "" }}</p>
                    <button type="submit" disabled=move || pending.get() || done.get()>{t("reset.submit")}</button>
                </Show>
            </form>
            <p><a href="/sign-in">{t("reset.sign_in")}</a></p>
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
