//! Notes and questions to subsystem owners.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::model::{CampaignId, NoteId, QuestionState, SiteId, SubsystemId};
use crate::Result;

/// A note, possibly a question to a subsystem's owners.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub id: NoteId,
    pub site_id: Option<SiteId>,
    /// file:line of the note's site, for lists.
    pub site_label: Option<String>,
    pub author: String,
    pub body: String,
    pub created_at: String,
    pub about: Option<String>,
    /// The subsystem asked, for questions.
    pub ask: Option<String>,
    pub ask_slug: Option<String>,
    pub question_state: Option<QuestionState>,
}

/// Notes on one site, oldest first.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Note>> {
    Ok(
        sqlx::query_as!(Note, r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                      CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                      n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                      n.question_state AS "question_state: QuestionState"
               FROM notes n LEFT JOIN sites s ON s.id = n.site_id
               LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
               LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id WHERE n.site_id = ?1 ORDER BY n.created_at, n.id"#, site)
            .fetch_all(db)
            .await?,
    )
}

/// Campaign-level notes (not on a site), oldest first.
pub async fn for_campaign(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<Note>> {
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                      CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                      n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                      n.question_state AS "question_state: QuestionState"
               FROM notes n LEFT JOIN sites s ON s.id = n.site_id
               LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
               LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id WHERE n.campaign_id = ?1 AND n.site_id IS NULL ORDER BY n.created_at, n.id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}

/// Notes touching a subsystem in a campaign: on its sites, about it, or asking it.
pub async fn for_subsystem(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: Option<SubsystemId>,
) -> Result<Vec<Note>> {
    let sub = subsystem.map_or(0, |s| s.0);
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                      CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                      n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                      n.question_state AS "question_state: QuestionState"
               FROM notes n LEFT JOIN sites s ON s.id = n.site_id
               LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
               LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id WHERE n.campaign_id = ?1 AND (
                (s.id IS NOT NULL AND ((?2 = 0 AND s.subsystem_id IS NULL) OR s.subsystem_id = ?2))
                OR n.subsystem_id = ?2 OR n.ask_subsystem_id = ?2)
             ORDER BY n.question_state IS NOT 'open', n.created_at, n.id"#,
        campaign,
        sub
    )
    .fetch_all(db)
    .await?)
}

/// Every site note of a campaign (export), by site then time.
pub async fn all_site_notes(db: &SqlitePool, campaign: CampaignId) -> Result<Vec<Note>> {
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                  NULL AS "site_label?: String",
                  n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                  n.question_state AS "question_state: QuestionState"
           FROM notes n
           LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
           LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id
           WHERE n.campaign_id = ?1 AND n.site_id IS NOT NULL ORDER BY n.site_id, n.created_at, n.id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}
