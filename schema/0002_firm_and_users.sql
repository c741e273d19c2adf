-- Firms (the tenant), user accounts, and memberships between them.

CREATE TABLE auth_users (
  id            TEXT PRIMARY KEY,           -- usr_…
  email         TEXT NOT NULL UNIQUE,       -- lower-case
  name          TEXT NOT NULL,
  password_hash TEXT,                       -- Argon2id PHC string; NULL for SSO-only accounts
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE firm_firms (
  id                     TEXT PRIMARY KEY,  -- frm_…
  name                   TEXT NOT NULL,
  slug                   TEXT NOT NULL UNIQUE,
  status                 TEXT NOT NULL DEFAULT 'trial'
                         CHECK (status IN ('trial', 'active', 'suspended', 'canceled')),
  tier                   TEXT NOT NULL DEFAULT 'starter'
                         CHECK (tier IN ('starter', 'professional', 'enterprise')),
  timezone               TEXT NOT NULL,
  currency               TEXT NOT NULL,
  locale                 TEXT NOT NULL DEFAULT 'en-US',
  fiscal_year_start_month INTEGER NOT NULL DEFAULT 1 CHECK (fiscal_year_start_month BETWEEN 1 AND 12),
  trial_ends_at          INTEGER,
  provisioned_at         INTEGER,           -- set by the firm.created consumer
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL,
  version                INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE firm_memberships (
  firm_id        TEXT NOT NULL REFERENCES firm_firms (id),
  user_id        TEXT NOT NULL REFERENCES auth_users (id),
  role           TEXT NOT NULL
                 CHECK (role IN ('firm_admin', 'partner', 'manager', 'staff', 'billing', 'readonly')),
  flags          TEXT NOT NULL DEFAULT '[]', -- JSON array of flag names
  is_active      INTEGER NOT NULL DEFAULT 1,
  invited_at     INTEGER,
  last_active_at INTEGER,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (firm_id, user_id)
) STRICT;
CREATE INDEX firm_memberships_user ON firm_memberships (user_id);

-- Background provisioning steps, written once per firm and step by event consumers.
CREATE TABLE firm_provisioning_steps (
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  step         TEXT NOT NULL,
  event_id     TEXT NOT NULL,
  completed_at INTEGER NOT NULL,
  PRIMARY KEY (firm_id, step)
) STRICT;
