//! The forecast: figures per period, the win model's accuracy, and past
//! periods against what was won.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::Value;

use super::{locale, money};
use crate::api::{self, text, Problem};
use crate::messages::t;
use crate::ui::{loaded, table_of, SelectField, TableScroll};

/// The forecast: won, weighted and best case per period as bars, the same figures
/// (with commit, worst case and managers' figures) as a table, and how well the
/// win model did on held-out history.
#[component]
pub fn Forecast() -> impl IntoView {
    let period = RwSignal::new("month".to_owned());
    let problem = RwSignal::new(Problem::default());
    let forecast = LocalResource::new(move || {
        let p = period.get();
        async move {
            api::call(
                "GET",
                &format!("/v1/crm/forecast?period={p}&periods=6"),
                None,
            )
            .await
        }
    });
    let model = LocalResource::new(|| api::call("GET", "/v1/crm/forecast/model", None));
    let accuracy = LocalResource::new(move || {
        let p = period.get();
        async move {
            api::call(
                "GET",
                &format!("/v1/crm/forecast/accuracy?period={p}&periods=6"),
                None,
            )
            .await
        }
    });
    let periods = vec![
        ("month".to_owned(), t("crm.months").to_owned()),
        ("quarter".to_owned(), t("crm.quarters").to_owned()),
    ];
    view! {
        <div class="heading">
            <h1>{t("crm.forecast")}</h1>
            <a href="/crm/pipeline">{t("crm.board")}</a>
        </div>
        <form class="filters" on:submit=|ev: SubmitEvent| ev.prevent_default()>
            <div><SelectField label=t("crm.period") id="forecast-period" field="period" value=period problem=problem options=periods/></div>
        </form>
        {move || loaded(forecast.get(), |f| {
            let locale = locale();
            let rows: Vec<Value> = f.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
            let totals: Vec<Value> = rows.iter().filter(|r| r.get("owner_id").is_none_or(Value::is_null)).cloned().collect();
            let currency = totals.first().map(|r| text(r, "currency")).unwrap_or_else(|| locale.currency.clone());
            let keys: Vec<String> = f.get("periods").and_then(Value::as_array).cloned().unwrap_or_default()
                .iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
            let of = |p: &str, key: &str| totals.iter().find(|r| text(r, "period") == p && text(r, "currency") == currency)
                .and_then(|r| r.get(key).and_then(Value::as_i64)).unwrap_or(0);
            let top = keys.iter().map(|p| of(p, "best_case_minor")).max().unwrap_or(0).max(1);
            let height = |v: i64| (v.saturating_mul(160) / top).clamp(0, 160);
            view! {
                <figure class="chart">
                    <svg viewBox="0 0 640 200" role="img" aria-labelledby="forecast-chart-title">
                        <title id="forecast-chart-title">{t("crm.chart_title")}</title>
                        {keys.iter().enumerate().map(|(i, p)| {
                            let x = 20 + (i as i64) * 100;
                            let won = height(of(p, "won_minor"));
                            let weighted = height(of(p, "weighted_minor"));
                            let best = height(of(p, "best_case_minor"));
                            view! {
                                <g>
                                    <rect class="best" x=x y=180 - best width=70 height=best/>
                                    <rect class="won" x=x y=180 - won width=34 height=won/>
                                    <rect class="weighted" x=x + 36 y=180 - weighted width=34 height=weighted/>
                                    <text x=x y=196>{p.clone()}</text>
                                </g>
                            }
                        }).collect_view()}
                    </svg>
                    <figcaption>{t("crm.chart_legend")}</figcaption>
                </figure>
                <TableScroll label=t("crm.forecast")>
                <table>
                    <caption class="visually-hidden">{t("crm.forecast")}</caption>
                    <thead><tr>
                        <th scope="col">{t("crm.period")}</th>
                        <th scope="col">{t("crm.won")}</th>
                        <th scope="col">{t("crm.weighted")}</th>
                        <th scope="col">{t("crm.commit")}</th>
                        <th scope="col">{t("crm.best_case")}</th>
                        <th scope="col">{t("crm.adjusted")}</th>
                    </tr></thead>
                    <tbody>
                        {totals.into_iter().map(|r| {
                            let adjusted = r.get("adjustment").filter(|a| !a.is_null())
                                .map(|a| money(&locale, a, "amount_minor", "currency")).unwrap_or_else(|| "—".to_owned());
                            view! {
                                <tr>
                                    <th scope="row">{text(&r, "period")} " " {text(&r, "currency")}</th>
                                    <td>{money(&locale, &r, "won_minor", "currency")}</td>
                                    <td>{money(&locale, &r, "weighted_minor", "currency")}</td>
                                    <td>{money(&locale, &r, "commit_minor", "currency")}</td>
                                    <td>{money(&locale, &r, "best_case_minor", "currency")}</td>
                                    <td>{adjusted}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                </TableScroll>
            }.into_any()
        })}
        <section aria-labelledby="accuracy-title">
            <h2 id="accuracy-title">{t("crm.accuracy")}</h2>
            <p class="hint">{t("crm.accuracy_help")}</p>
            {move || loaded(accuracy.get(), |a| {
                let locale = locale();
                let headers = [t("crm.period"), t("crm.forecast_taken"), t("crm.expected"), t("crm.commit"), t("crm.actual"), t("crm.error")];
                let rows = a.get("rows").and_then(Value::as_array).cloned().unwrap_or_default();
                table_of(t("crm.accuracy"), t("crm.no_accuracy"), &headers, rows, |r| {
                    let complete = r.get("complete").and_then(Value::as_bool).unwrap_or(false);
                    let taken = text(&r, "forecast_taken_on");
                    let error = r.get("error_percent").and_then(Value::as_f64)
                        .map_or_else(|| "—".to_owned(), |e| format!("{e:+.1} %"));
                    view! {
                        <tr>
                            <th scope="row">{text(&r, "period")} " " {text(&r, "currency")}
                                {(!complete).then(|| view! { " " <span class="tag">{t("crm.in_progress")}</span> })}</th>
                            <td>{if taken.is_empty() { t("crm.no_snapshot").to_owned() } else { taken }}</td>
                            <td>{money(&locale, &r, "expected_minor", "currency")}</td>
                            <td>{money(&locale, &r, "commit_minor", "currency")}</td>
                            <td>{money(&locale, &r, "actual_minor", "currency")}</td>
                            <td>{error}</td>
                        </tr>
                    }.into_any()
                })
            })}
        </section>
        <section aria-labelledby="model-title">
            <h2 id="model-title">{t("crm.model")}</h2>
            {move || loaded(model.get(), |m| {
                let outcomes = m.get("outcomes").and_then(Value::as_i64).unwrap_or(0);
                if text(&m, "basis") != "model" {
                    return view! { <p>{t("crm.model_prior")} " " {outcomes}</p> }.into_any();
                }
                let a = m.get("accuracy").cloned().unwrap_or_default();
                let fmt = |k: &str| a.get(k).and_then(Value::as_f64).map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"));
                view! {
                    <dl class="facts">
                        <dt>{t("crm.outcomes")}</dt><dd>{outcomes}</dd>
                        <dt>{t("crm.auc")}</dt><dd>{fmt("auc")} " (" {t("crm.stages")} " " {fmt("baseline_auc")} ")"</dd>
                        <dt>{t("crm.brier")}</dt><dd>{fmt("brier")} " (" {t("crm.stages")} " " {fmt("baseline_brier")} ")"</dd>
                    </dl>
                }.into_any()
            })}
        </section>
    }
}
