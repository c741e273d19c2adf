-- Outbound mail, written in the batch of the change that causes it and delivered by
-- the request (first try) or the cron sweep (retries with backoff); and single-use
-- tokens sent by mail (password reset, e-mail verification, invitations).

CREATE TABLE kernel_mail_outbox (
  id              TEXT PRIMARY KEY,         -- mail_…
  to_addr         TEXT NOT NULL,
  subject         TEXT NOT NULL,
  body_text       TEXT NOT NULL,            -- emptied once sent (it may hold a link with a token)
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  sent_at         INTEGER,
  provider_id     TEXT,
  last_error      TEXT
) STRICT;
CREATE INDEX kernel_mail_outbox_due ON kernel_mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

CREATE TABLE auth_tokens (
  token_hash TEXT PRIMARY KEY,              -- SHA-256 of the token; the token is only in the mail
  purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification', 'invitation')),
  user_id    TEXT,
  email      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
) STRICT;
CREATE INDEX auth_tokens_user ON auth_tokens (user_id, purpose);

ALTER TABLE auth_users ADD COLUMN email_verified_at INTEGER;
