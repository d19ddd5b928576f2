//! Reading history back: the sites an import tracks, cursors, a site's commits, the fixing
//! commit of each site and the campaign's burndown.

use std::collections::HashMap;

use sqlx::SqlitePool;

use super::backports::{first_fix_per_site, fold_backports};
use super::burndown::{burndown_points, day, BurndownPoint};
use super::{CommitInfo, Cursor, SiteCommit, TrackedSite};
use crate::db::json_list;
use crate::model::{CampaignId, CommitRole, SiteId, Status};
use crate::Result;

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

/// The campaign's fixing commits that are not known to be in mainline yet (read from a
/// maintainer's branch or linux-next): (commit id, branch), for an import to check whether
/// its branches now hold them.
pub async fn fixes_in_flight(
    db: &SqlitePool,
    campaign: CampaignId,
) -> Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT c.oid, c.branch FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           JOIN sites s ON s.id = sc.site_id
           WHERE s.campaign_id = ?1 AND sc.role = 'fix' AND c.upstream_oid IS NULL"#,
        campaign
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            crate::stages::branch_stage(r.branch.as_deref()) < crate::stages::Stage::Mainline
        })
        .map(|r| (r.oid, r.branch))
        .collect())
}

/// A site's link to a commit, with the commit, as the queries below read it.
struct CommitRow {
    site_id: SiteId,
    role: CommitRole,
    file: String,
    line: Option<i64>,
    old_code: Option<String>,
    new_code: Option<String>,
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

impl CommitRow {
    /// The site and its commit, with no backports folded in yet.
    fn into_site_commit(self) -> (SiteId, SiteCommit) {
        let commit = CommitInfo {
            oid: self.oid,
            author_name: self.author_name,
            author_email: self.author_email,
            author_date: self.author_date,
            commit_date: self.commit_date,
            subject: self.subject,
            subject_tag: self.subject_tag,
            upstream_oid: self.upstream_oid,
            branch: self.branch,
            url: self.url,
        };
        let site_commit = SiteCommit {
            role: self.role,
            file: self.file,
            line: self.line,
            old_code: self.old_code,
            new_code: self.new_code,
            commit,
            backports: Vec::new(),
            upstream_missing: None,
        };
        (self.site_id, site_commit)
    }
}

/// A site's commits, oldest first. A fix and its backports show as one entry: "fixed in
/// mainline by X, backported as Y"; a backport whose mainline commit is not linked to the
/// site stands alone (with the upstream id it names).
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<SiteCommit>> {
    let rows = sqlx::query_as!(
        CommitRow,
        r#"SELECT sc.site_id AS "site_id!: SiteId", sc.role AS "role: CommitRole", sc.file, sc.line,
                  sc.old_code, sc.new_code,
                  c.oid, c.author_name, c.author_email, c.author_date, c.commit_date, c.subject,
                  c.subject_tag, c.upstream_oid, c.branch, c.url
           FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           WHERE sc.site_id = ?1
           ORDER BY c.commit_date, c.id"#,
        site
    )
    .fetch_all(db)
    .await?;
    Ok(fold_backports(
        rows.into_iter().map(|r| r.into_site_commit().1).collect(),
    ))
}

/// The fixing commit of every site of a campaign that has one (mainline first): whole-campaign
/// reports (the tracking issue).
pub async fn fixes_in(
    db: &SqlitePool,
    campaign: CampaignId,
) -> Result<HashMap<SiteId, CommitInfo>> {
    let rows = sqlx::query_as!(
        CommitRow,
        r#"SELECT sc.site_id AS "site_id!: SiteId", sc.role AS "role: CommitRole", sc.file, sc.line,
                  sc.old_code, sc.new_code,
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
    Ok(first_fixes(rows))
}

/// The fixing commit of each of `sites` that has one (mainline first): one page of a list,
/// at the cost of the page, not of the campaign.
pub async fn fixes_of(db: &SqlitePool, sites: &[SiteId]) -> Result<HashMap<SiteId, CommitInfo>> {
    if sites.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = json_list(sites)?;
    let rows = sqlx::query_as!(
        CommitRow,
        r#"SELECT sc.site_id AS "site_id!: SiteId", sc.role AS "role: CommitRole", sc.file, sc.line,
                  sc.old_code, sc.new_code,
                  c.oid, c.author_name, c.author_email, c.author_date, c.commit_date, c.subject,
                  c.subject_tag, c.upstream_oid, c.branch, c.url
           FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
           WHERE sc.site_id IN (SELECT value FROM json_each(?1)) AND sc.role = 'fix'
           ORDER BY sc.site_id, c.upstream_oid IS NOT NULL, c.commit_date"#,
        ids
    )
    .fetch_all(db)
    .await?;
    Ok(first_fixes(rows))
}

/// The first fix per site of rows ordered by site, mainline first.
fn first_fixes(rows: Vec<CommitRow>) -> HashMap<SiteId, CommitInfo> {
    first_fix_per_site(rows.into_iter().map(|r| {
        let (site, c) = r.into_site_commit();
        (site, c.commit)
    }))
}

/// Open vs done sites of a campaign over time, one point per day something changed (and
/// today). A site counts as done from its fixing or removing commit's date when history has
/// one, else from when it was last marked done; sites open now count as open throughout.
pub async fn burndown(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<BurndownPoint>> {
    // Kept on write by triggers (migration 0020): each done site's day, counted per day.
    let total = sqlx::query_scalar!(
        r#"-- hot
           SELECT ifnull(sum(n), 0) AS "n!: i64" FROM campaign_counts WHERE campaign_id = ?1"#,
        campaign
    )
    .fetch_one(db)
    .await?;
    let days = sqlx::query!(
        r#"-- hot
           SELECT day, n AS "n!: i64" FROM burndown_days WHERE campaign_id = ?1 AND n > 0"#,
        campaign
    )
    .fetch_all(db)
    .await?;
    let today = time::OffsetDateTime::now_utc().date();
    Ok(burndown_points(
        total as u64,
        days.into_iter().map(|r| (day(&r.day), r.n as u64)),
        today,
    ))
}
