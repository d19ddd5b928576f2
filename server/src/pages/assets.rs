//! Static files, embedded so the binary runs from anywhere.

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::error::{Failure, PageError};
use crate::state::AppState;

/// `/static/{name}`.
pub fn router() -> Router<AppState> {
    Router::new().route("/static/{name}", get(file))
}

const FILES: [(&str, &str, &[u8]); 3] = [
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../static/style.css"),
    ),
    (
        "keys.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../static/keys.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../../static/favicon.svg"),
    ),
];

/// `GET /static/{name}`.
async fn file(Path(name): Path<String>) -> Result<impl IntoResponse, PageError> {
    let (_, mime, body) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| Failure::NotFound(format!("static file {name:?} not found")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *mime),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *body,
    ))
}
