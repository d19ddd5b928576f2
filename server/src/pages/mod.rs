//! HTML pages and the forms people post: one module per page (or group of forms), each with
//! its own routes. Every form carries the session's CSRF token; every permission is checked
//! on the server, whatever the page showed.

mod account;
mod assets;
mod campaign;
mod home;
mod questions;
mod reports;
mod site;
mod subsystem;

use axum::Router;
use treewide_core::users::User;

use crate::error::{Failure, PageError};
use crate::middleware::csrf::{check_csrf, csrf_token};
use crate::middleware::session::AuthSession;
use crate::state::AppState;
use crate::views::Chrome;

/// Every page and form route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(campaign::router())
        .merge(subsystem::router())
        .merge(site::router())
        .merge(reports::router())
        .merge(questions::router())
        .merge(account::router())
        .merge(assets::router())
}

/// The page frame for this request: the viewer, and a CSRF token when they can post forms
/// (anonymous visitors get no session, so plain reading stays cache-friendly).
pub async fn chrome(auth: &AuthSession, here: &str) -> Result<Chrome, PageError> {
    let Some(u) = &auth.user else {
        return Ok(Chrome {
            here: here.to_owned(),
            ..Default::default()
        });
    };
    Ok(Chrome {
        viewer: Some(u.0.display()),
        is_admin: u.0.is_admin,
        csrf: csrf_token(&auth.session).await?,
        here: here.to_owned(),
    })
}

/// Only same-site paths are followed after login (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The logged-in person; anyone else is sent to log in and come back to `here`.
fn viewer<'a>(auth: &'a AuthSession, here: &str) -> Result<&'a User, PageError> {
    auth.user
        .as_ref()
        .map(|u| &u.0)
        .ok_or_else(|| PageError(Failure::LogIn(here.to_owned())))
}

/// The person posting a form from `here`: logged in (else sent to log in and come back), and
/// the form's CSRF token is the session's.
async fn poster<'a>(auth: &'a AuthSession, here: &str, csrf: &str) -> Result<&'a User, PageError> {
    let user = viewer(auth, here)?;
    check_csrf(&auth.session, csrf).await?;
    Ok(user)
}

/// Any other path.
pub async fn not_found() -> PageError {
    PageError(Failure::NotFound("no such page".into()))
}
