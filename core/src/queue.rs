//! What waits for one person, across all campaigns: their subsystems (the MAINTAINERS
//! sections that list their address as M: or R:), the open questions asked of those, the sites
//! there that wait for an owner's word, the proposals on them, the person's claims, and the
//! patches carrying their Acked-by/Reviewed-by that moved sites.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::claims::{self, Claim};
use crate::model::{SiteId, Status};
use crate::proposals::Proposal;
use crate::Result;

/// Sites listed per kind; the totals say how many there are in all.
pub const LIMIT: i64 = 200;

/// A subsystem the person is listed for.
#[derive(Debug, Clone, Serialize)]
pub struct MySubsystem {
    pub name: String,
    pub slug: String,
    /// `maintainer` or `reviewer`.
    pub role: String,
}

/// An open question asked of one of the person's subsystems.
#[derive(Debug, Clone, Serialize)]
pub struct QueueQuestion {
    pub note_id: i64,
    pub campaign: String,
    pub site: Option<SiteId>,
    /// `file:line` of the site asked about.
    pub place: Option<String>,
    pub subsystem: String,
    pub text: String,
    pub asked_by: String,
    pub at: String,
}

/// A site waiting for an owner's word.
#[derive(Debug, Clone, Serialize)]
pub struct QueueSite {
    pub campaign: String,
    pub site: SiteId,
    pub place: String,
    pub function: Option<String>,
    pub status: Status,
    pub subsystem: String,
}

/// A patch with the person's review trailer that proposed a fix for sites.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewedPatch {
    pub message_id: String,
    pub subject: String,
    /// `Acked-by` or `Reviewed-by` as written.
    pub trailer: String,
    pub campaign: String,
    pub sites: i64,
}

/// What waits for one person.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    pub email: String,
    pub subsystems: Vec<MySubsystem>,
    pub questions: Vec<QueueQuestion>,
    /// Sites of the person's subsystems (primary subsystem) that are awaiting an owner or
    /// have a proposed fix: the first [`LIMIT`], and how many in all.
    pub awaiting_signoff: Vec<QueueSite>,
    pub awaiting_total: i64,
    pub proposals: Vec<Proposal>,
    pub claims: Vec<Claim>,
    pub reviewed_patches: Vec<ReviewedPatch>,
}

impl Queue {
    /// Nothing waits.
    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
            && self.awaiting_total == 0
            && self.proposals.is_empty()
            && self.claims.is_empty()
    }
}

/// The queue of the person with address `email` (matched case-insensitively against
/// MAINTAINERS' M:/R: addresses, as stored).
pub async fn for_email(db: &SqlitePool, email: &str) -> Result<Queue> {
    let email = email.trim().to_lowercase();
    let subsystems = sqlx::query_as!(
        MySubsystem,
        r#"SELECT ss.name, ss.slug, min(sp.role) AS "role!: String"
           FROM subsystem_people sp JOIN subsystems ss ON ss.id = sp.subsystem_id
           WHERE sp.email = ?1 GROUP BY ss.id ORDER BY ss.name"#,
        email
    )
    .fetch_all(db)
    .await?;
    let questions = sqlx::query_as!(
        QueueQuestion,
        r#"SELECT n.id AS "note_id!: i64", c.slug AS campaign, n.site_id AS "site: SiteId",
                  s.file || ':' || s.line AS "place: String", ss.name AS subsystem, n.body AS text,
                  n.author AS asked_by, n.created_at AS at
           FROM notes n JOIN campaigns c ON c.id = n.campaign_id
           JOIN subsystems ss ON ss.id = n.ask_subsystem_id
           LEFT JOIN sites s ON s.id = n.site_id
           WHERE n.question_state = 'open'
             AND n.ask_subsystem_id IN (SELECT subsystem_id FROM subsystem_people WHERE email = ?1)
           ORDER BY n.created_at, n.id"#,
        email
    )
    .fetch_all(db)
    .await?;
    let awaiting_signoff = sqlx::query_as!(
        QueueSite,
        r#"SELECT c.slug AS campaign, s.id AS "site!: SiteId", s.file || ':' || s.line AS "place!: String",
                  s.function, s.status AS "status: Status", ss.name AS subsystem
           FROM sites s JOIN campaigns c ON c.id = s.campaign_id JOIN subsystems ss ON ss.id = s.subsystem_id
           WHERE s.status IN ('awaiting_owner', 'fix_proposed')
             AND s.subsystem_id IN (SELECT subsystem_id FROM subsystem_people WHERE email = ?1)
           ORDER BY c.slug, s.status, s.file, s.line LIMIT ?2"#,
        email,
        LIMIT
    )
    .fetch_all(db)
    .await?;
    let awaiting_total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!: i64" FROM sites s
           WHERE s.status IN ('awaiting_owner', 'fix_proposed')
             AND s.subsystem_id IN (SELECT subsystem_id FROM subsystem_people WHERE email = ?1)"#,
        email
    )
    .fetch_one(db)
    .await?;
    let proposals = sqlx::query_as!(
        Proposal,
        r#"SELECT p.id AS "id!: i64", c.slug AS campaign, p.site_id AS "site!: SiteId", s.file, s.line,
                  p.from_status AS "from!: Status", p.to_status AS "to!: Status", p.reason, p.author,
                  p.source AS "source!: crate::model::EventSource", p.created_at,
                  p.state AS "state!: crate::proposals::ProposalState",
                  p.decided_by, p.decided_at, p.decision_reason
           FROM proposals p JOIN sites s ON s.id = p.site_id JOIN campaigns c ON c.id = p.campaign_id
           WHERE p.state = 'open'
             AND s.subsystem_id IN (SELECT subsystem_id FROM subsystem_people WHERE email = ?1)
           ORDER BY p.id"#,
        email
    )
    .fetch_all(db)
    .await?;
    let reviewed_patches = sqlx::query_as!(
        ReviewedPatch,
        r#"SELECT pm.message_id, pm.subject,
                  CASE t.kind WHEN 'acked_by' THEN 'Acked-by' ELSE 'Reviewed-by' END AS "trailer!: String",
                  c.slug AS campaign, count(DISTINCT r.site_id) AS "sites!: i64"
           FROM message_trailers t
           JOIN trailer_patches tp ON tp.trailer_id = t.id
           JOIN messages pm ON pm.id = tp.patch_id
           JOIN refs r ON r.kind = 'message' AND r.target = pm.message_id AND r.site_id IS NOT NULL
           JOIN campaigns c ON c.id = r.campaign_id
           WHERE t.email = ?1 AND t.kind IN ('acked_by', 'reviewed_by')
           GROUP BY pm.id, c.id, t.kind ORDER BY pm.date DESC LIMIT ?2"#,
        email,
        LIMIT
    )
    .fetch_all(db)
    .await?;
    Ok(Queue {
        claims: claims::of_person(db, &email).await?,
        email,
        subsystems,
        questions,
        awaiting_signoff,
        awaiting_total,
        proposals,
        reviewed_patches,
    })
}
