//! Answers to questions asked of a subsystem's owners.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;
use treewide_core::model::{EventSource, NoteId};
use treewide_core::{notes, users};

use super::{poster, safe_next};
use crate::error::{keep_text, Failure, PageError};
use crate::middleware::session::AuthSession;
use crate::state::AppState;

/// `/questions/{id}/answer`.
pub fn router() -> Router<AppState> {
    Router::new().route("/questions/{id}/answer", post(answer))
}

#[derive(Deserialize)]
struct AnswerForm {
    text: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /questions/{id}/answer`: only the asked subsystem's maintainers/reviewers (or admins).
async fn answer(
    State(st): State<AppState>,
    auth: AuthSession,
    Path(id): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let back = safe_next(Some(&f.back));
    let user = poster(&auth, &back, &f.csrf).await?;
    let q = notes::question(&st.db, NoteId(id))
        .await?
        .ok_or_else(|| Failure::NotFound(format!("question {id} not found")))?;
    if !users::speaks_for(&st.db, user, q.asks).await? {
        return Err(PageError::from(Failure::Forbidden(
            "only the asked subsystem's maintainers and reviewers (or an admin) answer it; \
             add your text as a note on the site instead"
                .into(),
        ))
        .keeping(&back, &f.text));
    }
    keep_text(
        notes::answer(&st.db, &q, &user.display(), &f.text, EventSource::Web)
            .await
            .map_err(PageError::from),
        &back,
        &f.text,
    )?;
    Ok(Redirect::to(&back).into_response())
}
