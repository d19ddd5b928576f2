-- Two more kinds of event: 'scope' (whose sign-off a campaign takes changed, with the old and
-- new scope and who changed it) and 'proposal' (a status change proposed to the owners, and
-- how it ended when it did not become a status event: rejected or withdrawn). The kind's
-- CHECK cannot be altered in place, so the table is rebuilt with its rows, ids, indexes and
-- triggers as they were (migrations 0001, 0022). Triggers on other tables name `events` in
-- their bodies; `legacy_alter_table` keeps the rename from checking them against the moment
-- the table is missing.
PRAGMA legacy_alter_table = ON;

DROP TRIGGER events_no_update;
DROP TRIGGER events_no_delete;
DROP TRIGGER events_done_day;

CREATE TABLE events_new (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    site_id     INTEGER REFERENCES sites (id) ON DELETE CASCADE,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    source      TEXT    NOT NULL CHECK (source IN ('import', 'demo', 'scan', 'web', 'api', 'cli')),
    source_ref  TEXT,
    kind        TEXT    NOT NULL CHECK (kind IN ('status', 'note', 'ref', 'question', 'verdicts', 'import', 'scope', 'proposal')),
    old         TEXT,
    new         TEXT,
    reason      TEXT    NOT NULL DEFAULT '',
    occurred_at TEXT
);
INSERT INTO events_new (id, campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason, occurred_at)
SELECT id, campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason, occurred_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

PRAGMA legacy_alter_table = OFF;

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
CREATE TRIGGER events_done_day AFTER INSERT ON events
WHEN NEW.kind = 'status' AND NEW.new IN ('fixed', 'confirmed_safe', 'gone')
  AND EXISTS (SELECT 1 FROM sites WHERE id = NEW.site_id)
BEGIN
    DELETE FROM site_done WHERE site_id = NEW.site_id;
    INSERT INTO site_done (site_id, campaign_id, day) VALUES (NEW.site_id,
        (SELECT s.campaign_id FROM sites s WHERE s.id = NEW.site_id),
        (SELECT CASE WHEN s.status IN ('fixed', 'confirmed_safe', 'gone') THEN substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(coalesce(e.occurred_at, e.at)) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            (SELECT v.date FROM verdicts v WHERE v.id = s.verdict_id),
            s.created_at), 1, 10) END
           FROM sites s WHERE s.id = NEW.site_id));
END;
