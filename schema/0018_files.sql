-- Files: one row per stored object (R2 holds the bytes under firms/<firm>/files/<id>),
-- the parts of a resumable multipart upload, and the access log (never content).
-- A row is written with its declared size before any byte is stored, so the quota
-- is checked and reserved in one statement.

CREATE TABLE files_objects (
  id             TEXT PRIMARY KEY,           -- fil_…
  firm_id        TEXT NOT NULL,
  usage          TEXT NOT NULL CHECK (usage IN ('logo', 'avatar', 'document')),
  owner_id       TEXT,                       -- usr_… for an avatar
  name           TEXT NOT NULL,
  media_type     TEXT NOT NULL,
  size           INTEGER NOT NULL CHECK (size > 0),
  sha256         TEXT,                       -- hex, once every byte is in
  r2_key         TEXT NOT NULL,
  classification TEXT NOT NULL DEFAULT 'CONF' CHECK (classification IN ('PUB', 'INT', 'CONF', 'R-PII', 'HR')),
  status         TEXT NOT NULL CHECK (status IN ('uploading', 'stored', 'aborted', 'deleted')),
  scan_status    TEXT NOT NULL DEFAULT 'pending'
                 CHECK (scan_status IN ('pending', 'clean', 'flagged', 'skipped', 'failed')),
  scan_detail    TEXT,
  scanned_at     INTEGER,
  multipart_id   TEXT,                       -- R2's upload id of a multipart upload
  part_size      INTEGER,
  parts          INTEGER,
  created_by     TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX files_objects_firm ON files_objects (firm_id, status);
CREATE INDEX files_objects_idle ON files_objects (updated_at) WHERE status = 'uploading';

CREATE TABLE files_parts (
  file_id     TEXT NOT NULL REFERENCES files_objects (id),
  part_number INTEGER NOT NULL CHECK (part_number >= 1),
  etag        TEXT NOT NULL,
  size        INTEGER NOT NULL,
  uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (file_id, part_number)
) STRICT;

CREATE TABLE files_access_log (
  id         TEXT PRIMARY KEY,               -- fal_…
  firm_id    TEXT NOT NULL,
  file_id    TEXT NOT NULL,
  action     TEXT NOT NULL CHECK (action IN ('upload', 'url_issued', 'download', 'scan_completed', 'refused')),
  actor_type TEXT NOT NULL CHECK (actor_type IN ('staff', 'portal', 'link', 'system')),
  actor_id   TEXT,
  ip         TEXT,
  user_agent TEXT,
  detail     TEXT,
  at         INTEGER NOT NULL
) STRICT;
CREATE INDEX files_access_log_file ON files_access_log (firm_id, file_id, at);
