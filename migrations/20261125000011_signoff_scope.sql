-- Who may sign off a site: by default only the people of its file's most specific
-- MAINTAINERS sections; and why each section covers a scanned file, kept so pages can
-- show it without reading MAINTAINERS.

-- 'specific': the M:/R: of the site's primary section and of any as specific (same depth);
-- 'any_section': of every section that matches its file. Admins always may.
ALTER TABLE campaigns ADD COLUMN signoff_scope TEXT NOT NULL DEFAULT 'specific'
    CHECK (signoff_scope IN ('specific', 'any_section'));

-- get_maintainer.pl's match depth of the section for the site's file: that of its last
-- matching F: line (the path components the pattern covers; N: counts 0, a leading * -1).
-- NULL for a section matched by K: (content) only, and for rows stored before this
-- migration until the next scan rewrites them.
ALTER TABLE site_subsystems ADD COLUMN depth INTEGER;
-- The MAINTAINERS lines that matched the file, one per line, as written ("F:\tfs/ceph/").
ALTER TABLE site_subsystems ADD COLUMN matched TEXT NOT NULL DEFAULT '';

-- Sections whose F:/N: lines match a scanned file with sites but that an X: line takes
-- off it. They describe the latest scan: replaced by every scan, like scan_problems.
CREATE TABLE scan_exclusions (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    file        TEXT    NOT NULL,
    section     TEXT    NOT NULL,
    matched     TEXT    NOT NULL,
    excluded_by TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, file, section)
);
