//! Admission: how many requests are answered at once, how many wait for their turn and how
//! long, and how long an answer may take to start. A request that cannot get in, or whose
//! answer is not ready in time, gets `503 Service Unavailable` with `Retry-After`, quickly
//! and at a bounded cost, instead of piling up on the database pool until it times out
//! with a 500.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::config::ServeLimits;
use crate::error::{ApiError, Failure, PageError};

/// The slots and the line in front of them.
#[derive(Clone)]
pub struct Admission {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    limits: ServeLimits,
}

impl Admission {
    /// Admission as `limits` say.
    pub fn new(limits: ServeLimits) -> Admission {
        Admission {
            slots: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            waiting: Arc::default(),
            limits,
        }
    }
}

/// One place in the line; leaving it (served, refused or the client gone) frees it.
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The 503 answer for `path`: problem+json under `/api/`, an HTML page elsewhere.
fn busy(path: &str, why: &str) -> Response {
    let f = Failure::Unavailable(why.to_owned());
    if path.starts_with("/api/") {
        ApiError(f).into_response()
    } else {
        PageError(f, None).into_response()
    }
}

/// Middleware: wait for a slot (or answer 503), then answer within the request timeout (or
/// answer 503).
pub async fn layer(State(a): State<Admission>, req: Request, next: Next) -> Response {
    let permit = match a.slots.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            if a.waiting.fetch_add(1, Ordering::Relaxed) >= a.limits.max_queued {
                a.waiting.fetch_sub(1, Ordering::Relaxed);
                return busy(req.uri().path(), "too many requests at once");
            }
            let _line = InLine(&a.waiting);
            match tokio::time::timeout(a.limits.queue_wait, a.slots.clone().acquire_owned()).await {
                Ok(Ok(p)) => p,
                _ => return busy(req.uri().path(), "too many requests at once"),
            }
        }
    };
    let path = req.uri().path().to_owned();
    let res = tokio::time::timeout(a.limits.request_timeout, next.run(req)).await;
    drop(permit);
    res.unwrap_or_else(|_| busy(&path, "the answer took too long"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{header, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    use super::*;

    /// A router whose `/api/v1/slow` answers only when the test says so.
    fn app(limits: ServeLimits, go: Arc<tokio::sync::Notify>) -> Router {
        Router::new()
            .route(
                "/api/v1/slow",
                get(move || {
                    let go = go.clone();
                    async move {
                        go.notified().await;
                        "done"
                    }
                }),
            )
            .route("/fast", get(|| async { "fast" }))
            .layer(axum::middleware::from_fn_with_state(
                Admission::new(limits),
                layer,
            ))
    }

    fn get_req(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_request_past_the_slots_and_the_line_gets_503_with_retry_after_at_once() {
        let limits = ServeLimits {
            max_in_flight: 1,
            max_queued: 0,
            ..ServeLimits::default()
        };
        let go = Arc::new(tokio::sync::Notify::new());
        let app = app(limits, go.clone());
        let held = tokio::spawn(app.clone().oneshot(get_req("/api/v1/slow")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let res = app.clone().oneshot(get_req("/fast")).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        assert!(res.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        go.notify_one();
        assert_eq!(held.await.unwrap().unwrap().status(), StatusCode::OK);
        // The slot is free again.
        let res = app.oneshot(get_req("/fast")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_request_waits_in_line_for_a_slot_and_gives_up_with_503() {
        let limits = ServeLimits {
            max_in_flight: 1,
            max_queued: 4,
            queue_wait: Duration::from_millis(300),
            ..ServeLimits::default()
        };
        let go = Arc::new(tokio::sync::Notify::new());
        let app = app(limits, go.clone());
        let held = tokio::spawn(app.clone().oneshot(get_req("/api/v1/slow")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Waits, and gets in once the slot frees.
        let waiting = tokio::spawn(app.clone().oneshot(get_req("/fast")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        go.notify_one();
        assert_eq!(held.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(waiting.await.unwrap().unwrap().status(), StatusCode::OK);
        // Waits longer than queue_wait: 503.
        let held = tokio::spawn(app.clone().oneshot(get_req("/api/v1/slow")));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let res = app.clone().oneshot(get_req("/api/v1/other")).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        go.notify_one();
        held.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn an_answer_that_takes_too_long_is_503() {
        let limits = ServeLimits {
            request_timeout: Duration::from_millis(100),
            ..ServeLimits::default()
        };
        let go = Arc::new(tokio::sync::Notify::new());
        let res = app(limits, go)
            .oneshot(get_req("/api/v1/slow"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
    }
}
