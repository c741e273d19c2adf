-- Notifications: one row per (event, template, recipient) — the in-app item and the
-- record — and one delivery per channel with what the pipeline decided. E-mail goes
-- out through kernel_mail_outbox; held and digested e-mail waits here, rendered.

CREATE TABLE notify_notifications (
  id         TEXT PRIMARY KEY,              -- ntf_…
  firm_id    TEXT NOT NULL,
  recipient  TEXT NOT NULL,                 -- usr_… or an e-mail address (no account yet)
  user_id    TEXT,                          -- set when the recipient is a person with an account
  template   TEXT NOT NULL,
  category   TEXT NOT NULL,
  critical   INTEGER NOT NULL,
  title      TEXT,                          -- the in-app text; NULL when not shown in-app
  link       TEXT,
  event_id   TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  read_at    INTEGER,
  UNIQUE (event_id, template, recipient)
) STRICT;
CREATE INDEX notify_inbox ON notify_notifications (firm_id, user_id, id) WHERE title IS NOT NULL;
CREATE INDEX notify_unread ON notify_notifications (firm_id, user_id) WHERE title IS NOT NULL AND read_at IS NULL;

CREATE TABLE notify_deliveries (
  id              TEXT PRIMARY KEY,         -- ndl_…
  notification_id TEXT NOT NULL REFERENCES notify_notifications (id),
  firm_id         TEXT NOT NULL,
  user_id         TEXT,
  channel         TEXT NOT NULL CHECK (channel IN ('in_app', 'email')),
  status          TEXT NOT NULL
                  CHECK (status IN ('shown', 'queued', 'held', 'digest', 'digested', 'declined', 'suppressed')),
  address         TEXT,
  subject         TEXT,                     -- rendered, while held or waiting for the digest
  body            TEXT,
  due_at          INTEGER,                  -- held: when quiet hours end
  mail_id         TEXT,                     -- the kernel_mail_outbox row once queued
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX notify_deliveries_held ON notify_deliveries (due_at) WHERE status = 'held';
CREATE INDEX notify_deliveries_digest ON notify_deliveries (firm_id, user_id) WHERE status = 'digest';

-- A person's preferences in one firm (JSON of shared::notify::pipeline::Settings).
CREATE TABLE notify_settings (
  firm_id    TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  settings   TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (firm_id, user_id)
) STRICT;

-- Addresses no e-mail goes to (hard bounces, complaints, unsubscribes).
CREATE TABLE notify_suppressions (
  address    TEXT PRIMARY KEY,
  reason     TEXT NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribed', 'manual')),
  created_at INTEGER NOT NULL
) STRICT;
