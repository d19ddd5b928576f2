//! The home page: every campaign with its progress.

use askama::Template;
use askama_web::WebTemplate;

use super::{CampaignHead, Chrome};

/// The home page.
#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub chrome: Chrome,
    pub campaigns: Vec<CampaignHead>,
}
