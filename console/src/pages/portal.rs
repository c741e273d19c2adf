//! The client portal: a client's people see their own client under the firm's
//! logo and colour, and a portal admin sees who else has access. Built for a
//! phone first; it reaches nothing of the firm's own.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{self, text};
use crate::messages::{self, t};
use crate::pages::auth::go;
use crate::session;
use crate::ui::{items, loaded};

#[component]
pub fn Portal() -> impl IntoView {
    let me = LocalResource::new(session::load);
    let client = LocalResource::new(|| api::call("GET", "/v1/portal/client", None));
    let branding = LocalResource::new(|| api::call("GET", "/v1/firm/branding", None));
    let users = LocalResource::new(|| api::call("GET", "/v1/portal/users", None));
    Effect::new(move |_| match me.get() {
        Some(Err(p)) if p.status == 401 => go("/sign-in?next=/portal"),
        Some(Ok(m)) if !m.role.is_portal() => go("/"),
        Some(Ok(m)) => {
            messages::follow(&m.preferred_language());
        }
        _ => {}
    });
    let brand = move || {
        branding
            .get()
            .and_then(Result::ok)
            .and_then(|b| {
                b.get("brand_color")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "#1d4ed8".to_owned())
    };
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::call("POST", "/v1/auth/sign-out", None).await;
            go("/sign-in?next=/portal");
        });
    };
    view! {
        <div class="portal" style=move || format!("--accent:{}", brand())>
            <header class="portal-bar">
                {move || branding.get().and_then(Result::ok).map(|b| {
                    let logo = b.get("logo").and_then(|l| l.get("url")).and_then(Value::as_str).map(str::to_owned);
                    let name = text(&b, "name");
                    view! {
                        {logo.map(|src| view! { <img class="portal-logo" src=src alt=""/> })}
                        <strong>{name}</strong>
                    }
                })}
                <button type="button" class="secondary" on:click=sign_out>{t("app.sign_out")}</button>
            </header>
            <main id="content" class="portal-main">
                {move || loaded(client.get(), |c| view! {
                        <h1>{text(&c, "name")}</h1>
                        <section class="card">
                            <h2>{t("portal.your_account")}</h2>
                            <p>{move || me.get().and_then(Result::ok).map(|m| format!("{} {}", t("app.signed_in_as"), m.email))}</p>
                            {(!text(&c, "email").is_empty()).then(|| view! { <p>{t("field.email_plain")} ": " {text(&c, "email")}</p> })}
                        </section>
                    }.into_any())}
                {move || users.get().and_then(Result::ok).map(|list| view! {
                    <section class="card">
                        <h2>{t("portal.people")}</h2>
                        <ul class="list">{items(&list).into_iter().map(|u| view! {
                            <li>{text(&u, "name")} " · " {text(&u, "email")}</li>
                        }).collect_view()}</ul>
                    </section>
                })}
            </main>
        </div>
    }
}
