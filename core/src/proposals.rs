//! Proposals: status changes asked for by someone who may not make them. A signed-off site
//! (fixed, confirmed safe) changes only on its owners' authority (the subsystem's maintainers
//! and reviewers, or an admin: [`Authority::Signoff`]), and only they confirm one; anyone
//! else's change, person or bot, is stored as a proposal that waits for them. An owner accepts
//! it (the status moves, and its event names the proposal) or rejects it with a reason.
//!
//! People and bots ask through [`request`], which makes the change when they may and a
//! proposal when it needs an owner, in one transaction with the version check.

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::events::{self, NewEvent, Stamp};
use crate::model::{now, CampaignId, EventKind, EventSource, SiteId, Status};
use crate::transition::{self, change_status_in, Authority, StatusChange, StatusRequest};
use crate::{Error, Result};

/// A proposal's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum ProposalState {
    Open,
    Accepted,
    Rejected,
    Withdrawn,
    /// The site's status changed otherwise before an owner decided.
    Superseded,
}

impl ProposalState {
    /// The state as stored and as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Open => "open",
            ProposalState::Accepted => "accepted",
            ProposalState::Rejected => "rejected",
            ProposalState::Withdrawn => "withdrawn",
            ProposalState::Superseded => "superseded",
        }
    }
}

/// A proposed status change.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub id: i64,
    pub campaign: String,
    pub site: SiteId,
    pub file: String,
    pub line: i64,
    pub from: Status,
    pub to: Status,
    pub reason: String,
    pub author: String,
    pub source: EventSource,
    pub created_at: String,
    pub state: ProposalState,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
}

/// What a status request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The status changed (or already was the one asked for); the site's version now.
    Changed { version: i64 },
    /// It needs an owner: stored as this proposal (an open one asked before is reused).
    Proposed { id: i64 },
}

/// Whether `from → to` on `by`'s authority needs an owner: someone without sign-off
/// authority moving a signed-off site, or confirming one.
pub fn needs_owner(from: Status, to: Status, by: Authority) -> bool {
    let signed = |s: Status| matches!(s, Status::Fixed | Status::ConfirmedSafe);
    by == Authority::Proposal && from != to && (signed(from) || signed(to))
}

/// A person's or bot's status request (web, API, CLI): the change when `r.by` may make it, a
/// proposal when it needs an owner, in one transaction with the version check. `author_id`
/// is the asking account (a bot: its token's owner).
pub async fn request(
    db: &SqlitePool,
    r: StatusRequest<'_>,
    author_id: Option<i64>,
) -> Result<Outcome> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let out = request_in(&mut tx, r, author_id).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`request`] inside the caller's transaction (a bulk request stands or falls whole).
pub async fn request_in(
    conn: &mut SqliteConnection,
    r: StatusRequest<'_>,
    author_id: Option<i64>,
) -> Result<Outcome> {
    let row = sqlx::query!(
        r#"SELECT campaign_id AS "campaign!: CampaignId", status AS "status: Status", version
           FROM sites WHERE id = ?1"#,
        r.site
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("site {}", r.site)))?;
    if let Some(v) = r.expected_version.filter(|v| *v != row.version) {
        return Err(Error::Stale {
            what: "site",
            expected: v,
            actual: row.version,
        });
    }
    if !needs_owner(row.status, r.to, r.by) {
        let version = change_status_in(conn, r).await?;
        return Ok(Outcome::Changed { version });
    }
    if r.to == Status::Gone || row.status == Status::Gone {
        // Not even an owner may: the rule's own error says why.
        transition::check(row.status, r.to, r.by)?;
    }
    let source = match r.source {
        EventSource::Web | EventSource::Api | EventSource::Cli => r.source,
        _ => EventSource::Api,
    };
    let at = now();
    let id = sqlx::query_scalar!(
        r#"INSERT INTO proposals (campaign_id, site_id, from_status, to_status, reason, author,
                                  author_id, source, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
           ON CONFLICT (site_id, author, to_status) WHERE state = 'open'
           DO UPDATE SET reason = excluded.reason, from_status = excluded.from_status
           RETURNING id AS "id!: i64""#,
        row.campaign,
        r.site,
        row.status,
        r.to,
        r.reason,
        r.actor,
        author_id,
        source,
        at
    )
    .fetch_one(&mut *conn)
    .await?;
    let why = format!("proposal #{id}: {}", r.reason);
    let stamp = Stamp {
        actor: r.actor,
        source,
        source_ref: None,
        at: &at,
    };
    log(
        conn,
        row.campaign,
        r.site,
        (row.status.as_str(), r.to.as_str()),
        &why,
        stamp,
    )
    .await?;
    Ok(Outcome::Proposed { id })
}

/// Record what happened to a proposal on `site` in the event log (kind `proposal`): made
/// (`old` → `new` are statuses) or ended without a status change (`open` → its end).
async fn log(
    conn: &mut SqliteConnection,
    campaign: CampaignId,
    site: SiteId,
    (old, new): (&str, &str),
    reason: &str,
    stamp: Stamp<'_>,
) -> Result<()> {
    let e = NewEvent::new(campaign, EventKind::Proposal, stamp)
        .site(site)
        .change(Some(old), Some(new))
        .reason(reason);
    events::append(&mut *conn, &e).await
}

/// The campaign of `site`.
async fn campaign_of(conn: &mut SqliteConnection, site: SiteId) -> Result<CampaignId> {
    Ok(sqlx::query_scalar!(
        r#"SELECT campaign_id AS "c!: CampaignId" FROM sites WHERE id = ?1"#,
        site
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// An owner's decision on proposal `id`: accept (the status moves from what the proposer saw
/// to what they proposed; the event names the proposal) or reject, with the owner's reason.
/// `by` is the decider's authority over the proposal's site: only [`Authority::Signoff`]
/// decides. A proposal whose site moved on since is marked superseded and refused (409).
pub async fn decide(
    db: &SqlitePool,
    id: i64,
    accept: bool,
    by: Authority,
    actor: &str,
    source: EventSource,
    reason: &str,
) -> Result<Proposal> {
    if by != Authority::Signoff {
        return Err(Error::Forbidden(
            "only the subsystem's maintainers and reviewers (or an admin) decide proposals".into(),
        ));
    }
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let p = get_in(&mut tx, id).await?;
    if p.state != ProposalState::Open {
        return Err(Error::Conflict(format!(
            "proposal #{id} is {} already",
            p.state.as_str()
        )));
    }
    let at = now();
    let current = sqlx::query_scalar!(
        r#"SELECT status AS "status: Status" FROM sites WHERE id = ?1"#,
        p.site
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut state = if accept {
        ProposalState::Accepted
    } else {
        ProposalState::Rejected
    };
    if accept && current != p.from {
        state = ProposalState::Superseded;
    }
    let note = if state == ProposalState::Superseded {
        format!(
            "the site is {current} now, not {} as the proposal saw it",
            p.from
        )
    } else {
        reason.to_owned()
    };
    sqlx::query!(
        "UPDATE proposals SET state = ?2, decided_by = ?3, decided_at = ?4, decision_reason = ?5
         WHERE id = ?1",
        id,
        state,
        actor,
        at,
        note
    )
    .execute(&mut *tx)
    .await?;
    let campaign = campaign_of(&mut tx, p.site).await?;
    let stamp = Stamp {
        actor,
        source,
        source_ref: None,
        at: &at,
    };
    if state != ProposalState::Accepted {
        let why = format!("proposal #{id} by {}: {note}", p.author);
        log(
            &mut tx,
            campaign,
            p.site,
            ("open", state.as_str()),
            &why,
            stamp,
        )
        .await?;
    }
    if state == ProposalState::Superseded {
        tx.commit().await?;
        return Err(Error::Conflict(format!(
            "proposal #{id} was not applied: {note}; propose again if it still holds"
        )));
    }
    if accept {
        let why = match reason.trim() {
            "" => format!("proposal #{id} by {} accepted: {}", p.author, p.reason),
            r => format!(
                "proposal #{id} by {} accepted: {} ({r})",
                p.author, p.reason
            ),
        };
        let change = StatusChange::new(campaign, p.site, p.from, p.to, &why, by, stamp);
        transition::apply(&mut tx, change).await?;
        // Other open proposals on the site were made against the old status.
        let others = sqlx::query!(
            r#"UPDATE proposals SET state = 'superseded', decided_by = ?2, decided_at = ?3,
                    decision_reason = 'another proposal was accepted first'
             WHERE site_id = ?1 AND state = 'open'
             RETURNING id AS "id!: i64", author"#,
            p.site,
            actor,
            at
        )
        .fetch_all(&mut *tx)
        .await?;
        for o in others {
            let why = format!(
                "proposal #{} by {}: proposal #{id} was accepted first",
                o.id, o.author
            );
            log(
                &mut tx,
                campaign,
                p.site,
                ("open", "superseded"),
                &why,
                stamp,
            )
            .await?;
        }
    }
    let out = get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Withdraw one's own open proposal.
pub async fn withdraw(db: &SqlitePool, id: i64, author: &str) -> Result<Proposal> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let p = get_in(&mut tx, id).await?;
    if p.author != author {
        return Err(Error::Forbidden(format!(
            "proposal #{id} is {}'s to withdraw",
            p.author
        )));
    }
    let at = now();
    let n = sqlx::query!(
        "UPDATE proposals SET state = 'withdrawn', decided_by = ?2, decided_at = ?3,
                decision_reason = 'withdrawn'
         WHERE id = ?1 AND state = 'open'",
        id,
        author,
        at
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::Conflict(format!(
            "proposal #{id} is {} already",
            p.state.as_str()
        )));
    }
    let campaign = campaign_of(&mut tx, p.site).await?;
    let stamp = Stamp {
        actor: author,
        source: p.source,
        source_ref: None,
        at: &at,
    };
    let why = format!("proposal #{id} withdrawn by its author");
    log(
        &mut tx,
        campaign,
        p.site,
        ("open", "withdrawn"),
        &why,
        stamp,
    )
    .await?;
    let out = get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(out)
}

/// One proposal.
pub async fn get(db: &SqlitePool, id: i64) -> Result<Proposal> {
    let mut conn = db.acquire().await?;
    get_in(&mut conn, id).await
}

async fn get_in(conn: &mut SqliteConnection, id: i64) -> Result<Proposal> {
    sqlx::query_as!(
        Proposal,
        r#"SELECT p.id AS "id!: i64", c.slug AS campaign, p.site_id AS "site!: SiteId", s.file, s.line,
                  p.from_status AS "from!: Status", p.to_status AS "to!: Status", p.reason, p.author,
                  p.source AS "source!: EventSource", p.created_at, p.state AS "state!: ProposalState",
                  p.decided_by, p.decided_at, p.decision_reason
           FROM proposals p JOIN sites s ON s.id = p.site_id JOIN campaigns c ON c.id = p.campaign_id
           WHERE p.id = ?1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("proposal #{id}")))
}

/// A site's proposals, open ones first, then newest first.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Proposal>> {
    Ok(sqlx::query_as!(
        Proposal,
        r#"SELECT p.id AS "id!: i64", c.slug AS campaign, p.site_id AS "site!: SiteId", s.file, s.line,
                  p.from_status AS "from!: Status", p.to_status AS "to!: Status", p.reason, p.author,
                  p.source AS "source!: EventSource", p.created_at, p.state AS "state!: ProposalState",
                  p.decided_by, p.decided_at, p.decision_reason
           FROM proposals p JOIN sites s ON s.id = p.site_id JOIN campaigns c ON c.id = p.campaign_id
           WHERE p.site_id = ?1 ORDER BY p.state <> 'open', p.id DESC"#,
        site
    )
    .fetch_all(db)
    .await?)
}

/// A campaign's proposals (of sites in `subsystem` when given), the last made or decided
/// first: what the Atom feeds add to the event log.
pub async fn latest(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: Option<crate::model::SubsystemId>,
    limit: u32,
) -> Result<Vec<Proposal>> {
    let limit = i64::from(limit);
    Ok(sqlx::query_as!(
        Proposal,
        r#"SELECT p.id AS "id!: i64", c.slug AS campaign, p.site_id AS "site!: SiteId", s.file, s.line,
                  p.from_status AS "from!: Status", p.to_status AS "to!: Status", p.reason, p.author,
                  p.source AS "source!: EventSource", p.created_at, p.state AS "state!: ProposalState",
                  p.decided_by, p.decided_at, p.decision_reason
           FROM proposals p JOIN sites s ON s.id = p.site_id JOIN campaigns c ON c.id = p.campaign_id
           WHERE p.campaign_id = ?1 AND (?2 IS NULL OR s.subsystem_id = ?2)
           ORDER BY max(p.created_at, ifnull(p.decided_at, '')) DESC, p.id DESC LIMIT ?3"#,
        campaign,
        subsystem,
        limit
    )
    .fetch_all(db)
    .await?)
}

/// The open proposals of a campaign's sites in `subsystem` (primary subsystem), oldest first.
pub async fn open_in_subsystem(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: Option<crate::model::SubsystemId>,
) -> Result<Vec<Proposal>> {
    Ok(sqlx::query_as!(
        Proposal,
        r#"SELECT p.id AS "id!: i64", c.slug AS campaign, p.site_id AS "site!: SiteId", s.file, s.line,
                  p.from_status AS "from!: Status", p.to_status AS "to!: Status", p.reason, p.author,
                  p.source AS "source!: EventSource", p.created_at, p.state AS "state!: ProposalState",
                  p.decided_by, p.decided_at, p.decision_reason
           FROM proposals p JOIN sites s ON s.id = p.site_id JOIN campaigns c ON c.id = p.campaign_id
           WHERE p.campaign_id = ?1 AND p.state = 'open' AND s.subsystem_id IS ?2
           ORDER BY p.id"#,
        campaign,
        subsystem
    )
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn owners_are_needed_for_signed_off_sites_and_for_confirming() {
        assert!(needs_owner(ConfirmedSafe, NeedsPin, Authority::Proposal));
        assert!(needs_owner(Fixed, NeedsFix, Authority::Proposal));
        assert!(needs_owner(
            AwaitingOwner,
            ConfirmedSafe,
            Authority::Proposal
        ));
        assert!(needs_owner(FixProposed, Fixed, Authority::Proposal));
        assert!(!needs_owner(Unreviewed, NeedsPin, Authority::Proposal));
        assert!(!needs_owner(NeedsFix, FixProposed, Authority::Proposal));
        assert!(!needs_owner(ConfirmedSafe, NeedsPin, Authority::Signoff));
        assert!(!needs_owner(Fixed, Fixed, Authority::Proposal));
    }
}
