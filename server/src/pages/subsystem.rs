//! The subsystem page (its sites, groups, notes and mail) and the group sign-off form on it.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use treewide_core::model::{EventSource, VerdictId};
use treewide_core::signoff::{sign_off_group, GroupSignoff};
use treewide_core::{campaigns, subsystems};

use super::{chrome, poster};
use crate::error::PageError;
use crate::middleware::session::AuthSession;
use crate::params;
use crate::state::AppState;
use crate::views::enc;
use crate::views::subsystem::{SubsystemPage, SubsystemScope};

/// `/c/{campaign}/s/{subsystem}` and its sign-off form.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{campaign}/s/{subsystem}", get(subsystem))
        .route("/c/{campaign}/s/{subsystem}/signoff", post(bulk_signoff))
}

#[derive(Deserialize)]
struct SubsystemQuery {
    status: Option<String>,
    page: Option<u32>,
    /// Strong mail threads to skip.
    threads: Option<u32>,
}

/// `GET /c/{campaign}/s/{subsystem}`: the subsystem's sites, groups and notes.
async fn subsystem(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, sub)): Path<(String, String)>,
    Query(q): Query<SubsystemQuery>,
) -> Result<SubsystemPage, PageError> {
    let campaign = campaigns::meta(&st.db, &slug).await?;
    let (filter, info) = subsystems::filter(&st.db, &sub).await?;
    let status = params::status(q.status.as_deref())?;
    let chrome = chrome(
        &auth,
        &format!("/c/{}/s/{}", enc(&campaign.slug), enc(&sub)),
    )
    .await?;
    let scope = SubsystemScope {
        campaign,
        slug: sub,
        filter,
        info,
        status,
        page: q.page.unwrap_or(1).max(1),
        threads: params::thread_page(q.threads, None, None)?,
    };
    Ok(SubsystemPage::load(&st.db, scope, chrome).await?)
}

#[derive(Deserialize)]
struct BulkForm {
    verdict: i64,
    #[serde(default)]
    csrf: String,
}

/// `POST /c/{campaign}/s/{subsystem}/signoff`: confirm every site of this subsystem that one
/// verdict group decided, all or nothing (core's group sign-off).
async fn bulk_signoff(
    State(st): State<AppState>,
    auth: AuthSession,
    Path((slug, sub)): Path<(String, String)>,
    Form(f): Form<BulkForm>,
) -> Result<Response, PageError> {
    let here = format!("/c/{}/s/{}", enc(&slug), enc(&sub));
    let user = poster(&auth, &here, &f.csrf).await?;
    let c = campaigns::meta(&st.db, &slug).await?;
    let (filter, _) = subsystems::filter(&st.db, &sub).await?;
    let group = GroupSignoff {
        campaign: c.id,
        subsystem: filter,
        verdict: VerdictId(f.verdict),
    };
    sign_off_group(&st.db, user, group, EventSource::Web).await?;
    Ok(Redirect::to(&here).into_response())
}
