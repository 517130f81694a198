-- Usher schema, version 1. Case-insensitive keys use lower(x COLLATE pg_c_utf8) (PostgreSQL 17+),
-- which shared.values.fold reproduces exactly; plain lower() in a C-locale database is ASCII-only.
-- Applied once by shared.db.migrate(); never edit after it ships:
-- add a new numbered file instead.

CREATE TABLE workspaces (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    token_hash      text NOT NULL UNIQUE,          -- sha256 of the bearer token; the token itself is never stored
    webhook_secret  text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- People. Identifiers: user_id is unique per workspace among users; email is not unique
-- (the identity rules allow two users to share one), so lookups go through email_lower.
CREATE TABLE contacts (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    role            text NOT NULL CHECK (role IN ('user', 'lead')),
    user_id         text,
    email           text,
    email_lower     text GENERATED ALWAYS AS (lower(email COLLATE pg_c_utf8)) STORED,
    name            text,
    phone           text,
    signed_up_at    timestamptz,
    last_seen_at    timestamptz,
    last_seen_ip    text,
    tags            text[] NOT NULL DEFAULT '{}',
    custom          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX contacts_user_id ON contacts (workspace_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX contacts_email ON contacts (workspace_id, email_lower);
CREATE INDEX contacts_page ON contacts (workspace_id, id);
-- No GIN index on tags: tag conditions compare case-insensitively (lower(t) per element),
-- which a GIN index cannot serve, and it slowed bulk inserts by about a third.

-- The custom-attribute schema: a type is fixed the first time an attribute is seen.
CREATE TABLE attributes (
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    name            text NOT NULL,
    name_lower      text GENERATED ALWAYS AS (lower(name COLLATE pg_c_utf8)) STORED,
    type            text NOT NULL CHECK (type IN ('string', 'integer', 'float', 'boolean', 'date')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name_lower)
);

-- Tag registry: the first spelling of a tag wins; later spellings map to it case-insensitively.
CREATE TABLE tags (
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    name            text NOT NULL,
    name_lower      text GENERATED ALWAYS AS (lower(name COLLATE pg_c_utf8)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name_lower)
);

CREATE TABLE imports (
    id               text PRIMARY KEY,
    workspace_id     text NOT NULL REFERENCES workspaces(id),
    source           text NOT NULL,
    kind             text NOT NULL DEFAULT 'users',
    status           text NOT NULL,
    tag              text,
    trigger_messages boolean NOT NULL DEFAULT true,
    file_key         text,                         -- random storage key under USHER_STORAGE_DIR
    file_name        text,                         -- the client's name, for display only
    file_size        bigint,
    detected         jsonb,
    columns          jsonb,
    preview          jsonb,
    suggested_mapping jsonb,
    options          jsonb,                        -- the validated start body
    secret           bytea,                        -- encrypted connector credentials (remote sources)
    rows_total       bigint,                       -- set by the parser when it reaches the end
    chunks_total     integer,
    rows_parsed      bigint NOT NULL DEFAULT 0,      -- records read so far (progress while parsing)
    rows_estimate    bigint,                       -- estimated records in the file, for progress
    created          bigint NOT NULL DEFAULT 0,
    updated          bigint NOT NULL DEFAULT 0,
    failed           bigint NOT NULL DEFAULT 0,
    error            text,
    heartbeat_at     timestamptz,                  -- last progress by the parser or the merger
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);
CREATE INDEX imports_history ON imports (workspace_id, created_at DESC, id DESC);

-- One row per failed record: its row number, its original values and every error.
CREATE TABLE import_errors (
    import_id       text NOT NULL REFERENCES imports(id),
    row_no          bigint NOT NULL,
    errors          jsonb NOT NULL,
    cells           jsonb,                         -- NULL: read back from the stored file for the report
    PRIMARY KEY (import_id, row_no)
);

-- Exactly-once effects from at-least-once delivery: a chunk is applied in the same
-- transaction that records it here; a redelivered chunk hits the key and is skipped.
CREATE TABLE import_chunks (
    import_id       text NOT NULL,
    seq             integer NOT NULL,
    rows            integer NOT NULL,
    applied_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (import_id, seq)
);

-- Transactional outbox: events written with the change, published after commit by the
-- merger's relay, deleted once the broker acknowledged them.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    topic           text NOT NULL,
    key             bytea,
    payload         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE segments (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    name            text NOT NULL,
    filter          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    name            text NOT NULL,
    type            text NOT NULL CHECK (type IN ('auto', 'manual')),
    channel         text NOT NULL CHECK (channel IN ('in_app', 'email', 'webhook')),
    subject         text,
    body            text NOT NULL DEFAULT '',
    webhook_url     text,
    audience        jsonb NOT NULL,
    state           text NOT NULL CHECK (state IN ('live', 'paused')),
    activated_at    timestamptz,                    -- first time it went live (a manual message is sent then only)
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_ws ON messages (workspace_id, created_at DESC, id DESC);

-- At most one delivery per (message, person), enforced by the primary key.
CREATE TABLE deliveries (
    message_id      text NOT NULL REFERENCES messages(id),
    contact_id      text NOT NULL REFERENCES contacts(id),
    workspace_id    text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'suppressed')),
    reason          text,
    subject         text,
    body            text,
    import_id       text,
    changed_at      timestamptz,                    -- when the change that triggered it committed
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, contact_id)
);
CREATE INDEX deliveries_contact ON deliveries (contact_id, created_at DESC);
CREATE INDEX deliveries_pending ON deliveries (status) WHERE status = 'pending';

CREATE TABLE events (
    workspace_id    text NOT NULL,
    contact_id      text NOT NULL REFERENCES contacts(id),
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (contact_id, name, created_at)
);
CREATE INDEX events_name ON events (contact_id, name);
