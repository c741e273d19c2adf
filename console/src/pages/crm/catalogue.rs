//! The catalogue and the campaigns: products with their prices (added, paused,
//! archived) and campaigns with the results counted from their leads and deals.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::crm::campaign::{CampaignFields, CampaignKind, CampaignStatus};
use shared::crm::product::{BillingInterval, ProductFields, ProductKind};
use shared::kernel::money::{Currency, Money};

use super::{firm_currency, fresh_key, locale, may_write, money};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{
    items, loaded, row_action, send_form, table_of, FormError, SelectField, Status, Submit,
    TextField,
};

/// Names of a closed set as (value, label) choices.
fn choices(names: impl Iterator<Item = &'static str>) -> Vec<(String, String)> {
    names.map(|n| (n.to_owned(), n.replace('_', " "))).collect()
}

/// An amount typed in major units into `body[key]` (minor units), or the problem
/// naming `key`.
fn amount_into(
    body: &mut Value,
    key: &str,
    typed: &str,
    currency: &str,
    label: &'static str,
) -> Result<(), Problem> {
    let parsed =
        Currency::parse("currency", currency).and_then(|c| Money::parse_major(label, typed, c));
    match (parsed, body.as_object_mut()) {
        (Ok(m), Some(o)) => {
            o.insert(key.to_owned(), json!(m.minor));
            Ok(())
        }
        (Err(e), _) => Err(Problem::checked_at(key, e)),
        (Ok(_), None) => Ok(()),
    }
}

/// Sets the `status` of the record at `path` from a row of its list.
fn patch_status(path: String, to: String, problem: RwSignal<Problem>, refresh: RwSignal<u32>) {
    row_action(
        async move { api::call("PATCH", &path, Some(&json!({"status": to}))).await },
        problem,
        refresh,
    );
}

#[component]
pub fn Catalogue() -> impl IntoView {
    view! {
        <div class="heading">
            <h1>{t("crm.catalogue")}</h1>
            <a href="/crm/leads">{t("crm.leads")}</a>
            <a href="/crm/pipeline">{t("crm.board")}</a>
        </div>
        <Products/>
        <Campaigns/>
    }
}

#[component]
fn Products() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let products = LocalResource::new(move || {
        refresh.track();
        api::call("GET", "/v1/crm/products?limit=100", None)
    });
    let row_problem = RwSignal::new(Problem::default());
    let set_status = move |id: String, to: &'static str| {
        patch_status(
            format!("/v1/crm/products/{id}"),
            to.to_owned(),
            row_problem,
            refresh,
        );
    };
    let may = may_write();
    view! {
        <section aria-labelledby="products-title">
            <h2 id="products-title">{t("crm.products")}</h2>
            <Show when=may>
                <NewProduct on_created=move || refresh.update(|n| *n += 1)/>
            </Show>
            <p class="form-error" role="alert">{move || row_problem.get().detail}</p>
            {move || loaded(products.get(), |answer| {
                let locale = locale();
                let headers = [t("crm.code"), t("field.name"), t("crm.kind"), t("crm.unit_price"), t("crm.status"), t("crm.actions")];
                table_of(t("crm.products"), t("crm.no_products"), &headers, items(&answer), |p| {
                    let id = text(&p, "id");
                    let status = text(&p, "status");
                    let name = text(&p, "name");
                    let interval = text(&p, "billing_interval");
                    let (to, key) = if status == "active" { ("archived", "crm.archive") } else { ("active", "crm.offer_again") };
                    let label = format!("{} {name}", t(key));
                    view! {
                        <tr class:faded=status != "active">
                            <td>{text(&p, "code")}</td>
                            <td>{name.clone()}</td>
                            <td>{text(&p, "kind")}</td>
                            <td>{money(&locale, &p, "unit_price_minor", "currency")}
                                {(!interval.is_empty()).then(|| view! { " / " {interval.clone()} })}</td>
                            <td>{status.clone()}</td>
                            <td><Show when=may>
                                <button type="button" class="secondary" aria-label=label.clone()
                                    on:click={ let id = id.clone(); move |_| set_status(id.clone(), to) }>{t(key)}</button>
                            </Show></td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

#[component]
fn NewProduct(on_created: impl Fn() + Copy + 'static) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("service".to_owned());
    let interval = RwSignal::new("month".to_owned());
    let price = RwSignal::new(String::new());
    let currency = firm_currency();
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let key = RwSignal::new(fresh_key());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = json!({"code": code.get_untracked().trim(), "name": name.get_untracked().trim(),
                              "kind": kind.get_untracked(), "currency": currency.get_untracked().trim()});
        if kind.get_untracked() == "subscription" {
            if let Some(o) = body.as_object_mut() {
                o.insert(
                    "billing_interval".to_owned(),
                    json!(interval.get_untracked()),
                );
            }
        }
        if let Err(p) = amount_into(
            &mut body,
            "unit_price_minor",
            &price.get_untracked(),
            &currency.get_untracked(),
            t("crm.unit_price"),
        ) {
            problem.set(p);
            return;
        }
        let checked =
            ProductFields::parse(&body, true).and_then(|f| f.apply(None, "prd_new", 0).map(|_| ()));
        if let Err(e) = checked {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let idem = key.get_untracked();
        send_form(
            pending,
            problem,
            async move { api::call_idempotent("POST", "/v1/crm/products", &body, &idem).await },
            move |made| {
                for s in [code, name, price] {
                    s.set(String::new());
                }
                key.set(fresh_key());
                status.set(format!(
                    "{} {}",
                    t("crm.product_created"),
                    text(&made, "code")
                ));
                on_created();
            },
        );
    };
    view! {
        <details class="card">
            <summary>{t("crm.new_product")}</summary>
            <form class="form" on:submit=submit novalidate>
                <TextField label=t("crm.code") id="product-code" field="code" value=code problem=problem hint=t("crm.code_hint")/>
                <TextField label=t("field.name") id="product-name" field="name" value=name problem=problem/>
                <SelectField label=t("crm.kind") id="product-kind" field="kind" value=kind problem=problem
                    options=choices(ProductKind::ALL.iter().map(|k| k.name()))/>
                <Show when=move || kind.get() == "subscription">
                    <SelectField label=t("crm.billing_interval") id="product-interval" field="billing_interval" value=interval problem=problem
                        options=choices(BillingInterval::ALL.iter().map(|b| b.name()))/>
                </Show>
                <TextField label=t("crm.unit_price") id="product-price" field="unit_price_minor" value=price problem=problem/>
                <TextField label=t("crm.currency") id="product-currency" field="currency" value=currency problem=problem/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_product")/>
                <Status text=status/>
            </form>
        </details>
    }
}

#[component]
fn Campaigns() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let campaigns = LocalResource::new(move || {
        refresh.track();
        api::call("GET", "/v1/crm/campaigns?limit=100", None)
    });
    let row_problem = RwSignal::new(Problem::default());
    let move_to = move |id: String, to: String| {
        patch_status(format!("/v1/crm/campaigns/{id}"), to, row_problem, refresh);
    };
    let may = may_write();
    view! {
        <section aria-labelledby="campaigns-title">
            <h2 id="campaigns-title">{t("crm.campaigns")}</h2>
            <Show when=may>
                <NewCampaign on_created=move || refresh.update(|n| *n += 1)/>
            </Show>
            <p class="form-error" role="alert">{move || row_problem.get().detail}</p>
            {move || loaded(campaigns.get(), |answer| {
                let locale = locale();
                let headers = [t("field.name"), t("crm.status"), t("crm.term"), t("crm.campaign_leads"), t("crm.campaign_won"), t("crm.cost_per_lead"), t("crm.roi")];
                table_of(t("crm.campaigns"), t("crm.no_campaigns"), &headers, items(&answer), |c| {
                    let id = text(&c, "id");
                    let status = text(&c, "status");
                    // The results with the campaign's currency beside them.
                    let mut r = c.get("results").cloned().unwrap_or_default();
                    if let Some(o) = r.as_object_mut() {
                        o.insert("currency".to_owned(), c.get("currency").cloned().unwrap_or_default());
                    }
                    let n = |k: &str| r.get(k).and_then(Value::as_i64).unwrap_or(0);
                    let roi = r.get("roi_percent").and_then(Value::as_f64).map_or_else(|| "—".to_owned(), |v| format!("{v:+.1} %"));
                    let per_lead = money(&locale, &r, "cost_per_lead_minor", "currency");
                    let won = money(&locale, &r, "won_minor", "currency");
                    let current = CampaignStatus::parse("status", &status).ok();
                    let next: Vec<(String, String)> = CampaignStatus::ALL.iter().filter(|s| current.is_some_and(|c| c.may_become(**s))).map(|s| (s.name().to_owned(), s.name().to_owned())).collect();
                    let select_id = format!("campaign-status-{id}");
                    let label = format!("{} {}", t("crm.status"), text(&c, "name"));
                    view! {
                        <tr>
                            <td>{text(&c, "name")}</td>
                            <td>{move || if may() && next.len() > 1 {
                                let (id, status) = (id.clone(), status.clone());
                                view! {
                                    <select id=select_id.clone() aria-label=label.clone() on:change=move |ev| move_to(id.clone(), event_target_value(&ev))>
                                        {next.iter().map(|(v, l)| { let selected = *v == status; view! { <option value=v.clone() selected=selected>{l.clone()}</option> } }).collect_view()}
                                    </select>
                                }.into_any()
                            } else { view! { <span>{status.clone()}</span> }.into_any() }}</td>
                            <td>{text(&c, "start_on")} " – " {text(&c, "end_on")}</td>
                            <td>{n("leads")} " (" {n("qualified_leads")} " " {t("crm.qualified_short")} ")"</td>
                            <td>{n("deals_won")} " · " {won}</td>
                            <td>{per_lead}</td>
                            <td>{roi}</td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

#[component]
fn NewCampaign(on_created: impl Fn() + Copy + 'static) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("webinar".to_owned());
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let budget = RwSignal::new(String::new());
    let currency = firm_currency();
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let key = RwSignal::new(fresh_key());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = json!({"name": name.get_untracked().trim(), "kind": kind.get_untracked(),
                              "start_on": start.get_untracked().trim(), "end_on": end.get_untracked().trim(),
                              "currency": currency.get_untracked().trim()});
        if let Err(p) = amount_into(
            &mut body,
            "budget_minor",
            &budget.get_untracked(),
            &currency.get_untracked(),
            t("crm.budget"),
        ) {
            problem.set(p);
            return;
        }
        if let Err(e) = CampaignFields::parse(&body, true) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let idem = key.get_untracked();
        send_form(
            pending,
            problem,
            async move { api::call_idempotent("POST", "/v1/crm/campaigns", &body, &idem).await },
            move |made| {
                for s in [name, start, end, budget] {
                    s.set(String::new());
                }
                key.set(fresh_key());
                status.set(format!(
                    "{} {}",
                    t("crm.campaign_created"),
                    text(&made, "name")
                ));
                on_created();
            },
        );
    };
    view! {
        <details class="card">
            <summary>{t("crm.new_campaign")}</summary>
            <form class="form" on:submit=submit novalidate>
                <TextField label=t("field.name") id="campaign-name" field="name" value=name problem=problem/>
                <SelectField label=t("crm.kind") id="campaign-kind" field="kind" value=kind problem=problem
                    options=choices(CampaignKind::ALL.iter().map(|k| k.name()))/>
                <TextField label=t("crm.start_on") id="campaign-start" field="start_on" value=start problem=problem kind="date"/>
                <TextField label=t("crm.end_on") id="campaign-end" field="end_on" value=end problem=problem kind="date"/>
                <TextField label=t("crm.budget") id="campaign-budget" field="budget_minor" value=budget problem=problem/>
                <TextField label=t("crm.currency") id="campaign-currency" field="currency" value=currency problem=problem/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_campaign")/>
                <Status text=status/>
            </form>
        </details>
    }
}
