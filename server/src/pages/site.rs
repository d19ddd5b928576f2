//! The site page, and the forms on it: set the status, add a note or a question.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use treewide_core::model::{EventSource, SiteId, Status};
use treewide_core::transition::{change_status, StatusRequest};
use treewide_core::{campaigns, notes, users};

use super::{chrome, poster};
use crate::error::{Failure, PageError};
use crate::middleware::session::AuthSession;
use crate::params;
use crate::state::AppState;
use crate::views::enc;
use crate::views::site::{SiteDetail, SitePage};

/// `/c/{campaign}/site/{id}` and its forms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{campaign}/site/{id}", get(site))
        .route("/c/{campaign}/site/{id}/status", post(set_status))
        .route("/c/{campaign}/site/{id}/notes", post(add_note))
}

#[derive(Deserialize)]
struct SiteQuery {
    /// Strong mail threads to skip.
    threads: Option<u32>,
}

/// `GET /c/{campaign}/site/{id}`: one site with its notes, references, mail and history.
async fn site(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, String)>,
    Query(q): Query<SiteQuery>,
) -> Result<SitePage, PageError> {
    let c = campaigns::meta(&st.db, &slug).await?;
    let id = params::site_id(&id)?;
    let d = SiteDetail::load(&st.db, id, params::thread_page(q.threads, None, None)?).await?;
    if d.site.campaign != c.slug {
        return Err(Failure::NotFound(format!("site {id} not found in campaign {slug}")).into());
    }
    let chrome = chrome(&auth, &format!("/c/{}/site/{id}", enc(&c.slug))).await?;
    Ok(SitePage::new(d, chrome))
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/site/{id}/status`: sign off (maintainers, reviewers, admins) or propose.
async fn set_status(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/site/{id}", enc(&slug));
    let user = poster(&auth, &here, &f.csrf).await?;
    let site = SiteId(id);
    let to: Status = f.status.parse()?;
    let by = users::authority(&st.db, user, site).await?;
    change_status(
        &st.db,
        StatusRequest {
            site,
            to,
            by,
            actor: &user.display(),
            source: EventSource::Web,
            reason: f.reason.trim(),
            expected_version: None,
        },
    )
    .await?;
    Ok(Redirect::to(&here).into_response())
}

#[derive(Deserialize)]
struct NoteForm {
    text: String,
    /// Subsystem slug to ask, or empty.
    #[serde(default)]
    ask: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/site/{id}/notes`: a note, or a question to a subsystem's owners.
async fn add_note(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<NoteForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/site/{id}", enc(&slug));
    let user = poster(&auth, &here, &f.csrf).await?;
    let ask = params::asked_subsystem(&st.db, &f.ask).await?;
    notes::add(
        &st.db,
        SiteId(id),
        &user.display(),
        &f.text,
        ask,
        EventSource::Web,
    )
    .await?;
    Ok(Redirect::to(&here).into_response())
}
