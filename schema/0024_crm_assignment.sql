-- Who works a lead nobody was named for, and who takes over when a member leaves:
-- the firm's assignment rules, tried by priority, and the rotation each keeps.

CREATE TABLE crm_assignment_rules (
  id          TEXT PRIMARY KEY,               -- asr_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  name        TEXT NOT NULL,
  method      TEXT NOT NULL CHECK (method IN ('round_robin', 'territory', 'value_range', 'source')),
  users       TEXT NOT NULL DEFAULT '[]',     -- round_robin, value_range, source
  field       TEXT,                           -- territory: the record's field
  territories TEXT NOT NULL DEFAULT '{}',     -- territory: value → members
  currency    TEXT,                           -- value_range
  min_minor   INTEGER,
  max_minor   INTEGER,
  sources     TEXT NOT NULL DEFAULT '[]',     -- source
  priority    INTEGER NOT NULL DEFAULT 0,
  is_active   INTEGER NOT NULL DEFAULT 1,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX crm_assignment_rules_firm ON crm_assignment_rules (firm_id, priority);

-- The rotation of each rule (and territory) and of the firm-wide fallback ('*'):
-- a counter moved in one statement, so two leads arriving together never land on
-- the same turn.
CREATE TABLE crm_assignment_turns (
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  rule_id      TEXT NOT NULL,
  key          TEXT NOT NULL,
  turn         INTEGER NOT NULL,
  last_user_id TEXT,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (firm_id, rule_id, key)
) STRICT;
