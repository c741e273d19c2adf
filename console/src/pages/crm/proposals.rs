//! A deal's proposals: the list with each one's status and total, a new one
//! written line by line (prices typed in the deal's currency, as a person writes
//! them), and the steps a proposal takes — send a draft, then record the client's
//! yes or no (a no with its reason).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::{json, Value};
use shared::crm::lead::parse_reason;
use shared::crm::proposal::ProposalFields;
use shared::kernel::money::{Currency, Money};

use super::{fresh_key, locale, may_write, money};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{
    items, loaded, send_form, table_of, FormError, SelectField, Status, Submit, TextField,
};

fn status_label(status: &str) -> &'static str {
    match status {
        "sent" => t("crm.proposal_sent"),
        "accepted" => t("crm.proposal_accepted"),
        "rejected" => t("crm.proposal_rejected"),
        "expired" => t("crm.proposal_expired"),
        _ => t("crm.proposal_draft"),
    }
}

/// One line being typed: `index` is its place (its fields' names), `key` tells
/// it apart from every line shown before, so a fresh form gets fresh inputs.
#[derive(Clone, Copy)]
struct LineRow {
    index: usize,
    key: u64,
    product: RwSignal<String>,
    description: RwSignal<String>,
    quantity: RwSignal<String>,
    price: RwSignal<String>,
}

impl LineRow {
    fn new(index: usize) -> Self {
        Self {
            index,
            key: js_sys::Math::random().to_bits(),
            product: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            quantity: RwSignal::new("1".to_owned()),
            price: RwSignal::new(String::new()),
        }
    }
}

/// The request body of the typed proposal, or the problem to show beside the
/// fields. Lines are added and removed at the end only, so a line's index stays
/// its place in `lines` and the server's `lines[i]` errors land beside its row.
fn proposal_body(
    title: &str,
    valid_until: &str,
    notes: &str,
    rows: &[LineRow],
    currency: &str,
) -> Result<Value, Problem> {
    let currency = Currency::parse("currency", currency).map_err(|e| Problem::checked(vec![e]))?;
    let mut lines = Vec::with_capacity(rows.len());
    let mut refused = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let product = row.product.get_untracked();
        let mut line = serde_json::Map::new();
        line.insert(
            "quantity".to_owned(),
            json!(row.quantity.get_untracked().trim()),
        );
        let description = row.description.get_untracked();
        if !product.is_empty() {
            line.insert("product_id".to_owned(), json!(product));
        }
        // A catalogue line may leave its description and price to the product.
        if product.is_empty() || !description.trim().is_empty() {
            line.insert("description".to_owned(), json!(description.trim()));
        }
        let price = row.price.get_untracked();
        if !product.is_empty() && price.trim().is_empty() {
            lines.push(serde_json::Value::Object(line));
            continue;
        }
        let minor = match Money::parse_major(t("crm.unit_price"), &price, currency) {
            Ok(m) => m.minor,
            Err(e) => {
                let message = match e {
                    shared::DomainError::Validation(list) => list
                        .into_iter()
                        .map(|f| f.message)
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => other.to_string(),
                };
                refused.push((format!("lines[{i}].unit_price_minor"), message));
                0
            }
        };
        line.insert("unit_price_minor".to_owned(), json!(minor));
        lines.push(serde_json::Value::Object(line));
    }
    let mut body =
        json!({"title": title.trim(), "valid_until": valid_until.trim(), "lines": lines});
    if let (false, Some(o)) = (notes.trim().is_empty(), body.as_object_mut()) {
        o.insert("notes".to_owned(), json!(notes.trim()));
    }
    let mut problem = match ProposalFields::parse(&body, true) {
        Ok(_) => Problem::default(),
        Err(e) => Problem::checked(vec![e]),
    };
    // A price that did not read as an amount says so, not that 0 is fine.
    problem
        .fields
        .retain(|(f, _)| !refused.iter().any(|(r, _)| r == f));
    problem.fields.extend(refused);
    if problem.fields.is_empty() {
        Ok(body)
    } else {
        problem.status = 422;
        problem.kind = "validation".to_owned();
        Err(problem)
    }
}

/// The proposals of deal `deal_id`, whose amounts are in `currency`.
#[component]
pub fn Proposals(deal_id: String, currency: Memo<String>) -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let list_path = format!("/v1/crm/deals/{deal_id}/proposals");
    let proposals = LocalResource::new({
        let path = list_path.clone();
        move || {
            refresh.track();
            let path = path.clone();
            async move { api::call("GET", &format!("{path}?limit=50"), None).await }
        }
    });
    // The step buttons of the list; a rejection asks for its reason first.
    let step_problem = RwSignal::new(Problem::default());
    let step_pending = RwSignal::new(false);
    let notice = RwSignal::new(String::new());
    let rejecting = RwSignal::new(None::<String>);
    let reason = RwSignal::new(String::new());
    let take_step = move |id: String, step: &'static str, body: Value| {
        send_form(
            step_pending,
            step_problem,
            async move {
                api::call(
                    "POST",
                    &format!("/v1/crm/proposals/{id}/{step}"),
                    Some(&body),
                )
                .await
            },
            move |p| {
                rejecting.set(None);
                reason.set(String::new());
                notice.set(format!(
                    "{} — {}",
                    text(&p, "title"),
                    status_label(&text(&p, "status"))
                ));
                refresh.update(|n| *n += 1);
            },
        );
    };
    let reject = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(id) = rejecting.get_untracked() else {
            return;
        };
        let body = json!({"reason": reason.get_untracked().trim()});
        if let Err(e) = parse_reason(&body) {
            step_problem.set(Problem::checked(vec![e]));
            return;
        }
        take_step(id, "reject", body);
    };
    let may = may_write();
    view! {
        <section aria-labelledby="proposals-title">
            <h2 id="proposals-title">{t("crm.proposals")}</h2>
            <Show when=may>
                <NewProposal path=list_path.clone() currency=currency on_created=move || refresh.update(|n| *n += 1)/>
            </Show>
            <FormError problem=step_problem/>
            <Status text=notice/>
            {move || rejecting.get().map(|_| view! {
                <form class="card form" on:submit=reject novalidate>
                    <TextField label=t("crm.rejection_reason") id="proposal-reason" field="reason" value=reason problem=step_problem/>
                    <Submit pending=step_pending label=t("crm.record_rejection")/>
                    <button type="button" class="secondary" on:click=move |_| rejecting.set(None)>{t("crm.cancel")}</button>
                </form>
            })}
            {move || loaded(proposals.get(), |answer| {
                let locale = locale();
                let headers = [t("crm.proposal_title"), t("crm.status"), t("crm.total"), t("crm.valid_until"), t("crm.actions")];
                table_of(t("crm.proposals"), t("crm.no_proposals"), &headers, items(&answer), |p| {
                    let id = text(&p, "id");
                    let status = text(&p, "status");
                    let title = text(&p, "title");
                    let reason = text(&p, "rejection_reason");
                    let (send_id, accept_id, reject_id) = (id.clone(), id.clone(), id);
                    let shown = title.clone();
                    let labelled = move |key: &'static str| format!("{} {}", t(key), title);
                    view! {
                        <tr>
                            <td>{shown}</td>
                            <td>{status_label(&status)}
                                {(!reason.is_empty()).then(|| view! { <span class="hint">" — " {reason.clone()}</span> })}</td>
                            <td>{money(&locale, &p, "total_minor", "currency")}</td>
                            <td>{text(&p, "valid_until")}</td>
                            <td>
                                <Show when=move || may()>
                                    {(status == "draft").then(|| view! {
                                        <button type="button" aria-label=labelled("crm.send_proposal")
                                            on:click={ let id = send_id.clone(); move |_| take_step(id.clone(), "send", json!({})) }
                                            disabled=move || step_pending.get()>{t("crm.send_proposal")}</button>
                                    })}
                                    {(status == "sent").then(|| view! {
                                        <button type="button" aria-label=labelled("crm.mark_accepted")
                                            on:click={ let id = accept_id.clone(); move |_| take_step(id.clone(), "accept", json!({})) }
                                            disabled=move || step_pending.get()>{t("crm.mark_accepted")}</button>
                                        " "
                                        <button type="button" class="secondary" aria-label=labelled("crm.mark_rejected")
                                            on:click={ let id = reject_id.clone(); move |_| rejecting.set(Some(id.clone())) }
                                            disabled=move || step_pending.get()>{t("crm.mark_rejected")}</button>
                                    })}
                                </Show>
                            </td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
    }
}

/// The form of a new proposal: a title, its last valid day, notes, and its lines.
#[component]
fn NewProposal(
    path: String,
    currency: Memo<String>,
    on_created: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let valid_until = RwSignal::new(String::new());
    let notes = RwSignal::new(String::new());
    let rows = RwSignal::new(vec![LineRow::new(0)]);
    let problem = RwSignal::new(Problem::default());
    let pending = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let key = RwSignal::new(fresh_key());
    let catalogue =
        LocalResource::new(|| api::call("GET", "/v1/crm/products?status=active&limit=100", None));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = match proposal_body(
            &title.get_untracked(),
            &valid_until.get_untracked(),
            &notes.get_untracked(),
            &rows.get_untracked(),
            &currency.get_untracked(),
        ) {
            Ok(body) => body,
            Err(p) => {
                problem.set(p);
                return;
            }
        };
        let path = path.clone();
        let idem = key.get_untracked();
        send_form(
            pending,
            problem,
            async move { api::call_idempotent("POST", &path, &body, &idem).await },
            move |made| {
                title.set(String::new());
                valid_until.set(String::new());
                notes.set(String::new());
                rows.set(vec![LineRow::new(0)]);
                key.set(fresh_key());
                status.set(format!(
                    "{} {}",
                    t("crm.proposal_created"),
                    text(&made, "title")
                ));
                on_created();
            },
        );
    };
    let add_line = move |_| rows.update(|r| r.push(LineRow::new(r.len())));
    let remove_line = move |_| {
        rows.update(|r| {
            if r.len() > 1 {
                r.pop();
            }
        })
    };
    view! {
        <details class="card">
            <summary>{t("crm.new_proposal")}</summary>
            <form class="form" on:submit=submit novalidate>
                <TextField label=t("crm.proposal_title") id="proposal-title" field="title" value=title problem=problem/>
                <TextField label=t("crm.valid_until") id="proposal-valid-until" field="valid_until" value=valid_until problem=problem kind="date"/>
                <fieldset>
                    <legend>{t("crm.lines")} " (" {move || currency.get()} ")"</legend>
                    <For each=move || rows.get() key=|r| r.key let:row>
                        <div class="line-row">
                            {move || {
                                let locale = locale();
                                let mut options = vec![(String::new(), t("crm.no_product").to_owned())];
                                options.extend(catalogue.get().and_then(Result::ok).map(|a| items(&a)).unwrap_or_default().into_iter().map(|p| {
                                    let label = format!("{} — {} ({})", text(&p, "code"), text(&p, "name"), money(&locale, &p, "unit_price_minor", "currency"));
                                    (text(&p, "id"), label)
                                }));
                                view! { <SelectField label=t("crm.from_catalogue") id=format!("line-{}-product", row.index)
                                    field=format!("lines[{}].product_id", row.index) value=row.product problem=problem options=options/> }
                            }}
                            <TextField label=t("crm.line_description") id=format!("line-{}-description", row.index)
                                field=format!("lines[{}].description", row.index) value=row.description problem=problem/>
                            <TextField label=t("crm.quantity") id=format!("line-{}-quantity", row.index)
                                field=format!("lines[{}].quantity", row.index) value=row.quantity problem=problem kind="text"/>
                            <TextField label=t("crm.unit_price") id=format!("line-{}-price", row.index)
                                field=format!("lines[{}].unit_price_minor", row.index) value=row.price problem=problem/>
                        </div>
                    </For>
                    <button type="button" class="secondary" on:click=add_line>{t("crm.add_line")}</button>
                    " "
                    <button type="button" class="secondary" on:click=remove_line
                        disabled=move || rows.get().len() < 2>{t("crm.remove_line")}</button>
                </fieldset>
                <TextField label=t("crm.notes_optional") id="proposal-notes" field="notes" value=notes problem=problem/>
                <FormError problem=problem/>
                <Submit pending=pending label=t("crm.create_proposal")/>
                <Status text=status/>
            </form>
        </details>
    }
}
