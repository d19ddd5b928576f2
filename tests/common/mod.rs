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
