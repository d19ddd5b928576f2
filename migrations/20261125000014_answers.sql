-- An answer note names the question it answers (issue 14: answers show under their questions
-- on pages, in feeds and in the API). Answers written before this are found through their
-- event: the question event (open → answered) an answer writes has the question's id as its
-- reason and the answer's author and time.
ALTER TABLE notes ADD COLUMN answers INTEGER REFERENCES notes (id) ON DELETE SET NULL;
UPDATE notes SET answers = (
    SELECT CAST(e.reason AS INTEGER) FROM events e
    WHERE e.kind = 'question' AND e.old = 'open' AND e.new = 'answered'
      AND e.actor = notes.author AND e.at = notes.created_at AND e.site_id IS notes.site_id
      AND e.campaign_id = notes.campaign_id
    LIMIT 1)
WHERE ask_subsystem_id IS NULL;
CREATE INDEX notes_answers ON notes (answers) WHERE answers IS NOT NULL;
