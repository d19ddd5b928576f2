-- Revisions of a patch and maintainers' "Applied …, thanks!" notes (issue 13).
--
-- revision_key  what the versions of one patch share: the sender's address (lower-cased) and
--               the subject without reply markers and "[PATCH vN m/n]" (lower-cased), joined
--               by a newline. Set on patches and cover letters, NULL on replies.
-- change_id     the b4 change-id a message carries in its own text ("change-id: 2023…-ab12"):
--               cover letters of all versions of one series share it.
-- applied       an "Applied to 7.1/scsi-queue, thanks!" note in a reply's own text, as JSON
--               {"tree": "7.1/scsi-queue" or null, "numbers": [2, 3], "titles": ["…"]}:
--               the tree or branch it names, and the patches of the series it names by
--               number or b4 "[m/n] title" line (none: what it replies to).
--
-- Filled by imports for new messages; core::mail::revision::backfill fills stored messages
-- once, when a database made before this migration is opened (PRAGMA user_version 0 → 1).
-- message_trailers.about: the titles of the quoted patches a trailer stood under (JSON list;
-- NULL: about what the message replies to), so a patch that arrives after its review still
-- gets only the trailers written under its title.
ALTER TABLE messages ADD COLUMN revision_key TEXT;
ALTER TABLE messages ADD COLUMN change_id TEXT;
ALTER TABLE messages ADD COLUMN applied TEXT;
ALTER TABLE message_trailers ADD COLUMN about TEXT;
CREATE INDEX messages_revision ON messages (revision_key) WHERE revision_key IS NOT NULL;
CREATE INDEX messages_change_id ON messages (change_id) WHERE change_id IS NOT NULL;

-- What a campaign's fixed form and start are, for importers deciding whether a patch or a
-- commit fixes a site: the spec (TOML) its sites were last scanned with, or the built-in one
-- an auditor file names (campaign.spec), and its start date (YYYY-MM-DD, from the spec or the
-- auditor file's campaign.start). NULL: not known (then only a built-in spec of the same slug
-- says what fixed is, and no date limit applies unless that spec has one).
ALTER TABLE campaigns ADD COLUMN spec TEXT;
ALTER TABLE campaigns ADD COLUMN start TEXT;
