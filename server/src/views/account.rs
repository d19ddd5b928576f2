//! Pages of one's account: log in, accept an invite, API tokens, and the notice after a change.

use askama::Template;
use askama_web::WebTemplate;

use super::Chrome;

/// The login form.
#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub next: String,
    /// The email typed before, kept when a login is refused.
    pub email: String,
    pub error: Option<String>,
}

/// The invite page, where a new account sets its password.
#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub chrome: Chrome,
    pub csrf: String,
    pub email: String,
    pub token: String,
    pub error: Option<String>,
}

/// One's settings: the API tokens.
#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub chrome: Chrome,
    pub email: String,
    pub tokens: Vec<treewide_core::users::Token>,
    /// A token just created: shown this once.
    pub new_token: Option<String>,
}

/// A short notice after a change, with the way back.
#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub back: String,
}
