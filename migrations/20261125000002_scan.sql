-- Tree scans: code context around each site, every matching subsystem (not only the primary),
-- and the files a scan could not parse cleanly.

ALTER TABLE sites ADD COLUMN context TEXT;          -- ±5 lines of source around the call
ALTER TABLE sites ADD COLUMN context_start INTEGER; -- line number of the first context line

-- All subsystems a site's file belongs to, in get_maintainer.pl order (rank 0 = primary,
-- which is also sites.subsystem_id).
CREATE TABLE site_subsystems (
    site_id      INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    subsystem_id INTEGER NOT NULL REFERENCES subsystems (id),
    rank         INTEGER NOT NULL CHECK (rank >= 0),
    PRIMARY KEY (site_id, subsystem_id)
);
CREATE INDEX site_subsystems_subsystem ON site_subsystems (subsystem_id);

-- What the last scan of a campaign could not parse cleanly; replaced by every scan.
CREATE TABLE scan_problems (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    file        TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    sites       INTEGER NOT NULL DEFAULT 0   -- sites found in it anyway (by text)
);
CREATE INDEX scan_problems_campaign ON scan_problems (campaign_id);

ALTER TABLE campaigns ADD COLUMN scanned_at TEXT;
ALTER TABLE campaigns ADD COLUMN scan_files INTEGER;
