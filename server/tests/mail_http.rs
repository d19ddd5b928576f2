//! Mail on the site page and the mail API, through the real router.

use axum::http::StatusCode;
use serde_json::Value;
use treewide_core::ingest;
use treewide_importer::{auditor, mail};
use treewide_testing::{TestApp, TestResponse};

fn data(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/mail")
        .join(rel)
}

/// The ceph campaign with the ceph-pin thread, and a message whose subject is a script.
async fn app_with_mail() -> TestApp {
    let app = TestApp::empty().await;
    let batch = auditor::parse_file(&data("generated/ceph-campaign.json"), "test").unwrap();
    ingest::store(&app.db, &batch).await.unwrap();
    let opts = mail::Options {
        campaign: Some("iov-iter-pin".into()),
        actor: "test".into(),
    };
    let fixture = mail::Source::Mbox(data("generated/ceph-pin.mbox"));
    mail::import(&app.db, &fixture, &opts).await.unwrap();
    let hostile = app.dir().join("script.mbox");
    std::fs::write(
        &hostile,
        "From: Evil <evil@example.org>\nSubject: <script>alert(1)</script> fs/ceph/file.c:99\n\
         Message-ID: <script/1@example.org>\n\nsee fs/ceph/file.c:99\n",
    )
    .unwrap();
    mail::import(&app.db, &mail::Source::Mbox(hostile), &opts)
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn site_page_shows_thread_trailers_and_escapes_subjects() {
    let app = app_with_mail().await;
    let TestResponse {
        status, body: html, ..
    } = app.get("/c/iov-iter-pin/site/1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("https://lore.kernel.org/r/20220921100000.ceph-pin-1@zeniv.linux.org.uk"));
    assert!(html.contains("[PATCH] ceph: pin pages in __iter_get_bvecs()"));
    assert!(html.contains("sign-off for CEPH DISTRIBUTED FILE SYSTEM CLIENT (CEPH)"));
    assert!(html.contains("answered (pending review)"));
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;")
    );
    assert!(html.contains("https://lore.kernel.org/r/script%2F1@example.org"));
}

#[tokio::test]
async fn messages_api_lists_and_details() {
    let app = app_with_mail().await;
    let TestResponse { status, body, .. } = app.get("/api/v1/messages?site=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 3);

    let TestResponse { status, body, .. } = app
        .get("/api/v1/messages/%3C20220921100000.ceph-pin-1@zeniv.linux.org.uk%3E")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let m: Value = serde_json::from_str(&body).unwrap();
    let m = &m["message"];
    assert_eq!(m["has_diff"], true);
    assert_eq!(m["thread"]["index"], 1);
    assert_eq!(m["thread"]["size"], 3);
    assert_eq!(m["sites"][0]["campaign"], "iov-iter-pin");
    assert!(m["sites"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["how"] == "patch"
            && s["signoffs"][0] == "CEPH DISTRIBUTED FILE SYSTEM CLIENT (CEPH)"));

    let TestResponse { status, body, .. } =
        app.get("/api/v1/messages/script%2F1@example.org").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let TestResponse { status, body, .. } = app.get("/api/v1/sites/1/messages").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["trailers"].as_array().unwrap().len(), 2);
    assert_eq!(v["answers_pending_review"].as_array().unwrap().len(), 2);

    let TestResponse { status, .. } = app.get("/api/v1/messages/nope@example.org").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let TestResponse { status, .. } = app
        .get("/api/v1/messages?thread=20220921100000.ceph-pin-1@zeniv.linux.org.uk&limit=0")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_site_named_by_many_messages_pages_strong_threads_and_folds_weak_ones() {
    let app = app_with_mail().await;
    // 45 more threads with a file:line for the site, 12 that only name its function.
    let mut mbox = String::new();
    for i in 0..45 {
        mbox.push_str(&format!(
            "From x Mon Jan  1 00:00:00 2024\nFrom: P{i} <p{i}@example.org>\nSubject: oops {i}\n\
             Date: Mon, 2 Jan 2023 10:{:02}:00 +0000\nMessage-ID: <strong-{i}@example.org>\n\n\
             I think fs/ceph/file.c:98 is wrong.\n\n",
            i % 60
        ));
    }
    for i in 0..12 {
        mbox.push_str(&format!(
            "From x Mon Jan  1 00:00:00 2024\nFrom: W{i} <w{i}@example.org>\nSubject: musing {i}\n\
             Date: Mon, 2 Jan 2023 11:{i:02}:00 +0000\nMessage-ID: <weak-{i}@example.org>\n\n\
             Is __iter_get_bvecs() ever called with a kvec?\n\n"
        ));
    }
    let path = app.dir().join("many.mbox");
    std::fs::write(&path, mbox).unwrap();
    let opts = mail::Options {
        campaign: Some("iov-iter-pin".into()),
        actor: "test".into(),
    };
    mail::import(&app.db, &mail::Source::Mbox(path), &opts)
        .await
        .unwrap();

    let v: Value = serde_json::from_str(&app.get("/api/v1/sites/1/messages").await.body).unwrap();
    let strong = v["messages"]["strong_threads"].as_u64().unwrap();
    assert!(strong >= 46, "{strong}");
    let weak = v["messages"]["weak_threads"].as_u64().unwrap();
    assert_eq!(weak, 12);
    let roots = |v: &Value, k: &str| {
        v["messages"][k]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["depth"] == 0)
            .count()
    };
    assert_eq!(roots(&v, "strong"), 20);
    assert_eq!(roots(&v, "weak"), 10);
    // The page's proposed fix: the ceph patch.
    assert_eq!(
        v["fixes"][0]["current"]["subject"],
        "[PATCH] ceph: pin pages in __iter_get_bvecs()"
    );

    // The last page of strong threads, and all weak ones, through the API.
    let last = strong - 5;
    let url = format!("/api/v1/sites/1/messages?threads={last}&limit=10&weak_limit=100");
    let v: Value = serde_json::from_str(&app.get(&url).await.body).unwrap();
    assert_eq!(roots(&v, "strong"), 5);
    assert_eq!(roots(&v, "weak"), 12);
    let TestResponse { status, .. } = app.get("/api/v1/sites/1/messages?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The page: a count, a range and a link to older threads; weak ones folded under a count.
    let html = app.get("/c/iov-iter-pin/site/1").await.body;
    assert!(
        html.contains(&format!("{strong} threads with a patch")),
        "{html}"
    );
    assert!(html.contains("1–20 shown"));
    assert!(html.contains("/c/iov-iter-pin/site/1?threads=20#mail"));
    assert!(html.contains("12 more messages in 12 threads only naming a function or callee"));
    assert!(html.contains("Proposed fix"));
    let html = app.get("/c/iov-iter-pin/site/1?threads=20").await.body;
    assert!(html.contains("21–40 shown"));
    assert!(html.contains("← newer threads"));
}
