-- Invitations to join a firm, by e-mail; the token is only in the mail.

CREATE TABLE firm_invitations (
  id          TEXT PRIMARY KEY,             -- inv_…
  firm_id     TEXT NOT NULL REFERENCES firm_firms (id),
  email       TEXT NOT NULL,
  role        TEXT NOT NULL
              CHECK (role IN ('firm_admin', 'partner', 'manager', 'staff', 'billing', 'readonly')),
  flags       TEXT NOT NULL DEFAULT '[]',
  token_hash  TEXT NOT NULL UNIQUE,
  invited_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  accepted_at INTEGER,
  revoked_at  INTEGER
) STRICT;
-- One pending invitation per address and firm.
CREATE UNIQUE INDEX firm_invitations_pending ON firm_invitations (firm_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
