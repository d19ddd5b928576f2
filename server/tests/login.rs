//! Logging in under hostile load, through the real router on a real SQLite database: rate
//! limits, single-use invites under concurrent posts, redirects after login, session expiry,
//! sessions kept out of the page cache, and cookies as the public URL says.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use treewide_core::users;
use treewide_server::{Limit, LoginLimits};
use treewide_testing::{spawn_app, spawn_app_with, Browser, Config, TestApp};

const PASSWORD: &str = "correct horse 1";

/// An account with `PASSWORD`, made through its invite link.
async fn account(app: &TestApp, email: &str) {
    let (_, token) = users::invite(&app.db, email, "", false).await.unwrap();
    users::accept_invite(&app.db, &token, PASSWORD)
        .await
        .unwrap();
}

/// Post the login form from `b`, which fetches the form first for its CSRF token.
async fn log_in(
    b: &mut Browser,
    email: &str,
    password: &str,
    next: &str,
) -> treewide_testing::TestResponse {
    let csrf = b.get("/login").await.csrf();
    b.form(
        "/login",
        &[
            ("csrf", &csrf),
            ("email", email),
            ("password", password),
            ("next", next),
        ],
    )
    .await
}

fn limits(account: u32, every: Duration) -> LoginLimits {
    LoginLimits {
        per_account: Limit {
            burst: NonZeroU32::new(account).unwrap(),
            every,
        },
        per_address: Limit {
            burst: NonZeroU32::new(1000).unwrap(),
            every: Duration::from_millis(1),
        },
    }
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_until_the_window_passes() {
    let app = spawn_app_with(Config {
        login_limits: limits(3, Duration::from_secs(2)),
        ..Config::default()
    })
    .await;
    account(&app, "hch@lst.de").await;
    let mut b = app.browser();
    for _ in 0..3 {
        let r = log_in(&mut b, "hch@lst.de", "wrong password!", "/").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked_at = Instant::now();
    // The right password is refused too, with a page that says why and keeps the email.
    let r = log_in(&mut b, "HCH@lst.de", PASSWORD, "/settings").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(r.body.contains("Too many login attempts"), "{}", r.body);
    assert!(
        r.body.contains("value=\"HCH@lst.de\""),
        "the typed email stays"
    );
    assert!(
        r.body.contains("value=\"/settings\""),
        "and where to go after"
    );
    // Another account is not locked by this one's failures.
    account(&app, "someone@example.org").await;
    let r = log_in(&mut app.browser(), "someone@example.org", PASSWORD, "/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Once the window has passed, the right password works.
    tokio::time::sleep(Duration::from_millis(2100).saturating_sub(locked_at.elapsed())).await;
    let r = log_in(&mut b, "hch@lst.de", PASSWORD, "/settings").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), Some("/settings"));
    assert_eq!(b.get("/settings").await.status, StatusCode::OK);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_stopped() {
    let app = spawn_app_with(Config {
        login_limits: LoginLimits {
            per_account: Limit {
                burst: NonZeroU32::new(100).unwrap(),
                every: Duration::from_secs(60),
            },
            per_address: Limit {
                burst: NonZeroU32::new(4).unwrap(),
                every: Duration::from_secs(60),
            },
        },
        ..Config::default()
    })
    .await;
    let mut b = app.browser();
    b.from = Some(SocketAddr::from(([192, 0, 2, 7], 50000)));
    for i in 0..4 {
        let r = log_in(&mut b, &format!("u{i}@example.org"), "wrong password!", "/").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = log_in(&mut b, "u9@example.org", "wrong password!", "/").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after"), Some("60"));
    // Someone else, from elsewhere, is not held up.
    let mut other = app.browser();
    other.from = Some(SocketAddr::from(([198, 51, 100, 1], 50000)));
    let r = log_in(&mut other, "u9@example.org", "wrong password!", "/").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_simultaneous_posts_of_one_invite_make_exactly_one_account() {
    let app = Arc::new(spawn_app().await);
    let (user, token) = users::invite(&app.db, "new@example.org", "", false)
        .await
        .unwrap();
    let path = format!("/invite/{token}");
    // Every browser has the form (and its CSRF token) before any of them posts.
    let mut ready = Vec::new();
    for i in 0..8 {
        let mut b = app.browser();
        let csrf = b.get(&path).await.csrf();
        ready.push((i, b, csrf));
    }
    let posts = ready.into_iter().map(|(i, mut b, csrf)| {
        let path = path.clone();
        tokio::spawn(async move {
            let password = format!("{PASSWORD} #{i}");
            let r = b
                .form(
                    &path,
                    &[
                        ("csrf", &csrf),
                        ("password", &password),
                        ("password2", &password),
                    ],
                )
                .await;
            (r.status, password)
        })
    });
    let mut answers = Vec::new();
    for p in posts.collect::<Vec<_>>() {
        answers.push(p.await.unwrap());
    }
    let won: Vec<&String> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::SEE_OTHER)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, _)| *s == StatusCode::SEE_OTHER || *s == StatusCode::NOT_FOUND),
        "{answers:?}"
    );
    // The password is the winner's, and the invite is gone.
    let db = &app.db;
    assert!(users::authenticate(db, "new@example.org", won[0])
        .await
        .unwrap()
        .is_some());
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = ?1")
        .bind("new@example.org")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
    assert!(users::by_invite(db, &token).await.unwrap().is_none());
    assert_eq!(
        users::get(db, user.id).await.unwrap().unwrap().email,
        "new@example.org"
    );
    assert_eq!(app.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_login_only_paths_of_this_site_are_followed_and_nothing_fails() {
    let app = spawn_app().await;
    account(&app, "hch@lst.de").await;
    for (next, to) in [
        (
            "/c/iov-iter-pin?status=needs_pin",
            "/c/iov-iter-pin?status=needs_pin",
        ),
        ("/\t/evil.example", "/"),
        ("/\n", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("https://evil.example/", "/"),
    ] {
        let r = log_in(&mut app.browser(), "hch@lst.de", PASSWORD, next).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.header("location"), Some(to), "{next:?}");
    }
    // As a query: the form carries only a safe `next`.
    let r = app.get("/login?next=/%09/evil.example").await;
    assert!(r.body.contains("name=\"next\" value=\"/\""), "{}", r.body);
    let r = app.get("/login?next=/%0a").await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_login_page_visit_does_not_empty_the_page_cache() {
    let app = spawn_app().await;
    let first = app.get("/c/iov-iter-pin").await;
    assert_eq!(first.header("age"), None, "made, not kept");
    let again = app.get("/c/iov-iter-pin").await;
    assert!(again.header("age").is_some(), "served from the cache");
    // An anonymous visit to the login form writes a session…
    let login = app.get("/login").await;
    assert!(login.header("set-cookie").is_some());
    // …which is no change of the data: the page is still served from the cache.
    let after = app.get("/c/iov-iter-pin").await;
    assert!(after.header("age").is_some(), "the cache was emptied");
    assert_eq!(after.header("etag"), first.header("etag"));
    // A change of the data still empties it.
    account(&app, "hch@lst.de").await;
    assert_eq!(app.get("/c/iov-iter-pin").await.header("age"), None);
}

#[tokio::test]
async fn sessions_expire_after_14_days_unused_and_expired_rows_are_deleted() {
    let app = spawn_app_with(Config {
        session_cleanup: Duration::from_millis(100),
        ..Config::default()
    })
    .await;
    let sessions = treewide_core::db::open_sessions(&app.db).await.unwrap();
    let r = app.get("/login").await;
    let cookie = r.header("set-cookie").unwrap().to_owned();
    assert!(cookie.contains("Max-Age=1209600"), "{cookie}");
    let days: f64 = sqlx::query_scalar(
        "SELECT julianday(datetime(expiry_date)) - julianday('now') FROM tower_sessions",
    )
    .fetch_one(&sessions)
    .await
    .unwrap();
    assert!((13.99..=14.01).contains(&days), "{days}");
    // The data's file holds no sessions.
    let in_data: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'tower_sessions'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(in_data, 0);

    // One session ends; the running server deletes it, and only it.
    app.get("/login").await;
    sqlx::query(
        "UPDATE tower_sessions SET expiry_date = '2020-01-01T00:00:00Z' WHERE rowid = (SELECT min(rowid) FROM tower_sessions)",
    )
    .execute(&sessions)
    .await
    .unwrap();
    let _ = app.url();
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tower_sessions")
            .fetch_one(&sessions)
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while count().await != 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        count().await,
        1,
        "the expired session is deleted, the other kept"
    );
}

#[tokio::test]
async fn cookies_are_secure_exactly_for_an_https_public_url_and_feeds_link_there() {
    let https = spawn_app_with(Config::for_public_url(
        "https://treewide.example.org".parse().unwrap(),
    ))
    .await;
    let cookie = https.get("/login").await;
    assert!(cookie.header("set-cookie").unwrap().contains("Secure"));
    let feed = https.get("/c/iov-iter-pin/feed.atom").await.body;
    assert!(
        feed.contains(
            "<link rel=\"alternate\" href=\"https://treewide.example.org/c/iov-iter-pin\"/>"
        ),
        "{feed}"
    );
    assert!(feed.contains("href=\"https://treewide.example.org/c/iov-iter-pin/site/"));

    let http = spawn_app_with(Config::for_public_url(
        "http://192.168.1.5:8080".parse().unwrap(),
    ))
    .await;
    account(&http, "hch@lst.de").await;
    let mut b = http.browser();
    let form = b.get("/login").await;
    let cookie = form.header("set-cookie").unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let r = log_in(&mut b, "hch@lst.de", PASSWORD, "/settings").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(b.get("/settings").await.status, StatusCode::OK);
}
