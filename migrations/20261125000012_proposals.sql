-- Proposals (issue 14): a status change asked for by someone who may not make it. A signed-off
-- site (fixed, confirmed safe) changes only by its subsystem's maintainers, reviewers or an
-- admin, and only they confirm one; anyone else's change, person or bot, is stored here and
-- waits for them. Accepting applies it (a status event names the proposal); rejecting keeps it
-- with the owner's reason.
CREATE TABLE proposals (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    site_id         INTEGER NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    -- The status the proposer saw, and the one proposed.
    from_status     TEXT    NOT NULL,
    to_status       TEXT    NOT NULL,
    reason          TEXT    NOT NULL DEFAULT '',
    -- "Name <email>" of the proposer (a bot: its token's owner), and their account.
    author          TEXT    NOT NULL,
    author_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    source          TEXT    NOT NULL CHECK (source IN ('web', 'api', 'cli')),
    created_at      TEXT    NOT NULL,
    -- open until an owner decides; withdrawn by its author; superseded when the site's status
    -- changed otherwise before anyone decided.
    state           TEXT    NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'accepted', 'rejected', 'withdrawn', 'superseded')),
    decided_by      TEXT,
    decided_at      TEXT,
    decision_reason TEXT,
    CHECK ((state = 'open') = (decided_at IS NULL))
);
CREATE INDEX proposals_site ON proposals (site_id, state);
CREATE INDEX proposals_open ON proposals (campaign_id, state, id);
-- One open proposal per site, author and target status: asking again is not a new proposal.
CREATE UNIQUE INDEX proposals_once ON proposals (site_id, author, to_status) WHERE state = 'open';
