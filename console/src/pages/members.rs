//! The firm's people: members with their roles and flags (changed or deactivated
//! by those who manage users), pending invitations, and inviting someone.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::auth::roles::{Access, Area, Flag, Role};
use shared::firm::invitations::NewInvitation;

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{
    items, loaded, send_form, FormError, SelectField, Status, Submit, TableScroll, TextField,
};

/// The staff roles, least privilege last, with their labels.
fn role_options() -> Vec<(String, String)> {
    Role::ALL
        .iter()
        .filter(|r| !r.is_portal())
        .map(|r| (r.name().to_owned(), role_label(r.name()).to_owned()))
        .collect()
}

/// A role's name for people.
pub fn role_label(role: &str) -> &'static str {
    match role {
        "firm_admin" => t("role.firm_admin"),
        "partner" => t("role.partner"),
        "manager" => t("role.manager"),
        "staff" => t("role.staff"),
        "billing" => t("role.billing"),
        "readonly" => t("role.readonly"),
        _ => t("role.portal"),
    }
}

fn flag_label(flag: Flag) -> &'static str {
    match flag {
        Flag::CanManageUsers => t("flag.can_manage_users"),
        Flag::CanManageClients => t("flag.can_manage_clients"),
        Flag::CanManageBilling => t("flag.can_manage_billing"),
        Flag::CanManageSettings => t("flag.can_manage_settings"),
        _ => t("flag.can_view_reports"),
    }
}

#[component]
pub fn Members() -> impl IntoView {
    let me = session::me();
    let version = RwSignal::new(0);
    let members = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/firm/members", None)
    });
    let may_manage = move || me.get().is_some_and(|m| m.may(Area::Admin, Access::Write));
    let may_see_invitations = move || me.get().is_some_and(|m| m.may(Area::Admin, Access::Read));
    let row_problem = RwSignal::new(Problem::default());
    let change = move |user_id: String, body: Value| {
        leptos::task::spawn_local(async move {
            match api::call("PATCH", &format!("/v1/firm/members/{user_id}"), Some(&body)).await {
                Ok(_) => row_problem.set(Problem::default()),
                Err(p) => row_problem.set(p),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <h1>{t("members.title")}</h1>
        <p class="form-error" role="alert">{move || row_problem.get().detail}</p>
        {move || loaded(members.get(), |list| {
                let locale = me.get().map(|m| m.locale).unwrap_or_default();
                let own = me.get().map(|m| m.user_id).unwrap_or_default();
                view! {
                    <TableScroll label=t("members.title")><table>
                        <caption class="visually-hidden">{t("members.title")}</caption>
                        <thead><tr>
                            <th scope="col">{t("field.name")}</th>
                            <th scope="col">{t("field.email_plain")}</th>
                            <th scope="col">{t("field.role")}</th>
                            <th scope="col">{t("members.last_active")}</th>
                            <th scope="col">{t("members.state")}</th>
                        </tr></thead>
                        <tbody>
                        {items(&list).into_iter().map(|m| {
                            let user_id = text(&m, "user_id");
                            let role = text(&m, "role");
                            let active = m.get("is_active") != Some(&Value::Bool(false));
                            let editable = may_manage() && user_id != own;
                            let select_id = format!("role-{user_id}");
                            let label = format!("{} {}", t("field.role"), text(&m, "name"));
                            let (for_role, for_state) = (user_id.clone(), user_id.clone());
                            view! {
                                <tr>
                                    <td>{text(&m, "name")}</td>
                                    <td>{text(&m, "email")}</td>
                                    <td>{if editable {
                                        view! {
                                            <select id=select_id aria-label=label on:change=move |ev| {
                                                change(for_role.clone(), json!({"role": event_target_value(&ev)}));
                                            }>
                                                {role_options().into_iter().map(|(v, l)| {
                                                    let selected = v == role;
                                                    view! { <option value=v selected=selected>{l}</option> }
                                                }).collect_view()}
                                            </select>
                                        }.into_any()
                                    } else {
                                        view! { <span>{role_label(&role)}</span> }.into_any()
                                    }}</td>
                                    <td>{locale.when(&m, "last_active_at")}</td>
                                    <td>
                                        {if active { t("members.active") } else { t("members.inactive") }}
                                        {editable.then(|| view! {
                                            " " <button type="button" class="link" on:click=move |_| {
                                                change(for_state.clone(), json!({"is_active": !active}));
                                            }>{if active { t("members.deactivate") } else { t("members.reactivate") }}</button>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                        </tbody>
                    </table></TableScroll>
                }.into_any()
            })}
        <Show when=may_see_invitations>
            <Invitations may_manage=Signal::derive(may_manage)/>
        </Show>
    }
}

#[component]
fn Invitations(may_manage: Signal<bool>) -> impl IntoView {
    let me = session::me();
    let version = RwSignal::new(0);
    let pending_list = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/firm/invitations", None)
    });
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("staff".to_owned());
    let flags: Vec<(Flag, RwSignal<bool>)> = Flag::ALL
        .iter()
        .map(|f| (*f, RwSignal::new(false)))
        .collect();
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let invite = {
        let flags = flags.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let chosen: Vec<&str> = flags
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(f, _)| f.name())
                .collect();
            let body = json!({"email": email.get_untracked().trim(), "role": role.get_untracked(), "flags": chosen});
            if let Err(e) = NewInvitation::parse(&body) {
                problem.set(Problem::checked(vec![e]));
                return;
            }
            status.set(String::new());
            send_form(
                pending,
                problem,
                async move { api::call("POST", "/v1/firm/invitations", Some(&body)).await },
                move |sent| {
                    status.set(format!("{} {}", t("members.invited"), text(&sent, "email")));
                    email.set(String::new());
                    version.update(|v| *v += 1);
                },
            );
        }
    };
    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            let _ = api::call("DELETE", &format!("/v1/firm/invitations/{id}"), None).await;
            version.update(|v| *v += 1);
        });
    };
    view! {
        <section class="card" aria-labelledby="invitations-title">
            <h2 id="invitations-title">{t("members.invitations")}</h2>
            {move || loaded(pending_list.get(), |list| {
                    let rows = items(&list);
                    if rows.is_empty() {
                        return view! { <p>{t("members.no_invitations")}</p> }.into_any();
                    }
                    let locale = me.get().map(|m| m.locale).unwrap_or_default();
                    view! { <ul class="list">{rows.into_iter().map(|i| {
                        let id = text(&i, "id");
                        let label = format!("{} {}", t("members.revoke"), text(&i, "email"));
                        view! {
                            <li>{text(&i, "email")} " · " {role_label(&text(&i, "role"))} " · "
                                {t("members.expires")} " " {locale.when(&i, "expires_at")}
                                <Show when=move || may_manage.get()>
                                    <button type="button" class="link" aria-label=label.clone()
                                        on:click={let id = id.clone(); move |_| revoke(id.clone())}>{t("members.revoke")}</button>
                                </Show>
                            </li>
                        }
                    }).collect_view()}</ul> }.into_any()
                })}
            <Show when=move || may_manage.get()>
                <form class="form" on:submit=invite.clone() novalidate>
                    <h3>{t("members.invite")}</h3>
                    <TextField label=t("field.email_plain") id="invite-email" field="email" value=email problem=problem kind="email"/>
                    <SelectField label=t("field.role") id="invite-role" field="role" value=role problem=problem options=role_options()/>
                    <fieldset class="checks">
                        <legend>{t("members.flags")}</legend>
                        {flags.clone().into_iter().map(|(flag, on)| {
                            let id = format!("flag-{}", flag.name());
                            let for_id = id.clone();
                            view! {
                                <label class="check" for=for_id>
                                    <input type="checkbox" id=id prop:checked=move || on.get()
                                        on:change=move |ev| on.set(event_target_checked(&ev))/>
                                    {flag_label(flag)}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <p class="field-error" aria-live="polite">{move || problem.get().field("flags").unwrap_or_default()}</p>
                    <FormError problem=problem/>
                    <Status text=status/>
                    <Submit pending=pending label=t("members.send")/>
                </form>
            </Show>
        </section>
    }
}
