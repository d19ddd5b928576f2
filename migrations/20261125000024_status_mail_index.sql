-- The status mail (report.txt) lists a campaign's open sites status by status in tree order,
-- a page at a time as it streams (core::report::Report): this index walks one status's sites
-- in that order. sites_campaign_status keeps them in id order (the API's cursor pages), so
-- every page of the mail read and sorted all of that status's sites.
CREATE INDEX sites_campaign_status_file ON sites (campaign_id, status, file, line);
