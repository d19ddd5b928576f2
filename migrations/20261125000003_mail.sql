-- Mail: list messages (one row per Message-ID), their links to call sites, review trailers,
-- owners' answers to questions and how far each public-inbox epoch has been read.

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    -- Without angle brackets. Derived from a hash of the raw message when it had none.
    message_id   TEXT    NOT NULL UNIQUE,
    derived_id   INTEGER NOT NULL DEFAULT 0 CHECK (derived_id IN (0, 1)),
    subject      TEXT    NOT NULL DEFAULT '',
    from_name    TEXT    NOT NULL DEFAULT '',
    from_email   TEXT    NOT NULL DEFAULT '',
    -- RFC 3339 UTC, as everywhere; NULL when the Date: header is missing or unreadable.
    date         TEXT,
    -- List-Id without angle brackets, when the message carries one.
    list         TEXT,
    in_reply_to  TEXT,
    -- The References: header, Message-IDs separated by single spaces, oldest first.
    refs         TEXT    NOT NULL DEFAULT '',
    body         TEXT    NOT NULL DEFAULT '',
    -- The sender's own text holds a unified diff (quoted diffs do not count).
    has_diff     INTEGER NOT NULL DEFAULT 0 CHECK (has_diff IN (0, 1)),
    -- "PATCH v3 2/7" of "[PATCH v3 2/7] ovl: …", without brackets.
    patch_prefix TEXT,
    -- "ovl" of "ovl: …" or "vhost" of "[vhost] …".
    subject_tag  TEXT,
    -- Message-ID of the earliest ancestor present (itself for a root); recomputed by imports.
    thread_root  TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    imported_at  TEXT    NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_root, date);
CREATE INDEX messages_in_reply_to ON messages (in_reply_to);
CREATE INDEX messages_from ON messages (from_email);

-- Why a message is about a site.
CREATE TABLE message_sites (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    site_id    INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    how        TEXT    NOT NULL CHECK (how IN ('file_line', 'function', 'callee_file', 'patch')),
    -- What was mentioned: "fs/cifs/file.c:123", "cifs_send_async_read()", a hunk header.
    detail     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, site_id, how)
);
CREATE INDEX message_sites_site ON message_sites (site_id);

-- Acked-by / Reviewed-by / Tested-by lines in the sender's own text.
CREATE TABLE message_trailers (
    id         INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('acked_by', 'reviewed_by', 'tested_by')),
    name       TEXT    NOT NULL DEFAULT '',
    -- Lower-cased; as written, even when mistyped (then it matches nobody).
    email      TEXT    NOT NULL DEFAULT '',
    raw        TEXT    NOT NULL,
    UNIQUE (message_id, kind, raw)
);
CREATE INDEX message_trailers_email ON message_trailers (email);

-- The patches a trailer is about: the patch itself, the patch replied to, or every patch of
-- a series when the reply is to its cover letter.
CREATE TABLE trailer_patches (
    trailer_id INTEGER NOT NULL REFERENCES message_trailers (id) ON DELETE CASCADE,
    patch_id   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (trailer_id, patch_id)
);
CREATE INDEX trailer_patches_patch ON trailer_patches (patch_id);

-- A maintainer's reply to an open question: the question shows "answered (pending review)"
-- until the lead marks it answered (notes.question_state stays as it is).
CREATE TABLE question_answers (
    note_id    INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    at         TEXT    NOT NULL,
    PRIMARY KEY (note_id, message_id)
);
CREATE INDEX question_answers_message ON question_answers (message_id);

-- How far each public-inbox v2 epoch has been imported.
CREATE TABLE mail_cursors (
    inbox       TEXT    NOT NULL,   -- canonical path of the inbox directory
    epoch       INTEGER NOT NULL CHECK (epoch >= 0),
    last_commit TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (inbox, epoch)
);
