//! The web console (staff) and the client portal: a Leptos app rendered in the
//! browser, served by the gateway from the same origin as the API it calls
//! (`api.rs`). It signs people in with the browser session of the API (HttpOnly
//! cookies and a CSRF token), checks what it can before sending with the rules
//! the server runs (`shared/`), and shows only what the person's role and flags
//! allow (`session.rs`). Every text comes from `messages.rs`.

// The public and portal entries use a subset of the console's pieces; the full
// build (what clippy checks) still flags anything no screen uses.
#![cfg_attr(
    not(all(feature = "auth", feature = "staff")),
    allow(dead_code, unused_imports)
)]

use leptos::prelude::*;
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;
use shared::auth::roles::{Access, Area};
use wasm_bindgen::prelude::wasm_bindgen;

mod api;
mod messages;
mod pages;
mod session;
mod ui;

use messages::t;
use pages::auth::go;
use session::Me;

/// Mounts the app on the page, in the language last chosen or the browser's.
#[wasm_bindgen(start)]
pub fn start() {
    messages::init();
    leptos::mount::mount_to_body(App);
}

/// The routes of every entry: the portal and its invitation, then those of the
/// entry's features.
#[component]
fn App() -> impl IntoView {
    use pages::{auth, portal};
    view! {
        <Router>
            <a class="skip" href="#content">{t("app.skip")}</a>
            <Routes fallback=NotFound>
                <Route path=path!("/portal/accept-invitation") view=|| view! { <auth::AcceptInvitation portal=true/> }/>
                <Route path=path!("/portal") view=portal::Portal/>
                <AuthRoutes/>
                <StaffRoutes/>
            </Routes>
        </Router>
    }
}

/// The staff console's screens, inside the signed-in shell.
#[cfg(feature = "staff")]
#[component(transparent)]
fn StaffRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    use pages::{account, admin, clients, crm, members, settings};
    view! {
        <ParentRoute path=path!("") view=Shell>
            <Route path=path!("") view=Home/>
            <Route path=path!("clients") view=clients::ClientList/>
            <Route path=path!("clients/new") view=clients::NewClient/>
            <Route path=path!("clients/:id") view=clients::ClientDetail/>
            <Route path=path!("crm/leads") view=crm::Leads/>
            <Route path=path!("crm/leads/:id") view=crm::LeadDetail/>
            <Route path=path!("crm/pipeline") view=crm::Board/>
            <Route path=path!("crm/deals/:id") view=crm::DealDetail/>
            <Route path=path!("crm/forecast") view=crm::Forecast/>
            <Route path=path!("crm/setup") view=crm::Setup/>
            <Route path=path!("crm/catalogue") view=crm::Catalogue/>
            <Route path=path!("settings") view=settings::Settings/>
            <Route path=path!("members") view=members::Members/>
            <Route path=path!("account") view=account::Account/>
            <Route path=path!("notifications") view=Notifications/>
            <Route path=path!("audit") view=admin::Audit/>
            <Route path=path!("events") view=admin::Events/>
            <Route path=path!("webhooks") view=admin::Webhooks/>
            <Route path=path!("jobs") view=admin::Jobs/>
            <Route path=path!("flags") view=admin::Flags/>
            <Route path=path!("sso") view=admin::Sso/>
        </ParentRoute>
    }
    .into_inner()
}

/// An entry without the staff screens: their paths load the whole console.
#[cfg(not(feature = "staff"))]
#[component(transparent)]
fn StaffRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("") view=|| go("/")/> }.into_inner()
}

/// Signing in, creating a firm, and the pages mailed links open.
#[cfg(feature = "auth")]
#[component(transparent)]
fn AuthRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    use pages::auth;
    view! {
        <Route path=path!("/sign-in") view=auth::SignIn/>
        <Route path=path!("/sign-up") view=auth::SignUp/>
        <Route path=path!("/forgot-password") view=auth::ForgotPassword/>
        <Route path=path!("/reset-password") view=auth::ResetPassword/>
        <Route path=path!("/accept-invitation") view=|| view! { <auth::AcceptInvitation/> }/>
        <Route path=path!("/verify-email") view=auth::VerifyEmail/>
    }
    .into_inner()
}

/// The portal's entry: signing in is the public entry's page, loaded afresh.
#[cfg(not(feature = "auth"))]
#[component(transparent)]
fn AuthRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! { <Route path=path!("/sign-in") view=pages::auth::reload/> }.into_inner()
}

#[cfg(feature = "staff")]
/// The console's screens, each shown only to whom the API would answer.
const NAV: &[(&str, &str, Area, Access)] = &[
    ("/", "nav.overview", Area::Workspace, Access::Read),
    ("/clients", "nav.clients", Area::Crm, Access::Read),
    ("/crm/leads", "nav.leads", Area::Crm, Access::Read),
    ("/crm/pipeline", "nav.pipeline", Area::Crm, Access::Read),
    ("/crm/forecast", "nav.forecast", Area::Crm, Access::Read),
    ("/crm/catalogue", "nav.catalogue", Area::Crm, Access::Read),
    ("/crm/setup", "nav.crm_setup", Area::Crm, Access::Read),
    ("/members", "nav.members", Area::Workspace, Access::Read),
    ("/settings", "nav.settings", Area::Settings, Access::Read),
    ("/audit", "nav.audit", Area::Admin, Access::Read),
    ("/events", "nav.events", Area::Admin, Access::Read),
    (
        "/webhooks",
        "nav.webhooks",
        Area::Integrations,
        Access::Read,
    ),
    ("/jobs", "nav.jobs", Area::Operations, Access::Read),
    ("/flags", "nav.flags", Area::Admin, Access::Read),
    ("/sso", "nav.sso", Area::Admin, Access::Read),
];

#[cfg(feature = "staff")]
/// The signed-in frame: the firm, the switcher, the bell, the navigation the
/// person's rights allow, and the screen. Nobody signed in: to the sign-in page.
#[component]
fn Shell() -> impl IntoView {
    let loaded = LocalResource::new(session::load);
    let me: Signal<Option<Me>> = Signal::derive(move || loaded.get().and_then(Result::ok));
    provide_context(me);
    let unread = LocalResource::new(|| api::call("GET", "/v1/notifications/unread-count", None));
    let navigate = use_navigate();
    Effect::new(move |_| match loaded.get() {
        Some(Err(p)) if p.status == 401 => {
            let here = web_sys::window()
                .and_then(|w| w.location().pathname().ok())
                .unwrap_or_default();
            navigate(
                &format!(
                    "/sign-in?next={}",
                    String::from(js_sys::encode_uri_component(&here))
                ),
                Default::default(),
            );
        }
        Some(Ok(me)) => {
            if me.role.is_portal() {
                go("/portal");
            } else {
                messages::follow(&me.preferred_language());
            }
        }
        _ => {}
    });
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::call("POST", "/v1/auth/sign-out", None).await;
            go("/sign-in");
        });
    };
    let switch = move |ev: leptos::ev::Event| {
        let firm = event_target_value(&ev);
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({"firm": firm});
            if let Ok(answer) = api::call("POST", "/v1/auth/switch-firm", Some(&body)).await {
                let portal = api::text(&answer, "role").starts_with("portal_");
                go(if portal { "/portal" } else { "/" });
            }
        });
    };
    view! {
        <header class="bar">
            <strong class="firm">{move || me.get().map(|m| m.firm_name).unwrap_or_else(|| t("app.name").to_owned())}</strong>
            <Show when=move || me.get().is_some_and(|m| m.firms.len() > 1)>
                <label class="inline" for="firm-switch">{t("nav.switch")}</label>
                <select id="firm-switch" on:change=switch>
                    {move || me.get().map(|m| m.firms.into_iter().map(|f| {
                        let current = f.id == m.firm_id;
                        view! { <option value=f.id selected=current>{f.label}</option> }
                    }).collect_view())}
                </select>
            </Show>
            <a class="bell" href="/notifications">
                {t("nav.notifications")} " "
                <span class="badge">{move || unread.get().and_then(Result::ok)
                    .and_then(|u| u.get("unread").and_then(serde_json::Value::as_i64)).unwrap_or(0)}</span>
                <span class="visually-hidden">" " {t("home.unread")}</span>
            </a>
            <a href="/account">{move || me.get().map(|m| m.name).unwrap_or_default()}</a>
            <button type="button" class="secondary" on:click=sign_out>{t("app.sign_out")}</button>
        </header>
        <div class="frame">
            <nav class="side" aria-label=t("nav.label")>
                <ul>
                    {move || me.get().map(|m| NAV.iter()
                        .filter(|(_, _, area, access)| m.may(*area, *access))
                        .map(|(href, key, _, _)| view! { <li><a href=*href>{t(key)}</a></li> })
                        .collect_view())}
                </ul>
            </nav>
            <main id="content" tabindex="-1">
                {move || match loaded.get() {
                    None => view! { <p role="status">{t("app.loading")}</p> }.into_any(),
                    Some(Err(p)) if p.status != 401 => view! { <p class="form-error" role="alert">{p.detail}</p> }.into_any(),
                    Some(_) => view! { <Outlet/> }.into_any(),
                }}
            </main>
        </div>
    }
}

#[cfg(feature = "staff")]
#[component]
fn Home() -> impl IntoView {
    let me = session::me();
    view! {
        <h1>{t("home.title")}</h1>
        <p>{move || me.get().map(|m| format!("{} {}", t("home.welcome"), m.name))}</p>
        <ul class="tiles">
            {move || me.get().map(|m| NAV.iter().skip(1)
                .filter(|(_, _, area, access)| m.may(*area, *access))
                .map(|(href, key, _, _)| view! { <li><a class="tile" href=*href>{t(key)}</a></li> })
                .collect_view())}
        </ul>
    }
}

#[cfg(feature = "staff")]
/// The person's notifications, newest first, each marked read on opening.
#[component]
fn Notifications() -> impl IntoView {
    let me = session::me();
    let version = RwSignal::new(0);
    let list = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/notifications?limit=50", None)
    });
    let read_all = move |_| {
        leptos::task::spawn_local(async move {
            let _ = api::call("POST", "/v1/notifications/read-all", None).await;
            version.update(|v| *v += 1);
        });
    };
    view! {
        <h1>{t("nav.notifications")}</h1>
        <button type="button" class="secondary" on:click=read_all>{t("notifications.read_all")}</button>
        {move || ui::loaded(list.get(), |page| {
                let items = ui::items(&page);
                if items.is_empty() {
                    return view! { <p>{t("notifications.none")}</p> }.into_any();
                }
                let locale = me.get().map(|m| m.locale).unwrap_or_default();
                view! {
                    <ul class="list">
                        {items.into_iter().map(|n| {
                            let unread = n.get("read_at").is_none_or(serde_json::Value::is_null);
                            view! {
                                <li class:unread=unread>
                                    {match n.get("link").and_then(serde_json::Value::as_str) {
                                        Some(link) => view! { <a href=link.to_owned()><strong>{api::text(&n, "title")}</strong></a> }.into_any(),
                                        None => view! { <strong>{api::text(&n, "title")}</strong> }.into_any(),
                                    }}
                                    <br/><small>{locale.when(&n, "created_at")}</small>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            })}
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main class="narrow" id="content">
            <h1>{t("not_found.title")}</h1>
            <a href="/">{t("not_found.back")}</a>
        </main>
    }
}
