//! Clients: the list (search, filters, cursor paging), a new client, and one
//! client's page (edit with If-Match, archive or restore, its portal users and
//! invitations). Requests are checked in the browser by the same parsers the
//! server runs (`shared::clients`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area};
use shared::clients::model::{ClientPatch, NewClient as NewClientInput};
use shared::clients::portal::NewPortalInvitation;

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{
    items, loaded, send_form, FormError, Pager, PagerNav, SelectField, Status, Submit, TableScroll,
    TextField,
};

fn kind_options() -> Vec<(String, String)> {
    vec![
        ("organization".into(), t("clients.kind.organization").into()),
        ("individual".into(), t("clients.kind.individual").into()),
    ]
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "individual" => t("clients.kind.individual"),
        _ => t("clients.kind.organization"),
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "archived" => t("clients.status.archived"),
        _ => t("clients.status.active"),
    }
}

/// The query string of the list: its filters and the page's cursor.
fn list_query(q: &str, status: &str, kind: &str, cursor: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", "25");
    for (name, value) in [("q", q.trim()), ("status", status), ("kind", kind)] {
        if !value.is_empty() {
            query.append_pair(name, value);
        }
    }
    if let Some(cursor) = cursor {
        query.append_pair("cursor", cursor);
    }
    query.finish()
}

#[component]
pub fn ClientList() -> impl IntoView {
    let me = session::me();
    let q = RwSignal::new(String::new());
    let status = RwSignal::new("active".to_owned());
    let kind = RwSignal::new(String::new());
    let pager = Pager::new();
    let problem = RwSignal::new(Problem::default());
    // A new filter starts from the first page.
    Effect::new(move |_| {
        q.track();
        status.track();
        kind.track();
        pager.reset();
    });
    let page = LocalResource::new(move || {
        let query = list_query(
            &q.get(),
            &status.get(),
            &kind.get(),
            pager.cursor.get().as_deref(),
        );
        async move {
            let answer = api::call("GET", &format!("/v1/clients?{query}"), None).await;
            if let Ok(page) = &answer {
                pager.saw(page);
            }
            answer
        }
    });
    let may_write = move || me.get().is_some_and(|m| m.may(Area::Crm, Access::Write));
    let status_options = vec![
        ("active".into(), t("clients.status.active").into()),
        ("archived".into(), t("clients.status.archived").into()),
        (String::new(), t("clients.status.all").into()),
    ];
    let mut kinds = vec![(String::new(), t("clients.kind.all").to_owned())];
    kinds.extend(kind_options());
    view! {
        <div class="heading">
            <h1>{t("clients.title")}</h1>
            <Show when=may_write>
                <a class="button" href="/clients/new">{t("clients.new")}</a>
            </Show>
        </div>
        <form class="filters" role="search" on:submit=|ev: SubmitEvent| ev.prevent_default()>
            <div>
                <TextField label=t("clients.search") id="client-search" field="q" value=q problem=problem kind="search"/>
            </div>
            <div>
                <SelectField label=t("clients.status") id="client-status" field="status" value=status
                    problem=problem options=status_options/>
            </div>
            <div>
                <SelectField label=t("clients.kind") id="client-kind" field="kind" value=kind
                    problem=problem options=kinds/>
            </div>
        </form>
        {move || loaded(page.get(), |answer| {
                let rows = items(&answer);
                if rows.is_empty() {
                    return view! { <p role="status">{t("clients.none")}</p> }.into_any();
                }
                let locale = me.get().map(|m| m.locale).unwrap_or_default();
                view! {
                    <TableScroll label=t("clients.title")>
                    <table>
                        <caption class="visually-hidden">{t("clients.title")}</caption>
                        <thead><tr>
                            <th scope="col">{t("field.name")}</th>
                            <th scope="col">{t("clients.kind")}</th>
                            <th scope="col">{t("field.email_plain")}</th>
                            <th scope="col">{t("clients.status")}</th>
                            <th scope="col">{t("clients.created")}</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|c| view! {
                                <tr>
                                    <td><a href=format!("/clients/{}", text(&c, "id"))>{text(&c, "name")}</a></td>
                                    <td>{kind_label(&text(&c, "kind"))}</td>
                                    <td>{text(&c, "email")}</td>
                                    <td>{status_label(&text(&c, "status"))}</td>
                                    <td>{locale.when(&c, "created_at")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </TableScroll>
                }.into_any()
            })}
        <PagerNav pager=pager/>
    }
}

/// A client's fields as a request body (an empty address is none).
fn client_body(name: &str, kind: &str, email: &str) -> Value {
    let email = email.trim();
    json!({
        "name": name.trim(),
        "kind": kind,
        "email": if email.is_empty() { Value::Null } else { json!(email) },
    })
}

#[component]
pub fn NewClient() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("organization".to_owned());
    let email = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let navigate = use_navigate();
    // One key per form: a resubmission after a lost answer creates nothing twice.
    let key = shared::kernel::id::new_id("idem", js_sys::Date::now() as i64).unwrap_or_default();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = client_body(
            &name.get_untracked(),
            &kind.get_untracked(),
            &email.get_untracked(),
        );
        if body.get("email") == Some(&Value::Null) {
            if let Some(o) = body.as_object_mut() {
                o.remove("email");
            }
        }
        // The server's own parser, run here first.
        if let Err(e) = NewClientInput::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let navigate = navigate.clone();
        let key = key.clone();
        send_form(
            pending,
            problem,
            async move { api::call_idempotent("POST", "/v1/clients", &body, &key).await },
            move |created| {
                navigate(
                    &format!("/clients/{}", text(&created, "id")),
                    Default::default(),
                )
            },
        );
    };
    view! {
        <h1>{t("clients.new")}</h1>
        <form class="card form" on:submit=submit novalidate>
            <TextField label=t("field.name") id="client-name" field="name" value=name problem=problem autocomplete="organization"/>
            <SelectField label=t("clients.kind") id="client-kind" field="kind" value=kind problem=problem options=kind_options()/>
            <TextField label=t("field.email_optional") id="client-email" field="email" value=email problem=problem kind="email" autocomplete="email"/>
            <FormError problem=problem/>
            <Submit pending=pending label=t("clients.create")/>
        </form>
        <p><a href="/clients">{t("clients.back")}</a></p>
    }
}

/// One client: its fields (edited against the version read), archive or restore,
/// and its portal.
#[component]
pub fn ClientDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let me = session::me();
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("organization".to_owned());
    let email = RwSignal::new(String::new());
    let etag = RwSignal::new(String::new());
    let current = RwSignal::new(None::<Value>);
    let problem = RwSignal::new(Problem::default());
    let load_problem = RwSignal::new(None::<Problem>);
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());

    // Reads the client; `keep_typed` leaves the fields as the person typed them
    // (after a conflict) and only moves the version they will overwrite.
    let load = move |keep_typed: bool| {
        let path = format!("/v1/clients/{}", id());
        leptos::task::spawn_local(async move {
            match api::call("GET", &path, None).await {
                Ok(client) => {
                    if !keep_typed {
                        name.set(text(&client, "name"));
                        kind.set(text(&client, "kind"));
                        email.set(text(&client, "email"));
                    }
                    etag.set(text(&client, "etag"));
                    current.set(Some(client));
                    load_problem.set(None);
                }
                Err(p) => load_problem.set(Some(p)),
            }
        });
    };
    load(false);

    // A change sent against the version read; someone else's change meanwhile is a
    // 412, which the form shows as a conflict until their version is loaded.
    let conflict = move || problem.get().status == 412;
    // Their version was loaded over a conflict: it is shown beside what was typed.
    let theirs_shown = RwSignal::new(false);
    let patch = move |body: Value| {
        let path = format!("/v1/clients/{}", id());
        let tag = etag.get_untracked();
        status.set(String::new());
        send_form(
            pending,
            problem,
            async move { api::call_if_match("PATCH", &path, &body, &tag).await },
            move |client| {
                etag.set(text(&client, "etag"));
                current.set(Some(client));
                theirs_shown.set(false);
                status.set(t("form.saved").to_owned());
            },
        );
    };
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = client_body(
            &name.get_untracked(),
            &kind.get_untracked(),
            &email.get_untracked(),
        );
        match ClientPatch::parse(&body) {
            Ok(_) => patch(body),
            Err(e) => problem.set(Problem::checked(vec![e])),
        }
    };
    let reload = move |_| {
        load(true);
        problem.set(Problem::default());
        theirs_shown.set(true);
        status.set(t("clients.reloaded").to_owned());
    };
    let set_status = move |to: &'static str| patch(json!({ "status": to }));
    let may_write = move || me.get().is_some_and(|m| m.may(Area::Crm, Access::Write));
    let archived = move || {
        current
            .get()
            .is_some_and(|c| text(&c, "status") == "archived")
    };
    view! {
        <p><a href="/clients">{t("clients.back")}</a></p>
        {move || load_problem.get().map(|p| view! { <p class="form-error" role="alert">{p.detail}</p> })}
        <Show when=move || current.get().is_some()>
            <h1>{move || current.get().map(|c| text(&c, "name"))}
                <Show when=archived>" " <span class="tag">{t("clients.status.archived")}</span></Show>
            </h1>
            <form class="card form" on:submit=save novalidate>
                <h2>{t("clients.details")}</h2>
                <Show when=conflict>
                    <div class="conflict" role="alert">
                        <p>{t("clients.conflict")}</p>
                        <button type="button" on:click=reload>{t("clients.reload")}</button>
                    </div>
                </Show>
                <Show when=move || theirs_shown.get()>
                    <p class="hint">{move || current.get().map(|c| format!("{} {} · {} · {}", t("clients.theirs"),
                        text(&c, "name"), kind_label(&text(&c, "kind")), text(&c, "email")))}</p>
                </Show>
                <fieldset disabled=move || !may_write()>
                    <TextField label=t("field.name") id="client-name" field="name" value=name problem=problem/>
                    <SelectField label=t("clients.kind") id="client-kind" field="kind" value=kind problem=problem options=kind_options()/>
                    <TextField label=t("field.email_optional") id="client-email" field="email" value=email problem=problem kind="email"/>
                </fieldset>
                <Show when=move || !conflict()><FormError problem=problem/></Show>
                <Status text=status/>
                <Show when=may_write>
                    <Submit pending=pending label=t("form.save")/>
                    {move || if archived() {
                        view! { <button type="button" class="secondary" on:click=move |_| set_status("active")>{t("clients.restore")}</button> }.into_any()
                    } else {
                        view! { <button type="button" class="danger" on:click=move |_| set_status("archived")>{t("clients.archive")}</button> }.into_any()
                    }}
                </Show>
            </form>
            <PortalAccess client_id=id()/>
        </Show>
    }
}

/// A client's portal: who has access, who is invited, and inviting someone.
#[component]
fn PortalAccess(client_id: String) -> impl IntoView {
    let me = session::me();
    let version = RwSignal::new(0);
    let users_path = format!("/v1/clients/{client_id}/portal-users");
    let invitations_path = format!("/v1/clients/{client_id}/portal-invitations");
    let users = {
        let path = users_path.clone();
        LocalResource::new(move || {
            version.get();
            let path = path.clone();
            async move { api::call("GET", &path, None).await }
        })
    };
    let invitations = {
        let path = invitations_path.clone();
        LocalResource::new(move || {
            version.get();
            let path = path.clone();
            async move { api::call("GET", &path, None).await }
        })
    };
    let users_path = StoredValue::new(users_path);
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("member".to_owned());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let invite = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"email": email.get_untracked().trim(), "role": role.get_untracked()});
        if let Err(e) = NewPortalInvitation::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = users_path.get_value();
        send_form(
            pending,
            problem,
            async move { api::call("POST", &path, Some(&body)).await },
            move |_| {
                email.set(String::new());
                status.set(t("portal_users.invited").to_owned());
                version.update(|v| *v += 1);
            },
        );
    };
    let invitations_path = StoredValue::new(invitations_path);
    let revoke = move |id: String| {
        let path = format!("{}/{id}", invitations_path.get_value());
        leptos::task::spawn_local(async move {
            let _ = api::call("DELETE", &path, None).await;
            version.update(|v| *v += 1);
        });
    };
    let may_write = move || me.get().is_some_and(|m| m.may(Area::Crm, Access::Write));
    let role_options = vec![
        ("admin".into(), t("portal_role.admin").into()),
        ("member".into(), t("portal_role.member").into()),
        ("viewer".into(), t("portal_role.viewer").into()),
    ];
    view! {
        <section class="card" aria-labelledby="portal-title">
            <h2 id="portal-title">{t("portal_users.title")}</h2>
            {move || loaded(users.get(), |list| {
                    let rows = items(&list);
                    if rows.is_empty() {
                        return view! { <p>{t("portal_users.none")}</p> }.into_any();
                    }
                    view! { <ul class="list">{rows.into_iter().map(|u| view! {
                        <li>{text(&u, "name")} " · " {text(&u, "email")} " · " {portal_role_label(&text(&u, "role"))}
                            {(u.get("is_active") == Some(&Value::Bool(false))).then(|| view! { " · " {t("members.inactive")} })}
                        </li>
                    }).collect_view()}</ul> }.into_any()
                })}
            <h3>{t("portal_users.pending")}</h3>
            {move || loaded(invitations.get(), |list| {
                    let rows = items(&list);
                    if rows.is_empty() {
                        return view! { <p>{t("portal_users.no_invitations")}</p> }.into_any();
                    }
                    view! { <ul class="list">{rows.into_iter().map(|i| {
                        let id = text(&i, "id");
                        let label = format!("{} {}", t("members.revoke"), text(&i, "email"));
                        view! {
                            <li>{text(&i, "email")} " · " {portal_role_label(&text(&i, "role"))}
                                <Show when=may_write>
                                    <button type="button" class="link" aria-label=label.clone()
                                        on:click={let id = id.clone(); move |_| revoke(id.clone())}>{t("members.revoke")}</button>
                                </Show>
                            </li>
                        }
                    }).collect_view()}</ul> }.into_any()
                })}
            <Show when=may_write>
                <form class="form" on:submit=invite novalidate>
                    <h3>{t("portal_users.invite")}</h3>
                    <TextField label=t("field.email_plain") id="portal-email" field="email" value=email problem=problem kind="email"/>
                    <SelectField label=t("field.role") id="portal-role" field="role" value=role problem=problem options=role_options.clone()/>
                    <FormError problem=problem/>
                    <Status text=status/>
                    <Submit pending=pending label=t("portal_users.send")/>
                </form>
            </Show>
        </section>
    }
}

fn portal_role_label(role: &str) -> &'static str {
    match role {
        "admin" | "portal_admin" => t("portal_role.admin"),
        "viewer" | "portal_viewer" => t("portal_role.viewer"),
        _ => t("portal_role.member"),
    }
}
