//! Call sites: listing, filtering and one site's detail, and the site's version (its ETag).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor, SqlitePool};

use crate::model::{CampaignId, DecidedBy, IterKind, SiteId, Status};
use crate::subsystems::SubsystemFilter;
use crate::{Error, Result};

/// A call site as pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub id: SiteId,
    pub campaign: String,
    pub file: String,
    pub line: i64,
    pub column: Option<i64>,
    pub function: Option<String>,
    pub callee: String,
    pub code: String,
    pub iter_kind: IterKind,
    pub direction: Option<String>,
    pub subsystem: Option<String>,
    pub subsystem_slug: Option<String>,
    pub status: Status,
    pub decided_by: DecidedBy,
    /// Label of the verdict group that decided the status, when one did.
    pub verdict: Option<String>,
    pub reason: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// Filters of a site list; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct SiteQuery {
    pub campaign: Option<CampaignId>,
    pub subsystem: Option<SubsystemFilter>,
    pub status: Option<Status>,
    /// Exact path or a glob (`fs/cifs/*`).
    pub file: Option<String>,
    pub callee: Option<String>,
    /// Only sites waiting for this person's word: awaiting an owner or with a proposed fix, in
    /// a subsystem whose M:/R: lists the address (lower-cased).
    pub action_required_for: Option<String>,
    /// Words the site's file, function, callee, code, notes or mail subjects contain
    /// (full-text search; see [`search_query`]).
    pub q: Option<String>,
    /// The enclosing function.
    pub function: Option<String>,
    /// Only sites someone has (or nobody has) a live claim on, of their own or their subsystem.
    pub claimed: Option<bool>,
    /// Only sites whose fix has got this far and no further (needs `campaign`).
    pub stage: Option<crate::stages::Stage>,
}

/// The FTS5 query for what someone typed: every word of 3 characters or more must appear
/// (as a substring: the index is trigram), quoted so that no word is FTS5 syntax. `None`
/// when no word is long enough to search for.
pub fn search_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.chars().count() >= 3)
        .take(16)
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" AND "))
}

/// Up to `limit` sites matching `q` with id greater than `after`, by id (cursor pagination).
pub async fn list(db: &SqlitePool, q: &SiteQuery, after: SiteId, limit: u32) -> Result<Vec<Site>> {
    let ids = list_ids(db, q, after, limit).await?;
    by_ids(db, &ids).await
}

/// [`list`] on one connection (an export's read transaction, which sees one snapshot).
pub async fn list_on(
    conn: &mut SqliteConnection,
    q: &SiteQuery,
    after: SiteId,
    limit: u32,
) -> Result<Vec<Site>> {
    let ids = list_ids(&mut *conn, q, after, limit).await?;
    by_ids(&mut *conn, &ids).await
}

/// Where a page of [`export_page`] starts: after this file, line and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeCursor {
    pub file: String,
    pub line: i64,
    pub id: SiteId,
}

impl TreeCursor {
    /// Before every site.
    pub fn start() -> TreeCursor {
        TreeCursor {
            file: String::new(),
            line: 0,
            id: SiteId(0),
        }
    }

    /// Just after `s`.
    pub fn after(s: &Site) -> TreeCursor {
        TreeCursor {
            file: s.file.clone(),
            line: s.line,
            id: s.id,
        }
    }
}

/// Up to `limit` of a campaign's sites after `after`, in tree order (file, line, id): how an
/// export lists them, page by page on its read transaction's connection.
pub async fn export_page(
    conn: &mut SqliteConnection,
    campaign: CampaignId,
    after: &TreeCursor,
    limit: u32,
) -> Result<Vec<Site>> {
    let limit = i64::from(limit);
    Ok(sqlx::query_as!(
        Site,
        r#"SELECT s.id AS "id!: SiteId", c.slug AS campaign, s.file, s.line, s.col AS "column", s.function,
                  s.callee, s.code, s.iter_kind AS "iter_kind: IterKind", s.direction,
                  ss.name AS "subsystem?", ss.slug AS "subsystem_slug?", s.status AS "status: Status",
                  s.decided_by AS "decided_by: DecidedBy", v.label AS "verdict?", s.reason, s.version,
                  s.created_at, s.updated_at
               FROM sites s JOIN campaigns c ON c.id = s.campaign_id
               LEFT JOIN subsystems ss ON ss.id = s.subsystem_id
               LEFT JOIN verdicts v ON v.id = s.verdict_id
             WHERE s.campaign_id = ?1 AND (s.file, s.line, s.id) > (?2, ?3, ?4)
             ORDER BY s.file, s.line, s.id LIMIT ?5"#,
        campaign,
        after.file,
        after.line,
        after.id,
        limit
    )
    .fetch_all(conn)
    .await?)
}

/// A site as the status mail lists it: `file:line: code`.
#[derive(Debug, Clone)]
pub struct SiteLine {
    pub id: SiteId,
    pub file: String,
    pub line: i64,
    pub callee: String,
    pub code: String,
}

impl TreeCursor {
    /// Just after the listed site `s`.
    pub fn after_line(s: &SiteLine) -> TreeCursor {
        TreeCursor {
            file: s.file.clone(),
            line: s.line,
            id: s.id,
        }
    }
}

/// Up to `limit` of a campaign's sites with `status` (in one subsystem) after `after`, in
/// tree order (file, line, id): the status mail's lists, page by page on its read
/// transaction. The campaign's walk one status's sites in the order of
/// `sites_campaign_status_file` (migration 0024); a subsystem's walk the subsystem's sites
/// in file order (`+s.status` keeps SQLite from the status index, which would read every
/// site of that status in the campaign).
pub async fn lines_with_status(
    conn: &mut SqliteConnection,
    campaign: CampaignId,
    subsystem: Option<SubsystemFilter>,
    status: Status,
    after: &TreeCursor,
    limit: u32,
) -> Result<Vec<SiteLine>> {
    let limit = i64::from(limit);
    Ok(match subsystem {
        None => {
            sqlx::query_as!(
                SiteLine,
                r#"SELECT s.id AS "id!: SiteId", s.file, s.line, s.callee, s.code FROM sites s
                   WHERE s.campaign_id = ?1 AND s.status = ?2 AND (s.file, s.line, s.id) > (?3, ?4, ?5)
                   ORDER BY s.file, s.line, s.id LIMIT ?6"#,
                campaign,
                status,
                after.file,
                after.line,
                after.id,
                limit
            )
            .fetch_all(conn)
            .await?
        }
        Some(sub) => {
            let sub = sub.is_value();
            sqlx::query_as!(
                SiteLine,
                r#"SELECT s.id AS "id!: SiteId", s.file, s.line, s.callee, s.code FROM sites s
                   WHERE s.campaign_id = ?1 AND s.subsystem_id IS ?2 AND +s.status = ?3
                     AND (s.file, s.line, s.id) > (?4, ?5, ?6)
                   ORDER BY s.file, s.line, s.id LIMIT ?7"#,
                campaign,
                sub,
                status,
                after.file,
                after.line,
                after.id,
                limit
            )
            .fetch_all(conn)
            .await?
        }
    })
}

/// What an export writes of a site beyond its row: its code context and when its current
/// status became true (the fact time of its latest status event, when one was given).
#[derive(Debug, Clone, Default)]
pub struct ExportFacts {
    /// Source lines around the call and the number of the first.
    pub context: Option<(String, u32)>,
    pub status_date: Option<String>,
}

/// [`ExportFacts`] of the sites `ids`, on an export's read transaction.
pub async fn export_facts(
    conn: &mut SqliteConnection,
    ids: &[SiteId],
) -> Result<HashMap<SiteId, ExportFacts>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids = crate::db::json_list(ids)?;
    let rows = sqlx::query!(
        r#"SELECT s.id AS "id!: SiteId", s.context, s.context_start,
                  (SELECT e.occurred_at FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                    ORDER BY e.id DESC LIMIT 1) AS "status_date?: String"
           FROM sites s WHERE s.id IN (SELECT value FROM json_each(?1))"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let context = match (r.context, r.context_start) {
                (Some(text), Some(start)) => u32::try_from(start).ok().map(|n| (text, n)),
                _ => None,
            };
            (
                r.id,
                ExportFacts {
                    context,
                    status_date: r.status_date,
                },
            )
        })
        .collect())
}

/// The ids of a page of [`list`].
async fn list_ids(
    db: impl SqliteExecutor<'_>,
    q: &SiteQuery,
    after: SiteId,
    limit: u32,
) -> Result<Vec<SiteId>> {
    Ok(list_ids_query(q, after, limit)
        .build_query_scalar::<i64>()
        .fetch_all(db)
        .await?
        .into_iter()
        .map(SiteId)
        .collect())
}

/// The statement that finds a page of [`list`]'s ids, with its parameters bound. It names
/// only the filters `q` gives, so that SQLite walks the index they select in id order
/// (`campaign_id = ? AND status = ? AND rowid > ?`) rather than every site after the cursor:
/// optional parameters (`?2 IS NULL OR …`) would keep it from using any index. Public for the
/// query plan test.
pub fn list_ids_query(q: &SiteQuery, after: SiteId, limit: u32) -> QueryBuilder<'_, Sqlite> {
    let mut b = QueryBuilder::new("SELECT s.id FROM sites s WHERE s.id > ");
    b.push_bind(after.0);
    if let Some(c) = q.campaign {
        b.push(" AND s.campaign_id = ").push_bind(c.0);
    }
    match q.subsystem {
        Some(SubsystemFilter::Id(id)) => {
            b.push(" AND s.subsystem_id = ").push_bind(id.0);
        }
        Some(SubsystemFilter::Unassigned) => {
            b.push(" AND s.subsystem_id IS NULL");
        }
        None => {}
    }
    if let Some(st) = q.status {
        b.push(" AND s.status = ").push_bind(st.as_str());
    }
    if let Some(f) = q.file.as_deref() {
        if f.contains(['*', '?', '[']) {
            b.push(" AND (s.file = ")
                .push_bind(f)
                .push(" OR s.file GLOB ")
                .push_bind(f)
                .push(")");
        } else {
            // A path without wildcards (a file's page): equality alone lets SQLite walk
            // (campaign_id, file), where the OR made it read every site of the campaign.
            b.push(" AND s.file = ").push_bind(f);
        }
    }
    if let Some(c) = q.callee.as_deref() {
        b.push(" AND s.callee = ").push_bind(c);
    }
    if let Some(e) = q.action_required_for.as_deref() {
        if q.campaign.is_none() {
            // Names the index's first column, so that SQLite looks the person's subsystems
            // up in (campaign_id, subsystem_id, status) instead of reading every site.
            b.push(" AND s.campaign_id IN (SELECT id FROM campaigns)");
        }
        b.push(
            " AND s.status IN ('awaiting_owner', 'fix_proposed') AND s.subsystem_id IN \
             (SELECT subsystem_id FROM subsystem_people WHERE email = ",
        )
        .push_bind(e)
        .push(")");
    }
    if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // Words too short to search for match nothing rather than everything.
        let m = search_query(t).unwrap_or_else(|| "\"\u{1}\u{1}\u{1}\"".to_owned());
        b.push(" AND s.id IN (SELECT rowid FROM site_search WHERE site_search MATCH ")
            .push_bind(m)
            .push(")");
    }
    if let Some(f) = q.function.as_deref() {
        b.push(" AND s.function = ").push_bind(f);
    }
    if let Some(claimed) = q.claimed {
        b.push(if claimed { " AND " } else { " AND NOT " })
            .push(
                "EXISTS (SELECT 1 FROM claims k WHERE (k.site_id = s.id OR \
                 (k.subsystem_id = s.subsystem_id AND k.campaign_id = s.campaign_id)) \
                 AND k.released_at IS NULL AND k.expires_at > ",
            )
            .push_bind(crate::model::now())
            .push(")");
    }
    if let (Some(stage), Some(c)) = (q.stage, q.campaign) {
        b.push(" AND s.id IN (")
            .push(crate::stages::sites_at_sql(c, stage))
            .push(")");
    }
    b.push(" ORDER BY s.id LIMIT ").push_bind(i64::from(limit));
    b
}

/// The sites `ids`, by id.
async fn by_ids(db: impl SqliteExecutor<'_>, ids: &[SiteId]) -> Result<Vec<Site>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::db::json_list(ids)?;
    Ok(sqlx::query_as!(
        Site,
        r#"-- hot
           SELECT s.id AS "id!: SiteId", c.slug AS campaign, s.file, s.line, s.col AS "column", s.function,
                  s.callee, s.code, s.iter_kind AS "iter_kind: IterKind", s.direction,
                  ss.name AS "subsystem?", ss.slug AS "subsystem_slug?", s.status AS "status: Status",
                  s.decided_by AS "decided_by: DecidedBy", v.label AS "verdict?", s.reason, s.version,
                  s.created_at, s.updated_at
               FROM sites s JOIN campaigns c ON c.id = s.campaign_id
               LEFT JOIN subsystems ss ON ss.id = s.subsystem_id
               LEFT JOIN verdicts v ON v.id = s.verdict_id
             WHERE s.id IN (SELECT value FROM json_each(?1))
             ORDER BY s.id"#,
        ids
    )
    .fetch_all(db)
    .await?)
}

/// A page of a campaign's sites in one subsystem, by file and line.
pub async fn in_subsystem(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: SubsystemFilter,
    status: Option<Status>,
    offset: u32,
    limit: u32,
) -> Result<Vec<Site>> {
    let (sub, offset, limit) = (subsystem.is_value(), i64::from(offset), i64::from(limit));
    Ok(sqlx::query_as!(
        Site,
        r#"-- hot
           SELECT s.id AS "id!: SiteId", c.slug AS campaign, s.file, s.line, s.col AS "column", s.function,
                  s.callee, s.code, s.iter_kind AS "iter_kind: IterKind", s.direction,
                  ss.name AS "subsystem?", ss.slug AS "subsystem_slug?", s.status AS "status: Status",
                  s.decided_by AS "decided_by: DecidedBy", v.label AS "verdict?", s.reason, s.version,
                  s.created_at, s.updated_at
               FROM sites s JOIN campaigns c ON c.id = s.campaign_id
               LEFT JOIN subsystems ss ON ss.id = s.subsystem_id
               LEFT JOIN verdicts v ON v.id = s.verdict_id WHERE s.campaign_id = ?1
               AND s.subsystem_id IS ?2
               AND (?3 IS NULL OR s.status = ?3)
             ORDER BY s.file, s.line, s.id LIMIT ?5 OFFSET ?4"#,
        campaign,
        sub,
        status,
        offset,
        limit
    )
    .fetch_all(db)
    .await?)
}

/// How many of a campaign's sites are in one subsystem (with an optional status).
pub async fn count_in_subsystem(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: SubsystemFilter,
    status: Option<Status>,
) -> Result<u64> {
    let sub = subsystem.sql();
    let n = sqlx::query_scalar!(
        r#"-- hot: kept by triggers (migration 0020)
           SELECT ifnull(sum(n), 0) AS "n!: i64" FROM site_counts WHERE campaign_id = ?1
             AND subsystem_id = ?2 AND (?3 IS NULL OR status = ?3)"#,
        campaign,
        sub,
        status
    )
    .fetch_one(db)
    .await?;
    Ok(n as u64)
}

/// One site.
pub async fn get(db: &SqlitePool, id: SiteId) -> Result<Site> {
    sqlx::query_as!(Site, r#"SELECT s.id AS "id!: SiteId", c.slug AS campaign, s.file, s.line, s.col AS "column", s.function,
                  s.callee, s.code, s.iter_kind AS "iter_kind: IterKind", s.direction,
                  ss.name AS "subsystem?", ss.slug AS "subsystem_slug?", s.status AS "status: Status",
                  s.decided_by AS "decided_by: DecidedBy", v.label AS "verdict?", s.reason, s.version,
                  s.created_at, s.updated_at
               FROM sites s JOIN campaigns c ON c.id = s.campaign_id
               LEFT JOIN subsystems ss ON ss.id = s.subsystem_id
               LEFT JOIN verdicts v ON v.id = s.verdict_id WHERE s.id = ?1"#, id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("site {id}")))
}

/// All sites of a campaign by file and line (export).
pub async fn all_in(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<Site>> {
    Ok(sqlx::query_as!(
        Site,
        r#"SELECT s.id AS "id!: SiteId", c.slug AS campaign, s.file, s.line, s.col AS "column", s.function,
                  s.callee, s.code, s.iter_kind AS "iter_kind: IterKind", s.direction,
                  ss.name AS "subsystem?", ss.slug AS "subsystem_slug?", s.status AS "status: Status",
                  s.decided_by AS "decided_by: DecidedBy", v.label AS "verdict?", s.reason, s.version,
                  s.created_at, s.updated_at
               FROM sites s JOIN campaigns c ON c.id = s.campaign_id
               LEFT JOIN subsystems ss ON ss.id = s.subsystem_id
               LEFT JOIN verdicts v ON v.id = s.verdict_id WHERE s.campaign_id = ?1 ORDER BY s.file, s.line, s.id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}

/// Where a site was first seen.
#[derive(Debug, Clone, Serialize)]
pub struct FirstSeen {
    pub source: String,
    pub at: String,
    pub actor: String,
}

/// The import that created a site, if recorded.
pub async fn first_seen(db: &SqlitePool, id: SiteId) -> Result<Option<FirstSeen>> {
    Ok(sqlx::query_as!(
        FirstSeen,
        "SELECT i.source, i.at, i.actor FROM sites s JOIN imports i ON i.id = s.first_import_id WHERE s.id = ?1",
        id
    )
    .fetch_optional(db)
    .await?)
}

/// Source lines around a site from the last scan, and the number of the first.
pub async fn context(db: &SqlitePool, id: SiteId) -> Result<Option<(String, i64)>> {
    let r = sqlx::query!(
        r#"SELECT context, context_start FROM sites WHERE id = ?1"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(r.and_then(|r| r.context.zip(r.context_start)))
}

/// Every subsystem of a site's file, primary first (known after a tree scan).
pub async fn subsystems(db: &SqlitePool, id: SiteId) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query!(
        "SELECT s.name, s.slug FROM site_subsystems x JOIN subsystems s ON s.id = x.subsystem_id
         WHERE x.site_id = ?1 ORDER BY x.rank",
        id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.name, r.slug))
    .collect())
}

/// Sites of a campaign (in one subsystem) whose status a verdict group decided.
pub async fn decided_by_verdict(
    db: impl sqlx::SqliteExecutor<'_>,
    campaign: CampaignId,
    subsystem: SubsystemFilter,
    verdict: crate::model::VerdictId,
) -> Result<Vec<SiteId>> {
    let sub = subsystem.is_value();
    Ok(sqlx::query_scalar!(
        r#"SELECT id AS "id!: SiteId" FROM sites WHERE campaign_id = ?1 AND verdict_id = ?3
             AND decided_by = 'verdict' AND subsystem_id IS ?2
           ORDER BY id"#,
        campaign,
        sub,
        verdict
    )
    .fetch_all(db)
    .await?)
}

/// Move a site's version on: whatever pages and the API show of it changed, so a client
/// holding its ETag must see it as stale. The one writer of `version`; `at` also becomes the
/// site's `updated_at` (`None` leaves it as it is).
pub async fn bump_version(
    db: impl SqliteExecutor<'_>,
    site: SiteId,
    at: Option<&str>,
) -> Result<()> {
    sqlx::query!(
        "UPDATE sites SET version = version + 1, updated_at = coalesce(?2, updated_at) WHERE id = ?1",
        site,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}
