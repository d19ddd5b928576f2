-- Git history: the commits that fixed, changed, moved or removed call sites (from a local
-- repository read with gix, or from GitHub), stable backports and how far each repository's
-- branches have been read.

-- Commits are shared by all campaigns (one commit may fix sites of several).
CREATE TABLE commits (
    id           INTEGER PRIMARY KEY,
    oid          TEXT    NOT NULL UNIQUE CHECK (length(oid) BETWEEN 40 AND 64),
    author_name  TEXT    NOT NULL DEFAULT '',
    author_email TEXT    NOT NULL DEFAULT '',
    -- RFC 3339 UTC, as everywhere.
    author_date  TEXT    NOT NULL,
    commit_date  TEXT    NOT NULL,
    subject      TEXT    NOT NULL DEFAULT '',
    -- "vhost" of "[vhost] …" or "vhost: …".
    subject_tag  TEXT,
    -- The mainline commit a stable backport names ("[ Upstream commit X ]", "commit X upstream").
    upstream_oid TEXT,
    -- The branch the import first reached the commit from ("master", "linux-6.1.y").
    branch       TEXT,
    -- The commit's web page when the source gave one (GitHub); else links go to git.kernel.org.
    url          TEXT
);
CREATE INDEX commits_upstream ON commits (upstream_oid);

-- What a commit did to a site: fixed it (the campaign's classifier says fixed after it, not
-- before), otherwise changed its direction argument, moved it to another file, or removed it.
CREATE TABLE site_commits (
    site_id   INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    commit_id INTEGER NOT NULL REFERENCES commits (id) ON DELETE CASCADE,
    role      TEXT    NOT NULL CHECK (role IN ('fix', 'change', 'move', 'gone')),
    -- The site's file after the commit (before it, for 'gone').
    file      TEXT    NOT NULL,
    line      INTEGER CHECK (line >= 1),
    old_code  TEXT,
    new_code  TEXT,
    PRIMARY KEY (site_id, commit_id, role)
);
CREATE INDEX site_commits_commit ON site_commits (commit_id);

-- How far each branch of each repository has been read for a campaign: the next import
-- reads only commits after these.
CREATE TABLE history_cursors (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    -- Canonical path of a local repository, or "github:OWNER/NAME".
    repo        TEXT    NOT NULL,
    -- "refs/heads/master", or the tip of a --range as given.
    ref_name    TEXT    NOT NULL,
    last_commit TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (campaign_id, repo, ref_name)
);
