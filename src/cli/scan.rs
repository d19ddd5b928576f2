//! `treewide scan`: scan a kernel tree for a campaign's calls and store them, or print them
//! as a treewide-audit/1 document (`--json`). The pipeline is the importer's `scan` entry
//! point; this module draws its progress and prints its summary. `--changed` and `--watch`
//! tell the scan which paths changed (a hook's list, a file watcher), so a re-scan checks
//! only those.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio::signal::unix::{signal, SignalKind};
use treewide_core::ingest::Summary;
use treewide_formats::{audit, spec::Spec};
use treewide_importer::scan::watch::{Pending, Watcher};
use treewide_importer::scan::{self, Changed, ScanCounts, ScanRequest};

use crate::cli::{self, progress};

/// Options of `treewide scan`.
#[derive(clap::Args)]
pub struct Args {
    /// Root of the kernel source tree.
    #[arg(long)]
    tree: PathBuf,
    /// Campaign to fill, by slug; its built-in spec is used unless --spec is given.
    #[arg(long, required_unless_present = "spec")]
    campaign: Option<String>,
    /// Campaign spec: a TOML file (docs/campaign-spec.md) or a built-in name.
    #[arg(long)]
    spec: Option<String>,
    /// Print a treewide-audit/1 document instead of storing.
    #[arg(long)]
    json: bool,
    /// Tree version to record (default: from the tree's Makefile, e.g. v6.1.172).
    #[arg(long)]
    describe: Option<String>,
    /// Output file for --json (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Read and parse every file again, ignoring what the campaign's last scan found (by
    /// default only files whose content changed are parsed again).
    #[arg(long)]
    full: bool,
    /// Only these paths (files or directories, relative to --tree or absolute; `-` reads
    /// them from standard input, one a line) may have changed since the campaign's last scan
    /// of this tree: nothing else is even stat-ed. For a hook that knows, e.g. `git diff
    /// --name-only ORIG_HEAD HEAD | treewide scan ... --changed -`; a changed path left out
    /// stays as the last scan saw it until a scan without --changed.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["full", "json", "watch"])]
    changed: Vec<PathBuf>,
    /// Keep running: watch the tree (inotify) and, after each burst of writes, re-scan
    /// checking only the paths written (everything if the watcher lost events). Ctrl-C stops.
    #[arg(long, conflicts_with = "json")]
    watch: bool,
}

/// A burst of writes (an editor's save, a checkout) is over after this long without one.
const QUIET: Duration = Duration::from_millis(200);
/// A re-scan starts at most this long after the first write of a burst.
const SETTLE: Duration = Duration::from_secs(5);

/// Scan, then store (or write the document).
pub async fn run(path: &Path, args: Args) -> anyhow::Result<()> {
    let spec = match (&args.spec, &args.campaign) {
        (Some(s), _) => Spec::load(s)?,
        (None, Some(c)) => Spec::load(c)?,
        (None, None) => anyhow::bail!("give --campaign or --spec"),
    };
    let progress = ScanProgress {
        bar: progress::spinner(
            args.quiet,
            "{spinner} scanning: {pos} files read ({per_sec})",
            "",
        ),
        quiet: args.quiet,
    };
    let changed = match args.changed.as_slice() {
        [] => None,
        paths => Some(changed_paths(&args.tree, paths)?),
    };
    let req = ScanRequest {
        tree: args.tree,
        spec,
        campaign: args.campaign,
        describe: args.describe,
        actor: cli::actor(None),
        full: args.full,
        changed,
    };
    if args.json {
        let doc = scan::document(&req, &progress)?;
        let mut out = cli::output(args.output.as_deref())?;
        audit::write(&doc, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let db = cli::open(path).await?;
    if args.watch {
        return watch(&db, req, &progress).await;
    }
    let report = scan::run(&db, &req, &progress).await?;
    if !args.quiet {
        print_summary(&report.summary);
    }
    Ok(())
}

/// The paths of `--changed`, `-` standing for those on standard input.
fn changed_paths(tree: &Path, args: &[PathBuf]) -> anyhow::Result<Changed> {
    let mut paths = Vec::new();
    for a in args {
        if a.as_os_str() == "-" {
            for (i, line) in std::io::stdin().lock().lines().enumerate() {
                let line = line.map_err(|e| {
                    anyhow::anyhow!("--changed -: standard input, line {}: {e}", i + 1)
                })?;
                // `lines` has taken the line end off (`\r\n` too).
                if !line.trim().is_empty() {
                    paths.push(PathBuf::from(line));
                }
            }
        } else {
            paths.push(a.clone());
        }
    }
    Changed::new(tree, &paths).map_err(|e| anyhow::anyhow!("--changed: {e:#}"))
}

/// `scan --watch`: the scan asked for, then a re-scan of what the watcher saw after each
/// burst of writes, until Ctrl-C. The watch starts before the first scan, so nothing written
/// meanwhile is missed; after a failed re-scan (say, the database was busy) the next one
/// checks everything.
async fn watch(
    db: &treewide_core::SqlitePool,
    mut req: ScanRequest,
    progress: &ScanProgress,
) -> anyhow::Result<()> {
    let watcher = Watcher::new(&req.tree)?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // A thread of its own (not the runtime's blocking pool, which would wait for it at exit).
    std::thread::spawn(move || {
        while let Some(p) = watcher.wait(QUIET, SETTLE) {
            if tx.send(p).is_err() {
                break;
            }
        }
    });
    let report = scan::run(db, &req, progress).await?;
    if !progress.quiet {
        print_summary(&report.summary);
    }
    // From here on Ctrl-C (or SIGTERM) ends the watch between re-scans: one that arrives
    // during a re-scan waits for its transaction. (During the first scan it still ends the
    // process at once, which stores nothing of that scan.)
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    eprintln!("treewide: watching {} (Ctrl-C stops)", req.tree.display());
    req.full = false;
    let mut check_all = false;
    loop {
        let pending = tokio::select! {
            p = rx.recv() => p,
            _ = interrupt.recv() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        };
        let (what, changed) = match pending {
            None => anyhow::bail!("the file watcher stopped"),
            Some(Pending::Paths(c)) if !check_all => {
                (format!("{} changed paths", c.len()), Some(c))
            }
            Some(Pending::Paths(_)) => ("everything (the last re-scan failed)".to_owned(), None),
            Some(Pending::Everything(why)) => (format!("everything ({why})"), None),
        };
        req.changed = changed;
        let t = Instant::now();
        match scan::run(db, &req, &()).await {
            Ok(report) => {
                check_all = false;
                let c = report.counts;
                eprintln!(
                    "treewide: re-scanned {what} in {:.1} ms: {} files stat-ed, {} read, {} parsed",
                    t.elapsed().as_secs_f64() * 1e3,
                    c.files_checked,
                    c.files_read,
                    c.files_parsed
                );
                if !progress.quiet {
                    print_summary(&report.summary);
                }
            }
            Err(e) => {
                check_all = true;
                eprintln!(
                    "treewide: re-scan of {what} failed (the next one checks everything): {e:#}"
                );
            }
        }
        let _ = std::io::stdout().flush();
    }
}

/// The scan's spinner, and the count line once the tree is read.
struct ScanProgress {
    bar: ProgressBar,
    quiet: bool,
}

impl scan::Progress for ScanProgress {
    fn files_read(&self, files: u64) {
        self.bar.set_position(files);
    }

    fn scanned(&self, c: &ScanCounts) {
        self.bar.finish_and_clear();
        if !self.quiet {
            eprintln!(
                "treewide: {} files, {} with candidate calls, {} sites, {} files not fully parsed",
                c.files, c.files_matched, c.sites, c.problems
            );
            if c.files_checked < c.files
                || c.files_read < c.files
                || c.files_parsed < c.files_matched
            {
                eprintln!(
                    "treewide: incremental: {} files stat-ed, {} read, {} parsed, {} routed through MAINTAINERS, {} of {} directories listed (the rest unchanged since the last scan)",
                    c.files_checked,
                    c.files_read,
                    c.files_parsed,
                    c.files_routed,
                    c.dirs_listed,
                    c.dirs
                );
            }
        }
    }
}

/// What storing the scan changed: counts, then the sites gone and those matched by code.
fn print_summary(s: &Summary) {
    println!(
        "{}: {} sites, {} new, {} changed, {} status changes, {} gone, {} matched by code near their old line",
        s.campaign,
        s.sites_total,
        s.sites_new,
        s.sites_changed,
        s.status_changes,
        s.gone.len(),
        s.rematched.len()
    );
    for g in &s.gone {
        println!("  gone: {g}");
    }
    for r in &s.rematched {
        println!("  matched: {r}");
    }
}
