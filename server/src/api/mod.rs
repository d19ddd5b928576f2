//! The JSON API for bots under `/api/v1`: one module per area, each with its own routes;
//! cursor pagination, problem+json errors, the OpenAPI document and its Swagger UI.

mod campaigns;
mod check;
mod events;
mod messages;
mod openapi;
mod people;
mod proposals;
mod sites;

use axum::Router;
use serde::Serialize;

use crate::error::{ApiError, Failure};
use crate::state::AppState;

/// Default page size of the lists.
const DEFAULT_LIMIT: u32 = 100;
/// Largest page of `/api/v1/sites` and `/api/v1/events`.
const MAX_LIMIT: u32 = 500;

/// Every API route under `/api/v1`, and the Swagger UI at `/api/docs`.
pub fn router() -> Router<AppState> {
    let v1 = Router::new()
        .merge(campaigns::router())
        .merge(sites::router())
        .merge(events::router())
        .merge(check::router())
        .merge(messages::router())
        .merge(proposals::router())
        .merge(people::router())
        .merge(openapi::router())
        .fallback(not_found);
    Router::new()
        .nest("/api/v1", v1)
        .merge(openapi::swagger_ui())
}

/// One page of a list: its items and the URL of the next page, if any.
#[derive(Serialize)]
struct Page<'a, T> {
    items: &'a [T],
    next: Option<&'a str>,
}

/// Unknown API path.
async fn not_found() -> ApiError {
    ApiError(Failure::NotFound("no such API endpoint".into()))
}
