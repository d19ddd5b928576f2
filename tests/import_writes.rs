//! Web writes while a mail import runs (issue 15): an import of the real target-devel epoch
//! (7,273 messages) by the `treewide` binary, and meanwhile notes posted through the page
//! form and the API and logins, against the real server on the same database. Every answer
//! is a success or 503 with Retry-After, never 500 or 403; and writes get through while the
//! import runs (it commits a chunk at a time and leaves the lock to others in between).

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::http::{Client, Res};
use common::{run, treewide};
use treewide_testing::{spawn_app, TestApp};

#[path = "support/epoch.rs"]
mod epoch;
#[path = "support/real_mail.rs"]
mod real_mail;

/// Invite `email` with the CLI and accept in the browser: a logged-in client.
fn person(app: &TestApp, email: &str) -> Client {
    let link = common::invite(app, email);
    let path = link.trim_start_matches(app.url()).to_owned();
    let mut c = Client::new(app.url());
    let csrf = c.get(&path).csrf();
    let r = c.form(
        &path,
        &[
            ("csrf", &csrf),
            ("password", "correct horse 1"),
            ("password2", "correct horse 1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    c
}

/// What the web answered during the import, by kind of write.
#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    unavailable: usize,
}

/// Check one answer: `ok` statuses or 503 with Retry-After; anything else fails the test.
fn tally(t: &mut Tally, what: &str, r: &Res, ok: &[u16]) {
    if ok.contains(&r.status) {
        t.ok += 1;
    } else if r.status == 503 {
        assert!(
            r.header("retry-after").is_some(),
            "{what}: 503 without Retry-After"
        );
        t.unavailable += 1;
    } else {
        panic!("{what} during the import answered {}: {}", r.status, r.body);
    }
}

#[tokio::test]
async fn web_writes_during_a_mail_import_succeed_or_get_503_with_retry_after() {
    let Some(tar) = real_mail::real_mail("public-inbox/target-devel-epoch0.tar") else {
        return;
    };
    let app = spawn_app().await;
    let inbox = epoch::target_devel(&tar, app.dir()).unwrap();
    let mut web = person(&app, "hch@lst.de");
    let token = run(
        &app.db_path,
        &[
            "token",
            "create",
            "--email",
            "hch@lst.de",
            "--scope",
            "notes:write",
        ],
    );
    assert!(token.status.success());
    let auth = format!("Bearer {}", String::from_utf8_lossy(&token.stdout).trim());
    let site = web
        .get("/api/v1/sites?campaign=iov-iter-pin&limit=1")
        .json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    let page = format!("/c/iov-iter-pin/site/{site}");
    let csrf = web.get(&page).csrf();

    let started = Instant::now();
    let mut import = treewide()
        .arg("--db")
        .arg(&app.db_path)
        .args(["import", "mail", "--quiet", "--public-inbox"])
        .arg(&inbox)
        .env("TREEWIDE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut form, mut api, mut login) = (Tally::default(), Tally::default(), Tally::default());
    let mut n = 0;
    let status = loop {
        if let Some(status) = import.try_wait().unwrap() {
            break status;
        }
        n += 1;
        let r = web.form(
            &format!("{page}/notes"),
            &[
                ("csrf", &csrf),
                ("text", &format!("page note {n} during the import")),
            ],
        );
        tally(&mut form, "a note posted with the page form", &r, &[303]);
        let body = format!(r#"{{"text": "API note {n} during the import"}}"#);
        let r = web.send(
            "POST",
            &format!("/api/v1/sites/{site}/notes"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        );
        tally(&mut api, "a note posted through the API", &r, &[201]);
        // An account gets 10 logins before the rate limit (429) answers: stay under it.
        if n <= 8 {
            let mut visitor = Client::new(app.url());
            let csrf = visitor.get("/login").csrf();
            let r = visitor.form(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("email", "hch@lst.de"),
                    ("password", "correct horse 1"),
                ],
            );
            tally(&mut login, "a login", &r, &[303]);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut import.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "the import failed: {err}");
    eprintln!(
        "import of target-devel took {took:.1?}; during it: page notes {form:?}, API notes {api:?}, logins {login:?}"
    );
    // Writes went through while the import ran, not only after it.
    for (what, t) in [
        ("page notes", &form),
        ("API notes", &api),
        ("logins", &login),
    ] {
        assert!(
            t.ok >= 2,
            "{what}: only {} went through during the import",
            t.ok
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(stored > 7_000, "the epoch's messages are stored: {stored}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_answer_pending")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(pending, 0, "the import finished its answers");
}
