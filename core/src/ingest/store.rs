//! Writing a batch: the import row, sites (new, updated, decided again), notes and
//! references, and the import's event; in one transaction that is rolled back when the
//! batch changes nothing.

use std::collections::{HashMap, HashSet};

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::campaign::{load_verdicts, replace_verdicts, upsert_campaign, SubsystemCache};
use super::decide::{
    decide, identities, nearby_matches, redecide, site_update, Decision, Existing, LoadedVerdict,
    SiteUpdate,
};
use super::scan::store_scan;
use super::{Batch, NoteInput, Origin, RefInput, SiteInput, Summary};
use crate::events::{self, NewEvent, Stamp};
use crate::imports::{self, Import};
use crate::model::{
    now, CampaignId, DecidedBy, EventKind, EventSource, ImportId, IterKind, SiteId, Status,
    SubsystemId, VerdictId,
};
use crate::sites;
use crate::transition::{self, Authority, StatusChange};
use crate::Result;

/// Rows per multi-row UPDATE (one JSON array parameter each).
const CHUNK: usize = 2000;
/// Rows per multi-row INSERT: 20 parameters a row stay under SQLite's 32766.
const INSERT_CHUNK: usize = 1000;

/// A site the batch adds.
struct NewSite<'a> {
    identity: &'a str,
    spec: &'a SiteInput,
    subsystem_id: Option<SubsystemId>,
    decision: Decision,
}

/// Counts of writes so far: a batch that wrote nothing is rolled back.
#[derive(Default)]
pub(super) struct Writes(pub(super) u64);

/// Store `batch` in one transaction.
pub async fn store(pool: &SqlitePool, batch: &Batch) -> Result<Summary> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let at = now();
    let mut writes = Writes::default();
    let mut summary = Summary {
        campaign: batch.campaign.slug.to_string(),
        sites_total: batch.sites.len() as u64,
        ..Default::default()
    };

    let campaign = upsert_campaign(&mut tx, &batch.campaign, &at, &mut writes).await?;
    let mut subsystems = SubsystemCache::default();
    for s in &batch.subsystems {
        subsystems.upsert(&mut tx, s, &mut writes).await?;
    }

    // The import row exists from the start so new sites can point at it; it is rolled back
    // with everything else when the batch turns out to change nothing.
    let origin = &batch.origin;
    let import = Import::new(
        origin.import_kind(),
        campaign,
        &origin.name,
        &origin.actor,
        &at,
    )
    .sha256(&origin.sha256)
    .sites_total(summary.sites_total);
    let import_id = imports::record(&mut *tx, &import).await?;

    let ctx = EventCtx {
        campaign,
        at: &at,
        origin: &batch.origin,
    };

    let verdicts_changed = match &batch.verdicts {
        Some(v) => replace_verdicts(&mut tx, &ctx, v).await?,
        None => false,
    };
    if verdicts_changed {
        writes.0 += 1;
        summary.verdicts_replaced = true;
    }
    let verdicts = load_verdicts(&mut tx, campaign).await?;

    let mut unmentioned = store_sites(
        &mut tx,
        &ctx,
        batch,
        import_id,
        &verdicts,
        &mut subsystems,
        &mut summary,
    )
    .await?;
    writes.0 += summary.sites_new + summary.sites_changed;

    if let Some(scan) = &batch.scan {
        writes.0 += store_scan(
            &mut tx,
            &ctx,
            batch,
            scan,
            &mut unmentioned,
            &mut subsystems,
            &mut summary,
        )
        .await?;
    }

    if verdicts_changed {
        summary.status_changes += reevaluate(&mut tx, &ctx, &verdicts, unmentioned).await?;
        writes.0 += summary.status_changes;
    }

    for n in &batch.notes {
        if insert_note(&mut tx, &ctx, None, n, &mut subsystems).await? {
            summary.notes_new += 1;
        }
    }
    for r in &batch.refs {
        if insert_ref(&mut tx, &ctx, None, r).await? {
            summary.refs_new += 1;
        }
    }
    writes.0 += summary.notes_new + summary.refs_new;

    if writes.0 == 0 {
        tx.rollback().await?;
        return Ok(summary);
    }
    imports::set_site_counts(
        &mut *tx,
        import_id,
        summary.sites_new,
        summary.sites_changed,
    )
    .await?;
    let what = format!(
        "{} sites: {} new, {} changed, {} status changes, {} notes, {} refs",
        summary.sites_total,
        summary.sites_new,
        summary.sites_changed,
        summary.status_changes,
        summary.notes_new,
        summary.refs_new
    );
    let event = ctx
        .event(EventKind::Import)
        .change(None, Some(&batch.origin.name))
        .reason(&what);
    events::append(&mut *tx, &event).await?;
    sqlx::query!(
        "UPDATE campaigns SET updated_at = ?2 WHERE id = ?1",
        campaign,
        at
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    summary.import_id = Some(import_id);
    Ok(summary)
}

/// Context for the events one batch appends.
pub(super) struct EventCtx<'a> {
    pub(super) campaign: CampaignId,
    pub(super) at: &'a str,
    pub(super) origin: &'a Origin,
}

impl EventCtx<'_> {
    /// Who records this batch's changes: its actor, through its source, naming its input.
    pub(super) fn stamp(&self) -> Stamp<'_> {
        Stamp {
            actor: &self.origin.actor,
            source: self.origin.source,
            source_ref: Some(&self.origin.name),
            at: self.at,
        }
    }

    /// An event of this batch, to be filled in and appended.
    pub(super) fn event(&self, kind: EventKind) -> NewEvent<'_> {
        NewEvent::new(self.campaign, kind, self.stamp())
    }

    /// A note or reference was added to `event`'s site (or to the campaign): the site's
    /// version moves on and the event is logged.
    async fn added(&self, tx: &mut Transaction<'_, Sqlite>, event: &NewEvent<'_>) -> Result<()> {
        if let Some(site) = event.site {
            sites::bump_version(&mut **tx, site, None).await?;
        }
        events::append(&mut **tx, event).await
    }

    /// On whose authority the batch changes statuses.
    fn authority(&self) -> Authority {
        match self.origin.source {
            EventSource::Scan => Authority::Scan,
            _ => Authority::Import,
        }
    }

    /// Give stored site `site` (now `from`) the decision `d`. Returns whether its status
    /// changed (and so an event was logged).
    async fn apply_decision(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        site: SiteId,
        from: Status,
        d: &Decision,
        occurred: Option<&str>,
    ) -> Result<bool> {
        let change = StatusChange::new(
            self.campaign,
            site,
            from,
            d.status,
            &d.reason,
            self.authority(),
            self.stamp(),
        )
        .decided_by(d.decided_by, d.verdict_id)
        .occurred(occurred);
        transition::apply(tx, change).await
    }
}

/// The sites of a batch sorted out against the stored ones.
#[derive(Default)]
struct SitePlan<'a> {
    new: Vec<NewSite<'a>>,
    updates: Vec<SiteUpdate>,
    /// Sites with notes or references (batch index, stored id when the site was stored).
    with_extras: Vec<(usize, Option<SiteId>)>,
}

/// Store the batch's sites: new ones inserted, stored ones updated and decided again, then
/// their notes and references. Returns the stored sites the batch did not mention.
#[allow(clippy::too_many_arguments)]
async fn store_sites(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    batch: &Batch,
    import_id: ImportId,
    verdicts: &[LoadedVerdict],
    subsystems: &mut SubsystemCache,
    summary: &mut Summary,
) -> Result<HashMap<String, Existing>> {
    let ids = identities(&batch.sites);
    let mut existing = load_existing(tx, ctx.campaign).await?;
    let scan = batch.scan.is_some();
    // A scan may find a stored site under a new identity (an auditor's file:line entry with
    // cut code and no function, or a call whose function was renamed): match it by code near
    // its old line so its notes and decisions carry over.
    let rekeyed = if scan {
        nearby_matches(&batch.sites, &ids, &existing)
    } else {
        HashMap::new()
    };
    let mut plan = SitePlan::default();
    let mut seen_in_batch: HashSet<&str> = HashSet::new();

    for (i, (s, identity)) in batch.sites.iter().zip(&ids).enumerate() {
        if !seen_in_batch.insert(identity.as_str()) {
            // Same identity twice in one file can only come from exact duplicates (same
            // line too); the first wins.
            continue;
        }
        let subsystem_id = match &s.subsystem {
            Some(name) => Some(subsystems.id(tx, name).await?),
            None => None,
        };
        // A new site whose input dates its status gets that status logged with the date.
        let has_extras = !s.notes.is_empty() || !s.refs.is_empty() || s.status_date.is_some();
        let key = rekeyed.get(&i).map_or(identity.as_str(), String::as_str);
        let Some(old) = existing.remove(key) else {
            plan.new.push(NewSite {
                identity,
                spec: s,
                subsystem_id,
                decision: decide(s.status, s.reason.as_deref(), &s.facts(), verdicts),
            });
            if has_extras {
                plan.with_extras.push((i, None));
            }
            continue;
        };
        let rekey = key != identity.as_str();
        if rekey {
            summary
                .rematched
                .push(format!("{}:{} → {}", old.file, old.line, s.line));
        }
        let mut changed = false;
        if let Some(u) = site_update(&old, s, identity, subsystem_id, rekey) {
            plan.updates.push(u);
            changed = true;
        }
        if let Some(d) = redecide(&old, s, verdicts, scan) {
            let occurred = s
                .status_date
                .as_deref()
                .filter(|_| s.status == Some(d.status));
            if ctx
                .apply_decision(tx, old.id, old.status, &d, occurred)
                .await?
            {
                summary.status_changes += 1;
            }
            changed = true;
        }
        if changed {
            summary.sites_changed += 1;
        }
        if has_extras {
            plan.with_extras.push((i, Some(old.id)));
        }
    }

    summary.sites_new = plan.new.len() as u64;
    insert_sites(tx, ctx, import_id, &plan.new).await?;
    update_sites(tx, ctx, &plan.updates).await?;
    store_site_extras(
        tx,
        ctx,
        batch,
        &ids,
        import_id,
        &plan.with_extras,
        subsystems,
        summary,
    )
    .await?;
    Ok(existing)
}

/// Insert new sites, pointing at the import that brought them.
async fn insert_sites(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    import_id: ImportId,
    new: &[NewSite<'_>],
) -> Result<()> {
    // The hot path of a large import. Multi-row VALUES with bound parameters is the fastest
    // way through sqlx (one statement per chunk instead of one round trip per row); the
    // builder is not macro-checked, so tests/benches cover this statement.
    for chunk in new.chunks(INSERT_CHUNK) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO sites (campaign_id, identity, file, line, col, function, callee, code, iter_kind, direction,
                                subsystem_id, status, decided_by, verdict_id, reason, first_import_id, created_at, updated_at,
                                context, context_start) ",
        );
        q.push_values(chunk, |mut b, r| {
            let s = r.spec;
            b.push_bind(ctx.campaign)
                .push_bind(r.identity)
                .push_bind(s.file.as_str())
                .push_bind(i64::from(s.line))
                .push_bind(s.column.map(i64::from))
                .push_bind(s.function.as_deref())
                .push_bind(s.callee.as_str())
                .push_bind(s.code.as_str())
                .push_bind(s.iter_kind)
                .push_bind(s.direction.as_deref())
                .push_bind(r.subsystem_id)
                .push_bind(r.decision.status)
                .push_bind(r.decision.decided_by)
                .push_bind(r.decision.verdict_id)
                .push_bind(r.decision.reason.as_str())
                .push_bind(import_id)
                .push_bind(ctx.at)
                .push_bind(ctx.at)
                .push_bind(s.context.as_ref().map(|c| c.0.as_str()))
                .push_bind(s.context.as_ref().map(|c| i64::from(c.1)));
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Write the new data of stored sites, many rows a statement.
async fn update_sites(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    updates: &[SiteUpdate],
) -> Result<()> {
    for chunk in updates.chunks(CHUNK) {
        let rows =
            serde_json::Value::Array(chunk.iter().map(SiteUpdate::to_json).collect()).to_string();
        sqlx::query!(
            "UPDATE sites SET line = j.value ->> 1, col = j.value ->> 2, iter_kind = j.value ->> 3,
                    direction = j.value ->> 4, subsystem_id = j.value ->> 5, context = j.value ->> 6,
                    context_start = j.value ->> 7, identity = j.value ->> 8, function = j.value ->> 9,
                    code = j.value ->> 10, updated_at = ?1
             FROM json_each(?2) AS j WHERE sites.id = j.value ->> 0",
            ctx.at,
            rows
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The notes and references of the batch's sites (`with_extras`: batch index and stored id,
/// `None` for a site this import inserted).
#[allow(clippy::too_many_arguments)]
async fn store_site_extras(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    batch: &Batch,
    ids: &[String],
    import_id: ImportId,
    with_extras: &[(usize, Option<SiteId>)],
    subsystems: &mut SubsystemCache,
    summary: &mut Summary,
) -> Result<()> {
    if with_extras.is_empty() {
        return Ok(());
    }
    let new_ids: HashMap<String, SiteId> = if with_extras.iter().any(|(_, id)| id.is_none()) {
        sqlx::query!(
            r#"SELECT id AS "id!: SiteId", identity FROM sites WHERE campaign_id = ?1 AND first_import_id = ?2"#,
            ctx.campaign,
            import_id
        )
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| (r.identity, r.id))
        .collect()
    } else {
        HashMap::new()
    };
    for &(i, id) in with_extras {
        let Some(site) = id.or_else(|| new_ids.get(&ids[i]).copied()) else {
            continue;
        };
        let s = &batch.sites[i];
        if let (None, Some(status), Some(date)) = (id, s.status, s.status_date.as_deref()) {
            // A new site is stored with its status and no event; the input's date for that
            // status is worth one (the burndown dates a done site by it).
            let event = ctx
                .event(EventKind::Status)
                .site(site)
                .change(None, Some(status.as_str()))
                .reason(s.reason.as_deref().unwrap_or_default())
                .occurred(Some(date));
            events::append(&mut **tx, &event).await?;
        }
        for n in &s.notes {
            if insert_note(tx, ctx, Some(site), n, subsystems).await? {
                summary.notes_new += 1;
            }
        }
        for r in &s.refs {
            if insert_ref(tx, ctx, Some(site), r).await? {
                summary.refs_new += 1;
            }
        }
    }
    Ok(())
}

/// The campaign's stored sites by identity.
async fn load_existing(
    tx: &mut Transaction<'_, Sqlite>,
    campaign: CampaignId,
) -> Result<HashMap<String, Existing>> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id!: SiteId", identity, file, function, callee, code, context, context_start, line, col, iter_kind AS "iter_kind: IterKind", direction,
                  subsystem_id AS "subsystem_id: SubsystemId", status AS "status: Status",
                  decided_by AS "decided_by: DecidedBy", verdict_id AS "verdict_id: VerdictId", reason
           FROM sites WHERE campaign_id = ?1"#,
        campaign
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.identity,
                Existing {
                    id: r.id,
                    file: r.file,
                    function: r.function,
                    callee: r.callee,
                    code: r.code,
                    context: r.context,
                    context_start: r.context_start,
                    line: r.line,
                    col: r.col,
                    iter_kind: r.iter_kind,
                    direction: r.direction,
                    subsystem_id: r.subsystem_id,
                    status: r.status,
                    decided_by: r.decided_by,
                    verdict_id: r.verdict_id,
                    reason: r.reason,
                },
            )
        })
        .collect())
}

/// After the verdict groups changed, decide again every stored site the batch did not mention
/// (the batch's own sites were decided in `store_sites`); per-site decisions stay.
async fn reevaluate(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    verdicts: &[LoadedVerdict],
    unmentioned: HashMap<String, Existing>,
) -> Result<u64> {
    let mut n = 0;
    for r in unmentioned.into_values() {
        if r.decided_by == DecidedBy::Site {
            continue;
        }
        let d = decide(None, None, &r.facts(), verdicts);
        if d == r.decision() {
            continue;
        }
        // Decided by a dated group: the change happened when the group says.
        let occurred = verdicts
            .iter()
            .find(|v| Some(v.id) == d.verdict_id)
            .and_then(|v| v.date.as_deref());
        n += u64::from(ctx.apply_decision(tx, r.id, r.status, &d, occurred).await?);
    }
    Ok(n)
}

/// Add a note (to a site, or the campaign) unless it is there already; returns whether it was.
async fn insert_note(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    site: Option<SiteId>,
    n: &NoteInput,
    subsystems: &mut SubsystemCache,
) -> Result<bool> {
    let about = match &n.subsystem {
        Some(s) => Some(subsystems.id(tx, s).await?),
        None => None,
    };
    let ask = match &n.ask {
        Some(s) => Some(subsystems.id(tx, s).await?),
        None => None,
    };
    let state = ask.map(|_| "open");
    let date = n.date.clone().unwrap_or_else(|| ctx.at.to_owned());
    let inserted = sqlx::query!(
        "INSERT OR IGNORE INTO notes (campaign_id, site_id, subsystem_id, author, body, created_at, ask_subsystem_id, question_state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        ctx.campaign,
        site,
        about,
        n.author,
        n.text,
        date,
        ask,
        state
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let kind = if ask.is_some() {
            EventKind::Question
        } else {
            EventKind::Note
        };
        let what = match &n.ask {
            Some(s) => format!("{} asks {s}", n.author),
            None => format!("note by {}", n.author),
        };
        let event = ctx
            .event(kind)
            .site(site)
            .change(None, Some(&n.text))
            .reason(&what)
            .occurred(n.date.as_deref());
        ctx.added(tx, &event).await?;
    }
    Ok(inserted)
}

/// Add a reference (to a site, or the campaign) unless it is there already; returns whether it was.
async fn insert_ref(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    site: Option<SiteId>,
    r: &RefInput,
) -> Result<bool> {
    let tag = r.tag();
    let inserted = sqlx::query!(
        "INSERT OR IGNORE INTO refs (campaign_id, site_id, kind, target, title, author, date, tag)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        ctx.campaign,
        site,
        r.kind,
        r.target,
        r.title,
        r.author,
        r.date,
        tag
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let event = ctx
            .event(EventKind::Ref)
            .site(site)
            .change(None, Some(&r.target))
            .reason(&r.title);
        ctx.added(tx, &event).await?;
    }
    Ok(inserted)
}
