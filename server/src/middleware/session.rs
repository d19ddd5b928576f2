//! Who is logged in: browser sessions (tower-sessions in SQLite + axum-login, argon2
//! passwords). CSRF tokens live in `csrf`, API tokens in `bearer`.

use axum_login::{AuthManagerLayer, AuthManagerLayerBuilder, AuthUser, AuthnBackend, UserId};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
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
