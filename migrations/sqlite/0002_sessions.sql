-- Browser sessions. The id is the SHA-256 (hex) of the random token in the cookie;
-- the CSRF token is stored as its SHA-256 too. Neither secret is stored.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
