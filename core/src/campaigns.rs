//! Campaigns and their progress.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::SqlitePool;

use crate::counts::StatusCounts;
use crate::model::{CampaignId, SignoffScope, Status};
use crate::{Error, Result};

/// A campaign with its progress.
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: CampaignId,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub rule: String,
    pub tree_describe: Option<String>,
    pub tree_commit: Option<String>,
    pub tree_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Whose sign-off the campaign takes (`campaign set-signoff-scope`).
    pub signoff_scope: SignoffScope,
    pub counts: StatusCounts,
    pub open_questions: u64,
}

impl Campaign {
    /// The release tag the scanned tree is, as elixir.bootlin.com and git.kernel.org name
    /// it: the most specific version the describe names (`v6.1.172` of "v6.1 (Debian
    /// linux-source-6.1 6.1.172-1)", a Debian revision dropped). `None` when it names none.
    pub fn version_tag(&self) -> Option<String> {
        version_tag(self.tree_describe.as_deref()?)
    }
}

/// The most specific `vX.Y[.Z]` a describe names (see [`Campaign::version_tag`]).
pub fn version_tag(describe: &str) -> Option<String> {
    describe
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter_map(|w| {
            let w = w.strip_prefix('v').unwrap_or(w);
            // A Debian revision ("6.1.172-1") or a package suffix is not part of the tag; a
            // release candidate is ("6.7-rc1-12-g1a2b3c4": v6.7-rc1, what git describe says).
            let mut parts = w.split('-');
            let w = parts.next()?;
            let rc = parts
                .next()
                .filter(|p| {
                    p.len() > 2 && p.starts_with("rc") && p[2..].bytes().all(|b| b.is_ascii_digit())
                })
                .map(|p| format!("-{p}"))
                .unwrap_or_default();
            let parts: Vec<&str> = w.split('.').collect();
            let ok = (2..=3).contains(&parts.len())
                && parts.iter().all(|p| {
                    !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit())
                });
            ok.then(|| (parts.len(), format!("v{w}{rc}")))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, tag)| tag)
}

struct Row {
    id: CampaignId,
    slug: String,
    title: String,
    description: String,
    rule: String,
    tree_describe: Option<String>,
    tree_commit: Option<String>,
    tree_url: Option<String>,
    created_at: String,
    updated_at: String,
    signoff_scope: SignoffScope,
}

impl Row {
    fn into_campaign(self, counts: StatusCounts, open_questions: u64) -> Campaign {
        Campaign {
            id: self.id,
            slug: self.slug,
            title: self.title,
            description: self.description,
            rule: self.rule,
            tree_describe: self.tree_describe,
            tree_commit: self.tree_commit,
            tree_url: self.tree_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
            signoff_scope: self.signoff_scope,
            counts,
            open_questions,
        }
    }
}

/// All campaigns, by slug, with progress.
pub async fn list(db: &SqlitePool) -> Result<Vec<Campaign>> {
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!: CampaignId", slug, title, description, rule, tree_describe, tree_commit, tree_url,
                  created_at, updated_at, signoff_scope AS "signoff_scope: SignoffScope"
           FROM campaigns ORDER BY slug"#
    )
    .fetch_all(db)
    .await?;
    let mut counts: HashMap<CampaignId, StatusCounts> = HashMap::new();
    for r in sqlx::query!(
        r#"-- hot: kept by triggers (migration 0020)
           SELECT campaign_id AS "campaign_id: CampaignId", status AS "status: Status", n AS "n!: i64"
           FROM campaign_counts WHERE n > 0"#
    )
    .fetch_all(db)
    .await?
    {
        counts.entry(r.campaign_id).or_default().add(r.status, r.n as u64);
    }
    let questions: HashMap<CampaignId, i64> = sqlx::query!(
        r#"-- hot
           SELECT campaign_id AS "campaign_id: CampaignId", count(*) AS "n!: i64" FROM notes
           WHERE question_state = 'open' GROUP BY campaign_id"#
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.campaign_id, r.n))
    .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (c, q) = (
                counts.get(&r.id).copied().unwrap_or_default(),
                questions.get(&r.id).copied().unwrap_or(0),
            );
            r.into_campaign(c, q as u64)
        })
        .collect())
}

/// One campaign by slug.
pub async fn get(db: &SqlitePool, slug: &str) -> Result<Campaign> {
    get_on(&mut *db.acquire().await?, slug).await
}

/// [`get`] on one connection (a read transaction's).
pub async fn get_on(conn: &mut sqlx::SqliteConnection, slug: &str) -> Result<Campaign> {
    let mut c = meta(&mut *conn, slug).await?;
    for r in sqlx::query!(
        r#"-- hot: kept by triggers (migration 0020)
           SELECT status AS "status: Status", n AS "n!: i64" FROM campaign_counts
           WHERE campaign_id = ?1 AND n > 0"#,
        c.id
    )
    .fetch_all(&mut *conn)
    .await?
    {
        c.counts.add(r.status, r.n as u64);
    }
    c.open_questions = sqlx::query_scalar!(
        r#"-- hot
           SELECT count(*) AS "n!: i64" FROM notes WHERE campaign_id = ?1 AND question_state = 'open'"#,
        c.id
    )
    .fetch_one(conn)
    .await? as u64;
    Ok(c)
}

/// What importers need to tell a fix: the campaign's stored spec (TOML) and start date.
pub async fn fix_spec(
    db: impl sqlx::SqliteExecutor<'_>,
    campaign: CampaignId,
) -> Result<(Option<String>, Option<String>)> {
    let r = sqlx::query!("SELECT spec, start FROM campaigns WHERE id = ?1", campaign)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("campaign {campaign}")))?;
    Ok((r.spec, r.start))
}

/// One campaign by slug without its counts (cheap: for pages and queries that only need its
/// id, title and tree; `counts` stays empty).
pub async fn meta(db: impl sqlx::SqliteExecutor<'_>, slug: &str) -> Result<Campaign> {
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id AS "id!: CampaignId", slug, title, description, rule, tree_describe, tree_commit, tree_url,
                  created_at, updated_at, signoff_scope AS "signoff_scope: SignoffScope"
           FROM campaigns WHERE slug = ?1"#,
        slug
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("campaign {slug:?}")))?;
    Ok(row.into_campaign(StatusCounts::default(), 0))
}

/// Set whose sign-off campaign `slug` takes, recording who changed it (a `scope` event).
/// Returns the scope it had.
pub async fn set_signoff_scope(
    db: &SqlitePool,
    slug: &str,
    scope: SignoffScope,
    actor: &str,
    source: crate::model::EventSource,
) -> Result<SignoffScope> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let row = sqlx::query!(
        r#"SELECT id AS "id!: CampaignId", signoff_scope AS "scope: SignoffScope"
           FROM campaigns WHERE slug = ?1"#,
        slug
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::NotFound(format!("campaign {slug:?}")))?;
    if row.scope != scope {
        let at = crate::model::now();
        sqlx::query!(
            "UPDATE campaigns SET signoff_scope = ?2, updated_at = ?3 WHERE id = ?1",
            row.id,
            scope,
            at
        )
        .execute(&mut *tx)
        .await?;
        let stamp = crate::events::Stamp {
            actor,
            source,
            source_ref: None,
            at: &at,
        };
        let event = crate::events::NewEvent::new(row.id, crate::model::EventKind::Scope, stamp)
            .change(Some(row.scope.as_str()), Some(scope.as_str()));
        crate::events::append(&mut *tx, &event).await?;
    }
    tx.commit().await?;
    Ok(row.scope)
}

/// True when the database holds no campaign at all (the demo may load).
pub async fn is_empty(db: &SqlitePool) -> Result<bool> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM campaigns"#)
            .fetch_one(db)
            .await?
            == 0,
    )
}

/// A file the last scan could not parse cleanly.
#[derive(Debug, Clone, Serialize)]
pub struct ScanProblem {
    pub file: String,
    pub reason: String,
    /// Sites found in it by text.
    pub sites: i64,
}

/// When the campaign was last scanned, over how many files, and what could not be parsed.
#[derive(Debug, Clone, Serialize)]
pub struct ScanState {
    pub scanned_at: Option<String>,
    pub files: Option<i64>,
    pub problems: Vec<ScanProblem>,
}

/// The campaign's last scan.
pub async fn scan_state(db: &SqlitePool, campaign: CampaignId) -> Result<ScanState> {
    let r = sqlx::query!(
        "SELECT scanned_at, scan_files FROM campaigns WHERE id = ?1",
        campaign
    )
    .fetch_one(db)
    .await?;
    let problems = sqlx::query_as!(
        ScanProblem,
        "SELECT file, reason, sites FROM scan_problems WHERE campaign_id = ?1 ORDER BY file",
        campaign
    )
    .fetch_all(db)
    .await?;
    Ok(ScanState {
        scanned_at: r.scanned_at,
        files: r.scan_files,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::version_tag;

    #[test]
    fn describes_give_the_most_specific_release_tag() {
        assert_eq!(
            version_tag("v6.1 (Debian linux-source-6.1 6.1.172-1)").as_deref(),
            Some("v6.1.172")
        );
        assert_eq!(version_tag("v6.1.172").as_deref(), Some("v6.1.172"));
        assert_eq!(version_tag("v6.9").as_deref(), Some("v6.9"));
        assert_eq!(version_tag("local tree at 1a2b3c4").as_deref(), None);
        assert_eq!(
            version_tag("v6.1-rc3-42-gdeadbeef").as_deref(),
            Some("v6.1-rc3")
        );
        assert_eq!(
            version_tag("v6.7-12-g1a2b3c4d5e6f").as_deref(),
            Some("v6.7")
        );
        assert_eq!(version_tag("master at 1a2b3c4d5e6f").as_deref(), None);
    }
}
