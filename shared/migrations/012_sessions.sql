-- Browser sessions (the web UI): a workspace token exchanged once for an HttpOnly cookie, so a
-- sign-in lasts across the browser's tabs without the token being kept in the page. Only the
-- SHA-256 of the cookie is stored; `csrf` is the value unsafe requests must echo in the
-- X-Usher-CSRF header. Expired rows are deleted when sessions are opened.
CREATE TABLE sessions (
    id_hash         text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces(id),
    csrf            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
