//! Whether a campaign's release tag holds a file as the campaign sees it, so that links to
//! elixir.bootlin.com (which serves tags, not commits) go only where they land on the line.
//!
//! After `import git` the positions are a commit's past its nearest tag; the importer compares
//! each site file at the tag with the file at that commit and records the files that differ
//! ([`replace`]). A scan or an auditor file naming a tree makes the campaign's tree the release
//! it names again ([`clear`]).

use sqlx::{Sqlite, SqliteExecutor, Transaction};

use crate::model::CampaignId;
use crate::Result;

/// A file at the campaign's release tag, against the tree its positions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileAtTag {
    /// The same content: a link with a line lands on the line.
    Same,
    /// Present with other content: the file is there, its lines may have moved.
    Changed,
    /// Not at the tag: a link would be a 404.
    Absent,
}

impl FileAtTag {
    fn as_str(self) -> &'static str {
        match self {
            FileAtTag::Same => "same",
            FileAtTag::Changed => "changed",
            FileAtTag::Absent => "absent",
        }
    }
}

/// How `path` is at the campaign's release tag.
pub async fn file_at_tag(
    db: impl SqliteExecutor<'_>,
    campaign: CampaignId,
    path: &str,
) -> Result<FileAtTag> {
    let state = sqlx::query_scalar!(
        "-- hot
         SELECT state FROM tree_link_gaps WHERE campaign_id = ?1 AND path = ?2",
        campaign,
        path
    )
    .fetch_optional(db)
    .await?;
    Ok(match state.as_deref() {
        Some("absent") => FileAtTag::Absent,
        Some("changed") => FileAtTag::Changed,
        _ => FileAtTag::Same,
    })
}

/// Record the files that differ at the tag for the campaign's new positions (files not
/// named are the same there); what was recorded for earlier positions goes.
pub async fn replace(
    tx: &mut Transaction<'_, Sqlite>,
    campaign: CampaignId,
    files: &[(String, FileAtTag)],
) -> Result<()> {
    clear(&mut **tx, campaign).await?;
    for (path, state) in files.iter().filter(|(_, s)| *s != FileAtTag::Same) {
        let state = state.as_str();
        sqlx::query!(
            "INSERT INTO tree_link_gaps (campaign_id, path, state) VALUES (?1, ?2, ?3)",
            campaign,
            path,
            state
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The campaign's tree is the release its describe names: every file is linked as it is.
pub async fn clear(db: impl SqliteExecutor<'_>, campaign: CampaignId) -> Result<()> {
    sqlx::query!(
        "DELETE FROM tree_link_gaps WHERE campaign_id = ?1",
        campaign
    )
    .execute(db)
    .await?;
    Ok(())
}
