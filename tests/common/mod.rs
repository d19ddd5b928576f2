//! Helpers for the binary's integration tests: run `treewide`, find Chromium, an HTTP
//! client. The app under test comes from `treewide_testing::spawn_app`.

#![allow(dead_code)]

pub mod cdp;
pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `treewide` binary under test.
pub fn treewide() -> Command {
    Command::new(env!("CARGO_BIN_EXE_treewide"))
}

/// Run `treewide --db DB ARGS…` to completion.
pub fn run(db: &Path, args: &[&str]) -> Output {
    treewide()
        .arg("--db")
        .arg(db)
        .args(args)
        .env("TREEWIDE_LOG", "warn")
        .env("TREEWIDE_ARGON2_MEMORY_KIB", "64")
        .output()
        .expect("run treewide")
}

/// Chromium for a browser test, or `None` (the test skips, saying so) when it is not
/// installed. `./test.sh` installs it and sets `TREEWIDE_REQUIRE_BROWSER`, so CI never skips.
pub fn browser() -> Option<PathBuf> {
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

/// Invite `email` with the CLI: the invite link it prints.
pub fn invite(app: &treewide_testing::TestApp, email: &str) -> String {
    let out = run(
        &app.db_path,
        &["user", "add", "--email", email, "--base-url", app.url()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A Chromium logged in as `email`: invited with the CLI, the invite accepted in the page.
pub fn person(app: &treewide_testing::TestApp, chromium: &Path, email: &str) -> cdp::Browser {
    let link = invite(app, email);
    let mut b = cdp::Browser::launch(chromium);
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

/// Debian's Chromium, if installed.
pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The DOM of `url` after Chromium ran its scripts.
pub fn dump_dom(chromium: &Path, url: &str) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
