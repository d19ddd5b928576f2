-- The import log with honest columns (issue 12).
--
-- Until now every kind of import wrote one row shape and reused columns for other meanings:
-- a history import kept its branches' last commits in sha256, a mail import its new links in
-- sites_total (and the sites it moved to fix_proposed in sites_changed), and imports that
-- read no file stored '' as their sha256. Now each column means one thing:
--
--   sha256        SHA-256 (hex) of the file read: auditor files and the demo; NULL when the
--                 import read no file or its hash is not known.
--   cursor        history (git, github): the last commit read of each branch, space-separated;
--                 NULL for every other kind.
--   sites_total   the sites the batch carried (auditor, demo, scan) or placed at the tip
--                 (git, github); NULL for mail, which carries no sites.
--   sites_new     sites the import added (mail and history never add any: 0).
--   sites_changed stored sites whose data or status the import changed (mail: the sites its
--                 patches moved to fix_proposed).
--   links_new     mail: message–site links added; NULL for every other kind.
--
-- Columns, not one JSON blob: each count keeps a type and a CHECK that ties it to the kinds
-- it belongs to, and core::imports::record is the one writer that fills them in.
--
-- SQLite cannot drop NOT NULL in place, so the table is rebuilt, keeping every id
-- (sites.first_import_id points at them). A migration runs inside a transaction with
-- foreign keys on, where PRAGMA foreign_keys cannot be turned off and DROP TABLE would fail
-- on sites.first_import_id; with defer_foreign_keys the drop's violations wait for the
-- commit, and re-inserting every row under its own id settles them before it (a lost row
-- would still fail the commit).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE imports_before AS SELECT * FROM imports;
DROP TABLE imports;

CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    source        TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('auditor', 'demo', 'scan', 'mail', 'git', 'github')),
    at            TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    sha256        TEXT    CHECK (sha256 IS NULL OR kind IN ('auditor', 'demo')),
    cursor        TEXT    CHECK (cursor IS NULL OR kind IN ('git', 'github')),
    sites_total   INTEGER CHECK ((sites_total IS NULL) = (kind = 'mail')),
    sites_new     INTEGER NOT NULL DEFAULT 0,
    sites_changed INTEGER NOT NULL DEFAULT 0,
    links_new     INTEGER CHECK ((links_new IS NULL) = (kind <> 'mail'))
);

INSERT INTO imports (id, campaign_id, source, kind, at, actor, sha256, cursor,
                     sites_total, sites_new, sites_changed, links_new)
SELECT id, campaign_id, source, kind, at, actor,
       CASE WHEN kind IN ('auditor', 'demo') THEN nullif(sha256, '') END,
       CASE WHEN kind IN ('git', 'github') THEN nullif(sha256, '') END,
       CASE WHEN kind <> 'mail' THEN sites_total END,
       sites_new,
       sites_changed,
       CASE WHEN kind = 'mail' THEN sites_total END
FROM imports_before;

DROP TABLE imports_before;
