-- A mail import commits chunk by chunk (issue 15: one transaction for a whole epoch held the
-- write lock for 20 s and web writes failed). Owners' answers are checked once every link of
-- an import is in; the replies that may answer wait here, written in the same transaction as
-- their chunk, and the import's last step checks and deletes them. An import that was killed
-- leaves them for the next one to finish.
CREATE TABLE mail_answer_pending (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE
);
