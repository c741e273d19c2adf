//! Native timings of the CRM's kernels, for `scripts/bench`: scoring 10,000 leads
//! against 20 rules, and training the win model on 5,000 closed deals. Prints
//! `name microseconds` lines (the median of 5 runs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a bench

use std::collections::HashMap;
use std::time::Instant;

use serde_json::json;
use shared::crm::forecast::{generated_history, WinModel};
use shared::crm::lead::{Lead, LeadSource, LeadStatus};
use shared::crm::scoring::{Occasion, Rule, RuleInput, Ruleset};

fn median(mut runs: Vec<u128>) -> u128 {
    runs.sort_unstable();
    runs[runs.len() / 2]
}

fn rules() -> Vec<Rule> {
    let titles = ["director", "partner", "owner", "head", "chief"];
    let industries = ["legal", "accounting", "consulting", "agency", "finance"];
    let mut out = Vec::new();
    for i in 0..20 {
        let body = match i % 4 {
            0 => json!({"name": format!("Title {i}"), "trigger": "job_title_match", "points": 10,
                        "conditions": [{"field": "title", "op": "contains", "value": titles[i % 5]}]}),
            1 => json!({"name": format!("Industry {i}"), "trigger": "industry_match", "points": 8,
                        "conditions": [{"field": "industry", "op": "in", "value": [industries[i % 5], "other"]}]}),
            2 => json!({"name": format!("Size {i}"), "trigger": "company_size_match", "points": 12,
                        "conditions": [{"field": "company_size", "op": "gte", "value": 10 * i}, {"field": "company_size", "op": "lte", "value": 1000}]}),
            _ => json!({"name": format!("Country {i}"), "trigger": "location_match", "points": -5,
                        "conditions": [{"field": "country", "op": "equals", "value": "gb"}]}),
        };
        let input = RuleInput::parse(&body).unwrap();
        out.push(Rule {
            id: format!("scr_{i:02}"),
            name: input.name,
            category: input.category,
            trigger: input.trigger,
            conditions: input.conditions,
            points: input.points,
            max_applications: input.max_applications,
            decay_days: input.decay_days,
            priority: input.priority,
            is_active: true,
            version: 1,
            created_at: 0,
            updated_at: 0,
        });
    }
    out
}

fn leads(n: usize) -> Vec<Lead> {
    let titles = [
        "Finance Director",
        "Partner",
        "Office Manager",
        "Head of Ops",
        "Analyst",
    ];
    let industries = ["legal", "accounting", "consulting", "retail", "finance"];
    (0..n)
        .map(|i| Lead {
            id: format!("led_{i:06}"),
            contact_name: format!("Person {i}"),
            company_name: Some(format!("Company {i}")),
            email: Some(format!("p{i}@example.com")),
            phone: None,
            title: Some(titles[i % 5].to_owned()),
            industry: Some(industries[i % 5].to_owned()),
            website: None,
            country: Some(if i % 3 == 0 { "GB" } else { "FR" }.to_owned()),
            company_size: Some((i % 900) as i64 + 1),
            budget_minor: None,
            currency: None,
            source: LeadSource::Website,
            status: LeadStatus::New,
            score: 0,
            owner_id: None,
            campaign_id: None,
            tags: Vec::new(),
            custom_fields: Default::default(),
            notes: None,
            lost_reason: None,
            account_id: None,
            deal_id: None,
            last_activity_at: None,
            version: 1,
            created_by: "import".into(),
            created_at: 0,
            updated_at: 0,
        })
        .collect()
}

fn main() {
    let rules = rules();
    let leads = leads(10_000);
    let history = HashMap::new();
    let written = Occasion::Written {
        added_tags: &[],
        status_changed: false,
    };
    let mut runs = Vec::new();
    let mut applied = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let prepared = Ruleset::new(&rules);
        applied = leads
            .iter()
            .map(|l| prepared.evaluate(l, &written, &history, 0).len())
            .sum::<usize>();
        runs.push(t.elapsed().as_micros());
    }
    assert!(applied > 0);
    println!("crm_score_10k_leads {}", median(runs));
    let outcomes = generated_history(5_000, 7);
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let model = WinModel::train(&outcomes);
        runs.push(t.elapsed().as_micros());
        assert!(model.model.is_some());
    }
    println!("crm_train_5k_deals {}", median(runs));
}
