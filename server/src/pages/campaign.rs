//! The campaign page: the per-subsystem table, sortable and filtered by status.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::chrome;
use crate::error::{Failure, PageError};
use crate::middleware::session::AuthSession;
use crate::params;
use crate::state::AppState;
use crate::views::campaign::{CampaignDetail, CampaignPage, SortKey, TableOrder};
use crate::views::enc;

/// `/c/{campaign}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/c/{campaign}", get(campaign))
}

#[derive(Deserialize)]
struct CampaignQuery {
    sort: Option<String>,
    dir: Option<String>,
    status: Option<String>,
}

/// `GET /c/{campaign}`: per-subsystem table.
async fn campaign(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(slug): Path<String>,
    Query(q): Query<CampaignQuery>,
) -> Result<CampaignPage, PageError> {
    let d = CampaignDetail::load(&st.db, &slug).await?;
    let sort = match q.sort.as_deref() {
        None | Some("") => SortKey::Name,
        Some(s) => SortKey::parse(s)
            .ok_or_else(|| Failure::BadRequest(format!("unknown sort key {s:?}")))?,
    };
    let desc = q.dir.as_deref() == Some("desc");
    let filter = params::status(q.status.as_deref())?;
    let chrome = chrome(&auth, &format!("/c/{}", enc(&d.campaign.slug))).await?;
    let order = TableOrder { sort, desc, filter };
    Ok(CampaignPage::load(&st.db, d, order, chrome).await?)
}
