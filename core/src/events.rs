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
