//! Claims ("I'm on it"): a person claims a site, or a subsystem's sites in a campaign, for
//! some days. A claim is live until it expires (by itself: nothing has to run), its holder
//! releases it, or a patch from the holder that touches the site is imported
//! ([`release_by_patches`], called by the mail writer).

use serde::Serialize;
use sqlx::{SqliteConnection, SqlitePool};

use crate::model::{format_time, now, CampaignId, SiteId, SubsystemId};
use crate::users::User;
use crate::{Error, Result};

/// Days a claim lasts when the claimant does not say.
pub const DEFAULT_DAYS: u32 = 14;
/// The longest claim.
pub const MAX_DAYS: u32 = 90;

/// A live claim.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    pub id: i64,
    pub campaign: String,
    /// The claimed site, or none for a subsystem claim.
    pub site: Option<SiteId>,
    /// `file:line` of the claimed site.
    pub place: Option<String>,
    /// The claimed subsystem's name (a subsystem claim).
    pub subsystem: Option<String>,
    pub who: String,
    pub email: String,
    pub created_at: String,
    pub expires_at: String,
}

/// When a claim made now for `days` ends.
fn expiry(days: u32) -> Result<String> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::Invalid {
            what: "claim length",
            value: days.to_string(),
            expected: "1 to 90 days",
        });
    }
    Ok(format_time(
        time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(days)),
    ))
}

/// `user` claims `site` for `days` (claiming again extends the claim).
pub async fn claim_site(db: &SqlitePool, site: SiteId, user: &User, days: u32) -> Result<Claim> {
    let campaign = sqlx::query_scalar!(
        r#"SELECT campaign_id AS "c!: CampaignId" FROM sites WHERE id = ?1"#,
        site
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("site {site}")))?;
    insert(db, campaign, Some(site), None, user, days).await
}

/// `user` claims the sites of `subsystem` in `campaign` for `days`.
pub async fn claim_subsystem(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: SubsystemId,
    user: &User,
    days: u32,
) -> Result<Claim> {
    insert(db, campaign, None, Some(subsystem), user, days).await
}

/// Claim a site or a subsystem (exactly one of them): a new claim, or the live one extended.
async fn insert(
    db: &SqlitePool,
    campaign: CampaignId,
    site: Option<SiteId>,
    subsystem: Option<SubsystemId>,
    user: &User,
    days: u32,
) -> Result<Claim> {
    let until = expiry(days)?;
    let at = now();
    let who = user.display();
    let id = sqlx::query_scalar!(
        r#"INSERT INTO claims (campaign_id, site_id, subsystem_id, user_id, who, email, created_at, expires_at)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
           ON CONFLICT (user_id, ifnull(site_id, 0), campaign_id, ifnull(subsystem_id, 0))
           WHERE released_at IS NULL DO UPDATE SET expires_at = excluded.expires_at
           RETURNING id AS "id!: i64""#,
        campaign,
        site,
        subsystem,
        user.id.0,
        who,
        user.email,
        at,
        until
    )
    .fetch_one(db)
    .await?;
    get(db, id).await
}

/// Release claim `id`: only its holder (or an admin) may.
pub async fn release(db: &SqlitePool, id: i64, user: &User) -> Result<()> {
    let c = get(db, id).await?;
    if c.email != user.email && !user.is_admin {
        return Err(Error::Forbidden(format!(
            "the claim is {}'s to release",
            c.who
        )));
    }
    let at = now();
    sqlx::query!(
        "UPDATE claims SET released_at = ?2, released_why = 'released' WHERE id = ?1 AND released_at IS NULL",
        id,
        at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Release `user`'s live claim on `site`, if any.
pub async fn release_site(db: &SqlitePool, site: SiteId, user: &User) -> Result<bool> {
    let at = now();
    let n = sqlx::query!(
        "UPDATE claims SET released_at = ?3, released_why = 'released'
         WHERE site_id = ?1 AND user_id = ?2 AND released_at IS NULL",
        site,
        user.id.0,
        at
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// One claim (live or not).
pub async fn get(db: &SqlitePool, id: i64) -> Result<Claim> {
    sqlx::query_as!(
        Claim,
        r#"SELECT k.id AS "id!: i64", c.slug AS campaign, k.site_id AS "site: SiteId",
                  s.file || ':' || s.line AS "place: String", ss.name AS "subsystem: String",
                  k.who, k.email, k.created_at, k.expires_at
           FROM claims k JOIN campaigns c ON c.id = k.campaign_id
           LEFT JOIN sites s ON s.id = k.site_id LEFT JOIN subsystems ss ON ss.id = k.subsystem_id
           WHERE k.id = ?1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("claim #{id}")))
}

/// The live claims on `site`: its own, and those on its primary subsystem in its campaign.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Claim>> {
    let at = now();
    Ok(sqlx::query_as!(
        Claim,
        r#"SELECT k.id AS "id!: i64", c.slug AS campaign, k.site_id AS "site: SiteId",
                  s.file || ':' || s.line AS "place: String", ss.name AS "subsystem: String",
                  k.who, k.email, k.created_at, k.expires_at
           FROM sites t JOIN claims k ON (k.site_id = t.id OR (k.subsystem_id = t.subsystem_id
                                          AND k.campaign_id = t.campaign_id))
           JOIN campaigns c ON c.id = k.campaign_id
           LEFT JOIN sites s ON s.id = k.site_id LEFT JOIN subsystems ss ON ss.id = k.subsystem_id
           WHERE t.id = ?1 AND k.released_at IS NULL AND k.expires_at > ?2
           ORDER BY k.id"#,
        site,
        at
    )
    .fetch_all(db)
    .await?)
}

/// The live claims on a campaign's subsystem (its own and its sites'), oldest first.
pub async fn in_subsystem(
    db: &SqlitePool,
    campaign: CampaignId,
    subsystem: Option<SubsystemId>,
) -> Result<Vec<Claim>> {
    let at = now();
    Ok(sqlx::query_as!(
        Claim,
        r#"SELECT k.id AS "id!: i64", c.slug AS campaign, k.site_id AS "site: SiteId",
                  s.file || ':' || s.line AS "place: String", ss.name AS "subsystem: String",
                  k.who, k.email, k.created_at, k.expires_at
           FROM claims k JOIN campaigns c ON c.id = k.campaign_id
           LEFT JOIN sites s ON s.id = k.site_id LEFT JOIN subsystems ss ON ss.id = k.subsystem_id
           WHERE k.campaign_id = ?1 AND k.released_at IS NULL AND k.expires_at > ?3
             AND (k.subsystem_id IS ?2 OR s.subsystem_id IS ?2)
           ORDER BY k.id"#,
        campaign,
        subsystem,
        at
    )
    .fetch_all(db)
    .await?)
}

/// `email`'s live claims, across campaigns, soonest to expire first.
pub async fn of_person(db: &SqlitePool, email: &str) -> Result<Vec<Claim>> {
    let at = now();
    Ok(sqlx::query_as!(
        Claim,
        r#"SELECT k.id AS "id!: i64", c.slug AS campaign, k.site_id AS "site: SiteId",
                  s.file || ':' || s.line AS "place: String", ss.name AS "subsystem: String",
                  k.who, k.email, k.created_at, k.expires_at
           FROM claims k JOIN campaigns c ON c.id = k.campaign_id
           LEFT JOIN sites s ON s.id = k.site_id LEFT JOIN subsystems ss ON ss.id = k.subsystem_id
           WHERE k.email = ?1 AND k.released_at IS NULL AND k.expires_at > ?2
           ORDER BY k.expires_at"#,
        email,
        at
    )
    .fetch_all(db)
    .await?)
}

/// Release the claims that the patches among `messages` (database ids) answer: a live claim
/// on a site a patch of the claimant's touches. Returns how many were released.
pub async fn release_by_patches(conn: &mut SqliteConnection, messages: &[i64]) -> Result<u64> {
    if messages.is_empty() {
        return Ok(0);
    }
    let ids = crate::db::json_list(messages)?;
    let at = now();
    Ok(sqlx::query!(
        "UPDATE claims SET released_at = ?2,
                released_why = 'patch ' || (SELECT m.message_id FROM message_sites ms
                                            JOIN messages m ON m.id = ms.message_id
                                            WHERE ms.site_id = claims.site_id AND ms.how = 'patch'
                                              AND m.from_email = claims.email
                                              AND m.id IN (SELECT value FROM json_each(?1)) LIMIT 1)
         WHERE released_at IS NULL AND site_id IN
               (SELECT ms.site_id FROM message_sites ms JOIN messages m ON m.id = ms.message_id
                WHERE ms.how = 'patch' AND m.id IN (SELECT value FROM json_each(?1)))
           AND EXISTS (SELECT 1 FROM message_sites ms JOIN messages m ON m.id = ms.message_id
                       WHERE ms.site_id = claims.site_id AND ms.how = 'patch'
                         AND m.from_email = claims.email AND m.id IN (SELECT value FROM json_each(?1)))",
        ids,
        at
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
