//! `treewide report`: a campaign's plain-text status mail, ready to paste into a reply.

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
    let sub = args.subsystem.map(cli::subsystem_key);
    print!(
        "{}",
        treewide_core::report::render(&db, &args.campaign, sub.as_deref()).await?
    );
    Ok(())
}
