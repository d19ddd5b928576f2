//! The parts of a batch only a tree scan has: sites it no longer finds become gone, every
//! subsystem of each site (with why it matched), the sections `X:` lines took off files, the
//! files it could not parse, and when the campaign was scanned.

use std::collections::HashMap;

use sqlx::{Sqlite, Transaction};

use super::campaign::SubsystemCache;
use super::decide::{gone_after_scan, identities, Existing};
use super::store::EventCtx;
use super::{Batch, ExcludedSection, ScanInfo, Summary};
use crate::model::{SiteId, Status, SubsystemId};
use crate::transition::{self, Authority, StatusChange};
use crate::Result;

/// Store what only a scan has. `unmentioned` are the stored sites the batch did not mention;
/// those found gone are taken out of it. Returns the number of writes.
pub(super) async fn store_scan(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    batch: &Batch,
    scan: &ScanInfo,
    unmentioned: &mut HashMap<String, Existing>,
    subsystems: &mut SubsystemCache,
    summary: &mut Summary,
) -> Result<u64> {
    let mut writes = mark_gone(tx, ctx, scan, unmentioned, summary).await?;
    writes += store_site_subsystems(tx, ctx, batch, subsystems).await?;
    writes += store_problems(tx, ctx, scan).await?;
    writes += store_exclusions(tx, ctx, scan).await?;
    if writes > 0 || summary.sites_new + summary.sites_changed > 0 {
        let files = scan.files as i64;
        sqlx::query!(
            "UPDATE campaigns SET scanned_at = ?2, scan_files = ?3 WHERE id = ?1",
            ctx.campaign,
            ctx.at,
            files
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(writes)
}

/// Mark gone the stored sites in the scan's scope that it did not find. Returns how many.
async fn mark_gone(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    scan: &ScanInfo,
    unmentioned: &mut HashMap<String, Existing>,
    summary: &mut Summary,
) -> Result<u64> {
    let reason = format!("not found by the scan of {}", ctx.origin.name);
    let gone = gone_after_scan(unmentioned, &scan.scope);
    for key in &gone {
        let Some(e) = unmentioned.remove(key) else {
            continue;
        };
        let change = StatusChange::new(
            ctx.campaign,
            e.id,
            e.status,
            Status::Gone,
            &reason,
            Authority::Scan,
            ctx.stamp(),
        );
        transition::apply(tx, change).await?;
        summary.gone.push(format!("{}:{}", e.file, e.line));
    }
    summary.status_changes += gone.len() as u64;
    Ok(gone.len() as u64)
}

/// Every subsystem of every scanned site, in rank order, with its depth and matched lines;
/// rewritten only where it differs. Returns the number of sites rewritten.
async fn store_site_subsystems(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    batch: &Batch,
    subsystems: &mut SubsystemCache,
) -> Result<u64> {
    let mut writes = 0;
    let mut stored: HashMap<SiteId, Vec<(SubsystemId, Option<i64>, String)>> = HashMap::new();
    for r in sqlx::query!(
        r#"SELECT ss.site_id AS "site_id!: SiteId", ss.subsystem_id AS "subsystem_id!: SubsystemId",
                  ss.depth, ss.matched
           FROM site_subsystems ss JOIN sites s ON s.id = ss.site_id
           WHERE s.campaign_id = ?1 ORDER BY ss.site_id, ss.rank"#,
        ctx.campaign
    )
    .fetch_all(&mut **tx)
    .await?
    {
        stored
            .entry(r.site_id)
            .or_default()
            .push((r.subsystem_id, r.depth, r.matched));
    }
    let ids: HashMap<String, SiteId> = sqlx::query!(
        r#"SELECT id AS "id!: SiteId", identity FROM sites WHERE campaign_id = ?1"#,
        ctx.campaign
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|r| (r.identity, r.id))
    .collect();
    for (s, identity) in batch.sites.iter().zip(identities(&batch.sites)) {
        if s.all_subsystems.is_empty() {
            continue;
        }
        let Some(site) = ids.get(&identity).copied() else {
            continue;
        };
        let mut want = Vec::with_capacity(s.all_subsystems.len());
        for sec in &s.all_subsystems {
            let id = subsystems.id(tx, &sec.name).await?;
            want.push((id, sec.depth.map(i64::from), sec.matched.clone()));
        }
        if stored.get(&site) == Some(&want) {
            continue;
        }
        sqlx::query!("DELETE FROM site_subsystems WHERE site_id = ?1", site)
            .execute(&mut **tx)
            .await?;
        for (rank, (sub, depth, matched)) in want.iter().enumerate() {
            let rank = rank as i64;
            sqlx::query!(
                "INSERT OR IGNORE INTO site_subsystems (site_id, subsystem_id, rank, depth, matched)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                site,
                sub,
                rank,
                depth,
                matched
            )
            .execute(&mut **tx)
            .await?;
        }
        writes += 1;
    }
    Ok(writes)
}

/// The sections `X:` lines took off the scanned files. Like the problems they describe the
/// latest scan: replaced, not accumulated. Returns 1 when they changed.
async fn store_exclusions(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    scan: &ScanInfo,
) -> Result<u64> {
    let old: Vec<ExcludedSection> = sqlx::query_as!(
        ExcludedSection,
        "SELECT file, section, matched, excluded_by FROM scan_exclusions
         WHERE campaign_id = ?1 ORDER BY file, section",
        ctx.campaign
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut new = scan.exclusions.clone();
    new.sort();
    new.dedup_by(|a, b| a.file == b.file && a.section == b.section);
    if old == new {
        return Ok(0);
    }
    sqlx::query!(
        "DELETE FROM scan_exclusions WHERE campaign_id = ?1",
        ctx.campaign
    )
    .execute(&mut **tx)
    .await?;
    for x in &new {
        sqlx::query!(
            "INSERT INTO scan_exclusions (campaign_id, file, section, matched, excluded_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            ctx.campaign,
            x.file,
            x.section,
            x.matched,
            x.excluded_by
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(1)
}

/// The files the scan could not parse cleanly. They describe the latest scan: replaced, not
/// accumulated. Returns 1 when they changed.
async fn store_problems(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    scan: &ScanInfo,
) -> Result<u64> {
    let old_problems: Vec<(String, String, i64)> = sqlx::query!(
        "SELECT file, reason, sites FROM scan_problems WHERE campaign_id = ?1 ORDER BY file",
        ctx.campaign
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|r| (r.file, r.reason, r.sites))
    .collect();
    let mut new_problems: Vec<(String, String, i64)> = scan
        .problems
        .iter()
        .map(|(f, r, n)| (f.clone(), r.clone(), i64::from(*n)))
        .collect();
    new_problems.sort();
    if old_problems == new_problems {
        return Ok(0);
    }
    sqlx::query!(
        "DELETE FROM scan_problems WHERE campaign_id = ?1",
        ctx.campaign
    )
    .execute(&mut **tx)
    .await?;
    for (file, reason, n) in &new_problems {
        sqlx::query!(
            "INSERT INTO scan_problems (campaign_id, file, reason, sites) VALUES (?1, ?2, ?3, ?4)",
            ctx.campaign,
            file,
            reason,
            n
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(1)
}
