//! A deal's contracts: the list with each one's number, status, value and term;
//! a new one drawn from an accepted proposal or written by hand; signing (who
//! signed for the client), then hold, resume, complete or terminate (with a
//! reason).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::crm::contract::{ContractFields, Signature};
use shared::crm::lead::parse_reason;
use shared::kernel::money::{Currency, Money};

use super::{locale, may_write, money};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{
    items, loaded, send_form, table_of, FormError, SelectField, Status, Submit, TextField,
};

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => t("crm.contract_active"),
        "on_hold" => t("crm.contract_on_hold"),
        "completed" => t("crm.contract_completed"),
        "terminated" => t("crm.contract_terminated"),
        _ => t("crm.contract_draft"),
    }
}

/// Today in the browser, for checking a signature's day before sending it.
fn today() -> chrono::NaiveDate {
    let d = js_sys::Date::new_0();
    chrono::NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
        .unwrap_or_default()
}

/// The contracts of deal `deal_id`, whose amounts are in `currency`.
#[component]
pub fn Contracts(deal_id: String, currency: Memo<String>) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let path = format!("/v1/crm/deals/{deal_id}/contracts");
    let contracts = LocalResource::new({
        let path = path.clone();
        move || {
            refresh.track();
            let path = path.clone();
            async move { api::call("GET", &path, None).await }
        }
    });
    let proposals = LocalResource::new({
        let path = format!("/v1/crm/deals/{deal_id}/proposals");
        move || {
            refresh.track();
            let path = path.clone();
            async move { api::call("GET", &path, None).await }
        }
    });
    // A step on a contract; signing and terminating ask for more first.
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let notice = RwSignal::new(String::new());
    let asking = RwSignal::new(None::<(String, &'static str)>);
    let answer = RwSignal::new(String::new());
    let step = move |id: String, step: &'static str, body: Value| {
        send_form(
            pending,
            problem,
            async move {
                api::call(
                    "POST",
                    &format!("/v1/crm/contracts/{id}/{step}"),
                    Some(&body),
                )
                .await
            },
            move |c| {
                asking.set(None);
                answer.set(String::new());
                notice.set(format!(
                    "{} — {}",
                    text(&c, "number"),
                    status_label(&text(&c, "status"))
                ));
                refresh.update(|n| *n += 1);
            },
        );
    };
    let confirm = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some((id, which)) = asking.get_untracked() else {
            return;
        };
        let typed = answer.get_untracked();
        let body = if which == "sign" {
            json!({"signed_by": typed.trim()})
        } else {
            json!({"reason": typed.trim()})
        };
        let checked = if which == "sign" {
            Signature::parse(&body, today()).map(|_| ())
        } else {
            parse_reason(&body).map(|_| ())
        };
        if let Err(e) = checked {
            // The one field here stands for signed_by or reason.
            problem.set(Problem::checked_at("answer", e));
            return;
        }
        step(id, which, body);
    };
    let may = may_write();
    view! {
        <section aria-labelledby="contracts-title">
            <h2 id="contracts-title">{t("crm.contracts")}</h2>
            <Show when=may>
                <NewContract path=path.clone() currency=currency proposals=proposals on_created=move || refresh.update(|n| *n += 1)/>
            </Show>
            <Status text=notice/>
            {move || asking.get().map(|(_, which)| view! {
                <form class="card form" on:submit=confirm novalidate>
                    <TextField label=if which == "sign" { t("crm.signed_by") } else { t("crm.termination_reason") }
                        id="contract-answer" field="answer" value=answer problem=problem/>
                    <Submit pending=pending label=if which == "sign" { t("crm.record_signature") } else { t("crm.terminate") }/>
                    <button type="button" class="secondary" on:click=move |_| asking.set(None)>{t("crm.cancel")}</button>
                </form>
            })}
            <FormError problem=problem/>
            {move || loaded(contracts.get(), |answer_list| {
                let locale = locale();
                let headers = [t("crm.contract_number"), t("crm.proposal_title"), t("crm.status"), t("crm.total"), t("crm.term"), t("crm.actions")];
                table_of(t("crm.contracts"), t("crm.no_contracts"), &headers, items(&answer_list), |c| {
                    let id = text(&c, "id");
                    let status = text(&c, "status");
                    let number = text(&c, "number");
                    let signed = text(&c, "signed_by");
                    let button = move |which: &'static str, key: &'static str| {
                        let id = id.clone();
                        let label = format!("{} {}", t(key), number);
                        view! {
                            <button type="button" class="secondary" aria-label=label disabled=move || pending.get()
                                on:click=move |_| match which {
                                    "sign" | "terminate" => asking.set(Some((id.clone(), which))),
                                    _ => step(id.clone(), which, json!({})),
                                }>{t(key)}</button>
                        }
                    };
                    let actions: Vec<(&'static str, &'static str)> = match status.as_str() {
                        "draft" => vec![("sign", "crm.sign")],
                        "active" => vec![("hold", "crm.hold"), ("complete", "crm.complete"), ("terminate", "crm.terminate")],
                        "on_hold" => vec![("resume", "crm.resume"), ("complete", "crm.complete"), ("terminate", "crm.terminate")],
                        _ => Vec::new(),
                    };
                    view! {
                        <tr>
                            <td>{text(&c, "number")}</td>
                            <td>{text(&c, "title")}</td>
                            <td>{status_label(&status)}
                                {(!signed.is_empty()).then(|| view! { <span class="hint">" — " {signed.clone()} " " {text(&c, "signed_on")}</span> })}</td>
                            <td>{money(&locale, &c, "total_minor", "currency")}</td>
                            <td>{text(&c, "start_on")} " – " {text(&c, "end_on")}</td>
                            <td><Show when=may>{actions.iter().map(|(w, k)| button(w, k)).collect_view()}</Show></td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

/// The form of a new contract: from an accepted proposal, or by hand.
#[component]
fn NewContract(
    path: String,
    currency: Memo<String>,
    proposals: LocalResource<Result<Value, Problem>>,
    on_created: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let proposal = RwSignal::new(String::new());
    let title = RwSignal::new(String::new());
    let total = RwSignal::new(String::new());
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let terms = RwSignal::new("net_30".to_owned());
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = json!({"start_on": start.get_untracked().trim(), "end_on": end.get_untracked().trim(),
                              "payment_terms": terms.get_untracked()});
        let Some(o) = body.as_object_mut() else {
            return;
        };
        let chosen = proposal.get_untracked();
        if !chosen.is_empty() {
            o.insert("proposal_id".to_owned(), json!(chosen));
        }
        let typed_title = title.get_untracked();
        if chosen.is_empty() || !typed_title.trim().is_empty() {
            o.insert("title".to_owned(), json!(typed_title.trim()));
        }
        let typed_total = total.get_untracked();
        if chosen.is_empty() || !typed_total.trim().is_empty() {
            match Currency::parse("currency", &currency.get_untracked())
                .and_then(|c| Money::parse_major(t("crm.total"), &typed_total, c))
            {
                Ok(m) => {
                    o.insert("total_minor".to_owned(), json!(m.minor));
                }
                Err(e) => {
                    problem.set(Problem::checked_at("total_minor", e));
                    return;
                }
            }
        }
        if let Err(e) = ContractFields::parse(&body, true) {
            problem.set(Problem::checked(vec![e]));
            return;
        }
        let path = path.clone();
        send_form(
            pending,
            problem,
            async move { api::call("POST", &path, Some(&body)).await },
            move |made| {
                for s in [title, total, start, end, proposal] {
                    s.set(String::new());
                }
                status.set(format!(
                    "{} {}",
                    t("crm.contract_created"),
                    text(&made, "number")
                ));
                on_created();
            },
        );
    };
    let term_options: Vec<(String, String)> = shared::crm::contract::PaymentTerms::ALL
        .iter()
        .map(|p| (p.name().to_owned(), p.name().replace('_', " ")))
        .collect();
    view! {
        <details class="card">
            <summary>{t("crm.new_contract")}</summary>
            <form class="form" on:submit=submit novalidate>
                {move || {
                    let mut options = vec![(String::new(), t("crm.by_hand").to_owned())];
                    options.extend(proposals.get().and_then(Result::ok).map(|a| items(&a)).unwrap_or_default().into_iter()
                        .filter(|p| text(p, "status") == "accepted")
                        .map(|p| (text(&p, "id"), text(&p, "title"))));
                    view! { <SelectField label=t("crm.from_proposal") id="contract-proposal" field="proposal_id" value=proposal problem=problem options=options/> }
                }}
                <TextField label=t("crm.contract_title") id="contract-title" field="title" value=title problem=problem/>
                <TextField label=t("crm.contract_total") id="contract-total" field="total_minor" value=total problem=problem/>
                <TextField label=t("crm.start_on") id="contract-start" field="start_on" value=start problem=problem kind="date"/>
                <TextField label=t("crm.end_on") id="contract-end" field="end_on" value=end problem=problem kind="date"/>
                <SelectField label=t("crm.payment_terms") id="contract-terms" field="payment_terms" value=terms problem=problem options=term_options/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_contract")/>
                <Status text=status/>
            </form>
        </details>
    }
}
