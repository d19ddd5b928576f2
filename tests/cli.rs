//! The `treewide` command line as a user runs it.

mod common;

use common::{run, treewide};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DEMO_PIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/iov-iter-pin.json");
const DEMO_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/demo/iov-iter-direction.json"
);

#[test]
fn import_then_export_round_trips_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let out = run(&a, &["import", "auditor", DEMO_PIN, DEMO_DIR]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("campaign iov-iter-pin: 217 sites, 217 new"),
        "{}",
        stdout(&out)
    );
    let again = run(&a, &["import", "auditor", DEMO_PIN]);
    assert!(stdout(&again).contains("unchanged"), "{}", stdout(&again));

    let first = dir.path().join("first.json");
    let second = dir.path().join("second.json");
    assert!(run(
        &a,
        &[
            "export",
            "--campaign",
            "iov-iter-pin",
            "-o",
            first.to_str().unwrap()
        ]
    )
    .status
    .success());
    assert!(run(
        &b,
        &["import", "auditor", "--quiet", first.to_str().unwrap()]
    )
    .status
    .success());
    assert!(run(
        &b,
        &[
            "export",
            "--campaign",
            "iov-iter-pin",
            "-o",
            second.to_str().unwrap()
        ]
    )
    .status
    .success());
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        std::fs::read_to_string(&second).unwrap()
    );

    let csv = run(
        &a,
        &["export", "--campaign", "iov-iter-pin", "--format", "csv"],
    );
    let text = stdout(&csv);
    assert!(text.starts_with("id,campaign,file,line,"));
    assert_eq!(text.lines().count(), 218, "header + 217 sites");
}

#[test]
fn campaigns_and_sites_list_in_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run(&db, &["import", "auditor", "--quiet", DEMO_PIN])
        .status
        .success());
    let c = stdout(&run(&db, &["campaigns"]));
    assert!(c.contains("iov-iter-pin") && c.contains("90/217"), "{c}");
    let s = stdout(&run(
        &db,
        &[
            "sites",
            "--campaign",
            "iov-iter-pin",
            "--status",
            "unreviewed",
        ],
    ));
    assert_eq!(s.lines().count(), 74, "{s}");
    assert!(s.contains("net/sunrpc/xprtsock.c:376: unreviewed"), "{s}");
    let s = stdout(&run(
        &db,
        &["sites", "--subsystem", "NVM EXPRESS TARGET DRIVER"],
    ));
    assert!(
        s.contains("drivers/nvme/target/io-cmd-file.c:94: awaiting_owner"),
        "{s}"
    );
    let s = stdout(&run(
        &db,
        &["sites", "--file", "net/ceph/*", "--limit", "1"],
    ));
    assert_eq!(s.lines().count(), 1);
    let bad = run(&db, &["sites", "--status", "done"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("invalid value 'done'"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_bad_file_in_a_list_stores_nothing_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"format\": \"treewide-audit/1\",\n \"campaign\": {\"slug\": \"x\"},\n \"sites\": [{\"file\": \"a.c\", \"line\": 0, \"callee\": \"f\"}]}").unwrap();
    let out = run(&db, &["import", "auditor", DEMO_PIN, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad.json:3:") && err.contains("sites[0].line"),
        "{err}"
    );
    let c = stdout(&run(&db, &["campaigns"]));
    assert!(
        c.contains("no campaigns"),
        "the good file before it was not stored either: {c}"
    );
    let missing = run(&db, &["import", "auditor", "/nonexistent.json"]);
    assert!(
        stderr(&missing).contains("cannot read /nonexistent.json"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["import", "--help"],
        vec!["import", "auditor", "--help"],
        vec!["import", "git", "--help"],
        vec!["import", "github", "--help"],
        vec!["sync", "github-issue", "--help"],
        vec!["campaigns", "--help"],
        vec!["campaign", "set-signoff-scope", "--help"],
        vec!["maintainers", "--help"],
        vec!["sites", "--help"],
        vec!["export", "--help"],
    ] {
        let out = treewide().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = stdout(&out);
        assert!(text.contains("Usage: treewide"), "{args:?}: {text}");
        assert!(
            text.contains("--db"),
            "{args:?}: the global option is listed"
        );
    }
}

/// `git` with fixed identity and dates in `dir`.
fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Al Viro")
        .env("GIT_AUTHOR_EMAIL", "viro@zeniv.linux.org.uk")
        .env("GIT_COMMITTER_NAME", "Al Viro")
        .env("GIT_COMMITTER_EMAIL", "viro@zeniv.linux.org.uk")
        .env("GIT_AUTHOR_DATE", "2022-09-16T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2022-09-16T12:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn scan_then_import_git_history_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let repo = dir.path().join("linux");
    let real = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/importer/tests/data/tree/drivers/vhost/vringh.c"
    ))
    .unwrap();
    std::fs::create_dir_all(repo.join("drivers/vhost")).unwrap();
    let file = repo.join("drivers/vhost/vringh.c");
    std::fs::write(
        &file,
        real.replace("ITER_DEST", "READ")
            .replace("ITER_SOURCE", "WRITE"),
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "master"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "legacy"]);
    let out = run(
        &db,
        &[
            "scan",
            "--tree",
            repo.to_str().unwrap(),
            "--campaign",
            "iov-iter-direction",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&file, &real).unwrap();
    git(
        &repo,
        &[
            "commit",
            "-q",
            "-am",
            "[vhost] fix 'direction' argument of iov_iter_{init,bvec}()",
        ],
    );
    let fix = git(&repo, &["rev-parse", "--short=12", "HEAD"]);

    let args = [
        "import",
        "git",
        "--repo",
        repo.to_str().unwrap(),
        "--campaign",
        "iov-iter-direction",
    ];
    let out = run(&db, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2 commits in"), "{text}");
    assert!(text.contains("2 fixed, 0 gone"), "{text}");
    assert!(
        text.contains(&format!(
            "fix    {fix} [vhost] fix 'direction' argument of iov_iter_{{init,bvec}}() (2 sites)"
        )),
        "{text}"
    );
    let out = run(&db, &args);
    assert!(stdout(&out).contains("0 commits in"), "{}", stdout(&out));
    assert!(stdout(&out).contains("(nothing new)"), "{}", stdout(&out));
    let out = run(&db, &["sites", "--campaign", "iov-iter-direction"]);
    assert_eq!(
        stdout(&out).matches(" fixed ").count(),
        2,
        "{}",
        stdout(&out)
    );

    let out = run(
        &db,
        &[
            "import",
            "git",
            "--repo",
            repo.to_str().unwrap(),
            "--campaign",
            "nope",
        ],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
}

#[test]
fn scan_survives_a_comment_at_the_argument_limit() {
    // A call tree-sitter does not see (in a #define) is read as text, which gives up after
    // 8,192 bytes of arguments; a `/*` straddling that limit made the scan panic (exit 101).
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("linux");
    std::fs::create_dir_all(tree.join("fs")).unwrap();
    for pad in [8189, 8190, 8191] {
        let args = format!("i, READ, {}", "a".repeat(pad - "i, READ, ".len()));
        std::fs::write(
            tree.join("fs/x.c"),
            format!("#define BAD(i) iov_iter_init({args}/* x */)\nint y;\n"),
        )
        .unwrap();
        let out = run(
            &dir.path().join(format!("{pad}.db")),
            &[
                "scan",
                "--tree",
                tree.to_str().unwrap(),
                "--campaign",
                "iov-iter-direction",
            ],
        );
        assert!(out.status.success(), "pad {pad}: {}", stderr(&out));
        assert!(stdout(&out).contains("1 sites, 1 new"), "{}", stdout(&out));
    }
}

#[test]
fn scan_json_is_an_auditor_document_that_imports_as_the_scan_stores() {
    let dir = tempfile::tempdir().unwrap();
    let tree = concat!(env!("CARGO_MANIFEST_DIR"), "/importer/tests/data/tree");
    let doc = dir.path().join("scan.json");
    let args = ["scan", "--tree", tree, "--campaign", "iov-iter-direction"];
    let out = run(
        &dir.path().join("unused.db"),
        &[&args[..], &["--json", "-o", doc.to_str().unwrap()]].concat(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("3 sites, 0 files not fully parsed"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&doc).unwrap();
    assert!(
        text.starts_with("{\n  \"format\": \"treewide-audit/1\""),
        "{text}"
    );

    let (scanned, imported) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let out = run(&scanned, &args);
    assert!(
        stdout(&out).contains("iov-iter-direction: 3 sites, 3 new"),
        "{}",
        stdout(&out)
    );
    let out = run(&imported, &["import", "auditor", doc.to_str().unwrap()]);
    assert!(
        stdout(&out).contains("campaign iov-iter-direction: 3 sites, 3 new"),
        "{}",
        stdout(&out)
    );
    let sites = |db| stdout(&run(db, &["sites", "--campaign", "iov-iter-direction"]));
    assert_eq!(sites(&scanned), sites(&imported));
}

/// The real kernel tree of the real-tree tests (`scripts/linux-source.sh`), if it can be had.
fn linux_tree() -> Option<std::path::PathBuf> {
    let out = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/linux-source.sh"
    ))
    .output()
    .ok()?;
    if !out.status.success() {
        eprintln!("SKIPPED: no Linux tree ({})", stderr(&out).trim());
        return None;
    }
    Some(stdout(&out).trim().into())
}

#[test]
fn maintainers_why_explains_the_routing_of_real_files() {
    let Some(tree) = linux_tree() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &dir.path().join("t.db"),
        &[
            "maintainers",
            "--tree",
            tree.to_str().unwrap(),
            "--why",
            "net/ceph/messenger.c",
            "drivers/clk/clkdev.c",
            "include/linux/bpf.h",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "net/ceph/messenger.c: 3 sections by path (get_maintainer.pl --sections), 0 by keyword",
        "1. CEPH COMMON CODE (LIBCEPH)  [Supported]  (primary; depth 2; may sign off)",
        "     matched  F:  net/ceph/   (MAINTAINERS:",
        "2. NETWORKING [GENERAL]  [Maintained]  (depth 1; may sign off only where a campaign's scope is any-section)",
        "     M: Jakub Kicinski <kuba@kernel.org>",
        "3. THE REST  [Buried alive in reporters]  (depth -1;",
        "excluded (X:):\n   COMMON CLK FRAMEWORK  [Maintained]",
        "     excluded X:  drivers/clk/clkdev.c   (MAINTAINERS:",
        "tie with BPF [CORE]; may sign off)",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
}

#[test]
fn the_campaign_lead_widens_and_narrows_who_signs_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    assert!(run(&db, &["import", "auditor", "--quiet", DEMO_PIN])
        .status
        .success());
    let out = run(
        &db,
        &[
            "campaign",
            "set-signoff-scope",
            "iov-iter-pin",
            "any-section",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "iov-iter-pin: sign-off scope any-section (was specific): maintainers and reviewers of \
         any MAINTAINERS section of the site's file may sign off, and admins"
    );
    let again = run(
        &db,
        &[
            "campaign",
            "set-signoff-scope",
            "iov-iter-pin",
            "any_section",
        ],
    );
    assert_eq!(
        stdout(&again).trim(),
        "iov-iter-pin: sign-off scope already any-section"
    );
    // The change is in the campaign's event log, once, with who made it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let scope: Vec<(String, String, String)> = conn
        .prepare("SELECT old, new, source FROM events WHERE kind = 'scope'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        scope,
        [(
            "specific".to_owned(),
            "any_section".to_owned(),
            "cli".to_owned()
        )]
    );
    let bad = run(
        &db,
        &["campaign", "set-signoff-scope", "iov-iter-pin", "all"],
    );
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("specific or any-section"),
        "{}",
        stderr(&bad)
    );
    let missing = run(&db, &["campaign", "set-signoff-scope", "nope", "specific"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("nope"), "{}", stderr(&missing));
}

/// A tree with one legacy vhost file (`READ`/`WRITE` where the fix has ITER_DEST/ITER_SOURCE):
/// its root, the file, and the fixed text.
fn legacy_vhost_tree(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let fixed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/importer/tests/data/tree/drivers/vhost/vringh.c"
    ))
    .unwrap();
    let tree = dir.join("linux");
    std::fs::create_dir_all(tree.join("drivers/vhost")).unwrap();
    std::fs::create_dir_all(tree.join("lib")).unwrap();
    std::fs::write(tree.join("lib/other.c"), "int other;\n").unwrap();
    let file = tree.join("drivers/vhost/vringh.c");
    std::fs::write(
        &file,
        fixed
            .replace("ITER_DEST", "READ")
            .replace("ITER_SOURCE", "WRITE"),
    )
    .unwrap();
    (tree, file, fixed)
}

#[test]
fn scan_changed_checks_only_the_paths_a_hook_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (tree, file, fixed) = legacy_vhost_tree(dir.path());
    // Past the 2 s in which a file's mtime is not trusted (see below).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let scan = [
        "scan",
        "--tree",
        tree.to_str().unwrap(),
        "--campaign",
        "iov-iter-direction",
    ];
    let out = run(&db, &scan);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&file, &fixed).unwrap();
    // As a git hook would: `git diff --name-only ORIG_HEAD HEAD | treewide scan ... --changed -`.
    let mut child = treewide()
        .arg("--db")
        .arg(&db)
        .args(scan)
        .args(["--changed", "-"])
        .env("TREEWIDE_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"drivers/vhost/vringh.c\n\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    // Only the file named is looked at: the other one is as the last scan stored it. (A file
    // written less than 2 s before a scan would be looked at again whatever the list says:
    // its mtime may not move when it changes again.)
    assert!(
        err.contains("incremental: 1 files stat-ed, 1 read, 1 parsed"),
        "{err}"
    );
    assert!(
        stdout(&out).contains("2 status changes"),
        "{}",
        stdout(&out)
    );

    let mut bad = scan.to_vec();
    bad.extend(["--changed", "../outside.c"]);
    let out = run(&db, &bad);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--changed: changed path ../outside.c is not inside the tree"),
        "{}",
        stderr(&out)
    );
    let mut both = scan.to_vec();
    both.extend(["--changed", "lib/other.c", "--full"]);
    let out = run(&db, &both);
    assert!(!out.status.success(), "--changed with --full is refused");
}

#[test]
fn scan_watch_rescans_what_is_written_until_interrupted() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (tree, file, fixed) = legacy_vhost_tree(dir.path());
    // Past the 2 s in which a file's mtime is not trusted: the first re-scan looks only at
    // the file written.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let mut child = treewide()
        .arg("--db")
        .arg(&db)
        .args(["scan", "--tree", tree.to_str().unwrap(), "--campaign"])
        .args(["iov-iter-direction", "--watch", "--quiet"])
        .env("TREEWIDE_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Its standard error, a line at a time, on a thread (a line that never comes must not
    // hang the test).
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines() {
            if tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let wait_for = |what: &str| -> String {
        loop {
            match rx.recv_timeout(std::time::Duration::from_secs(60)) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line with {what:?} from scan --watch: {e}"),
            }
        }
    };
    wait_for("treewide: watching");
    std::fs::write(&file, &fixed).unwrap();
    let line = wait_for("re-scanned");
    assert!(
        line.contains("re-scanned 1 changed paths in ")
            && line.contains(": 1 files stat-ed, 1 read, 1 parsed"),
        "{line}"
    );
    // A file that is not C source changes nothing; a new C file is found.
    std::fs::write(tree.join("lib/README"), "notes\n").unwrap();
    std::fs::write(
        tree.join("lib/new.c"),
        "void f(struct iov_iter *i, struct kvec *k)\n{\n\tiov_iter_kvec(i, READ, k, 1, 1);\n}\n",
    )
    .unwrap();
    let line = wait_for("re-scanned");
    assert!(line.contains(" read, 1 parsed"), "{line}");
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends the watch cleanly: {status}");
    let out = run(&db, &["sites", "--campaign", "iov-iter-direction"]);
    let text = stdout(&out);
    assert_eq!(text.matches(" fixed ").count(), 2, "{text}");
    assert!(text.contains("lib/new.c"), "{text}");
}
