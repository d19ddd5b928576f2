//! The site page, and the forms on it: set the status, add a note or a question.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use treewide_core::model::{EventSource, SiteId, Status};
use treewide_core::proposals::{self, Outcome};
use treewide_core::transition::{Authority, StatusRequest};
use treewide_core::{campaigns, notes, users};

use super::{chrome, poster};
use crate::error::{keep_text, Failure, PageError};
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
        .route(
            "/c/{campaign}/site/{id}/proposals/{proposal}/{decision}",
            post(decide_proposal),
        )
}

#[derive(Deserialize)]
struct SiteQuery {
    /// Strong mail threads to skip.
    threads: Option<u32>,
    /// The proposal the viewer's status change just became.
    proposed: Option<i64>,
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
    let may_decide = match &auth.user {
        Some(u) => users::authority(&st.db, &u.0, id).await? == Authority::Signoff,
        None => false,
    };
    let mut page = SitePage::new(d, chrome);
    page.may_decide = may_decide;
    page.just_proposed = q.proposed;
    Ok(page)
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
    let out = keep_text(
        proposals::request(
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
            Some(user.id.0),
        )
        .await
        .map_err(PageError::from),
        &here,
        &f.reason,
    )?;
    Ok(match out {
        Outcome::Changed { .. } => Redirect::to(&here),
        Outcome::Proposed { id } => Redirect::to(&format!("{here}?proposed={id}#proposals")),
    }
    .into_response())
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/site/{id}/proposals/{proposal}/{accept|reject|withdraw}`: an owner
/// decides a proposal, or its author withdraws it.
async fn decide_proposal(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id, proposal, decision)): Path<(String, i64, i64, String)>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/site/{id}", enc(&slug));
    let user = poster(&auth, &here, &f.csrf).await?;
    let p = proposals::get(&st.db, proposal).await?;
    if p.site != SiteId(id) {
        return Err(Failure::NotFound(format!("proposal #{proposal} of site {id}")).into());
    }
    match decision.as_str() {
        "withdraw" => {
            proposals::withdraw(&st.db, proposal, &user.display()).await?;
        }
        "accept" | "reject" => {
            let by = users::authority(&st.db, user, p.site).await?;
            proposals::decide(
                &st.db,
                proposal,
                decision == "accept",
                by,
                &user.display(),
                EventSource::Web,
                f.reason.trim(),
            )
            .await?;
        }
        other => return Err(Failure::NotFound(format!("no decision {other:?}")).into()),
    }
    Ok(Redirect::to(&format!("{here}#proposals")).into_response())
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
    let stored = async {
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
        Ok::<_, PageError>(())
    }
    .await;
    keep_text(stored, &here, &f.text)?;
    Ok(Redirect::to(&here).into_response())
}
