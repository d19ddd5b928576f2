//! The `treewide` subcommands, one module per command group. Each module holds its options,
//! one call into core, the importer or the formats crate, and the printing of what came back;
//! what several of them share (the database, the actor, the output file) is here.

mod accounts;
mod campaign;
mod export;
mod import;
mod listing;
mod maintainers;
mod progress;
mod queue;
mod report;
mod scan;
mod serve;
mod sync;

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use treewide_core::{db, SqlitePool};

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the web dashboard and REST API.
    Serve(serve::Args),
    /// Import call sites from outside sources.
    #[command(subcommand)]
    Import(import::Command),
    /// Scan a kernel source tree for a campaign's calls and store them (or print them as JSON).
    Scan(scan::Args),
    /// Print the MAINTAINERS subsystems of files, most specific first (like get_maintainer.pl
    /// --subsystem), with their maintainers, reviewers, lists and status; `--why` explains
    /// which lines matched each section.
    Maintainers(maintainers::Args),
    /// Write the campaign's state to outside trackers.
    #[command(subcommand)]
    Sync(sync::Command),
    /// Manage accounts (invites).
    #[command(subcommand)]
    User(accounts::UserCommand),
    /// Manage API tokens for bots.
    #[command(subcommand)]
    Token(accounts::TokenCommand),
    /// Print a plain-text status mail: done per subsystem, open questions to owners, and
    /// "Haven't done yet:" lists of file:line: code, ready to paste into a reply.
    Report(report::Args),
    /// List campaigns with their progress.
    Campaigns,
    /// Change a campaign's settings (whose sign-off it takes).
    #[command(subcommand)]
    Campaign(campaign::Command),
    /// List call sites, filtered.
    Sites(listing::SitesArgs),
    /// Write a campaign out as treewide-audit/1 JSON (re-importable) or CSV.
    Export(export::Args),
    /// What waits for one person across campaigns (as /me shows it): questions to their
    /// subsystems, proposals, sites awaiting their sign-off, claims, patches they reviewed.
    Queue(queue::Args),
}

/// Run one subcommand against the database at `db`.
pub async fn run(command: Command, db: &Path) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(db, args).await,
        Command::Import(command) => import::run(db, command).await,
        Command::Scan(args) => scan::run(db, args).await,
        Command::Maintainers(args) => maintainers::run(&args),
        Command::Sync(command) => sync::run(db, command).await,
        Command::User(command) => accounts::user(db, command).await,
        Command::Token(command) => accounts::token(db, command).await,
        Command::Report(args) => report::run(db, args).await,
        Command::Campaigns => listing::campaigns(db).await,
        Command::Campaign(command) => campaign::run(db, command).await,
        Command::Sites(args) => listing::sites(db, args).await,
        Command::Export(args) => export::run(db, args).await,
        Command::Queue(args) => queue::run(db, args).await,
    }
}

/// Open (and migrate) the database, naming it in errors.
async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    db::open(path)
        .await
        .with_context(|| format!("cannot open database {}", path.display()))
}

/// Who acts, as recorded in the history: `--actor` if given, else `$USER`, else `cli`.
fn actor(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

/// `GITHUB_TOKEN`, when set and not empty.
fn github_token() -> Option<String> {
    std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// The `--output` file (created), or standard output; buffered either way.
fn output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}
