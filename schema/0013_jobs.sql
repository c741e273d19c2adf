-- Background jobs. The row is the record of truth; the `jobs` queue only carries
-- {job_id, firm_id, attempt}. A runner claims a row with one conditional update
-- (pending, due, under the firm's concurrency for the category) and holds a lease
-- it renews while the handler runs; the every-minute tick resends due jobs and
-- takes expired leases back. Jobs that run out of attempts, or fail in a way no
-- retry can fix, leave a dead-letter entry for a manager to reprocess or discard.

CREATE TABLE jobs (
  id                TEXT PRIMARY KEY,         -- job_…
  firm_id           TEXT NOT NULL,
  category          TEXT NOT NULL CHECK (category IN ('ingestion', 'sync', 'recurrence', 'orchestration', 'documents', 'notifications', 'export', 'maintenance')),
  type              TEXT NOT NULL,
  payload_version   TEXT NOT NULL DEFAULT '1.0',
  payload           TEXT NOT NULL,            -- JSON object, at most 10,240 bytes
  idempotency_key   TEXT NOT NULL,            -- handed to the handler; a reprocessed job keeps its original's
  correlation_id    TEXT NOT NULL,
  priority          INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 3),
  status            TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'dlq', 'cancelled')),
  scheduled_at      INTEGER NOT NULL,         -- first due time (Unix ms)
  due_at            INTEGER NOT NULL,         -- when it may next run: scheduled_at, then each retry's time
  sent_at           INTEGER,                  -- when a queue message for the current attempt was last sent
  attempt_count     INTEGER NOT NULL DEFAULT 0,
  max_attempts      INTEGER NOT NULL,
  claimed_by        TEXT,                     -- the claim token of the runner holding the lease
  claimed_at        INTEGER,
  lease_expires_at  INTEGER,
  started_at        INTEGER,                  -- first claim
  completed_at      INTEGER,                  -- reached a final status
  error_class       TEXT CHECK (error_class IN ('transient', 'retryable', 'non_retryable', 'rate_limited')),
  last_error        TEXT,
  result            TEXT,                     -- small JSON
  cancel_requested  INTEGER NOT NULL DEFAULT 0,
  manual            INTEGER NOT NULL DEFAULT 0, -- started by a person: never retried automatically
  reprocess_of      TEXT,                     -- the dead-letter entry this job reprocesses
  sla_breached_at   INTEGER,
  created_by        TEXT,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
) STRICT;
-- Idempotent enqueue: one original job per (firm, key); reprocessed jobs reuse the key.
CREATE UNIQUE INDEX jobs_idempotency ON jobs (firm_id, idempotency_key) WHERE reprocess_of IS NULL;
CREATE INDEX jobs_due ON jobs (status, due_at);
CREATE INDEX jobs_firm ON jobs (firm_id, id);
CREATE INDEX jobs_running ON jobs (firm_id, category, status);
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'processing';

CREATE TABLE jobs_attempts (
  job_id        TEXT NOT NULL,
  number        INTEGER NOT NULL,
  firm_id       TEXT NOT NULL,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  outcome       TEXT CHECK (outcome IN ('completed', 'failed', 'lost', 'timed_out')),
  error_class   TEXT CHECK (error_class IN ('transient', 'retryable', 'non_retryable', 'rate_limited')),
  status_code   INTEGER,                      -- the handler's or provider's HTTP status
  error         TEXT,
  duration_ms   INTEGER,
  PRIMARY KEY (job_id, number)
) STRICT;
CREATE INDEX jobs_attempts_firm ON jobs_attempts (firm_id, started_at);

CREATE TABLE jobs_dead_letters (
  id              TEXT PRIMARY KEY,           -- dlq_…
  job_id          TEXT NOT NULL UNIQUE,       -- the original job
  firm_id         TEXT NOT NULL,
  category        TEXT NOT NULL,
  type            TEXT NOT NULL,
  payload_version TEXT NOT NULL,
  payload         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  correlation_id  TEXT NOT NULL,
  error_class     TEXT,
  error           TEXT,
  attempt_count   INTEGER NOT NULL,
  job_created_at  INTEGER NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending_review', 'reprocessing', 'resolved', 'discarded')),
  reprocessed_at  INTEGER,
  reprocessed_by  TEXT,
  reprocess_job_id TEXT,
  reprocess_count INTEGER NOT NULL DEFAULT 0,
  notes           TEXT,
  created_at      INTEGER NOT NULL,
  closed_at       INTEGER                     -- resolved or discarded
) STRICT;
CREATE INDEX jobs_dead_letters_firm ON jobs_dead_letters (firm_id, status, id);
