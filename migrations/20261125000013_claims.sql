-- Claims (issue 14): "I'm on it". A person claims a site, or all of a subsystem's sites in a
-- campaign, for some days; the claim shows on pages and in the API, lapses by itself at
-- expires_at, and is released by its holder or when a patch from the holder that touches the
-- site is imported.
CREATE TABLE claims (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    site_id      INTEGER REFERENCES sites (id) ON DELETE CASCADE,
    subsystem_id INTEGER REFERENCES subsystems (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- "Name <email>" as pages show it, and the address a patch's sender is matched with.
    who          TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    released_at  TEXT,
    -- "released", or "patch <Message-ID>" when the holder's patch arrived.
    released_why TEXT,
    CHECK ((site_id IS NULL) <> (subsystem_id IS NULL)),
    CHECK ((released_at IS NULL) = (released_why IS NULL))
);
CREATE INDEX claims_site ON claims (site_id, expires_at) WHERE released_at IS NULL;
CREATE INDEX claims_subsystem ON claims (campaign_id, subsystem_id, expires_at) WHERE released_at IS NULL;
CREATE INDEX claims_user ON claims (user_id, expires_at) WHERE released_at IS NULL;
-- One live claim per holder and thing (claiming again extends it).
CREATE UNIQUE INDEX claims_once ON claims (user_id, ifnull(site_id, 0), campaign_id, ifnull(subsystem_id, 0))
    WHERE released_at IS NULL;
