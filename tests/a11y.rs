//! Accessibility in a real headless Chromium: axe-core (the npm package, installed by
//! `./test.sh` into `tests/axe/`) reports no serious or critical violation on any page kind
//! (home, campaign, subsystem, site, site list, search, file, login, queue), in the light and
//! the dark scheme, at a desktop and a phone width; no page scrolls sideways; and the search
//! finds a site by its function's name and by a word of a note on it.

mod common;

use std::path::Path;

use common::cdp::Browser;
use common::{browser, person};
use treewide_testing::spawn_app;

/// Where `npm ci --prefix tests/axe` puts axe-core.
const AXE: &str = "tests/axe/node_modules/axe-core/axe.min.js";

/// axe-core's source, or `None` (the test skips, saying so) when it is not installed and the
/// run does not require it.
fn axe() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(AXE);
    match std::fs::read_to_string(&path) {
        Ok(js) => Some(js),
        Err(e) => {
            assert!(
                std::env::var_os("TREEWIDE_REQUIRE_BROWSER").is_none(),
                "{}: {e}; ./test.sh installs axe-core (npm ci --prefix tests/axe)",
                path.display()
            );
            eprintln!("SKIPPED: no axe-core at {AXE}; ./test.sh installs it");
            None
        }
    }
}

/// The serious and critical violations axe finds on the page `b` shows, one line each.
fn violations(b: &mut Browser, axe: &str) -> Vec<String> {
    if b.eval("typeof axe").as_str() != Some("object") {
        b.eval(axe);
    }
    let found = b.eval(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.impact} ${v.id} (${v.help}): ` + v.nodes.slice(0, 4)
                .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' '))
                .join(' | ')))",
    );
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// How far the page scrolls sideways (0 when it fits).
fn overflow(b: &mut Browser) -> i64 {
    b.eval("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        .as_i64()
        .unwrap_or(i64::MAX)
}

#[tokio::test]
async fn every_page_kind_passes_axe_light_and_dark_at_desktop_and_phone_widths_in_chromium() {
    let Some(chromium) = browser() else { return };
    let Some(axe) = axe() else { return };
    let app = spawn_app().await;
    let site = app
        .get("/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c")
        .await
        .json()["items"][0]["id"]
        .as_i64()
        .expect("a demo site in io-cmd-file.c");
    // Pages as a maintainer sees them (forms on the site page, the queue) and the login page
    // as someone not logged in.
    let mut maintainer = person(&app, &chromium, "hch@lst.de");
    let mut visitor = Browser::launch(&chromium);
    let pages: Vec<(bool, String)> = [
        "/",
        "/c/iov-iter-pin",
        "/c/iov-iter-direction",
        "/c/iov-iter-pin/s/nvm-express-target-driver",
        &format!("/c/iov-iter-pin/site/{site}"),
        "/c/iov-iter-pin/sites",
        "/c/iov-iter-pin/sites?q=nvmet_file&status=confirmed_safe",
        "/c/iov-iter-pin/f/drivers/nvme/target/io-cmd-file.c",
        "/me",
    ]
    .into_iter()
    .map(|p| (true, p.to_owned()))
    .chain([(false, "/login".to_owned())])
    .collect();
    let mut failures = Vec::new();
    for scheme in ["light", "dark"] {
        for (w, h) in [(1400, 900), (390, 844)] {
            for (logged_in, page) in &pages {
                let b = if *logged_in {
                    &mut maintainer
                } else {
                    &mut visitor
                };
                b.color_scheme(scheme);
                b.viewport(w, h);
                b.goto(&format!("{}{page}", app.url()));
                for v in violations(b, &axe) {
                    failures.push(format!("{page} ({scheme}, {w}px): {v}"));
                }
                let over = overflow(b);
                if over != 0 {
                    failures.push(format!(
                        "{page} ({scheme}, {w}px) scrolls sideways by {over}px"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_search_box_finds_a_site_by_function_and_by_a_word_of_a_note_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let mut b = Browser::launch(&chromium);
    b.goto(&format!("{}/c/iov-iter-pin/sites", app.url()));
    // Typed into the page's own search box and submitted, as a person would.
    for (words, wanted) in [
        (
            "nvmet_file_submit_bvec",
            "drivers/nvme/target/io-cmd-file.c:94",
        ),
        ("presumably", "drivers/nvme/target/io-cmd-file.c:94"),
    ] {
        b.navigate_by(&format!(
            "(() => {{ const q = document.querySelector('input[name=q]'); q.value = {}; q.form.submit(); }})()",
            serde_json::to_string(words).unwrap()
        ));
        let text = b.eval("document.querySelector('main').innerText");
        let text = text.as_str().unwrap_or_default();
        assert!(text.contains(wanted), "{words}: {text}");
    }
}
