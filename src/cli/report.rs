//! `treewide report`: a campaign's plain-text status mail, ready to paste into a reply.

use std::io::Write;
use std::path::Path;

use crate::cli;

/// Options of `treewide report`.
#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    campaign: String,
    /// Only this subsystem (URL slug or MAINTAINERS name).
    #[arg(long)]
    subsystem: Option<String>,
}

/// Print the mail.
pub async fn run(path: &Path, args: Args) -> anyhow::Result<()> {
    let db = cli::open(path).await?;
    // Resolved as the API and the note form resolve it; an unknown key is left for the
    // report to refuse by name.
    let sub = match args.subsystem {
        Some(s) => Some(
            treewide_core::subsystems::resolve(&db, &s)
                .await?
                .map_or(s, |x| x.slug),
        ),
        None => None,
    };
    // Written as it is read: at 100k sites the mail is megabytes.
    let mut report =
        treewide_core::report::Report::start(&db, &args.campaign, sub.as_deref()).await?;
    while let Some(chunk) = report.next_chunk().await? {
        std::io::stdout().write_all(chunk.as_bytes())?;
    }
    Ok(())
}
