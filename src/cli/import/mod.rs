//! `treewide import …`: call sites, mail and history from outside sources, one module per
//! source; each calls its importer entry point once and prints the summary.

mod auditor;
mod history;
mod mail;

use std::path::Path;

use clap::Subcommand;

/// The sources `treewide import` reads.
#[derive(Subcommand)]
pub enum Command {
    /// Import auditor files in the treewide-audit/1 JSON format (docs/auditor-json.md).
    /// All files are checked before any is stored; each file is stored in one transaction.
    Auditor(auditor::Args),
    /// Import list mail (an mbox, a public-inbox v2 mirror or a lore thread), link it to
    /// call sites, propose fixes from patches and record review trailers (docs/mail.md).
    Mail(mail::Args),
    /// Read a kernel repository's history (with gix): the commit that fixed each site, line
    /// drift and renames up to the tip, removed sites, stable backports. Incremental: a second
    /// run reads only new commits (docs/history.md).
    Git(history::GitArgs),
    /// Read a GitHub mirror's history through the REST API, like `import git`: the commit
    /// that fixed each site (with its GitHub page and pull request), line drift, renames,
    /// removed sites. Incremental: a second run reads only commits new on the branch
    /// (docs/github.md).
    Github(history::GithubArgs),
}

/// Run one import against the database at `db`.
pub async fn run(db: &Path, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Auditor(args) => auditor::run(db, args).await,
        Command::Mail(args) => mail::run(db, args).await,
        Command::Git(args) => history::git(db, args).await,
        Command::Github(args) => history::github(db, args).await,
    }
}
