//! Subsystems (as in MAINTAINERS) and their progress within a campaign.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::counts::StatusCounts;
use crate::model::{CampaignId, Status, SubsystemId};
use crate::{Error, Result};

/// The slug of the pseudo-subsystem holding sites with no subsystem.
pub const UNASSIGNED_SLUG: &str = "_unassigned";

/// A subsystem's progress in one campaign.
#[derive(Debug, Clone, Serialize)]
pub struct SubsystemProgress {
    /// `None` for the sites without a subsystem.
    pub id: Option<SubsystemId>,
    pub name: String,
    pub slug: String,
    pub counts: StatusCounts,
    pub open_questions: u64,
}

/// A subsystem with its people.
#[derive(Debug, Clone, Serialize)]
pub struct Subsystem {
    pub id: SubsystemId,
    pub name: String,
    pub slug: String,
    pub status: Option<String>,
    pub maintainers: Vec<String>,
    pub reviewers: Vec<String>,
    pub lists: Vec<String>,
}

/// Which subsystem a query means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubsystemFilter {
    Id(SubsystemId),
    Unassigned,
}

impl SubsystemFilter {
    /// The value the site queries take: 0 means "no subsystem".
    pub fn sql(self) -> i64 {
        match self {
            SubsystemFilter::Id(id) => id.0,
            SubsystemFilter::Unassigned => 0,
        }
    }

    /// The value for `subsystem_id IS ?`: NULL means "no subsystem". `IS` lets SQLite use the
    /// (campaign_id, subsystem_id, …) indexes, which an `OR` of two cases would not.
    pub fn is_value(self) -> Option<i64> {
        match self {
            SubsystemFilter::Id(id) => Some(id.0),
            SubsystemFilter::Unassigned => None,
        }
    }
}

/// Per-subsystem counts for a campaign, by name (unassigned last).
pub async fn progress(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<SubsystemProgress>> {
    progress_on(&mut *db.acquire().await?, campaign).await
}

/// [`progress`] on one connection (a read transaction's).
pub async fn progress_on(
    conn: &mut SqliteConnection,
    campaign: CampaignId,
) -> Result<Vec<SubsystemProgress>> {
    let mut by_id: HashMap<Option<SubsystemId>, SubsystemProgress> = HashMap::new();
    // One row a subsystem with its counts packed as `status:n,…`: sqlx copies (and later
    // frees) every value of every row, and a row a (subsystem, status) was 4,000 values for
    // 200 subsystems, a quarter of the campaign page's time.
    for r in sqlx::query!(
        r#"-- hot: kept by triggers (migration 0020); subsystem 0 is "no subsystem"
           SELECT nullif(k.subsystem_id, 0) AS "subsystem_id?: SubsystemId", ss.name AS "name?", ss.slug AS "slug?",
                  group_concat(k.status || ':' || k.n) AS "counts!: String"
           FROM site_counts k LEFT JOIN subsystems ss ON ss.id = k.subsystem_id
           WHERE k.campaign_id = ?1 AND k.n > 0 GROUP BY k.subsystem_id"#,
        campaign
    )
    .fetch_all(&mut *conn)
    .await?
    {
        by_id.insert(
            r.subsystem_id,
            SubsystemProgress {
                id: r.subsystem_id,
                name: r.name.unwrap_or_else(|| "(no subsystem)".into()),
                slug: r.slug.unwrap_or_else(|| UNASSIGNED_SLUG.into()),
                counts: packed_counts(&r.counts)?,
                open_questions: 0,
            },
        );
    }
    // Subsystems asked a question show up even when no site of theirs is in the campaign.
    for r in sqlx::query!(
        r#"-- hot
           SELECT n.ask_subsystem_id AS "id!: SubsystemId", ss.name, ss.slug, count(*) AS "n!: i64"
           FROM notes n JOIN subsystems ss ON ss.id = n.ask_subsystem_id
           WHERE n.campaign_id = ?1 AND n.question_state = 'open' GROUP BY n.ask_subsystem_id"#,
        campaign
    )
    .fetch_all(&mut *conn)
    .await?
    {
        by_id
            .entry(Some(r.id))
            .or_insert_with(|| SubsystemProgress {
                id: Some(r.id),
                name: r.name,
                slug: r.slug,
                counts: StatusCounts::default(),
                open_questions: 0,
            })
            .open_questions = r.n as u64;
    }
    let mut out: Vec<_> = by_id.into_values().collect();
    out.sort_by(|a, b| (a.id.is_none(), &a.name).cmp(&(b.id.is_none(), &b.name)));
    Ok(out)
}

/// Resolve a subsystem URL slug (or [`UNASSIGNED_SLUG`]).
pub async fn find(db: &SqlitePool, slug: &str) -> Result<Option<Subsystem>> {
    find_on(&mut *db.acquire().await?, slug).await
}

/// [`find`] on one connection.
async fn find_on(conn: &mut SqliteConnection, slug: &str) -> Result<Option<Subsystem>> {
    let Some(r) = sqlx::query!(
        r#"SELECT id AS "id!: SubsystemId", name, slug, status FROM subsystems WHERE slug = ?1"#,
        slug
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let people = sqlx::query!(
        "SELECT role, name, email FROM subsystem_people WHERE subsystem_id = ?1 ORDER BY rowid",
        r.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let lists = sqlx::query_scalar!(
        "SELECT list FROM subsystem_lists WHERE subsystem_id = ?1 ORDER BY rowid",
        r.id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(Subsystem {
        id: r.id,
        name: r.name,
        slug: r.slug,
        status: r.status,
        maintainers: people
            .iter()
            .filter(|p| p.role == "maintainer")
            .map(|p| person(&p.name, &p.email))
            .collect(),
        reviewers: people
            .iter()
            .filter(|p| p.role == "reviewer")
            .map(|p| person(&p.name, &p.email))
            .collect(),
        lists,
    }))
}

/// `Name <email>`, or the address alone.
fn person(name: &str, email: &str) -> String {
    if name.is_empty() {
        email.to_owned()
    } else {
        format!("{name} <{email}>")
    }
}

/// A subsystem as people name it: by URL slug or by its MAINTAINERS name
/// (`NVM EXPRESS TARGET DRIVER`). The one resolver of the API, the web forms and the CLI.
pub async fn resolve(db: &SqlitePool, key: &str) -> Result<Option<Subsystem>> {
    resolve_on(&mut *db.acquire().await?, key).await
}

/// [`resolve`] on one connection.
async fn resolve_on(conn: &mut SqliteConnection, key: &str) -> Result<Option<Subsystem>> {
    let key = key.trim();
    if key.is_empty() {
        return Ok(None);
    }
    if let Some(s) = find_on(&mut *conn, key).await? {
        return Ok(Some(s));
    }
    // By name first: two names folding to one slug get suffixed slugs, which only the name
    // finds. Then the name's slug, for a name typed in another case.
    let slug = sqlx::query_scalar!("SELECT slug FROM subsystems WHERE name = ?1", key)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or_else(|| crate::model::subsystem_slug(key));
    find_on(conn, &slug).await
}

/// The sites filter for a subsystem named by slug or MAINTAINERS name ([`resolve`]), or
/// [`UNASSIGNED_SLUG`]; NotFound otherwise. Every `subsystem=` filter goes through it.
pub async fn filter(db: &SqlitePool, key: &str) -> Result<(SubsystemFilter, Option<Subsystem>)> {
    filter_on(&mut *db.acquire().await?, key).await
}

/// [`filter`] on one connection (a read transaction's).
pub async fn filter_on(
    conn: &mut SqliteConnection,
    key: &str,
) -> Result<(SubsystemFilter, Option<Subsystem>)> {
    if key.trim() == UNASSIGNED_SLUG {
        return Ok((SubsystemFilter::Unassigned, None));
    }
    match resolve_on(conn, key).await? {
        Some(s) => Ok((SubsystemFilter::Id(s.id), Some(s))),
        None => Err(Error::NotFound(format!("subsystem {key:?}"))),
    }
}

/// `status:n,…` as [`progress`] packs a subsystem's counts.
fn packed_counts(packed: &str) -> Result<StatusCounts> {
    let mut c = StatusCounts::default();
    for part in packed.split(',') {
        let (status, n) = part.split_once(':').unwrap_or((part, ""));
        let n = n.parse::<u64>().map_err(|_| Error::Invalid {
            what: "site count",
            value: part.to_owned(),
            expected: "status:number",
        })?;
        c.add(status.parse()?, n);
    }
    Ok(c)
}

/// The subsystems a campaign's sites or notes name, with their people (export, status mail),
/// by name. Three queries whatever their number; the sites' subsystems come from the counts
/// triggers keep (migration 0020), not from the sites.
pub async fn used_by(conn: &mut SqliteConnection, campaign: CampaignId) -> Result<Vec<Subsystem>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!: SubsystemId", name, slug, status FROM subsystems WHERE id IN (
            SELECT subsystem_id FROM site_counts WHERE campaign_id = ?1 AND n > 0
            UNION SELECT subsystem_id FROM notes WHERE campaign_id = ?1
            UNION SELECT ask_subsystem_id FROM notes WHERE campaign_id = ?1) ORDER BY name"#,
        campaign
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<Subsystem> = rows
        .into_iter()
        .map(|r| Subsystem {
            id: r.id,
            name: r.name,
            slug: r.slug,
            status: r.status,
            maintainers: Vec::new(),
            reviewers: Vec::new(),
            lists: Vec::new(),
        })
        .collect();
    let at: HashMap<SubsystemId, usize> = out.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    let ids = crate::db::json_list(&out.iter().map(|s| s.id).collect::<Vec<_>>())?;
    for p in sqlx::query!(
        r#"SELECT subsystem_id AS "subsystem_id!: SubsystemId", role, name, email FROM subsystem_people
           WHERE subsystem_id IN (SELECT value FROM json_each(?1)) ORDER BY rowid"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let Some(s) = at.get(&p.subsystem_id).map(|i| &mut out[*i]) else {
            continue;
        };
        let person = person(&p.name, &p.email);
        match p.role.as_str() {
            "maintainer" => s.maintainers.push(person),
            "reviewer" => s.reviewers.push(person),
            _ => {}
        }
    }
    for l in sqlx::query!(
        r#"SELECT subsystem_id AS "subsystem_id!: SubsystemId", list FROM subsystem_lists
           WHERE subsystem_id IN (SELECT value FROM json_each(?1)) ORDER BY rowid"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        if let Some(s) = at.get(&l.subsystem_id).map(|i| &mut out[*i]) {
            s.lists.push(l.list);
        }
    }
    Ok(out)
}

/// Status counts of a campaign's sites in one subsystem (kept on write).
pub async fn counts(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: SubsystemFilter,
) -> Result<StatusCounts> {
    let sub = subsystem.sql();
    let mut c = StatusCounts::default();
    for r in sqlx::query!(
        r#"-- hot: kept by triggers (migration 0020)
           SELECT status AS "status: Status", n AS "n!: i64" FROM site_counts
           WHERE campaign_id = ?1 AND subsystem_id = ?2 AND n > 0"#,
        campaign,
        sub
    )
    .fetch_all(db)
    .await?
    {
        c.add(r.status, r.n as u64);
    }
    Ok(c)
}
