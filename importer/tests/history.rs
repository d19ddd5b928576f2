//! `treewide import git` on real repositories built with git in the test: real kernel files
//! (the committed excerpt tree, and real directories of linux-source-6.1 when it can be had),
//! a "before" commit with legacy READ/WRITE arguments, fix commits with `[subsys]` subjects,
//! line drift, a rename, a removed call, a stable backport on a branch, and incremental runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use treewide_core::history::{self, SiteCommit};
use treewide_core::model::{CommitRole, EventSource, Status};
use treewide_core::{campaigns, db, ingest, sites, SqlitePool};
use treewide_formats::spec::Spec;
use treewide_importer::history::{git, import_git, GitImport, Report};
use treewide_importer::scan;

const EXCERPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tree");

/// A git repository driven by the `git` command, with fixed identities and dates.
struct Repo {
    dir: PathBuf,
    /// Commit dates advance one day per commit from 2022-09-01.
    day: u32,
}

impl Repo {
    fn init(dir: &Path) -> Repo {
        std::fs::create_dir_all(dir).unwrap();
        let r = Repo {
            dir: dir.to_owned(),
            day: 0,
        };
        r.git(&["init", "-q", "-b", "master"]);
        r
    }

    fn git(&self, args: &[&str]) -> String {
        let date = format!("2022-09-{:02}T12:00:00Z", 1 + self.day % 28);
        let out = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_AUTHOR_NAME", "Al Viro")
            .env("GIT_AUTHOR_EMAIL", "viro@zeniv.linux.org.uk")
            .env("GIT_COMMITTER_NAME", "Al Viro")
            .env("GIT_COMMITTER_EMAIL", "viro@zeniv.linux.org.uk")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn write(&self, file: &str, text: &str) {
        let p = self.path(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn edit(&self, file: &str, f: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(self.path(file)).unwrap();
        self.write(file, &f(text));
    }

    /// Commit everything; returns the new commit's id.
    fn commit(&mut self, message: &str) -> String {
        self.day += 1;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// The legacy spelling a campaign fixes.
fn legacy(text: &str) -> String {
    text.replace("ITER_DEST", "READ")
        .replace("ITER_SOURCE", "WRITE")
}

async fn database(dir: &Path) -> SqlitePool {
    db::open(&dir.join("t.db")).await.unwrap()
}

/// Scan the repository's work tree (as it is now) into the campaign.
async fn scan_worktree(db: &SqlitePool, tree: &Path) {
    scan_worktree_named(db, tree, None).await
}

/// Like [`scan_worktree`], naming the tree as `treewide scan` does from its Makefile.
async fn scan_worktree_named(db: &SqlitePool, tree: &Path, describe: Option<&str>) {
    let spec = Spec::load("iov-iter-direction").unwrap();
    let result = scan::scan_tree(tree, &spec, &|_| {}).unwrap();
    let specs = scan::to_site_specs(&result, &spec, &|_| Vec::new());
    let origin = ingest::Origin {
        source: EventSource::Scan,
        name: "scan of the legacy tree".into(),
        sha256: String::new(),
        actor: "tester".into(),
    };
    let batch = scan::to_batch(&result, &spec, describe, specs, None, Vec::new(), origin);
    ingest::store(db, &batch).await.unwrap();
}

async fn import(db: &SqlitePool, repo: &Path, options: git::Options) -> anyhow::Result<Report> {
    let job = GitImport {
        repo: repo.to_owned(),
        campaign: "iov-iter-direction".into(),
        spec: None,
        options,
        actor: "tester".into(),
    };
    import_git(db, &job, &|_, _| {}).await
}

async fn all_sites(db: &SqlitePool) -> Vec<sites::Site> {
    let c = campaigns::meta(db, "iov-iter-direction").await.unwrap();
    sites::all_in(db, c.id).await.unwrap()
}

fn find<'a>(all: &'a [sites::Site], callee_and_arg: &str) -> &'a sites::Site {
    all.iter()
        .find(|s| s.code.replace(' ', "").contains(callee_and_arg))
        .unwrap_or_else(|| panic!("no site with {callee_and_arg:?} in {all:#?}"))
}

fn role(commits: &[SiteCommit], role: CommitRole) -> Vec<&SiteCommit> {
    commits.iter().filter(|c| c.role == role).collect()
}

#[tokio::test]
async fn history_finds_fixes_drift_renames_removals_and_backports() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let vringh = std::fs::read_to_string(format!("{EXCERPT}/drivers/vhost/vringh.c")).unwrap();
    let afs = std::fs::read_to_string(format!("{EXCERPT}/fs/afs/dir.c")).unwrap();
    // The second vringh call has its direction on a continuation line, so its fix changes
    // only that line: the callee's name is not in the diff.
    let wrapped = |text: &str, dir: &str| {
        text.replace(
            "iov_iter_bvec(&iter, ITER_DEST, iov, ret, translated);",
            &format!("iov_iter_bvec(&iter,\n\t\t\t      {dir}, iov, ret, translated);"),
        )
    };
    repo.write("drivers/vhost/vringh.c", &legacy(&wrapped(&vringh, "READ")));
    repo.write("fs/afs/dir.c", &legacy(&afs));
    repo.write("README", "Linux kernel\n");
    let before = repo.commit("Import a tree with legacy iov_iter directions");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    let legacy_sites = all_sites(&db).await;
    assert_eq!(legacy_sites.len(), 3, "{legacy_sites:#?}");
    assert!(legacy_sites.iter().all(|s| s.status == Status::NeedsFix));
    let afs_line = find(&legacy_sites, "iov_iter_xarray(").line;

    repo.write("drivers/vhost/vringh.c", &wrapped(&vringh, "ITER_DEST"));
    let fix = repo.commit("[vhost] fix 'direction' argument of iov_iter_{init,bvec}()");
    repo.edit("fs/afs/dir.c", |t| {
        let (head, tail) = t.split_at(t.find("/*\n * Read the directory").unwrap());
        format!(
            "{head}{}{tail}",
            "/* afs: explain the directory read */\n".repeat(15)
        )
    });
    repo.commit("afs: comment the directory reading code");
    repo.git(&["mv", "fs/afs/dir.c", "fs/afs/directory.c"]);
    let rename = repo.commit("afs: rename dir.c to directory.c");
    repo.write("fs/afs/directory.c", &afs_with_comments(&afs));
    let afs_fix = repo.commit("afs: use ITER_DEST for the directory iterator");
    repo.edit("drivers/vhost/vringh.c", |t| {
        t.replace(
            "\t\tiov_iter_bvec(&iter, ITER_SOURCE, iov, ret, translated);\n",
            "",
        )
    });
    let removal = repo.commit("vringh: drop the bounce copy iterator");
    // A stable branch from before the fix, with the fix backported.
    repo.git(&["checkout", "-q", "-b", "linux-6.1.y", &before]);
    repo.write("drivers/vhost/vringh.c", &wrapped(&vringh, "ITER_DEST"));
    let backport = repo.commit(&format!(
        "vhost: fix 'direction' argument of iov_iter_{{init,bvec}}()\n\ncommit {fix} upstream.\n\nSigned-off-by: Greg Kroah-Hartman <gregkh@linuxfoundation.org>"
    ));
    repo.git(&["checkout", "-q", "master"]);
    let head = repo.git(&["rev-parse", "HEAD"]);

    let report = import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(report.stats.commits, 7, "{report:#?}");
    assert_eq!(report.stats.renames, 1);
    assert!(report.unexplained.is_empty(), "{:?}", report.unexplained);
    let s = &report.summary;
    assert_eq!((s.fixed.len(), s.gone.len()), (2, 1), "{s:#?}");

    let now = all_sites(&db).await;
    assert_eq!(now.len(), 3);
    // The wrapped call: fixed in mainline by the [vhost] commit, backported on the stable branch.
    let dest = find(&now, "iov_iter_bvec(&iter,ITER_DEST");
    assert_eq!(dest.status, Status::Fixed);
    assert!(dest.reason.contains(&fix[..12]), "{}", dest.reason);
    let commits = history::for_site(&db, dest.id).await.unwrap();
    let fixes = role(&commits, CommitRole::Fix);
    assert_eq!(fixes.len(), 1, "{commits:#?}");
    assert_eq!(fixes[0].commit.oid, fix);
    assert_eq!(fixes[0].commit.subject_tag.as_deref(), Some("vhost"));
    assert_eq!(fixes[0].commit.author_email, "viro@zeniv.linux.org.uk");
    assert_eq!(fixes[0].commit.branch.as_deref(), Some("master"));
    assert_eq!(fixes[0].backports.len(), 1);
    assert_eq!(fixes[0].backports[0].oid, backport);
    assert_eq!(fixes[0].backports[0].branch.as_deref(), Some("linux-6.1.y"));
    assert_eq!(
        fixes[0].backports[0].upstream_oid.as_deref(),
        Some(fix.as_str())
    );

    // The other vringh call was fixed, then removed: gone with the removing commit.
    let source = legacy_sites
        .iter()
        .find(|s| s.code.contains("WRITE"))
        .unwrap();
    let source = now.iter().find(|s| s.id == source.id).unwrap();
    assert_eq!(source.status, Status::Gone);
    let commits = history::for_site(&db, source.id).await.unwrap();
    assert_eq!(role(&commits, CommitRole::Gone)[0].commit.oid, removal);
    assert_eq!(role(&commits, CommitRole::Fix)[0].commit.oid, fix);

    // The afs call drifted 15 lines, moved with its file and was fixed there.
    let afs_site = find(&now, "iov_iter_xarray(");
    assert_eq!(afs_site.file, "fs/afs/directory.c");
    assert_eq!(afs_site.line, afs_line + 15);
    assert_eq!(afs_site.status, Status::Fixed);
    assert!(afs_site.code.contains("ITER_DEST"), "{}", afs_site.code);
    let commits = history::for_site(&db, afs_site.id).await.unwrap();
    assert_eq!(role(&commits, CommitRole::Fix)[0].commit.oid, afs_fix);
    assert_eq!(role(&commits, CommitRole::Move)[0].commit.oid, rename);
    let c = campaigns::meta(&db, "iov-iter-direction").await.unwrap();
    assert_eq!(c.tree_commit.as_deref(), Some(head.as_str()));
    // No tag is reachable from the tip: the tree is named by branch and commit, and links
    // go to no release (a commit of one's own is no tag elixir serves).
    let describe = c.tree_describe.clone().unwrap_or_default();
    assert!(describe.contains(&head[..12]), "{describe}");
    assert_eq!(c.version_tag(), None);

    // Nothing new: nothing read, nothing written.
    let again = import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(again.stats.commits, 0);
    assert!(again.summary.is_noop(), "{:#?}", again.summary);

    // Only the new commit is read; an unrelated commit links nothing but moves the cursor.
    repo.write("README", "Linux kernel, with history\n");
    repo.commit("README: mention history");
    let third = import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(third.stats.commits, 1);
    assert_eq!(third.stats.file_changes, 0);
    assert_eq!(third.summary.links_new, 0);
    assert_eq!(all_sites(&db).await.len(), 3);
}

/// The afs excerpt with the comments the drift commit added and ITER_DEST restored.
fn afs_with_comments(afs: &str) -> String {
    let (head, tail) = afs.split_at(afs.find("/*\n * Read the directory").unwrap());
    format!(
        "{head}{}{tail}",
        "/* afs: explain the directory read */\n".repeat(15)
    )
}

#[tokio::test]
async fn ranges_and_bad_input_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let vringh = std::fs::read_to_string(format!("{EXCERPT}/drivers/vhost/vringh.c")).unwrap();
    repo.write("drivers/vhost/vringh.c", &legacy(&vringh));
    let before = repo.commit("legacy");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    repo.write("drivers/vhost/vringh.c", &vringh);
    let fix = repo.commit("vhost: fix directions");
    repo.git(&["tag", "v6.1"]);

    let e = import(&db, &dir.path().join("nowhere"), git::Options::default())
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("nowhere"), "{e:#}");
    let bad = git::Options {
        range: Some("v5.0..v6.1".into()),
        ..Default::default()
    };
    let e = import(&db, &repo.dir, bad).await.unwrap_err();
    assert!(
        format!("{e:#}").contains("no commit, branch or tag named \"v5.0\""),
        "{e:#}"
    );
    let e = import(
        &db,
        &repo.dir,
        git::Options {
            range: Some("v6.1".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(format!("{e:#}").contains("expected A..B"), "{e:#}");
    // A failed import stored nothing.
    assert!(all_sites(&db)
        .await
        .iter()
        .all(|s| s.status == Status::NeedsFix));

    // Abbreviated ids and relative revisions resolve like git's.
    let short = git::Options {
        range: Some(format!("{}..v6.1~1", &before[..10])),
        ..Default::default()
    };
    let r = import(&db, &repo.dir, short).await.unwrap();
    assert_eq!(r.stats.commits, 0);
    let range = git::Options {
        range: Some(format!("{before}..v6.1")),
        ..Default::default()
    };
    let r = import(&db, &repo.dir, range).await.unwrap();
    assert_eq!(r.stats.commits, 1);
    assert_eq!(r.summary.fixed.len(), 2);
    let all = all_sites(&db).await;
    for s in &all {
        let commits = history::for_site(&db, s.id).await.unwrap();
        assert_eq!(role(&commits, CommitRole::Fix)[0].commit.oid, fix);
        assert_eq!(
            role(&commits, CommitRole::Fix)[0].commit.branch.as_deref(),
            Some("v6.1")
        );
    }
}

/// Real directories of linux-source-6.1: every vhost call is found fixed by the one [vhost]
/// commit, the target one by the [target] commit, and calls whose direction is an expression
/// are left alone.
#[tokio::test]
async fn real_kernel_directories() {
    let tree = match common::linux_tree() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("SKIPPED: real_kernel_directories: no kernel tree ({e})");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let files = [
        "drivers/vhost/vhost.c",
        "drivers/vhost/scsi.c",
        "drivers/vhost/net.c",
        "drivers/target/target_core_file.c",
    ];
    let real = |f: &str| std::fs::read_to_string(tree.join(f)).unwrap();
    for f in files {
        repo.write(f, &legacy(&real(f)));
    }
    repo.commit("legacy tree");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    for f in &files[..3] {
        repo.write(f, &real(f));
    }
    let vhost = repo.commit("[vhost] fix 'direction' argument of iov_iter_{init,bvec}()");
    repo.write(files[3], &real(files[3]));
    let target = repo.commit("[target] fix iov_iter_bvec() \"direction\" argument");

    let r = import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(r.stats.commits, 3);
    let all = all_sites(&db).await;
    let mut by_commit = std::collections::BTreeMap::<String, usize>::new();
    for s in &all {
        for c in history::for_site(&db, s.id).await.unwrap() {
            if c.role == CommitRole::Fix {
                *by_commit.entry(c.commit.oid).or_default() += 1;
            }
        }
    }
    let vhost_sites = all
        .iter()
        .filter(|s| s.file.starts_with("drivers/vhost/"))
        .count();
    assert!(vhost_sites >= 10, "{all:#?}");
    assert_eq!(by_commit.get(&vhost), Some(&vhost_sites));
    assert_eq!(by_commit.get(&target), Some(&1));
    for s in &all {
        let fixed = s.code.contains("ITER_DEST") || s.code.contains("ITER_SOURCE");
        assert_eq!(s.status == Status::Fixed, fixed, "{s:#?}");
    }
}

/// A fix made on a topic branch and merged: the fix is the topic's commit, not the merge.
#[tokio::test]
async fn merged_fixes_are_the_side_branch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let vringh = std::fs::read_to_string(format!("{EXCERPT}/drivers/vhost/vringh.c")).unwrap();
    repo.write("drivers/vhost/vringh.c", &legacy(&vringh));
    repo.write("README", "Linux\n");
    repo.commit("legacy");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    repo.git(&["checkout", "-q", "-b", "vhost-fixes"]);
    repo.write("drivers/vhost/vringh.c", &vringh);
    let fix = repo.commit("vhost: fix 'direction' argument of iov_iter_{init,bvec}()");
    repo.git(&["checkout", "-q", "master"]);
    repo.write("README", "Linux, meanwhile\n");
    repo.commit("README: meanwhile");
    repo.day += 1;
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge branch 'vhost-fixes'",
        "vhost-fixes",
    ]);
    repo.git(&["branch", "-D", "vhost-fixes"]);

    let r = import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(r.stats.commits, 4);
    assert_eq!(r.summary.fixed.len(), 2);
    for s in all_sites(&db).await {
        let commits = history::for_site(&db, s.id).await.unwrap();
        assert_eq!(commits.len(), 1, "{commits:#?}");
        assert_eq!(commits[0].commit.oid, fix);
        assert_eq!(commits[0].commit.branch.as_deref(), Some("master"));
    }
}

#[tokio::test]
async fn an_incremental_import_reopens_a_fixed_site_that_a_revert_turned_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let fixed = "static int xen_read(struct iov_iter *iter, struct kvec *v)\n{\n\
                 \tiov_iter_kvec(iter, ITER_DEST, v, 1, 8);\n\treturn 0;\n}\n";
    repo.write("drivers/xen/pvcalls.c", &legacy(fixed));
    repo.commit("xen: add pvcalls reader");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(
        find(&all_sites(&db).await, "iov_iter_kvec(").status,
        Status::NeedsFix
    );

    repo.write("drivers/xen/pvcalls.c", fixed);
    repo.commit("[xen] fix \"direction\" argument of iov_iter_kvec()");
    import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(
        find(&all_sites(&db).await, "iov_iter_kvec(").status,
        Status::Fixed
    );

    repo.write("drivers/xen/pvcalls.c", &legacy(fixed));
    let revert = repo.commit("Revert \"[xen] fix \"direction\" argument of iov_iter_kvec()\"");
    let r = import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    assert_eq!(r.summary.reopened.len(), 1, "{:?}", r.summary);
    let site = find(&all_sites(&db).await, "iov_iter_kvec(").clone();
    assert_eq!(site.status, Status::NeedsFix);
    assert!(site.reason.starts_with("reverted by"), "{}", site.reason);
    assert!(site.reason.contains(&revert[..12]), "{}", site.reason);
}

#[tokio::test]
async fn a_fix_walks_from_a_maintainer_branch_to_mainline_to_stable() {
    use treewide_core::stages::{self, Stage};
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let vringh = std::fs::read_to_string(format!("{EXCERPT}/drivers/vhost/vringh.c")).unwrap();
    repo.write("drivers/vhost/vringh.c", &legacy(&vringh));
    let before = repo.commit("legacy");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    let stage_of_sites = |db: SqlitePool| async move {
        let mut out = Vec::new();
        for s in all_sites(&db).await {
            let commits = history::for_site(&db, s.id).await.unwrap();
            out.push(stages::current(&stages::steps(&[], &commits)));
        }
        out
    };

    // The fix on the maintainer's branch, read from there: in a maintainer tree.
    repo.git(&["checkout", "-q", "-b", "vhost-for-linus"]);
    repo.write("drivers/vhost/vringh.c", &vringh);
    let fix = repo.commit("vhost: fix 'direction' argument of iov_iter_{init,bvec}()");
    let branch = |b: &str| git::Options {
        range: None,
        branches: vec![b.into()],
    };
    import(&db, &repo.dir, branch("vhost-for-linus"))
        .await
        .unwrap();
    assert_eq!(stage_of_sites(db.clone()).await, [Some(Stage::Applied); 2]);

    // Merged into mainline and read from there: in mainline.
    repo.git(&["checkout", "-q", "master"]);
    repo.day += 1;
    repo.git(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge tag 'for-linus'",
        "vhost-for-linus",
    ]);
    import(&db, &repo.dir, branch("master")).await.unwrap();
    assert_eq!(stage_of_sites(db.clone()).await, [Some(Stage::Mainline); 2]);

    // Backported to a stable branch: in stable; the campaign counts it there.
    repo.git(&["checkout", "-q", "-b", "linux-6.0.y", &before]);
    repo.write("drivers/vhost/vringh.c", &vringh);
    repo.commit(&format!(
        "vhost: fix 'direction' argument of iov_iter_{{init,bvec}}()\n\ncommit {fix} upstream."
    ));
    import(&db, &repo.dir, branch("linux-6.0.y")).await.unwrap();
    assert_eq!(stage_of_sites(db.clone()).await, [Some(Stage::Stable); 2]);
    let c = campaigns::meta(&db, "iov-iter-direction").await.unwrap();
    assert_eq!(stages::counts(&db, c.id).await.unwrap(), [0, 0, 0, 0, 2]);
}

#[tokio::test]
async fn links_name_the_tag_only_for_files_the_tag_has_as_they_are() {
    use treewide_core::tree_links::{self, FileAtTag};
    let dir = tempfile::tempdir().unwrap();
    let mut repo = Repo::init(&dir.path().join("linux"));
    let vringh = std::fs::read_to_string(format!("{EXCERPT}/drivers/vhost/vringh.c")).unwrap();
    let afs = std::fs::read_to_string(format!("{EXCERPT}/fs/afs/dir.c")).unwrap();
    repo.write("drivers/vhost/vringh.c", &vringh);
    repo.write("README", "Linux kernel\n");
    repo.commit("Linux 6.1");
    repo.git(&["tag", "v6.1"]);
    // After the tag: a file the tag does not have, and one that is unchanged.
    repo.write("fs/afs/dir.c", &afs);
    repo.commit("afs: add directory code");
    let db = database(dir.path()).await;
    scan_worktree(&db, &repo.dir).await;
    // The positions move (a comment above every call), so they become the tip's.
    repo.edit("fs/afs/dir.c", |t| format!("/* moved */\n{t}"));
    let tip = repo.commit("afs: comment");

    import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    let c = campaigns::meta(&db, "iov-iter-direction").await.unwrap();
    assert_eq!(c.tree_commit.as_deref(), Some(tip.as_str()));
    assert_eq!(c.version_tag().as_deref(), Some("v6.1"));
    let at = |path: &'static str| {
        let db = db.clone();
        async move { tree_links::file_at_tag(&db, c.id, path).await.unwrap() }
    };
    assert_eq!(at("fs/afs/dir.c").await, FileAtTag::Absent);
    assert_eq!(at("drivers/vhost/vringh.c").await, FileAtTag::Same);

    // Tag the tip: every file is as the tag has it again.
    repo.edit("drivers/vhost/vringh.c", |t| format!("/* moved */\n{t}"));
    repo.commit("vhost: comment");
    repo.git(&["tag", "v6.2-rc1"]);
    repo.edit("drivers/vhost/vringh.c", |t| format!("/* again */\n{t}"));
    repo.commit("vhost: another comment");
    import(&db, &repo.dir, git::Options::default())
        .await
        .unwrap();
    let c = campaigns::meta(&db, "iov-iter-direction").await.unwrap();
    assert_eq!(c.version_tag().as_deref(), Some("v6.2-rc1"));
    assert_eq!(at("fs/afs/dir.c").await, FileAtTag::Same);
    assert_eq!(at("drivers/vhost/vringh.c").await, FileAtTag::Changed);

    // A scan names its own tree: nothing is left to say.
    scan_worktree_named(&db, &repo.dir, Some("v6.2-rc1")).await;
    assert_eq!(at("drivers/vhost/vringh.c").await, FileAtTag::Same);
}
