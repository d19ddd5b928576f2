//! Errors as responses: an HTML page for browsers, `application/problem+json` for the API.

use axum::http::{header, StatusCode};
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
            Failure::LogIn(_) => StatusCode::UNAUTHORIZED,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn log(&self) {
        if let Failure::Internal(e) = self {
            tracing::error!(error = %e, "request failed");
        }
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
        (status, page).into_response()
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
        problem(self.0.status(), &self.0.to_string())
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
