//! `/me`: what waits for the logged-in person (their queue), and claiming sites and
//! subsystems ("I'm on it") from the site and subsystem pages.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use treewide_core::model::SiteId;
use treewide_core::{campaigns, claims, queue, subsystems};

use super::{chrome, poster, viewer};
use crate::error::{Failure, PageError};
use crate::middleware::session::AuthSession;
use crate::state::AppState;
use crate::views::enc;
use crate::views::me::MePage;

/// `/me` and the claim forms.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/c/{campaign}/site/{id}/claim", post(claim_site))
        .route("/c/{campaign}/s/{subsystem}/claim", post(claim_subsystem))
        .route("/claims/{id}/release", post(release))
}

/// `GET /me`: the viewer's queue.
async fn me(State(st): State<AppState>, auth: AuthSession) -> Result<MePage, PageError> {
    let user = viewer(&auth, "/me")?;
    let q = queue::for_email(&st.db, &user.email).await?;
    Ok(MePage::new(q, chrome(&auth, "/me").await?))
}

#[derive(Deserialize)]
struct ClaimForm {
    #[serde(default)]
    days: Option<u32>,
    #[serde(default)]
    release: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/site/{id}/claim`: claim the site for `days` (14), or release it.
async fn claim_site(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<ClaimForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/site/{id}", enc(&slug));
    let user = poster(&auth, &here, &f.csrf).await?;
    if f.release.is_some() {
        claims::release_site(&st.db, SiteId(id), user).await?;
    } else {
        claims::claim_site(
            &st.db,
            SiteId(id),
            user,
            f.days.unwrap_or(claims::DEFAULT_DAYS),
        )
        .await?;
    }
    Ok(Redirect::to(&format!("{here}#claims")).into_response())
}

/// `POST /c/{campaign}/s/{subsystem}/claim`: claim the subsystem's sites of the campaign.
async fn claim_subsystem(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, sub)): Path<(String, String)>,
    Form(f): Form<ClaimForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/s/{}", enc(&slug), enc(&sub));
    let user = poster(&auth, &here, &f.csrf).await?;
    let c = campaigns::meta(&st.db, &slug).await?;
    let (_, info) = subsystems::filter(&st.db, &sub).await?;
    let info =
        info.ok_or_else(|| Failure::BadRequest("only a real subsystem is claimed".into()))?;
    claims::claim_subsystem(
        &st.db,
        c.id,
        info.id,
        user,
        f.days.unwrap_or(claims::DEFAULT_DAYS),
    )
    .await?;
    Ok(Redirect::to(&here).into_response())
}

#[derive(Deserialize)]
struct ReleaseForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /claims/{id}/release`: the holder releases a claim (from `/me` or a page).
async fn release(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(id): Path<i64>,
    Form(f): Form<ReleaseForm>,
) -> Result<Response, PageError> {
    let user = poster(&auth, "/me", &f.csrf).await?;
    claims::release(&st.db, id, user).await?;
    let back = if super::is_local_path(&f.back) {
        f.back
    } else {
        "/me".to_owned()
    };
    Ok(Redirect::to(&back).into_response())
}
