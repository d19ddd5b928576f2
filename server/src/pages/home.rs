//! `GET /`: every campaign with its progress.

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use treewide_core::campaigns;

use super::chrome;
use crate::error::PageError;
use crate::middleware::session::AuthSession;
use crate::state::AppState;
use crate::views::home::IndexPage;
use crate::views::CampaignHead;

/// `/`.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index))
}

/// `GET /`: every campaign with its progress.
async fn index(State(st): State<AppState>, auth: AuthSession) -> Result<IndexPage, PageError> {
    let list = campaigns::list(&st.db).await?;
    Ok(IndexPage {
        chrome: chrome(&auth, "/").await?,
        campaigns: list.iter().map(CampaignHead::new).collect(),
    })
}
