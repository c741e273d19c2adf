-- OpenID Connect sign-in: the short-lived state of an authorization request, and
-- the link between a provider's subject and a Firmament account.

CREATE TABLE auth_oidc_states (
  state_hash    TEXT PRIMARY KEY,           -- SHA-256 of the state parameter
  provider      TEXT NOT NULL,
  nonce         TEXT NOT NULL,
  code_verifier TEXT NOT NULL,              -- PKCE verifier; lives 10 minutes, deleted on use
  firm          TEXT,                       -- firm id or slug asked for, if any
  browser       INTEGER NOT NULL DEFAULT 0, -- answer with cookies
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_identities (
  provider   TEXT NOT NULL,
  subject    TEXT NOT NULL,
  user_id    TEXT NOT NULL REFERENCES auth_users (id),
  email      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (provider, subject)
) STRICT;
CREATE INDEX auth_identities_user ON auth_identities (user_id);
