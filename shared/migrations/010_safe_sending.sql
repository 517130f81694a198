-- Safe sending: message versions, archived messages, retries of failed deliveries.

-- An edit of a message's content (subject, body, audience, webhook URL) makes a new version;
-- every delivery records the version it was sent with (rows from before: version 1). The
-- content of each earlier version is kept in message_versions, so what was delivered stays
-- attached to the text it came from. A constant default: no table rewrite.
ALTER TABLE messages ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE deliveries ADD COLUMN message_version integer NOT NULL DEFAULT 1;

CREATE TABLE message_versions (
    message_id      text NOT NULL REFERENCES messages(id),
    version         integer NOT NULL,
    name            text NOT NULL,
    subject         text,
    body            text NOT NULL,
    webhook_url     text,
    audience        jsonb NOT NULL,
    replaced_at     timestamptz NOT NULL DEFAULT now(),  -- when the next version took its place
    PRIMARY KEY (message_id, version)
);

-- An archived message is no longer sent (claims and audiences take live messages only) and is
-- left out of the default list; restoring it makes it paused.
ALTER TABLE messages DROP CONSTRAINT messages_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_state_check
    CHECK (state IN ('live', 'paused', 'archived'));

-- Failed deliveries of a message are counted for its status and requeued by a retry.
CREATE INDEX deliveries_failed ON deliveries (message_id) WHERE status = 'failed';
