-- Compatible ingestion (SPEC §7): what the Segment (and Intercom) APIs received.

-- Every message received, once per (workspace, source, message id): the dedupe key (Segment
-- retries a batch with the same messageIds), the log the Connect page shows, and the
-- per-message problems GET /api/ingestion-errors lists. Pruned after 7 days (ingestion.KEEP_DAYS).
CREATE TABLE ingested (
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    source          text NOT NULL,
    message_id      text NOT NULL,
    type            text NOT NULL,
    outcome         text NOT NULL,
    problems        text[] NOT NULL DEFAULT '{}',  -- why it failed, or what was left out
    contact_id      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, source, message_id)
);
CREATE INDEX ingested_recent ON ingested (workspace_id, received_at DESC);

-- API writes show in the import history as one rolling entry per source and UTC day.
ALTER TABLE imports ADD COLUMN api_day date;
CREATE UNIQUE INDEX imports_api_day ON imports (workspace_id, source, api_day)
    WHERE api_day IS NOT NULL;
