#!/usr/bin/env python3
"""The demo firm's CRM, through the public API: a sales pipeline, scoring and
assignment rules, leads at every stage of work (one converted), open deals across
the board, and a history of 240 closed deals (referrals and late stages win more
often) from which the firm's win model learns. Usage: demo-crm.py BASE_URL TOKEN."""

import json
import random
import sys
import urllib.request

BASE, TOKEN = sys.argv[1], sys.argv[2]


def api(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req) as resp:
        text = resp.read()
        return json.loads(text) if text else None


pipeline = api("POST", "/v1/crm/pipelines", {
    "name": "Advisory sales", "is_default": True, "stages": [
        {"name": "Qualified", "probability": 10, "rotting_days": 14},
        {"name": "Discovery", "probability": 25, "rotting_days": 21},
        {"name": "Proposal sent", "probability": 50, "rotting_days": 14},
        {"name": "Negotiation", "probability": 75, "rotting_days": 10},
        {"name": "Won", "kind": "won"},
        {"name": "Lost", "kind": "lost"}]})
stages = pipeline["stages"]
open_stages = [s for s in stages if s["kind"] == "open"]
won = next(s for s in stages if s["kind"] == "won")
lost = next(s for s in stages if s["kind"] == "lost")

for rule in [
    {"name": "Decision maker", "category": "demographic", "trigger": "job_title_match", "points": 25,
     "conditions": [{"field": "title", "op": "in", "value": ["Partner", "Finance Director", "Managing Director"]}]},
    {"name": "Right size", "category": "firmographic", "trigger": "company_size_match", "points": 20,
     "conditions": [{"field": "company_size", "op": "gte", "value": 20},
                    {"field": "company_size", "op": "lte", "value": 500}]},
    {"name": "Referred", "category": "custom", "trigger": "status_changed", "points": 10,
     "conditions": [{"field": "source", "op": "equals", "value": "referral"}]},
    {"name": "Pricing page", "category": "behavioral", "trigger": "page_visited", "points": 15,
     "max_applications": 3, "decay_days": 30,
     "conditions": [{"field": "signal.url", "op": "contains", "value": "/pricing"}]},
    {"name": "Booked a meeting", "category": "engagement", "trigger": "meeting_booked", "points": 30, "decay_days": 60},
]:
    api("POST", "/v1/crm/scoring-rules", rule)

# Who takes new leads: large budgets and the UK go to the senior people; the rest
# take turns among everyone who may work the CRM.
seniors = [m["user_id"] for m in api("GET", "/v1/firm/members")["items"]
           if m["is_active"] and m["role"] in ("firm_admin", "partner", "manager")]
api("POST", "/v1/crm/assignment-rules", {
    "name": "Large budgets", "method": "value_range", "priority": 20,
    "currency": "USD", "min_minor": 15_000_000, "users": seniors})
api("POST", "/v1/crm/assignment-rules", {
    "name": "United Kingdom", "method": "territory", "priority": 10,
    "field": "country", "territories": {"GB": seniors[:1]}})

people = [
    ("Grace Hopper", "Cobol & Co", "Finance Director", "manufacturing", 120, "referral", "GB"),
    ("Alan Turing", "Bletchley Advisory", "Partner", "consulting", 45, "event", "GB"),
    ("Ada Lovelace", "Engine Works", "Managing Director", "engineering", 300, "website", "GB"),
    ("Katherine Johnson", "Orbit Partners", "Analyst", "aerospace", 800, "cold_outreach", "US"),
    ("Edsger Dijkstra", "Shortest Path BV", "Office Manager", "logistics", 15, "website", "NL"),
    ("Barbara Liskov", "Substitution LLC", "Partner", "legal", 60, "referral", "US"),
    ("Donald Knuth", "Literate Books", "Owner", "publishing", 8, "partnership", "US"),
    ("Frances Allen", "Optimising Ltd", "Finance Director", "software", 220, "campaign", "US"),
    ("Tim Berners-Lee", "Hypertext Agency", "Head of Ops", "agency", 35, "website", "CH"),
    ("Margaret Hamilton", "Apollo Accounting", "Managing Director", "accounting", 90, "referral", "US"),
    ("John Backus", "Formula Consulting", "Analyst", "consulting", 12, "cold_outreach", "US"),
    ("Radia Perlman", "Spanning Tree Inc", "Partner", "networks", 150, "event", "US"),
]
# The catalogue and a campaign the "campaign" leads came from.
for code, name, kind, price, extra in [
        ("AUDIT", "Statutory audit", "service", 900_000, {}),
        ("TAX", "Corporate tax return", "service", 250_000, {}),
        ("BOOKS", "Monthly bookkeeping", "subscription", 120_000, {"billing_interval": "month"})]:
    api("POST", "/v1/crm/products", {"code": code, "name": name, "kind": kind,
                                      "unit_price_minor": price, "currency": "USD", **extra})
campaign = api("POST", "/v1/crm/campaigns", {
    "name": "Year-end tax webinar", "kind": "webinar", "start_on": "2026-11-01", "end_on": "2026-12-15",
    "currency": "USD", "budget_minor": 500_000, "actual_cost_minor": 320_000, "target_leads": 10})
api("PATCH", f"/v1/crm/campaigns/{campaign['id']}", {"status": "active"})
leads = []
for i, (name, company, title, industry, size, source, country) in enumerate(people):
    first = name.split()[0].lower()
    lead = api("POST", "/v1/crm/leads", {
        "contact_name": name, "company_name": company, "title": title, "industry": industry,
        "company_size": size, "source": source, "country": country,
        "email": f"{first}@{company.split()[0].lower().strip('&')}.example",
        "budget_minor": (i + 3) * 1_500_000, "currency": "USD", "tags": ["demo"],
        **({"campaign_id": campaign["id"]} if source == "campaign" else {})})
    leads.append(lead)
for lead in leads[:5]:
    api("POST", f"/v1/crm/leads/{lead['id']}/signals",
        {"trigger": "page_visited", "properties": {"url": "https://demo.example/pricing"}})
api("POST", f"/v1/crm/leads/{leads[1]['id']}/signals", {"trigger": "meeting_booked"})
for lead in leads[:4]:
    api("PATCH", f"/v1/crm/leads/{lead['id']}", {"status": "contacted"})
for lead in leads[:2]:
    api("PATCH", f"/v1/crm/leads/{lead['id']}", {"status": "qualified"})
api("POST", f"/v1/crm/leads/{leads[0]['id']}/convert", {"deal_name": "Cobol & Co: annual audit"})
api("POST", f"/v1/crm/leads/{leads[10]['id']}/lose", {"reason": "Went with a bigger firm"})

# History first (the win model learns from it), then the open board.
rng = random.Random(2026)
sources = ["referral", "website", "cold_outreach", "event", "partnership"]
for i in range(240):
    source = rng.choice(sources)
    stage = rng.randrange(len(open_stages))
    chance = 0.15 + 0.15 * stage + {"referral": 0.3, "cold_outreach": -0.1}.get(source, 0.0)
    deal = api("POST", "/v1/crm/deals", {
        "name": f"Past engagement {i + 1}", "value_minor": rng.randrange(5, 120) * 100_000,
        "source": source, "stage_id": open_stages[stage]["id"], "tags": ["history"]})
    if rng.random() < chance:
        api("POST", f"/v1/crm/deals/{deal['id']}/move", {"stage_id": won["id"]})
    else:
        api("POST", f"/v1/crm/deals/{deal['id']}/move",
            {"stage_id": lost["id"], "lost_reason": rng.choice(["Price", "Timing", "Chose a competitor"])})

months = ["2027-01-29", "2027-02-26", "2027-03-31", "2027-04-30"]
for i, name in enumerate(["Tax advisory retainer", "Due diligence", "Payroll outsourcing", "Litigation support",
                          "Forensic review", "Board reporting pack", "Grant application", "ERP selection"]):
    api("POST", "/v1/crm/deals", {
        "name": name, "value_minor": (i + 2) * 750_000, "source": sources[i % len(sources)],
        "stage_id": open_stages[i % len(open_stages)]["id"], "expected_close": months[i % len(months)]})
model = api("POST", "/v1/crm/forecast/model/train")
print(f"demo CRM: {len(leads)} leads, 248 deals; win model on {model['outcomes']} outcomes ({model['basis']})")
