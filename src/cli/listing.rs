//! `treewide campaigns` and `treewide sites`: campaigns with their progress, and call sites
//! filtered, one line each.

use std::io::Write;
use std::path::Path;

use treewide_core::model::{SiteId, Status};
use treewide_core::sites::SiteQuery;
use treewide_core::{campaigns, sites, subsystems, SqlitePool};

use crate::cli;

/// Options of `treewide sites`.
#[derive(clap::Args)]
pub struct SitesArgs {
    /// Campaign slug.
    #[arg(long)]
    campaign: Option<String>,
    /// Subsystem slug (as in the dashboard URL) or exact MAINTAINERS name.
    #[arg(long)]
    subsystem: Option<String>,
    /// Status: unreviewed, needs_fix, needs_pin, awaiting_owner, fix_proposed, fixed, confirmed_safe, gone.
    #[arg(long)]
    status: Option<Status>,
    /// File path or glob (fs/cifs/*).
    #[arg(long)]
    file: Option<String>,
    /// Callee name.
    #[arg(long)]
    callee: Option<String>,
    /// Print at most this many sites.
    #[arg(long)]
    limit: Option<u64>,
}

/// One line per campaign: counts per status, open questions, title.
pub async fn campaigns(path: &Path) -> anyhow::Result<()> {
    let db = cli::open(path).await?;
    let list = campaigns::list(&db).await?;
    if list.is_empty() {
        println!("no campaigns (import one with `treewide import auditor FILE`)");
    }
    for c in list {
        let k = &c.counts;
        println!(
            "{:<24} {:>6}/{:<6} done {:>3.0}%  fix {} pin {} owner {} unreviewed {} proposed {}  questions {}  {}",
            c.slug,
            k.done(),
            k.total(),
            k.percent_done(),
            k.get(Status::NeedsFix),
            k.get(Status::NeedsPin),
            k.get(Status::AwaitingOwner),
            k.get(Status::Unreviewed),
            k.get(Status::FixProposed),
            c.open_questions,
            c.title
        );
    }
    Ok(())
}

/// The sites matching the filters, one line each.
pub async fn sites(path: &Path, args: SitesArgs) -> anyhow::Result<()> {
    let db = cli::open(path).await?;
    let mut q = SiteQuery {
        status: args.status,
        file: args.file,
        callee: args.callee,
        ..Default::default()
    };
    if let Some(c) = args.campaign {
        q.campaign = Some(campaigns::get(&db, &c).await?.id);
    }
    if let Some(s) = args.subsystem {
        q.subsystem = Some(subsystems::filter(&db, &s).await?.0);
    }
    print_sites(&db, &q, args.limit.unwrap_or(u64::MAX)).await
}

/// Page through the sites, `file:line: status function kind code [subsystem]`.
async fn print_sites(db: &SqlitePool, q: &SiteQuery, limit: u64) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = SiteId(0);
    let mut n = 0u64;
    'pages: loop {
        let page = sites::list(db, q, after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in page {
            if n >= limit {
                break 'pages;
            }
            n += 1;
            let line = format!(
                "{}:{}: {:<15} {:<10} {:<12} {}  [{}]",
                s.file,
                s.line,
                s.status,
                s.function.as_deref().unwrap_or("-"),
                s.iter_kind,
                s.code.split_whitespace().collect::<Vec<_>>().join(" "),
                s.subsystem.as_deref().unwrap_or("no subsystem")
            );
            if writeln!(out, "{line}").is_err() {
                return Ok(()); // reader went away (e.g. `| head`)
            }
        }
    }
    let _ = out.flush();
    Ok(())
}
