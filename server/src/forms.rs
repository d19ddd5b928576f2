//! Pages and forms for people: log in, accept an invite, sign off, add notes and questions,
//! answer questions, manage API tokens. Every form carries the session's CSRF token; every
//! permission is checked here, on the server, whatever the page showed.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use treewide_core::model::{EventSource, NoteId, SiteId, Status, VerdictId};
use treewide_core::signoff::{sign_off_group, GroupSignoff};
use treewide_core::transition::{change_status, StatusRequest};
use treewide_core::users::{self, Scope};
use treewide_core::{campaigns, notes, subsystems};

use crate::error::{Failure, PageError};
use crate::middleware::csrf::{check_csrf, csrf_token};
use crate::middleware::session::{AuthSession, Credentials, SessionUser};
use crate::pages::chrome;
use crate::views::account::{InvitePage, LoginPage, NoticePage, SettingsPage};
use crate::views::enc;
use crate::AppState;

/// Only same-site paths are followed after login (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// Anonymous visitors are sent to log in and come back.
fn login_redirect(here: &str) -> Response {
    Redirect::to(&format!("/login?next={}", enc(here))).into_response()
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login`
pub async fn login_page(
    auth: AuthSession,
    Query(q): Query<NextQuery>,
) -> Result<LoginPage, PageError> {
    Ok(LoginPage {
        chrome: chrome(&auth, "/login").await?,
        csrf: csrf_token(&auth.session).await?,
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`
pub async fn login(mut auth: AuthSession, Form(f): Form<LoginForm>) -> Result<Response, PageError> {
    check_csrf(&auth.session, &f.csrf).await?;
    let next = safe_next(f.next.as_deref());
    let user = auth
        .authenticate(Credentials {
            email: f.email,
            password: f.password,
        })
        .await
        .map_err(|_| Failure::Forbidden("login failed".into()))?;
    let Some(user) = user else {
        let page = LoginPage {
            chrome: chrome(&auth, "/login").await?,
            csrf: csrf_token(&auth.session).await?,
            next,
            error: Some("Wrong email or password.".into()),
        };
        return Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response());
    };
    auth.login(&user)
        .await
        .map_err(|_| Failure::Forbidden("login failed".into()))?;
    // A new session id and CSRF token after login (no session fixation).
    let _ = auth.session.cycle_id().await;
    let _ = auth.session.remove::<String>("csrf").await;
    Ok(Redirect::to(&next).into_response())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`
pub async fn logout(mut auth: AuthSession, Form(f): Form<CsrfForm>) -> Result<Response, PageError> {
    check_csrf(&auth.session, &f.csrf).await?;
    let _ = auth.logout().await;
    let _ = auth.session.flush().await;
    Ok(Redirect::to("/").into_response())
}

/// `GET /invite/{token}`: set a password.
pub async fn invite_page(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(token): Path<String>,
) -> Result<InvitePage, PageError> {
    let user = users::by_invite(&st.db, &token).await?.ok_or_else(|| {
        Failure::NotFound("this invite link was used already or has expired".into())
    })?;
    Ok(InvitePage {
        chrome: chrome(&auth, "/invite").await?,
        csrf: csrf_token(&auth.session).await?,
        email: user.email,
        token,
        error: None,
    })
}

#[derive(Deserialize)]
pub struct InviteForm {
    password: String,
    password2: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /invite/{token}`: the password is set, the invite used up, the person logged in.
pub async fn accept_invite(
    State(st): State<AppState>,
    mut auth: AuthSession,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> Result<Response, PageError> {
    check_csrf(&auth.session, &f.csrf).await?;
    let user = users::by_invite(&st.db, &token).await?.ok_or_else(|| {
        Failure::NotFound("this invite link was used already or has expired".into())
    })?;
    if let Err(refused) = users::check_new_password(&f.password, &f.password2) {
        let page = InvitePage {
            chrome: chrome(&auth, "/invite").await?,
            csrf: csrf_token(&auth.session).await?,
            email: user.email,
            token,
            error: Some(refused.to_string()),
        };
        return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
    }
    let user = users::accept_invite(&st.db, &token, &f.password).await?;
    auth.login(&SessionUser(user))
        .await
        .map_err(|_| Failure::Forbidden("login failed".into()))?;
    let _ = auth.session.cycle_id().await;
    Ok(Redirect::to("/").into_response())
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/site/{id}/status`: sign off (maintainers, reviewers, admins) or propose.
pub async fn set_status(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/site/{id}", enc(&slug));
    let Some(user) = &auth.user else {
        return Ok(login_redirect(&here));
    };
    check_csrf(&auth.session, &f.csrf).await?;
    let site = SiteId(id);
    let to: Status = f.status.parse()?;
    let by = users::authority(&st.db, &user.0, site).await?;
    change_status(
        &st.db,
        StatusRequest {
            site,
            to,
            by,
            actor: &user.0.display(),
            source: EventSource::Web,
            reason: f.reason.trim(),
            expected_version: None,
        },
    )
    .await?;
    Ok(Redirect::to(&here).into_response())
}

#[derive(Deserialize)]
pub struct NoteForm {
    text: String,
    /// Subsystem slug to ask, or empty.
    #[serde(default)]
    ask: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/site/{id}/notes`: a note, or a question to a subsystem's owners.
pub async fn add_note(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/site/{id}", enc(&slug));
    let Some(user) = &auth.user else {
        return Ok(login_redirect(&here));
    };
    check_csrf(&auth.session, &f.csrf).await?;
    let ask = match f.ask.trim() {
        "" => None,
        s => Some(
            subsystems::resolve(&st.db, s)
                .await?
                .ok_or_else(|| Failure::BadRequest(format!("no subsystem {s:?}")))?
                .id,
        ),
    };
    notes::add(
        &st.db,
        SiteId(id),
        &user.0.display(),
        &f.text,
        ask,
        EventSource::Web,
    )
    .await?;
    Ok(Redirect::to(&here).into_response())
}

#[derive(Deserialize)]
pub struct AnswerForm {
    text: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /questions/{id}/answer`: only the asked subsystem's maintainers/reviewers (or admins).
pub async fn answer(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(id): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let back = safe_next(Some(&f.back));
    let Some(user) = &auth.user else {
        return Ok(login_redirect(&back));
    };
    check_csrf(&auth.session, &f.csrf).await?;
    let q = notes::question(&st.db, NoteId(id))
        .await?
        .ok_or_else(|| Failure::NotFound(format!("question {id} not found")))?;
    if !users::speaks_for(&st.db, &user.0, q.asks).await? {
        return Err(Failure::Forbidden(
            "only the asked subsystem's maintainers and reviewers may answer".into(),
        )
        .into());
    }
    notes::answer(&st.db, &q, &user.0.display(), &f.text, EventSource::Web).await?;
    Ok(Redirect::to(&back).into_response())
}

#[derive(Deserialize)]
pub struct BulkForm {
    verdict: i64,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/s/{subsystem}/signoff`: confirm every site of this subsystem that one
/// verdict group decided, all or nothing (core's group sign-off).
pub async fn bulk_signoff(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, sub)): Path<(String, String)>,
    Form(f): Form<BulkForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/s/{}", enc(&slug), enc(&sub));
    let Some(user) = &auth.user else {
        return Ok(login_redirect(&here));
    };
    check_csrf(&auth.session, &f.csrf).await?;
    let c = campaigns::meta(&st.db, &slug).await?;
    let (filter, _) = subsystems::filter(&st.db, &sub).await?;
    let group = GroupSignoff {
        campaign: c.id,
        subsystem: filter,
        verdict: VerdictId(f.verdict),
    };
    sign_off_group(&st.db, &user.0, group, EventSource::Web).await?;
    Ok(Redirect::to(&here).into_response())
}

/// `GET /settings`: the person's API tokens.
pub async fn settings(
    State(st): State<AppState>,
    auth: AuthSession,
) -> Result<Response, PageError> {
    let Some(user) = &auth.user else {
        return Ok(login_redirect("/settings"));
    };
    let tokens = users::tokens(&st.db, user.0.id).await?;
    Ok(SettingsPage {
        chrome: chrome(&auth, "/settings").await?,
        email: user.0.email.clone(),
        tokens,
        new_token: None,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct TokenForm {
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
pub async fn create_token(
    State(st): State<AppState>,
    auth: AuthSession,
    Form(f): Form<TokenForm>,
) -> Result<Response, PageError> {
    let Some(user) = &auth.user else {
        return Ok(login_redirect("/settings"));
    };
    check_csrf(&auth.session, &f.csrf).await?;
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
    let (_, token) = users::create_token(&st.db, user.0.id, name, &scopes).await?;
    let tokens = users::tokens(&st.db, user.0.id).await?;
    Ok(SettingsPage {
        chrome: chrome(&auth, "/settings").await?,
        email: user.0.email.clone(),
        tokens,
        new_token: Some(token),
    }
    .into_response())
}

/// `POST /settings/tokens/{id}/revoke`
pub async fn revoke_token(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    let Some(user) = &auth.user else {
        return Ok(login_redirect("/settings"));
    };
    check_csrf(&auth.session, &f.csrf).await?;
    if !users::revoke_token(&st.db, user.0.id, id).await? {
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
