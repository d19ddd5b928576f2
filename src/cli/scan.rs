//! `treewide scan`: scan a kernel tree for a campaign's calls and store them, or print them
//! as a treewide-audit/1 document (`--json`). The pipeline is the importer's `scan` entry
//! point; this module draws its progress and prints its summary.

use std::io::Write;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use treewide_core::ingest::Summary;
use treewide_formats::{audit, spec::Spec};
use treewide_importer::scan::{self, ScanCounts, ScanRequest};

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
}

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
    let req = ScanRequest {
        tree: args.tree,
        spec,
        campaign: args.campaign,
        describe: args.describe,
        actor: cli::actor(None),
        full: args.full,
    };
    if args.json {
        let doc = scan::document(&req, &progress)?;
        let mut out = cli::output(args.output.as_deref())?;
        audit::write(&doc, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let db = cli::open(path).await?;
    let report = scan::run(&db, &req, &progress).await?;
    if !args.quiet {
        print_summary(&report.summary);
    }
    Ok(())
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
            if c.files_read < c.files || c.files_parsed < c.files_matched {
                eprintln!(
                    "treewide: incremental: {} files read, {} parsed, {} routed through MAINTAINERS, {} of {} directories listed (the rest unchanged since the last scan)",
                    c.files_read, c.files_parsed, c.files_routed, c.dirs_listed, c.dirs
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
