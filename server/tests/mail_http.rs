//! Mail on the site page and the mail API, through the real router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use treewide_core::{db, ingest, SqlitePool};
use treewide_importer::{auditor, mail};

fn data(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/mail")
        .join(rel)
}

async fn setup() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = db::open(&dir.path().join("t.db")).await.unwrap();
    let batch = auditor::parse_file(&data("generated/ceph-campaign.json"), "test").unwrap();
    ingest::store(&db, &batch).await.unwrap();
    let opts = mail::Options {
        campaign: Some("mail-fixture".into()),
        actor: "test".into(),
    };
    let fixture = mail::Source::Mbox(data("generated/ceph-pin.mbox"));
    mail::import(&db, &fixture, &opts).await.unwrap();
    let hostile = dir.path().join("script.mbox");
    std::fs::write(
        &hostile,
        "From: Evil <evil@example.org>\nSubject: <script>alert(1)</script> fs/ceph/file.c:99\n\
         Message-ID: <script/1@example.org>\n\nsee fs/ceph/file.c:99\n",
    )
    .unwrap();
    mail::import(&db, &mail::Source::Mbox(hostile), &opts)
        .await
        .unwrap();
    (db, dir)
}

async fn get(db: &SqlitePool, uri: &str) -> (StatusCode, String) {
    let res = treewide_server::router(db.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn site_page_shows_thread_trailers_and_escapes_subjects() {
    let (db, _dir) = setup().await;
    let (status, html) = get(&db, "/c/mail-fixture/site/1").await;
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
    let (db, _dir) = setup().await;
    let (status, body) = get(&db, "/api/v1/messages?site=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 3);

    let (status, body) = get(
        &db,
        "/api/v1/messages/%3C20220921100000.ceph-pin-1@zeniv.linux.org.uk%3E",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let m: Value = serde_json::from_str(&body).unwrap();
    let m = &m["message"];
    assert_eq!(m["has_diff"], true);
    assert_eq!(m["thread"]["index"], 1);
    assert_eq!(m["thread"]["size"], 3);
    assert_eq!(m["sites"][0]["campaign"], "mail-fixture");
    assert!(m["sites"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["how"] == "patch"
            && s["signoffs"][0] == "CEPH DISTRIBUTED FILE SYSTEM CLIENT (CEPH)"));

    let (status, body) = get(&db, "/api/v1/messages/script%2F1@example.org").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = get(&db, "/api/v1/sites/1/messages").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["trailers"].as_array().unwrap().len(), 2);
    assert_eq!(v["answers_pending_review"].as_array().unwrap().len(), 2);

    let (status, _) = get(&db, "/api/v1/messages/nope@example.org").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(
        &db,
        "/api/v1/messages?thread=20220921100000.ceph-pin-1@zeniv.linux.org.uk&limit=0",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
