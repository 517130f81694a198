-- Remote imports and the events API.

-- Where a remote pull is (e.g. the Mixpanel query session, and whether every page was sent),
-- kept beside the import so a restarted parser resumes the same query. Never holds credentials:
-- those are in imports.secret, encrypted.
ALTER TABLE imports ADD COLUMN source_state jsonb NOT NULL DEFAULT '{}';

-- A person's events, newest first (GET /api/users/{id}/events pages on (created_at, name)).
CREATE INDEX events_recent ON events (contact_id, created_at DESC, name DESC);
