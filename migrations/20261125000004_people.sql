-- People: accounts (invited by the campaign lead, password set by the person), API tokens for
-- bots. Passwords are argon2 PHC strings; invite and API tokens are stored as SHA-256 hashes
-- (they are long random secrets, so a fast hash is enough and lets us look them up).

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name           TEXT    NOT NULL DEFAULT '',
    password_hash  TEXT,
    is_admin       INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    invite_hash    TEXT UNIQUE,
    invite_expires TEXT,
    created_at     TEXT    NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    -- space-separated subset of: read notes:write status:write
    scopes       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Browser sessions (tower-sessions-sqlx-store's own schema, created here so the server needs no
-- start-up step of its own).
CREATE TABLE IF NOT EXISTS tower_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
