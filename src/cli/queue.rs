//! `treewide queue`: what waits for one person, as `/me` shows it.

use std::io::Write;
use std::path::Path;

use treewide_core::queue;

/// Options of `treewide queue`.
#[derive(clap::Args)]
pub struct Args {
    /// The person's address, as MAINTAINERS lists it.
    #[arg(long)]
    email: String,
    /// Print JSON (the API's `queue`) instead of text.
    #[arg(long)]
    json: bool,
}

/// Print the queue of `--email`.
pub async fn run(db: &Path, args: Args) -> anyhow::Result<()> {
    let pool = super::open(db).await?;
    let q = queue::for_email(&pool, &args.email).await?;
    let mut out = super::output(None)?;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &q)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    if q.subsystems.is_empty() {
        writeln!(out, "No MAINTAINERS section lists {}.", q.email)?;
    } else {
        let names: Vec<String> = q
            .subsystems
            .iter()
            .map(|s| format!("{} ({})", s.name, s.role))
            .collect();
        writeln!(out, "{}: {}", q.email, names.join(", "))?;
    }
    writeln!(out, "\nOpen questions ({}):", q.questions.len())?;
    for x in &q.questions {
        let place = x.place.as_deref().unwrap_or("campaign");
        writeln!(
            out,
            "  [{}] {place}: {} (asked of {} by {})",
            x.campaign, x.text, x.subsystem, x.asked_by
        )?;
    }
    writeln!(out, "\nProposals waiting ({}):", q.proposals.len())?;
    for p in &q.proposals {
        writeln!(
            out,
            "  [{}] #{} {}:{} {} -> {} by {}: {}",
            p.campaign, p.id, p.file, p.line, p.from, p.to, p.author, p.reason
        )?;
    }
    writeln!(out, "\nSites awaiting sign-off ({}):", q.awaiting_total)?;
    for s in &q.awaiting_signoff {
        writeln!(
            out,
            "  [{}] {} {} ({})",
            s.campaign, s.place, s.status, s.subsystem
        )?;
    }
    if q.awaiting_total > q.awaiting_signoff.len() as i64 {
        writeln!(
            out,
            "  … and {} more",
            q.awaiting_total - q.awaiting_signoff.len() as i64
        )?;
    }
    writeln!(out, "\nClaims ({}):", q.claims.len())?;
    for c in &q.claims {
        let what = c.place.as_deref().or(c.subsystem.as_deref()).unwrap_or("");
        writeln!(out, "  [{}] {what} until {}", c.campaign, c.expires_at)?;
    }
    writeln!(
        out,
        "\nPatches you reviewed that propose fixes ({}):",
        q.reviewed_patches.len()
    )?;
    for r in &q.reviewed_patches {
        writeln!(
            out,
            "  [{}] {} ({}, {} sites)",
            r.campaign, r.subject, r.trailer, r.sites
        )?;
    }
    out.flush()?;
    Ok(())
}
