//! `treewide`: track a treewide Linux kernel API conversion call site by call site.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use treewide_core::model::{SiteId, Status};
use treewide_core::sites::SiteQuery;
use treewide_core::{campaigns, db, ingest, sites, subsystems, SqlitePool};
use treewide_formats::export;
use treewide_importer::{auditor, demo, github_issue, history, mail};

/// mimalloc rather than glibc's malloc: imports allocate and free millions of small strings
/// from several threads (mail parsing, tree scans), where it keeps pages warm and costs less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Track a treewide kernel API conversion (e.g. iov_iter READ/WRITE → ITER_DEST/ITER_SOURCE)
/// across every call site, subsystem by subsystem.
#[derive(Parser)]
#[command(name = "treewide", version, about, long_about = None)]
struct Cli {
    /// SQLite database file (created if missing).
    #[arg(
        long,
        global = true,
        env = "TREEWIDE_DB",
        default_value = "treewide.db"
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web dashboard and REST API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "TREEWIDE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Do not load the built-in demo campaigns into an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Import call sites from outside sources.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Scan a kernel source tree for a campaign's calls and store them (or print them as JSON).
    Scan {
        /// Root of the kernel source tree.
        #[arg(long)]
        tree: PathBuf,
        /// Campaign to fill, by slug; its built-in spec is used unless --spec is given.
        #[arg(long, required_unless_present = "spec")]
        campaign: Option<String>,
        /// Campaign spec: a TOML file (docs/campaign-spec.md) or a built-in name.
        #[arg(long)]
        spec: Option<String>,
        /// Print a treewide-audit/1 document instead of storing.
        #[arg(long)]
        json: bool,
        /// Tree version to record (default: from the tree's Makefile, e.g. v6.1.172).
        #[arg(long)]
        describe: Option<String>,
        /// Output file for --json (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// No progress bar.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Print the MAINTAINERS subsystems of files, most specific first (like get_maintainer.pl
    /// --subsystem), with their maintainers, reviewers, lists and status.
    Maintainers {
        /// Root of the kernel source tree (holding MAINTAINERS).
        #[arg(long, default_value = ".")]
        tree: PathBuf,
        /// Files, relative to the tree root.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Write the campaign's state to outside trackers.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Manage accounts (invites).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for bots.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print a plain-text status mail: done per subsystem, open questions to owners, and
    /// "Haven't done yet:" lists of file:line: code, ready to paste into a reply.
    Report {
        #[arg(long)]
        campaign: String,
        /// Only this subsystem (URL slug or MAINTAINERS name).
        #[arg(long)]
        subsystem: Option<String>,
    },
    /// List campaigns with their progress.
    Campaigns,
    /// List call sites, filtered.
    Sites {
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
    },
    /// Write a campaign out as treewide-audit/1 JSON (re-importable) or CSV.
    Export {
        /// Campaign slug.
        #[arg(long)]
        campaign: String,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Output file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import auditor files in the treewide-audit/1 JSON format (docs/auditor-json.md).
    /// All files are checked before any is stored; each file is stored in one transaction.
    Auditor {
        /// The files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Who is importing, as recorded in the history (default: $USER).
        #[arg(long)]
        actor: Option<String>,
        /// No progress bar or per-file summary.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Import list mail (an mbox, a public-inbox v2 mirror or a lore thread), link it to
    /// call sites, propose fixes from patches and record review trailers (docs/mail.md).
    #[command(group(clap::ArgGroup::new("mail_source").required(true).args(["file", "public_inbox", "lore"])))]
    Mail {
        /// An mbox file, plain or .gz (as `b4 mbox` or lore's t.mbox.gz give it).
        file: Option<PathBuf>,
        /// A public-inbox v2 directory (holding git/0.git, …) or one epoch's bare repository;
        /// only commits newer than the last import are read.
        #[arg(long, value_name = "DIR")]
        public_inbox: Option<PathBuf>,
        /// Fetch the thread of this Message-ID from lore (`{base}/all/MSGID/t.mbox.gz`).
        #[arg(long, value_name = "MSGID")]
        lore: Option<String>,
        /// Base URL of the public-inbox server for --lore.
        #[arg(long, value_name = "URL", default_value = treewide_importer::mail::lore::LORE, requires = "lore")]
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
    },
    /// Read a kernel repository's history (with gix): the commit that fixed each site, line
    /// drift and renames up to the tip, removed sites, stable backports. Incremental: a second
    /// run reads only new commits (docs/history.md).
    Git {
        /// The repository (a clone or a bare mirror).
        #[arg(long)]
        repo: PathBuf,
        /// The campaign whose sites to follow.
        #[arg(long, value_name = "SLUG")]
        campaign: String,
        /// Read only A..B (commits reachable from B, not from A); positions are taken at B.
        /// Default: HEAD and every local branch, positions at HEAD.
        #[arg(long, value_name = "A..B", conflicts_with = "branch")]
        range: Option<String>,
        /// Read these branches (or revisions) instead of HEAD and every local branch; the first
        /// gives the positions. Repeatable.
        #[arg(long)]
        branch: Vec<String>,
        /// Campaign spec (file or built-in name) that classifies calls (default: the
        /// campaign's built-in spec).
        #[arg(long)]
        spec: Option<String>,
        /// Who is importing, as recorded in the history (default: $USER).
        #[arg(long)]
        actor: Option<String>,
        /// No progress bar or summary.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Read a GitHub mirror's history through the REST API, like `import git`: the commit
    /// that fixed each site (with its GitHub page and pull request), line drift, renames,
    /// removed sites. Incremental: a second run reads only commits new on the branch
    /// (docs/github.md).
    Github {
        /// The repository, OWNER/NAME.
        #[arg(long, value_name = "OWNER/NAME")]
        repo: String,
        /// The campaign whose sites to follow.
        #[arg(long, value_name = "SLUG")]
        campaign: String,
        /// The branch to read (default: the repository's default branch).
        #[arg(long)]
        branch: Option<String>,
        /// Campaign spec (file or built-in name) that classifies calls (default: the
        /// campaign's built-in spec).
        #[arg(long)]
        spec: Option<String>,
        /// The REST API's base URL (GitHub Enterprise: https://HOST/api/v3).
        #[arg(long, value_name = "URL", env = "TREEWIDE_GITHUB_API", default_value = treewide_importer::github::DEFAULT_API)]
        api_url: String,
        /// Who is importing, as recorded in the history (default: $USER).
        #[arg(long)]
        actor: Option<String>,
        /// No progress bar or summary.
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum SyncCommand {
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

#[derive(Subcommand)]
enum UserCommand {
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

#[derive(Subcommand)]
enum TokenCommand {
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

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TREEWIDE_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("treewide: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("treewide: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn open(path: &Path) -> anyhow::Result<SqlitePool> {
    db::open(path)
        .await
        .with_context(|| format!("cannot open database {}", path.display()))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { listen, no_demo } => serve(&cli.db, &listen, no_demo).await,
        Command::Import(ImportCommand::Auditor {
            files,
            actor,
            quiet,
        }) => import_auditor(&cli.db, &files, actor, quiet).await,
        Command::Import(ImportCommand::Mail {
            file,
            public_inbox,
            lore,
            lore_base,
            campaign,
            actor,
            quiet,
        }) => {
            let source = match (file, public_inbox, lore) {
                (Some(f), _, _) => mail::Source::Mbox(f),
                (_, Some(d), _) => mail::Source::PublicInbox(d),
                (_, _, Some(msgid)) => mail::Source::Lore {
                    msgid,
                    base: lore_base,
                },
                (None, None, None) => anyhow::bail!("give an mbox file, --public-inbox or --lore"),
            };
            import_mail(&cli.db, source, campaign, actor, quiet).await
        }
        Command::Import(ImportCommand::Git {
            repo,
            campaign,
            range,
            branch,
            spec,
            actor,
            quiet,
        }) => {
            let job = history::GitImport {
                repo,
                campaign,
                spec,
                options: history::git::Options {
                    range,
                    branches: branch,
                },
                actor: actor_or_user(actor),
            };
            import_git(&cli.db, &job, quiet).await
        }
        Command::Import(ImportCommand::Github {
            repo,
            campaign,
            branch,
            spec,
            api_url,
            actor,
            quiet,
        }) => {
            let job = history::GitHubImport {
                repo,
                campaign,
                branch,
                spec,
                api_url,
                token: github_token(),
                actor: actor_or_user(actor),
            };
            import_github(&cli.db, &job, quiet).await
        }
        Command::Sync(SyncCommand::GithubIssue {
            repo,
            issue,
            campaign,
            api_url,
            base_url,
        }) => {
            let db = open(&cli.db).await?;
            let job = github_issue::IssueSync {
                repo,
                issue,
                campaign,
                api_url,
                token: github_token(),
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
        Command::Scan {
            tree,
            campaign,
            spec,
            json,
            describe,
            output,
            quiet,
        } => {
            scan(
                &cli.db, &tree, campaign, spec, json, describe, output, quiet,
            )
            .await
        }
        Command::Maintainers { tree, files } => print_maintainers(&tree, &files),
        Command::User(UserCommand::Add {
            email,
            name,
            admin,
            base_url,
        }) => {
            let db = open(&cli.db).await?;
            let (user, token) = treewide_core::users::invite(&db, &email, &name, admin).await?;
            println!("{}/invite/{token}", base_url.trim_end_matches('/'));
            eprintln!(
                "invited {}{}: the link works once, for {} days",
                user.email,
                if user.is_admin { " (admin)" } else { "" },
                treewide_core::users::INVITE_DAYS
            );
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            email,
            scopes,
            name,
        }) => {
            let db = open(&cli.db).await?;
            let user = treewide_core::users::by_email(&db, &email)
                .await?
                .with_context(|| {
                    format!("no user {email} (invite them with `treewide user add`)")
                })?;
            let scopes = scopes
                .iter()
                .map(|s| treewide_core::users::Scope::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            let (_, token) =
                treewide_core::users::create_token(&db, user.id, &name, &scopes).await?;
            println!("{token}");
            eprintln!("token for {} created; it is not shown again", user.email);
            Ok(())
        }
        Command::Report {
            campaign,
            subsystem,
        } => {
            let db = open(&cli.db).await?;
            let sub = subsystem.map(|s| {
                if s.chars().any(|c| c.is_ascii_uppercase() || c == ' ') {
                    treewide_core::model::subsystem_slug(&s)
                } else {
                    s
                }
            });
            print!(
                "{}",
                treewide_core::report::render(&db, &campaign, sub.as_deref()).await?
            );
            Ok(())
        }
        Command::Campaigns => list_campaigns(&cli.db).await,
        Command::Sites {
            campaign,
            subsystem,
            status,
            file,
            callee,
            limit,
        } => {
            let db = open(&cli.db).await?;
            let mut q = SiteQuery {
                status,
                file,
                callee,
                ..Default::default()
            };
            if let Some(c) = campaign {
                q.campaign = Some(campaigns::get(&db, &c).await?.id);
            }
            if let Some(s) = subsystem {
                let slug = treewide_core::model::subsystem_slug(&s);
                let key = if s.chars().any(|c| c.is_ascii_uppercase() || c == ' ') {
                    slug
                } else {
                    s
                };
                q.subsystem = Some(subsystems::filter(&db, &key).await?.0);
            }
            print_sites(&db, &q, limit.unwrap_or(u64::MAX)).await
        }
        Command::Export {
            campaign,
            format,
            output,
        } => {
            let db = open(&cli.db).await?;
            let mut out: Box<dyn Write + Send> = match &output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            match format {
                Format::Json => export::write_json(&db, &campaign, &mut out).await?,
                Format::Csv => {
                    let c = campaigns::get(&db, &campaign).await?;
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
    }
}

async fn serve(path: &Path, listen: &str, no_demo: bool) -> anyhow::Result<()> {
    let db = open(path).await?;
    if !no_demo && campaigns::is_empty(&db).await? {
        for s in demo::load(&db).await? {
            tracing::info!(campaign = %s.campaign, sites = s.sites_total, "loaded the demo campaign");
        }
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("treewide: serving {} on http://{addr}/", path.display());
    treewide_server::serve(listener, db).await?;
    Ok(())
}

fn read_with_progress(path: &Path, quiet: bool) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if quiet || len < (4 << 20) {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    bar.set_message(format!("reading {}", path.display()));
    let mut bytes = Vec::with_capacity(len as usize);
    bar.wrap_read(file)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    bar.finish_and_clear();
    Ok(bytes)
}

fn actor_or_user(actor: Option<String>) -> String {
    actor
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into())
}

/// A ticking progress bar with a static `template` (hidden when `quiet`).
fn spinner(quiet: bool, template: &'static str, message: &'static str) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(ProgressStyle::with_template(template).expect("static template"));
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// `treewide import git`: walk, match, store; report the commits that fixed sites.
async fn import_git(path: &Path, job: &history::GitImport, quiet: bool) -> anyhow::Result<()> {
    let db = open(path).await?;
    let bar = spinner(
        quiet,
        "{spinner} {msg} {pos}/{len} commits ({per_sec})",
        "reading history:",
    );
    let progress = |n: u64, total: u64| {
        if total > 0 {
            bar.set_length(total);
        }
        bar.set_position(n);
    };
    let report = history::import_git(&db, job, &progress).await?;
    bar.finish_and_clear();
    for u in &report.unexplained {
        eprintln!("treewide: {u}");
    }
    if !quiet {
        let (st, s) = (&report.stats, &report.summary);
        println!(
            "{}: {} commits in {:.1} s ({:.0} commits/s), {} changes of campaign files ({} parsed), {} renames; {} commits new, {} site links new, {} sites moved, {} fixed, {} gone{}",
            report.source,
            st.commits,
            report.seconds,
            st.commits as f64 / report.seconds.max(1e-9),
            st.file_changes,
            st.parsed,
            st.renames,
            s.commits_new,
            s.links_new,
            s.moved,
            s.fixed.len(),
            s.gone.len(),
            if s.is_noop() { " (nothing new)" } else { "" }
        );
        for f in &report.fixes {
            println!("  {f}");
        }
    }
    Ok(())
}

/// `GITHUB_TOKEN`, when set and not empty.
fn github_token() -> Option<String> {
    std::env::var("GITHUB_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// `treewide import github`: list, read, match, store; report the commits that fixed sites.
async fn import_github(
    path: &Path,
    job: &history::GitHubImport,
    quiet: bool,
) -> anyhow::Result<()> {
    let db = open(path).await?;
    let bar = spinner(
        quiet,
        "{spinner} {msg} {pos}/{len} commits",
        "reading commits from GitHub:",
    );
    let progress = |n: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(n);
    };
    let report = history::import_github(&db, job, &progress).await?;
    bar.finish_and_clear();
    for u in &report.unexplained {
        eprintln!("treewide: {u}");
    }
    if !quiet {
        let (st, s) = (&report.stats, &report.summary);
        println!(
            "{}: {} commits read with {} requests in {:.1} s, {} changes of campaign files ({} parsed), {} renames; {} commits new, {} site links new, {} pull requests, {} sites moved, {} fixed, {} gone{}",
            report.source,
            st.commits,
            report.requests.unwrap_or(0),
            report.seconds,
            st.file_changes,
            st.parsed,
            st.renames,
            s.commits_new,
            s.links_new,
            s.pages_new,
            s.moved,
            s.fixed.len(),
            s.gone.len(),
            if s.is_noop() { " (nothing new)" } else { "" }
        );
        for f in &report.fixes {
            println!("  {f}");
        }
    }
    Ok(())
}

/// `treewide import mail`: read, parse, link and store; report skipped messages.
async fn import_mail(
    path: &Path,
    source: mail::Source,
    campaign: Option<String>,
    actor: Option<String>,
    quiet: bool,
) -> anyhow::Result<()> {
    let db = open(path).await?;
    let opts = mail::Options {
        campaign,
        actor: actor
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into()),
    };
    let report = mail::import(&db, &source, &opts).await?;
    for s in &report.skipped {
        eprintln!("treewide: skipped {s}");
    }
    if !quiet {
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
    Ok(())
}

async fn import_auditor(
    path: &Path,
    files: &[PathBuf],
    actor: Option<String>,
    quiet: bool,
) -> anyhow::Result<()> {
    let actor = actor
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    // Check every file before storing any, so a bad file in a list stores nothing.
    let mut batches = Vec::with_capacity(files.len());
    for f in files {
        let bytes = read_with_progress(f, quiet)?;
        let batch = auditor::parse_bytes(
            &f.display().to_string(),
            &bytes,
            treewide_core::model::EventSource::Import,
            &actor,
        )?;
        batches.push(batch);
    }
    let db = open(path).await?;
    for batch in &batches {
        let spinner = if quiet || batch.sites.len() < 10_000 {
            ProgressBar::hidden()
        } else {
            ProgressBar::new_spinner()
        };
        spinner.set_message(format!(
            "storing {} sites from {}",
            batch.sites.len(),
            batch.origin.name
        ));
        spinner.enable_steady_tick(Duration::from_millis(120));
        let s = ingest::store(&db, batch)
            .await
            .with_context(|| format!("{}: import failed, nothing stored", batch.origin.name))?;
        spinner.finish_and_clear();
        if !quiet {
            if s.is_noop() {
                println!(
                    "{}: campaign {}: unchanged ({} sites)",
                    batch.origin.name, s.campaign, s.sites_total
                );
            } else {
                println!(
                    "{}: campaign {}: {} sites, {} new, {} changed, {} status changes, {} notes, {} refs{}",
                    batch.origin.name,
                    s.campaign,
                    s.sites_total,
                    s.sites_new,
                    s.sites_changed,
                    s.status_changes,
                    s.notes_new,
                    s.refs_new,
                    if s.verdicts_replaced { ", verdict groups replaced" } else { "" }
                );
            }
        }
    }
    Ok(())
}

/// The scan's progress bar and the count line it prints once the tree is read.
struct ScanProgress {
    bar: ProgressBar,
    quiet: bool,
}

impl treewide_importer::scan::Progress for ScanProgress {
    fn files_read(&self, files: u64) {
        self.bar.set_position(files);
    }

    fn scanned(&self, c: &treewide_importer::scan::ScanCounts) {
        self.bar.finish_and_clear();
        if !self.quiet {
            eprintln!(
                "treewide: {} files, {} with candidate calls, {} sites, {} files not fully parsed",
                c.files, c.files_matched, c.sites, c.problems
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn scan(
    db: &Path,
    tree: &Path,
    campaign: Option<String>,
    spec: Option<String>,
    json: bool,
    describe: Option<String>,
    output: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    use treewide_formats::spec::Spec;
    use treewide_importer::scan;
    let spec = match (spec, &campaign) {
        (Some(s), _) => Spec::load(&s)?,
        (None, Some(c)) => Spec::load(c)?,
        (None, None) => anyhow::bail!("give --campaign or --spec"),
    };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} scanning: {pos} files read ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        )
    };
    bar.enable_steady_tick(Duration::from_millis(120));
    let progress = ScanProgress { bar, quiet };
    let req = scan::ScanRequest {
        tree: tree.to_path_buf(),
        spec,
        campaign,
        describe,
        actor: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
    };
    if json {
        let doc = scan::document(&req, &progress)?;
        let mut out: Box<dyn Write> = match &output {
            Some(p) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        };
        treewide_formats::audit::write(&doc, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    let db = open(db).await?;
    let report = scan::run(&db, &req, &progress).await?;
    if !quiet {
        let s = &report.summary;
        println!(
            "{}: {} sites, {} new, {} changed, {} status changes, {} gone, {} matched by code near their old line",
            s.campaign,
            s.sites_total,
            s.sites_new,
            s.sites_changed,
            s.status_changes,
            s.gone.len(),
            s.rematched.len()
        );
        for g in &s.gone {
            println!("  gone: {g}");
        }
        for r in &s.rematched {
            println!("  matched: {r}");
        }
    }
    Ok(())
}

fn print_maintainers(tree: &Path, files: &[String]) -> anyhow::Result<()> {
    let m = treewide_importer::maintainers::from_tree(tree)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for f in files {
        let rel = f.trim_start_matches("./");
        let content = std::fs::read(tree.join(rel)).ok();
        let content = content.as_deref().map(String::from_utf8_lossy);
        if files.len() > 1 {
            writeln!(out, "{rel}:")?;
        }
        for e in m.subsystems_for(rel, content.as_deref()) {
            writeln!(
                out,
                "{}{}",
                e.name,
                e.status
                    .as_deref()
                    .map(|s| format!("  [{s}]"))
                    .unwrap_or_default()
            )?;
            for p in &e.maintainers {
                writeln!(out, "  M: {p}")?;
            }
            for p in &e.reviewers {
                writeln!(out, "  R: {p}")?;
            }
            for l in &e.lists {
                writeln!(out, "  L: {l}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

async fn list_campaigns(path: &Path) -> anyhow::Result<()> {
    let db = open(path).await?;
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
