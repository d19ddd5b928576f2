//! ETag on every successful GET, and `304 Not Modified` for a matching `If-None-Match`.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Largest body the middleware hashes; larger or streamed ones go out as they are.
const MAX_HASHED: usize = 32 << 20;

/// Middleware: strong ETag from the response body's SHA-256.
pub async fn etag(req: Request, next: Next) -> Response {
    let conditional = (req.method() == Method::GET || req.method() == Method::HEAD)
        .then(|| req.headers().get(header::IF_NONE_MATCH).cloned());
    let res = next.run(req).await;
    let Some(if_none_match) = conditional else {
        return res;
    };
    if res.status() != StatusCode::OK {
        return res;
    }
    let matches = |tag: &str| {
        if_none_match
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .map(|t| t.trim().trim_start_matches("W/"))
                    .any(|t| t == tag || t == "*")
            })
    };
    // A handler that knows its resource's version sets the ETag itself (sites, for If-Match).
    if let Some(tag) = res
        .headers()
        .get(header::ETAG)
        .and_then(|t| t.to_str().ok())
        .map(str::to_owned)
    {
        if matches(&tag) {
            let (mut parts, _) = res.into_parts();
            parts.status = StatusCode::NOT_MODIFIED;
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::empty());
        }
        return res;
    }
    // Only a body whose size is known and small is read whole to hash it; a streamed one
    // (an export, which sets its own ETag from the database's version) goes out as it comes.
    let small = axum::body::HttpBody::size_hint(res.body())
        .upper()
        .is_some_and(|n| n <= MAX_HASHED as u64);
    if !small {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match to_bytes(body, MAX_HASHED).await {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, v);
    }
    if matches(&tag) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}
