//! Values from paths, queries and forms made into core values, with the answer a bad one gets.

use treewide_core::model::{SiteId, Status, SubsystemId};
use treewide_core::{subsystems, SqlitePool};

use crate::error::Failure;

/// A site id from a path: one that is not a number names no site (404, not 400).
pub fn site_id(s: &str) -> Result<SiteId, Failure> {
    s.parse()
        .map(SiteId)
        .map_err(|_| Failure::NotFound(format!("site {s:?} not found")))
}

/// A status filter from a query: absent or empty means any status.
pub fn status(s: Option<&str>) -> Result<Option<Status>, Failure> {
    s.filter(|s| !s.is_empty())
        .map(str::parse::<Status>)
        .transpose()
        .map_err(Failure::from)
}

/// A page size from the query: `default` when absent, else 1 to `max`.
pub fn page_limit(asked: Option<u32>, default: u32, max: u32) -> Result<u32, Failure> {
    match asked.unwrap_or(default) {
        l if (1..=max).contains(&l) => Ok(l),
        l => Err(Failure::BadRequest(format!(
            "limit must be 1 to {max}, not {l}"
        ))),
    }
}

/// The subsystem a new note asks (by slug or MAINTAINERS name); none when the field is empty.
pub async fn asked_subsystem(db: &SqlitePool, key: &str) -> Result<Option<SubsystemId>, Failure> {
    let key = key.trim();
    if key.is_empty() {
        return Ok(None);
    }
    let sub = subsystems::resolve(db, key)
        .await?
        .ok_or_else(|| Failure::BadRequest(format!("no subsystem {key:?}")))?;
    Ok(Some(sub.id))
}
