//! `treewide campaign`: settings of one campaign that its lead changes.

use std::path::Path;

use treewide_core::campaigns;
use treewide_core::model::SignoffScope;

use crate::cli;

/// `treewide campaign …`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Whose sign-off the campaign takes: `specific` (default: the maintainers and reviewers
    /// of the most specific MAINTAINERS sections of the site's file, the primary and any as
    /// deep) or `any-section` (of every section that matches the file, THE REST included).
    /// Admins always may.
    SetSignoffScope {
        /// Campaign slug.
        campaign: String,
        /// `specific` or `any-section`.
        scope: SignoffScope,
    },
}

/// Run a `campaign` subcommand.
pub async fn run(path: &Path, command: Command) -> anyhow::Result<()> {
    let db = cli::open(path).await?;
    match command {
        Command::SetSignoffScope { campaign, scope } => {
            let old = campaigns::set_signoff_scope(
                &db,
                &campaign,
                scope,
                &cli::actor(None),
                treewide_core::model::EventSource::Cli,
            )
            .await?;
            let name = |s: SignoffScope| s.as_str().replace('_', "-");
            if old == scope {
                println!("{campaign}: sign-off scope already {}", name(scope));
            } else {
                println!(
                    "{campaign}: sign-off scope {} (was {}): {} may sign off, and admins",
                    name(scope),
                    name(old),
                    scope.describe()
                );
            }
            Ok(())
        }
    }
}
