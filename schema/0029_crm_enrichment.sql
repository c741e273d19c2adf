-- Lookups of a lead at the enrichment provider, each run as a job.
CREATE TABLE crm_enrichments (
  id           TEXT PRIMARY KEY,                -- enr_…
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  lead_id      TEXT NOT NULL REFERENCES crm_leads (id),
  status       TEXT NOT NULL CHECK (status IN ('pending', 'found', 'not_found', 'failed')),
  lookup       TEXT NOT NULL,                   -- email:… or domain:…
  job_id       TEXT,
  applied      TEXT NOT NULL DEFAULT '{}',      -- field → the provider's value now in it
  kept         TEXT NOT NULL DEFAULT '[]',      -- fields a person typed, left alone
  error        TEXT,
  requested_by TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  finished_at  INTEGER
) STRICT;
CREATE INDEX crm_enrichments_lead ON crm_enrichments (firm_id, lead_id, id);
-- One lookup of a lead at a time.
CREATE UNIQUE INDEX crm_enrichments_pending ON crm_enrichments (firm_id, lead_id) WHERE status = 'pending';
