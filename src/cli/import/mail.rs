//! `treewide import mail`: list mail from an mbox, a public-inbox mirror or lore, linked to
//! call sites (docs/mail.md).

use std::path::{Path, PathBuf};

use treewide_importer::mail;

use crate::cli;

/// Options of `treewide import mail`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("mail_source").required(true).args(["file", "public_inbox", "lore"])))]
pub struct Args {
    /// An mbox file, plain or .gz (as `b4 mbox` or lore's t.mbox.gz give it).
    file: Option<PathBuf>,
    /// A public-inbox v2 directory (holding git/0.git, …) or one epoch's bare repository
    /// under any name (recognised by its content); only commits newer than the last import
    /// of that epoch are read.
    #[arg(long, value_name = "DIR")]
    public_inbox: Option<PathBuf>,
    /// Fetch the thread of this Message-ID from lore (`{base}/all/MSGID/t.mbox.gz`).
    #[arg(long, value_name = "MSGID")]
    lore: Option<String>,
    /// Base URL of the public-inbox server for --lore.
    #[arg(long, value_name = "URL", default_value = mail::lore::LORE, requires = "lore")]
    lore_base: String,
    /// Link only to this campaign's sites (default: every campaign's).
    #[arg(long, value_name = "SLUG")]
    campaign: Option<String>,
    /// Who is importing, as recorded in the history (default: $USER).
    #[arg(long)]
    actor: Option<String>,
    /// No summary; skipped messages are still reported on standard error.
    #[arg(short, long)]
    quiet: bool,
}

/// Read, parse, link and store; report skipped messages.
pub async fn run(path: &Path, args: Args) -> anyhow::Result<()> {
    let source = match (args.file, args.public_inbox, args.lore) {
        (Some(f), _, _) => mail::Source::Mbox(f),
        (_, Some(d), _) => mail::Source::PublicInbox(d),
        (_, _, Some(msgid)) => mail::Source::Lore {
            msgid,
            base: args.lore_base,
        },
        (None, None, None) => anyhow::bail!("give an mbox file, --public-inbox or --lore"),
    };
    let db = cli::open(path).await?;
    let opts = mail::Options {
        campaign: args.campaign,
        actor: cli::actor(args.actor),
    };
    let report = mail::import(&db, &source, &opts).await?;
    for s in &report.skipped {
        eprintln!("treewide: skipped {s}");
    }
    if !args.quiet {
        print_summary(&report);
    }
    Ok(())
}

/// The import's counts, and the sites a patch proposed a fix for.
fn print_summary(report: &mail::Report) {
    let s = &report.summary;
    println!(
        "{}: {} messages ({} new, {} duplicate, {} skipped) in {} threads; {} new links, {} fixes proposed, {} trailers, {} answers{}",
        report.source,
        s.messages,
        s.messages_new,
        s.duplicates,
        report.skipped.len(),
        s.threads,
        s.links_new,
        s.fix_proposed.len(),
        s.trailers_new,
        s.answers_new,
        if s.is_noop() { " (nothing new)" } else { "" }
    );
    for site in &s.fix_proposed {
        println!("  fix proposed: {site}");
    }
}
