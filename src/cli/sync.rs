//! `treewide sync …`: write a campaign's state to outside trackers (docs/github.md).

use std::path::Path;

use clap::Subcommand;
use treewide_importer::github_issue;

use crate::cli;

/// The trackers `treewide sync` writes to.
#[derive(Subcommand)]
pub enum Command {
    /// Write the campaign's checklist (progress per subsystem, one line per site) into a
    /// GitHub issue, between markers it owns; the rest of the issue is kept. The issue is
    /// edited only when the checklist changed (docs/github.md).
    GithubIssue {
        /// The repository, OWNER/NAME.
        #[arg(long, value_name = "OWNER/NAME")]
        repo: String,
        /// The issue number.
        #[arg(long)]
        issue: u64,
        /// The campaign whose checklist to write.
        #[arg(long, value_name = "SLUG")]
        campaign: String,
        /// The REST API's base URL (GitHub Enterprise: https://HOST/api/v3).
        #[arg(long, value_name = "URL", env = "TREEWIDE_GITHUB_API", default_value = treewide_importer::github::DEFAULT_API)]
        api_url: String,
        /// The dashboard's address, to link each site to its page (e.g. https://treewide.example).
        #[arg(long, value_name = "URL", env = "TREEWIDE_BASE_URL")]
        base_url: Option<String>,
    },
}

/// Write the checklist; say whether the issue changed.
pub async fn run(path: &Path, command: Command) -> anyhow::Result<()> {
    let Command::GithubIssue {
        repo,
        issue,
        campaign,
        api_url,
        base_url,
    } = command;
    let db = cli::open(path).await?;
    let job = github_issue::IssueSync {
        repo,
        issue,
        campaign,
        api_url,
        token: cli::github_token(),
        base_url,
    };
    match github_issue::sync(&db, &job).await? {
        github_issue::Synced::Unchanged => {
            println!("{} #{}: unchanged", job.repo, job.issue)
        }
        github_issue::Synced::Updated { bytes } => {
            println!("{} #{}: updated ({bytes} characters)", job.repo, job.issue)
        }
    }
    Ok(())
}
