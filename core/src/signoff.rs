//! Sign-offs that cover many sites at once: a maintainer confirms every site one verdict group
//! decided in their subsystem, all or nothing.

use sqlx::SqlitePool;

use crate::model::{CampaignId, EventSource, Status, VerdictId};
use crate::subsystems::SubsystemFilter;
use crate::transition::{change_status_in, Authority, StatusRequest};
use crate::users::{self, User};
use crate::{sites, verdicts, Error, Result};

/// The sites a group sign-off covers: those of one subsystem of a campaign that one verdict
/// group decided.
#[derive(Debug, Clone, Copy)]
pub struct GroupSignoff {
    pub campaign: CampaignId,
    pub subsystem: SubsystemFilter,
    pub verdict: VerdictId,
}

/// Confirm as safe, on `user`'s say-so, every site the group covers. The sites, the right to
/// sign off each of them and every write are read and made in one `BEGIN IMMEDIATE`
/// transaction: when one site may not be signed off by `user`, nothing is written.
/// Returns how many sites the group covered.
pub async fn sign_off_group(
    db: &SqlitePool,
    user: &User,
    group: GroupSignoff,
    source: EventSource,
) -> Result<usize> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let verdict = verdicts::list_in(&mut *tx, group.campaign)
        .await?
        .into_iter()
        .find(|v| v.id == group.verdict)
        .ok_or_else(|| Error::NotFound(format!("verdict group {}", group.verdict)))?;
    let ids =
        sites::decided_by_verdict(&mut *tx, group.campaign, group.subsystem, verdict.id).await?;
    for site in &ids {
        if !users::may_sign_off(&mut *tx, user, *site).await? {
            return Err(Error::Forbidden(
                "only this subsystem's maintainers and reviewers (or an admin) may sign off".into(),
            ));
        }
    }
    let reason = format!("signed off with the group \"{}\"", verdict.label);
    let actor = user.display();
    for site in &ids {
        change_status_in(
            &mut tx,
            StatusRequest {
                site: *site,
                to: Status::ConfirmedSafe,
                by: Authority::Signoff,
                actor: &actor,
                source,
                reason: &reason,
                expected_version: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}

/// One change of a bulk request.
#[derive(Debug, Clone)]
pub struct BulkChange {
    pub site: crate::model::SiteId,
    /// The site version the requester saw; `None` skips the check (`If-Match: *`).
    pub expected_version: Option<i64>,
    pub to: Status,
    pub reason: String,
}

/// What a bulk request did: every item's new version, or its HTTP-like status and why.
#[derive(Debug, Clone)]
pub struct BulkOutcome {
    /// All items succeeded and were written; otherwise nothing was.
    pub committed: bool,
    pub items: Vec<std::result::Result<i64, (u16, String)>>,
}

/// Many status changes on `user`'s say-so in one `BEGIN IMMEDIATE` transaction, all or
/// nothing. Each item needs `user`'s authority for that change as it stands (a change that
/// would need the site's owners is refused, not proposed); every item is tried so the answer
/// names every failure (412 stale, 403 authority, 404 no site, 409 not allowed).
pub async fn bulk(
    db: &SqlitePool,
    user: &User,
    items: &[BulkChange],
    source: EventSource,
) -> Result<BulkOutcome> {
    let mut tx = db.begin_with("BEGIN IMMEDIATE").await?;
    let actor = user.display();
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let by = if users::may_sign_off(&mut *tx, user, it.site).await? {
            Authority::Signoff
        } else {
            Authority::Proposal
        };
        let current = sqlx::query_scalar!(
            r#"SELECT status AS "status: Status" FROM sites WHERE id = ?1"#,
            it.site
        )
        .fetch_optional(&mut *tx)
        .await?;
        let r = match current {
            None => Err((404, format!("site {} not found", it.site))),
            Some(from) if crate::proposals::needs_owner(from, it.to, by) => Err((
                403,
                "only this subsystem's maintainers and reviewers (or an admin) may make this change".into(),
            )),
            Some(_) => match change_status_in(
                &mut tx,
                StatusRequest {
                    site: it.site,
                    to: it.to,
                    by,
                    actor: &actor,
                    source,
                    reason: &it.reason,
                    expected_version: it.expected_version,
                },
            )
            .await
            {
                Ok(v) => Ok(v),
                Err(Error::Stale { actual, .. }) => Err((
                    412,
                    format!("the site changed: it is at version {actual}"),
                )),
                Err(Error::NotFound(w)) => Err((404, format!("{w} not found"))),
                Err(e @ Error::Transition { .. }) => Err((409, e.to_string())),
                Err(e) => return Err(e),
            },
        };
        out.push(r);
    }
    let committed = out.iter().all(|r| r.is_ok());
    if committed {
        tx.commit().await?;
    }
    Ok(BulkOutcome {
        committed,
        items: out,
    })
}
