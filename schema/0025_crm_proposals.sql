-- What the firm offers on a deal, line by line, until a date.
CREATE TABLE crm_proposals (
  id               TEXT PRIMARY KEY,               -- prp_…
  firm_id          TEXT NOT NULL REFERENCES firm_firms (id),
  deal_id          TEXT NOT NULL REFERENCES crm_deals (id),
  title            TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('draft', 'sent', 'accepted', 'rejected', 'expired')),
  currency         TEXT NOT NULL,
  lines            TEXT NOT NULL DEFAULT '[]',
  total_minor      INTEGER NOT NULL CHECK (total_minor >= 0),
  valid_until      TEXT NOT NULL,                  -- YYYY-MM-DD, the last day it may be accepted
  notes            TEXT,
  sent_at          INTEGER,
  decided_at       INTEGER,
  rejection_reason TEXT,
  version          INTEGER NOT NULL DEFAULT 1,
  created_by       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_proposals_deal ON crm_proposals (firm_id, deal_id, id);
-- The daily sweep finds sent proposals past their date.
CREATE INDEX crm_proposals_sent ON crm_proposals (status, valid_until) WHERE status = 'sent';
