-- Facts carry the time they happened (issue 16), not only the time they were recorded:
-- `events.occurred_at` is the auditor's stated date, the fixing commit's date or the mail's
-- date when an importer knows it (NULL: as old as its recording, `at`); `verdicts.date` is
-- when a verdict group's status became true for its sites (the mail that said so).
-- A done site's burndown day comes from the first fixing or removing commit, else from the
-- latest event that marked it done (at the time that event says the fact happened), else from
-- the date of the verdict group that decided it, else from the site's creation. The triggers
-- of 0020 that work the day out are replaced with that rule (stored days stay right: nothing
-- has the new columns yet).
ALTER TABLE events ADD COLUMN occurred_at TEXT;
ALTER TABLE verdicts ADD COLUMN date TEXT;

DROP TRIGGER sites_done_insert;
CREATE TRIGGER sites_done_insert AFTER INSERT ON sites
WHEN NEW.status IN ('fixed', 'confirmed_safe', 'gone')
BEGIN
    INSERT INTO site_done (site_id, campaign_id, day)
        VALUES (NEW.id, NEW.campaign_id, substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = NEW.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(coalesce(e.occurred_at, e.at)) FROM events e WHERE e.site_id = NEW.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            (SELECT v.date FROM verdicts v WHERE v.id = NEW.verdict_id),
            NEW.created_at), 1, 10));
END;

DROP TRIGGER sites_done_update;
CREATE TRIGGER sites_done_update AFTER UPDATE OF campaign_id, status ON sites
WHEN OLD.campaign_id IS NOT NEW.campaign_id OR OLD.status IS NOT NEW.status
BEGIN
    DELETE FROM site_done WHERE site_id = OLD.id;
    INSERT INTO site_done (site_id, campaign_id, day) VALUES (NEW.id, NEW.campaign_id,
        CASE WHEN NEW.status IN ('fixed', 'confirmed_safe', 'gone') THEN substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = NEW.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(coalesce(e.occurred_at, e.at)) FROM events e WHERE e.site_id = NEW.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            (SELECT v.date FROM verdicts v WHERE v.id = NEW.verdict_id),
            NEW.created_at), 1, 10) END);
END;

DROP TRIGGER events_done_day;
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

DROP TRIGGER site_commits_done_day_insert;
CREATE TRIGGER site_commits_done_day_insert AFTER INSERT ON site_commits
WHEN NEW.role IN ('fix', 'gone') AND EXISTS (SELECT 1 FROM sites WHERE id = NEW.site_id)
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

DROP TRIGGER site_commits_done_day_delete;
CREATE TRIGGER site_commits_done_day_delete AFTER DELETE ON site_commits
WHEN OLD.role IN ('fix', 'gone') AND EXISTS (SELECT 1 FROM sites WHERE id = OLD.site_id)
BEGIN
    DELETE FROM site_done WHERE site_id = OLD.site_id;
    INSERT INTO site_done (site_id, campaign_id, day) VALUES (OLD.site_id,
        (SELECT s.campaign_id FROM sites s WHERE s.id = OLD.site_id),
        (SELECT CASE WHEN s.status IN ('fixed', 'confirmed_safe', 'gone') THEN substr(coalesce(
            (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
              WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
            (SELECT max(coalesce(e.occurred_at, e.at)) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
            (SELECT v.date FROM verdicts v WHERE v.id = s.verdict_id),
            s.created_at), 1, 10) END
           FROM sites s WHERE s.id = OLD.site_id));
END;
