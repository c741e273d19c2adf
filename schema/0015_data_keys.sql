-- Encryption at rest: each owner of sealed values (a firm, or a person for the
-- account-level secrets that follow them across firms) has numbered 256-bit data
-- keys, stored only wrapped by the deployment's root key (SECRETS_KEYS). Values are
-- sealed under the active version; retired versions still open what they sealed
-- until the re-seal moves it; a destroyed version has no key left (crypto-shredding).

CREATE TABLE kernel_data_keys (
  owner        TEXT NOT NULL,                -- frm_… or usr_…
  version      INTEGER NOT NULL CHECK (version >= 1),
  wrapped      TEXT,                         -- the key sealed by the root key; NULL once destroyed
  status       TEXT NOT NULL CHECK (status IN ('active', 'retired', 'destroyed')),
  uses         INTEGER NOT NULL DEFAULT 0,   -- values sealed under it (rotation is due at 2^31)
  created_at   INTEGER NOT NULL,
  retired_at   INTEGER,
  destroyed_at INTEGER,
  PRIMARY KEY (owner, version),
  CHECK ((status = 'destroyed') = (wrapped IS NULL))
) STRICT;
-- At most one active key per owner.
CREATE UNIQUE INDEX kernel_data_keys_active ON kernel_data_keys (owner) WHERE status = 'active';
