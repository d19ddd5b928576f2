//! `treewide export`: a campaign as treewide-audit/1 JSON (re-importable) or CSV, written by
//! the formats crate, the same writers the web export uses.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use treewide_core::campaigns;
use treewide_core::sites::SiteQuery;
use treewide_formats::export;

use crate::cli;

/// Options of `treewide export`.
#[derive(clap::Args)]
pub struct Args {
    /// Campaign slug.
    #[arg(long)]
    campaign: String,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Output file (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

/// What `--format` picks.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
}

/// Write the campaign.
pub async fn run(path: &Path, args: Args) -> anyhow::Result<()> {
    let db = cli::open(path).await?;
    let mut out = cli::output(args.output.as_deref())?;
    match args.format {
        Format::Json => export::write_json(&db, &args.campaign, &mut out).await?,
        Format::Csv => {
            let c = campaigns::get(&db, &args.campaign).await?;
            let q = SiteQuery {
                campaign: Some(c.id),
                ..Default::default()
            };
            export::write_csv(&db, &q, &mut out).await?
        }
    }
    out.flush()?;
    Ok(())
}
