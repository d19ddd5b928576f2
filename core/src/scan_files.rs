//! What the last scan of a campaign read (migrations 0018 and 0023): a re-scan reads and
//! parses only the files whose size, mtime or content changed and reuses what it found in the
//! others (`importer::scan`). A cache: a row is a pure function of its files' content and
//! stat, the scanner, the spec and MAINTAINERS, so a lost row costs a re-read, never a wrong
//! result.
//!
//! Two tables: `scan_dirs`, the tree's listing in blobs ([`listing`]: each directory's
//! inode and change time, subdirectories, and the name, size and mtime of each of its
//! `.c`/`.h` files), which is all a re-scan needs to know of the tens of thousands of files
//! without a candidate call; and `scan_files`, one row per file with a candidate call (its
//! hash, the scanner's findings and its routing).

pub mod listing;

use sqlx::SqlitePool;

use crate::model::CampaignId;
use crate::Result;

/// Rows per INSERT (one JSON array parameter each).
const CHUNK: usize = 2000;

/// What a campaign's cached files were computed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanState {
    /// The tree's root as scanned: sizes and mtimes describe files there.
    pub tree: String,
    /// Hex SHA-256 of the scanner's version and the spec's text.
    pub spec_key: String,
    /// Hex SHA-256 of the tree's MAINTAINERS (empty: it had none).
    pub maintainers_key: String,
    /// When that scan began reading, in Unix nanoseconds: a file modified since may have
    /// changed while it was read.
    pub started_ns: i64,
    /// What re-routing a changed file needs of that MAINTAINERS without parsing it (JSON,
    /// the importer's format); `None`: unknown.
    pub routing: Option<String>,
}

/// One file with a candidate call as the last scan read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedFile {
    /// Relative to the tree, `/`-separated.
    pub path: String,
    pub size: i64,
    /// `None`: modified while it was read; read again next time.
    pub mtime_ns: Option<i64>,
    /// Hex SHA-256 of the content.
    pub sha256: Option<String>,
    /// The scanner's findings (JSON, the importer's format).
    pub found: Option<String>,
    /// How MAINTAINERS routed it (JSON, the importer's format), for files with sites.
    pub routing: Option<String>,
}

impl ScannedFile {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path, "size": self.size, "mtime_ns": self.mtime_ns,
            "sha256": self.sha256, "found": self.found, "routing": self.routing,
        })
    }
}

/// A campaign's last scan.
#[derive(Debug, Clone)]
pub struct Cached {
    pub state: ScanState,
    /// The tree's directories as it listed them: ([`listing::group_of`], blob) each.
    pub listings: Vec<(String, Vec<u8>)>,
    /// The files with a candidate call.
    pub files: Vec<ScannedFile>,
}

/// What a scan changes in the cache.
#[derive(Debug, Clone)]
pub struct Update {
    pub state: ScanState,
    /// Drop every cached directory and file first (a full scan).
    pub replace: bool,
    /// Groups of directories listed anew ([`listing::group_of`], blob).
    pub listings: Vec<(String, Vec<u8>)>,
    /// Groups with no directory left.
    pub gone_groups: Vec<String>,
    /// Files with a candidate call read (or routed) again, new or changed.
    pub upsert: Vec<ScannedFile>,
    /// Files no longer in the tree or without a candidate call now.
    pub delete: Vec<String>,
}

/// The last scan of the campaign `slug`, if one was cached.
pub async fn load(db: &SqlitePool, slug: &str) -> Result<Option<Cached>> {
    let mut tx = db.begin().await?;
    let Some(s) = sqlx::query!(
        r#"SELECT s.campaign_id AS "campaign_id!: CampaignId", s.tree, s.spec_key,
                  s.maintainers_key, s.started_ns, s.routing
           FROM scan_state s JOIN campaigns c ON c.id = s.campaign_id WHERE c.slug = ?1"#,
        slug
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let listings = sqlx::query!(
        "SELECT grp, listing FROM scan_dirs WHERE campaign_id = ?1",
        s.campaign_id
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.grp, r.listing))
    .collect();
    let files = sqlx::query_as!(
        ScannedFile,
        "SELECT path, size, mtime_ns, sha256, found, routing FROM scan_files
         WHERE campaign_id = ?1",
        s.campaign_id
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Cached {
        state: ScanState {
            tree: s.tree,
            spec_key: s.spec_key,
            maintainers_key: s.maintainers_key,
            started_ns: s.started_ns,
            routing: s.routing,
        },
        listings,
        files,
    }))
}

/// Record what a scan of the campaign `slug` read, in one transaction. Returns false (and
/// writes nothing) when there is no such campaign.
pub async fn save(db: &SqlitePool, slug: &str, update: &Update) -> Result<bool> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let Some(campaign) = sqlx::query_scalar!(
        r#"SELECT id AS "id!: CampaignId" FROM campaigns WHERE slug = ?1"#,
        slug
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    let st = &update.state;
    sqlx::query!(
        "INSERT INTO scan_state (campaign_id, tree, spec_key, maintainers_key, started_ns, routing)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (campaign_id) DO UPDATE SET tree = excluded.tree,
             spec_key = excluded.spec_key, maintainers_key = excluded.maintainers_key,
             started_ns = excluded.started_ns, routing = excluded.routing",
        campaign,
        st.tree,
        st.spec_key,
        st.maintainers_key,
        st.started_ns,
        st.routing
    )
    .execute(&mut *tx)
    .await?;
    if update.replace {
        sqlx::query!("DELETE FROM scan_files WHERE campaign_id = ?1", campaign)
            .execute(&mut *tx)
            .await?;
        sqlx::query!("DELETE FROM scan_dirs WHERE campaign_id = ?1", campaign)
            .execute(&mut *tx)
            .await?;
    }
    for chunk in update.gone_groups.chunks(CHUNK) {
        let groups = serde_json::Value::from(chunk.to_vec()).to_string();
        sqlx::query!(
            "DELETE FROM scan_dirs WHERE campaign_id = ?1
               AND grp IN (SELECT value FROM json_each(?2))",
            campaign,
            groups
        )
        .execute(&mut *tx)
        .await?;
    }
    // One statement a group (a blob cannot travel in a JSON parameter): a few hundred for a
    // full scan of the kernel, one or two for a re-scan.
    for (group, listing) in &update.listings {
        sqlx::query!(
            "INSERT OR REPLACE INTO scan_dirs (campaign_id, grp, listing) VALUES (?1, ?2, ?3)",
            campaign,
            group,
            listing
        )
        .execute(&mut *tx)
        .await?;
    }
    for chunk in update.delete.chunks(CHUNK) {
        let paths = serde_json::Value::from(chunk.to_vec()).to_string();
        sqlx::query!(
            "DELETE FROM scan_files WHERE campaign_id = ?1
               AND path IN (SELECT value FROM json_each(?2))",
            campaign,
            paths
        )
        .execute(&mut *tx)
        .await?;
    }
    for chunk in update.upsert.chunks(CHUNK) {
        let rows =
            serde_json::Value::Array(chunk.iter().map(ScannedFile::to_json).collect()).to_string();
        sqlx::query!(
            "INSERT OR REPLACE INTO scan_files
                 (campaign_id, path, size, mtime_ns, sha256, found, routing)
             SELECT ?1, j.value ->> 'path', j.value ->> 'size', j.value ->> 'mtime_ns',
                    j.value ->> 'sha256', j.value ->> 'found', j.value ->> 'routing'
             FROM json_each(?2) AS j",
            campaign,
            rows
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
