-- SAML single sign-on, per firm: the firm's identity provider, pending
-- authentication requests (for InResponseTo), and assertion ids already used.

CREATE TABLE sso_saml_configs (
  firm_id             TEXT PRIMARY KEY REFERENCES firm_firms (id),
  idp_entity_id       TEXT NOT NULL,
  idp_sso_url         TEXT NOT NULL,
  idp_certificate     TEXT NOT NULL,        -- PEM; public, so stored as is
  email_attribute     TEXT NOT NULL DEFAULT 'email',
  name_attribute      TEXT NOT NULL DEFAULT 'displayName',
  default_role        TEXT NOT NULL DEFAULT 'staff'
                      CHECK (default_role IN ('partner', 'manager', 'staff', 'billing', 'readonly')),
  allow_idp_initiated INTEGER NOT NULL DEFAULT 0,
  updated_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE sso_saml_requests (
  request_id TEXT PRIMARY KEY,
  firm_id    TEXT NOT NULL,
  browser    INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE TABLE sso_saml_assertions (
  firm_id      TEXT NOT NULL,
  assertion_id TEXT NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (firm_id, assertion_id)
) STRICT;
