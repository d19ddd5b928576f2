//! The maintainer workflow in a real headless Chromium, as people click through it: an
//! outsider's confirmation becomes a proposal, the maintainer finds it in "Waits for me",
//! accepts it on the site page and the status says who decided; a claim shows and lapses.

mod common;

use common::cdp::Browser;
use common::{chromium, run};
use treewide_testing::{spawn_app, TestApp};

fn browser() -> Option<std::path::PathBuf> {
    let c = chromium();
    if c.is_none() {
        assert!(
            std::env::var_os("TREEWIDE_REQUIRE_BROWSER").is_none(),
            "Chromium is required (apt-get install chromium)"
        );
        eprintln!("SKIPPED: no Chromium at /usr/bin/chromium; ./test.sh installs it");
    }
    c
}

/// A Chromium logged in as `email`: invited with the CLI, the invite accepted in the page.
fn person(app: &TestApp, chromium: &std::path::Path, email: &str) -> Browser {
    let out = run(
        &app.db_path,
        &["user", "add", "--email", email, "--base-url", app.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let mut b = Browser::launch(chromium);
    b.goto(&link);
    let path = link.trim_start_matches(app.url()).to_owned();
    b.submit(
        &path,
        &[
            ("password", "correct horse 1"),
            ("password2", "correct horse 1"),
        ],
        "Set password and log in",
    );
    assert!(b.html().contains(email), "logged in as {email}");
    b
}

#[tokio::test]
async fn an_outsiders_change_waits_for_the_maintainer_who_accepts_it_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let mut outsider = person(&app, &chromium, "someone@example.org");
    let mut hch = person(&app, &chromium, "hch@lst.de");
    let site = format!(
        "{}/api/v1/sites?file=drivers/nvme/target/io-cmd-file.c",
        app.url()
    );
    let id = {
        let mut b = Browser::launch(&chromium);
        b.goto(&site);
        let text = b.eval("document.body.innerText");
        let v: serde_json::Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
        v["items"][0]["id"].as_i64().unwrap()
    };
    let page = format!("{}/c/iov-iter-pin/site/{id}", app.url());

    // The outsider is offered "Propose": confirming becomes proposal, the status stays.
    outsider.goto(&page);
    let html = outsider.html();
    assert!(html.contains(">Propose<"), "outsiders propose");
    outsider.submit(
        "/status",
        &[
            ("status", "confirmed_safe"),
            ("reason", "sgl_alloc() pages, anonymous"),
        ],
        "Propose",
    );
    assert!(outsider.url().contains("?proposed="), "{}", outsider.url());
    let html = outsider.html();
    assert!(html.contains("Your change is proposal #"));
    assert!(
        html.contains("awaiting owner") || html.contains("Awaiting owner"),
        "unchanged"
    );

    // The maintainer finds it in "Waits for me" and follows it to the site.
    hch.goto(&format!("{}/", app.url()));
    hch.navigate_by("[...document.querySelectorAll('a')].find(a => a.textContent.trim() === 'Waits for me').click()");
    let me = hch.html();
    assert!(me.contains("NVM EXPRESS TARGET DRIVER"), "my subsystem");
    assert!(
        me.contains("sgl_alloc() pages, anonymous"),
        "the proposal waits for me"
    );
    hch.navigate_by("document.querySelector('a[href*=\"#proposals\"]').click()");
    assert!(hch.html().contains(">Accept<"));

    // Accepted: the status moves and says who decided.
    hch.submit("/accept", &[("reason", "yes, nvmet pages")], "Accept");
    let html = hch.html();
    assert!(html.contains("set by hch@lst.de on"), "who decided");
    assert!(html.contains("accepted by hch@lst.de"));
    outsider.goto(&page);
    assert!(outsider.html().contains("st-confirmed_safe"));

    // A claim shows for everyone, and lapses by itself.
    outsider.submit("/claim", &[("days", "2")], "Claim");
    assert!(outsider
        .html()
        .contains("someone@example.org claimed this site until"));
    let db = rusqlite::Connection::open(&app.db_path).unwrap();
    db.execute("UPDATE claims SET expires_at = '2000-01-01T00:00:00Z'", [])
        .unwrap();
    hch.goto(&page);
    assert!(hch.html().contains("Nobody has claimed this site."));
}
