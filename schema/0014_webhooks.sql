-- Outbound webhooks. A firm's endpoints subscribe to event types; each public
-- domain event becomes one message (its signed body fixed once) and one delivery
-- per matching endpoint. The `webhooks` queue carries {delivery_id, attempt,
-- due_at}; a sender claims the delivery row with one conditional update, records
-- the attempt and schedules the next one, so a redelivered queue message sends
-- nothing twice. Secrets and custom headers are sealed (AES-256-GCM, bound to the
-- endpoint id).

CREATE TABLE webhooks_endpoints (
  id                   TEXT PRIMARY KEY,          -- whe_…
  firm_id              TEXT NOT NULL,
  name                 TEXT NOT NULL,
  url                  TEXT NOT NULL,
  description          TEXT NOT NULL DEFAULT '',
  status               TEXT NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
  disabled_reason      TEXT CHECK (disabled_reason IN ('manual', 'failing', 'gone')),
  filter               TEXT NOT NULL,             -- JSON array of types, `group.*` or `*`
  secret               TEXT NOT NULL,             -- sealed whsec_…
  previous_secret      TEXT,                      -- sealed; signs beside the current one until previous_expires_at
  previous_expires_at  INTEGER,
  timeout_secs         INTEGER NOT NULL CHECK (timeout_secs BETWEEN 1 AND 30),
  max_attempts         INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 8),
  rate_limit_per_sec   INTEGER CHECK (rate_limit_per_sec IS NULL OR rate_limit_per_sec >= 1),
  headers              TEXT,                      -- sealed JSON object, at most 10 entries
  header_names         TEXT NOT NULL DEFAULT '[]', -- the custom headers' names, shown without their values
  client_id            TEXT,
  failing_since        INTEGER,                   -- first failure after the last success
  last_success_at      INTEGER,
  last_failure_at      INTEGER,
  disabled_at          INTEGER,
  created_by           TEXT,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  version              INTEGER NOT NULL DEFAULT 1
) STRICT;
CREATE INDEX webhooks_endpoints_firm ON webhooks_endpoints (firm_id, status);
CREATE INDEX webhooks_endpoints_failing ON webhooks_endpoints (failing_since) WHERE status = 'active';

CREATE TABLE webhooks_messages (
  id           TEXT PRIMARY KEY,                  -- msg_…: the webhook-id, stable across attempts
  firm_id      TEXT NOT NULL,
  event_id     TEXT NOT NULL,                     -- the domain event (or test_…)
  type         TEXT NOT NULL,
  occurred_at  INTEGER NOT NULL,
  body         TEXT NOT NULL,                     -- the exact bytes signed and sent
  created_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX webhooks_messages_event ON webhooks_messages (firm_id, event_id);
CREATE INDEX webhooks_messages_firm ON webhooks_messages (firm_id, created_at);

CREATE TABLE webhooks_deliveries (
  id               TEXT PRIMARY KEY,              -- whd_…
  firm_id          TEXT NOT NULL,
  message_id       TEXT NOT NULL,
  endpoint_id      TEXT NOT NULL,
  type             TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'retrying', 'exhausted', 'cancelled')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,                       -- due time of the next attempt (pending, retrying)
  lease_expires_at INTEGER,                       -- while sending
  claimed_by       TEXT,                          -- the claim token of the sender holding it
  trigger          TEXT NOT NULL DEFAULT 'scheduled' CHECK (trigger IN ('scheduled', 'manual', 'replay')),
  last_status      INTEGER,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  completed_at     INTEGER
) STRICT;
CREATE UNIQUE INDEX webhooks_deliveries_once ON webhooks_deliveries (endpoint_id, message_id);
CREATE INDEX webhooks_deliveries_firm ON webhooks_deliveries (firm_id, id);
CREATE INDEX webhooks_deliveries_due ON webhooks_deliveries (status, next_attempt_at);
CREATE INDEX webhooks_deliveries_endpoint ON webhooks_deliveries (endpoint_id, status, updated_at);

CREATE TABLE webhooks_attempts (
  delivery_id       TEXT NOT NULL,
  number            INTEGER NOT NULL,
  firm_id           TEXT NOT NULL,
  endpoint_id       TEXT NOT NULL,
  message_id        TEXT NOT NULL,
  trigger           TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual', 'replay')),
  started_at        INTEGER NOT NULL,
  duration_ms       INTEGER NOT NULL,
  succeeded         INTEGER NOT NULL,
  status_code       INTEGER,
  error_class       TEXT CHECK (error_class IN ('timeout', 'dns', 'tls', 'connection', 'blocked_destination', 'http_status')),
  error             TEXT,
  response_excerpt  TEXT,                         -- at most 5,000 characters
  response_headers  TEXT,                         -- JSON object
  PRIMARY KEY (delivery_id, number)
) STRICT;
CREATE INDEX webhooks_attempts_endpoint ON webhooks_attempts (endpoint_id, started_at);
CREATE INDEX webhooks_attempts_firm ON webhooks_attempts (firm_id, started_at);
