//! API callers: `Authorization: Bearer <token>` resolved to a user and the token's scopes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use treewide_core::users::{self, Scope, User};

use crate::error::{problem, ApiError, Failure};
use crate::state::AppState;

/// A bot or person calling the API with `Authorization: Bearer <token>`.
pub struct ApiCaller {
    pub user: User,
    pub scopes: Vec<Scope>,
}

impl ApiCaller {
    /// 403 unless the token has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), Failure> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(Failure::Forbidden(format!(
                "this token lacks the {} scope",
                scope.as_str()
            )))
        }
    }
}

/// Why an API request was refused before it ran: no valid token.
#[derive(Debug)]
pub enum ApiAuthError {
    Unauthorized(String),
    /// The token could not be checked: 503 + Retry-After when the database was busy (an
    /// import between chunks; checking records the token's use, a write), else 500.
    Failed(Failure),
}

impl IntoResponse for ApiAuthError {
    fn into_response(self) -> Response {
        let detail = match self {
            ApiAuthError::Unauthorized(d) => d,
            ApiAuthError::Failed(f) => return ApiError(f).into_response(),
        };
        let status = StatusCode::UNAUTHORIZED;
        let mut res = problem(status, &detail);
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"treewide\""),
        );
        res
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiAuthError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiAuthError::Unauthorized(
                    "an API token is needed: Authorization: Bearer <token>".into(),
                )
            })?;
        match users::check_token(&st.db, token).await {
            Ok(Some((user, scopes))) => Ok(ApiCaller { user, scopes }),
            Ok(None) => Err(ApiAuthError::Unauthorized(
                "the API token is unknown or revoked".into(),
            )),
            Err(e) => Err(ApiAuthError::Failed(Failure::from(e))),
        }
    }
}
