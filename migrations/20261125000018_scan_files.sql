-- What the last scan of a campaign read, file by file, so that a re-scan reads and parses only
-- the files whose content changed (importer/src/scan/, core/src/scan_files.rs). A cache: each
-- row is a pure function of a file's content, the scanner and the spec (and of MAINTAINERS for
-- its routing), so a missing or dropped row costs only a re-read, never a wrong result.

-- What the cached rows of a campaign were computed with.
CREATE TABLE scan_state (
    campaign_id      INTEGER PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    tree             TEXT    NOT NULL,  -- the tree's root as scanned: sizes and mtimes are its
    spec_key         TEXT    NOT NULL,  -- SHA-256 of the scanner version and the spec's text
    maintainers_key  TEXT    NOT NULL,  -- SHA-256 of MAINTAINERS ('' when the tree had none)
    started_ns       INTEGER NOT NULL   -- when that scan began reading (Unix ns)
);

-- Every .c/.h file the last scan read.
CREATE TABLE scan_files (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    path        TEXT    NOT NULL,   -- relative to the tree, '/'-separated
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER,            -- NULL: changed while it was read (read again next time)
    sha256      TEXT,               -- hex SHA-256 of the content, for files with a candidate call
    found       TEXT,               -- JSON: the sites and parse problem the scanner found in it
    routing     TEXT,               -- JSON: its MAINTAINERS sections and X: exclusions
    PRIMARY KEY (campaign_id, path)
) WITHOUT ROWID;
