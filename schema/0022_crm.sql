-- The CRM: pipelines and stages, accounts and contacts, leads and their scores,
-- deals, and the timeline of every record. Written only by the crm worker.

CREATE TABLE crm_pipelines (
  id          TEXT PRIMARY KEY,             -- pip_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  name        TEXT NOT NULL,
  is_default  INTEGER NOT NULL DEFAULT 0,
  is_active   INTEGER NOT NULL DEFAULT 1,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX crm_pipelines_name ON crm_pipelines (firm_id, lower(name));
-- Exactly one default per firm: the partial index refuses a second.
CREATE UNIQUE INDEX crm_pipelines_default ON crm_pipelines (firm_id) WHERE is_default = 1;

CREATE TABLE crm_stages (
  id           TEXT PRIMARY KEY,            -- stg_…
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  pipeline_id  TEXT NOT NULL REFERENCES crm_pipelines (id),
  name         TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost')),
  probability  INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
  rotting_days INTEGER NOT NULL DEFAULT 30 CHECK (rotting_days BETWEEN 1 AND 365),
  position     INTEGER NOT NULL,
  removed_at   INTEGER                      -- taken off the board; kept for history
) STRICT;
CREATE INDEX crm_stages_pipeline ON crm_stages (firm_id, pipeline_id, position);

CREATE TABLE crm_accounts (
  id           TEXT PRIMARY KEY,            -- acc_…
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  name         TEXT NOT NULL,
  domain       TEXT,
  industry     TEXT,
  company_size INTEGER,
  country      TEXT,
  lifecycle    TEXT NOT NULL DEFAULT 'prospect' CHECK (lifecycle IN ('prospect', 'customer', 'former')),
  owner_id     TEXT,
  client_id    TEXT,                        -- the client a won deal made of it
  tags         TEXT NOT NULL DEFAULT '[]',
  version      INTEGER NOT NULL DEFAULT 1,
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_accounts_firm ON crm_accounts (firm_id, id);
CREATE INDEX crm_accounts_domain ON crm_accounts (firm_id, domain);

CREATE TABLE crm_contacts (
  id          TEXT PRIMARY KEY,             -- ctc_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  account_id  TEXT REFERENCES crm_accounts (id),
  name        TEXT NOT NULL,
  email       TEXT,
  phone       TEXT,
  title       TEXT,
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_contacts_account ON crm_contacts (firm_id, account_id, id);

CREATE TABLE crm_leads (
  id               TEXT PRIMARY KEY,        -- led_…
  firm_id          TEXT NOT NULL REFERENCES firm_firms (id),
  contact_name     TEXT NOT NULL,
  company_name     TEXT,
  email            TEXT,
  phone            TEXT,
  title            TEXT,
  industry         TEXT,
  website          TEXT,
  country          TEXT,
  company_size     INTEGER,
  budget_minor     INTEGER,
  currency         TEXT,
  source           TEXT NOT NULL DEFAULT 'website',
  status           TEXT NOT NULL DEFAULT 'new'
                   CHECK (status IN ('new', 'contacted', 'qualified', 'converted', 'lost')),
  score            INTEGER NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
  owner_id         TEXT,
  tags             TEXT NOT NULL DEFAULT '[]',
  custom_fields    TEXT NOT NULL DEFAULT '{}',
  notes            TEXT,
  lost_reason      TEXT,
  account_id       TEXT,                    -- what conversion made of it
  deal_id          TEXT,
  last_activity_at INTEGER,
  version          INTEGER NOT NULL DEFAULT 1,
  created_by       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_leads_firm ON crm_leads (firm_id, id);
CREATE INDEX crm_leads_status ON crm_leads (firm_id, status, id);
CREATE INDEX crm_leads_owner ON crm_leads (firm_id, owner_id, id);
CREATE INDEX crm_leads_score ON crm_leads (firm_id, score, id);
CREATE INDEX crm_leads_source ON crm_leads (firm_id, source, id);

CREATE TABLE crm_deals (
  id               TEXT PRIMARY KEY,        -- dea_…
  firm_id          TEXT NOT NULL REFERENCES firm_firms (id),
  name             TEXT NOT NULL,
  pipeline_id      TEXT NOT NULL REFERENCES crm_pipelines (id),
  stage_id         TEXT NOT NULL REFERENCES crm_stages (id),
  status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
  account_id       TEXT REFERENCES crm_accounts (id),
  contact_id       TEXT REFERENCES crm_contacts (id),
  lead_id          TEXT,
  value_minor      INTEGER NOT NULL DEFAULT 0 CHECK (value_minor >= 0),
  currency         TEXT NOT NULL,
  probability      INTEGER CHECK (probability BETWEEN 0 AND 100), -- set by hand
  expected_close   TEXT,                    -- YYYY-MM-DD
  closed_at        INTEGER,
  lost_reason      TEXT,
  owner_id         TEXT NOT NULL,
  splits           TEXT NOT NULL DEFAULT '[]',
  source           TEXT,
  tags             TEXT NOT NULL DEFAULT '[]',
  stage_entered_at INTEGER NOT NULL,
  last_activity_at INTEGER,
  is_stale         INTEGER NOT NULL DEFAULT 0,
  close_snapshot   TEXT,                    -- JSON: what the win model learns from
  client_id        TEXT,
  version          INTEGER NOT NULL DEFAULT 1,
  created_by       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  CHECK ((status = 'lost') = (lost_reason IS NOT NULL))
) STRICT;
CREATE INDEX crm_deals_firm ON crm_deals (firm_id, id);
CREATE INDEX crm_deals_stage ON crm_deals (firm_id, pipeline_id, stage_id, id);
CREATE INDEX crm_deals_owner ON crm_deals (firm_id, owner_id, id);
CREATE INDEX crm_deals_closed ON crm_deals (firm_id, status, closed_at);

-- The timeline of every CRM record, append-only.
CREATE TABLE crm_activities (
  id           TEXT PRIMARY KEY,            -- acy_…
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  subject_type TEXT NOT NULL CHECK (subject_type IN ('lead', 'deal', 'account', 'contact')),
  subject_id   TEXT NOT NULL,
  kind         TEXT NOT NULL,
  summary      TEXT NOT NULL,
  body         TEXT,
  changes      TEXT NOT NULL DEFAULT '{}',
  actor_id     TEXT,
  occurred_at  INTEGER NOT NULL,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_activities_subject ON crm_activities (firm_id, subject_type, subject_id, id);

CREATE TABLE crm_scoring_rules (
  id               TEXT PRIMARY KEY,        -- scr_…
  firm_id          TEXT NOT NULL REFERENCES firm_firms (id),
  name             TEXT NOT NULL,
  category         TEXT NOT NULL,
  trigger          TEXT NOT NULL,
  conditions       TEXT NOT NULL DEFAULT '[]',
  points           INTEGER NOT NULL CHECK (points BETWEEN -100 AND 100 AND points <> 0),
  max_applications INTEGER NOT NULL DEFAULT 1 CHECK (max_applications BETWEEN 1 AND 100),
  decay_days       INTEGER CHECK (decay_days BETWEEN 1 AND 3650),
  priority         INTEGER NOT NULL DEFAULT 0,
  is_active        INTEGER NOT NULL DEFAULT 1,
  version          INTEGER NOT NULL DEFAULT 1,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_scoring_rules_firm ON crm_scoring_rules (firm_id, id);

-- Every adjustment of every lead's score, with its rule and reason.
CREATE TABLE crm_score_adjustments (
  id           TEXT PRIMARY KEY,            -- sca_…
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  lead_id      TEXT NOT NULL REFERENCES crm_leads (id),
  rule_id      TEXT NOT NULL,
  rule_name    TEXT NOT NULL,
  points       INTEGER NOT NULL,
  reason       TEXT NOT NULL,
  applied_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  withdrawn_at INTEGER
) STRICT;
CREATE INDEX crm_score_adjustments_lead ON crm_score_adjustments (firm_id, lead_id, id);
-- The daily sweep finds adjustments that fade.
CREATE INDEX crm_score_adjustments_expiry ON crm_score_adjustments (expires_at) WHERE expires_at IS NOT NULL;

-- A manager's figure beside the computed forecast of a period (per member, or
-- the whole firm when owner_id is '').
CREATE TABLE crm_forecast_adjustments (
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  period       TEXT NOT NULL,               -- 2027-03 or 2027-Q1
  currency     TEXT NOT NULL,
  owner_id     TEXT NOT NULL DEFAULT '',
  amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
  note         TEXT,
  set_by       TEXT NOT NULL,
  set_at       INTEGER NOT NULL,
  PRIMARY KEY (firm_id, period, currency, owner_id)
) STRICT;

-- The firm's win model, trained from its closed deals (weekly, or on request).
CREATE TABLE crm_models (
  firm_id    TEXT NOT NULL REFERENCES firm_firms (id),
  kind       TEXT NOT NULL,                 -- win
  body       TEXT NOT NULL,                 -- JSON of the model
  trained_at INTEGER NOT NULL,
  PRIMARY KEY (firm_id, kind)
) STRICT;
