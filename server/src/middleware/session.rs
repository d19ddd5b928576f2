//! Who is logged in: browser sessions (tower-sessions in SQLite + axum-login, argon2
//! passwords). CSRF tokens live in `csrf`, API tokens in `bearer`.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder, AuthUser, AuthnBackend, UserId};
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;
use treewide_core::users::{self, User};
use treewide_core::SqlitePool;

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
    pub(crate) db: SqlitePool,
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

/// How long a session lasts without being used.
pub const SESSION_DAYS: i64 = 14;

/// The session store: `tower_sessions` in the sessions database beside `db`
/// (`treewide_core::db::open_sessions`), so that writing a session does not count as a change
/// of the data the page cache watches.
pub async fn store(db: &SqlitePool) -> treewide_core::Result<SqliteStore> {
    let store = SqliteStore::new(treewide_core::db::open_sessions(db).await?);
    store.migrate().await?;
    Ok(store)
}

/// Sessions in `store`, cookies HttpOnly, SameSite=Lax and Secure when `secure` (over https,
/// or on loopback where browsers keep Secure cookies over http too), ending after
/// [`SESSION_DAYS`] without use.
pub fn layer(
    db: SqlitePool,
    store: SqliteStore,
    secure: bool,
) -> AuthManagerLayer<Backend, SqliteStore> {
    let sessions = SessionManagerLayer::new(store)
        .with_name("treewide")
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::days(SESSION_DAYS),
        ));
    AuthManagerLayerBuilder::new(Backend { db }, sessions).build()
}

/// The day a session was last renewed (`YYYY-MM-DD`).
const RENEWED_KEY: &str = "renewed";

/// Middleware inside the session layer: a session in use is renewed (its row and cookie get
/// a new expiry) once a day. tower-sessions moves the expiry only when a session is written,
/// and writing it on every request would cost a write per page.
pub async fn keep_alive(req: Request, next: Next) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let res = next.run(req).await;
    let Some(session) = session else { return res };
    // No cookie means no session to renew (anonymous readers get none).
    if session.id().is_none() || session.is_empty().await {
        return res;
    }
    let today = time::OffsetDateTime::now_utc().date().to_string();
    if session
        .get::<String>(RENEWED_KEY)
        .await
        .ok()
        .flatten()
        .as_deref()
        != Some(today.as_str())
    {
        if let Err(e) = session.insert(RENEWED_KEY, today).await {
            tracing::warn!("cannot renew a session: {e}");
        }
    }
    res
}

/// Delete expired sessions every `period`, for as long as the server runs.
pub async fn delete_expired_every(store: SqliteStore, period: std::time::Duration) {
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!("cannot delete expired sessions: {e}");
        }
    }
}
