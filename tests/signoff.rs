//! The sign-off workflow against the real server on a random port: invites, login, who may
//! sign off, CSRF, API tokens with scopes, If-Match, concurrent writers, questions.

mod common;

use common::http::{Client, Res};
use common::run;
use treewide_testing::{spawn_app, TestApp};

/// Invite `email` with the CLI and accept in the browser: returns a logged-in client.
fn person(app: &TestApp, email: &str) -> Client {
    let link = common::invite(app, email);
    let path = link.trim_start_matches(app.url()).to_owned();
    let mut c = Client::new(app.url());
    let page = c.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(email));
    let csrf = page.csrf();
    let r = c.form(
        &path,
        &[
            ("csrf", &csrf),
            ("password", "correct horse 1"),
            ("password2", "correct horse 1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    // the invite is used up
    assert_eq!(Client::new(app.url()).get(&path).status, 404);
    c
}

/// An `Authorization: Bearer …` value for a new token of `email` with `scopes`, made with
/// the CLI.
fn bearer(app: &TestApp, email: &str, scopes: &[&str]) -> String {
    let mut args = vec!["token", "create", "--email", email];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let out = run(&app.db_path, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("Bearer {}", String::from_utf8_lossy(&out.stdout).trim())
}

/// `PATCH` the site at `path` with a JSON `body`, as the bearer of `auth`, naming `etag` in
/// If-Match.
fn patch(c: &mut Client, path: &str, auth: Option<&str>, etag: Option<&str>, body: &[u8]) -> Res {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(auth.map(|a| ("Authorization", a)));
    headers.extend(etag.map(|e| ("If-Match", e)));
    c.send("PATCH", path, &headers, Some(body))
}

fn nvme_site(c: &mut Client) -> i64 {
    c.get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .json()["items"][0]["id"]
        .as_i64()
        .unwrap()
}

fn status_of(c: &mut Client, id: i64) -> String {
    c.get(&format!("/api/v1/sites/{id}")).json()["site"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn maintainers_sign_off_others_may_only_propose() {
    let app = spawn_app().await;
    let mut hch = person(&app, "hch@lst.de");
    let mut other = person(&app, "someone@example.org");
    let id = nvme_site(&mut hch);
    let site = format!("/c/iov-iter-pin/site/{id}");

    // anonymous: sent to log in, nothing changes
    let mut anon = Client::new(app.url());
    let r = anon.form(
        &format!("{site}/status"),
        &[("csrf", "x"), ("status", "confirmed_safe")],
    );
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().starts_with("/login?next="));

    // an outsider's confirmation is a proposal for the owners: nothing changes yet
    let page = other.get(&site);
    assert!(
        page.body.contains(">Propose<"),
        "outsiders are offered to propose"
    );
    let csrf = page.csrf();
    let r = other.form(
        &format!("{site}/status"),
        &[("csrf", &csrf), ("status", "confirmed_safe")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.header("location").unwrap().to_owned();
    assert!(to.contains("?proposed="), "{to}");
    assert!(other.get(&to).body.contains("Your change is proposal #"));
    assert_eq!(status_of(&mut other, id), "awaiting_owner");
    // …and may move it between open statuses at once
    let r = other.form(
        &format!("{site}/status"),
        &[
            ("csrf", &csrf),
            ("status", "needs_pin"),
            ("reason", "looks user-backed"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(status_of(&mut other, id), "needs_pin");

    // a forged form is refused
    let r = hch.form(
        &format!("{site}/status"),
        &[("csrf", "forged"), ("status", "confirmed_safe")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(status_of(&mut hch, id), "needs_pin");

    // the nvme maintainer signs off
    let page = hch.get(&site);
    assert!(page.body.contains("Set status"), "the review form is shown");
    let r = hch.form(
        &format!("{site}/status"),
        &[
            ("csrf", &page.csrf()),
            ("status", "confirmed_safe"),
            ("reason", "sgl_alloc() pages are anonymous"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let v = hch.get(&format!("/api/v1/sites/{id}")).json();
    assert_eq!(v["site"]["status"], "confirmed_safe");
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["actor"], "hch@lst.de");
    assert_eq!(last["source"], "web");
    assert_eq!(last["reason"], "sgl_alloc() pages are anonymous");
    // the outsider's proposal was made against another status
    assert_eq!(v["proposals"][0]["state"], "open");

    // the sign-off holds: the outsider's "troll" through the form and through the API (with
    // a status:write token) become proposals; the status and who set it stay
    let csrf = other.get(&site).csrf();
    let r = other.form(
        &format!("{site}/status"),
        &[
            ("csrf", &csrf),
            ("status", "needs_fix"),
            ("reason", "troll"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let bot = bearer(&app, "someone@example.org", &["status:write"]);
    let etag = other
        .get(&format!("/api/v1/sites/{id}"))
        .header("etag")
        .unwrap()
        .to_owned();
    let r = patch(
        &mut other,
        &format!("/api/v1/sites/{id}"),
        Some(&bot),
        Some(&etag),
        br#"{"status": "needs_pin", "reason": "troll again"}"#,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let api_proposal = r.json()["proposal"]["id"].as_i64().unwrap();
    assert_eq!(status_of(&mut other, id), "confirmed_safe");
    let page = hch.get(&site);
    assert!(
        page.body.contains("set by hch@lst.de on"),
        "the status says who decided"
    );
    assert!(page.body.contains("troll again") && page.body.contains(">Accept<"));

    // the maintainer rejects the form's proposal in the page and the bot's through the API
    let v = hch.get(&format!("/api/v1/sites/{id}/proposals")).json();
    let open: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["state"] == "open" && p["to"] == "needs_fix")
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(open.len(), 1);
    let r = hch.form(
        &format!("{site}/proposals/{}/reject", open[0]),
        &[("csrf", &page.csrf()), ("reason", "no: sgl_alloc()")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    // the outsider cannot decide proposals, not even their own
    let r = other.send(
        "POST",
        &format!("/api/v1/proposals/{api_proposal}/accept"),
        &[
            ("Authorization", bot.as_str()),
            ("Content-Type", "application/json"),
        ],
        Some(b"{}"),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(status_of(&mut other, id), "confirmed_safe");
    let v = hch.get(&format!("/api/v1/sites/{id}/proposals")).json();
    let rejected = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == open[0])
        .unwrap()
        .clone();
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rejected["decided_by"], "hch@lst.de");

    // wrong password: 401 page, no session
    let mut c = Client::new(app.url());
    let csrf = c.get("/login").csrf();
    let r = c.form(
        "/login",
        &[
            ("csrf", &csrf),
            ("email", "hch@lst.de"),
            ("password", "wrong password!"),
        ],
    );
    assert_eq!(r.status, 401);
    // right one
    let r = c.form(
        "/login",
        &[
            ("csrf", &csrf),
            ("email", "hch@lst.de"),
            ("password", "correct horse 1"),
            ("next", "/settings"),
        ],
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/settings")));
    assert_eq!(c.get("/settings").status, 200);
}

#[tokio::test]
async fn questions_are_answered_by_the_asked_subsystem_and_groups_signed_off_in_bulk() {
    let app = spawn_app().await;
    let mut hch = person(&app, "hch@lst.de");
    let mut other = person(&app, "someone@example.org");
    let id = nvme_site(&mut hch);
    let site = format!("/c/iov-iter-pin/site/{id}");
    let q = hch.get(&format!("/api/v1/sites/{id}")).json()["notes"][0]["id"]
        .as_i64()
        .unwrap();

    // Outsiders are not offered the answer form (they are told who answers), and a forged
    // post is still refused.
    let page = other.get(&site);
    assert!(!page.body.contains(&format!("/questions/{q}/answer")));
    assert!(page
        .body
        .contains("maintainers and reviewers answer this question"));
    let csrf = page.csrf();
    let r = other.form(
        &format!("/questions/{q}/answer"),
        &[("csrf", &csrf), ("text", "I think so"), ("back", &site)],
    );
    assert_eq!(r.status, 403);
    assert!(hch
        .get(&site)
        .body
        .contains(&format!("/questions/{q}/answer")));

    let csrf = hch.get(&site).csrf();
    let r = hch.form(
        &format!("/questions/{q}/answer"),
        &[
            ("csrf", &csrf),
            (
                "text",
                "nvmet reads into pages from sgl_alloc(): anonymous.",
            ),
            ("back", &site),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let v = hch.get(&format!("/api/v1/sites/{id}")).json();
    assert_eq!(v["notes"][0]["question_state"], "answered");
    let answer = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["body"].as_str().unwrap().contains("sgl_alloc"))
        .unwrap()
        .clone();
    assert_eq!(
        answer["answers"], q,
        "the API says which question it answers"
    );
    // The page shows the answer under its question; the feed carries both texts.
    let page = other.get(&site).body;
    let (qpos, apos) = (
        page.find("I'd like to see that confirmed").unwrap_or(0),
        page.find("nvmet reads into pages from sgl_alloc()")
            .unwrap(),
    );
    assert!(
        page.contains("class=\"answer-note\""),
        "answer under its question"
    );
    assert!(qpos < apos);
    let feed = other.get("/c/iov-iter-pin/feed.atom").body;
    assert!(feed.contains(&format!("question #{q} answered")), "{feed}");
    assert!(feed.contains("nvmet reads into pages from sgl_alloc(): anonymous."));

    // bulk sign-off of the nvme group on the subsystem page: outsiders 403, hch 303
    let sub = "/c/iov-iter-pin/s/nvm-express-target-driver";
    let groups = hch.get("/api/v1/campaigns/iov-iter-pin").json();
    let group = groups["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["match"]["file"] == "drivers/nvme/target/*")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let csrf = other.get(sub).csrf();
    assert_eq!(
        other
            .form(
                &format!("{sub}/signoff"),
                &[("csrf", &csrf), ("verdict", &group)]
            )
            .status,
        403
    );
    let csrf = hch.get(sub).csrf();
    let r = hch.form(
        &format!("{sub}/signoff"),
        &[("csrf", &csrf), ("verdict", &group)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(status_of(&mut hch, id), "confirmed_safe");
}

#[tokio::test]
async fn the_write_api_needs_scoped_tokens_and_if_match() {
    let app = spawn_app().await;
    let mut hch = person(&app, "hch@lst.de");
    let id = nvme_site(&mut hch);
    let token = |scopes: &[&str]| {
        bearer(&app, "hch@lst.de", scopes)
            .trim_start_matches("Bearer ")
            .to_owned()
    };
    let writer = token(&["read", "status:write", "notes:write"]);
    let reader = token(&["read"]);
    let path = format!("/api/v1/sites/{id}");
    let body = br#"{"status": "confirmed_safe", "reason": "anonymous pages"}"#;
    let mut c = Client::new(app.url());

    let r = patch(&mut c, &path, None, None, body);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"treewide\"")
    );
    assert_eq!(r.header("content-type"), Some("application/problem+json"));

    let auth_r = format!("Bearer {reader}");
    let r = patch(&mut c, &path, Some(&auth_r), None, body);
    assert_eq!(r.status, 403, "no status:write scope");

    let auth = format!("Bearer {writer}");
    let r = patch(&mut c, &path, Some(&auth), None, body);
    assert_eq!(r.status, 428, "If-Match is required");

    let etag = c.get(&path).header("etag").unwrap().to_owned();
    let r = patch(&mut c, &path, Some(&auth), Some("\"site-0-v0\""), body);
    assert_eq!(r.status, 412, "stale ETag");

    // a note moves the ETag on
    let note = br#"{"text": "<script>alert(1)</script> from the bot", "ask": "NVM EXPRESS TARGET DRIVER"}"#;
    let r = c.send(
        "POST",
        &format!("{path}/notes"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(note),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = patch(&mut c, &path, Some(&auth), Some(&etag), body);
    assert_eq!(r.status, 412, "the note changed the site since that ETag");

    let etag = c.get(&path).header("etag").unwrap().to_owned();
    let r = patch(&mut c, &path, Some(&auth), Some(&etag), body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["site"]["status"], "confirmed_safe");
    assert_ne!(r.header("etag"), Some(etag.as_str()));

    // the events feed shows it, with a cursor
    let feed = c.get("/api/v1/events?since=0&limit=500").json();
    let items = feed["items"].as_array().unwrap();
    assert!(items
        .iter()
        .any(|e| e["event"]["source"] == "api" && e["event"]["new"] == "confirmed_safe"));
    let next = feed["next"].as_i64().unwrap();
    assert!(
        c.get(&format!("/api/v1/events?since={next}")).json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // revoked on the settings page: 401
    let tokens = hch.get("/settings");
    assert!(tokens.body.contains("status:write"));
    let list = hch.get("/settings").body;
    let i = list.find("/settings/tokens/").unwrap() + 17;
    let tid: String = list[i..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    // the newest token is listed first: that is `reader`; revoke the writer (the older one)
    let writer_id = tid.parse::<i64>().unwrap() - 1;
    let csrf = hch.get("/settings").csrf();
    let r = hch.form(
        &format!("/settings/tokens/{writer_id}/revoke"),
        &[("csrf", &csrf)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let etag = c.get(&path).header("etag").unwrap().to_owned();
    let r = patch(&mut c, &path, Some(&auth), Some(&etag), body);
    assert_eq!(r.status, 401, "revoked token");
}

#[tokio::test]
async fn two_clients_patching_with_the_same_etag_exactly_one_wins() {
    let app = spawn_app().await;
    let mut hch = person(&app, "hch@lst.de");
    let id = nvme_site(&mut hch);
    let auth = bearer(&app, "hch@lst.de", &["status:write"]);
    let path = format!("/api/v1/sites/{id}");
    for round in 0..5 {
        let etag = Client::new(app.url())
            .get(&path)
            .header("etag")
            .unwrap()
            .to_owned();
        let statuses = ["needs_pin", "fix_proposed"];
        let handles: Vec<_> = statuses
            .iter()
            .map(|s| {
                let (base, auth, etag, path) = (
                    app.url().to_owned(),
                    auth.clone(),
                    etag.clone(),
                    path.clone(),
                );
                let body = format!("{{\"status\": \"{s}\", \"reason\": \"round {round}\"}}");
                std::thread::spawn(move || {
                    let mut c = Client::new(&base);
                    patch(&mut c, &path, Some(&auth), Some(&etag), body.as_bytes()).status
                })
            })
            .collect();
        let mut codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        codes.sort();
        assert_eq!(codes, vec![200, 412], "round {round}");
    }
}

#[tokio::test]
async fn my_queue_lists_what_waits_for_me_and_claims_come_and_go() {
    let app = spawn_app().await;
    let mut hch = person(&app, "hch@lst.de");
    let mut other = person(&app, "someone@example.org");
    let id = nvme_site(&mut hch);
    let site = format!("/c/iov-iter-pin/site/{id}");

    // An outsider's confirmation waits in the maintainer's queue, with the nvme question.
    let csrf = other.get(&site).csrf();
    let r = other.form(
        &format!("{site}/status"),
        &[
            ("csrf", &csrf),
            ("status", "confirmed_safe"),
            ("reason", "sgl pages are ours"),
        ],
    );
    assert_eq!(r.status, 303);
    let me = hch.get("/me");
    assert_eq!(me.status, 200, "{}", me.body);
    assert!(
        me.body.contains("NVM EXPRESS TARGET DRIVER"),
        "my subsystems"
    );
    assert!(me.body.contains("sgl pages are ours"), "the proposal");
    assert!(me.body.contains("Sites awaiting your sign-off"));
    assert!(
        hch.get(&site).body.contains("href=\"/me\""),
        "the header links the queue"
    );
    let anon = Client::new(app.url()).get("/me");
    assert_eq!(anon.status, 303, "anonymous visitors log in first");

    // The same through the API and the CLI.
    let reader = bearer(&app, "hch@lst.de", &["read"]);
    let r = hch.send(
        "GET",
        "/api/v1/me/queue",
        &[("Authorization", reader.as_str())],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let q = r.json();
    assert_eq!(q["queue"]["proposals"][0]["reason"], "sgl pages are ours");
    assert!(q["queue"]["awaiting_total"].as_i64().unwrap() >= 1);
    let out = run(&app.db_path, &["queue", "--email", "hch@lst.de"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Proposals waiting (1)"), "{text}");

    // Claims: from the page, shown to all; through the API, released again.
    let r = other.form(&format!("{site}/claim"), &[("csrf", &csrf), ("days", "3")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(Client::new(app.url())
        .get(&site)
        .body
        .contains("someone@example.org claimed this site until"));
    let v = hch.get(&format!("/api/v1/sites/{id}")).json();
    assert_eq!(v["claims"][0]["who"], "someone@example.org");
    let bot = bearer(&app, "someone@example.org", &["notes:write"]);
    let claim = format!("/api/v1/sites/{id}/claim");
    let json = [
        ("Authorization", bot.as_str()),
        ("Content-Type", "application/json"),
    ];
    let r = other.send("POST", &claim, &json, Some(br#"{"days": 120}"#));
    assert_eq!(r.status, 400, "{}", r.body);
    let r = other.send("POST", &claim, &json, Some(br#"{"days": 5}"#));
    assert_eq!(r.status, 201, "{}", r.body);
    let auth = [("Authorization", bot.as_str())];
    assert_eq!(other.send("DELETE", &claim, &auth, None).status, 204);
    assert_eq!(other.send("DELETE", &claim, &auth, None).status, 404);
    assert!(hch.get(&format!("/api/v1/sites/{id}")).json()["claims"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn bulk_changes_are_all_or_nothing_even_under_concurrent_writers() {
    let app = spawn_app().await;
    let mut hch = person(&app, "hch@lst.de");
    let auth = bearer(&app, "hch@lst.de", &["status:write"]);
    // What waits for hch: the nvme target sites awaiting an owner.
    let mine = hch
        .get("/api/v1/sites?action_required_for=HCH@lst.de")
        .json();
    let ids: Vec<i64> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert!(!ids.is_empty(), "{mine}");
    let nvme = nvme_site(&mut hch);
    assert!(ids.contains(&nvme));
    // A site hch does not own (another subsystem's), to confirm.
    let all = hch
        .get("/api/v1/sites?campaign=iov-iter-pin&limit=500")
        .json();
    let foreign = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["subsystem"] != "NVM EXPRESS TARGET DRIVER"
                && !["fixed", "confirmed_safe", "gone"].contains(&s["status"].as_str().unwrap())
        })
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let etag = |c: &mut Client, id: i64| {
        c.get(&format!("/api/v1/sites/{id}"))
            .header("etag")
            .unwrap()
            .to_owned()
    };
    let body = |items: &[(i64, &str, &str)]| {
        let items: Vec<serde_json::Value> = items
            .iter()
            .map(|(id, tag, status)| {
                serde_json::json!({"id": id, "if_match": tag, "status": status, "reason": "bulk"})
            })
            .collect();
        serde_json::json!({ "items": items }).to_string()
    };
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let before = status_of(&mut hch, nvme);
    let (e_nvme, e_foreign) = (etag(&mut hch, nvme), etag(&mut hch, foreign));

    // One item without authority: 207, nothing written, each item's outcome given.
    let r = hch.send(
        "POST",
        "/api/v1/sites/bulk",
        &headers,
        Some(
            body(&[
                (nvme, &e_nvme, "confirmed_safe"),
                (foreign, &e_foreign, "confirmed_safe"),
            ])
            .as_bytes(),
        ),
    );
    assert_eq!(r.status, 207, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (
            v["items"][0]["status"].as_u64(),
            v["items"][1]["status"].as_u64()
        ),
        (Some(200), Some(403))
    );
    assert_eq!(status_of(&mut hch, nvme), before, "nothing written");
    // A stale ETag: 412 for that item, nothing written.
    let r = hch.send(
        "POST",
        "/api/v1/sites/bulk",
        &headers,
        Some(body(&[(nvme, "\"site-1-v999\"", "confirmed_safe")]).as_bytes()),
    );
    assert_eq!(
        r.status, 400,
        "an ETag of another site is a bad request: {}",
        r.body
    );
    let stale = format!("\"site-{nvme}-v999\"");
    let r = hch.send(
        "POST",
        "/api/v1/sites/bulk",
        &headers,
        Some(body(&[(nvme, &stale, "confirmed_safe")]).as_bytes()),
    );
    assert_eq!(
        (r.status, r.json()["items"][0]["status"].as_u64()),
        (207, Some(412))
    );

    // Two writers with the same ETags at once: exactly one bulk call commits.
    let payload = body(&[(nvme, &e_nvme, "confirmed_safe")]);
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (base, auth, payload) = (app.url().to_owned(), auth.clone(), payload.clone());
            std::thread::spawn(move || {
                let mut c = Client::new(&base);
                let headers = [
                    ("Authorization", auth.as_str()),
                    ("Content-Type", "application/json"),
                ];
                c.send(
                    "POST",
                    "/api/v1/sites/bulk",
                    &headers,
                    Some(payload.as_bytes()),
                )
                .status
            })
        })
        .collect();
    let mut codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, [200, 207]);
    assert_eq!(status_of(&mut hch, nvme), "confirmed_safe");
    // Done: no longer waiting for hch.
    let mine = hch
        .get("/api/v1/sites?action_required_for=hch@lst.de")
        .json();
    assert!(!mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == nvme));
}
