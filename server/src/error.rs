//! Errors as responses: an HTML page for browsers, `application/problem+json` for the API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::views::{enc, Chrome, ErrorPage};

/// What a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PreconditionRequired(String),
    /// The server is saturated (no database connection came free in time, the request
    /// waited too long for its turn or took too long): try again after [`RETRY_AFTER`].
    #[error("{0}")]
    Unavailable(String),
    /// Only for logged-in people: a page sends the visitor to log in and come back to this
    /// path.
    #[error("log in first")]
    LogIn(String),
    #[error("internal error")]
    Internal(#[source] treewide_core::Error),
}

impl From<treewide_core::Error> for Failure {
    fn from(e: treewide_core::Error) -> Self {
        match e {
            treewide_core::Error::NotFound(what) => Failure::NotFound(format!("{what} not found")),
            treewide_core::Error::Invalid { .. } => Failure::BadRequest(e.to_string()),
            treewide_core::Error::Transition { .. } => Failure::Forbidden(e.to_string()),
            treewide_core::Error::Stale { .. } => Failure::PreconditionFailed(e.to_string()),
            treewide_core::Error::Forbidden(why) => Failure::Forbidden(why),
            treewide_core::Error::Conflict(why) => Failure::Conflict(why),
            treewide_core::Error::Db(ref db) if is_saturation(db) => {
                Failure::Unavailable(format!("the server is busy ({db}); try again shortly"))
            }
            e => Failure::Internal(e),
        }
    }
}

impl Failure {
    fn status(&self) -> StatusCode {
        match self {
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::BadRequest(_) => StatusCode::BAD_REQUEST,
            Failure::Forbidden(_) => StatusCode::FORBIDDEN,
            Failure::Conflict(_) => StatusCode::CONFLICT,
            Failure::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Failure::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Failure::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Failure::LogIn(_) => StatusCode::UNAUTHORIZED,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log(&self) {
        match self {
            Failure::Internal(e) => tracing::error!(error = %e, "request failed"),
            // Per request, so only at debug: a flood of them must not flood the log.
            Failure::Unavailable(why) => tracing::debug!("answered 503: {why}"),
            _ => {}
        }
    }

    /// `Retry-After` on a 503 answer.
    fn decorate(&self, mut res: Response) -> Response {
        if matches!(self, Failure::Unavailable(_)) {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER.as_secs()),
            );
        }
        res
    }
}

/// How long a saturated server asks clients to wait before trying again.
pub const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether a database error means "too busy now" rather than "broken": the pool had no
/// connection free in time, or SQLite stayed locked past its busy timeout.
fn is_saturation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        // SQLITE_BUSY (5) and its extended codes (517 BUSY_SNAPSHOT, 261 BUSY_RECOVERY),
        // SQLITE_LOCKED (6).
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

/// A failure of the session store (`treewide.db-sessions`), which tower-sessions hands over
/// as text only: 503 when its database was busy or no connection came free (the same
/// saturation as [`is_saturation`]), else `other`.
pub fn session_failure(e: impl std::fmt::Display, other: Failure) -> Failure {
    let text = e.to_string();
    let busy = [
        "(code: 5)",
        "(code: 6)",
        "database is locked",
        "pool timed out",
    ];
    if busy.iter().any(|b| text.contains(b)) {
        Failure::Unavailable(format!(
            "the server is busy (sessions: {text}); try again shortly"
        ))
    } else {
        other
    }
}

/// A failure on an HTML page.
#[derive(Debug)]
pub struct PageError(pub Failure, pub Option<Kept>);

/// What someone typed into a refused form, shown back on the error page so nothing is lost,
/// with the page to return to.
#[derive(Debug)]
pub struct Kept {
    pub back: String,
    pub text: String,
}

impl<E: Into<Failure>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into(), None)
    }
}

impl PageError {
    /// The failure of a form whose `text` (typed on page `back`) must not be lost.
    pub fn keeping(self, back: &str, text: &str) -> PageError {
        let kept = (!text.trim().is_empty()).then(|| Kept {
            back: back.to_owned(),
            text: text.to_owned(),
        });
        PageError(self.0, kept)
    }
}

/// `result`, with the typed `text` kept on the error page when it failed.
pub fn keep_text<T>(result: Result<T, PageError>, back: &str, text: &str) -> Result<T, PageError> {
    result.map_err(|e| e.keeping(back, text))
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Failure::LogIn(back) = &self.0 {
            return Redirect::to(&format!("/login?next={}", enc(back))).into_response();
        }
        self.0.log();
        let status = self.0.status();
        let page = ErrorPage {
            chrome: Chrome::default(),
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.0.to_string(),
            kept: self.1,
        };
        self.0.decorate((status, page).into_response())
    }
}

/// A failure in the JSON API (RFC 9457 problem details).
#[derive(Debug)]
pub struct ApiError(pub Failure);

impl<E: Into<Failure>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        self.0
            .decorate(problem(self.0.status(), &self.0.to_string()))
    }
}

/// An RFC 9457 problem answer: `status` with `detail` for the caller.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_is_503_with_retry_after_for_pages_and_the_api() {
        let f = || Failure::from(treewide_core::Error::Db(sqlx::Error::PoolTimedOut));
        for res in [
            PageError(f(), None).into_response(),
            ApiError(f()).into_response(),
        ] {
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        }
        let other = Failure::from(treewide_core::Error::Db(sqlx::Error::RowNotFound));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_locked_session_store_is_503_and_a_broken_one_is_not() {
        let locked = "error returned from database: (code: 5) database is locked";
        let f = session_failure(locked, Failure::Forbidden("login failed".into()));
        assert_eq!(f.status(), StatusCode::SERVICE_UNAVAILABLE);
        let f = session_failure("no such table", Failure::Forbidden("login failed".into()));
        assert_eq!(f.status(), StatusCode::FORBIDDEN);
    }
}
