//! Who may sign off, through the real router after a tree scan: the site page's "Why these
//! owners", the status form and the API refuse THE REST's maintainer where a more specific
//! section exists, and follow the campaign when its lead widens the scope.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use treewide_core::model::SignoffScope;
use treewide_core::users::{self, Scope};
use treewide_core::{campaigns, SqlitePool};
use treewide_formats::spec::Spec;
use treewide_importer::scan;
use treewide_testing::{Browser, TestApp};

/// The importer's tiny real tree: fs/afs/dir.c and drivers/vhost/vringh.c excerpts with the
/// AFS FILESYSTEM, VIRTIO HOST (VHOST) and THE REST sections of 6.1's MAINTAINERS.
const EXCERPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../importer/tests/data/tree");

async fn scan_into(db: &SqlitePool, tree: &Path, campaign: &str) {
    let req = scan::ScanRequest {
        tree: tree.to_path_buf(),
        spec: Spec::load(campaign).unwrap(),
        campaign: Some(campaign.into()),
        describe: None,
        actor: "tester".into(),
        full: false,
        changed: None,
    };
    scan::run(db, &req, &()).await.unwrap();
}

async fn site_of(db: &SqlitePool, file: &str) -> i64 {
    sqlx::query_scalar("SELECT min(id) FROM sites WHERE file = ?1")
        .bind(file)
        .fetch_one(db)
        .await
        .unwrap()
}

/// A logged-in browser for a new account.
async fn login(app: &TestApp, email: &str) -> Browser {
    let (_, token) = users::invite(&app.db, email, "", false).await.unwrap();
    users::accept_invite(&app.db, &token, "correct horse 1")
        .await
        .unwrap();
    let mut b = app.browser();
    let csrf = b.get("/login").await.csrf();
    let r = b
        .form(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", "correct horse 1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    b
}

#[tokio::test]
async fn the_rest_signs_off_a_scanned_site_only_when_the_campaign_takes_any_section() {
    let app = TestApp::empty().await;
    scan_into(&app.db, Path::new(EXCERPT), "iov-iter-direction").await;
    let id = site_of(&app.db, "fs/afs/dir.c").await;
    let page = format!("/c/iov-iter-direction/site/{id}");

    // The page says why: AFS FILESYSTEM by F: fs/afs/ at depth 2 signs, THE REST does not.
    let r = app.get(&page).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<summary>Why these owners</summary>"));
    let afs = r.body.find(">AFS FILESYSTEM</a>").expect("AFS row");
    let rest = r.body.find(">THE REST</a>").expect("THE REST row");
    assert!(afs < rest, "most specific first");
    assert!(r.body.contains("<code>F:\tfs/afs/</code>"), "{}", r.body);
    assert!(r.body.contains("<code>F:\t*/</code>"));
    let at = r.body.find("David Howells").expect("the AFS maintainer");
    assert!(
        r.body
            .contains("M: David Howells &#60;dhowells@redhat.com&#62;"),
        "{}",
        &r.body[at - 20..at + 60]
    );
    assert_eq!(r.body.matches("<tr class=\"signs\">").count(), 1);
    assert!(r
        .body
        .contains("Sign-off: maintainers and reviewers of the most specific"));
    let api = app.get(&format!("/api/v1/sites/{id}")).await;
    let etag = api.header("etag").expect("an ETag").to_owned();
    let json = api.json();
    let owners = &json["owners"];
    assert_eq!(owners["scope"], "specific");
    assert_eq!(owners["sections"][0]["name"], "AFS FILESYSTEM");
    assert_eq!(owners["sections"][0]["depth"], 2);
    assert_eq!(owners["sections"][0]["matched"][0], "F:\tfs/afs/");
    assert_eq!(owners["sections"][0]["signs"], true);
    assert_eq!(owners["sections"][1]["name"], "THE REST");
    assert_eq!(owners["sections"][1]["depth"], -1);
    assert_eq!(owners["sections"][1]["signs"], false);

    // Linus may propose but not confirm, by form or by API: his confirmation waits as a
    // proposal for the AFS owners.
    let mut linus = login(&app, "torvalds@linux-foundation.org").await;
    let confirm = |csrf: String| {
        vec![
            ("csrf".to_owned(), csrf),
            ("status".to_owned(), "confirmed_safe".to_owned()),
        ]
    };
    let csrf = linus.get(&page).await.csrf();
    let fields = confirm(csrf.clone());
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (&**k, &**v)).collect();
    let r = linus.form(&format!("{page}/status"), &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").unwrap().contains("?proposed="));
    let user = users::by_email(&app.db, "torvalds@linux-foundation.org")
        .await
        .unwrap()
        .unwrap();
    let (_, token) = users::create_token(&app.db, user.id, "bot", &[Scope::StatusWrite])
        .await
        .unwrap();
    let patch = |etag: String| {
        Request::patch(format!("/api/v1/sites/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::IF_MATCH, etag)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"status": "confirmed_safe"}"#))
            .unwrap()
    };
    let r = app.send(patch(etag.clone())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.json()["proposal"]["to"], "confirmed_safe");
    assert_ne!(
        app.get(&format!("/api/v1/sites/{id}")).await.json()["site"]["status"],
        "confirmed_safe"
    );

    // The lead widens the campaign: the page says so and Linus's sign-off counts.
    campaigns::set_signoff_scope(
        &app.db,
        "iov-iter-direction",
        SignoffScope::AnySection,
        "lead",
        treewide_core::model::EventSource::Cli,
    )
    .await
    .unwrap();
    let c = app.get("/c/iov-iter-direction").await;
    assert!(
        c.body
            .contains("Sign-off: maintainers and reviewers of any MAINTAINERS section"),
        "{}",
        c.body
    );
    let r = app.get(&page).await;
    assert_eq!(r.body.matches("<tr class=\"signs\">").count(), 2);
    let r = app.send(patch(etag.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["site"]["status"], "confirmed_safe");
}

#[tokio::test]
async fn a_site_no_scan_mapped_shows_its_primary_subsystem_only() {
    let app = treewide_testing::spawn_app().await;
    let id: i64 = sqlx::query_scalar(
        "SELECT s.id FROM sites s JOIN campaigns c ON c.id = s.campaign_id
         WHERE c.slug = 'iov-iter-pin' AND s.file = 'drivers/nvme/target/io-cmd-file.c' LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let r = app.get(&format!("/c/iov-iter-pin/site/{id}")).await;
    assert!(r.body.contains("<summary>Why these owners</summary>"));
    assert!(r.body.contains("only the primary subsystem is known"));
    assert!(r.body.contains(">NVM EXPRESS TARGET DRIVER</a>"));
    assert_eq!(r.body.matches("<tr class=\"signs\">").count(), 1);
}

/// The real kernel tree of the real-tree tests, if it can be had.
fn linux_tree() -> Option<PathBuf> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/linux-source.sh");
    let out = std::process::Command::new(script).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "SKIPPED: no Linux tree ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().into())
}

#[tokio::test]
async fn the_site_page_names_the_sections_an_x_line_excluded_on_the_real_tree() {
    let Some(tree) = linux_tree() else { return };
    let app = TestApp::empty().await;
    scan_into(&app.db, &tree, "iov-iter-pin").await;
    let id = site_of(&app.db, "drivers/char/random.c").await;
    let r = app.get(&format!("/c/iov-iter-pin/site/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains(
            "<li>CHAR and MISC DRIVERS: <code>F:\tdrivers/char/</code> matched, \
             <code>X:\tdrivers/char/random.c</code> excludes it</li>"
        ),
        "{}",
        r.body
    );
    assert!(r.body.contains(">RANDOM NUMBER DRIVER</a>"));
}
