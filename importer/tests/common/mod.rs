//! Helpers for the importer's real-tree tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The kernel tree: `TREEWIDE_LINUX_TREE`, else what `scripts/linux-source.sh` prints.
pub fn linux_tree() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("TREEWIDE_LINUX_TREE") {
        let p = PathBuf::from(p);
        return if p.join("MAINTAINERS").is_file() {
            Ok(p)
        } else {
            Err(format!(
                "TREEWIDE_LINUX_TREE={} has no MAINTAINERS",
                p.display()
            ))
        };
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no repository root")?;
    let out = Command::new(repo.join("scripts/linux-source.sh"))
        .current_dir(repo)
        .output()
        .map_err(|e| format!("scripts/linux-source.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "scripts/linux-source.sh failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// What `get_maintainer.pl --subsystem -f FILE` prints, without the mailing-list lines that
/// `--no-email` leaves on (they end in `(open list:NAME)`, `(moderated list:NAME)`…).
pub fn perl_subsystems(tree: &Path, file: &str) -> Vec<String> {
    let out = Command::new("perl")
        .args([
            "scripts/get_maintainer.pl",
            "--nogit",
            "--nogit-fallback",
            "--subsystem",
            "--no-email",
            "-f",
            file,
        ])
        .current_dir(tree)
        .output()
        .expect("run perl");
    assert!(
        out.status.success(),
        "get_maintainer.pl {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = regex::Regex::new(r" \((open|moderated|subscriber) list(:.*)?\)$").unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !list.is_match(l))
        .map(str::to_owned)
        .collect()
}
