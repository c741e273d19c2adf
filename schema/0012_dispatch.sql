-- Event fan-out: one row per (event, subscribing module). The dispatcher claims a row
-- before it hands the event over, records the outcome, and retries each subscriber
-- on its own schedule; a subscriber that keeps failing leaves the row `dead` for a
-- firm admin to replay. The event itself stays in kernel_outbox.

CREATE TABLE dispatch_deliveries (
  event_id        TEXT NOT NULL,
  subscriber      TEXT NOT NULL,            -- module name: firm, webhooks, …
  firm_id         TEXT NOT NULL,
  type            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0, -- since the event arrived or was last replayed
  replays         INTEGER NOT NULL DEFAULT 0,
  seen            INTEGER NOT NULL DEFAULT 1, -- times the queue brought the event (duplicates included)
  claimed_until   INTEGER NOT NULL DEFAULT 0, -- Unix ms; a claim past this is lost
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  delivered_at    INTEGER,
  dead_at         INTEGER,
  PRIMARY KEY (event_id, subscriber)
) STRICT;
CREATE INDEX dispatch_deliveries_due ON dispatch_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX dispatch_deliveries_firm ON dispatch_deliveries (firm_id, status, event_id);
