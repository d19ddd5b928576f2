//! Verdict groups of a campaign.

use serde::Serialize;
use sqlx::SqliteExecutor;

use crate::matcher::VerdictMatch;
use crate::model::{CampaignId, IterKind, Status, VerdictId};
use crate::Result;

/// A stored verdict group.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: VerdictId,
    pub position: i64,
    pub label: String,
    #[serde(rename = "match")]
    pub matches: VerdictMatch,
    pub status: Status,
    pub reason: String,
    /// When the group's status became true, as its input said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// The campaign's verdict groups in order (first match wins).
pub async fn list_in<'e>(
    db: impl SqliteExecutor<'e>,
    campaign: CampaignId,
) -> Result<Vec<Verdict>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!: VerdictId", position, label, match_callee, match_iter_kind AS "match_iter_kind: IterKind",
                  match_direction, match_function, match_file, status AS "status: Status", reason, date
           FROM verdicts WHERE campaign_id = ?1 ORDER BY position"#,
        campaign
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Verdict {
            id: r.id,
            position: r.position,
            label: r.label,
            matches: VerdictMatch {
                callee: r.match_callee,
                iter_kind: r.match_iter_kind,
                direction: r.match_direction,
                function: r.match_function,
                file: r.match_file,
            },
            status: r.status,
            reason: r.reason,
            date: r.date,
        })
        .collect())
}

/// How many of a campaign's sites (in one subsystem) each verdict group decided.
pub async fn decided_counts(
    db: &sqlx::SqlitePool,
    campaign: CampaignId,
    subsystem: crate::subsystems::SubsystemFilter,
) -> Result<std::collections::HashMap<VerdictId, u64>> {
    let sub = subsystem.is_value();
    Ok(sqlx::query!(
        r#"-- hot
           SELECT verdict_id AS "verdict_id!: VerdictId", count(*) AS "n!: i64" FROM sites
           WHERE campaign_id = ?1 AND verdict_id IS NOT NULL
             AND subsystem_id IS ?2
           GROUP BY verdict_id"#,
        campaign,
        sub
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.verdict_id, r.n as u64))
    .collect())
}
