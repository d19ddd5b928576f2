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
