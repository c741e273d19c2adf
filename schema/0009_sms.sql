-- Text-message second factor: the enrolled phone, the one-time codes sent to it
-- (hashed), and a log of sends for the hourly limits.

CREATE TABLE auth_sms_factors (
  user_id      TEXT PRIMARY KEY REFERENCES auth_users (id),
  phone        TEXT NOT NULL,               -- E.164
  confirmed_at INTEGER,
  created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_sms_codes (
  id         TEXT PRIMARY KEY,              -- smc_…
  user_id    TEXT NOT NULL REFERENCES auth_users (id),
  purpose    TEXT NOT NULL CHECK (purpose IN ('enrol', 'second_factor')),
  code_hash  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  used_at    INTEGER
) STRICT;
CREATE INDEX auth_sms_codes_user ON auth_sms_codes (user_id, purpose, created_at);
CREATE INDEX auth_sms_codes_recent ON auth_sms_codes (created_at);
