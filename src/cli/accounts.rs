//! `treewide user …` and `treewide token …`: invite people, create API tokens for bots.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;
use treewide_core::users;

use crate::cli;

/// `treewide user`.
#[derive(Subcommand)]
pub enum UserCommand {
    /// Invite a person: prints a one-time link where they set their password. Maintainers and
    /// reviewers are recognised by the email MAINTAINERS lists for them.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// May sign off any site and answer any question.
        #[arg(long)]
        admin: bool,
        /// The server's address as people reach it, for the link.
        #[arg(
            long,
            env = "TREEWIDE_BASE_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        base_url: String,
    },
}

/// `treewide token`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is printed once and stored hashed.
    Create {
        /// The user the token acts as.
        #[arg(long)]
        email: String,
        /// Scopes: read, notes:write, status:write (repeat the option for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// Invite: the link on standard output, how long it lasts on standard error.
pub async fn user(path: &Path, command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        email,
        name,
        admin,
        base_url,
    } = command;
    let db = cli::open(path).await?;
    let (user, token) = users::invite(&db, &email, &name, admin).await?;
    println!("{}/invite/{token}", base_url.trim_end_matches('/'));
    eprintln!(
        "invited {}{}: the link works once, for {} days",
        user.email,
        if user.is_admin { " (admin)" } else { "" },
        users::INVITE_DAYS
    );
    Ok(())
}

/// Create a token: the token on standard output, once.
pub async fn token(path: &Path, command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create {
        email,
        scopes,
        name,
    } = command;
    let db = cli::open(path).await?;
    let user = users::by_email(&db, &email)
        .await?
        .with_context(|| format!("no user {email} (invite them with `treewide user add`)"))?;
    let scopes = scopes
        .iter()
        .map(|s| users::Scope::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let (_, token) = users::create_token(&db, user.id, &name, &scopes).await?;
    println!("{token}");
    eprintln!("token for {} created; it is not shown again", user.email);
    Ok(())
}
