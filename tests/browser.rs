//! The real server on a random port, loaded in headless Chromium.

mod common;

use common::{browser, dump_dom, run};
use treewide_testing::{spawn_app, TestApp};

#[tokio::test]
async fn seed_sites_and_the_nvme_question_show_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;

    let dom = dump_dom(
        &chromium,
        &format!("{}/c/iov-iter-pin/s/nvm-express-target-driver", app.url()),
    );
    assert!(dom.contains("NVM EXPRESS TARGET DRIVER"), "{dom}");
    assert!(dom.contains("drivers/nvme/target/io-cmd-file.c:94"));
    assert!(dom.contains("confirmed by nvme folks"));
    assert!(dom.contains("open question"));

    let dom = dump_dom(
        &chromium,
        &format!(
            "{}/c/iov-iter-pin/s/kernel-nfsd-sunrpc-and-lockd-servers",
            app.url()
        ),
    );
    assert!(dom.contains("net/sunrpc/svcsock.c:263"), "{dom}");
    assert!(dom.contains("net/sunrpc/xprtsock.c:376"));

    let dom = dump_dom(&chromium, &format!("{}/", app.url()));
    assert!(dom.contains("iov_iter_get_pages() users: pin user-backed pages only"));
    assert!(dom.contains("READ/WRITE → ITER_DEST/ITER_SOURCE"));
}

#[tokio::test]
async fn a_script_in_a_note_is_shown_as_text_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = TestApp::empty().await;
    let evil = app.dir().join("evil.json");
    std::fs::write(
        &evil,
        r#"{"format": "treewide-audit/1", "campaign": {"slug": "xss", "title": "XSS check"},
            "sites": [{"file": "fs/x.c", "line": 1, "callee": "iov_iter_bvec", "subsystem": "X",
              "notes": [{"author": "<img src=x onerror=\"document.body.dataset.pwned=1\">",
                         "text": "<script>document.body.dataset.pwned = 2</script>"}]}]}"#,
    )
    .unwrap();
    let out = run(
        &app.db_path,
        &["import", "auditor", "--quiet", evil.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = dump_dom(&chromium, &format!("{}/c/xss/s/x", app.url()));
    assert!(
        dom.contains("document.body.dataset.pwned = 2"),
        "the note text is shown: {dom}"
    );
    assert!(!dom.contains("data-pwned"), "a script ran: {dom}");
    assert!(!dom.contains("<script>"), "{dom}");
}

#[tokio::test]
async fn the_burndown_chart_renders_with_a_size_and_its_colours_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let dom = dump_dom(&chromium, &format!("{}/c/iov-iter-pin", app.url()));
    assert!(dom.contains("<svg class=\"burndown-chart\""), "{dom}");

    // --dump-dom gives no layout, and the page's CSP (rightly) runs no test script. So the
    // page's chart and the served stylesheet go into a local page whose script writes the
    // chart's rendered box and the open line's colour into the DOM.
    let mut client = common::http::Client::new(app.url());
    let page = client.get("/c/iov-iter-pin").body;
    let start = page.find("<figure class=\"burndown\">").expect("a chart");
    let end = start + page[start..].find("</figure>").expect("figure end") + 9;
    let css = client.get("/static/style.css").body;
    let harness = app.dir().join("burndown.html");
    std::fs::write(
        &harness,
        format!(
            "<!DOCTYPE html><html><head><style>{css}</style></head><body><main>{}</main>\
             <script>\
             const r = document.querySelector('svg.burndown-chart').getBoundingClientRect();\
             const line = document.querySelector('path.series.bd-open');\
             document.body.dataset.size = Math.round(r.width) + 'x' + Math.round(r.height);\
             document.body.dataset.line = Math.round(line.getBBox().width) + ' ' + getComputedStyle(line).stroke;\
             </script></body></html>",
            &page[start..end]
        ),
    )
    .unwrap();
    let dom = dump_dom(&chromium, &format!("file://{}", harness.display()));
    let attr = |name: &str| {
        let at = dom
            .find(&format!("data-{name}=\""))
            .unwrap_or_else(|| panic!("no data-{name}: {dom}"))
            + name.len()
            + 7;
        dom[at..at + dom[at..].find('"').unwrap()].to_owned()
    };
    let size = attr("size");
    let (w, h) = size.split_once('x').unwrap();
    let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
    assert!(w >= 300 && h >= 100, "the chart is drawn at {size}");
    // 640×220 drawing scaled to the width: the aspect ratio holds.
    assert!(
        (f64::from(w) / f64::from(h) - 640.0 / 220.0).abs() < 0.1,
        "{size}"
    );
    let line = attr("line");
    let (width, stroke) = line.split_once(' ').unwrap();
    assert!(
        width.parse::<u32>().unwrap() > 100,
        "the open line spans the plot: {line}"
    );
    assert_eq!(
        stroke, "rgb(213, 94, 0)",
        "the open line is the needs-fix vermillion"
    );
}

#[tokio::test]
async fn the_dark_scheme_follows_the_system_and_badges_stay_readable_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let mut b = common::cdp::Browser::launch(&chromium);
    let style = |b: &mut common::cdp::Browser, sel: &str, prop: &str| {
        b.eval(&format!(
            "getComputedStyle(document.querySelector({})).{prop}",
            serde_json::to_string(sel).unwrap()
        ))
        .as_str()
        .unwrap()
        .to_owned()
    };
    let page = format!("{}/c/iov-iter-pin", app.url());
    b.goto(&page);
    assert_eq!(
        style(&mut b, "body", "backgroundColor"),
        "rgb(251, 251, 253)"
    );
    b.color_scheme("dark");
    b.goto(&page);
    assert_eq!(style(&mut b, "body", "backgroundColor"), "rgb(20, 23, 28)");
    assert_eq!(style(&mut b, "body", "color"), "rgb(230, 233, 239)");
    // Badges keep their own text colour on their own background in either scheme.
    let (bg, fg) = (
        style(&mut b, ".badge.st-needs_pin", "backgroundColor"),
        style(&mut b, ".badge.st-needs_pin", "color"),
    );
    assert_eq!(
        (bg.as_str(), fg.as_str()),
        ("rgb(230, 159, 0)", "rgb(0, 0, 0)")
    );
}

#[tokio::test]
async fn pages_fit_a_phone_and_a_wide_screen_without_sideways_scrolling_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let mut b = common::cdp::Browser::launch(&chromium);
    b.goto(&format!(
        "{}/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c",
        app.url()
    ));
    let v: serde_json::Value =
        serde_json::from_str(b.eval("document.body.innerText").as_str().unwrap()).unwrap();
    let site = v["items"][0]["id"].as_i64().unwrap();
    let pages = [
        "/".to_owned(),
        "/c/iov-iter-pin".to_owned(),
        "/c/iov-iter-direction".to_owned(),
        "/c/iov-iter-pin/s/nvm-express-target-driver".to_owned(),
        format!("/c/iov-iter-pin/site/{site}"),
        "/login".to_owned(),
    ];
    for (w, h) in [(360, 740), (390, 844), (1920, 1080)] {
        b.viewport(w, h);
        for p in &pages {
            b.goto(&format!("{}{p}", app.url()));
            let over = b.eval(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth",
            );
            if over.as_i64() != Some(0) {
                let culprit = b.eval(
                    "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(-3).map(e => e.outerHTML.slice(0, 160)).join(' | ')",
                );
                panic!("{p} at {w}px scrolls sideways by {over}px: {culprit}");
            }
        }
        // The campaign table: rows as cards on a phone, every column shown on a wide screen.
        b.goto(&format!("{}/c/iov-iter-pin", app.url()));
        let display =
            b.eval("getComputedStyle(document.querySelector('table.subsystems tbody tr')).display");
        let clipped = b.eval("(() => { const t = document.querySelector('table.subsystems'); return t.scrollWidth - t.parentElement.clientWidth; })()");
        if w < 640 {
            assert_eq!(display, "block", "rows are cards at {w}px");
        } else {
            assert_eq!(display, "table-row");
            assert!(
                clipped.as_i64().unwrap() <= 0,
                "the table is cut by {clipped}px at {w}px"
            );
        }
    }
}

#[tokio::test]
async fn j_and_k_move_between_site_rows_in_chromium() {
    let Some(chromium) = browser() else { return };
    let app = spawn_app().await;
    let mut b = common::cdp::Browser::launch(&chromium);
    b.goto(&format!("{}/c/iov-iter-pin/sites", app.url()));
    let key = |b: &mut common::cdp::Browser, k: &str| {
        b.eval(&format!(
            "document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: '{k}', bubbles: true}})); document.activeElement.textContent"
        ))
        .as_str()
        .unwrap_or_default()
        .to_owned()
    };
    let first = key(&mut b, "j");
    let second = key(&mut b, "j");
    let back = key(&mut b, "k");
    assert!(
        first.contains(".c:"),
        "the first row's link has the focus: {first:?}"
    );
    assert_ne!(first, second);
    assert_eq!(first, back);
}
