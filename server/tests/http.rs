//! Every page and API endpoint through the real router, on a real SQLite database with the
//! seed demo loaded.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use treewide_core::ingest;
use treewide_core::model::EventSource;
use treewide_importer::auditor;
use treewide_testing::{spawn_app, TestApp};

#[tokio::test]
async fn index_lists_both_demo_campaigns_with_progress() {
    let app = spawn_app().await;
    let r = app.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/html"));
    assert!(r.body.contains("href=\"/c/iov-iter-pin\""));
    assert!(r.body.contains("href=\"/c/iov-iter-direction\""));
    assert!(r.body.contains("class=\"seg st-needs_pin\""), "stacked bar");
    assert!(r.body.contains("<b>90</b> / 217 done"), "pin progress");
}

#[tokio::test]
async fn campaign_page_has_a_sortable_filterable_subsystem_table() {
    let app = spawn_app().await;
    let r = app.get("/c/iov-iter-pin").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("NVM EXPRESS TARGET DRIVER"));
    assert!(r
        .body
        .contains("/c/iov-iter-pin/s/nvm-express-target-driver"));
    assert!(r.body.contains("ITER_PIPE"), "verdict groups are listed");
    assert!(
        r.body.contains("lore.kernel.org/r/YylJU+BKw5R8u7dw@ZenIV"),
        "the seed mail is linked"
    );

    let filtered = app.get("/c/iov-iter-pin?status=awaiting_owner").await;
    assert!(filtered.body.contains("NVM EXPRESS TARGET DRIVER"));
    assert!(
        !filtered
            .body
            .contains(">KERNEL NFSD, SUNRPC, AND LOCKD SERVERS<"),
        "no awaiting site there"
    );

    // sorting by open questions, most first: the nvme row comes before the alphabetical first row
    let sorted = app.get("/c/iov-iter-pin?sort=questions&dir=desc").await;
    let first_row = sorted.body.find("<td class=\"name\">").unwrap();
    let nvme = sorted.body.find(">NVM EXPRESS TARGET DRIVER<").unwrap();
    let fscache = sorted
        .body
        .find(">FS-CACHE: LOCAL CACHING FOR NETWORK FILESYSTEMS<")
        .unwrap();
    assert!(
        nvme.min(fscache) < first_row + 200,
        "a subsystem with a question leads"
    );
    assert!(app.get("/c/iov-iter-pin?sort=bogus").await.status == StatusCode::BAD_REQUEST);
    assert!(app.get("/c/iov-iter-pin?status=bogus").await.status == StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn subsystem_page_shows_sites_groups_and_owner_questions() {
    let app = spawn_app().await;
    let r = app.get("/c/iov-iter-pin/s/nvm-express-target-driver").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("drivers/nvme/target/io-cmd-file.c:94"));
    assert!(r.body.contains("Christoph Hellwig"));
    assert!(r.body.contains("confirmed by nvme folks"));
    assert!(r.body.contains("open question"));
    assert!(
        r.body.contains("group: nvme target"),
        "which verdict decided the site"
    );
    let none = app
        .get("/c/iov-iter-pin/s/nvm-express-target-driver?status=fixed")
        .await;
    assert!(none.body.contains("No sites with status fixed"));
    assert_eq!(
        app.get("/c/iov-iter-pin/s/no-such-subsystem").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn site_page_links_source_lore_and_commits_and_shows_history() {
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-direction&file=drivers/vhost/vringh.c")
        .await
        .json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let r = app.get(&format!("/c/iov-iter-direction/site/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .body
        .contains("https://elixir.bootlin.com/linux/v6.1.172/source/drivers/vhost/vringh.c#L"));
    assert!(r
        .body
        .contains("https://git.kernel.org/torvalds/c/e3bf3df824675ea9cadc3cd2c75d08ee83a6ae26"));
    assert!(r.body.contains("[vhost]"));
    assert!(r.body.contains("first seen"));
    // a site of another campaign is not found under this one
    assert_eq!(
        app.get(&format!("/c/iov-iter-pin/site/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/c/iov-iter-pin/site/abc").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_pages_get_a_proper_404_page() {
    let app = spawn_app().await;
    for uri in ["/nope", "/c/nope", "/c/nope/s/x", "/static/nope.css"] {
        let r = app.get(uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(r.content_type().starts_with("text/html"), "{uri}");
        assert!(r.body.contains("404"), "{uri}");
    }
    let css = app.get("/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type().starts_with("text/css"));
}

#[tokio::test]
async fn api_lists_campaigns_and_subsystems() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/campaigns").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("application/json"));
    let v = r.json();
    let pin = v["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slug"] == "iov-iter-pin")
        .unwrap()
        .clone();
    assert_eq!(pin["counts"]["total"], 217);
    assert_eq!(pin["counts"]["unreviewed"], 74);
    let one = app.get("/api/v1/campaigns/iov-iter-pin").await.json();
    assert_eq!(one["verdicts"].as_array().unwrap().len(), 15);
    let subs = app
        .get("/api/v1/campaigns/iov-iter-pin/subsystems")
        .await
        .json();
    let nvme = subs["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slug"] == "nvm-express-target-driver")
        .unwrap()
        .clone();
    assert_eq!(nvme["open_questions"], 1);
    assert_eq!(nvme["counts"]["awaiting_owner"], 2);
}

#[tokio::test]
async fn api_sites_filter_and_paginate_with_cursors() {
    let app = spawn_app().await;
    let mut next = Some("/api/v1/sites?campaign=iov-iter-pin&limit=4".to_owned());
    let mut seen = Vec::new();
    while let Some(uri) = next {
        let r = app.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        let v = r.json();
        let items = v["items"].as_array().unwrap();
        assert!(items.len() <= 4);
        seen.extend(items.iter().map(|s| s["id"].as_i64().unwrap()));
        next = v["next"].as_str().map(str::to_owned);
        if let Some(n) = &next {
            let link = r.headers.get(header::LINK).unwrap().to_str().unwrap();
            assert_eq!(link, format!("<{n}>; rel=\"next\""));
            assert!(
                n.contains("campaign=iov-iter-pin"),
                "filters carry over: {n}"
            );
        }
    }
    assert_eq!(seen.len(), 217);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 217, "no site twice");

    let v = app
        .get("/api/v1/sites?campaign=iov-iter-pin&status=needs_pin&limit=500")
        .await
        .json();
    assert_eq!(v["items"].as_array().unwrap().len(), 47);
    assert!(v["next"].is_null());
    let v = app
        .get("/api/v1/sites?callee=iov_iter_xarray&subsystem=afs-filesystem")
        .await
        .json();
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["callee"] == "iov_iter_xarray" && s["subsystem"] == "AFS FILESYSTEM"));
    assert!(!v["items"].as_array().unwrap().is_empty());
    let v = app.get("/api/v1/sites?file=net/ceph/*").await.json();
    assert!(v["items"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn api_errors_are_problem_json_with_the_right_status() {
    let app = spawn_app().await;
    for (uri, status) in [
        ("/api/v1/sites?limit=501", StatusCode::BAD_REQUEST),
        ("/api/v1/sites?limit=0", StatusCode::BAD_REQUEST),
        ("/api/v1/sites?status=done", StatusCode::BAD_REQUEST),
        ("/api/v1/sites?cursor=x", StatusCode::BAD_REQUEST),
        ("/api/v1/sites?colour=red", StatusCode::BAD_REQUEST),
        ("/api/v1/sites?campaign=nope", StatusCode::NOT_FOUND),
        ("/api/v1/sites/999999", StatusCode::NOT_FOUND),
        ("/api/v1/campaigns/nope", StatusCode::NOT_FOUND),
        ("/api/v1/nope", StatusCode::NOT_FOUND),
    ] {
        let r = app.get(uri).await;
        assert_eq!(r.status, status, "{uri}: {}", r.body);
        assert_eq!(r.content_type(), "application/problem+json", "{uri}");
        let v = r.json();
        assert_eq!(v["status"], status.as_u16(), "{uri}");
        assert!(!v["detail"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn api_site_detail_has_notes_refs_and_events() {
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .await
        .json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let v = app.get(&format!("/api/v1/sites/{id}")).await.json();
    assert_eq!(v["site"]["status"], "awaiting_owner");
    assert_eq!(v["site"]["decided_by"], "verdict");
    assert_eq!(v["notes"][0]["ask"], "NVM EXPRESS TARGET DRIVER");
    assert_eq!(v["notes"][0]["question_state"], "open");
    assert!(v["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "question"));
}

#[tokio::test]
async fn every_get_has_an_etag_and_if_none_match_gives_304() {
    let app = spawn_app().await;
    for uri in [
        "/",
        "/c/iov-iter-pin",
        "/api/v1/campaigns",
        "/api/v1/sites?limit=3",
        "/static/style.css",
    ] {
        let r = app.get(uri).await;
        let tag = r
            .headers
            .get(header::ETAG)
            .unwrap_or_else(|| panic!("{uri}: no ETag"))
            .clone();
        let again = app
            .send(
                Request::get(uri)
                    .header(header::IF_NONE_MATCH, tag.clone())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(again.body.is_empty());
        assert_eq!(again.headers.get(header::ETAG), Some(&tag));
        let other = app
            .send(
                Request::get(uri)
                    .header(header::IF_NONE_MATCH, "\"stale\"")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(other.status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn user_supplied_strings_are_escaped_everywhere() {
    let app = spawn_app().await;
    let evil = r#"{"format": "treewide-audit/1",
      "campaign": {"slug": "xss", "title": "<script>alert('t')</script>", "description": "<img src=x onerror=alert(1)>"},
      "sites": [{"file": "fs/x<y>.c", "line": 1, "callee": "iov_iter_bvec", "function": "f",
                 "code": "iov_iter_bvec(\"</code><script>alert(2)</script>\");", "subsystem": "EVIL <b>SUBSYS</b>",
                 "notes": [{"author": "Mallory <m@evil.example>", "text": "<script>alert(3)</script>", "ask": "EVIL <b>SUBSYS</b>"}]}]}"#;
    let batch =
        auditor::parse_bytes("xss.json", evil.as_bytes(), EventSource::Import, "t").unwrap();
    ingest::store(&app.db, &batch).await.unwrap();
    let site = app.get("/api/v1/sites?campaign=xss").await.json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    for uri in [
        "/".to_owned(),
        "/c/xss".to_owned(),
        "/c/xss/s/evil-b-subsys-b".to_owned(),
        format!("/c/xss/site/{site}"),
    ] {
        let r = app.get(&uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(!r.body.contains("<script>alert"), "{uri} has a live script");
        assert!(!r.body.contains("<img src=x"), "{uri}");
        assert!(!r.body.contains("<b>SUBSYS"), "{uri}");
    }
    let page = app.get(&format!("/c/xss/site/{site}")).await.body;
    assert!(
        page.contains("&lt;script&gt;alert(3)&lt;/script&gt;")
            || page.contains("&#60;script&#62;alert(3)"),
        "note shown as text"
    );
}

/// A mainline fix with a stable backport for one vringh.c site, and for another a stable
/// backport whose mainline commit was not imported. The mainline subject carries a script.
async fn store_vringh_history(app: &TestApp) -> (i64, i64) {
    use treewide_core::history::{self, CommitInfo, Cursor, HistoryBatch, HistorySource};
    use treewide_core::model::{CommitRole, SiteId, Status};
    let c = treewide_core::campaigns::meta(&app.db, "iov-iter-direction")
        .await
        .unwrap();
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-direction&file=drivers/vhost/vringh.c")
        .await
        .json();
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 2, "two vringh.c sites in the demo: {list}");
    let commit = |oid: &str, date: &str, subject: &str, upstream: Option<&str>| CommitInfo {
        oid: oid.repeat(40 / oid.len()),
        author_name: "Al Viro".into(),
        author_email: "viro@zeniv.linux.org.uk".into(),
        author_date: format!("{date}T12:00:00Z"),
        commit_date: format!("{date}T12:00:00Z"),
        subject: subject.into(),
        subject_tag: Some("vhost".into()),
        upstream_oid: upstream.map(|u| u.repeat(40 / u.len())),
        branch: Some(
            if upstream.is_some() {
                "linux-6.1.y"
            } else {
                "master"
            }
            .into(),
        ),
        url: None,
    };
    let link = |site: i64, oid: &str, code: bool| history::SiteLink {
        site: SiteId(site),
        commit: oid.repeat(40 / oid.len()),
        role: CommitRole::Fix,
        file: "drivers/vhost/vringh.c".into(),
        line: Some(1170),
        old_code: code.then(|| "iov_iter_bvec(&iter, READ, bvec, 1, len);".into()),
        new_code: code.then(|| "iov_iter_bvec(&iter, ITER_DEST, bvec, 1, len);".into()),
    };
    let fixed = |site: i64| history::StatusFromHistory {
        site: SiteId(site),
        to: Status::Fixed,
        reason: "fixed upstream".into(),
        commit: None,
    };
    let batch = HistoryBatch {
        campaign: c.id,
        source: HistorySource::Git,
        name: "git /src/linux (master)".into(),
        actor: "test".into(),
        tip: None,
        tip_describe: None,
        files_at_tag: Vec::new(),
        pages: Vec::new(),
        promotions: Vec::new(),
        commits: vec![
            commit(
                "de4eda9d",
                "2022-10-20",
                "<script>alert(9)</script> vhost: use ITER_DEST",
                None,
            ),
            commit(
                "b4c7b4c7",
                "2022-11-01",
                "vhost: use ITER_DEST",
                Some("de4eda9d"),
            ),
            commit(
                "10e510e5",
                "2022-11-02",
                "vhost: fix the other direction",
                Some("abcdef01"),
            ),
        ],
        links: vec![
            link(ids[0], "de4eda9d", true),
            link(ids[0], "b4c7b4c7", false),
            link(ids[1], "10e510e5", false),
        ],
        positions: vec![],
        // The second site keeps its status: only a link is added.
        statuses: vec![fixed(ids[0])],
        cursors: vec![Cursor {
            repo: "/src/linux".into(),
            ref_name: "refs/heads/master".into(),
            last_commit: "de4eda9d".repeat(5),
        }],
    };
    let summary = history::store(&app.db, &batch).await.unwrap();
    assert_eq!(summary.links_new, 3);
    (ids[0], ids[1])
}

#[tokio::test]
async fn site_page_shows_the_fixing_commit_its_backport_and_escapes_the_subject() {
    let app = spawn_app().await;
    let (fixed, lone) = store_vringh_history(&app).await;
    let r = app
        .get(&format!("/c/iov-iter-direction/site/{fixed}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let body = &r.body;
    assert!(body.contains("<h2>Commits</h2>"), "{body}");
    assert!(body.contains("fixed in mainline by"));
    assert!(body.contains(&format!(
        "href=\"https://git.kernel.org/torvalds/c/{}\"><code>de4eda9dde4e</code>",
        "de4eda9d".repeat(5)
    )));
    assert!(body.contains("backported to <b>linux-6.1.y</b> as"));
    assert!(body.contains(&format!(
        "https://git.kernel.org/stable/c/{}",
        "b4c7b4c7".repeat(5)
    )));
    assert!(!body.contains("<script>alert(9)"), "a live script");
    assert!(
        body.contains("&lt;script&gt;alert(9)") || body.contains("&#60;script&#62;alert(9)"),
        "the subject is shown as text"
    );
    assert!(body.contains("Al Viro"));
    assert!(body.contains("2022-10-20"));
    assert!(body.contains("ITER_DEST, bvec"), "the new code of the fix");

    let r = app.get(&format!("/c/iov-iter-direction/site/{lone}")).await;
    assert!(
        r.body.contains("backport to linux-6.1.y of</span>"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!(
        "href=\"https://git.kernel.org/torvalds/c/{}\"><code>abcdef01abcd</code>",
        "abcdef01".repeat(5)
    )));

    // The subsystem table shows each fix's short id, mainline first.
    let site = app.get(&format!("/api/v1/sites/{fixed}")).await.json();
    let slug = site["site"]["subsystem_slug"].as_str().unwrap().to_owned();
    let table = app.get(&format!("/c/iov-iter-direction/s/{slug}")).await;
    assert!(
        table.body.contains("<th scope=\"col\">Fix</th>"),
        "{}",
        table.body
    );
    assert!(table.body.contains("<code>de4eda9dde4e</code>"));
    assert!(table.body.contains("<code>10e510e510e5</code>"));
}

#[tokio::test]
async fn api_site_detail_lists_commits_with_backports_and_openapi_documents_them() {
    let app = spawn_app().await;
    let before = app
        .get("/api/v1/sites?campaign=iov-iter-direction&file=drivers/vhost/vringh.c")
        .await
        .json();
    let second = before["items"][1]["id"].as_i64().unwrap();
    let etag_before =
        app.get(&format!("/api/v1/sites/{second}")).await.headers[header::ETAG].clone();
    let (fixed, lone) = store_vringh_history(&app).await;
    assert_eq!(second, lone);
    let after = app.get(&format!("/api/v1/sites/{lone}")).await;
    assert_ne!(
        after.headers[header::ETAG],
        etag_before,
        "a new commit link changes the ETag even without a status change"
    );
    let v = app.get(&format!("/api/v1/sites/{fixed}")).await.json();
    let commits = v["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 1, "the backport is nested in its fix: {v}");
    let c = &commits[0];
    assert_eq!(c["role"], "fix");
    assert_eq!(c["oid"], "de4eda9d".repeat(5));
    assert_eq!(c["tag"], "vhost");
    assert_eq!(c["author_name"], "Al Viro");
    assert_eq!(c["author_date"], "2022-10-20T12:00:00Z");
    assert_eq!(
        c["url"],
        format!("https://git.kernel.org/torvalds/c/{}", "de4eda9d".repeat(5))
    );
    assert_eq!(
        c["new_code"],
        "iov_iter_bvec(&iter, ITER_DEST, bvec, 1, len);"
    );
    assert_eq!(c["upstream_missing"], false);
    assert_eq!(c["backports"][0]["branch"], "linux-6.1.y");
    assert_eq!(c["backports"][0]["upstream"], "de4eda9d".repeat(5));
    assert!(v["site"]["status"] == "fixed");

    let v = app.get(&format!("/api/v1/sites/{lone}")).await.json();
    assert_eq!(v["commits"][0]["upstream"], "abcdef01".repeat(5));
    assert_eq!(v["commits"][0]["upstream_missing"], true);
    assert!(v["commits"][0]["file"].is_null());

    let doc = app.get("/api/v1/openapi.json").await.json();
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["SiteDetail"]["properties"]["commits"].is_object(),
        "{schemas}"
    );
    assert!(schemas["CommitJson"]["properties"]["upstream"].is_object());
    let ok = &doc["paths"]["/api/v1/sites/{id}"]["get"]["responses"]["200"];
    assert_eq!(
        ok["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SiteDetail"
    );
}

#[tokio::test]
async fn campaign_page_draws_the_burndown_from_the_history() {
    let app = spawn_app().await;
    store_vringh_history(&app).await;
    let c = treewide_core::campaigns::meta(&app.db, "iov-iter-direction")
        .await
        .unwrap();
    let points = treewide_core::history::burndown(&app.db, c.id)
        .await
        .unwrap();
    let dates: Vec<String> = points.iter().map(|p| p.date.to_string()).collect();
    // The demo's first fix is dated 2022-09-16 (the chart starts the day before); the
    // history's vringh fix adds 2022-10-20.
    assert!(dates.starts_with(&["2022-09-15".into()]), "{dates:?}");
    assert!(dates.contains(&"2022-10-20".to_owned()), "{dates:?}");
    assert!(
        !dates.contains(&"2022-11-01".to_owned()),
        "a backport is not a new fix"
    );

    let r = app.get("/c/iov-iter-direction").await;
    assert_eq!(r.status, StatusCode::OK);
    let body = &r.body;
    let svg = &body[body
        .find("<svg class=\"burndown-chart\"")
        .expect("a burndown svg")..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert!(svg.contains("role=\"img\""));
    assert!(svg.contains("aria-label=\"Burndown: "));
    assert!(svg.contains("<title>") && svg.contains("<desc>"));
    assert!(svg.contains(&format!("data-points=\"{}\"", points.len())));
    assert_eq!(svg.matches("class=\"pt bd-open\"").count(), points.len());
    assert_eq!(svg.matches("<path class=\"series").count(), 2);
    assert!(svg.contains(">2022-09-15</text>"), "first date labelled");
    // Nearly four quiet years before today are squeezed into one marked break.
    assert_eq!(svg.matches("class=\"axis-break\"").count(), 1, "{svg}");
    let table = &body[body.find("<table class=\"burndown-points\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr><td>").count(), points.len());
    assert!(!body.contains("style="), "the CSP forbids inline styles");
}

#[tokio::test]
async fn a_campaign_without_sites_says_so_instead_of_a_chart() {
    let app = spawn_app().await;
    let empty = r#"{"format": "treewide-audit/1", "campaign": {"slug": "empty", "title": "Empty"}, "sites": []}"#;
    let batch =
        auditor::parse_bytes("empty.json", empty.as_bytes(), EventSource::Import, "t").unwrap();
    ingest::store(&app.db, &batch).await.unwrap();
    let r = app.get("/c/empty").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("<svg class=\"burndown-chart\""));
    assert!(r.body.contains("No sites yet"));
}

/// Anonymous answers come from the page cache until the database changes, whoever changes it.
#[tokio::test]
async fn cached_pages_follow_every_write() {
    use treewide_core::model::{SiteId, Status};
    use treewide_core::transition::{change_status, Authority, StatusRequest};
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-pin&status=needs_pin&limit=500")
        .await;
    let site = list.json()["items"][0]["id"].as_i64().unwrap();
    let page = format!("/c/iov-iter-pin/site/{site}");
    let before = app.get(&page).await;
    assert!(before.body.contains("needs pin"), "{}", before.body);
    // Same answer again (from the cache), with the same ETag.
    let again = app.get(&page).await;
    assert_eq!(again.body, before.body);
    assert_eq!(
        again.headers.get(header::ETAG),
        before.headers.get(header::ETAG)
    );
    // A write on another connection (as an import in another process would make).
    change_status(
        &app.db,
        StatusRequest {
            site: SiteId(site),
            to: Status::AwaitingOwner,
            by: Authority::Proposal,
            actor: "tester",
            source: EventSource::Cli,
            reason: "patch on the list",
            expected_version: None,
        },
    )
    .await
    .unwrap();
    let after = app.get(&page).await;
    assert_ne!(after.body, before.body);
    assert!(after.body.contains("awaiting owner"), "{}", after.body);
    assert_ne!(
        after.headers.get(header::ETAG),
        before.headers.get(header::ETAG)
    );
    let list2 = app
        .get("/api/v1/sites?campaign=iov-iter-pin&status=needs_pin&limit=500")
        .await;
    assert_ne!(list2.json()["items"][0]["id"].as_i64(), Some(site));
}

#[tokio::test]
async fn burndown_for_bots() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/campaigns/iov-iter-pin/burndown").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let points = v["points"].as_array().unwrap();
    assert!(!points.is_empty());
    let last = points.last().unwrap();
    let total = last["open"].as_u64().unwrap() + last["done"].as_u64().unwrap();
    assert_eq!(total, 217, "{v}");
    assert_eq!(last["done"].as_u64(), Some(90));
    assert_eq!(last["date"].as_str().unwrap().len(), 10);
    // The demo's facts carry their own dates: the audit mails of September 2022 decided the
    // pin groups, and the direction fixes were in mainline from v6.2-rc1 (2022-12-25).
    let dates = |v: &serde_json::Value| -> Vec<(String, u64)> {
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["date"].as_str().unwrap().to_owned(),
                    p["done"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let pin = dates(&v);
    assert_eq!(pin[0].0, "2022-09-15", "{pin:?}");
    assert!(pin.iter().any(|(d, _)| d == "2022-09-20"), "{pin:?}");
    let direction = dates(
        &app.get("/api/v1/campaigns/iov-iter-direction/burndown")
            .await
            .json(),
    );
    assert!(
        direction.contains(&("2022-12-25".to_owned(), 170)),
        "{direction:?}"
    );
    // Nothing is dated by the day the demo was loaded.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    for (d, _) in pin.iter().chain(&direction) {
        assert!(d.as_str() < "2023-01-01" || *d == today, "{d}");
    }
    assert_eq!(
        app.get("/api/v1/campaigns/nope/burndown").await.status,
        StatusCode::NOT_FOUND
    );
    let doc = app.get("/api/v1/openapi.json").await.json();
    assert!(doc["paths"]["/api/v1/campaigns/{slug}/burndown"].is_object());
}

#[tokio::test]
async fn elixir_links_only_go_where_the_tag_has_the_file_as_positions_see_it() {
    let app = spawn_app().await;
    let list = app
        .get("/api/v1/sites?campaign=iov-iter-direction&file=drivers/vhost/vringh.c")
        .await
        .json();
    let id = list["items"][0]["id"].as_i64().unwrap();
    let line = list["items"][0]["line"].as_i64().unwrap();
    let page = format!("/c/iov-iter-direction/site/{id}");
    let file_page = "/c/iov-iter-direction/f/drivers/vhost/vringh.c";
    let elixir = "https://elixir.bootlin.com/linux/v6.1.172/source/drivers/vhost/vringh.c";
    assert!(app
        .get(&page)
        .await
        .body
        .contains(&format!("{elixir}#L{line}")));

    // As `import git` leaves it when the positions come from a commit past the tag.
    let set = |state: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query(
                "UPDATE campaigns SET tree_commit = '0123456789abcdef0123456789abcdef01234567'
                 WHERE slug = 'iov-iter-direction'",
            )
            .execute(&db)
            .await
            .unwrap();
            sqlx::query(
                "INSERT OR REPLACE INTO tree_link_gaps (campaign_id, path, state)
                 SELECT id, 'drivers/vhost/vringh.c', ?1 FROM campaigns WHERE slug = 'iov-iter-direction'",
            )
            .bind(state)
            .execute(&db)
            .await
            .unwrap();
        }
    };
    set("changed").await;
    let body = app.get(&page).await.body;
    assert!(body.contains(&format!("href=\"{elixir}\"")), "{body}");
    assert!(
        !body.contains(&format!("{elixir}#L")),
        "no line that may have moved"
    );
    assert!(
        body.contains("the link opens the file, not the line"),
        "{body}"
    );

    set("absent").await;
    let body = app.get(&page).await.body;
    assert!(!body.contains(elixir), "no link to a 404");
    assert!(
        body.contains("Not linked: the file is not in v6.1.172"),
        "{body}"
    );
    assert!(body.contains("commit 0123456789ab"), "{body}");
    let body = app.get(file_page).await.body;
    assert!(!body.contains(elixir), "{body}");
    assert!(body.contains("Not in the release elixir serves"), "{body}");
}
