-- Import safety (SPEC §6.1, §6.2): dry runs, the diff of every import, the message policy,
-- values left out with a warning.

-- A dry run is an import whose chunks change nothing but its own records (status 'previewed'
-- when it ends). `run` counts the starts of an import (a dry run, then the real one): chunks
-- carry it, so a chunk left over from an earlier run is recognised and skipped.
ALTER TABLE imports ADD COLUMN dry_run boolean NOT NULL DEFAULT false;
ALTER TABLE imports ADD COLUMN run integer NOT NULL DEFAULT 0;
ALTER TABLE imports ADD COLUMN unchanged bigint NOT NULL DEFAULT 0;  -- a subset of `updated`
ALTER TABLE imports ADD COLUMN warnings bigint NOT NULL DEFAULT 0;   -- records with a value left out
-- {"fields": {field: {"set", "changed", "cleared"}}, "problems": [...], "messages": [...]},
-- written when the import ends (a real import's messages are counted when read: deliveries
-- keep arriving after it ended).
ALTER TABLE imports ADD COLUMN summary jsonb;

-- A record applied with values left out (invalid_values: skip_value) has a row here too: its
-- `errors` are empty and `warnings` says which values were left out and why.
ALTER TABLE import_errors ADD COLUMN warnings jsonb;

-- The diff of an import, one row per chunk: its records' results, how each matched and the
-- fields each changed (old and new value), encoded compactly (shared/diff.py) — the record of
-- what an import did, which undo restores from. The counts and per-field tallies let readers
-- skip chunks and sum the summary without decoding the entries.
CREATE TABLE import_diffs (
    import_id       text NOT NULL,
    seq             integer NOT NULL,
    first_row       bigint NOT NULL,
    last_row        bigint NOT NULL,
    created         integer NOT NULL,
    updated         integer NOT NULL,   -- changed something
    unchanged       integer NOT NULL,
    failed          integer NOT NULL,
    fields          jsonb NOT NULL,     -- field -> [set, changed, cleared]
    problems        jsonb NOT NULL,     -- cause -> [records, first row]
    entries         bytea NOT NULL,     -- zlib-compressed already: not compressed again
    PRIMARY KEY (import_id, seq)
);
ALTER TABLE import_diffs ALTER COLUMN entries SET STORAGE EXTERNAL;

-- What an import's messages reached (its summary; undo cancels what is still pending).
CREATE INDEX deliveries_import ON deliveries (import_id, message_id) WHERE import_id IS NOT NULL;

-- A dry run's own state, one schema per dry run (shared/previews.py): the people as the dry
-- run has them so far, the tags it would create, and who each message would reach. Dropped
-- when the dry run ends.
CREATE SCHEMA previews;
