//! The pages before a session: signing in (password, then an authenticator, text
//! message or recovery code; Google, Microsoft or the firm's SAML), creating a
//! firm, accepting an invitation, resetting a password, confirming an address.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use serde_json::{json, Value};
use wasm_bindgen::JsCast;

use crate::api::{self, Problem};
use crate::messages::t;
use crate::ui::{send_form, FormError, Status, Submit, TextField};

/// What the sign-in form is waiting for.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Password,
    Code {
        challenge: String,
        methods: Vec<String>,
    },
}

/// A same-origin path to return to after signing in (`?next=`), never another site.
fn next_path() -> String {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix("next="))
        .and_then(|raw| js_sys::decode_uri_component(raw).ok())
        .map(String::from)
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".to_owned())
}

/// Leaves for `path` with a full load (keeps a `#fragment`, reloads the language).
pub fn go(path: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
}

/// Loads the address shown afresh (an entry without this page: the page load
/// brings the entry that has it).
#[cfg(not(feature = "auth"))]
pub fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// The token of a mailed link: it travels in the fragment (`#token=…`), which no
/// server and no log ever sees.
pub fn token_from_fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.trim_start_matches('#')
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[component]
pub fn SignIn() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let firm = RwSignal::new(String::new());
    let step = RwSignal::new(Step::Password);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let joined = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|s| s.contains("joined=1"));
    if joined {
        status.set(t("sign_in.joined").to_owned());
    }

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
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
            Step::Code { challenge, .. } => {
                let mut body = crate::ui::second_factor(&code.get_untracked());
                if let Some(fields) = body.as_object_mut() {
                    fields.insert("challenge".to_owned(), json!(challenge));
                }
                ("/v1/auth/mfa/challenge", body)
            }
        };
        send_form(
            pending,
            problem,
            async move { api::call("POST", path, Some(&body)).await },
            move |answer| {
                if answer.get("mfa_required") == Some(&Value::Bool(true)) {
                    let methods = answer
                        .get("methods")
                        .and_then(Value::as_array)
                        .map(|m| {
                            m.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    step.set(Step::Code {
                        challenge: api::text(&answer, "challenge"),
                        methods,
                    });
                } else {
                    go(&next_path());
                }
            },
        );
    };

    let text_me = move |_| {
        if let Step::Code { challenge, .. } = step.get_untracked() {
            let body = json!({"challenge": challenge});
            send_form(
                pending,
                problem,
                async move { api::call("POST", "/v1/auth/mfa/challenge/sms", Some(&body)).await },
                move |_| status.set(t("sign_in.sms_sent").to_owned()),
            );
        }
    };
    let saml = move |_| {
        let slug = firm.get_untracked().trim().to_owned();
        if let Err(e) = shared::firm::model::parse_slug("firm", &slug) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        go(&format!("/v1/sso/saml/{slug}/login?mode=cookie"));
    };
    let has_sms = move || matches!(step.get(), Step::Code { methods, .. } if methods.iter().any(|m| m == "sms"));

    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{t("sign_in.title")}</h1>
                <Status text=status/>
                <Show
                    when=move || step.get() == Step::Password
                    fallback=move || view! {
                        <p>{t("sign_in.code_title")}</p>
                        <TextField label=t("field.code") id="code" field="code" value=code problem=problem
                            autocomplete="one-time-code"/>
                        <Show when=has_sms>
                            <button type="button" class="link" on:click=text_me>{t("sign_in.text_me")}</button>
                        </Show>
                    }
                >
                    <TextField label=t("field.email") id="email" field="email" value=email problem=problem
                        kind="email" autocomplete="username"/>
                    <TextField label=t("field.password") id="password" field="password" value=password
                        problem=problem kind="password" autocomplete="current-password"/>
                </Show>
                <FormError problem=problem/>
                <Submit pending=pending
                    label=Signal::derive(move || if step.get() == Step::Password { t("sign_in.submit") } else { t("sign_in.code_submit") })
                    working=t("sign_in.working")/>
            </form>
            <Show when=move || step.get() == Step::Password>
                <section class="card sso" aria-labelledby="sso-title">
                    <h2 id="sso-title">{t("sign_in.sso")}</h2>
                    <a class="button secondary" rel="external" href=move || provider_start("google", &email.get())>{t("sign_in.google")}</a>
                    <a class="button secondary" rel="external" href=move || provider_start("microsoft", &email.get())>{t("sign_in.microsoft")}</a>
                    <TextField label=t("field.firm_slug") id="saml-firm" field="firm" value=firm problem=problem/>
                    <button type="button" class="secondary" on:click=saml>{t("sign_in.saml")}</button>
                </section>
            </Show>
            <p><a href="/forgot-password">{t("sign_in.forgot")}</a></p>
            <p><a href="/sign-up">{t("sign_in.new_firm")}</a></p>
        </main>
    }
}

/// Where signing in with `provider` starts: a browser session, and the address
/// typed above (when it is one) as the account the provider should offer.
fn provider_start(provider: &str, typed: &str) -> String {
    let typed = typed.trim();
    let mut path = format!("/v1/auth/oidc/{provider}/start?mode=cookie");
    if shared::kernel::validate::EmailAddress::parse("email", typed).is_ok() {
        path.push_str("&login_hint=");
        path.push_str(&String::from(js_sys::encode_uri_component(typed)));
    }
    path
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
pub fn SignUp() -> impl IntoView {
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
        // The rules the server runs for these fields, checked before sending.
        let checks = [
            shared::firm::model::parse_slug("slug", slug.get_untracked().trim()).err(),
            shared::kernel::time::TimeZone::parse("timezone", timezone.get_untracked().trim())
                .err(),
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
                <Submit pending=pending label=t("sign_up.submit") working=t("sign_up.working")/>
            </form>
            <p><a href="/sign-in">{t("sign_up.have_account")}</a></p>
        </main>
    }
}

/// Asking for a password-reset link by e-mail.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
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
            move |_| status.set(t("forgot.sent").to_owned()),
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
                <Status text=status/>
                <Submit pending=pending label=t("forgot.submit")/>
            </form>
            <p><a href="/sign-in">{t("sign_up.have_account")}</a></p>
        </main>
    }
}

/// Choosing a new password from the mailed link.
#[component]
pub fn ResetPassword() -> impl IntoView {
    let token = token_from_fragment();
    let has_token = token.is_some();
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if !status.get_untracked().is_empty() {
            return;
        }
        let body = json!({"token": token.clone().unwrap_or_default(), "password": password.get_untracked()});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/password/reset", Some(&body)).await },
            move |_| status.set(t("reset.done").to_owned()),
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
                    <Status text=status/>
                    <Submit pending=pending label=t("reset.submit")/>
                </Show>
            </form>
            <p><a href="/sign-in">{t("reset.sign_in")}</a></p>
        </main>
    }
}

/// Joining a firm (or, with `portal`, a client's portal) from a mailed invitation.
/// A new address chooses a name and password; an existing account must be signed
/// in as the invited address, and then switches into the firm it joined.
#[component]
pub fn AcceptInvitation(#[prop(default = false)] portal: bool) -> impl IntoView {
    let token = token_from_fragment();
    let has_token = token.is_some();
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let (accept_path, home, title) = if portal {
        (
            "/v1/portal/invitations/accept",
            "/portal",
            t("accept.portal_title"),
        )
    } else {
        ("/v1/firm/invitations/accept", "/", t("accept.title"))
    };
    let here = web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.pathname().ok()?, l.hash().ok()?))
        })
        .unwrap_or_default();
    let sign_in_first = StoredValue::new(format!(
        "/sign-in?next={}",
        String::from(js_sys::encode_uri_component(&here))
    ));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let token = token.clone().unwrap_or_default();
        // Name and password only for a new account: an existing one is signed in.
        let body = if name.get_untracked().trim().is_empty() && password.get_untracked().is_empty()
        {
            json!({"token": token})
        } else {
            json!({"token": token, "name": name.get_untracked().trim(), "password": password.get_untracked()})
        };
        let joined = async move {
            let answer = api::call("POST", accept_path, Some(&body)).await?;
            if answer.get("new_account") == Some(&Value::Bool(true)) {
                return Ok(answer);
            }
            // Already signed in as the invited address: open a session in the firm joined.
            let firm = json!({"firm": api::text(&answer, "firm_id")});
            api::call("POST", "/v1/auth/switch-firm", Some(&firm)).await?;
            Ok(answer)
        };
        send_form(pending, problem, joined, move |answer| {
            if answer.get("new_account") == Some(&Value::Bool(true)) {
                go(&format!("/sign-in?joined=1&next={home}"));
            } else {
                go(home);
            }
        });
    };
    view! {
        <main class="narrow">
            <form class="card" on:submit=submit novalidate>
                <h1>{title}</h1>
                <Show when=move || has_token fallback=|| view! { <p class="form-error" role="alert">{t("accept.no_token")}</p> }>
                    <p>{t("accept.help")}</p>
                    <TextField label=t("field.your_name") id="name" field="name" value=name problem=problem
                        autocomplete="name"/>
                    <TextField label=t("field.new_password") id="password" field="password" value=password
                        problem=problem kind="password" autocomplete="new-password"/>
                    <FormError problem=problem/>
                    <Show when=move || problem.get().status == 401>
                        <p><a href=move || sign_in_first.get_value()>{t("accept.sign_in_first")}</a></p>
                    </Show>
                    <Submit pending=pending label=t("accept.submit")/>
                </Show>
            </form>
        </main>
    }
}

/// Confirming an address from the mailed link: sent as soon as the page opens.
#[component]
pub fn VerifyEmail() -> impl IntoView {
    let token = token_from_fragment();
    let outcome = LocalResource::new(move || {
        let token = token.clone();
        async move {
            match token {
                Some(token) => {
                    api::call(
                        "POST",
                        "/v1/auth/email/verify",
                        Some(&json!({"token": token})),
                    )
                    .await
                }
                None => Err(Problem {
                    status: 400,
                    detail: t("verify.no_token").to_owned(),
                    ..Problem::default()
                }),
            }
        }
    });
    view! {
        <main class="narrow">
            <section class="card">
                <h1>{t("verify.title")}</h1>
                {move || match outcome.get() {
                    None => view! { <p role="status">{t("verify.working")}</p> }.into_any(),
                    Some(Ok(_)) => view! { <p class="notice" role="status">{t("verify.done")}</p> }.into_any(),
                    Some(Err(p)) => view! { <p class="form-error" role="alert">{p.detail}</p> }.into_any(),
                }}
                <p><a href="/">{t("verify.continue")}</a></p>
            </section>
        </main>
    }
}
