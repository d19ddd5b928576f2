//! The rules for status changes. Every change of a site's status goes through [`check`].

use crate::model::Status;
use crate::{Error, Result};

/// On whose authority a status changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// An auditor's file or the demo: the auditor's word is the record.
    Import,
    /// A scan of the tree: the only authority on whether a call still exists.
    Scan,
    /// A commit in the repository's history: the record for fixed and for gone.
    History,
    /// A maintainer or reviewer of a section of the site's file whose sign-off the campaign
    /// takes (`routing::signing`), or an admin: may sign off.
    Signoff,
    /// Anyone else logged in (or a bot with `status:write`): moves open sites between open
    /// statuses; confirming or moving a signed-off site is a proposal (`proposals`).
    Proposal,
}

/// Check that `from → to` is allowed on `by`'s authority.
/// `Ok(false)` means no change (same status), which callers must not log.
pub fn check(from: Status, to: Status, by: Authority) -> Result<bool> {
    if from == to {
        return Ok(false);
    }
    let deny = |why| Err(Error::Transition { from, to, why });
    match by {
        Authority::Import | Authority::Scan | Authority::History => Ok(true),
        _ if to == Status::Gone => deny("by hand: only a tree scan marks a call gone"),
        _ if from == Status::Gone => deny("by hand: a gone call comes back only with a tree scan"),
        Authority::Signoff => Ok(true),
        Authority::Proposal if matches!(to, Status::Fixed | Status::ConfirmedSafe) => {
            deny("without sign-off: only the maintainers or reviewers of the file's most specific MAINTAINERS sections (or of any, where the campaign says so) may confirm")
        }
        Authority::Proposal if matches!(from, Status::Fixed | Status::ConfirmedSafe) => deny(
            "without sign-off: a signed-off site changes only by its subsystem's maintainers or reviewers",
        ),
        Authority::Proposal => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn same_status_is_no_change() {
        for s in Status::ALL {
            assert!(!check(s, s, Authority::Proposal).unwrap());
        }
    }

    #[test]
    fn only_signoff_confirms() {
        assert!(check(AwaitingOwner, ConfirmedSafe, Authority::Proposal).is_err());
        assert!(check(FixProposed, Fixed, Authority::Proposal).is_err());
        assert!(check(AwaitingOwner, ConfirmedSafe, Authority::Signoff).unwrap());
        assert!(check(FixProposed, Fixed, Authority::Signoff).unwrap());
    }

    #[test]
    fn proposals_may_move_between_open_states() {
        assert!(check(Unreviewed, NeedsPin, Authority::Proposal).unwrap());
        assert!(check(NeedsFix, FixProposed, Authority::Proposal).unwrap());
    }

    #[test]
    fn signed_off_sites_change_only_on_sign_off_authority() {
        assert!(check(ConfirmedSafe, NeedsPin, Authority::Proposal).is_err());
        assert!(check(Fixed, NeedsFix, Authority::Proposal).is_err());
        assert!(check(ConfirmedSafe, NeedsPin, Authority::Signoff).unwrap());
        assert!(check(Fixed, NeedsFix, Authority::History).unwrap());
    }

    #[test]
    fn gone_is_for_scans() {
        assert!(check(Unreviewed, Gone, Authority::Signoff).is_err());
        assert!(check(Gone, Unreviewed, Authority::Signoff).is_err());
        assert!(check(Unreviewed, Gone, Authority::Scan).unwrap());
        assert!(check(Gone, Fixed, Authority::Scan).unwrap());
        assert!(check(Fixed, Gone, Authority::Import).unwrap());
    }
}

use sqlx::SqliteConnection;

use crate::events::{self, NewEvent, Stamp};
use crate::model::{CampaignId, DecidedBy, EventKind, EventSource, SiteId, VerdictId};
use crate::sites;

/// One status change of one site, with everything its event records.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    pub campaign: CampaignId,
    pub site: SiteId,
    /// The status the caller saw; the write only happens if it is still current.
    pub from: Status,
    pub to: Status,
    pub decided_by: DecidedBy,
    pub verdict: Option<VerdictId>,
    pub reason: &'a str,
    pub by: Authority,
    pub actor: &'a str,
    pub source: EventSource,
    pub source_ref: Option<&'a str>,
    pub at: &'a str,
    /// When the change happened, when known and not `at` (an auditor's date, a commit's).
    pub occurred: Option<&'a str>,
}

impl<'a> StatusChange<'a> {
    /// `site` of `campaign` moves from `from` (as the caller saw it) to `to` for `reason`, on
    /// `by`'s authority, recorded as `stamp`; the decision is the site's own (no verdict group).
    pub fn new(
        campaign: CampaignId,
        site: SiteId,
        from: Status,
        to: Status,
        reason: &'a str,
        by: Authority,
        stamp: Stamp<'a>,
    ) -> StatusChange<'a> {
        StatusChange {
            campaign,
            site,
            from,
            to,
            decided_by: DecidedBy::Site,
            verdict: None,
            reason,
            by,
            actor: stamp.actor,
            source: stamp.source,
            source_ref: stamp.source_ref,
            at: stamp.at,
            occurred: None,
        }
    }

    /// It happened at `occurred` (`None`: when it is recorded).
    pub fn occurred(self, occurred: Option<&'a str>) -> StatusChange<'a> {
        StatusChange { occurred, ..self }
    }

    /// Decided by `decided_by` (a verdict group, or nothing yet) rather than for the site alone.
    pub fn decided_by(self, decided_by: DecidedBy, verdict: Option<VerdictId>) -> StatusChange<'a> {
        StatusChange {
            decided_by,
            verdict,
            ..self
        }
    }

    /// Who records the change, through what and when.
    fn stamp(&self) -> Stamp<'a> {
        Stamp {
            actor: self.actor,
            source: self.source,
            source_ref: self.source_ref,
            at: self.at,
        }
    }
}

/// The one place a site's status is written: checks the rule, writes the state, bumps the
/// site's version and appends the event, all inside the caller's transaction.
/// Returns whether the status itself changed (and so an event was logged); a change of only
/// who decided it (verdict → site…) is written without an event.
pub async fn apply(conn: &mut SqliteConnection, c: StatusChange<'_>) -> Result<bool> {
    let changed = check(c.from, c.to, c.by)?;
    let n = sqlx::query!(
        "UPDATE sites SET status = ?3, decided_by = ?4, verdict_id = ?5, reason = ?6, updated_at = ?7
         WHERE id = ?1 AND status = ?2",
        c.site,
        c.from,
        c.to,
        c.decided_by,
        c.verdict,
        c.reason,
        c.at
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(Error::NotFound(format!(
            "site {} with status {}",
            c.site, c.from
        )));
    }
    sites::bump_version(&mut *conn, c.site, None).await?;
    if changed {
        let event = NewEvent::new(c.campaign, EventKind::Status, c.stamp())
            .site(c.site)
            .change(Some(c.from.as_str()), Some(c.to.as_str()))
            .reason(c.reason)
            .occurred(c.occurred);
        events::append(&mut *conn, &event).await?;
    }
    Ok(changed)
}

/// A person's or bot's request to change one site's status (web, API, CLI).
#[derive(Debug, Clone)]
pub struct StatusRequest<'a> {
    pub site: SiteId,
    pub to: Status,
    pub by: Authority,
    pub actor: &'a str,
    pub source: EventSource,
    pub reason: &'a str,
    /// The site version the requester saw (`If-Match`); `None` skips the check.
    pub expected_version: Option<i64>,
}

/// Change one site's status on someone's say-so, in its own transaction: the version check
/// (no lost updates), the transition rule, the write and the event happen together.
/// The decision becomes the site's own (verdict groups no longer decide it).
/// Returns the site's new version.
pub async fn change_status(db: &sqlx::SqlitePool, r: StatusRequest<'_>) -> Result<i64> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let version = change_status_in(&mut tx, r).await?;
    tx.commit().await?;
    Ok(version)
}

/// [`change_status`] inside the caller's transaction, for changes that stand or fall together
/// (a bulk sign-off). Returns the site's new version.
pub async fn change_status_in(conn: &mut SqliteConnection, r: StatusRequest<'_>) -> Result<i64> {
    let row = sqlx::query!(
        r#"SELECT campaign_id AS "campaign_id!: CampaignId", status AS "status: Status", version
           FROM sites WHERE id = ?1"#,
        r.site
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("site {}", r.site)))?;
    if let Some(v) = r.expected_version {
        if v != row.version {
            return Err(Error::Stale {
                what: "site",
                expected: v,
                actual: row.version,
            });
        }
    }
    let at = crate::model::now();
    let stamp = Stamp {
        actor: r.actor,
        source: r.source,
        source_ref: None,
        at: &at,
    };
    let change = StatusChange::new(
        row.campaign_id,
        r.site,
        row.status,
        r.to,
        r.reason,
        r.by,
        stamp,
    );
    apply(conn, change).await?;
    Ok(row.version + 1)
}
