-- Files, serving side: the scan's retry schedule, a checksum the uploader may
-- declare, where a quarantined object went, and the two first users of the
-- pipeline (the firm's logo, each person's picture).

ALTER TABLE files_objects ADD COLUMN expected_sha256 TEXT;        -- hex, declared by the uploader
ALTER TABLE files_objects ADD COLUMN scan_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE files_objects ADD COLUMN scan_next_at INTEGER;         -- when to ask the scanner (again)
CREATE INDEX files_objects_scan_due ON files_objects (scan_next_at) WHERE scan_status = 'pending' AND status = 'stored';

-- The firm's branding: its logo (a stored `logo` object of the firm).
CREATE TABLE files_branding (
  firm_id      TEXT PRIMARY KEY,
  logo_file_id TEXT NOT NULL REFERENCES files_objects (id),
  updated_by   TEXT NOT NULL,
  updated_at   INTEGER NOT NULL
) STRICT;

-- A person's picture in a firm (staff and portal users alike).
CREATE TABLE files_avatars (
  firm_id    TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  file_id    TEXT NOT NULL REFERENCES files_objects (id),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (firm_id, user_id)
) STRICT;
