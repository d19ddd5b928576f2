//! Exports stream: a campaign whose export is larger than 32 MiB answers 200 with the whole
//! body (pages and API, JSON and CSV), the ETag is the database's version (the same twice,
//! 304 for it, another after a write), only `max_exports` stream at once, and the streamed
//! JSON is byte for byte the document an import reads back.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use treewide_server::ServeLimits;
use treewide_testing::{spawn_app, spawn_app_with, Config, TestApp};

/// Sites of the big campaign, each with a 1.7 KB reason: exports of over 36 MB. The bulk is in
/// the reason, which the site search does not index, so the test database stays near 45 MB
/// (random code took 320 MB with its search index): CI machines can be short of disk.
const BIG: i64 = 20_000;

/// A campaign `big` with [`BIG`] sites written straight into the database.
async fn big_campaign(app: &TestApp) {
    sqlx::raw_sql(&format!(
        "INSERT INTO campaigns (slug, title, created_at, updated_at)
           VALUES ('big', 'Big', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BIG})
         INSERT INTO sites (campaign_id, identity, file, line, callee, code, iter_kind, status,
                            decided_by, reason, created_at, updated_at)
         SELECT (SELECT id FROM campaigns WHERE slug = 'big'), 'big-' || i,
                'drivers/big/f' || (i / 50) || '.c', 1 + i % 50, 'iov_iter_bvec',
                'iov_iter_bvec(&iter, WRITE, bv, 1, len);', 'ITER_BVEC',
                'needs_fix', 'default', 'site ' || i || ': ' || replace(hex(zeroblob(420)), '00', 'bv, '),
                '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
         FROM n;"
    ))
    .execute(&app.db)
    .await
    .unwrap();
}

async fn get_with(
    app: &TestApp,
    uri: &str,
    if_none_match: Option<&str>,
) -> treewide_testing::TestResponse {
    let mut req = Request::get(uri);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_over_32_mib_streams_whole_with_a_version_etag() {
    let app = spawn_app().await;
    big_campaign(&app).await;

    for uri in ["/c/big/export.json", "/api/v1/campaigns/big/export.json"] {
        let res = app.get(uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert!(res.body.len() > 32 << 20, "{uri}: {} bytes", res.body.len());
        let doc: serde_json::Value = serde_json::from_str(&res.body).unwrap();
        assert_eq!(doc["sites"].as_array().unwrap().len(), BIG as usize);
        assert_eq!(doc["campaign"]["slug"], "big");
    }
    for uri in [
        "/c/big/export.csv",
        "/api/v1/campaigns/big/export.csv?status=needs_fix",
    ] {
        let res = app.get(uri).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert!(res.body.len() > 32 << 20, "{uri}: {} bytes", res.body.len());
        assert_eq!(res.body.lines().count(), BIG as usize + 1, "{uri}");
        assert!(res.content_type().starts_with("text/csv"));
    }

    // The ETag is the database's version: the same twice, 304 for it, another after a write.
    let first = app.get("/c/big/export.json").await;
    let tag = first.header("etag").expect("an ETag").to_owned();
    let again = app.get("/c/big/export.json").await;
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert!(
        again.body == first.body,
        "the same data exports the same bytes"
    );
    let not_modified = get_with(&app, "/c/big/export.json", Some(&tag)).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    let csv_tag = app
        .get("/c/big/export.csv")
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    assert_ne!(csv_tag, tag, "each export has its own tag");

    sqlx::query("UPDATE sites SET code = 'iov_iter_bvec(&iter, READ, bv, 1, len);' WHERE identity = 'big-7'")
        .execute(&app.db)
        .await
        .unwrap();
    let after = get_with(&app, "/c/big/export.json", Some(&tag)).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.header("etag"), Some(tag.as_str()));
    assert!(after.body != first.body, "the write shows in the export");
}

#[tokio::test(flavor = "multi_thread")]
async fn past_max_exports_another_export_gets_503_until_one_ends() {
    let app = spawn_app_with(Config {
        limits: ServeLimits {
            max_exports: 1,
            ..ServeLimits::default()
        },
        ..Config::default()
    })
    .await;
    big_campaign(&app).await;
    let addr = app.url().trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        // A slow reader: the export fills the socket buffers and waits for it.
        let mut slow = TcpStream::connect(&addr).unwrap();
        slow.write_all(b"GET /c/big/export.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 64];
        slow.read_exact(&mut first).unwrap();
        assert!(first.starts_with(b"HTTP/1.1 200"));

        let ask = |path: &str| -> String {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut head = [0u8; 512];
            let n = s.read(&mut head).unwrap();
            String::from_utf8_lossy(&head[..n]).into_owned()
        };
        let busy = ask("/api/v1/campaigns/big/export.csv");
        assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
        assert!(
            busy.to_ascii_lowercase().contains("retry-after: 2"),
            "{busy}"
        );
        // Pages go on meanwhile.
        assert!(ask("/api/v1/campaigns").starts_with("HTTP/1.1 200"));

        // The slow reader leaves; the next export streams.
        drop(slow);
        let mut ok = String::new();
        for _ in 0..50 {
            ok = ask("/api/v1/campaigns/big/export.csv");
            if ok.starts_with("HTTP/1.1 200") {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn the_streamed_json_export_is_the_document_byte_for_byte() {
    let app = spawn_app().await;
    for slug in ["iov-iter-pin", "iov-iter-direction"] {
        let doc = treewide_formats::export::document(&app.db, slug)
            .await
            .unwrap();
        let mut whole = Vec::new();
        treewide_formats::audit::write(&doc, &mut whole).unwrap();
        assert!(!doc.sites.is_empty());
        let streamed = app.get(&format!("/c/{slug}/export.json")).await;
        assert_eq!(streamed.status, StatusCode::OK);
        assert_eq!(streamed.body.as_bytes(), whole.as_slice(), "{slug}");
    }
}
