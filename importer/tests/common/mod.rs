//! Helpers for the importer's real-tree tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The seed mail's "Haven't done yet:" list (Al Viro, 2022-09-20): the pin audit's seven
/// open sites, as `file:line` of linux-source-6.1.
pub const SEED_HAVEN_T_DONE: [&str; 7] = [
    "drivers/target/target_core_file.c:292",
    "drivers/vhost/vringh.c:1198",
    "fs/afs/dir.c:308",
    "net/ceph/messenger_v1.c:52",
    "net/ceph/messenger_v2.c:236",
    "net/sunrpc/svcsock.c:263",
    "net/sunrpc/xprtsock.c:376",
];

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
