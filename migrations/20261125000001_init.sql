-- treewide schema, version 1: campaigns, subsystems, call sites, verdict groups, notes,
-- references, imports and the append-only event log.
-- Enumerations are TEXT with CHECK constraints; their Rust enums live in core/src/model.rs.

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    slug          TEXT    NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 63),
    title         TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    rule          TEXT    NOT NULL DEFAULT '',
    tree_describe TEXT,
    tree_commit   TEXT,
    tree_url      TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- Subsystems are global (as in MAINTAINERS), shared by all campaigns.
CREATE TABLE subsystems (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE,
    slug   TEXT NOT NULL UNIQUE,
    status TEXT
);

CREATE TABLE subsystem_people (
    subsystem_id INTEGER NOT NULL REFERENCES subsystems (id) ON DELETE CASCADE,
    role         TEXT    NOT NULL CHECK (role IN ('maintainer', 'reviewer')),
    name         TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    PRIMARY KEY (subsystem_id, role, email)
);
CREATE INDEX subsystem_people_email ON subsystem_people (email);

CREATE TABLE subsystem_lists (
    subsystem_id INTEGER NOT NULL REFERENCES subsystems (id) ON DELETE CASCADE,
    list         TEXT    NOT NULL,
    PRIMARY KEY (subsystem_id, list)
);

-- A verdict group: sites matching all given keys get status + reason, unless the site
-- carries its own decision. First match by position wins.
CREATE TABLE verdicts (
    id             INTEGER PRIMARY KEY,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    label          TEXT    NOT NULL,
    match_callee   TEXT,
    match_iter_kind TEXT,
    match_direction TEXT,
    match_function TEXT,
    match_file     TEXT,
    status         TEXT    NOT NULL CHECK (status IN ('unreviewed', 'needs_fix', 'needs_pin', 'awaiting_owner',
                                                      'fix_proposed', 'fixed', 'confirmed_safe', 'gone')),
    reason         TEXT    NOT NULL DEFAULT '',
    UNIQUE (campaign_id, position)
);

CREATE TABLE imports (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    source       TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('auditor', 'demo', 'scan', 'mail', 'git', 'github')),
    sha256       TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    sites_total  INTEGER NOT NULL,
    sites_new    INTEGER NOT NULL,
    sites_changed INTEGER NOT NULL
);

CREATE TABLE sites (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    -- file + function + callee + normalised code + ordinal: stable across line drift.
    identity      TEXT    NOT NULL,
    file          TEXT    NOT NULL,
    line          INTEGER NOT NULL CHECK (line >= 1),
    col           INTEGER CHECK (col >= 1),
    function      TEXT,
    callee        TEXT    NOT NULL,
    code          TEXT    NOT NULL DEFAULT '',
    iter_kind     TEXT    NOT NULL CHECK (iter_kind IN ('ITER_IOVEC', 'ITER_UBUF', 'ITER_BVEC', 'ITER_KVEC',
                                                         'ITER_XARRAY', 'ITER_PIPE', 'ITER_DISCARD', 'unknown')),
    direction     TEXT,
    subsystem_id  INTEGER REFERENCES subsystems (id),
    status        TEXT    NOT NULL CHECK (status IN ('unreviewed', 'needs_fix', 'needs_pin', 'awaiting_owner',
                                                     'fix_proposed', 'fixed', 'confirmed_safe', 'gone')),
    -- Who decided the status: a per-site decision, a verdict group, or nobody yet.
    decided_by    TEXT    NOT NULL CHECK (decided_by IN ('site', 'verdict', 'default')),
    verdict_id    INTEGER REFERENCES verdicts (id) ON DELETE SET NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    first_import_id INTEGER REFERENCES imports (id),
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (campaign_id, identity)
);
CREATE INDEX sites_campaign_subsystem ON sites (campaign_id, subsystem_id, status);
CREATE INDEX sites_campaign_status ON sites (campaign_id, status);
CREATE INDEX sites_campaign_file ON sites (campaign_id, file);

CREATE TABLE notes (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    site_id       INTEGER REFERENCES sites (id) ON DELETE CASCADE,
    -- What the note is about (campaign-level notes may name a subsystem).
    subsystem_id  INTEGER REFERENCES subsystems (id),
    author        TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    -- A question to a subsystem's owners.
    ask_subsystem_id INTEGER REFERENCES subsystems (id),
    question_state TEXT CHECK (question_state IN ('open', 'answered')),
    CHECK ((ask_subsystem_id IS NULL) = (question_state IS NULL))
);
-- Re-imports must not duplicate notes.
CREATE UNIQUE INDEX notes_dedup ON notes (campaign_id, ifnull(site_id, 0), author, body);
CREATE INDEX notes_site ON notes (site_id);
CREATE INDEX notes_ask ON notes (campaign_id, ask_subsystem_id, question_state);

CREATE TABLE refs (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    site_id      INTEGER REFERENCES sites (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('commit', 'message', 'url')),
    -- commit id, Message-ID without angle brackets, or URL
    target       TEXT    NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    author       TEXT,
    date         TEXT,
    -- "[vhost]" or "vhost:" prefix of a commit subject, without punctuation
    tag          TEXT
);
CREATE UNIQUE INDEX refs_dedup ON refs (campaign_id, ifnull(site_id, 0), kind, target);
CREATE INDEX refs_site ON refs (site_id);

-- Append-only history of every change: enforced by the triggers below.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    site_id     INTEGER REFERENCES sites (id) ON DELETE CASCADE,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('import', 'demo', 'scan', 'web', 'api', 'cli')),
    source_ref  TEXT,
    kind        TEXT    NOT NULL CHECK (kind IN ('status', 'note', 'ref', 'question', 'verdicts', 'import')),
    old         TEXT,
    new         TEXT,
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_site ON events (site_id, id);
CREATE INDEX events_campaign ON events (campaign_id, id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN (SELECT count(*) FROM campaigns WHERE id = OLD.campaign_id) > 0
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
