-- Mail imports without reloading every stored message (issue 5).
--
-- A message's parent is its In-Reply-To when that message is present, else the nearest
-- present message of its References. A message whose In-Reply-To is present is settled for
-- good; any other may get a new parent (and so a new thread root) when one of the messages it
-- names arrives. message_wants lists, for those messages, the absent Message-IDs they name,
-- so an import finds the stored threads a new message re-roots with an index lookup.
CREATE TABLE message_wants (
    want       TEXT    NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (want, message_id)
) WITHOUT ROWID;
CREATE INDEX message_wants_message ON message_wants (message_id);

WITH RECURSIVE
    unsettled (id, msgid, in_reply_to, refs) AS (
        SELECT m.id, m.message_id, m.in_reply_to, m.refs FROM messages m
        WHERE m.in_reply_to IS NULL OR m.in_reply_to = m.message_id
           OR NOT EXISTS (SELECT 1 FROM messages p WHERE p.message_id = m.in_reply_to)
    ),
    -- References are Message-IDs separated by single spaces.
    named (id, msgid, tok, rest) AS (
        SELECT id, msgid, in_reply_to, refs || ' ' FROM unsettled
        UNION ALL
        SELECT id, msgid, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
        FROM named WHERE rest <> ''
    )
INSERT OR IGNORE INTO message_wants (want, message_id)
SELECT tok, id FROM named
WHERE tok IS NOT NULL AND tok <> '' AND tok <> msgid
  AND NOT EXISTS (SELECT 1 FROM messages p WHERE p.message_id = tok);

-- Nothing looks messages up by In-Reply-To or sender (threads are found by thread_root,
-- answers start from the batch's messages), and every index costs each insert.
DROP INDEX messages_in_reply_to;
DROP INDEX messages_from;
