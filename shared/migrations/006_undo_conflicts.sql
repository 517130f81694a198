-- Import safety, after it ran (SPEC §6.3, §6.4): undo, the conflict queue.

-- An undo is an import of its own (source 'undo'), taking back what `undo_of` did; the original
-- remembers it (a second undo is refused). Its counts: contacts deleted, reverted, and kept as
-- conflicts (a value someone changed since the import is kept).
ALTER TABLE imports ADD COLUMN undo_of text;
ALTER TABLE imports ADD COLUMN undone_by text;
ALTER TABLE imports ADD COLUMN deleted bigint NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN reverted bigint NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN conflicts bigint NOT NULL DEFAULT 0;

-- Each contact an undo has dealt with and how (d: deleted, r: reverted, c: conflict), so a
-- contact the import changed twice counts once, in its final outcome.
CREATE TABLE undo_contacts (
    undo_id         text NOT NULL,
    contact_id      text NOT NULL,
    outcome         char(1) NOT NULL CHECK (outcome IN ('d', 'r', 'c')),
    PRIMARY KEY (undo_id, contact_id)
);

-- Records the identity rules could not decide (an ambiguous email), waiting for a person.
CREATE TABLE conflicts (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    import_id       text NOT NULL,
    row_no          bigint NOT NULL,
    reason          text NOT NULL,
    kind            text NOT NULL,                 -- users | leads: how the record was to be applied
    tag             text,
    record          jsonb NOT NULL,                -- the normalised values
    candidates      text[] NOT NULL,               -- the contacts it could be, when it was queued
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution      jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    UNIQUE (import_id, row_no)
);
CREATE INDEX conflicts_open ON conflicts (workspace_id, created_at, id) WHERE status = 'open';
