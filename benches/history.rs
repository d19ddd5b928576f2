//! History import benchmark: `treewide import git` over a generated history of real kernel
//! files, against git's own path-limited walk of the same history (`git log -- PATHS`, which
//! compares the same trees along the same paths) and a plain `git rev-list`, in the same run.
//!
//! The repository is generated with `git fast-import`: a first commit holding real files of
//! linux-source-6.1 (fs/, net/, block/, lib/, drivers/vhost/, drivers/target/ when the tree
//! can be had; the committed excerpt tree otherwise) with legacy READ/WRITE directions, then
//! commits that each insert a line into one file (one in ten into a file with campaign calls,
//! so later calls drift), and every 400th commit fixes one file's calls.
//!
//! `cargo bench --bench history` runs 20,000 commits; under `cargo test` a smoke size.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use treewide_core::model::EventSource;
use treewide_core::{db, ingest};
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;
use treewide_importer::history::{git, import_git, GitImport};
use treewide_importer::scan;

/// One file of the generated tree: its legacy and fixed text as lines (drift edits go into
/// both, so a fix is a switch from one to the other).
struct File {
    legacy: Vec<String>,
    fixed: Vec<String>,
    is_fixed: bool,
    has_calls: bool,
}

impl File {
    fn text(&self) -> String {
        let mut s = if self.is_fixed {
            &self.fixed
        } else {
            &self.legacy
        }
        .join("\n");
        s.push('\n');
        s
    }
}

/// A tiny deterministic generator (the bench must not depend on a seed crate).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn kernel_tree() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TREEWIDE_LINUX_TREE") {
        return Some(PathBuf::from(p));
    }
    let out = Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/linux-source.sh"
    ))
    .stderr(Stdio::null())
    .output()
    .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Real files to build the history from: (path, text).
fn real_files(full: bool) -> (String, Vec<(String, String)>) {
    let (root, dirs): (PathBuf, Vec<&str>) = match kernel_tree().filter(|_| full) {
        Some(t) => (
            t,
            vec![
                "fs",
                "net",
                "block",
                "lib",
                "drivers/vhost",
                "drivers/target",
            ],
        ),
        None => (
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/importer/tests/data/tree"
            )),
            vec!["fs", "drivers"],
        ),
    };
    let mut out = Vec::new();
    for d in &dirs {
        for e in walkdir::WalkDir::new(root.join(d))
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
        {
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_file() && (name.ends_with(".c") || name.ends_with(".h")) {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    let rel = e.path().strip_prefix(&root).unwrap_or(e.path());
                    out.push((rel.to_string_lossy().into_owned(), text));
                }
            }
        }
    }
    (root.display().to_string(), out)
}

fn legacy(text: &str) -> String {
    text.replace("ITER_DEST", "READ")
        .replace("ITER_SOURCE", "WRITE")
}

/// Write the history with `git fast-import`; returns the number of commits.
fn generate(repo: &Path, files: &mut BTreeMap<String, File>, commits: usize) -> usize {
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::create_dir_all(repo).expect("mkdir");
    git(&["init", "-q", "-b", "master"]);
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    let mut w = std::io::BufWriter::new(child.stdin.take().expect("stdin"));
    let mut time = 1_600_000_000u64;
    let mut emit = |w: &mut std::io::BufWriter<_>, msg: &str, changes: &[(&str, String)]| {
        time += 600;
        let _ = write!(
            w,
            "commit refs/heads/master\ncommitter Bench <bench@example.org> {time} +0000\ndata {}\n{msg}\n",
            msg.len() + 1
        );
        for (path, text) in changes {
            let _ = write!(w, "M 100644 inline {path}\ndata {}\n{text}\n", text.len());
        }
    };
    let all: Vec<(&str, String)> = files.iter().map(|(p, f)| (p.as_str(), f.text())).collect();
    emit(
        &mut w,
        "Import the tree with legacy iov_iter directions",
        &all,
    );
    let paths: Vec<String> = files.keys().cloned().collect();
    let with_calls: Vec<String> = files
        .iter()
        .filter(|(_, f)| f.has_calls)
        .map(|(p, _)| p.clone())
        .collect();
    let mut rng = Lcg(42);
    for i in 1..commits {
        let fix = i % 400 == 0;
        let pool = if fix || (i % 10 == 0 && !with_calls.is_empty()) {
            &with_calls
        } else {
            &paths
        };
        let path = pool[rng.next(pool.len())].clone();
        let f = files.get_mut(&path).expect("file");
        let msg = if fix && !f.is_fixed {
            f.is_fixed = true;
            format!("[bench] fix iov_iter direction in {path}")
        } else {
            let at = rng.next(f.legacy.len());
            let line = format!("/* bench {i} */");
            f.legacy.insert(at, line.clone());
            f.fixed.insert(at, line);
            format!("bench: touch {path} ({i})")
        };
        emit(&mut w, &msg, &[(&path, f.text())]);
    }
    drop(w);
    assert!(child.wait().expect("fast-import").success());
    commits
}

fn time_git(repo: &Path, args: &[&str]) -> (Duration, usize) {
    let t = Instant::now();
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}");
    (
        t.elapsed(),
        out.stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count(),
    )
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 20_000 } else { 1_000 };
    let dir = tempfile::tempdir().expect("tempdir");
    let (source, real) = real_files(full);
    let spec = Spec::load("iov-iter-direction").expect("spec");
    let matcher = CallMatcher::new(&spec).expect("matcher");
    let mut parser = scan::new_parser();
    let mut files = BTreeMap::new();
    let tree = dir.path().join("tree");
    for (path, text) in &real {
        let old = legacy(text);
        let (calls, _) = scan::scan_source(path, old.as_bytes(), &spec, &matcher, &mut parser);
        if !calls.is_empty() {
            let p = tree.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, &old).expect("write");
        }
        files.insert(
            path.clone(),
            File {
                legacy: old.lines().map(str::to_owned).collect(),
                fixed: text.lines().map(str::to_owned).collect(),
                is_fixed: false,
                has_calls: !calls.is_empty(),
            },
        );
    }
    let repo = dir.path().join("repo");
    let t = Instant::now();
    let commits = generate(&repo, &mut files, n);
    let watched: Vec<String> = files
        .iter()
        .filter(|(_, f)| f.has_calls)
        .map(|(p, _)| p.clone())
        .collect();
    println!(
        "history import: {commits} generated commits over {} real files ({} with campaign calls) from {source}, generated in {:.1?}",
        files.len(),
        watched.len(),
        t.elapsed()
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (tw, report) = rt.block_on(async {
        let pool = db::open(&dir.path().join("bench.db")).await.expect("db");
        let result = scan::scan_tree(&tree, &spec, &|_| {}).expect("scan");
        let specs = scan::to_site_specs(&result, &spec, &|_| Vec::new());
        let origin = ingest::Origin {
            source: EventSource::Scan,
            name: "bench".into(),
            sha256: String::new(),
            actor: "bench".into(),
        };
        let batch = scan::to_batch(&result, &spec, None, specs, None, Vec::new(), origin);
        ingest::store(&pool, &batch).await.expect("store");
        let job = GitImport {
            repo: repo.clone(),
            campaign: "iov-iter-direction".into(),
            spec: None,
            options: git::Options::default(),
            actor: "bench".into(),
        };
        let t = Instant::now();
        let report = import_git(&pool, &job, &|_, _| {}).await.expect("import");
        (t.elapsed(), report)
    });
    assert_eq!(report.stats.commits as usize, commits);
    let mut args = vec!["log", "--format=%H", "--no-renames", "--"];
    args.extend(watched.iter().map(String::as_str));
    let (log, touching) = time_git(&repo, &args);
    let (walk, all) = time_git(&repo, &["rev-list", "HEAD"]);
    assert_eq!(all, commits);
    let rate = |d: Duration| commits as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "  git rev-list (walk only):               {:>9.0} commits/s ({walk:.2?})",
        rate(walk)
    );
    println!(
        "  git log -- <{} campaign files>:        {:>9.0} commits/s ({log:.2?}, {touching} commits touch them)",
        watched.len(),
        rate(log)
    );
    println!(
        "  treewide import git (stored):           {:>9.0} commits/s ({tw:.2?}, {} changes, {} parsed, {} fixed) = {:.2}x git log",
        rate(tw),
        report.stats.file_changes,
        report.stats.parsed,
        report.summary.fixed.len(),
        log.as_secs_f64() / tw.as_secs_f64().max(1e-9)
    );
}
