//! `treewide import git` and `treewide import github`: a kernel repository's history, read
//! locally with gix or through GitHub's REST API, fed to the same analysis (docs/history.md,
//! docs/github.md).

use std::path::{Path, PathBuf};

use treewide_importer::history::{self, Report};

use crate::cli::{self, progress};

/// Options of `treewide import git`.
#[derive(clap::Args)]
pub struct GitArgs {
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
}

/// Options of `treewide import github`.
#[derive(clap::Args)]
pub struct GithubArgs {
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
}

/// Walk, match, store; report the commits that fixed sites.
pub async fn git(path: &Path, args: GitArgs) -> anyhow::Result<()> {
    let job = history::GitImport {
        repo: args.repo,
        campaign: args.campaign,
        spec: args.spec,
        options: history::git::Options {
            range: args.range,
            branches: args.branch,
        },
        actor: cli::actor(args.actor),
    };
    let db = cli::open(path).await?;
    let bar = progress::spinner(
        args.quiet,
        "{spinner} {msg} {pos}/{len} commits ({per_sec})",
        "reading history:",
    );
    let progress = |n: u64, total: u64| {
        if total > 0 {
            bar.set_length(total);
        }
        bar.set_position(n);
    };
    let report = history::import_git(&db, &job, &progress).await?;
    bar.finish_and_clear();
    print_report(&report, args.quiet, |report| {
        let (st, s) = (&report.stats, &report.summary);
        format!(
            "{}: {} commits in {:.1} s ({:.0} commits/s), {}; {} commits new, {} site links new, {}",
            report.source,
            st.commits,
            report.seconds,
            st.commits as f64 / report.seconds.max(1e-9),
            changes(report),
            s.commits_new,
            s.links_new,
            outcome(report),
        )
    });
    Ok(())
}

/// List, read, match, store; report the commits that fixed sites.
pub async fn github(path: &Path, args: GithubArgs) -> anyhow::Result<()> {
    let job = history::GitHubImport {
        repo: args.repo,
        campaign: args.campaign,
        branch: args.branch,
        spec: args.spec,
        api_url: args.api_url,
        token: cli::github_token(),
        actor: cli::actor(args.actor),
    };
    let db = cli::open(path).await?;
    let bar = progress::spinner(
        args.quiet,
        "{spinner} {msg} {pos}/{len} commits",
        "reading commits from GitHub:",
    );
    let progress = |n: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(n);
    };
    let report = history::import_github(&db, &job, &progress).await?;
    bar.finish_and_clear();
    print_report(&report, args.quiet, |report| {
        let (st, s) = (&report.stats, &report.summary);
        format!(
            "{}: {} commits read with {} requests in {:.1} s, {}; {} commits new, {} site links new, {} pull requests, {}",
            report.source,
            st.commits,
            report.requests.unwrap_or(0),
            report.seconds,
            changes(report),
            s.commits_new,
            s.links_new,
            s.pages_new,
            outcome(report),
        )
    });
    Ok(())
}

/// "N changes of campaign files (M parsed), R renames": what the analyzer looked at.
fn changes(report: &Report) -> String {
    let st = &report.stats;
    format!(
        "{} changes of campaign files ({} parsed), {} renames",
        st.file_changes, st.parsed, st.renames
    )
}

/// "N sites moved, F fixed, G gone, R reopened": what the import did to sites.
fn outcome(report: &Report) -> String {
    let s = &report.summary;
    format!(
        "{} sites moved, {} fixed, {} gone, {} reopened{}",
        s.moved,
        s.fixed.len(),
        s.gone.len(),
        s.reopened.len(),
        if s.is_noop() { " (nothing new)" } else { "" }
    )
}

/// Changes the analysis could not explain (on standard error, even with `--quiet`), then the
/// summary line `counts` makes and the commits that fixed sites.
fn print_report(report: &Report, quiet: bool, counts: impl FnOnce(&Report) -> String) {
    for u in &report.unexplained {
        eprintln!("treewide: {u}");
    }
    if quiet {
        return;
    }
    println!("{}", counts(report));
    for f in &report.fixes {
        println!("  {f}");
    }
}
