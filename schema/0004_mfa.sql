-- Second factors: TOTP (secret sealed with AES-256-GCM), single-use recovery codes
-- (stored hashed), and the short-lived challenges between password and second factor.

CREATE TABLE auth_totp_factors (
  user_id        TEXT PRIMARY KEY REFERENCES auth_users (id),
  secret_sealed  TEXT NOT NULL,
  confirmed_at   INTEGER,                   -- NULL while enrolment is unconfirmed
  last_used_step INTEGER,                   -- no code of this 30 s step or earlier is accepted again
  created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_recovery_codes (
  user_id    TEXT NOT NULL REFERENCES auth_users (id),
  code_hash  TEXT NOT NULL,
  used_at    INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE auth_mfa_challenges (
  id_hash    TEXT PRIMARY KEY,              -- SHA-256 of the challenge token
  user_id    TEXT NOT NULL REFERENCES auth_users (id),
  firm_id    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  used_at    INTEGER
) STRICT;

-- When the session's holder last proved a second factor (for step-up).
ALTER TABLE auth_sessions ADD COLUMN mfa_at INTEGER;
