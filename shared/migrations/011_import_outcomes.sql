-- Honest outcomes (issue 20, item 1): why a queued import waits, and abandoned uploads expire.

-- When the import was last queued (a start, a dry run, a commit of a previewed one). The imports
-- of a workspace are read and applied in that order, so an import waits for the unfinished ones
-- queued before it. Rows inserted already queued (remote pulls, bulk, undo) take the default.
ALTER TABLE imports ADD COLUMN queued_at timestamptz DEFAULT now();
UPDATE imports SET queued_at = coalesce(started_at, created_at);
CREATE INDEX imports_unfinished ON imports (workspace_id, queued_at)
    WHERE status IN ('queued', 'processing');

-- Uploads never started are deleted, file and row, 24 hours after the upload
-- (shared.import_store.expire_uploads, run by the parser's timer).
CREATE INDEX imports_uploaded ON imports (created_at) WHERE status = 'uploaded';
