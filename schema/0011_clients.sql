-- The clients module: the firm's clients and the people who use their portal.
-- Portal users are not members of the firm: they never count against the plan and
-- see only their own client's records.

CREATE TABLE clients_clients (
  id          TEXT PRIMARY KEY,             -- cli_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL DEFAULT 'organization'
              CHECK (kind IN ('organization', 'individual')),
  email       TEXT,                         -- main address for the client, if any
  status      TEXT NOT NULL DEFAULT 'active'
              CHECK (status IN ('active', 'archived')),
  version     INTEGER NOT NULL DEFAULT 1,   -- etag
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX clients_clients_firm ON clients_clients (firm_id, id);

-- One portal access per person and firm (invitations refuse a second one, and
-- refuse staff of the same firm).
CREATE TABLE clients_portal_users (
  firm_id        TEXT NOT NULL REFERENCES firm_firms (id),
  user_id        TEXT NOT NULL REFERENCES auth_users (id),
  client_id      TEXT NOT NULL REFERENCES clients_clients (id),
  role           TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member', 'viewer')),
  flags          TEXT NOT NULL DEFAULT '[]',   -- JSON array of portal flag names
  is_active      INTEGER NOT NULL DEFAULT 1,
  invited_by     TEXT NOT NULL,
  last_active_at INTEGER,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (firm_id, user_id)
) STRICT;
CREATE INDEX clients_portal_users_user ON clients_portal_users (user_id);
CREATE INDEX clients_portal_users_client ON clients_portal_users (firm_id, client_id);

-- Invitations to a client's portal; the token is only in the mail.
CREATE TABLE clients_portal_invitations (
  id          TEXT PRIMARY KEY,             -- pin_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  client_id   TEXT NOT NULL REFERENCES clients_clients (id),
  email       TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  flags       TEXT NOT NULL DEFAULT '[]',
  token_hash  TEXT NOT NULL UNIQUE,
  invited_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  accepted_at INTEGER,
  revoked_at  INTEGER
) STRICT;
-- One pending portal invitation per address and firm.
CREATE UNIQUE INDEX clients_portal_invitations_pending ON clients_portal_invitations (firm_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
