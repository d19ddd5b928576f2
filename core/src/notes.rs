//! Notes and questions to subsystem owners.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::events::{self, NewEvent, Stamp};
use crate::model::{
    CampaignId, EventKind, EventSource, NoteId, QuestionState, SiteId, SubsystemId,
};
use crate::sites;
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
    /// For an answer: the question it answers.
    pub answers: Option<NoteId>,
}

/// Notes on one site, oldest first.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Note>> {
    Ok(
        sqlx::query_as!(Note, r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                      CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                      n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                      n.question_state AS "question_state: QuestionState", n.answers AS "answers: NoteId"
               FROM notes n LEFT JOIN sites s ON s.id = n.site_id
               LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
               LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id WHERE n.site_id = ?1 ORDER BY n.created_at, n.id"#, site)
            .fetch_all(db)
            .await?,
    )
}

/// Campaign-level notes (not on a site), oldest first.
pub async fn for_campaign(
    db: impl sqlx::SqliteExecutor<'_>,
    campaign: CampaignId,
) -> Result<Vec<Note>> {
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                      CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                      n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                      n.question_state AS "question_state: QuestionState", n.answers AS "answers: NoteId"
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
    db: impl sqlx::SqliteExecutor<'_>,
    campaign: CampaignId,
    subsystem: Option<SubsystemId>,
) -> Result<Vec<Note>> {
    let sub = subsystem.map_or(0, |s| s.0);
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                      CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                      n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                      n.question_state AS "question_state: QuestionState", n.answers AS "answers: NoteId"
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

/// The notes on sites `ids` (an export's page of sites), by site then time.
pub async fn for_sites(db: impl sqlx::SqliteExecutor<'_>, ids: &[SiteId]) -> Result<Vec<Note>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::db::json_list(ids)?;
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                  NULL AS "site_label?: String",
                  n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                  n.question_state AS "question_state: QuestionState", n.answers AS "answers: NoteId"
           FROM notes n
           LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
           LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id
           WHERE n.site_id IN (SELECT value FROM json_each(?1)) ORDER BY n.site_id, n.created_at, n.id"#,
        ids
    )
    .fetch_all(db)
    .await?)
}

/// A campaign's open questions (the status mail): those on the campaign by time, then those
/// on sites by site and time, each with its site's `file:line`.
pub async fn open_questions(
    db: impl sqlx::SqliteExecutor<'_>,
    campaign: CampaignId,
) -> Result<Vec<Note>> {
    Ok(sqlx::query_as!(
        Note,
        r#"SELECT n.id AS "id!: NoteId", n.site_id AS "site_id: SiteId",
                  CASE WHEN s.id IS NULL THEN NULL ELSE s.file || ':' || s.line END AS "site_label?: String",
                  n.author, n.body, n.created_at, ab.name AS "about?", ask.name AS "ask?", ask.slug AS "ask_slug?",
                  n.question_state AS "question_state: QuestionState", n.answers AS "answers: NoteId"
           FROM notes n LEFT JOIN sites s ON s.id = n.site_id
           LEFT JOIN subsystems ab ON ab.id = n.subsystem_id
           LEFT JOIN subsystems ask ON ask.id = n.ask_subsystem_id
           WHERE n.campaign_id = ?1 AND n.question_state = 'open'
           ORDER BY n.site_id IS NOT NULL, n.site_id, n.created_at, n.id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}

/// Add a note (or, with `ask`, a question to a subsystem's owners) to a site from the web or
/// the API: in one transaction with its event; the site's version moves on (its ETag changes).
/// The same author writing the same text on the same site again is [`crate::Error::Conflict`].
pub async fn add(
    db: &SqlitePool,
    site: SiteId,
    author: &str,
    body: &str,
    ask: Option<SubsystemId>,
    source: EventSource,
) -> Result<NoteId> {
    let body = body.trim();
    if body.is_empty() || body.len() > 64 * 1024 {
        return Err(crate::Error::Invalid {
            what: "note",
            value: String::new(),
            expected: "1 byte to 64 KiB of text",
        });
    }
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let campaign = sqlx::query_scalar!(
        r#"SELECT campaign_id AS "c!: CampaignId" FROM sites WHERE id = ?1"#,
        site
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| crate::Error::NotFound(format!("site {site}")))?;
    let at = crate::model::now();
    let state = ask.map(|_| "open");
    let id = sqlx::query_scalar!(
        r#"INSERT INTO notes (campaign_id, site_id, author, body, created_at, ask_subsystem_id, question_state)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
           ON CONFLICT DO NOTHING RETURNING id AS "id!: NoteId""#,
        campaign,
        site,
        author,
        body,
        at,
        ask,
        state
    )
    .fetch_optional(&mut *tx)
    .await?
    // notes_dedup: one author's same text on one site is one note.
    .ok_or_else(|| {
        crate::Error::Conflict("you have already written this note on this site".into())
    })?;
    let kind = if ask.is_some() {
        EventKind::Question
    } else {
        EventKind::Note
    };
    let stamp = Stamp {
        actor: author,
        source,
        source_ref: None,
        at: &at,
    };
    let event = NewEvent::new(campaign, kind, stamp)
        .site(site)
        .change(None, Some(body));
    events::append(&mut *tx, &event).await?;
    sites::bump_version(&mut *tx, site, Some(&at)).await?;
    tx.commit().await?;
    Ok(id)
}

/// The text of `author`'s answer to question `question`.
pub async fn answer_text(
    db: &SqlitePool,
    question: NoteId,
    author: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        "SELECT body FROM notes WHERE answers = ?1 AND author = ?2 ORDER BY id DESC LIMIT 1",
        question,
        author
    )
    .fetch_optional(db)
    .await?)
}

/// An open question with the subsystem it asks and its site.
#[derive(Debug, Clone)]
pub struct Question {
    pub id: NoteId,
    pub campaign: CampaignId,
    pub site: Option<SiteId>,
    pub asks: SubsystemId,
    pub open: bool,
}

/// A question by id.
pub async fn question(db: &SqlitePool, id: NoteId) -> Result<Option<Question>> {
    Ok(sqlx::query!(
        r#"SELECT id AS "id!: NoteId", campaign_id AS "campaign!: CampaignId", site_id AS "site: SiteId",
                  ask_subsystem_id AS "asks!: SubsystemId", question_state AS "state!: QuestionState"
           FROM notes WHERE id = ?1 AND ask_subsystem_id IS NOT NULL"#,
        id
    )
    .fetch_optional(db)
    .await?
    .map(|r| Question {
        id: r.id,
        campaign: r.campaign,
        site: r.site,
        asks: r.asks,
        open: r.state == QuestionState::Open,
    }))
}

/// Answer a question: the answer becomes a note on the same site (or campaign) and the
/// question is marked answered, with an event, in one transaction. Who may answer is checked
/// by the caller (see `users::speaks_for`).
pub async fn answer(
    db: &SqlitePool,
    q: &Question,
    author: &str,
    body: &str,
    source: EventSource,
) -> Result<NoteId> {
    let body = body.trim();
    if body.is_empty() {
        return Err(crate::Error::Invalid {
            what: "answer",
            value: String::new(),
            expected: "some text",
        });
    }
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let at = crate::model::now();
    let n = sqlx::query!(
        "UPDATE notes SET question_state = 'answered' WHERE id = ?1 AND question_state = 'open'",
        q.id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(crate::Error::NotFound(format!("open question {}", q.id)));
    }
    let id = sqlx::query_scalar!(
        r#"INSERT INTO notes (campaign_id, site_id, subsystem_id, author, body, created_at, answers)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id AS "id!: NoteId""#,
        q.campaign,
        q.site,
        q.asks,
        author,
        body,
        at,
        q.id
    )
    .fetch_one(&mut *tx)
    .await?;
    let qid = q.id.0.to_string();
    let stamp = Stamp {
        actor: author,
        source,
        source_ref: None,
        at: &at,
    };
    let event = NewEvent::new(q.campaign, EventKind::Question, stamp)
        .site(q.site)
        .change(Some("open"), Some("answered"))
        .reason(&qid);
    events::append(&mut *tx, &event).await?;
    if let Some(site) = q.site {
        sites::bump_version(&mut *tx, site, Some(&at)).await?;
    }
    tx.commit().await?;
    Ok(id)
}
