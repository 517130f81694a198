-- Mapping that fits real files (SPEC §6.5).

-- What the mapping step offers for an upload: where its mapping came from ('suggested' from
-- its columns and first rows, or 'remembered' from an earlier import of the same header set),
-- the suggestion from its columns alone (what "start fresh" goes back to), the remembered
-- mapping's attributes and options, and the type each column would have as a new attribute.
ALTER TABLE imports ADD COLUMN mapping_source text NOT NULL DEFAULT 'suggested';
ALTER TABLE imports ADD COLUMN fresh_mapping jsonb;
ALTER TABLE imports ADD COLUMN remembered jsonb;
ALTER TABLE imports ADD COLUMN column_types jsonb;

-- One remembered mapping per header set of a workspace (the headers trimmed, case-folded,
-- sorted, joined by U+001F): the last import started with that header set wins.
CREATE TABLE mappings (
    id                  text PRIMARY KEY,
    workspace_id        text NOT NULL REFERENCES workspaces(id),
    header_key          text NOT NULL,
    columns             text[] NOT NULL,
    mapping             jsonb NOT NULL,
    custom_attributes   jsonb NOT NULL,
    attribute_types     jsonb NOT NULL,
    options             jsonb NOT NULL,
    import_id           text NOT NULL,
    file_name           text,
    used_at             timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, header_key)
);
