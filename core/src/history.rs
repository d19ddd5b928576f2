//! History: the commits that fixed, changed, moved or removed call sites, stable backports,
//! and how far each repository has been read. The importer works out what each commit did to
//! which site (from a local repository or from GitHub); [`store`] writes it in one
//! transaction, and the rest of this module answers the pages' questions (a site's commits,
//! the campaign's burndown).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::model::{
    now, CampaignId, CommitRole, DecidedBy, EventKind, EventSource, ImportId, SiteId, Status,
};
use crate::transition::{self, Authority, StatusChange};
use crate::Result;

/// A commit as the importer read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full hex object id.
    pub oid: String,
    pub author_name: String,
    pub author_email: String,
    /// RFC 3339 UTC.
    pub author_date: String,
    pub commit_date: String,
    pub subject: String,
    /// `vhost` of `[vhost] …` or `vhost: …`.
    pub subject_tag: Option<String>,
    /// For a stable backport: the mainline commit its message names.
    pub upstream_oid: Option<String>,
    /// The branch the import reached it from.
    pub branch: Option<String>,
    /// Its web page, when the source has one (GitHub).
    pub url: Option<String>,
}

impl CommitInfo {
    /// Abbreviated id, as in `git log --oneline`.
    pub fn short(&self) -> &str {
        &self.oid[..self.oid.len().min(12)]
    }

    /// Where the commit is on the web: the source's page, else git.kernel.org (stable for a
    /// backport, Linus's tree otherwise).
    pub fn web_url(&self) -> String {
        if let Some(u) = &self.url {
            return u.clone();
        }
        if self.upstream_oid.is_some() {
            format!("https://git.kernel.org/stable/c/{}", self.oid)
        } else {
            format!("https://git.kernel.org/torvalds/c/{}", self.oid)
        }
    }
}

/// What one commit did to one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteLink {
    pub site: SiteId,
    pub commit: String,
    pub role: CommitRole,
    /// The site's file after the commit (before it, for [`CommitRole::Gone`]).
    pub file: String,
    pub line: Option<u32>,
    pub old_code: Option<String>,
    pub new_code: Option<String>,
}

/// Where a site is at the tip the import read up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub site: SiteId,
    pub identity: String,
    pub file: String,
    pub line: u32,
    pub col: Option<u32>,
    pub function: Option<String>,
    pub code: String,
    pub direction: Option<String>,
    /// Source lines around the call and the number of the first.
    pub context: Option<(String, u32)>,
}

/// A status the history establishes: fixed by a commit, or gone with one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFromHistory {
    pub site: SiteId,
    pub to: Status,
    pub reason: String,
    /// The commit that did it, when one is known.
    pub commit: Option<String>,
}

/// How far one branch of one repository has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// Canonical path of a local repository, or `github:OWNER/NAME`.
    pub repo: String,
    pub ref_name: String,
    pub last_commit: String,
}

/// Where the history came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistorySource {
    Git,
    GitHub,
}

impl HistorySource {
    fn as_str(self) -> &'static str {
        match self {
            HistorySource::Git => "git",
            HistorySource::GitHub => "github",
        }
    }
}

/// Everything one history import stores.
#[derive(Debug, Clone)]
pub struct HistoryBatch {
    pub campaign: CampaignId,
    pub source: HistorySource,
    /// Shown in the import record and events: `git /src/linux (master)`.
    pub name: String,
    pub actor: String,
    /// The commit positions are at; becomes the campaign's tree commit when positions moved.
    pub tip: Option<String>,
    pub commits: Vec<CommitInfo>,
    pub links: Vec<SiteLink>,
    pub positions: Vec<Position>,
    pub statuses: Vec<StatusFromHistory>,
    pub cursors: Vec<Cursor>,
    /// Web pages about linked commits (GitHub pull requests), stored as the sites' `url` refs.
    pub pages: Vec<SitePage>,
}

/// A web page about a site's commit, e.g. the pull request that merged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePage {
    pub site: SiteId,
    pub url: String,
    pub title: String,
    pub author: Option<String>,
    /// RFC 3339.
    pub date: Option<String>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistorySummary {
    pub import_id: Option<ImportId>,
    pub commits_new: u64,
    pub links_new: u64,
    /// Pages (pull requests) newly recorded as site refs.
    pub pages_new: u64,
    /// Sites whose position (file, line, code) changed.
    pub moved: u64,
    /// `file:line` of sites that became fixed / gone.
    pub fixed: Vec<String>,
    pub gone: Vec<String>,
}

impl HistorySummary {
    /// True when the import changed nothing (and so nothing was written).
    pub fn is_noop(&self) -> bool {
        self.import_id.is_none()
    }
}

/// A site as the history importer needs it.
#[derive(Debug, Clone)]
pub struct TrackedSite {
    pub id: SiteId,
    pub identity: String,
    pub file: String,
    pub line: i64,
    pub function: Option<String>,
    pub callee: String,
    pub code: String,
    pub status: Status,
}

/// Every site of a campaign (gone ones included: a commit may still explain them).
pub async fn tracked_sites(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<TrackedSite>> {
    Ok(sqlx::query_as!(
        TrackedSite,
        r#"SELECT id AS "id!: SiteId", identity, file, line, function, callee, code,
                  status AS "status: Status"
           FROM sites WHERE campaign_id = ?1 ORDER BY file, line, id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}

/// The cursors of one repository for a campaign.
pub async fn cursors(db: &SqlitePool, campaign: CampaignId, repo: &str) -> Result<Vec<Cursor>> {
    Ok(sqlx::query_as!(
        Cursor,
        "SELECT repo, ref_name, last_commit FROM history_cursors
         WHERE campaign_id = ?1 AND repo = ?2 ORDER BY ref_name",
        campaign,
        repo
    )
    .fetch_all(db)
    .await?)
}

/// Store a history import in one transaction. Commits are shared and never rewritten; links
/// are added, never removed; positions and statuses go through the same rules as scans.
/// An import that changes nothing writes nothing.
pub async fn store(pool: &SqlitePool, batch: &HistoryBatch) -> Result<HistorySummary> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let at = now();
    let mut summary = HistorySummary::default();
    let mut writes = 0u64;

    let sites_total = batch.positions.len() as i64;
    let kind = batch.source.as_str();
    let sha = batch
        .cursors
        .iter()
        .map(|c| c.last_commit.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let import_id = sqlx::query_scalar!(
        r#"INSERT INTO imports (campaign_id, source, kind, sha256, at, actor, sites_total, sites_new, sites_changed)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0) RETURNING id AS "id!: ImportId""#,
        batch.campaign,
        batch.name,
        kind,
        sha,
        at,
        batch.actor,
        sites_total,
    )
    .fetch_one(&mut *tx)
    .await?;

    let mut commit_ids: HashMap<&str, i64> = HashMap::new();
    for c in &batch.commits {
        let inserted = sqlx::query!(
            "INSERT OR IGNORE INTO commits (oid, author_name, author_email, author_date, commit_date,
                                            subject, subject_tag, upstream_oid, branch, url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            c.oid,
            c.author_name,
            c.author_email,
            c.author_date,
            c.commit_date,
            c.subject,
            c.subject_tag,
            c.upstream_oid,
            c.branch,
            c.url
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            summary.commits_new += 1;
        } else if c.url.is_some() {
            // A commit first read from a local clone gains its GitHub page.
            sqlx::query!(
                "UPDATE commits SET url = ?2 WHERE oid = ?1 AND url IS NULL",
                c.oid,
                c.url
            )
            .execute(&mut *tx)
            .await?;
        }
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id!: i64" FROM commits WHERE oid = ?1"#,
            c.oid
        )
        .fetch_one(&mut *tx)
        .await?;
        commit_ids.insert(c.oid.as_str(), id);
    }
    let subjects: HashMap<&str, &CommitInfo> =
        batch.commits.iter().map(|c| (c.oid.as_str(), c)).collect();

    for l in &batch.links {
        let Some(&commit_id) = commit_ids.get(l.commit.as_str()) else {
            return Err(crate::Error::NotFound(format!(
                "commit {} (linked to site {}) is not in the batch",
                l.commit, l.site
            )));
        };
        let role = l.role;
        let line = l.line.map(i64::from);
        let n = sqlx::query!(
            "INSERT OR IGNORE INTO site_commits (site_id, commit_id, role, file, line, old_code, new_code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            l.site,
            commit_id,
            role,
            l.file,
            line,
            l.old_code,
            l.new_code
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            summary.links_new += 1;
            // The site's commits are part of what pages and the API show of it: a client
            // holding its ETag (the version) must see it as changed.
            sqlx::query!(
                "UPDATE sites SET version = version + 1 WHERE id = ?1",
                l.site
            )
            .execute(&mut *tx)
            .await?;
            let subject = subjects.get(l.commit.as_str()).map(|c| c.subject.as_str());
            let reason = format!("{}: {}", role.as_str(), subject.unwrap_or_default());
            event(
                &mut tx,
                batch,
                &at,
                Some(l.site),
                EventKind::Ref,
                Some(&l.commit),
                &reason,
            )
            .await?;
        }
    }
    writes += summary.commits_new + summary.links_new;

    for p in &batch.pages {
        summary.pages_new += sqlx::query!(
            "INSERT OR IGNORE INTO refs (campaign_id, site_id, kind, target, title, author, date)
             SELECT campaign_id, id, 'url', ?2, ?3, ?4, ?5 FROM sites WHERE id = ?1 AND campaign_id = ?6",
            p.site,
            p.url,
            p.title,
            p.author,
            p.date,
            batch.campaign
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    writes += summary.pages_new;

    summary.moved = store_positions(&mut tx, batch, &at).await?;
    writes += summary.moved;

    for s in &batch.statuses {
        let Some(row) = sqlx::query!(
            r#"SELECT status AS "status: Status", file, line FROM sites
               WHERE id = ?1 AND campaign_id = ?2"#,
            s.site,
            batch.campaign
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        if row.status == s.to {
            continue;
        }
        let source_ref = s.commit.as_ref().map(|c| format!("commit {c}"));
        transition::apply(
            &mut tx,
            StatusChange {
                campaign: batch.campaign,
                site: s.site,
                from: row.status,
                to: s.to,
                decided_by: DecidedBy::Site,
                verdict: None,
                reason: &s.reason,
                by: Authority::History,
                actor: &batch.actor,
                source: EventSource::Import,
                source_ref: source_ref.as_deref().or(Some(&batch.name)),
                at: &at,
            },
        )
        .await?;
        let place = format!("{}:{}", row.file, row.line);
        match s.to {
            Status::Gone => summary.gone.push(place),
            _ => summary.fixed.push(place),
        }
        writes += 1;
    }

    for c in &batch.cursors {
        let n = sqlx::query!(
            "INSERT INTO history_cursors (campaign_id, repo, ref_name, last_commit, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (campaign_id, repo, ref_name) DO UPDATE
                SET last_commit = excluded.last_commit, updated_at = excluded.updated_at
                WHERE last_commit != excluded.last_commit",
            batch.campaign,
            c.repo,
            c.ref_name,
            c.last_commit,
            at
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        writes += n;
    }

    if writes == 0 {
        tx.rollback().await?;
        return Ok(summary);
    }
    if let (Some(tip), true) = (&batch.tip, summary.moved > 0) {
        sqlx::query!(
            "UPDATE campaigns SET tree_commit = ?2 WHERE id = ?1",
            batch.campaign,
            tip
        )
        .execute(&mut *tx)
        .await?;
    }
    let changed = summary.moved as i64;
    sqlx::query!(
        "UPDATE imports SET sites_changed = ?2 WHERE id = ?1",
        import_id,
        changed
    )
    .execute(&mut *tx)
    .await?;
    let what = format!(
        "{} commits new, {} site links, {} sites moved, {} fixed, {} gone",
        summary.commits_new,
        summary.links_new,
        summary.moved,
        summary.fixed.len(),
        summary.gone.len()
    );
    event(
        &mut tx,
        batch,
        &at,
        None,
        EventKind::Import,
        Some(&batch.name),
        &what,
    )
    .await?;
    sqlx::query!(
        "UPDATE campaigns SET updated_at = ?2 WHERE id = ?1",
        batch.campaign,
        at
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    summary.import_id = Some(import_id);
    Ok(summary)
}

async fn event(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &HistoryBatch,
    at: &str,
    site: Option<SiteId>,
    kind: EventKind,
    new: Option<&str>,
    reason: &str,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason)
         VALUES (?1, ?2, ?3, ?4, 'import', ?5, ?6, NULL, ?7, ?8)",
        batch.campaign,
        site,
        at,
        batch.actor,
        batch.name,
        kind,
        new,
        reason
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Move sites to where the tip has them. Identities follow (they name the file and the
/// code); when two sites would swap identities, both are moved aside first, and an identity
/// another site already holds is left as it was.
async fn store_positions(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &HistoryBatch,
    at: &str,
) -> Result<u64> {
    let mut moved = Vec::new();
    for p in &batch.positions {
        let Some(row) = sqlx::query!(
            "SELECT identity, file, line, col, function, code, direction, context, context_start
             FROM sites WHERE id = ?1 AND campaign_id = ?2",
            p.site,
            batch.campaign
        )
        .fetch_optional(&mut **tx)
        .await?
        else {
            continue;
        };
        let same = row.file == p.file
            && row.line == i64::from(p.line)
            && row.col == p.col.map(i64::from)
            && row.function == p.function
            && row.code == p.code
            && row.direction == p.direction
            && p.context.as_ref().is_none_or(|(c, s)| {
                row.context.as_deref() == Some(c) && row.context_start == Some(i64::from(*s))
            });
        if !same {
            moved.push((p, row.identity));
        }
    }
    for (p, old) in &moved {
        if *old != p.identity {
            let aside = format!("moving:{}", p.site);
            sqlx::query!(
                "UPDATE sites SET identity = ?2 WHERE id = ?1",
                p.site,
                aside
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    for (p, old) in &moved {
        let taken = sqlx::query_scalar!(
            "SELECT count(*) FROM sites WHERE campaign_id = ?1 AND identity = ?2 AND id != ?3",
            batch.campaign,
            p.identity,
            p.site
        )
        .fetch_one(&mut **tx)
        .await?
            > 0;
        let identity = if taken { old } else { &p.identity };
        let (line, col) = (i64::from(p.line), p.col.map(i64::from));
        let (context, context_start) = match &p.context {
            Some((c, s)) => (Some(c.as_str()), Some(i64::from(*s))),
            None => (None, None),
        };
        sqlx::query!(
            "UPDATE sites SET identity = ?2, file = ?3, line = ?4, col = ?5, function = ?6, code = ?7,
                    direction = ?8, context = coalesce(?9, context),
                    context_start = coalesce(?10, context_start),
                    version = version + 1, updated_at = ?11
             WHERE id = ?1",
            p.site,
            identity,
            p.file,
            line,
            col,
            p.function,
            p.code,
            p.direction,
            context,
            context_start,
            at
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(moved.len() as u64)
}

/// One commit of a site's history, with the stable backports of it that were imported.
#[derive(Debug, Clone, Serialize)]
pub struct SiteCommit {
    pub role: CommitRole,
    pub file: String,
    pub line: Option<i64>,
    pub old_code: Option<String>,
    pub new_code: Option<String>,
    pub commit: CommitInfo,
    /// Backports of this commit (commits naming it as their upstream).
    pub backports: Vec<CommitInfo>,
    /// For a backport whose mainline commit was not imported: that commit's id.
    pub upstream_missing: Option<String>,
}

/// A site's commits, oldest first. A fix and its backports show as one entry: "fixed in
/// mainline by X, backported as Y"; a backport whose mainline commit is not linked to the
/// site stands alone (with the upstream id it names).
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<SiteCommit>> {
    let rows = sqlx::query!(
        r#"SELECT sc.role AS "role: CommitRole", sc.file, sc.line, sc.old_code, sc.new_code,
                  c.oid, c.author_name, c.author_email, c.author_date, c.commit_date, c.subject,
                  c.subject_tag, c.upstream_oid, c.branch, c.url
           FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           WHERE sc.site_id = ?1
           ORDER BY c.commit_date, c.id"#,
        site
    )
    .fetch_all(db)
    .await?;
    let mut out: Vec<SiteCommit> = Vec::new();
    let mut backports: Vec<(CommitRole, CommitInfo)> = Vec::new();
    for r in rows {
        let info = CommitInfo {
            oid: r.oid,
            author_name: r.author_name,
            author_email: r.author_email,
            author_date: r.author_date,
            commit_date: r.commit_date,
            subject: r.subject,
            subject_tag: r.subject_tag,
            upstream_oid: r.upstream_oid,
            branch: r.branch,
            url: r.url,
        };
        if info.upstream_oid.is_some() {
            backports.push((r.role, info));
            continue;
        }
        out.push(SiteCommit {
            role: r.role,
            file: r.file,
            line: r.line,
            old_code: r.old_code,
            new_code: r.new_code,
            commit: info,
            backports: Vec::new(),
            upstream_missing: None,
        });
    }
    for (role, b) in backports {
        let upstream = b.upstream_oid.clone().unwrap_or_default();
        let main = out
            .iter_mut()
            .find(|m| m.role == role && oid_matches(&m.commit.oid, &upstream));
        match main {
            Some(m) => m.backports.push(b),
            None => out.push(SiteCommit {
                role,
                file: String::new(),
                line: None,
                old_code: None,
                new_code: None,
                commit: b,
                backports: Vec::new(),
                upstream_missing: Some(upstream),
            }),
        }
    }
    Ok(out)
}

/// Whether a full id and a possibly abbreviated one name the same commit.
fn oid_matches(full: &str, named: &str) -> bool {
    named.len() >= 7 && full.len() >= named.len() && full[..named.len()].eq_ignore_ascii_case(named)
}

/// A fixing commit with its site, as the list queries below return it.
struct FixRow {
    site_id: SiteId,
    oid: String,
    author_name: String,
    author_email: String,
    author_date: String,
    commit_date: String,
    subject: String,
    subject_tag: Option<String>,
    upstream_oid: Option<String>,
    branch: Option<String>,
    url: Option<String>,
}

/// The first fix per site of rows ordered by site, mainline first.
fn first_fix_per_site(rows: Vec<FixRow>) -> HashMap<SiteId, CommitInfo> {
    let mut out = HashMap::new();
    for r in rows {
        out.entry(r.site_id).or_insert_with(|| CommitInfo {
            oid: r.oid,
            author_name: r.author_name,
            author_email: r.author_email,
            author_date: r.author_date,
            commit_date: r.commit_date,
            subject: r.subject,
            subject_tag: r.subject_tag,
            upstream_oid: r.upstream_oid,
            branch: r.branch,
            url: r.url,
        });
    }
    out
}

/// The fixing commit of every site of a campaign that has one (mainline first): whole-campaign
/// reports (the tracking issue).
pub async fn fixes_in(
    db: &SqlitePool,
    campaign: CampaignId,
) -> Result<HashMap<SiteId, CommitInfo>> {
    let rows = sqlx::query_as!(
        FixRow,
        r#"SELECT sc.site_id AS "site_id!: SiteId",
                  c.oid, c.author_name, c.author_email, c.author_date, c.commit_date, c.subject,
                  c.subject_tag, c.upstream_oid, c.branch, c.url
           FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           JOIN sites s ON s.id = sc.site_id
           WHERE s.campaign_id = ?1 AND sc.role = 'fix'
           ORDER BY sc.site_id, c.upstream_oid IS NOT NULL, c.commit_date"#,
        campaign
    )
    .fetch_all(db)
    .await?;
    Ok(first_fix_per_site(rows))
}

/// The fixing commit of each of `sites` that has one (mainline first): one page of a list,
/// at the cost of the page, not of the campaign.
pub async fn fixes_of(db: &SqlitePool, sites: &[SiteId]) -> Result<HashMap<SiteId, CommitInfo>> {
    if sites.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = serde_json::to_string(&sites.iter().map(|s| s.0).collect::<Vec<_>>())
        .map_err(|e| crate::Error::NotFound(format!("site ids: {e}")))?;
    let rows = sqlx::query_as!(
        FixRow,
        r#"SELECT sc.site_id AS "site_id!: SiteId",
                  c.oid, c.author_name, c.author_email, c.author_date, c.commit_date, c.subject,
                  c.subject_tag, c.upstream_oid, c.branch, c.url
           FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           WHERE sc.site_id IN (SELECT value FROM json_each(?1)) AND sc.role = 'fix'
           ORDER BY sc.site_id, c.upstream_oid IS NOT NULL, c.commit_date"#,
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(first_fix_per_site(rows))
}

/// One point of a burndown: on `date` (YYYY-MM-DD), `open` sites were still to do and `done`
/// were fixed, confirmed safe or gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BurndownPoint {
    pub date: time::Date,
    pub open: u64,
    pub done: u64,
}

/// Open vs done sites of a campaign over time, one point per day something changed (and
/// today). A site counts as done from its fixing or removing commit's date when history has
/// one, else from when it was last marked done; sites open now count as open throughout.
pub async fn burndown(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<BurndownPoint>> {
    let sites = sqlx::query!(
        r#"SELECT id AS "id!: SiteId", status AS "status: Status", created_at FROM sites
           WHERE campaign_id = ?1"#,
        campaign
    )
    .fetch_all(db)
    .await?;
    let commits: HashMap<SiteId, String> = sqlx::query!(
        r#"SELECT sc.site_id AS "site_id!: SiteId", min(c.commit_date) AS "date!: String"
           FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           JOIN sites s ON s.id = sc.site_id
           WHERE s.campaign_id = ?1 AND sc.role IN ('fix', 'gone')
           GROUP BY sc.site_id"#,
        campaign
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.site_id, r.date))
    .collect();
    let marked: HashMap<SiteId, String> = sqlx::query!(
        r#"SELECT site_id AS "site_id!: SiteId", max(at) AS "at!: String" FROM events
           WHERE campaign_id = ?1 AND kind = 'status' AND site_id IS NOT NULL
             AND new IN ('fixed', 'confirmed_safe', 'gone')
           GROUP BY site_id"#,
        campaign
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.site_id, r.at))
    .collect();
    let done_at = sites.iter().map(|s| {
        if !s.status.is_done() {
            return None;
        }
        let at = commits
            .get(&s.id)
            .or_else(|| marked.get(&s.id))
            .unwrap_or(&s.created_at);
        Some(day(at))
    });
    let today = time::OffsetDateTime::now_utc().date();
    Ok(burndown_points(done_at.collect(), today))
}

/// The date part of a stored RFC 3339 time.
fn day(at: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(at.get(..10)?, fmt).ok()
}

/// Burndown points from each site's done date (`None`: open, or done at an unknown date,
/// which counts as done from the first point).
fn burndown_points(done: Vec<Option<Option<time::Date>>>, today: time::Date) -> Vec<BurndownPoint> {
    let total = done.len() as u64;
    let mut per_day: BTreeMap<time::Date, u64> = BTreeMap::new();
    let mut undated = 0u64;
    for d in done.into_iter().flatten() {
        match d {
            Some(d) => *per_day.entry(d.min(today)).or_default() += 1,
            None => undated += 1,
        }
    }
    let first = per_day.keys().next().copied().unwrap_or(today);
    let mut points = Vec::with_capacity(per_day.len() + 2);
    let mut done_count = undated;
    // Where the campaign started: everything not yet done.
    if per_day.contains_key(&first) {
        if let Some(before) = first.previous_day() {
            points.push(BurndownPoint {
                date: before,
                open: total - done_count,
                done: done_count,
            });
        }
    }
    for (date, n) in per_day {
        done_count += n;
        points.push(BurndownPoint {
            date,
            open: total - done_count,
            done: done_count,
        });
    }
    if points.last().is_none_or(|p| p.date < today) {
        points.push(BurndownPoint {
            date: today,
            open: total - done_count,
            done: done_count,
        });
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn burndown_steps_by_day() {
        let today = date!(2026 - 11 - 25);
        let p = burndown_points(
            vec![
                None,
                Some(Some(date!(2022 - 10 - 20))),
                Some(Some(date!(2022 - 10 - 20))),
                Some(Some(date!(2022 - 11 - 01))),
                Some(None),
            ],
            today,
        );
        let got: Vec<_> = p.iter().map(|p| (p.date, p.open, p.done)).collect();
        assert_eq!(
            got,
            vec![
                (date!(2022 - 10 - 19), 4, 1),
                (date!(2022 - 10 - 20), 2, 3),
                (date!(2022 - 11 - 01), 1, 4),
                (today, 1, 4),
            ]
        );
        let empty = burndown_points(vec![], today);
        assert_eq!(
            empty,
            vec![BurndownPoint {
                date: today,
                open: 0,
                done: 0
            }]
        );
        let open = burndown_points(vec![None, None], today);
        assert_eq!(
            open,
            vec![BurndownPoint {
                date: today,
                open: 2,
                done: 0
            }]
        );
    }

    #[test]
    fn abbreviated_upstream_ids_match() {
        let full = "de4eda9de2d957ef2d6a8365a01e26a435e958cb";
        assert!(oid_matches(full, "de4eda9de2d9"));
        assert!(oid_matches(full, full));
        assert!(!oid_matches(full, "de4ed"));
        assert!(!oid_matches(full, "ffffffffffff"));
    }
}
