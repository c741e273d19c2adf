//! The pieces every screen is built from: labelled fields with their error line,
//! the form's own message, sending a form without double submits, paging, and
//! formatting in the firm's locale and time zone.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::Problem;
use crate::messages::t;

/// A labelled input with its error line beside it, tied by id
/// (`aria-describedby`, `aria-invalid`). `field` is the request's field path the
/// server names in its problem (`owner.email`).
#[component]
pub fn TextField(
    label: &'static str,
    #[prop(into)] id: String,
    #[prop(into)] field: String,
    value: RwSignal<String>,
    problem: RwSignal<Problem>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = if hint.is_some() {
        format!("{hint_id} {error_id}")
    } else {
        error_id.clone()
    };
    let shown = field.clone();
    view! {
        <label for=id.clone()>{label}</label>
        {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{h}</p> })}
        <input id=id.clone() name=id type=kind autocomplete=autocomplete
            aria-describedby=described
            aria-invalid=move || if problem.get().field(&field).is_some() { "true" } else { "false" }
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))/>
        <p class="field-error" id=error_id aria-live="polite">
            {move || problem.get().field(&shown).unwrap_or_default()}
        </p>
    }
}

/// A labelled choice among `options` (value, label), with its error line.
#[component]
pub fn SelectField(
    label: &'static str,
    #[prop(into)] id: String,
    #[prop(into)] field: String,
    value: RwSignal<String>,
    problem: RwSignal<Problem>,
    options: Vec<(String, String)>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let shown = field.clone();
    view! {
        <label for=id.clone()>{label}</label>
        <select id=id.clone() name=id aria-describedby=error_id.clone()
            aria-invalid=move || if problem.get().field(&field).is_some() { "true" } else { "false" }
            on:change=move |ev| value.set(event_target_value(&ev))>
            {options.into_iter().map(|(v, l)| {
                let selected_value = v.clone();
                view! { <option value=v selected=move || value.get() == selected_value>{l}</option> }
            }).collect_view()}
        </select>
        <p class="field-error" id=error_id aria-live="polite">
            {move || problem.get().field(&shown).unwrap_or_default()}
        </p>
    }
}

/// A typed second factor as the API takes it: six digits are an authenticator's
/// (or a text message's) `code`, anything else a `recovery_code`.
pub fn second_factor(typed: &str) -> Value {
    let typed = typed.trim();
    if typed.len() == 6 && typed.bytes().all(|b| b.is_ascii_digit()) {
        serde_json::json!({ "code": typed })
    } else {
        serde_json::json!({ "recovery_code": typed })
    }
}

/// The form's own message: the problem's sentence when it names no field. When
/// the server asks for a fresh second factor, the code is asked for here and
/// proved; the person then sends the form again, with everything still typed.
#[component]
pub fn FormError(problem: RwSignal<Problem>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let step_problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let done = RwSignal::new(String::new());
    let prove = move |_| {
        let body = second_factor(&code.get_untracked());
        send_form(
            pending,
            step_problem,
            async move { crate::api::call("POST", "/v1/auth/mfa/step-up", Some(&body)).await },
            move |_| {
                code.set(String::new());
                problem.set(Problem::default());
                done.set(t("step_up.done").to_owned());
            },
        );
    };
    view! {
        <p class="form-error" role="alert">
            {move || {
                let p = problem.get();
                if p.fields.is_empty() { p.detail } else { String::new() }
            }}
        </p>
        <Show when=move || problem.get().kind == "step-up-required">
            <div class="step-up">
                <TextField label=t("step_up.code") id="step-up-code" field="code" value=code problem=step_problem
                    autocomplete="one-time-code"/>
                <p class="form-error" role="alert">{move || { let p = step_problem.get(); if p.fields.is_empty() { p.detail } else { String::new() } }}</p>
                <button type="button" on:click=prove disabled=move || pending.get()>{t("step_up.submit")}</button>
            </div>
        </Show>
        <p class="step-up-done" role="status">{move || done.get()}</p>
    }
}

/// A table that scrolls sideways on a narrow screen. The scrolling box is a
/// labelled region that takes focus, so a keyboard can scroll it too.
#[component]
pub fn TableScroll(label: &'static str, children: Children) -> impl IntoView {
    view! { <div class="table-wrap" tabindex="0" role="region" aria-label=label>{children()}</div> }
}

/// A polite status line (saved, sent …); empty when `text` is.
#[component]
pub fn Status(text: RwSignal<String>) -> impl IntoView {
    view! { <p class="notice" role="status">{move || text.get()}</p> }
}

/// Sends a form's request: the button shows progress meanwhile, the last problem
/// is cleared, and the answer goes to `done` or the problem beside the fields.
/// A second submit while one is on its way is ignored.
pub fn send_form(
    pending: RwSignal<bool>,
    problem: RwSignal<Problem>,
    request: impl std::future::Future<Output = Result<Value, Problem>> + 'static,
    done: impl FnOnce(Value) + 'static,
) {
    if pending.get_untracked() {
        return;
    }
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

/// Sends a row's action (tick, turn off, remove): its refusal goes to `problem`
/// (shown above the list), and `refresh` ticks either way so the list shows what
/// the server now holds.
pub fn row_action(
    request: impl std::future::Future<Output = Result<Value, Problem>> + 'static,
    problem: RwSignal<Problem>,
    refresh: RwSignal<u32>,
) {
    leptos::task::spawn_local(async move {
        match request.await {
            Ok(_) => problem.set(Problem::default()),
            Err(p) => problem.set(p),
        }
        refresh.update(|n| *n += 1);
    });
}

/// `rows` as a table labelled `label` (a message key's text), a column header per
/// entry of `headers`, each row drawn by `row`; the `empty` sentence when there
/// are none.
pub fn table_of(
    label: &'static str,
    empty: &'static str,
    headers: &[&'static str],
    rows: Vec<Value>,
    row: impl Fn(Value) -> AnyView,
) -> AnyView {
    if rows.is_empty() {
        return view! { <p role="status">{empty}</p> }.into_any();
    }
    let head = headers
        .iter()
        .map(|h| view! { <th scope="col">{*h}</th> })
        .collect_view();
    let body = rows.into_iter().map(row).collect_view();
    view! {
        <TableScroll label=label>
        <table>
            <caption class="visually-hidden">{label}</caption>
            <thead><tr>{head}</tr></thead>
            <tbody>{body}</tbody>
        </table>
        </TableScroll>
    }
    .into_any()
}

/// A submit button that says it is working and refuses a second press meanwhile.
#[component]
pub fn Submit(
    pending: RwSignal<bool>,
    #[prop(into)] label: Signal<&'static str>,
    #[prop(default = "")] working: &'static str,
) -> impl IntoView {
    let working = if working.is_empty() {
        t("form.working")
    } else {
        working
    };
    view! {
        <button type="submit" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { working } else { label.get() }}
        </button>
    }
}

/// Cursor paging over a list: the cursors of the pages before (to go back) and
/// the one after (from the answer's `next_cursor`).
#[derive(Clone, Copy)]
pub struct Pager {
    /// The cursor of the page shown (`None`: the first).
    pub cursor: RwSignal<Option<String>>,
    back: RwSignal<Vec<Option<String>>>,
    /// The answer's `next_cursor`.
    pub next: RwSignal<Option<String>>,
}

impl Pager {
    /// A pager on its first page.
    pub fn new() -> Self {
        Self {
            cursor: RwSignal::new(None),
            back: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
        }
    }

    /// Back to the first page (the filter changed).
    pub fn reset(&self) {
        self.back.set(Vec::new());
        self.cursor.set(None);
    }

    /// Reads `next_cursor` from a page answer.
    pub fn saw(&self, page: &Value) {
        self.next.set(
            page.get("next_cursor")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
    }
}

/// Previous and next buttons of a [`Pager`].
#[component]
pub fn PagerNav(pager: Pager) -> impl IntoView {
    let previous = move |_| {
        let mut back = pager.back.get_untracked();
        if let Some(cursor) = back.pop() {
            pager.back.set(back);
            pager.cursor.set(cursor);
        }
    };
    let next = move |_| {
        if let Some(next) = pager.next.get_untracked() {
            pager.back.update(|b| b.push(pager.cursor.get_untracked()));
            pager.cursor.set(Some(next));
        }
    };
    view! {
        <nav class="pager" aria-label=t("paging.label")>
            <button type="button" class="secondary" on:click=previous
                disabled=move || pager.back.get().is_empty()>{t("paging.previous")}</button>
            <button type="button" class="secondary" on:click=next
                disabled=move || pager.next.get().is_none()>{t("paging.next")}</button>
        </nav>
    }
}

/// A request's answer as a screen shows it: a loading line until it arrives, the
/// problem if it was refused, else what `ok` makes of it.
pub fn loaded(
    answer: Option<Result<Value, Problem>>,
    ok: impl FnOnce(Value) -> AnyView,
) -> AnyView {
    match answer {
        None => view! { <p role="status">{t("app.loading")}</p> }.into_any(),
        Some(Err(p)) => view! { <p class="form-error" role="alert">{p.detail}</p> }.into_any(),
        Some(Ok(value)) => ok(value),
    }
}

/// The items of a page answer (`items`), or of a plain list.
pub fn items(answer: &Value) -> Vec<Value> {
    answer
        .get("items")
        .or(Some(answer))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Where and how the firm formats dates, numbers and money.
#[derive(Clone, Debug, PartialEq)]
pub struct Locale {
    /// BCP 47 tag (`en-GB`).
    pub tag: String,
    /// IANA zone.
    pub timezone: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl Default for Locale {
    fn default() -> Self {
        Self {
            tag: "en-US".to_owned(),
            timezone: "UTC".to_owned(),
            currency: "USD".to_owned(),
        }
    }
}

fn options(pairs: &[(&str, &str)]) -> js_sys::Object {
    let object = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&object, &(*k).into(), &(*v).into());
    }
    object
}

/// `new Intl[kind](tag, options).format(value)`, or `None` when the browser
/// refuses the tag, zone or currency (a constructor that throws must not abort
/// the page: every step goes through a call that catches).
fn intl_format(
    kind: &str,
    tag: &str,
    pairs: &[(&str, &str)],
    value: &wasm_bindgen::JsValue,
) -> Option<String> {
    use wasm_bindgen::JsCast;
    let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let constructor: js_sys::Function = js_sys::Reflect::get(&intl, &kind.into())
        .ok()?
        .dyn_into()
        .ok()?;
    let arguments = js_sys::Array::of2(&tag.into(), &options(pairs).into());
    let formatter = js_sys::Reflect::construct(&constructor, &arguments).ok()?;
    let format: js_sys::Function = js_sys::Reflect::get(&formatter, &"format".into())
        .ok()?
        .dyn_into()
        .ok()?;
    format.call1(&formatter, value).ok()?.as_string()
}

impl Locale {
    /// A Unix-ms instant as a date and time in the firm's zone.
    pub fn date_time(&self, ms: i64) -> String {
        #[allow(clippy::cast_precision_loss)] // ms since 1970 fit f64 exactly
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        intl_format(
            "DateTimeFormat",
            &self.tag,
            &[
                ("dateStyle", "medium"),
                ("timeStyle", "short"),
                ("timeZone", &self.timezone),
            ],
            &date,
        )
        .unwrap_or_else(|| String::from(date.to_iso_string()))
    }

    /// The date and time at `key` of `value` (Unix ms), or "—".
    pub fn when(&self, value: &Value, key: &str) -> String {
        value
            .get(key)
            .and_then(Value::as_i64)
            .map_or_else(|| "—".to_owned(), |ms| self.date_time(ms))
    }

    /// A count with the locale's grouping (1,234 or 1 234).
    pub fn number(&self, n: i64) -> String {
        #[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
        let value = wasm_bindgen::JsValue::from_f64(n as f64);
        intl_format("NumberFormat", &self.tag, &[], &value).unwrap_or_else(|| n.to_string())
    }

    /// An amount in its currency as the locale writes it (1 234,56 €). The
    /// decimal travels as text, so no amount passes through a float.
    pub fn money(&self, amount: shared::kernel::money::Money) -> String {
        let decimal = amount.to_decimal().to_string();
        intl_format(
            "NumberFormat",
            &self.tag,
            &[("style", "currency"), ("currency", amount.currency.code())],
            &wasm_bindgen::JsValue::from_str(&decimal),
        )
        .unwrap_or_else(|| format!("{decimal} {}", amount.currency.code()))
    }
}
