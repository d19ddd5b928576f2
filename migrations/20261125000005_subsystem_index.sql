-- A subsystem's page lists its sites by file and line: serve that order from an index.
CREATE INDEX sites_campaign_subsystem_file ON sites (campaign_id, subsystem_id, file, line);
