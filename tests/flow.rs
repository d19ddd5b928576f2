//! The maintainer workflow in a real headless Chromium, as people click through it: an
//! outsider's confirmation becomes a proposal, the maintainer finds it in "Waits for me",
//! accepts it on the site page and the status says who decided; a claim shows and lapses.

mod common;

use common::cdp::Browser;
use common::{browser, person};
use treewide_testing::spawn_app;

#[tokio::test]
async fn an_outsiders_change_waits_for_the_maintainer_who_accepts_it_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let mut outsider = person(&app, &chromium, "someone@example.org");
    let mut hch = person(&app, &chromium, "hch@lst.de");
    let site = format!(
        "{}/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c",
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
