-- Kernel tables shared by every module: the transactional outbox, consumer
-- receipts (at-least-once delivery, act-once consumers) and idempotency records.

CREATE TABLE kernel_outbox (
  id           TEXT PRIMARY KEY,            -- evt_…, time-sortable
  firm_id      TEXT NOT NULL,
  type         TEXT NOT NULL,
  payload      TEXT NOT NULL,               -- the JSON envelope as published
  created_at   INTEGER NOT NULL,            -- Unix ms
  available_at INTEGER NOT NULL,            -- the sweep may publish it from then on
  published_at INTEGER,                     -- last hand-off to the queue
  attempts     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX kernel_outbox_pending ON kernel_outbox (available_at) WHERE published_at IS NULL;
CREATE INDEX kernel_outbox_firm ON kernel_outbox (firm_id, id);

CREATE TABLE kernel_event_receipts (
  consumer      TEXT NOT NULL,
  event_id      TEXT NOT NULL,
  firm_id       TEXT NOT NULL,
  first_seen_at INTEGER NOT NULL,
  last_seen_at  INTEGER NOT NULL,
  deliveries    INTEGER NOT NULL,
  PRIMARY KEY (consumer, event_id)
) STRICT;
CREATE INDEX kernel_event_receipts_event ON kernel_event_receipts (event_id);

CREATE TABLE kernel_idempotency (
  scope       TEXT NOT NULL,                -- firm id, or 'public' for unauthenticated routes
  key         TEXT NOT NULL,
  fingerprint TEXT NOT NULL,                -- SHA-256 of method, path and body
  status      INTEGER NOT NULL,
  body        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX kernel_idempotency_age ON kernel_idempotency (created_at);
