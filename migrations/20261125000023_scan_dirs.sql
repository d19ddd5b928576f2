-- A one-file re-scan of a 55k-file tree spent most of its time on 55k `scan_files` rows
-- (loading them, and a row lookup by path for every file it stat-ed) and on listing every
-- directory again. What a re-scan needs to know of a file without a candidate call is its
-- name, size and mtime, and of a directory whether its entries changed: the tree's listing
-- holds both, packed in blobs (core/src/scan_files/listing.rs), one row per group of
-- directories (the first two levels of their path: `drivers/net`, `lib`): one row a
-- directory cost more in per-row overhead than the rest of loading it, one blob for the tree
-- (2 MB) cost more to write back after a one-file change than the rest of the re-scan.
-- `scan_files` keeps only the files with a candidate call (their hash, findings and
-- routing). Still a cache: emptied here, the next scan of each campaign reads every file
-- once and fills it again.

-- The tree as the campaign's last scan listed it.
CREATE TABLE scan_dirs (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    grp         TEXT    NOT NULL,   -- the first two levels of the directories' path ('' root)
    listing     BLOB    NOT NULL,   -- each directory: its key, .c/.h files, subdirectories
    PRIMARY KEY (campaign_id, grp)
) WITHOUT ROWID;

-- What routing a changed file needs of MAINTAINERS without parsing it again: its K: patterns
-- and the sections the last scan's sites named (JSON, the importer's format). NULL: unknown.
ALTER TABLE scan_state ADD COLUMN routing TEXT;

DELETE FROM scan_files;
DELETE FROM scan_state;
