-- Sign-in: per-account failure counting and lockout, sessions with rotating
-- refresh tokens, and the append-only, hash-chained audit log.

ALTER TABLE auth_users ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE auth_users ADD COLUMN failure_window_start INTEGER;   -- Unix ms of the first failure counted
ALTER TABLE auth_users ADD COLUMN locked_until INTEGER;           -- Unix ms
ALTER TABLE auth_users ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0; -- consecutive locks, for the doubling

-- A session is one sign-in of one user into one firm; its refresh tokens form a
-- rotation family: reuse of a rotated token revokes the session.
CREATE TABLE auth_sessions (
  id             TEXT PRIMARY KEY,          -- ses_…
  user_id        TEXT NOT NULL REFERENCES auth_users (id),
  firm_id        TEXT NOT NULL,
  amr            TEXT NOT NULL,             -- JSON array of methods
  ip             TEXT,
  user_agent     TEXT,
  created_at     INTEGER NOT NULL,
  last_used_at   INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  revoked_at     INTEGER,
  revoked_reason TEXT
) STRICT;
CREATE INDEX auth_sessions_user ON auth_sessions (user_id, created_at);

CREATE TABLE auth_refresh_tokens (
  token_hash  TEXT PRIMARY KEY,             -- SHA-256 (hex) of the opaque token; the token is never stored
  session_id  TEXT NOT NULL REFERENCES auth_sessions (id),
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  rotated_at  INTEGER,
  replaced_by TEXT
) STRICT;
CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id);

-- Audit events, one hash chain per firm ('platform' for events outside any firm).
-- Each row's hash covers its content and the previous row's hash; the primary key
-- (chain, seq) makes two writers that read the same tail collide instead of
-- forking the chain (the loser re-reads and retries).
CREATE TABLE kernel_audit_events (
  chain       TEXT NOT NULL,                -- firm id or 'platform'
  seq         INTEGER NOT NULL,             -- 1, 2, 3 … within the chain
  id          TEXT NOT NULL UNIQUE,         -- aud_…
  category    TEXT NOT NULL,
  action      TEXT NOT NULL,
  severity    TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  actor       TEXT,                         -- user id, api key id, or NULL for anonymous
  target      TEXT,
  ip          TEXT,
  user_agent  TEXT,
  request_id  TEXT,
  details     TEXT NOT NULL DEFAULT '{}',   -- JSON; never a password, token or secret
  at          INTEGER NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL,
  PRIMARY KEY (chain, seq)
) STRICT;
