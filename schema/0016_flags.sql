-- Feature flags per firm, their change history, and experiment exposures. The
-- evaluation copy is a KV snapshot per firm (`flags:<firm id>`), rewritten after
-- every change; D1 is the truth.

CREATE TABLE flags_flags (
  firm_id     TEXT NOT NULL,
  key         TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('release', 'experiment', 'ops', 'permission')),
  description TEXT NOT NULL DEFAULT '',
  definition  TEXT NOT NULL,                 -- the Flag as JSON (type, variants, rules, salt …)
  enabled     INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  expires_at  INTEGER,                       -- release flags: 90 days after creation
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_by  TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (firm_id, key)
) STRICT;

CREATE TABLE flags_changes (
  firm_id    TEXT NOT NULL,
  key        TEXT NOT NULL,
  version    INTEGER NOT NULL,
  action     TEXT NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
  definition TEXT,                           -- the flag after the change (NULL once deleted)
  changed_by TEXT NOT NULL,
  changed_at INTEGER NOT NULL,
  PRIMARY KEY (firm_id, key, version)
) STRICT;

-- One exposure per (flag, subject, variant, UTC day): what an experiment counts.
CREATE TABLE flags_exposures (
  firm_id  TEXT NOT NULL,
  key      TEXT NOT NULL,
  subject  TEXT NOT NULL,                    -- usr_… or frm_…
  variant  TEXT NOT NULL,
  day      TEXT NOT NULL,                    -- YYYY-MM-DD
  first_at INTEGER NOT NULL,
  PRIMARY KEY (firm_id, key, subject, variant, day)
) STRICT;
