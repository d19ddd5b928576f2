-- Where a campaign's links to elixir.bootlin.com would mislead (issue 16). elixir serves
-- release tags, not commits: after `import git` the positions are a commit's past its nearest
-- tag (`v6.7-rc1-12-g…`), and the links name that tag. A file the tag does not have would be a
-- 404 there ('absent'); a file the tag has with other content would open at the wrong line
-- ('changed'). Files not listed are the same at the tag. Rewritten whenever the campaign's
-- positions move to another tree; emptied by a scan (its tree is the release it names).
CREATE TABLE tree_link_gaps (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    path        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('absent', 'changed')),
    PRIMARY KEY (campaign_id, path)
) WITHOUT ROWID;
