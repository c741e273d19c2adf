-- Tasks on deals, and what entering a stage sets off.
CREATE TABLE crm_deal_tasks (
  id            TEXT PRIMARY KEY,                 -- tsk_…
  firm_id       TEXT NOT NULL REFERENCES firm_firms (id),
  deal_id       TEXT NOT NULL REFERENCES crm_deals (id),
  title         TEXT NOT NULL,
  priority      TEXT NOT NULL CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
  status        TEXT NOT NULL CHECK (status IN ('open', 'done')),
  assignee_id   TEXT,
  due_on        TEXT,
  completed_at  INTEGER,
  automation_id TEXT,
  version       INTEGER NOT NULL DEFAULT 1,
  created_by    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_deal_tasks_deal ON crm_deal_tasks (firm_id, deal_id, id);

CREATE TABLE crm_stage_automations (
  id          TEXT PRIMARY KEY,                   -- aut_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  pipeline_id TEXT NOT NULL REFERENCES crm_pipelines (id),
  stage_id    TEXT NOT NULL,
  step        TEXT NOT NULL,                      -- {"action": …, …its fields}
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_stage_automations_stage ON crm_stage_automations (firm_id, stage_id, id);
