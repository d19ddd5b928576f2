//! The append-only event log: [`append`] is the one writer, the rest reads it.

use serde::Serialize;
use sqlx::{SqliteExecutor, SqlitePool};

use crate::model::{CampaignId, EventId, EventKind, EventSource, SiteId};
use crate::Result;

/// Who records a change, through what and when: what every event of one action shares.
#[derive(Debug, Clone, Copy)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub source: EventSource,
    /// What the change came with (a file, a Message-ID, a commit); `None` when nothing.
    pub source_ref: Option<&'a str>,
    pub at: &'a str,
}

/// An event to append: start from [`NewEvent::new`] and add what it has.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub campaign: CampaignId,
    pub site: Option<SiteId>,
    pub kind: EventKind,
    pub old: Option<&'a str>,
    pub new: Option<&'a str>,
    pub reason: &'a str,
    pub stamp: Stamp<'a>,
    /// When the fact happened, when that is known and not the time of recording: the
    /// auditor's stated date, the fixing commit's date, the mail's date (RFC 3339 or
    /// YYYY-MM-DD). The burndown dates a done site by it.
    pub occurred: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    /// A `kind` event of `campaign`, about no site, with no values and an empty reason.
    pub fn new(campaign: CampaignId, kind: EventKind, stamp: Stamp<'a>) -> NewEvent<'a> {
        NewEvent {
            campaign,
            site: None,
            kind,
            old: None,
            new: None,
            reason: "",
            stamp,
            occurred: None,
        }
    }

    /// About `site` (`None`: about the campaign).
    pub fn site(self, site: impl Into<Option<SiteId>>) -> NewEvent<'a> {
        NewEvent {
            site: site.into(),
            ..self
        }
    }

    /// What changed: the value before and after.
    pub fn change(self, old: Option<&'a str>, new: Option<&'a str>) -> NewEvent<'a> {
        NewEvent { old, new, ..self }
    }

    /// Why, in words.
    pub fn reason(self, reason: &'a str) -> NewEvent<'a> {
        NewEvent { reason, ..self }
    }

    /// When the fact happened (`None`: when it is recorded).
    pub fn occurred(self, occurred: Option<&'a str>) -> NewEvent<'a> {
        NewEvent { occurred, ..self }
    }
}

/// Append `e` to the log, on a pool or inside the caller's transaction.
pub async fn append(db: impl SqliteExecutor<'_>, e: &NewEvent<'_>) -> Result<()> {
    sqlx::query!(
        "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason,
                             occurred_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        e.campaign,
        e.site,
        e.stamp.at,
        e.stamp.actor,
        e.stamp.source,
        e.stamp.source_ref,
        e.kind,
        e.old,
        e.new,
        e.reason,
        e.occurred
    )
    .execute(db)
    .await?;
    Ok(())
}

/// One logged change.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: EventId,
    pub site_id: Option<SiteId>,
    /// When it was recorded.
    pub at: String,
    /// When the fact happened, when known and not `at` (see [`NewEvent::occurred`]).
    pub occurred_at: Option<String>,
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
        r#"SELECT id AS "id!: EventId", site_id AS "site_id: SiteId", at, occurred_at, actor, source AS "source: EventSource",
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

/// An event with one more column of the row it was read from (its campaign, its site).
struct EventWith<T> {
    id: EventId,
    site_id: Option<SiteId>,
    at: String,
    occurred_at: Option<String>,
    actor: String,
    source: EventSource,
    source_ref: Option<String>,
    kind: EventKind,
    old: Option<String>,
    new: Option<String>,
    reason: String,
    extra: T,
}

impl<T> EventWith<T> {
    /// The event and the extra column.
    fn split(self) -> (Event, T) {
        let event = Event {
            id: self.id,
            site_id: self.site_id,
            at: self.at,
            occurred_at: self.occurred_at,
            actor: self.actor,
            source: self.source,
            source_ref: self.source_ref,
            kind: self.kind,
            old: self.old,
            new: self.new,
            reason: self.reason,
        };
        (event, self.extra)
    }
}

/// Events after `since` (an event id), oldest first, with their campaign's slug: the feed
/// bots poll.
pub async fn since(db: &SqlitePool, since: i64, limit: u32) -> Result<Vec<(String, Event)>> {
    let limit = i64::from(limit);
    Ok(sqlx::query_as!(
        EventWith,
        r#"SELECT e.id AS "id!: EventId", e.site_id AS "site_id: SiteId", e.at, e.occurred_at, e.actor,
                  e.source AS "source: EventSource", e.source_ref, e.kind AS "kind: EventKind", e.old, e.new,
                  e.reason, c.slug AS extra
           FROM events e JOIN campaigns c ON c.id = e.campaign_id
           WHERE e.id > ?1 ORDER BY e.id LIMIT ?2"#,
        since,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| {
        let (event, campaign) = r.split();
        (campaign, event)
    })
    .collect())
}

/// A campaign's (or one subsystem's) latest events, newest first, with their site's
/// `file:line` (Atom feeds).
pub async fn latest(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: Option<crate::model::SubsystemId>,
    limit: u32,
) -> Result<Vec<(Event, Option<String>)>> {
    let (sub, limit) = (subsystem.map(|s| s.0), i64::from(limit));
    Ok(sqlx::query_as!(
        EventWith,
        r#"SELECT e.id AS "id!: EventId", e.site_id AS "site_id: SiteId", e.at, e.occurred_at, e.actor,
                  e.source AS "source: EventSource", e.source_ref, e.kind AS "kind: EventKind", e.old, e.new,
                  e.reason, s.file || ':' || s.line AS "extra?: String"
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
    .map(EventWith::split)
    .collect())
}
