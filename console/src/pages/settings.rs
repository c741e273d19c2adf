//! The firm's settings: name, zone, currency, locale, fiscal year and brand
//! colour (changed against the version read), and the logo (uploaded with a
//! progress bar, then made the firm's).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Map, Value};
use shared::auth::roles::{Access, Area};
use shared::firm::settings::FirmPatch;
use shared::kernel::money::{Currency, Money};

use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::session;
use crate::ui::{send_form, FormError, Locale, SelectField, Status, Submit, TextField};

const FIELDS: [&str; 5] = ["name", "timezone", "currency", "locale", "brand_color"];

#[component]
pub fn Settings() -> impl IntoView {
    let me = session::me();
    let values: Vec<(&'static str, RwSignal<String>)> = FIELDS
        .iter()
        .map(|f| (*f, RwSignal::new(String::new())))
        .collect();
    let value = {
        let values = values.clone();
        move |field: &str| {
            values
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, s)| *s)
                .unwrap_or_else(|| RwSignal::new(String::new()))
        }
    };
    let month = RwSignal::new("1".to_owned());
    let firm = RwSignal::new(None::<Value>);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let fill = {
        let values = values.clone();
        move |f: &Value| {
            for (field, signal) in &values {
                signal.set(text(f, field));
            }
            month.set(
                f.get("fiscal_year_start_month")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
                    .to_string(),
            );
            firm.set(Some(f.clone()));
        }
    };
    {
        let fill = fill.clone();
        leptos::task::spawn_local(async move {
            match api::call("GET", "/v1/firm", None).await {
                Ok(f) => fill(&f),
                Err(p) => problem.set(p),
            }
        });
    }
    let submit = {
        let values = values.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let Some(before) = firm.get_untracked() else {
                return;
            };
            // Only what changed is sent.
            let mut body = Map::new();
            for (field, signal) in &values {
                let typed = signal.get_untracked().trim().to_owned();
                if typed != text(&before, field) {
                    let v = if *field == "brand_color" && typed.is_empty() {
                        Value::Null
                    } else {
                        json!(typed)
                    };
                    body.insert((*field).to_owned(), v);
                }
            }
            let m: i64 = month.get_untracked().parse().unwrap_or(1);
            if Some(m)
                != before
                    .get("fiscal_year_start_month")
                    .and_then(Value::as_i64)
            {
                body.insert("fiscal_year_start_month".into(), json!(m));
            }
            let body = Value::Object(body);
            if body.as_object().is_some_and(Map::is_empty) {
                status.set(t("settings.unchanged").to_owned());
                return;
            }
            if let Err(e) = FirmPatch::parse(&body) {
                problem.set(Problem::checked(vec![e]));
                return;
            }
            let tag = text(&before, "etag");
            let fill = fill.clone();
            status.set(String::new());
            send_form(
                pending,
                problem,
                async move { api::call_if_match("PATCH", "/v1/firm", &body, &tag).await },
                move |f| {
                    fill(&f);
                    status.set(t("form.saved").to_owned());
                },
            );
        }
    };
    let may_write = move || {
        me.get()
            .is_some_and(|m| m.may(Area::Settings, Access::Write))
    };
    let months: Vec<(String, String)> = (1..=12)
        .map(|m| {
            (
                m.to_string(),
                month_name(
                    m,
                    &me.get_untracked().map(|m| m.locale.tag).unwrap_or_default(),
                ),
            )
        })
        .collect();
    let brand = value("brand_color");
    let (tag, zone, currency) = (value("locale"), value("timezone"), value("currency"));
    // How the typed locale, zone and currency write an amount and this moment.
    let preview = move || {
        let code = Currency::parse("currency", currency.get().trim()).ok()?;
        let amount = Money::new(123_456_789, code).ok()?;
        let locale = Locale {
            tag: tag.get().trim().to_owned(),
            timezone: zone.get().trim().to_owned(),
            currency: code.code().to_owned(),
        };
        #[allow(clippy::cast_possible_truncation)] // ms since 1970 fit i64
        let now = js_sys::Date::now() as i64;
        Some(format!(
            "{} · {}",
            locale.money(amount),
            locale.date_time(now)
        ))
    };
    view! {
        <h1>{t("settings.title")}</h1>
        <form class="card form" on:submit=submit novalidate>
            <h2>{t("settings.organisation")}</h2>
            <fieldset disabled=move || !may_write()>
                <TextField label=t("field.firm_name") id="firm-name" field="name" value=value("name") problem=problem/>
                <TextField label=t("field.timezone") id="firm-timezone" field="timezone" value=value("timezone") problem=problem
                    hint=t("settings.timezone_hint")/>
                <TextField label=t("field.currency") id="firm-currency" field="currency" value=value("currency") problem=problem
                    hint=t("settings.currency_hint")/>
                <TextField label=t("field.locale") id="firm-locale" field="locale" value=value("locale") problem=problem
                    hint=t("settings.locale_hint")/>
                <p class="hint" id="firm-format-preview" aria-live="polite">
                    {t("settings.preview")} " " <span class="preview">{preview}</span>
                </p>
                <SelectField label=t("field.fiscal_year") id="firm-fiscal" field="fiscal_year_start_month" value=month
                    problem=problem options=months/>
                <TextField label=t("field.brand_color") id="firm-brand" field="brand_color" value=brand problem=problem
                    hint=t("settings.brand_hint")/>
                <div class="swatch" aria-hidden="true"
                    style=move || format!("background:{}", if brand.get().is_empty() { "var(--accent)".to_owned() } else { brand.get() })>
                    {t("settings.brand_sample")}
                </div>
            </fieldset>
            <FormError problem=problem/>
            <Status text=status/>
            <Show when=may_write>
                <Submit pending=pending label=t("form.save")/>
            </Show>
        </form>
        <Logo may_write=Signal::derive(may_write)/>
    }
}

/// A month's name in the firm's locale.
fn month_name(month: u32, locale: &str) -> String {
    let date =
        js_sys::Date::new_with_year_month_day(2026, i32::try_from(month).unwrap_or(1) - 1, 15);
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"month".into(), &"long".into());
    let tag = if locale.is_empty() { "en-US" } else { locale };
    String::from(date.to_locale_date_string(tag, &options))
}

/// The firm's logo: shown, replaced by an upload with progress, or removed.
#[component]
fn Logo(may_write: Signal<bool>) -> impl IntoView {
    let version = RwSignal::new(0);
    let branding = LocalResource::new(move || {
        version.get();
        api::call("GET", "/v1/firm/branding", None)
    });
    let progress = RwSignal::new(None::<f64>);
    let problem = RwSignal::new(Problem::default());
    let status = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let chosen = NodeRef::<leptos::html::Input>::new();
    let upload = move |ev: SubmitEvent| {
        ev.prevent_default();
        let file = chosen
            .get()
            .and_then(|input| input.files())
            .and_then(|files| files.get(0));
        let Some(file) = file else {
            problem.set(Problem::refused("file", t("settings.logo_choose")));
            return;
        };
        #[allow(clippy::cast_possible_truncation)] // sizes are whole bytes
        let declaration = json!({"name": file.name(), "media_type": file.type_(),
                                  "size": file.size() as i64, "usage": "logo"});
        progress.set(Some(0.0));
        status.set(String::new());
        let sent = async move {
            let declared = api::call("POST", "/v1/files", Some(&declaration)).await?;
            let id = text(&declared, "id");
            api::upload(&format!("/v1/files/{id}/content"), &file, move |share| {
                progress.set(Some(share));
            })
            .await?;
            api::call(
                "PUT",
                "/v1/firm/branding/logo",
                Some(&json!({"file_id": id})),
            )
            .await
        };
        send_form(pending, problem, sent, move |_| {
            progress.set(None);
            status.set(t("settings.logo_saved").to_owned());
            version.update(|v| *v += 1);
        });
    };
    Effect::new(move |_| {
        if problem.get().status != 0 || !problem.get().fields.is_empty() {
            progress.set(None);
        }
    });
    let remove = move |_| {
        send_form(
            pending,
            problem,
            async move { api::call("DELETE", "/v1/firm/branding/logo", None).await },
            move |_| {
                status.set(t("settings.logo_removed").to_owned());
                version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <form class="card form" on:submit=upload novalidate>
            <h2>{t("settings.logo")}</h2>
            {move || branding.get().map(|answer| match answer {
                Ok(b) => match b.get("logo").filter(|l| !l.is_null()) {
                    Some(logo) => match logo.get("url").and_then(Value::as_str) {
                        Some(url) => view! { <img class="logo" src=url.to_owned() alt=t("settings.logo_alt")/> }.into_any(),
                        None => view! { <p>{t("settings.logo_scanning")}</p> }.into_any(),
                    },
                    None => view! { <p>{t("settings.logo_none")}</p> }.into_any(),
                },
                Err(p) => view! { <p class="form-error">{p.detail}</p> }.into_any(),
            })}
            <Show when=move || may_write.get()>
                <label for="logo-file">{t("settings.logo_file")}</label>
                <p class="hint" id="logo-file-hint">{t("settings.logo_hint")}</p>
                <input id="logo-file" type="file" accept="image/png,image/jpeg,image/webp,image/gif" node_ref=chosen
                    aria-describedby="logo-file-hint logo-file-error"
                    aria-invalid=move || if problem.get().field("file").is_some() { "true" } else { "false" }/>
                <p class="field-error" id="logo-file-error" aria-live="polite">
                    {move || problem.get().field("file").or_else(|| problem.get().field("size"))
                        .or_else(|| problem.get().field("media_type")).or_else(|| problem.get().field("name"))
                        .or_else(|| problem.get().field("file_id")).unwrap_or_default()}
                </p>
                {move || progress.get().map(|share| view! {
                    <progress max="100" value=(share * 100.0).round().to_string() aria-label=t("settings.logo_progress")></progress>
                })}
                <FormError problem=problem/>
                <Status text=status/>
                <Submit pending=pending label=t("settings.logo_upload") working=t("settings.logo_uploading")/>
                <button type="button" class="secondary" on:click=remove>{t("settings.logo_remove")}</button>
            </Show>
        </form>
    }
}
