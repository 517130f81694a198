-- Remote imports and the events API.

-- Where a remote pull is (e.g. the Mixpanel query session, and whether every page was sent),
-- kept beside the import so a restarted parser resumes the same query. Never holds credentials:
-- those are in imports.secret, encrypted.
ALTER TABLE imports ADD COLUMN source_state jsonb NOT NULL DEFAULT '{}';

-- A person's events, newest first (GET /api/users/{id}/events pages on (created_at, name)).
CREATE INDEX events_recent ON events (contact_id, created_at DESC, name DESC);

-- The primary key (contact_id, name, created_at) already serves "events of this name for this
-- person" (the event:<name> filter); a second index on (contact_id, name) only slowed inserts.
DROP INDEX IF EXISTS events_name;
