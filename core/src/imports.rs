//! The import log: one row per import (an auditor's file, the demo, a tree scan, a mail import
//! for each campaign it touched, a history import), written by [`record`] and nothing else.

use serde::Serialize;
use sqlx::SqliteExecutor;

use crate::model::{CampaignId, ImportId};
use crate::Result;

/// What an import read; stored as TEXT under a CHECK with the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum ImportKind {
    /// An auditor's file.
    Auditor,
    /// The embedded demo campaigns.
    Demo,
    /// A scan of a source tree.
    Scan,
    /// List mail.
    Mail,
    /// A local git repository's history.
    Git,
    /// A GitHub repository's history.
    #[serde(rename = "github")]
    #[sqlx(rename = "github")]
    GitHub,
}

impl ImportKind {
    /// Whether this kind reads a file whose SHA-256 the row may keep.
    fn reads_a_file(self) -> bool {
        matches!(self, ImportKind::Auditor | ImportKind::Demo)
    }
}

/// One import's row: start from [`Import::new`] and add what its kind records.
#[derive(Debug, Clone, Copy)]
pub struct Import<'a> {
    campaign: CampaignId,
    kind: ImportKind,
    source: &'a str,
    actor: &'a str,
    at: &'a str,
    sha256: Option<&'a str>,
    cursor: Option<&'a str>,
    sites_total: Option<u64>,
    sites_new: u64,
    sites_changed: u64,
    links_new: Option<u64>,
}

impl<'a> Import<'a> {
    /// An import of `kind` into `campaign` from `source` (a file name, inbox or repository, as
    /// history shows it) by `actor` at `at`, with nothing counted yet.
    pub fn new(
        kind: ImportKind,
        campaign: CampaignId,
        source: &'a str,
        actor: &'a str,
        at: &'a str,
    ) -> Import<'a> {
        Import {
            campaign,
            kind,
            source,
            actor,
            at,
            sha256: None,
            cursor: None,
            sites_total: None,
            sites_new: 0,
            sites_changed: 0,
            links_new: None,
        }
    }

    /// The SHA-256 (hex) of the file read. Empty, or a kind that reads no file: none kept.
    pub fn sha256(self, sha256: &'a str) -> Import<'a> {
        let keep = self.kind.reads_a_file() && !sha256.is_empty();
        Import {
            sha256: keep.then_some(sha256),
            ..self
        }
    }

    /// History: the last commit read of each branch, space-separated (empty: none).
    pub fn cursor(self, cursor: &'a str) -> Import<'a> {
        Import {
            cursor: (!cursor.is_empty()).then_some(cursor),
            ..self
        }
    }

    /// The sites the batch carried, or history placed at the tip.
    pub fn sites_total(self, total: u64) -> Import<'a> {
        Import {
            sites_total: Some(total),
            ..self
        }
    }

    /// Stored sites whose data or status the import changed.
    pub fn sites_changed(self, changed: u64) -> Import<'a> {
        Import {
            sites_changed: changed,
            ..self
        }
    }

    /// Mail: message–site links added.
    pub fn links_new(self, links: u64) -> Import<'a> {
        Import {
            links_new: Some(links),
            ..self
        }
    }
}

/// Record an import, on a pool or inside the import's transaction. Returns its id.
pub async fn record(db: impl SqliteExecutor<'_>, i: &Import<'_>) -> Result<ImportId> {
    let (total, new, changed, links) = (
        i.sites_total.map(count),
        count(i.sites_new),
        count(i.sites_changed),
        i.links_new.map(count),
    );
    Ok(sqlx::query_scalar!(
        r#"INSERT INTO imports (campaign_id, source, kind, at, actor, sha256, cursor,
                                sites_total, sites_new, sites_changed, links_new)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id AS "id!: ImportId""#,
        i.campaign,
        i.source,
        i.kind,
        i.at,
        i.actor,
        i.sha256,
        i.cursor,
        total,
        new,
        changed,
        links
    )
    .fetch_one(db)
    .await?)
}

/// The site counts of an import recorded before its sites were stored (they point at it).
pub async fn set_site_counts(
    db: impl SqliteExecutor<'_>,
    id: ImportId,
    sites_new: u64,
    sites_changed: u64,
) -> Result<()> {
    let (new, changed) = (count(sites_new), count(sites_changed));
    sqlx::query!(
        "UPDATE imports SET sites_new = ?2, sites_changed = ?3 WHERE id = ?1",
        id,
        new,
        changed
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A count as SQLite stores it.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
