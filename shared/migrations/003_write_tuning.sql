-- Write-path tuning measured by `make bench` (docs/ARCHITECTURE.md § Performance).

-- An import updates people in place; with free room on each page PostgreSQL can write the new
-- row version beside the old one and skip every index when no indexed column changed (a HOT
-- update). 85 % leaves that room at the cost of ~15 % more pages.
ALTER TABLE contacts SET (fillfactor = 85);

-- Outbox payloads are one-shot (written, read once, deleted) and up to megabytes: compressing
-- them cost PostgreSQL ~40 ms per import chunk and saved nothing worth keeping.
ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL;

-- Bumped by every transaction that writes a workspace's people (people_store.write_contacts,
-- under the workspace lock). The merger prepares chunk n+1 while chunk n commits, from what it
-- read then; this number tells it whether anyone else wrote in between.
ALTER TABLE workspaces ADD COLUMN people_version bigint NOT NULL DEFAULT 0;
