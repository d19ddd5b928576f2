//! The site list of a campaign (`/c/{campaign}/sites`, filtered and searched) and the page of
//! one file's sites (`/c/{campaign}/f/{path}`, anchored by line).

use askama::Template;
use askama_web::WebTemplate;

use super::{CampaignHead, Chrome, SiteRow};

/// The filters as the form shows them back.
#[derive(Debug, Default, Clone)]
pub struct SiteFilters {
    pub q: String,
    pub status: String,
    pub subsystem: String,
    pub callee: String,
    pub function: String,
    pub file: String,
    /// "", "yes" or "no".
    pub claimed: String,
    /// "" or a fix stage (`posted` … `stable`).
    pub stage: String,
}

/// `/c/{campaign}/sites`.
#[derive(Template, WebTemplate)]
#[template(path = "sites.html")]
pub struct SitesPage {
    pub chrome: Chrome,
    pub c: CampaignHead,
    pub filters: SiteFilters,
    pub rows: Vec<SiteRow>,
    /// The next page's URL, when there is one.
    pub next: Option<String>,
    /// The search had no word of 3 characters or more.
    pub short_query: bool,
}

/// `/c/{campaign}/f/{path}`: every site of one file, each row anchored `L{line}`.
#[derive(Template, WebTemplate)]
#[template(path = "file.html")]
pub struct FilePage {
    pub chrome: Chrome,
    pub c: CampaignHead,
    pub file: String,
    pub rows: Vec<SiteRow>,
    /// The file at the campaign's tree on elixir (or its own tree URL); None where elixir's
    /// release does not have it.
    pub source_url: Option<String>,
}

/// The fix stages the site list filters by, in order.
pub fn stage_choices() -> [treewide_core::stages::Stage; 5] {
    treewide_core::stages::Stage::ALL
}
