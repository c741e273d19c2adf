-- What the firm sells: one price per product, in one currency.
CREATE TABLE crm_products (
  id               TEXT PRIMARY KEY,               -- prd_…
  firm_id          TEXT NOT NULL REFERENCES firm_firms (id),
  code             TEXT NOT NULL,
  name             TEXT NOT NULL,
  description      TEXT,
  kind             TEXT NOT NULL CHECK (kind IN ('service', 'product', 'subscription', 'bundle')),
  status           TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'archived')),
  unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
  currency         TEXT NOT NULL,
  billing_interval TEXT CHECK (billing_interval IN ('month', 'quarter', 'year')),
  category         TEXT,
  tags             TEXT NOT NULL DEFAULT '[]',
  version          INTEGER NOT NULL DEFAULT 1,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  CHECK ((kind = 'subscription') = (billing_interval IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX crm_products_code ON crm_products (firm_id, code);
CREATE INDEX crm_products_status ON crm_products (firm_id, status, id);

-- Marketing pushes; their results are counted from the leads and deals naming them.
CREATE TABLE crm_campaigns (
  id                TEXT PRIMARY KEY,              -- cmp_…
  firm_id           TEXT NOT NULL REFERENCES firm_firms (id),
  name              TEXT NOT NULL,
  description       TEXT,
  kind              TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('planning', 'active', 'paused', 'completed', 'cancelled')),
  start_on          TEXT NOT NULL,
  end_on            TEXT NOT NULL CHECK (end_on >= start_on),
  currency          TEXT NOT NULL,
  budget_minor      INTEGER NOT NULL CHECK (budget_minor >= 0),
  actual_cost_minor INTEGER NOT NULL DEFAULT 0 CHECK (actual_cost_minor >= 0),
  target_leads      INTEGER,
  owner_id          TEXT,
  version           INTEGER NOT NULL DEFAULT 1,
  created_by        TEXT NOT NULL,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_campaigns_firm ON crm_campaigns (firm_id, status, id);
ALTER TABLE crm_leads ADD COLUMN campaign_id TEXT;
ALTER TABLE crm_deals ADD COLUMN campaign_id TEXT;
CREATE INDEX crm_leads_campaign ON crm_leads (firm_id, campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX crm_deals_campaign ON crm_deals (firm_id, campaign_id) WHERE campaign_id IS NOT NULL;

-- What a deal's client signed.
CREATE TABLE crm_contracts (
  id                 TEXT PRIMARY KEY,             -- ctr_…
  firm_id            TEXT NOT NULL REFERENCES firm_firms (id),
  number             TEXT NOT NULL,
  deal_id            TEXT NOT NULL REFERENCES crm_deals (id),
  proposal_id        TEXT REFERENCES crm_proposals (id),
  title              TEXT NOT NULL,
  description        TEXT,
  status             TEXT NOT NULL CHECK (status IN ('draft', 'active', 'on_hold', 'completed', 'terminated')),
  currency           TEXT NOT NULL,
  total_minor        INTEGER NOT NULL CHECK (total_minor >= 0),
  payment_terms      TEXT NOT NULL,
  start_on           TEXT NOT NULL,
  end_on             TEXT NOT NULL CHECK (end_on >= start_on),
  signed_on          TEXT,
  signed_by          TEXT,
  termination_reason TEXT,
  notes              TEXT,
  version            INTEGER NOT NULL DEFAULT 1,
  created_by         TEXT NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  CHECK ((status = 'draft') = (signed_on IS NULL))
) STRICT;
CREATE UNIQUE INDEX crm_contracts_number ON crm_contracts (firm_id, number);
CREATE INDEX crm_contracts_deal ON crm_contracts (firm_id, deal_id, id);
CREATE INDEX crm_contracts_status ON crm_contracts (firm_id, status, id);
