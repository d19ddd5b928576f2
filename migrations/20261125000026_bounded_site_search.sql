-- The site search text (0015) held the subject of every message linked to the site, and the
-- trigger rebuilt that whole text on each new link: a site that thousands of messages name
-- (a much-discussed call) made a mail import quadratic (10k messages on one site: 6 s, 5k:
-- 1.3 s; 45% of it trigram-tokenizing the same subjects again). The text now carries the
-- distinct subjects (32 at most) of the 64 most recently linked messages, found through an
-- index on (site_id, message_id): what people search a site by
-- (its patch's title, the thread it is discussed in) stays findable, and a new link costs a
-- bounded re-index. Older subjects stay on the site page.
CREATE INDEX message_sites_site_message ON message_sites (site_id, message_id);
DROP TRIGGER site_search_insert;
DROP TRIGGER site_search_update;
DROP TRIGGER site_search_note;
DROP TRIGGER site_search_mail;
DROP VIEW site_search_text;

CREATE VIEW site_search_text (site_id, text) AS
SELECT s.id,
       s.file || ' ' || ifnull(s.function, '') || ' ' || s.callee || ' ' || s.code
       || ifnull((SELECT ' ' || group_concat(n.body, ' ') FROM notes n WHERE n.site_id = s.id), '')
       || ifnull((SELECT ' ' || group_concat(subject, ' ') FROM
                    (SELECT m.subject AS subject, max(ms.message_id) AS last
                     FROM (SELECT message_id FROM message_sites WHERE site_id = s.id
                           ORDER BY message_id DESC LIMIT 64) ms
                     JOIN messages m ON m.id = ms.message_id
                     GROUP BY m.subject ORDER BY last DESC LIMIT 32)), '')
FROM sites s;

CREATE TRIGGER site_search_insert AFTER INSERT ON sites BEGIN
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.id;
END;
CREATE TRIGGER site_search_update AFTER UPDATE OF file, function, callee, code ON sites BEGIN
    DELETE FROM site_search WHERE rowid = NEW.id;
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.id;
END;
CREATE TRIGGER site_search_note AFTER INSERT ON notes WHEN NEW.site_id IS NOT NULL BEGIN
    DELETE FROM site_search WHERE rowid = NEW.site_id;
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.site_id;
END;
CREATE TRIGGER site_search_mail AFTER INSERT ON message_sites BEGIN
    DELETE FROM site_search WHERE rowid = NEW.site_id;
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.site_id;
END;
