//! The append-only event log.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::model::{EventId, EventKind, EventSource, SiteId};
use crate::Result;

/// One logged change.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: EventId,
    pub site_id: Option<SiteId>,
    pub at: String,
    pub actor: String,
    pub source: EventSource,
    pub source_ref: Option<String>,
    pub kind: EventKind,
    pub old: Option<String>,
    pub new: Option<String>,
    pub reason: String,
}

/// A site's history, oldest first.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Event>> {
    Ok(sqlx::query_as!(
        Event,
        r#"SELECT id AS "id!: EventId", site_id AS "site_id: SiteId", at, actor, source AS "source: EventSource",
                  source_ref, kind AS "kind: EventKind", old, new, reason
           FROM events WHERE site_id = ?1 ORDER BY id"#,
        site
    )
    .fetch_all(db)
    .await?)
}

/// Number of events in the whole log (tests and diagnostics).
pub async fn count(db: &SqlitePool) -> Result<i64> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM events"#)
            .fetch_one(db)
            .await?,
    )
}

/// Events after `since` (an event id), oldest first: the feed bots poll.
pub async fn since(db: &SqlitePool, since: i64, limit: u32) -> Result<Vec<(String, Event)>> {
    let limit = i64::from(limit);
    Ok(sqlx::query!(
        r#"SELECT e.id AS "id!: EventId", c.slug AS campaign, e.site_id AS "site_id: SiteId", e.at, e.actor,
                  e.source AS "source: EventSource", e.source_ref, e.kind AS "kind: EventKind", e.old, e.new, e.reason
           FROM events e JOIN campaigns c ON c.id = e.campaign_id
           WHERE e.id > ?1 ORDER BY e.id LIMIT ?2"#,
        since,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.campaign,
            Event {
                id: r.id,
                site_id: r.site_id,
                at: r.at,
                actor: r.actor,
                source: r.source,
                source_ref: r.source_ref,
                kind: r.kind,
                old: r.old,
                new: r.new,
                reason: r.reason,
            },
        )
    })
    .collect())
}

/// A campaign's (or one subsystem's) latest events, newest first (Atom feeds).
pub async fn latest(
    db: &SqlitePool,
    campaign: crate::model::CampaignId,
    subsystem: Option<crate::model::SubsystemId>,
    limit: u32,
) -> Result<Vec<(Event, Option<String>)>> {
    let (sub, limit) = (subsystem.map(|s| s.0), i64::from(limit));
    Ok(sqlx::query!(
        r#"SELECT e.id AS "id!: EventId", e.site_id AS "site_id: SiteId", e.at, e.actor,
                  e.source AS "source: EventSource", e.source_ref, e.kind AS "kind: EventKind", e.old, e.new,
                  e.reason, s.file || ':' || s.line AS "site_label?: String"
           FROM events e LEFT JOIN sites s ON s.id = e.site_id
           WHERE e.campaign_id = ?1 AND (?2 IS NULL OR s.subsystem_id = ?2)
           ORDER BY e.id DESC LIMIT ?3"#,
        campaign,
        sub,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| {
        (
            Event {
                id: r.id,
                site_id: r.site_id,
                at: r.at,
                actor: r.actor,
                source: r.source,
                source_ref: r.source_ref,
                kind: r.kind,
                old: r.old,
                new: r.new,
                reason: r.reason,
            },
            r.site_label,
        )
    })
    .collect())
}
