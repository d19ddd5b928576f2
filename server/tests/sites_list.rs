//! The site list with filters and full-text search, file permalinks and the jump box,
//! through the real router on the demo.

use axum::http::StatusCode;
use serde_json::Value;
use treewide_core::model::{EventSource, SiteId};
use treewide_core::notes;
use treewide_testing::spawn_app;

const NVME: &str = "drivers/nvme/target/io-cmd-file.c";

#[tokio::test]
async fn sites_are_found_by_filters_and_by_any_part_of_their_text() {
    let app = spawn_app().await;
    let v: Value = app
        .get(&format!("/api/v1/sites?campaign=iov-iter-pin&file={NVME}"))
        .await
        .json();
    let id = v["items"][0]["id"].as_i64().unwrap();
    let line = v["items"][0]["line"].as_i64().unwrap();

    // Part of the path, as the site list page and the API find it.
    let page = app.get("/c/iov-iter-pin/sites?q=io-cmd-fi").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("{NVME}:{line}")),
        "{}",
        page.body
    );
    let api: Value = app
        .get("/api/v1/sites?campaign=iov-iter-pin&q=io-cmd-fi")
        .await
        .json();
    assert!(api["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == id));
    // Words combine, and with the other filters.
    let none = app
        .get("/c/iov-iter-pin/sites?q=io-cmd-fi+ceph&status=needs_pin")
        .await;
    assert!(none.body.contains("No sites match."));

    // A note's text finds its site as soon as it is written.
    notes::add(
        &app.db,
        SiteId(id),
        "tester",
        "zorblax is the word",
        None,
        EventSource::Api,
    )
    .await
    .unwrap();
    let api: Value = app.get("/api/v1/sites?q=zorblax").await.json();
    let found: Vec<i64> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(found, [id]);

    // What people type is never FTS syntax, and short words say so.
    for q in ["%22", "*", "NEAR(a+b)", "a+OR+b", "%22%22%22", "-x", "^ab"] {
        let r = app.get(&format!("/c/iov-iter-pin/sites?q={q}")).await;
        assert_eq!(r.status, StatusCode::OK, "q={q}: {}", r.body);
    }
    assert!(app
        .get("/c/iov-iter-pin/sites?q=ab")
        .await
        .body
        .contains("Search words need 3 characters"));
    // Claimed or not.
    let claimed: Value = app
        .get("/api/v1/sites?campaign=iov-iter-pin&claimed=true")
        .await
        .json();
    assert!(claimed["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_file_has_a_permalink_and_the_jump_box_takes_file_line() {
    let app = spawn_app().await;
    let v: Value = app
        .get(&format!("/api/v1/sites?campaign=iov-iter-pin&file={NVME}"))
        .await
        .json();
    let line = v["items"][0]["line"].as_i64().unwrap();
    let page = app.get(&format!("/c/iov-iter-pin/f/{NVME}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("<tr id=\"L{line}\">")),
        "{}",
        page.body
    );

    let r = app
        .get(&format!("/c/iov-iter-pin/jump?to=b/{NVME}:{line}:9"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        Some(format!("/c/iov-iter-pin/f/{NVME}#L{line}").as_str())
    );
    let r = app.get("/c/iov-iter-pin/f/fs/nothing/here.c").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/c/iov-iter-pin/jump?to=").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The campaign page offers the jump box and the list.
    let c = app.get("/c/iov-iter-pin").await.body;
    assert!(c.contains("action=\"/c/iov-iter-pin/jump\"") && c.contains("/c/iov-iter-pin/sites"));
}

#[tokio::test]
async fn the_fix_stage_filters_sites_on_the_page_and_in_the_api() {
    let app = spawn_app().await;
    // The "Haven't done yet" sites link the audit mail: a posted stage, nothing further.
    let posted = app.get("/c/iov-iter-pin/sites?stage=posted").await;
    assert_eq!(posted.status, StatusCode::OK);
    assert!(
        posted.body.contains("net/sunrpc/svcsock.c"),
        "{}",
        posted.body
    );
    assert!(!posted.body.contains("fs/splice.c"), "{}", posted.body);
    assert!(posted.body.contains(r#"<option value="posted" selected>"#));
    let api: Value = app
        .get("/api/v1/sites?campaign=iov-iter-pin&stage=posted")
        .await
        .json();
    let files: Vec<&str> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"net/sunrpc/svcsock.c"), "{files:?}");
    assert!(!files.contains(&"fs/splice.c"), "{files:?}");
    let mainline = app.get("/c/iov-iter-pin/sites?stage=mainline").await;
    assert!(
        mainline.body.contains("No sites match."),
        "{}",
        mainline.body
    );
    // A stage that does not exist, and a stage without a campaign, are refused.
    assert_eq!(
        app.get("/c/iov-iter-pin/sites?stage=shipped").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/api/v1/sites?stage=posted").await.status,
        StatusCode::BAD_REQUEST
    );
}
