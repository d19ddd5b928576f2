-- Browser sessions move to a database file of their own (`treewide.db-sessions`, created by
-- the server with the session store's schema): a session is written by every login form, and
-- any write to this file empties the page cache (it watches PRAGMA data_version). Dropping
-- the table here logs everyone out once.
DROP TABLE IF EXISTS tower_sessions;
