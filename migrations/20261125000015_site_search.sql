-- Full-text search over sites (issue 16): a site is found by its file, function, callee and
-- code, by the notes on it and by the subjects of the mail linked to it. One FTS5 row per
-- site (rowid = site id), rebuilt by triggers whenever one of those changes, so the index is
-- exact whatever code writes. The trigram tokenizer finds parts of identifiers and paths
-- ("get_pages", "nvme/target") as people type them.
CREATE VIRTUAL TABLE site_search USING fts5 (text, tokenize = 'trigram');

CREATE VIEW site_search_text (site_id, text) AS
SELECT s.id,
       s.file || ' ' || ifnull(s.function, '') || ' ' || s.callee || ' ' || s.code
       || ifnull((SELECT ' ' || group_concat(n.body, ' ') FROM notes n WHERE n.site_id = s.id), '')
       || ifnull((SELECT ' ' || group_concat(m.subject, ' ') FROM message_sites ms
                  JOIN messages m ON m.id = ms.message_id WHERE ms.site_id = s.id), '')
FROM sites s;

INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text;

CREATE TRIGGER site_search_insert AFTER INSERT ON sites BEGIN
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.id;
END;
CREATE TRIGGER site_search_update AFTER UPDATE OF file, function, callee, code ON sites BEGIN
    DELETE FROM site_search WHERE rowid = NEW.id;
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.id;
END;
CREATE TRIGGER site_search_delete AFTER DELETE ON sites BEGIN
    DELETE FROM site_search WHERE rowid = OLD.id;
END;
CREATE TRIGGER site_search_note AFTER INSERT ON notes WHEN NEW.site_id IS NOT NULL BEGIN
    DELETE FROM site_search WHERE rowid = NEW.site_id;
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.site_id;
END;
CREATE TRIGGER site_search_mail AFTER INSERT ON message_sites BEGIN
    DELETE FROM site_search WHERE rowid = NEW.site_id;
    INSERT INTO site_search (rowid, text) SELECT site_id, text FROM site_search_text WHERE site_id = NEW.site_id;
END;
