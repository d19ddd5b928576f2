//! `treewide import auditor`: auditor files (treewide-audit/1), all checked before any is
//! stored, each stored in one transaction.

use std::path::{Path, PathBuf};

use anyhow::Context;
use treewide_core::ingest::{self, Summary};
use treewide_core::model::EventSource;
use treewide_importer::auditor;

use crate::cli::{self, progress};

/// Options of `treewide import auditor`.
#[derive(clap::Args)]
pub struct Args {
    /// The files to import.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Who is importing, as recorded in the history (default: $USER).
    #[arg(long)]
    actor: Option<String>,
    /// No progress bar or per-file summary.
    #[arg(short, long)]
    quiet: bool,
}

/// Parse every file, then store each; print a line per file.
pub async fn run(path: &Path, args: Args) -> anyhow::Result<()> {
    let actor = cli::actor(args.actor);
    // Check every file before storing any, so a bad file in a list stores nothing.
    let mut batches = Vec::with_capacity(args.files.len());
    for f in &args.files {
        let bytes = progress::read_file(f, args.quiet)?;
        let name = f.display().to_string();
        batches.push(auditor::parse_bytes(
            &name,
            &bytes,
            EventSource::Import,
            &actor,
        )?);
    }
    let db = cli::open(path).await?;
    for batch in &batches {
        let spinner = progress::spinner(
            args.quiet || batch.sites.len() < 10_000,
            "{spinner} {msg}",
            format!(
                "storing {} sites from {}",
                batch.sites.len(),
                batch.origin.name
            ),
        );
        let s = ingest::store(&db, batch)
            .await
            .with_context(|| format!("{}: import failed, nothing stored", batch.origin.name))?;
        spinner.finish_and_clear();
        if !args.quiet {
            print_summary(&batch.origin.name, &s);
        }
    }
    Ok(())
}

/// One file's line: unchanged, or what changed.
fn print_summary(file: &str, s: &Summary) {
    if s.is_noop() {
        println!(
            "{file}: campaign {}: unchanged ({} sites)",
            s.campaign, s.sites_total
        );
    } else {
        println!(
            "{file}: campaign {}: {} sites, {} new, {} changed, {} status changes, {} notes, {} refs{}",
            s.campaign,
            s.sites_total,
            s.sites_new,
            s.sites_changed,
            s.status_changes,
            s.notes_new,
            s.refs_new,
            if s.verdicts_replaced { ", verdict groups replaced" } else { "" }
        );
    }
}
