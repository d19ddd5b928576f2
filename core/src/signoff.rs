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
