//! History: which commit fixed, changed, moved or removed each call site.
//!
//! A source (a local repository read with gix in [`git`], or GitHub in [`github`]) hands the
//! [`Analyzer`] every change of a watched file: the file's content before and after one
//! commit. The analyzer diffs the two by lines and, only where a changed region can hold a
//! campaign call, parses both versions with the scanner and pairs the calls (unchanged lines
//! by position, changed ones by function, callee and normalised code). A pair the campaign's
//! classifier calls fixed after and not before is a fix; a changed direction argument is a
//! change; a call with no counterpart is removed. None of this depends on the order commits
//! come in, so merges and side branches need no special care: every non-merge commit is
//! looked at once.
//!
//! [`Analyzer::finish`] then matches what happened to the stored sites: by the file's lineage
//! (renames link paths), callee and normalised code (which reads `READ` as `ITER_DEST`, so a
//! fix keeps its call's identity), with the enclosing function breaking ties. Where each site
//! is now comes from scanning the watched files at the tip, which is also what decides
//! "fixed": the tip's code, with the fixing commit as its evidence. A site the tip no longer
//! has is gone only when a commit in the history read removed it.

mod analyze;
pub mod git;
pub mod github;

pub use analyze::{Analyzer, Outcome, SourceCommit, Stats};

use std::collections::BTreeMap;

use treewide_core::history::TrackedSite;

use treewide_formats::spec::Spec;

/// The campaign's sites; none is an error (there would be nothing to follow).
async fn tracked_sites(
    db: &treewide_core::SqlitePool,
    campaign: &treewide_core::campaigns::Campaign,
) -> anyhow::Result<Vec<TrackedSite>> {
    let sites = treewide_core::history::tracked_sites(db, campaign.id).await?;
    if sites.is_empty() {
        anyhow::bail!(
            "campaign {} has no sites yet: scan a tree (treewide scan) or import an audit first",
            campaign.slug
        );
    }
    Ok(sites)
}

/// What `treewide import git` needs besides the repository.
#[derive(Debug, Clone)]
pub struct GitImport {
    pub repo: std::path::PathBuf,
    pub campaign: String,
    /// A campaign spec (file or built-in name) instead of the campaign's own.
    pub spec: Option<String>,
    pub options: git::Options,
    pub actor: String,
}

/// What an import did, for the command's report.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub source: String,
    pub stats: Stats,
    pub seconds: f64,
    pub summary: treewide_core::history::HistorySummary,
    /// Commits linked to sites, by role: (role, short id, subject, sites).
    pub fixes: Vec<String>,
    pub unexplained: Vec<String>,
    /// HTTP requests made (GitHub only).
    pub requests: Option<u64>,
}

/// What `treewide import github` needs.
#[derive(Debug, Clone)]
pub struct GitHubImport {
    /// `OWNER/NAME`.
    pub repo: String,
    pub campaign: String,
    /// Default: the repository's default branch.
    pub branch: Option<String>,
    /// A campaign spec (file or built-in name) instead of the campaign's own.
    pub spec: Option<String>,
    /// The REST API's base URL (GitHub Enterprise, or a test server).
    pub api_url: String,
    pub token: Option<String>,
    pub actor: String,
}

/// `treewide import github`: read a GitHub mirror's history for the campaign's sites through
/// the REST API and store it like `import git` does, with the commits' GitHub pages and pull
/// requests. `progress(commits, total)` follows the commit details read.
pub async fn import_github(
    db: &treewide_core::SqlitePool,
    job: &GitHubImport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Report> {
    let repo = crate::github::RepoName::parse(&job.repo)?;
    let (campaign, sites, spec) =
        campaign_and_sites(db, &job.campaign, job.spec.as_deref()).await?;
    let key = github::repo_key(&repo);
    let done = treewide_core::history::cursors(db, campaign.id, &key).await?;
    let client = crate::github::Client::new(&job.api_url, job.token.as_deref(), repo)?;
    let started = std::time::Instant::now();
    let read = github::read(
        &client,
        job.branch.as_deref(),
        &spec,
        &sites,
        &done,
        progress,
    )
    .await?;
    let read = SourceHistory {
        source: treewide_core::history::HistorySource::GitHub,
        name: format!("github {} ({})", client.repo, read.tip_name),
        seconds: started.elapsed().as_secs_f64(),
        outcome: read.outcome,
        tip: read.tip,
        // GitHub's compare API names no tags: the positions are at the branch's head.
        tip_describe: Some(read.tip_name.clone()),
        files_at_tag: Vec::new(),
        cursors: read.cursors,
        pages: read.pages,
        requests: Some(read.requests),
        promotions: Vec::new(),
    };
    store_read(db, campaign.id, &job.actor, read).await
}

/// `treewide import git`: read the repository's history for the campaign's sites and store
/// what it says, in one transaction. `progress(commits, total)` follows the walk.
pub async fn import_git(
    db: &treewide_core::SqlitePool,
    job: &GitImport,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Report> {
    let (campaign, sites, spec) =
        campaign_and_sites(db, &job.campaign, job.spec.as_deref()).await?;
    let key = git::repo_key(&job.repo)?;
    let done = treewide_core::history::cursors(db, campaign.id, &key).await?;
    let in_flight = treewide_core::history::fixes_in_flight(db, campaign.id).await?;
    let started = std::time::Instant::now();
    let read = git::read(
        &job.repo,
        &job.options,
        &spec,
        &sites,
        &done,
        &in_flight,
        progress,
    )?;
    let read = SourceHistory {
        source: treewide_core::history::HistorySource::Git,
        name: format!("git {} ({})", read.repo_key, read.tip_name),
        seconds: started.elapsed().as_secs_f64(),
        outcome: read.outcome,
        tip: read.tip,
        tip_describe: read.tip_describe,
        files_at_tag: read.files_at_tag,
        cursors: read.cursors,
        pages: Vec::new(),
        requests: None,
        promotions: read.promotions,
    };
    store_read(db, campaign.id, &job.actor, read).await
}

/// The campaign, its sites (none is an error) and the spec that classifies their calls.
async fn campaign_and_sites(
    db: &treewide_core::SqlitePool,
    slug: &str,
    spec: Option<&str>,
) -> anyhow::Result<(treewide_core::campaigns::Campaign, Vec<TrackedSite>, Spec)> {
    use anyhow::Context;
    let campaign = treewide_core::campaigns::meta(db, slug)
        .await
        .with_context(|| format!("campaign {slug}"))?;
    let sites = tracked_sites(db, &campaign).await?;
    let callees: Vec<String> = sites.iter().map(|s| s.callee.clone()).collect();
    let (stored, start) = treewide_core::campaigns::fix_spec(db, campaign.id).await?;
    let mut spec = Spec::for_campaign(slug, spec, stored.as_deref(), &callees)?;
    if start.is_some() {
        spec.campaign.start = start;
    }
    Ok((campaign, sites, spec))
}

/// What a source read, whichever it was, ready to store.
struct SourceHistory {
    source: treewide_core::history::HistorySource,
    /// The import's name in records and events: `git /src/linux (master at 1a2b…)`.
    name: String,
    seconds: f64,
    outcome: Outcome,
    tip: Option<String>,
    tip_describe: Option<String>,
    files_at_tag: Vec<(String, treewide_core::tree_links::FileAtTag)>,
    cursors: Vec<treewide_core::history::Cursor>,
    pages: Vec<treewide_core::history::SitePage>,
    requests: Option<u64>,
    /// Stored fixes found on a branch further along: (commit id, branch).
    promotions: Vec<(String, String)>,
}

/// Store a read in one transaction and report it.
async fn store_read(
    db: &treewide_core::SqlitePool,
    campaign: treewide_core::model::CampaignId,
    actor: &str,
    read: SourceHistory,
) -> anyhow::Result<Report> {
    use anyhow::Context;
    let fixes = describe_links(&read.outcome);
    let batch = treewide_core::history::HistoryBatch {
        campaign,
        source: read.source,
        name: read.name.clone(),
        actor: actor.to_owned(),
        tip: read.tip,
        tip_describe: read.tip_describe,
        files_at_tag: read.files_at_tag,
        commits: read.outcome.commits,
        links: read.outcome.links,
        positions: read.outcome.positions,
        statuses: read.outcome.statuses,
        cursors: read.cursors,
        pages: read.pages,
        promotions: read.promotions,
    };
    let summary = treewide_core::history::store(db, &batch)
        .await
        .with_context(|| format!("{}: import failed, nothing stored", read.name))?;
    Ok(Report {
        source: read.name,
        stats: read.outcome.stats,
        seconds: read.seconds,
        summary,
        fixes,
        unexplained: read.outcome.unexplained,
        requests: read.requests,
    })
}

/// "fix a41dad905e5a vhost: fix ... (2 sites)" per linked commit and role.
fn describe_links(outcome: &Outcome) -> Vec<String> {
    let mut per: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    for l in &outcome.links {
        *per.entry((l.commit.clone(), l.role.as_str())).or_default() += 1;
    }
    outcome
        .commits
        .iter()
        .flat_map(|c| {
            per.iter()
                .filter(move |((oid, _), _)| *oid == c.oid)
                .map(move |((_, role), n)| {
                    let backport = match &c.upstream_oid {
                        Some(u) => format!(" [backport of {}]", &u[..u.len().min(12)]),
                        None => String::new(),
                    };
                    format!(
                        "{role:6} {} {}{backport} ({n} site{})",
                        c.short(),
                        c.subject,
                        if *n == 1 { "" } else { "s" }
                    )
                })
        })
        .collect()
}

/// `[ Upstream commit X ]` or `commit X upstream.` in a stable backport's message.
pub fn upstream_of(message: &str) -> Option<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?mi)^\s*(?:\[\s*upstream commit\s+([0-9a-f]{7,64})\s*\]|commit\s+([0-9a-f]{7,64})\s+upstream\.?\s*$)",
        )
        .expect("static pattern")
    });
    let c = re.captures(message)?;
    c.get(1)
        .or_else(|| c.get(2))
        .map(|m| m.as_str().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_backport_markers() {
        let id = "a41dad905e5a388f88435a517de102e9b2c8e43d";
        assert_eq!(
            upstream_of(&format!(
                "vhost: fix it\n\n[ Upstream commit {id} ]\n\nbody"
            ))
            .as_deref(),
            Some(id)
        );
        assert_eq!(
            upstream_of(&format!("vhost: fix it\n\ncommit {id} upstream.\n\nbody")).as_deref(),
            Some(id)
        );
        assert_eq!(
            upstream_of(&format!("x\n\n[ Upstream commit {} ]", &id[..12])).as_deref(),
            Some(&id[..12])
        );
        assert_eq!(
            upstream_of("vhost: fix it\n\nThe upstream commit was bad"),
            None
        );
        assert_eq!(
            upstream_of(&format!("x\n\n(cherry picked from commit {id})")),
            None
        );
    }
}
