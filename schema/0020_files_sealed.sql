-- Files are sealed in R2 (64 KiB AES-256-GCM segments under a per-file key derived
-- from the firm's data key): the data-key version an object was sealed with.
-- NULL: stored in clear (no object was, outside development).
ALTER TABLE files_objects ADD COLUMN key_version INTEGER;
