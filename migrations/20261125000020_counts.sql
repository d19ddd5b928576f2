-- Counts kept on write (issue 15): pages and API lists read these instead of counting every
-- site of a campaign on each request. Triggers on `sites` keep them exact whatever code
-- writes a site (imports, scans, transitions, cascading deletes).
--
-- site_counts  per (campaign, subsystem, status); subsystem_id 0 means "no subsystem"
--              (a primary key cannot hold NULL; 0 is what SubsystemFilter::sql() uses too).
-- campaign_counts  per (campaign, status).
-- site_done / burndown_days  each done site's done day and the number of sites done per day,
--              for the burndown: a site is done from its first fixing or removing commit's date,
--              else from the last event that marked it done, else from its creation (the rule
--              history::burndown applied to every site on every request before).
-- Rows whose count falls to 0 stay; readers skip them.

CREATE TABLE site_counts (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    subsystem_id INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, subsystem_id, status)
) WITHOUT ROWID;

CREATE TABLE campaign_counts (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, status)
) WITHOUT ROWID;

CREATE TABLE site_done (
    site_id     INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL,
    -- YYYY-MM-DD (the first ten characters of the stored time)
    day         TEXT    NOT NULL
);

CREATE TABLE burndown_days (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    day         TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, day)
) WITHOUT ROWID;

INSERT INTO site_counts (campaign_id, subsystem_id, status, n)
    SELECT campaign_id, ifnull(subsystem_id, 0), status, count(*) FROM sites GROUP BY 1, 2, 3;
INSERT INTO campaign_counts (campaign_id, status, n)
    SELECT campaign_id, status, count(*) FROM sites GROUP BY 1, 2;
INSERT INTO site_done (site_id, campaign_id, day)
    SELECT s.id, s.campaign_id, substr(coalesce(
        (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
          WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
        (SELECT max(e.at) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
            AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
        s.created_at), 1, 10)
    FROM sites s WHERE s.status IN ('fixed', 'confirmed_safe', 'gone');
INSERT INTO burndown_days (campaign_id, day, n)
    SELECT campaign_id, day, count(*) FROM site_done GROUP BY 1, 2;

CREATE TRIGGER sites_count_insert AFTER INSERT ON sites
BEGIN
    INSERT INTO site_counts (campaign_id, subsystem_id, status, n)
        VALUES (NEW.campaign_id, ifnull(NEW.subsystem_id, 0), NEW.status, 1)
        ON CONFLICT (campaign_id, subsystem_id, status) DO UPDATE SET n = n + 1;
    INSERT INTO campaign_counts (campaign_id, status, n) VALUES (NEW.campaign_id, NEW.status, 1)
        ON CONFLICT (campaign_id, status) DO UPDATE SET n = n + 1;
    INSERT INTO site_done (site_id, campaign_id, day)
        SELECT NEW.id, NEW.campaign_id, substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = NEW.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(e.at) FROM events e WHERE e.site_id = NEW.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            NEW.created_at), 1, 10)
        WHERE NEW.status IN ('fixed', 'confirmed_safe', 'gone');
END;

CREATE TRIGGER sites_count_delete AFTER DELETE ON sites
BEGIN
    UPDATE site_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id
        AND subsystem_id = ifnull(OLD.subsystem_id, 0) AND status = OLD.status;
    UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND status = OLD.status;
    DELETE FROM site_done WHERE site_id = OLD.id;
END;

CREATE TRIGGER sites_count_update AFTER UPDATE OF campaign_id, subsystem_id, status ON sites
WHEN OLD.campaign_id IS NOT NEW.campaign_id OR OLD.subsystem_id IS NOT NEW.subsystem_id
  OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE site_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id
        AND subsystem_id = ifnull(OLD.subsystem_id, 0) AND status = OLD.status;
    INSERT INTO site_counts (campaign_id, subsystem_id, status, n)
        VALUES (NEW.campaign_id, ifnull(NEW.subsystem_id, 0), NEW.status, 1)
        ON CONFLICT (campaign_id, subsystem_id, status) DO UPDATE SET n = n + 1;
    UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND status = OLD.status;
    INSERT INTO campaign_counts (campaign_id, status, n) VALUES (NEW.campaign_id, NEW.status, 1)
        ON CONFLICT (campaign_id, status) DO UPDATE SET n = n + 1;
    DELETE FROM site_done WHERE site_id = OLD.id;
    INSERT INTO site_done (site_id, campaign_id, day)
        SELECT NEW.id, NEW.campaign_id, substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = NEW.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(e.at) FROM events e WHERE e.site_id = NEW.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            NEW.created_at), 1, 10)
        WHERE NEW.status IN ('fixed', 'confirmed_safe', 'gone');
END;

-- A done site's day moves when an event marks it done again or a fixing or removing commit
-- is linked to it, whichever comes first in the writer's transaction.
CREATE TRIGGER events_done_day AFTER INSERT ON events
WHEN NEW.kind = 'status' AND NEW.site_id IS NOT NULL
  AND NEW.new IN ('fixed', 'confirmed_safe', 'gone')
BEGIN
    DELETE FROM site_done WHERE site_id = NEW.site_id;
    INSERT INTO site_done (site_id, campaign_id, day)
        SELECT s.id, s.campaign_id, substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(e.at) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            s.created_at), 1, 10)
        FROM sites s WHERE s.id = NEW.site_id AND s.status IN ('fixed', 'confirmed_safe', 'gone');
END;

CREATE TRIGGER site_commits_done_day_insert AFTER INSERT ON site_commits
WHEN NEW.role IN ('fix', 'gone')
BEGIN
    DELETE FROM site_done WHERE site_id = NEW.site_id;
    INSERT INTO site_done (site_id, campaign_id, day)
        SELECT s.id, s.campaign_id, substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(e.at) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            s.created_at), 1, 10)
        FROM sites s WHERE s.id = NEW.site_id AND s.status IN ('fixed', 'confirmed_safe', 'gone');
END;

CREATE TRIGGER site_commits_done_day_delete AFTER DELETE ON site_commits
WHEN OLD.role IN ('fix', 'gone')
BEGIN
    DELETE FROM site_done WHERE site_id = OLD.site_id;
    INSERT INTO site_done (site_id, campaign_id, day)
        SELECT s.id, s.campaign_id, substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(e.at) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            s.created_at), 1, 10)
        FROM sites s WHERE s.id = OLD.site_id AND s.status IN ('fixed', 'confirmed_safe', 'gone');
END;

CREATE TRIGGER site_done_insert AFTER INSERT ON site_done
BEGIN
    INSERT INTO burndown_days (campaign_id, day, n) VALUES (NEW.campaign_id, NEW.day, 1)
        ON CONFLICT (campaign_id, day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER site_done_delete AFTER DELETE ON site_done
BEGIN
    UPDATE burndown_days SET n = n - 1 WHERE campaign_id = OLD.campaign_id AND day = OLD.day;
END;

-- The API's site lists walk these in id order (cursor pages: `campaign_id = ? [AND …] AND
-- rowid > ?`), and the verdict groups' counts on a subsystem page read the last one alone.
CREATE INDEX sites_campaign_id ON sites (campaign_id);
CREATE INDEX sites_campaign_subsystem_id ON sites (campaign_id, subsystem_id);
CREATE INDEX sites_campaign_callee ON sites (campaign_id, callee);
CREATE INDEX sites_campaign_subsystem_verdict ON sites (campaign_id, subsystem_id, verdict_id);
