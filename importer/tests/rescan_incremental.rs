//! Incremental re-scans give what a full scan gives: a copy of part of the real 6.1 tree is
//! scanned, files are changed in place, added and deleted, directories added and deleted
//! (then MAINTAINERS, then files whose content matches other `K:` patterns, then the spec),
//! and every stored site, status, subsystem, problem and exclusion after an incremental
//! re-scan equals the result of a full re-scan of the same database and, for the sites still
//! there, a full scan into a fresh database. Skips (`SKIPPED:`) without the kernel tree.

use std::path::{Path, PathBuf};

use common::linux_tree;
use treewide_core::{db, SqlitePool};
use treewide_formats::spec::Spec;
use treewide_importer::scan::{self, ScanCounts};

mod common;

/// The parts of the tree copied: the campaign's busiest directories and their headers.
const PARTS: &[&str] = &[
    "MAINTAINERS",
    "Makefile",
    "lib",
    "fs/afs",
    "fs/ceph",
    "fs/fuse",
    "drivers/vhost",
    "drivers/target",
    "net/ceph",
    "include/linux",
];

fn copy_part(from: &Path, to: &Path, rel: &str) {
    for e in walkdir::WalkDir::new(from.join(rel))
        .into_iter()
        .filter_map(Result::ok)
    {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else if e.file_type().is_file() {
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(e.path(), &dest).unwrap();
            // A copy made just now has an mtime too recent to trust; the real tree's is old.
            let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
            std::fs::File::options()
                .write(true)
                .open(&dest)
                .unwrap()
                .set_modified(day_ago)
                .unwrap();
        }
    }
}

fn spec() -> Spec {
    Spec::load("iov-iter-direction").unwrap()
}

async fn scan_into(db: &SqlitePool, tree: &Path, spec: &Spec, full: bool) -> ScanCounts {
    scan_told(db, tree, spec, full, None).await
}

/// [`scan_into`], told which paths changed.
async fn scan_told(
    db: &SqlitePool,
    tree: &Path,
    spec: &Spec,
    full: bool,
    changed: Option<scan::Changed>,
) -> ScanCounts {
    let req = scan::ScanRequest {
        tree: tree.to_path_buf(),
        spec: spec.clone(),
        campaign: Some("iov-iter-direction".into()),
        describe: None,
        actor: "tester".into(),
        full,
        changed,
    };
    scan::run(db, &req, &()).await.unwrap().counts
}

/// Everything a scan stores of the campaign, as text rows without ids or times; with
/// `live_only` the sites a scan marked gone are left out (a fresh database has none).
async fn state(db: &SqlitePool, live_only: bool) -> Vec<String> {
    let live = if live_only {
        "AND s.status <> 'gone'"
    } else {
        ""
    };
    let queries = [
        format!(
            "SELECT json_array('site', s.identity, s.file, s.line, s.col, s.function, s.callee,
                    s.code, s.iter_kind, s.direction, s.status, s.decided_by, s.reason,
                    sub.name, s.context, s.context_start)
             FROM sites s LEFT JOIN subsystems sub ON sub.id = s.subsystem_id
             WHERE 1 {live} ORDER BY 1"
        ),
        format!(
            "SELECT json_array('subsystem', s.identity, ss.rank, sub.name, ss.depth, ss.matched)
             FROM site_subsystems ss JOIN sites s ON s.id = ss.site_id
             JOIN subsystems sub ON sub.id = ss.subsystem_id WHERE 1 {live} ORDER BY 1"
        ),
        "SELECT json_array('problem', file, reason, sites) FROM scan_problems ORDER BY 1".into(),
        "SELECT json_array('excluded', file, section, matched, excluded_by) FROM scan_exclusions
         ORDER BY 1"
            .into(),
        "SELECT json_array('campaign', slug, scan_files, spec, tree_describe) FROM campaigns ORDER BY 1"
            .into(),
    ];
    let mut out = Vec::new();
    for q in queries {
        out.extend(
            sqlx::query_scalar::<_, String>(&q)
                .fetch_all(db)
                .await
                .unwrap(),
        );
    }
    out
}

/// Compare two states line by line, showing the first differences.
fn assert_same(what: &str, got: &[String], want: &[String]) {
    if got != want {
        let only_got: Vec<_> = got.iter().filter(|r| !want.contains(r)).take(5).collect();
        let only_want: Vec<_> = want.iter().filter(|r| !got.contains(r)).take(5).collect();
        panic!(
            "{what}: {} rows against {}\nonly in the incremental scan: {only_got:#?}\nonly in the full scan: {only_want:#?}",
            got.len(),
            want.len()
        );
    }
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

struct Dbs {
    dir: tempfile::TempDir,
    tree: PathBuf,
    /// Scanned incrementally.
    inc: SqlitePool,
    /// Re-scanned in full.
    full: SqlitePool,
}

impl Dbs {
    /// A fresh database with one full scan of the tree as it is now.
    async fn fresh(&self, name: &str, spec: &Spec) -> SqlitePool {
        let db = db::open(&self.dir.path().join(name)).await.unwrap();
        scan_into(&db, &self.tree, spec, true).await;
        db
    }

    /// Re-scan both ways and check that they agree with each other and with a fresh scan.
    async fn rescan_and_compare(&self, name: &str, spec: &Spec) -> ScanCounts {
        self.rescan_told_and_compare(name, spec, None).await
    }

    /// [`Dbs::rescan_and_compare`], the incremental re-scan told which paths changed.
    async fn rescan_told_and_compare(
        &self,
        name: &str,
        spec: &Spec,
        changed: Option<scan::Changed>,
    ) -> ScanCounts {
        let counts = scan_told(&self.inc, &self.tree, spec, false, changed).await;
        scan_into(&self.full, &self.tree, spec, true).await;
        let (inc, full) = (
            state(&self.inc, false).await,
            state(&self.full, false).await,
        );
        assert_same(&format!("{name}: against a full re-scan"), &inc, &full);
        let fresh = self.fresh(&format!("{name}.db"), spec).await;
        assert_same(
            &format!("{name}: against a fresh full scan"),
            &state(&self.inc, true).await,
            &state(&fresh, true).await,
        );
        counts
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_rescans_store_what_full_scans_store() {
    let real = match linux_tree() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("SKIPPED: no Linux tree ({e})");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("linux");
    for p in PARTS {
        copy_part(&real, &tree, p);
    }
    // Directories changed less than 2 s before a scan are listed again by the next one (their
    // change time may not move again within the clock's granularity): let the copy's age.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let spec = spec();
    let dbs = Dbs {
        inc: db::open(&dir.path().join("inc.db")).await.unwrap(),
        full: db::open(&dir.path().join("full.db")).await.unwrap(),
        tree: tree.clone(),
        dir,
    };
    let first = scan_into(&dbs.inc, &tree, &spec, false).await;
    scan_into(&dbs.full, &tree, &spec, true).await;
    assert_eq!(first.files_read, first.files, "{first:?}");
    assert_eq!(first.files_parsed, first.files_matched, "{first:?}");
    assert!(first.sites > 50, "{first:?}");

    // Nothing changed: nothing read, listed, parsed or routed again.
    let same = scan_into(&dbs.inc, &tree, &spec, false).await;
    assert_eq!(
        (
            same.files_read,
            same.dirs_listed,
            same.files_parsed,
            same.files_routed
        ),
        (0, 0, 0, 0),
        "{same:?}"
    );
    assert_eq!((same.files, same.sites), (first.files, first.sites));

    // A call's direction back to a legacy one, a line added above every call of a file (both
    // written in place: their directories do not change), a new file with calls, a deleted
    // file with calls, a file rewritten as it was.
    edit(&tree.join("fs/afs/dir.c"), |t| {
        t.replacen("ITER_DEST", "READ", 1)
    });
    edit(&tree.join("lib/iov_iter.c"), |t| {
        format!("/* moved */\n{t}")
    });
    std::fs::write(
        tree.join("drivers/vhost/incremental.c"),
        "// SPDX-License-Identifier: GPL-2.0\n#include <linux/uio.h>\n\n\
         static void f(struct iov_iter *i, struct kvec *kv, size_t n)\n{\n\
         \tiov_iter_kvec(i, READ, kv, 1, n);\n\tiov_iter_kvec(i, ITER_SOURCE, kv, 1, n);\n}\n",
    )
    .unwrap();
    std::fs::remove_file(tree.join("net/ceph/messenger_v1.c")).unwrap();
    edit(&tree.join("fs/ceph/file.c"), |t| t);
    let changed = dbs.rescan_and_compare("files changed", &spec).await;
    // dir.c, iov_iter.c and the new file; file.c's content is the same.
    assert_eq!(changed.files_parsed, 3, "{changed:?}");
    // Only the files whose size or mtime changed were read.
    assert_eq!(changed.files_read, 4, "{changed:?}");
    // Only the directories whose entries changed were listed: drivers/vhost and net/ceph.
    assert_eq!(changed.dirs_listed, 2, "{changed:?}");

    // A new directory with calls, a directory deleted with its calls.
    std::fs::create_dir(tree.join("drivers/vhost/incremental")).unwrap();
    std::fs::write(
        tree.join("drivers/vhost/incremental/deeper.c"),
        "static void g(struct iov_iter *i, struct kvec *kv)\n{\n\
         \tiov_iter_kvec(i, WRITE, kv, 1, 1);\n}\n",
    )
    .unwrap();
    std::fs::remove_dir_all(tree.join("fs/ceph")).unwrap();
    let dirs = dbs.rescan_and_compare("directories changed", &spec).await;
    assert_eq!(dirs.files_parsed, 1, "{dirs:?}");
    // drivers/vhost, its new subdirectory and fs; and net/ceph, changed just before the last
    // scan (too recent then to trust).
    assert_eq!(dirs.dirs_listed, 4, "{dirs:?}");

    // MAINTAINERS changes: every site file routed again, nothing parsed.
    edit(&tree.join("MAINTAINERS"), |t| {
        t.replacen(
            "\nTHE REST\n",
            "\nZZ INCREMENTAL TEST\nM:\tTester <t@example.org>\nS:\tMaintained\nF:\tfs/afs/\nX:\tfs/afs/file.c\nK:\tzz_incremental_keyword\n\nTHE REST\n",
            1,
        )
    });
    let routed = dbs.rescan_and_compare("MAINTAINERS changed", &spec).await;
    assert_eq!(routed.files_parsed, 0, "{routed:?}");
    assert!(routed.files_routed > 10, "{routed:?}");

    // A site file changed, its content matching the same K: patterns: parsed, not routed
    // again. Then its content matches one more K: pattern (the section above): routed again,
    // the new section among its subsystems. Then it no longer does.
    edit(&tree.join("lib/iov_iter.c"), |t| {
        format!("/* moved again */\n{t}")
    });
    let same_keywords = dbs.rescan_and_compare("same K: patterns", &spec).await;
    assert_eq!(
        (same_keywords.files_parsed, same_keywords.files_routed),
        (1, 0),
        "{same_keywords:?}"
    );
    edit(&tree.join("lib/iov_iter.c"), |t| {
        format!("/* zz_incremental_keyword */\n{t}")
    });
    let keyword = dbs.rescan_and_compare("one more K: pattern", &spec).await;
    assert_eq!(
        (keyword.files_parsed, keyword.files_routed),
        (1, 1),
        "{keyword:?}"
    );
    let zz: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM site_subsystems ss JOIN sites s ON s.id = ss.site_id
         JOIN subsystems sub ON sub.id = ss.subsystem_id
         WHERE s.file = 'lib/iov_iter.c' AND sub.name = 'ZZ INCREMENTAL TEST'",
    )
    .fetch_one(&dbs.inc)
    .await
    .unwrap();
    assert!(zz > 0, "lib/iov_iter.c's sites are in the K: section");
    edit(&tree.join("lib/iov_iter.c"), |t| {
        t.replacen("/* zz_incremental_keyword */\n", "", 1)
    });
    let fewer = dbs.rescan_and_compare("one K: pattern fewer", &spec).await;
    assert_eq!(
        (fewer.files_parsed, fewer.files_routed),
        (1, 1),
        "{fewer:?}"
    );

    // Another spec: everything parsed again.
    let mut other = spec.clone();
    other
        .text
        .push_str("\n# the same calls, another spec text\n");
    let reparsed = dbs.rescan_and_compare("spec changed", &other).await;
    assert_eq!(
        reparsed.files_parsed, reparsed.files_matched,
        "{reparsed:?}"
    );

    // Told what changed (a file watcher, a hook's list): only those paths are stat-ed, only
    // their directories listed, and the result is still a full scan's. First let every
    // stored mtime age past the racy window, so nothing else needs a look.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let settled = scan_into(&dbs.inc, &tree, &other, false).await;
    assert_eq!(settled.files_parsed, 0, "{settled:?}");
    edit(&tree.join("lib/iov_iter.c"), |t| format!("/* told */\n{t}"));
    std::fs::write(
        tree.join("drivers/vhost/told.c"),
        "static void h(struct iov_iter *i, struct kvec *kv)\n{\n\
         \tiov_iter_kvec(i, READ, kv, 1, 1);\n}\n",
    )
    .unwrap();
    std::fs::remove_file(tree.join("drivers/vhost/incremental.c")).unwrap();
    let told = scan::Changed::new(
        &tree,
        [
            tree.join("lib/iov_iter.c"),
            "drivers/vhost/told.c".into(),
            "./drivers/vhost/incremental.c".into(),
        ],
    )
    .unwrap();
    let hinted = dbs
        .rescan_told_and_compare("told what changed", &other, Some(told))
        .await;
    assert_eq!(
        (
            hinted.files_checked,
            hinted.files_read,
            hinted.files_parsed,
            hinted.dirs_listed
        ),
        (2, 2, 2, 1),
        "iov_iter.c and told.c stat-ed, read and parsed; drivers/vhost listed: {hinted:?}"
    );
    assert_eq!(hinted.files, reparsed.files, "{hinted:?}");

    // A new directory named, and nothing else: its files are found.
    std::fs::create_dir(tree.join("fs/told")).unwrap();
    std::fs::write(
        tree.join("fs/told/a.c"),
        "static void k(struct iov_iter *i, struct kvec *kv)\n{\n\
         \tiov_iter_kvec(i, WRITE, kv, 1, 1);\n}\n",
    )
    .unwrap();
    let dir_told = scan::Changed::new(&tree, ["fs/told"]).unwrap();
    let new_dir = dbs
        .rescan_told_and_compare("told of a new directory", &other, Some(dir_told))
        .await;
    assert_eq!(new_dir.files_parsed, 1, "{new_dir:?}");

    // A directory deleted, and only its files named (as `git diff --name-only` names them).
    let files: Vec<String> = std::fs::read_dir(tree.join("net/ceph"))
        .unwrap()
        .map(|e| format!("net/ceph/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    std::fs::remove_dir_all(tree.join("net/ceph")).unwrap();
    let files_told = scan::Changed::new(&tree, &files).unwrap();
    let gone = dbs
        .rescan_told_and_compare(
            "told of a deleted directory's files",
            &other,
            Some(files_told),
        )
        .await;
    assert!(gone.files < new_dir.files, "{gone:?}");
}
