//! `treewide import github` and `treewide sync github-issue` against a local stand-in for
//! GitHub's REST API (tests/common/github_mock.rs) serving real kernel files (fs/afs/dir.c
//! and fs/afs/write.c of Debian's linux-source-6.1; skipped with a message when the tree
//! cannot be had). The parent versions of the fix are the same files with the legacy
//! `READ`/`WRITE` directions put back, as before de4eda9de2d9.

use std::path::{Path, PathBuf};

use github_mock::{Edit, Mock, Trouble};
use treewide_core::model::{EventSource, Status};
use treewide_core::{campaigns, db, history, ingest, sites, SqlitePool};
use treewide_formats::spec::Spec;
use treewide_importer::history::{import_github, GitHubImport};
use treewide_importer::{auditor, github_issue, scan};

mod common;
#[path = "common/github_mock.rs"]
mod github_mock;

const SLUG: &str = "iov-iter-direction";
const DIR: &str = "fs/afs/dir.c";
const WRITE: &str = "fs/afs/write.c";

fn tree() -> Option<PathBuf> {
    match common::linux_tree() {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("SKIPPED: no Linux tree ({e})");
            None
        }
    }
}

/// The file as it was before the direction rename.
fn legacy(src: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(src)
        .replace("ITER_DEST", "READ")
        .replace("ITER_SOURCE", "WRITE")
        .into_bytes()
}

/// A comment line added at the top: every line below moves by one.
fn drift(src: &[u8], note: &str) -> Vec<u8> {
    let mut out = format!("/* {note} */\n").into_bytes();
    out.extend_from_slice(src);
    out
}

struct Setup {
    _dir: tempfile::TempDir,
    db: SqlitePool,
    mock: std::sync::Arc<Mock>,
    api: String,
    /// The real (fixed) files.
    dir_c: Vec<u8>,
    write_c: Vec<u8>,
    fix: String,
}

/// Sites scanned from the legacy files, and a mock repository whose history fixes them.
async fn setup(kernel: &Path) -> Setup {
    let dir_c = std::fs::read(kernel.join(DIR)).unwrap();
    let write_c = std::fs::read(kernel.join(WRITE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("linux");
    std::fs::create_dir_all(t.join("fs/afs")).unwrap();
    std::fs::write(t.join(DIR), legacy(&dir_c)).unwrap();
    std::fs::write(t.join(WRITE), legacy(&write_c)).unwrap();
    let db = db::open(&dir.path().join("t.db")).await.unwrap();
    let spec = Spec::load(SLUG).unwrap();
    let result = scan::scan_tree(&t, &spec, &|_| {}).unwrap();
    let specs = scan::to_site_specs(&result, &spec, &|_| {
        vec![treewide_core::ingest::SectionInput::named("AFS FILESYSTEM")]
    });
    let origin = ingest::Origin {
        source: EventSource::Scan,
        name: "scan of the legacy excerpt".into(),
        sha256: String::new(),
        actor: "tester".into(),
    };
    let batch = scan::to_batch(
        &result,
        &spec,
        Some("v6.0"),
        specs,
        None,
        Vec::new(),
        origin,
    );
    let s = ingest::store(&db, &batch).await.unwrap();
    assert_eq!(s.sites_total, 3, "{s:?}");

    let mock = Mock::new("torvalds", "linux");
    let api = mock.serve().await;
    mock.commit(
        None,
        "2022-09-01T10:00:00Z",
        "afs: import",
        vec![
            Edit::Set(DIR.into(), legacy(&dir_c)),
            Edit::Set(WRITE.into(), legacy(&write_c)),
            Edit::Set("README".into(), b"Linux kernel\n".to_vec()),
        ],
    );
    mock.commit(
        None,
        "2022-09-10T10:00:00Z",
        "afs: note the directory code's origin",
        vec![Edit::Set(DIR.into(), drift(&legacy(&dir_c), "afs"))],
    );
    let fix = mock.commit(
        None,
        "2022-11-25T04:49:00Z",
        "use less confusing names for iov_iter direction initializers\n\nREAD/WRITE proved to be actively confusing.\n\nSigned-off-by: Al Viro <viro@zeniv.linux.org.uk>\n",
        vec![
            Edit::Set(DIR.into(), drift(&dir_c, "afs")),
            Edit::Set(WRITE.into(), write_c.clone()),
        ],
    );
    for i in 0..3 {
        mock.commit(
            None,
            &format!("2022-12-0{}T10:00:00Z", i + 1),
            &format!("afs: comment {i}"),
            vec![Edit::Set(
                WRITE.into(),
                drift(&write_c, &format!("note {i}")),
            )],
        );
    }
    let main_head = mock.commit(
        None,
        "2022-12-04T10:00:00Z",
        "README: update",
        vec![Edit::Set("README".into(), b"Linux\n".to_vec())],
    );
    // A merge: its changes were read in its parents' own commits.
    let side = mock.commit(
        Some(vec![fix.clone()]),
        "2022-12-05T10:00:00Z",
        "README: side",
        vec![Edit::Set("README".into(), b"side\n".to_vec())],
    );
    mock.commit(
        Some(vec![main_head, side]),
        "2022-12-06T10:00:00Z",
        "Merge tag 'afs-next'",
        vec![Edit::Set(WRITE.into(), drift(&write_c, "note 2"))],
    );
    mock.set_pulls(
        &fix,
        serde_json::json!([{
            "url": "https://api.github.com/repos/torvalds/linux/pulls/7",
            "html_url": "https://github.com/torvalds/linux/pull/7",
            "number": 7, "state": "closed", "title": "iov_iter: ITER_DEST/ITER_SOURCE",
            "user": {"login": "viro"}, "created_at": "2022-11-20T10:00:00Z",
            "merged_at": "2022-11-25T05:00:00Z"
        }]),
    );
    Setup {
        _dir: dir,
        db,
        mock,
        api,
        dir_c,
        write_c,
        fix,
    }
}

fn job(api: &str, repo: &str) -> GitHubImport {
    GitHubImport {
        repo: repo.into(),
        campaign: SLUG.into(),
        branch: None,
        spec: None,
        api_url: api.into(),
        token: None,
        actor: "tester".into(),
    }
}

fn count(log: &[String], what: impl Fn(&str) -> bool) -> usize {
    log.iter().filter(|l| what(l)).count()
}

fn is_detail(l: &str) -> bool {
    let p = l.split('?').next().unwrap_or(l);
    p.contains("/commits/") && !p.ends_with("/pulls")
}

#[tokio::test]
async fn import_finds_the_fix_pages_and_reads_only_new_commits_later() {
    let Some(kernel) = tree() else { return };
    let s = setup(&kernel).await;
    let report = import_github(&s.db, &job(&s.api, "torvalds/linux"), &|_, _| {})
        .await
        .unwrap();
    let log = s.mock.take_log();
    assert_eq!(report.summary.fixed.len(), 3, "{report:?}");
    assert!(report.unexplained.is_empty(), "{:?}", report.unexplained);
    assert!(
        count(&log, |l| l.contains("/commits?") && l.contains("page=2")) >= 2,
        "both files' listings span pages: {log:#?}"
    );
    assert_eq!(
        count(&log, is_detail),
        5,
        "five commits with one parent touch the files; the root's and the merge's details are not asked for: {log:#?}"
    );
    assert_eq!(
        report.summary.pages_new, 3,
        "the pull request, on each fixed site"
    );

    let c = campaigns::get(&s.db, SLUG).await.unwrap();
    let all = sites::all_in(&s.db, c.id).await.unwrap();
    let fixes = history::fixes_in(&s.db, c.id).await.unwrap();
    for site in &all {
        assert_eq!(site.status, Status::Fixed, "{site:?}");
        let f = &fixes[&site.id];
        assert_eq!(f.oid, s.fix);
        assert_eq!(
            f.web_url(),
            format!("https://github.com/torvalds/linux/commit/{}", s.fix)
        );
        assert_eq!(
            f.subject,
            "use less confusing names for iov_iter direction initializers"
        );
        assert!(
            site.code.contains("ITER_"),
            "positions are the tip's: {site:?}"
        );
    }
    let dir_site = all.iter().find(|x| x.file == DIR).unwrap();
    let real_line = String::from_utf8_lossy(&s.dir_c)
        .lines()
        .position(|l| l.contains("iov_iter_xarray(&req->def_iter"))
        .unwrap() as i64
        + 1;
    assert_eq!(
        dir_site.line,
        real_line + 1,
        "the comment line moved it down"
    );
    let refs: Vec<(String, String)> =
        sqlx::query_as("SELECT target, title FROM refs WHERE kind = 'url' AND site_id = ?1")
            .bind(dir_site.id.0)
            .fetch_all(&s.db)
            .await
            .unwrap();
    assert_eq!(
        refs,
        vec![(
            "https://github.com/torvalds/linux/pull/7".to_owned(),
            "pull request #7: iov_iter: ITER_DEST/ITER_SOURCE".to_owned()
        )]
    );

    // Nothing new: only the repository and the branch are asked for.
    let again = import_github(&s.db, &job(&s.api, "torvalds/linux"), &|_, _| {})
        .await
        .unwrap();
    let log = s.mock.take_log();
    assert!(again.summary.is_noop(), "{again:?}");
    assert_eq!(count(&log, is_detail), 0, "{log:#?}");
    assert_eq!(log.len(), 2, "{log:#?}");

    // A new commit renames write.c: only it is read, and its sites move to the new name.
    let moved = drift(&drift(&s.write_c, "note 2"), "renamed");
    let rename = s.mock.commit(
        None,
        "2022-12-10T10:00:00Z",
        "afs: rename write.c",
        vec![Edit::Rename(WRITE.into(), "fs/afs/write2.c".into(), moved)],
    );
    let third = import_github(&s.db, &job(&s.api, "torvalds/linux"), &|_, _| {})
        .await
        .unwrap();
    let log = s.mock.take_log();
    assert_eq!(
        log.iter().filter(|l| is_detail(l)).collect::<Vec<_>>(),
        vec![&format!("GET /repos/torvalds/linux/commits/{rename}")],
        "{log:#?}"
    );
    assert!(count(&log, |l| l.contains("/compare/")) >= 1);
    assert!(
        !log.iter().any(|l| l.contains(&format!("/contents/{DIR}"))),
        "files no new commit touched are not fetched again: {log:#?}"
    );
    assert_eq!(third.summary.moved, 2, "{third:?}");
    let all = sites::all_in(&s.db, c.id).await.unwrap();
    assert_eq!(
        all.iter().filter(|x| x.file == "fs/afs/write2.c").count(),
        2
    );
    assert!(all.iter().all(|x| x.status == Status::Fixed));
}

#[tokio::test]
async fn rate_limits_and_missing_repositories_are_explained() {
    let Some(kernel) = tree() else { return };
    let s = setup(&kernel).await;

    let e = import_github(&s.db, &job(&s.api, "torvalds/nope"), &|_, _| {})
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("torvalds/nope not found, or private and GITHUB_TOKEN not set"),
        "{msg}"
    );

    // A limit that resets in a second is waited out.
    s.mock.set_trouble(Trouble::BrieflyLimited);
    let r = import_github(&s.db, &job(&s.api, "torvalds/linux"), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(r.summary.fixed.len(), 3);

    s.mock.set_trouble(Trouble::RateLimited);
    let e = import_github(&s.db, &job(&s.api, "torvalds/linux"), &|_, _| {})
        .await
        .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("rate limit is used up (60 requests an hour)"),
        "{msg}"
    );
    assert!(
        msg.contains("it resets at 20"),
        "names the reset time: {msg}"
    );
    assert!(msg.contains("(in 60 min)"), "{msg}");
    assert!(msg.contains("set GITHUB_TOKEN"), "{msg}");
    assert!(
        msg.contains(&format!("GET {}/repos/torvalds/linux", s.api)),
        "names the URL: {msg}"
    );
}

fn sync_job(api: &str, campaign: &str) -> github_issue::IssueSync {
    github_issue::IssueSync {
        repo: "torvalds/linux".into(),
        issue: 1,
        campaign: campaign.into(),
        api_url: api.into(),
        token: None,
        base_url: Some("https://treewide.example/".into()),
    }
}

#[tokio::test]
async fn issue_sync_keeps_hand_written_text_and_edits_only_on_change() {
    let Some(kernel) = tree() else { return };
    let s = setup(&kernel).await;
    import_github(&s.db, &job(&s.api, "torvalds/linux"), &|_, _| {})
        .await
        .unwrap();
    let hand =
        "This tracks the iov_iter direction conversion.\r\n\r\nPing @viro with questions.\r\n";
    s.mock.set_issue(1, hand);
    s.mock.take_log();

    let r = github_issue::sync(&s.db, &sync_job(&s.api, SLUG))
        .await
        .unwrap();
    assert!(matches!(r, github_issue::Synced::Updated { .. }), "{r:?}");
    let body = s.mock.issue(1);
    assert!(body.starts_with(hand.trim_end()), "{body}");
    assert!(body.contains("<!-- treewide:begin iov-iter-direction -->"));
    assert!(
        body.contains("**3 of 3 sites done (100%)**: 3 fixed"),
        "{body}"
    );
    assert!(body.contains("### AFS FILESYSTEM (3 of 3 done)"), "{body}");
    assert!(
        body.contains(&format!(
            "fixed in [{}](https://github.com/torvalds/linux/commit/{})",
            &s.fix[..12],
            s.fix
        )),
        "{body}"
    );
    assert!(body.contains("([site](https://treewide.example/c/iov-iter-direction/site/"));
    assert_eq!(count(&s.mock.take_log(), |l| l.starts_with("PATCH")), 1);

    // People add text after the section; a sync keeps it and, with nothing new, edits nothing.
    let edited = format!("{body}\nThanks to everyone reviewing!\n");
    s.mock.set_issue(1, &edited);
    let r = github_issue::sync(&s.db, &sync_job(&s.api, SLUG))
        .await
        .unwrap();
    assert_eq!(r, github_issue::Synced::Unchanged);
    assert_eq!(count(&s.mock.take_log(), |l| l.starts_with("PATCH")), 0);
    assert_eq!(s.mock.issue(1), edited);
}

#[tokio::test]
async fn issue_sync_fits_a_large_campaign_under_githubs_limit() {
    // No kernel files needed: 6000 sites from an auditor list.
    let dir = tempfile::tempdir().unwrap();
    let db = db::open(&dir.path().join("t.db")).await.unwrap();
    let mut list = Vec::new();
    for i in 0..6000 {
        let status = if i % 4 == 0 { "fixed" } else { "needs_fix" };
        list.push(serde_json::json!({
            "file": format!("drivers/net/ethernet/vendor{}/main_{i}.c", i % 120),
            "line": 100 + i, "callee": "iov_iter_kvec", "status": status,
            "function": format!("probe_{i}"),
            "code": format!("iov_iter_kvec(&iter, READ, vec, 1, len{i});"),
            "subsystem": format!("NETWORK DRIVER {} [@x *y*]", i % 120)
        }));
    }
    let doc = serde_json::json!({"format": "treewide-audit/1", "campaign": {"slug": "big-one", "title": "A big one"}, "sites": list});
    let b = auditor::parse_bytes(
        "big.json",
        doc.to_string().as_bytes(),
        EventSource::Import,
        "lead",
    )
    .unwrap();
    ingest::store(&db, &b).await.unwrap();
    let mock = Mock::new("torvalds", "linux");
    let api = mock.serve().await;
    mock.set_issue(1, "Hand-written.");
    let r = github_issue::sync(&db, &sync_job(&api, "big-one"))
        .await
        .unwrap();
    assert!(
        matches!(r, github_issue::Synced::Updated { bytes } if bytes <= github_issue::BODY_LIMIT),
        "{r:?}"
    );
    let body = mock.issue(1);
    assert!(body.chars().count() <= 65536);
    assert!(body.starts_with("Hand-written.\n\n"));
    assert!(
        body.contains("**1500 of 6000 sites done (25%)**"),
        "{}",
        &body[..400]
    );
    assert!(!body.contains("@x"), "names are escaped");
    assert!(
        body.contains("NETWORK DRIVER 119"),
        "every subsystem has its heading"
    );
    assert!(body.contains("more open ([dashboard](https://treewide.example/c/big-one/s/"));
    let r = github_issue::sync(&db, &sync_job(&api, "big-one"))
        .await
        .unwrap();
    assert_eq!(r, github_issue::Synced::Unchanged);
}
