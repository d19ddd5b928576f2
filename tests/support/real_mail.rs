//! Where tests and benches find real list mail. Real mail comes from public archives and is
//! never copied into the repository: it is read from `../shared/data/mail` beside the
//! checkout, or from `TREEWIDE_MAIL_DATA`. Without it a test prints `SKIPPED:` with what is
//! missing and passes; `TREEWIDE_REQUIRE_MAIL_DATA=1` (set by `.ci/run`) turns that skip into
//! a failure, so CI cannot pass without the real mail.
//!
//! One file, included with `#[path]` by every crate's tests that read real mail (a dev-only
//! crate would have to depend on the importer that some of them test).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The real-mail folder: `TREEWIDE_MAIL_DATA`, else `../shared/data/mail` from the workspace.
pub fn real_mail_root() -> PathBuf {
    if let Some(p) = std::env::var_os("TREEWIDE_MAIL_DATA") {
        return PathBuf::from(p);
    }
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The workspace root is the folder with Cargo.lock (the root crate or a member's parent).
    while !dir.join("Cargo.lock").exists() {
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
    dir.join("../shared/data/mail")
}

/// `rel` under the real-mail folder, or `None` (after saying so) when it is not there.
/// Panics instead when `TREEWIDE_REQUIRE_MAIL_DATA=1`.
pub fn real_mail(rel: &str) -> Option<PathBuf> {
    let path = real_mail_root().join(rel);
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "real list mail {} is missing (set TREEWIDE_MAIL_DATA to the folder holding threads/ and public-inbox/)",
        path.display()
    );
    if std::env::var("TREEWIDE_REQUIRE_MAIL_DATA").is_ok_and(|v| v == "1") {
        panic!("{why}; TREEWIDE_REQUIRE_MAIL_DATA=1 makes this a failure");
    }
    eprintln!("SKIPPED: {why}");
    None
}
