-- API keys for machines: scoped to one firm, shown once, stored hashed.

CREATE TABLE auth_api_keys (
  id           TEXT PRIMARY KEY,            -- key_…
  firm_id      TEXT NOT NULL REFERENCES firm_firms (id),
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL UNIQUE,        -- public part, shown in lists and logs
  secret_hash  TEXT NOT NULL,               -- SHA-256 (hex) of the whole key
  scopes       TEXT NOT NULL,               -- JSON array of "area:access"
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER,
  revoked_at   INTEGER
) STRICT;
CREATE INDEX auth_api_keys_firm ON auth_api_keys (firm_id, created_at);
