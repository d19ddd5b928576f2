//! HTML pages and the forms people post: one module per page (or group of forms), each with
//! its own routes. Every form carries the session's CSRF token; every permission is checked
//! on the server, whatever the page showed.

mod account;
mod assets;
mod campaign;
mod home;
mod me;
mod questions;
mod reports;
mod site;
mod sites;
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
        .merge(me::router())
        .merge(campaign::router())
        .merge(subsystem::router())
        .merge(site::router())
        .merge(sites::router())
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
        speaks_for: treewide_core::users::subsystems_of(&auth.backend.db, &u.0.email).await?,
    })
}

/// Where to go after login: `next` when it is a path of this site, else `/` (no open
/// redirects, and nothing a `Location` header cannot carry).
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("/").to_owned()
}

/// Whether `p` (as the form or query gave it, decoded once) is a path on this site, read the
/// way browsers read a `Location`: one leading `/` (`//host` and `/\host` are other hosts);
/// ASCII without control characters, whitespace or backslashes, which browsers drop or turn
/// into `/` (`/\t/evil.example` is `//evil.example` to them); a valid URI path and query.
/// Its percent-decoded form is held to the same rules, so that a second decoding somewhere
/// cannot make it another host.
fn is_local_path(p: &str) -> bool {
    fn plain(p: &str) -> bool {
        let mut rest = p.chars();
        rest.next() == Some('/')
            && !matches!(rest.next(), Some('/' | '\\'))
            && !p
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    }
    let decoded = percent_encoding::percent_decode_str(p).decode_utf8_lossy();
    p.is_ascii()
        && plain(p)
        && plain(&decoded)
        && p.parse::<axum::http::uri::PathAndQuery>()
            .is_ok_and(|pq| pq.path().starts_with('/'))
        && axum::http::HeaderValue::from_str(p).is_ok()
}
/// The logged-in person; anyone else is sent to log in and come back to `here`.
fn viewer<'a>(auth: &'a AuthSession, here: &str) -> Result<&'a User, PageError> {
    auth.user
        .as_ref()
        .map(|u| &u.0)
        .ok_or_else(|| PageError(Failure::LogIn(here.to_owned()), None))
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
    PageError(Failure::NotFound("no such page".into()), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_followed_after_login() {
        for ok in [
            "/",
            "/settings",
            "/c/iov-iter-pin/s/nvm-express-target-driver",
            "/c/iov-iter-pin?status=needs_pin&sort=questions",
            "/c/x/site/12#history",
            "/c/a%2Fb",
        ] {
            assert_eq!(safe_next(Some(ok)), ok, "{ok}");
        }
        let nasty = [
            "",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/%0a",
            "/%00",
            "/ /evil.example",
            "/a b",
            "/\u{7f}",
            "/\u{85}evil",
            "/\u{a0}evil",
            "/\u{2028}",
            "/café",
            "https://evil.example/",
            "evil.example",
            "javascript:alert(1)",
            "\\\\evil.example",
            "/c/\\evil",
            "/%E2%80%A8",
            "/%ZZ/\t",
        ];
        for bad in nasty {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
