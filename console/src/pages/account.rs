//! One's own account: profile and language, password, second factors (an
//! authenticator enrolled from a QR code, recovery codes shown once, a phone),
//! live sessions, and — for those who administer the firm — API keys.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::auth::api_keys::{NewApiKey, Scope};
use shared::auth::roles::{Access, Area};

use crate::api::{self, text, Problem};
use crate::messages::{self, t};
use crate::pages::auth::go;
use crate::session;
use crate::ui::{items, loaded, send_form, FormError, SelectField, Status, Submit, TextField};

#[component]
pub fn Account() -> impl IntoView {
    let me = session::me();
    let may_keys = move || me.get().is_some_and(|m| m.may(Area::Admin, Access::Read));
    view! {
        <h1>{t("account.title")}</h1>
        <Profile/>
        <Password/>
        <SecondFactors/>
        <Sessions/>
        <Show when=may_keys><ApiKeys/></Show>
    }
}

#[component]
fn Profile() -> impl IntoView {
    let me = session::me();
    let name = RwSignal::new(String::new());
    let language = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(m) = me.get() {
            name.set(m.name.clone());
            language.set(m.language.clone().unwrap_or_default());
        }
    });
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let chosen = language.get_untracked();
        let body = json!({"name": name.get_untracked().trim(),
                          "language": if chosen.is_empty() { Value::Null } else { json!(chosen) }});
        if let Err(e) = shared::auth::users::ProfilePatch::parse(&body) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        send_form(
            pending,
            problem,
            async move { api::call("PATCH", "/v1/me", Some(&body)).await },
            move |answer| {
                let updated = session::Me::from_answer(&answer);
                let wanted = updated.map(|m| m.preferred_language()).unwrap_or_default();
                if messages::follow(&wanted) {
                    return; // the page reloads in the new language
                }
                status.set(t("form.saved").to_owned());
            },
        );
    };
    let mut languages = vec![(String::new(), t("account.language_firm").to_owned())];
    languages.extend(
        shared::auth::users::LANGUAGES
            .iter()
            .map(|l| ((*l).to_owned(), messages::language_name(l).to_owned())),
    );
    view! {
        <form class="card form" on:submit=submit novalidate>
            <h2>{t("account.profile")}</h2>
            <p>{move || me.get().map(|m| format!("{} {}", t("app.signed_in_as"), m.email))}</p>
            <TextField label=t("field.your_name") id="profile-name" field="name" value=name problem=problem autocomplete="name"/>
            <SelectField label=t("field.language") id="profile-language" field="language" value=language
                problem=problem options=languages/>
            <FormError problem=problem/>
            <Status text=status/>
            <Submit pending=pending label=t("form.save")/>
        </form>
    }
}

#[component]
fn Password() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"current_password": current.get_untracked(), "new_password": new.get_untracked()});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/password", Some(&body)).await },
            move |_| {
                current.set(String::new());
                new.set(String::new());
                status.set(t("account.password_changed").to_owned());
            },
        );
    };
    view! {
        <form class="card form" on:submit=submit novalidate>
            <h2>{t("account.password")}</h2>
            <TextField label=t("field.current_password") id="current-password" field="current_password" value=current
                problem=problem kind="password" autocomplete="current-password"/>
            <TextField label=t("field.new_password") id="new-password" field="new_password" value=new
                problem=problem kind="password" autocomplete="new-password"/>
            <FormError problem=problem/>
            <Status text=status/>
            <Submit pending=pending label=t("account.password_submit")/>
        </form>
    }
}

/// Recovery codes, shown once: copied or downloaded now, or never seen again.
#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let joined = codes.join("\n");
    let copied = RwSignal::new(String::new());
    let copy = {
        let joined = joined.clone();
        move |_| {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&joined);
                copied.set(t("account.codes_copied").to_owned());
            }
        }
    };
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&format!("{joined}\n")))
    );
    view! {
        <div class="codes" role="region" aria-label=t("account.codes_title")>
            <p><strong>{t("account.codes_once")}</strong></p>
            <ul class="code-list">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
            <button type="button" class="secondary" on:click=copy>{t("account.codes_copy")}</button>
            <a class="button secondary" href=href download="firmament-recovery-codes.txt">{t("account.codes_download")}</a>
            <Status text=copied/>
        </div>
    }
}

#[component]
fn SecondFactors() -> impl IntoView {
    let version = RwSignal::new(0);
    let factors = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/auth/mfa", None)
    });
    let enrolment = RwSignal::new(None::<Value>);
    let codes = RwSignal::new(None::<Vec<String>>);
    let code = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let sms_code = RwSignal::new(String::new());
    let sms_sent = RwSignal::new(false);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let refresh = move || version.update(|v| *v += 1);
    let shown_codes = move |answer: &Value| {
        let list = answer
            .get("recovery_codes")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|c| c.as_str().map(str::to_owned))
                    .collect()
            });
        codes.set(list);
    };
    let start_totp = move |_| {
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/mfa/totp", None).await },
            move |answer| enrolment.set(Some(answer)),
        );
    };
    let confirm_totp = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = json!({"code": code.get_untracked().trim()});
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/mfa/totp/confirm", Some(&body)).await },
            move |answer| {
                enrolment.set(None);
                code.set(String::new());
                shown_codes(&answer);
                status.set(t("account.totp_on").to_owned());
                refresh();
            },
        );
    };
    let remove_totp = move |_| {
        send_form(
            pending,
            problem,
            async move { api::call("DELETE", "/v1/auth/mfa/totp", None).await },
            move |_| {
                status.set(t("account.totp_off").to_owned());
                refresh();
            },
        );
    };
    let new_codes = move |_| {
        send_form(
            pending,
            problem,
            async move { api::call("POST", "/v1/auth/mfa/recovery-codes", None).await },
            move |answer| shown_codes(&answer),
        );
    };
    let send_phone = move |ev: SubmitEvent| {
        ev.prevent_default();
        if sms_sent.get_untracked() {
            let body = json!({"sms_code": sms_code.get_untracked().trim()});
            send_form(
                pending,
                problem,
                async move { api::call("POST", "/v1/auth/mfa/sms/confirm", Some(&body)).await },
                move |answer| {
                    sms_sent.set(false);
                    sms_code.set(String::new());
                    shown_codes(&answer);
                    status.set(t("account.sms_on").to_owned());
                    refresh();
                },
            );
        } else {
            let body = json!({"phone": phone.get_untracked().trim()});
            send_form(
                pending,
                problem,
                async move { api::call("POST", "/v1/auth/mfa/sms", Some(&body)).await },
                move |_| sms_sent.set(true),
            );
        }
    };
    let remove_sms = move |_| {
        send_form(
            pending,
            problem,
            async move { api::call("DELETE", "/v1/auth/mfa/sms", None).await },
            move |_| {
                status.set(t("account.sms_off").to_owned());
                refresh();
            },
        );
    };
    let has = move |key: &str| {
        factors
            .get()
            .and_then(Result::ok)
            .and_then(|f| f.get(key).and_then(Value::as_bool))
            .unwrap_or(false)
    };
    view! {
        <section class="card form" aria-labelledby="mfa-title">
            <h2 id="mfa-title">{t("account.mfa")}</h2>
            <FormError problem=problem/>
            <Status text=status/>
            {move || codes.get().map(|list| view! { <RecoveryCodes codes=list/> })}
            <h3>{t("account.totp")}</h3>
            <Show when=move || has("totp") fallback=move || view! {
                <Show when=move || enrolment.get().is_some() fallback=move || view! {
                    <p>{t("account.totp_off_help")}</p>
                    <button type="button" on:click=start_totp>{t("account.totp_start")}</button>
                }>
                    <form on:submit=confirm_totp novalidate>
                        <p>{t("account.totp_scan")}</p>
                        {move || enrolment.get().map(|e| {
                            let svg = text(&e, "qr_svg");
                            let src = format!("data:image/svg+xml;charset=utf-8,{}", String::from(js_sys::encode_uri_component(&svg)));
                            view! {
                                <img class="qr" src=src alt=t("account.totp_qr_alt") width="200" height="200"/>
                                <p>{t("account.totp_secret")} " " <code class="secret">{text(&e, "secret")}</code></p>
                            }
                        })}
                        <TextField label=t("field.totp_code") id="totp-code" field="code" value=code problem=problem
                            autocomplete="one-time-code"/>
                        <Submit pending=pending label=t("account.totp_confirm")/>
                    </form>
                </Show>
            }>
                <p>{t("account.totp_on")}</p>
                <button type="button" class="secondary" on:click=new_codes>{t("account.codes_new")}</button>
                <button type="button" class="danger" on:click=remove_totp>{t("account.totp_remove")}</button>
            </Show>
            <h3>{t("account.sms")}</h3>
            <Show when=move || has("sms") fallback=move || view! {
                <form on:submit=send_phone novalidate>
                    <Show when=move || sms_sent.get() fallback=move || view! {
                        <TextField label=t("field.phone") id="sms-phone" field="phone" value=phone problem=problem
                            kind="tel" autocomplete="tel" hint=t("account.phone_hint")/>
                    }>
                        <TextField label=t("field.sms_code") id="sms-code" field="sms_code" value=sms_code problem=problem
                            autocomplete="one-time-code"/>
                    </Show>
                    <Submit pending=pending label=Signal::derive(move || if sms_sent.get() { t("account.sms_confirm") } else { t("account.sms_send") })/>
                </form>
            }>
                <p>{move || factors.get().and_then(Result::ok).map(|f| format!("{} {}", t("account.sms_on"), text(&f, "sms_phone_hint")))}</p>
                <button type="button" class="danger" on:click=remove_sms>{t("account.sms_remove")}</button>
            </Show>
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let me = session::me();
    let version = RwSignal::new(0);
    let list = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/auth/sessions", None)
    });
    let problem = RwSignal::new(Problem::default());
    let revoke = move |id: String, current: bool| {
        leptos::task::spawn_local(async move {
            match api::call("DELETE", &format!("/v1/auth/sessions/{id}"), None).await {
                Ok(_) if current => go("/sign-in"),
                Ok(_) => problem.set(Problem::default()),
                Err(p) => problem.set(p),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <section class="card" aria-labelledby="sessions-title">
            <h2 id="sessions-title">{t("account.sessions")}</h2>
            <FormError problem=problem/>
            {move || loaded(list.get(), |l| {
                    let locale = me.get().map(|m| m.locale).unwrap_or_default();
                    view! { <ul class="list">{items(&l).into_iter().map(|s| {
                        let id = text(&s, "id");
                        let current = s.get("current") == Some(&Value::Bool(true));
                        view! {
                            <li>
                                <strong>{text(&s, "user_agent")}</strong> " · " {text(&s, "ip")} " · "
                                {t("account.session_since")} " " {locale.when(&s, "created_at")}
                                {current.then(|| view! { " · " <span class="tag">{t("account.this_session")}</span> })}
                                " " <button type="button" class="link" on:click=move |_| revoke(id.clone(), current)>
                                    {if current { t("app.sign_out") } else { t("account.session_end") }}</button>
                            </li>
                        }
                    }).collect_view()}</ul> }.into_any()
                })}
        </section>
    }
}

#[component]
fn ApiKeys() -> impl IntoView {
    let me = session::me();
    let version = RwSignal::new(0);
    let list = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/auth/api-keys", None)
    });
    let name = RwSignal::new(String::new());
    let scopes: Vec<(String, RwSignal<bool>)> = Scope::grantable()
        .into_iter()
        .map(|s| (s, RwSignal::new(false)))
        .collect();
    let created = RwSignal::new(None::<String>);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let may_write = move || me.get().is_some_and(|m| m.may(Area::Admin, Access::Write));
    let submit = {
        let scopes = scopes.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let chosen: Vec<String> = scopes
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(s, _)| s.clone())
                .collect();
            let body = json!({"name": name.get_untracked().trim(), "scopes": chosen});
            if let Err(e) = NewApiKey::parse(&body) {
                problem.set(Problem::checked(vec![e]));
                return;
            }
            send_form(
                pending,
                problem,
                async move { api::call("POST", "/v1/auth/api-keys", Some(&body)).await },
                move |key| {
                    created.set(Some(text(&key, "key")));
                    name.set(String::new());
                    version.update(|v| *v += 1);
                },
            );
        }
    };
    let row_problem = RwSignal::new(Problem::default());
    let revoke = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::call("DELETE", &format!("/v1/auth/api-keys/{id}"), None).await {
                Ok(_) => row_problem.set(Problem::default()),
                Err(p) => row_problem.set(p),
            }
            version.update(|v| *v += 1);
        });
    };
    view! {
        <section class="card" aria-labelledby="keys-title">
            <h2 id="keys-title">{t("account.keys")}</h2>
            <FormError problem=row_problem/>
            {move || created.get().map(|key| view! {
                <div class="codes" role="status">
                    <p><strong>{t("account.key_once")}</strong></p>
                    <code class="secret">{key}</code>
                </div>
            })}
            {move || loaded(list.get(), |l| {
                    let rows = items(&l);
                    if rows.is_empty() {
                        return view! { <p>{t("account.no_keys")}</p> }.into_any();
                    }
                    let locale = me.get().map(|m| m.locale).unwrap_or_default();
                    view! { <ul class="list">{rows.into_iter().map(|k| {
                        let id = text(&k, "id");
                        let revoked = k.get("revoked_at").is_some_and(|r| !r.is_null());
                        let scopes = k.get("scopes").and_then(Value::as_array)
                            .map(|s| s.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                        view! {
                            <li>
                                <strong>{text(&k, "name")}</strong> " · " <code>{text(&k, "prefix")}</code> " · " {scopes}
                                " · " {t("account.key_used")} " " {locale.when(&k, "last_used_at")}
                                {if revoked {
                                    view! { " · " <span class="tag">{t("account.key_revoked")}</span> }.into_any()
                                } else {
                                    view! { <Show when=may_write>
                                        " " <button type="button" class="link" on:click={let id = id.clone(); move |_| revoke(id.clone())}>
                                            {t("members.revoke")}</button>
                                    </Show> }.into_any()
                                }}
                            </li>
                        }
                    }).collect_view()}</ul> }.into_any()
                })}
            <Show when=may_write>
                <form class="form" on:submit=submit.clone() novalidate>
                    <h3>{t("account.key_new")}</h3>
                    <TextField label=t("field.name") id="key-name" field="name" value=name problem=problem/>
                    <fieldset class="checks" aria-describedby="key-scopes-error">
                        <legend>{t("account.key_scopes")}</legend>
                        {scopes.clone().into_iter().map(|(scope, on)| {
                            let id = format!("scope-{}", scope.replace(':', "-"));
                            let for_id = id.clone();
                            view! {
                                <label class="check" for=for_id>
                                    <input type="checkbox" id=id prop:checked=move || on.get()
                                        on:change=move |ev| on.set(event_target_checked(&ev))/>
                                    {scope}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <p class="field-error" id="key-scopes-error" aria-live="polite">{move || problem.get().field("scopes").unwrap_or_default()}</p>
                    <FormError problem=problem/>
                    <Submit pending=pending label=t("account.key_create")/>
                </form>
            </Show>
        </section>
    }
}
