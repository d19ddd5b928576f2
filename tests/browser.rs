//! The real server on a random port, loaded in headless Chromium.

mod common;

use common::{chromium, dump_dom, run, Server};

fn browser() -> Option<std::path::PathBuf> {
    let c = chromium();
    if c.is_none() {
        // ./test.sh installs Chromium and sets this, so CI can never skip silently.
        assert!(
            std::env::var_os("TREEWIDE_REQUIRE_BROWSER").is_none(),
            "Chromium is required (apt-get install chromium)"
        );
        eprintln!("SKIPPED: no Chromium at /usr/bin/chromium; ./test.sh installs it");
    }
    c
}

#[test]
fn seed_sites_and_the_nvme_question_show_in_chromium() {
    let Some(chromium) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("t.db"), &[]);

    let dom = dump_dom(
        &chromium,
        &format!("{}/c/iov-iter-pin/s/nvm-express-target-driver", server.url),
    );
    assert!(dom.contains("NVM EXPRESS TARGET DRIVER"), "{dom}");
    assert!(dom.contains("drivers/nvme/target/io-cmd-file.c:94"));
    assert!(dom.contains("confirmed by nvme folks"));
    assert!(dom.contains("open question"));

    let dom = dump_dom(
        &chromium,
        &format!(
            "{}/c/iov-iter-pin/s/kernel-nfsd-sunrpc-and-lockd-servers",
            server.url
        ),
    );
    assert!(dom.contains("net/sunrpc/svcsock.c:263"), "{dom}");
    assert!(dom.contains("net/sunrpc/xprtsock.c:376"));

    let dom = dump_dom(&chromium, &format!("{}/", server.url));
    assert!(dom.contains("iov_iter_get_pages() users: pin user-backed pages only"));
    assert!(dom.contains("READ/WRITE → ITER_DEST/ITER_SOURCE"));
}

#[test]
fn a_script_in_a_note_is_shown_as_text_in_chromium() {
    let Some(chromium) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let evil = dir.path().join("evil.json");
    std::fs::write(
        &evil,
        r#"{"format": "treewide-audit/1", "campaign": {"slug": "xss", "title": "XSS check"},
            "sites": [{"file": "fs/x.c", "line": 1, "callee": "iov_iter_bvec", "subsystem": "X",
              "notes": [{"author": "<img src=x onerror=\"document.body.dataset.pwned=1\">",
                         "text": "<script>document.body.dataset.pwned = 2</script>"}]}]}"#,
    )
    .unwrap();
    let out = run(
        &db,
        &["import", "auditor", "--quiet", evil.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(&db, &["--no-demo"]);
    let dom = dump_dom(&chromium, &format!("{}/c/xss/s/x", server.url));
    assert!(
        dom.contains("document.body.dataset.pwned = 2"),
        "the note text is shown: {dom}"
    );
    assert!(!dom.contains("data-pwned"), "a script ran: {dom}");
    assert!(!dom.contains("<script>"), "{dom}");
}
