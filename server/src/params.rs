//! Values from paths, queries and forms made into core values, with the answer a bad one gets.

use treewide_core::mail::ThreadPage;
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

/// A fix stage filter from a query: absent or empty means any stage.
pub fn stage(s: Option<&str>) -> Result<Option<treewide_core::stages::Stage>, Failure> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => treewide_core::stages::Stage::parse(s)
            .map(Some)
            .ok_or_else(|| {
                Failure::BadRequest(format!(
                    "unknown stage {s:?}: expected posted, applied, next, mainline or stable"
                ))
            }),
    }
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

/// The page of a site's or subsystem's mail threads: `threads` strong threads skipped
/// (newest first), `limit` of them shown (1 to 100, 20 when absent), and the first
/// `weak_limit` weak ones (0 to 1000, 10 when absent).
pub fn thread_page(
    threads: Option<u32>,
    limit: Option<u32>,
    weak_limit: Option<u32>,
) -> Result<ThreadPage, Failure> {
    let weak_limit = match weak_limit.unwrap_or(10) {
        w if w <= 1000 => w,
        w => {
            return Err(Failure::BadRequest(format!(
                "weak_limit must be 0 to 1000, not {w}"
            )))
        }
    };
    Ok(ThreadPage {
        offset: threads.unwrap_or(0),
        limit: page_limit(limit, 20, 100)?,
        weak_limit,
    })
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
