//! Who is asking: browser sessions (tower-sessions in SQLite + axum-login, argon2 passwords),
//! CSRF tokens for forms, and bearer tokens for the API.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder, AuthUser, AuthnBackend, UserId};
use rand::RngCore;
use serde_json::json;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;
use treewide_core::users::{self, Scope, User};
use treewide_core::SqlitePool;

use crate::error::{Failure, PageError};
use crate::AppState;

/// A logged-in person, as axum-login keeps them.
#[derive(Debug, Clone)]
pub struct SessionUser(pub User);

impl AuthUser for SessionUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.0.id.0
    }

    // Changing the password ends every other session.
    fn session_auth_hash(&self) -> &[u8] {
        self.0.password_hash.as_bytes()
    }
}

/// Email and password from the login form.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// Users from treewide's database.
#[derive(Debug, Clone)]
pub struct Backend {
    db: SqlitePool,
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = treewide_core::Error;

    async fn authenticate(&self, c: Credentials) -> Result<Option<SessionUser>, Self::Error> {
        Ok(users::authenticate(&self.db, &c.email, &c.password)
            .await?
            .map(SessionUser))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<SessionUser>, Self::Error> {
        Ok(users::get(&self.db, users::UserId(*id))
            .await?
            .map(SessionUser))
    }
}

/// The session of a request (login state and CSRF token).
pub type AuthSession = axum_login::AuthSession<Backend>;

/// Sessions in the database, cookies HttpOnly, SameSite=Lax and Secure (browsers treat
/// http://localhost as secure, so local use works too), a week of inactivity.
pub fn layer(db: SqlitePool) -> AuthManagerLayer<Backend, SqliteStore> {
    let store = SqliteStore::new(db.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name("treewide")
        .with_secure(true)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(7),
        ));
    AuthManagerLayerBuilder::new(Backend { db }, sessions).build()
}

const CSRF_KEY: &str = "csrf";

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, PageError> {
    if let Ok(Some(t)) = session.get::<String>(CSRF_KEY).await {
        return Ok(t);
    }
    let mut b = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let t = hex::encode(b);
    session
        .insert(CSRF_KEY, &t)
        .await
        .map_err(|e| Failure::Internal(treewide_core::Error::NotFound(format!("session: {e}"))))?;
    Ok(t)
}

/// Refuse a form whose CSRF token is not the session's.
pub async fn check_csrf(session: &Session, sent: &str) -> Result<(), PageError> {
    match session.get::<String>(CSRF_KEY).await {
        Ok(Some(t)) if !sent.is_empty() && constant_time_eq(t.as_bytes(), sent.as_bytes()) => {
            Ok(())
        }
        _ => Err(Failure::Forbidden(
            "the form's CSRF token is missing or wrong; reload the page and try again".into(),
        )
        .into()),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A bot or person calling the API with `Authorization: Bearer <token>`.
pub struct ApiCaller {
    pub user: User,
    pub scopes: Vec<Scope>,
}

impl ApiCaller {
    /// 403 unless the token has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiAuthError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiAuthError::Forbidden(format!(
                "this token lacks the {} scope",
                scope.as_str()
            )))
        }
    }
}

/// Why an API request was refused before it ran.
#[derive(Debug)]
pub enum ApiAuthError {
    Unauthorized(String),
    Forbidden(String),
    Internal,
}

impl IntoResponse for ApiAuthError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            ApiAuthError::Unauthorized(d) => (StatusCode::UNAUTHORIZED, d),
            ApiAuthError::Forbidden(d) => (StatusCode::FORBIDDEN, d),
            ApiAuthError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal error".into()),
        };
        let body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"treewide\""),
            );
        }
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
            Err(_) => Err(ApiAuthError::Internal),
        }
    }
}
