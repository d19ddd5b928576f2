//! One's account: log in and out, accept an invite (set a password), manage API tokens.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use treewide_core::users::{self, Scope};

use super::{chrome, poster, safe_next, viewer};
use crate::error::{session_failure, Failure, PageError};
use crate::middleware::csrf::{check_csrf, csrf_token};
use crate::middleware::login_limit::{retry_after_secs, ClientAddr};
use crate::middleware::session::{AuthSession, Credentials, SessionUser};
use crate::state::AppState;
use crate::views::account::{InvitePage, LoginPage, NoticePage, SettingsPage};

/// Login, logout, invites and settings.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/invite/{token}", get(invite_page).post(accept_invite))
        .route("/settings", get(settings))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// `GET /login`
async fn login_page(auth: AuthSession, Query(q): Query<NextQuery>) -> Result<LoginPage, PageError> {
    Ok(LoginPage {
        chrome: chrome(&auth, "/login").await?,
        csrf: csrf_token(&auth.session).await?,
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`: rate-limited per account and per client address (429 with `Retry-After`).
async fn login(
    State(st): State<AppState>,
    ClientAddr(addr): ClientAddr,
    mut auth: AuthSession,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_csrf(&auth.session, &f.csrf).await?;
    let next = safe_next(f.next.as_deref());
    if let Err(wait) = st.logins.attempt(&f.email, addr) {
        let secs = retry_after_secs(wait);
        let page = refused(&auth, next, f.email, too_many_attempts(secs)).await?;
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            page,
        )
            .into_response());
    }
    let user = auth
        .authenticate(Credentials {
            email: f.email.clone(),
            password: f.password,
        })
        .await
        .map_err(|e| match e {
            axum_login::Error::Backend(e) => Failure::from(e),
            axum_login::Error::Session(e) => {
                session_failure(e, Failure::Forbidden("login failed".into()))
            }
        })?;
    let Some(user) = user else {
        let page = refused(&auth, next, f.email, "Wrong email or password.".into()).await?;
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    auth.login(&user)
        .await
        .map_err(|e| session_failure(e, Failure::Forbidden("login failed".into())))?;
    // A new session id and CSRF token after login (no session fixation).
    let _ = auth.session.cycle_id().await;
    let _ = auth.session.remove::<String>("csrf").await;
    Ok(Redirect::to(&next).into_response())
}

/// The login form again after a refused attempt, with the email typed and why.
async fn refused(
    auth: &AuthSession,
    next: String,
    email: String,
    error: String,
) -> Result<LoginPage, PageError> {
    Ok(LoginPage {
        chrome: chrome(auth, "/login").await?,
        csrf: csrf_token(&auth.session).await?,
        next,
        email,
        error: Some(error),
    })
}

/// The login form's words for a refused attempt, with the wait in minutes or seconds.
fn too_many_attempts(secs: u64) -> String {
    let wait = if secs >= 90 {
        format!("{} minutes", secs.div_ceil(60))
    } else if secs == 1 {
        "1 second".to_owned()
    } else {
        format!("{secs} seconds")
    };
    format!(
        "Too many login attempts for this account or from your address. \
         Try again in {wait}."
    )
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`
async fn logout(mut auth: AuthSession, Form(f): Form<CsrfForm>) -> Result<Response, PageError> {
    check_csrf(&auth.session, &f.csrf).await?;
    let _ = auth.logout().await;
    let _ = auth.session.flush().await;
    Ok(Redirect::to("/").into_response())
}

/// `GET /invite/{token}`: set a password.
async fn invite_page(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(token): Path<String>,
) -> Result<InvitePage, PageError> {
    let user = users::by_invite(&st.db, &token)
        .await?
        .ok_or_else(invite_gone)?;
    Ok(InvitePage {
        chrome: chrome(&auth, "/invite").await?,
        csrf: csrf_token(&auth.session).await?,
        email: user.email,
        token,
        error: None,
    })
}

fn invite_gone() -> Failure {
    Failure::NotFound("this invite link was used already or has expired".into())
}

#[derive(Deserialize)]
struct InviteForm {
    password: String,
    password2: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /invite/{token}`: the password is set, the invite used up, the person logged in.
async fn accept_invite(
    State(st): State<AppState>,
    mut auth: AuthSession,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> Result<Response, PageError> {
    check_csrf(&auth.session, &f.csrf).await?;
    let user = users::by_invite(&st.db, &token)
        .await?
        .ok_or_else(invite_gone)?;
    if let Err(refused) = users::check_new_password(&f.password, &f.password2) {
        let page = InvitePage {
            chrome: chrome(&auth, "/invite").await?,
            csrf: csrf_token(&auth.session).await?,
            email: user.email,
            token,
            error: Some(refused.to_string()),
        };
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    // Another acceptance of the same link may have won since the look above.
    let user = match users::accept_invite(&st.db, &token, &f.password).await {
        Err(treewide_core::Error::NotFound(_)) => return Err(invite_gone().into()),
        r => r?,
    };
    auth.login(&SessionUser(user))
        .await
        .map_err(|e| session_failure(e, Failure::Forbidden("login failed".into())))?;
    let _ = auth.session.cycle_id().await;
    Ok(Redirect::to("/").into_response())
}

/// `GET /settings`: the person's API tokens.
async fn settings(State(st): State<AppState>, auth: AuthSession) -> Result<Response, PageError> {
    let user = viewer(&auth, "/settings")?;
    let tokens = users::tokens(&st.db, user.id).await?;
    Ok(SettingsPage {
        chrome: chrome(&auth, "/settings").await?,
        email: user.email.clone(),
        tokens,
        new_token: None,
    }
    .into_response())
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    notes_write: Option<String>,
    #[serde(default)]
    status_write: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /settings/tokens`: the new token is shown once, on this response only.
async fn create_token(
    State(st): State<AppState>,
    auth: AuthSession,
    Form(f): Form<TokenForm>,
) -> Result<Response, PageError> {
    let user = poster(&auth, "/settings", &f.csrf).await?;
    let scopes: Vec<Scope> = [
        (f.read.is_some(), Scope::Read),
        (f.notes_write.is_some(), Scope::NotesWrite),
        (f.status_write.is_some(), Scope::StatusWrite),
    ]
    .into_iter()
    .filter_map(|(on, s)| on.then_some(s))
    .collect();
    let name = if f.name.trim().is_empty() {
        "token"
    } else {
        f.name.trim()
    };
    let (_, token) = users::create_token(&st.db, user.id, name, &scopes).await?;
    let tokens = users::tokens(&st.db, user.id).await?;
    Ok(SettingsPage {
        chrome: chrome(&auth, "/settings").await?,
        email: user.email.clone(),
        tokens,
        new_token: Some(token),
    }
    .into_response())
}

/// `POST /settings/tokens/{id}/revoke`
async fn revoke_token(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let user = poster(&auth, "/settings", &f.csrf).await?;
    if !users::revoke_token(&st.db, user.id, id).await? {
        return Err(Failure::NotFound(format!("no active token {id} of yours")).into());
    }
    Ok(NoticePage {
        chrome: chrome(&auth, "/settings").await?,
        title: "Token revoked".into(),
        message: "The token no longer works.".into(),
        back: "/settings".into(),
    }
    .into_response())
}
