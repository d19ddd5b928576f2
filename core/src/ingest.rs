//! Storing a batch of outside data (an auditor's file, the demo, later a scan) in one
//! transaction: campaign, subsystems, verdict groups, sites, notes and references.
//!
//! Importers build a [`Batch`] from their format and call [`store`]. A batch that changes
//! nothing writes nothing (no import row, no events).

use std::collections::HashMap;

use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::identity::{normalise_code, site_identity};
use crate::matcher::{MatchSpec, Matcher, SiteFacts};
use crate::model::{
    now, subsystem_slug, CampaignId, DecidedBy, EventKind, EventSource, ImportId, IterKind, Person,
    RefKind, SiteId, Slug, SourcePath, Status, SubsystemId, VerdictId,
};
use crate::transition::{self, Authority, StatusChange};
use crate::Result;

/// Rows per multi-row UPDATE (one JSON array parameter each).
const CHUNK: usize = 2000;
/// Rows per multi-row INSERT: 20 parameters a row stay under SQLite's 32766.
const INSERT_CHUNK: usize = 1000;

/// A site the batch adds.
struct NewSite<'a> {
    identity: &'a str,
    spec: &'a SiteSpec,
    subsystem_id: Option<SubsystemId>,
    decision: Decision,
}

/// The campaign a batch is about.
#[derive(Debug, Clone)]
pub struct CampaignSpec {
    pub slug: Slug,
    pub title: Option<String>,
    pub description: Option<String>,
    pub rule: Option<String>,
    pub tree: Option<TreeSpec>,
}

/// The source tree the sites were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSpec {
    pub describe: String,
    pub commit: Option<String>,
    pub url: Option<String>,
}

/// A subsystem as the batch knows it.
#[derive(Debug, Clone)]
pub struct SubsystemSpec {
    pub name: String,
    pub maintainers: Vec<Person>,
    pub reviewers: Vec<Person>,
    pub lists: Vec<String>,
    pub status: Option<String>,
}

/// A verdict group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictSpec {
    pub label: String,
    pub matches: MatchSpec,
    pub status: Status,
    pub reason: String,
}

/// A note; `ask` makes it an open question to that subsystem's owners.
#[derive(Debug, Clone)]
pub struct NoteSpec {
    pub author: String,
    pub text: String,
    /// Stored time form (see [`crate::model::parse_time`]).
    pub date: Option<String>,
    pub ask: Option<String>,
    pub subsystem: Option<String>,
}

/// A reference to a commit, a mail message or a web page.
#[derive(Debug, Clone)]
pub struct RefSpec {
    pub kind: RefKind,
    /// Commit id, Message-ID without angle brackets, or URL.
    pub target: String,
    pub title: String,
    pub author: Option<String>,
    pub date: Option<String>,
}

impl RefSpec {
    /// The `[vhost]` / `vhost:` tag of a commit subject, if any.
    pub fn tag(&self) -> Option<String> {
        (self.kind == RefKind::Commit)
            .then(|| crate::history::subject_tag(&self.title))
            .flatten()
    }
}

/// One call site.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    pub file: SourcePath,
    pub line: u32,
    pub column: Option<u32>,
    pub function: Option<String>,
    pub callee: String,
    pub code: String,
    pub iter_kind: IterKind,
    pub direction: Option<String>,
    /// A per-site decision; `None` (or `unreviewed`) leaves it to the verdict groups.
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub subsystem: Option<String>,
    pub notes: Vec<NoteSpec>,
    pub refs: Vec<RefSpec>,
    /// Source lines around the call and the number of the first (from a tree scan).
    pub context: Option<(String, u32)>,
    /// Every subsystem of the file, primary first (from a tree scan; empty: not known).
    pub all_subsystems: Vec<String>,
}

/// What a tree scan adds to a batch.
#[derive(Debug, Clone, Default)]
pub struct ScanInfo {
    /// Path prefixes the scan covered (empty: the whole tree). Stored sites there that the
    /// scan did not find are marked gone.
    pub scope: Vec<String>,
    /// Files the scanner could not parse cleanly: (file, reason, sites found by text).
    pub problems: Vec<(String, String, u32)>,
    /// Files the scan read.
    pub files: u64,
}

/// Where a batch came from, for the import record and events.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: EventSource,
    /// File name or URL shown in history.
    pub name: String,
    /// SHA-256 (hex) of the input.
    pub sha256: String,
    pub actor: String,
}

/// Everything one import stores.
#[derive(Debug, Clone)]
pub struct Batch {
    pub origin: Origin,
    pub campaign: CampaignSpec,
    pub subsystems: Vec<SubsystemSpec>,
    /// `Some` replaces the campaign's verdict groups; `None` keeps them.
    pub verdicts: Option<Vec<VerdictSpec>>,
    pub notes: Vec<NoteSpec>,
    pub refs: Vec<RefSpec>,
    pub sites: Vec<SiteSpec>,
    /// Present for tree scans.
    pub scan: Option<ScanInfo>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub campaign: String,
    pub import_id: Option<ImportId>,
    pub sites_total: u64,
    pub sites_new: u64,
    /// Existing sites whose data (line, subsystem…) or status changed.
    pub sites_changed: u64,
    pub status_changes: u64,
    pub notes_new: u64,
    pub refs_new: u64,
    pub verdicts_replaced: bool,
    /// Stored sites a scan no longer found: now gone (file:line as stored).
    pub gone: Vec<String>,
    /// Stored sites matched to a scanned call by code near their old line (file:old → new).
    pub rematched: Vec<String>,
}

impl Summary {
    /// True when the batch changed nothing (and so nothing was written).
    pub fn is_noop(&self) -> bool {
        self.import_id.is_none()
    }
}

/// The site as the database has it, for comparison.
struct Existing {
    id: SiteId,
    file: String,
    function: Option<String>,
    callee: String,
    code: String,
    context: Option<String>,
    context_start: Option<i64>,
    line: i64,
    col: Option<i64>,
    iter_kind: IterKind,
    direction: Option<String>,
    subsystem_id: Option<SubsystemId>,
    status: Status,
    decided_by: DecidedBy,
    verdict_id: Option<VerdictId>,
    reason: String,
}

/// A decision about a site's status.
#[derive(Debug, Clone, PartialEq)]
struct Decision {
    status: Status,
    decided_by: DecidedBy,
    verdict_id: Option<VerdictId>,
    reason: String,
}

/// Counts of writes so far: a batch that wrote nothing is rolled back.
#[derive(Default)]
struct Writes(u64);

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
    let kind = match batch.origin.source {
        EventSource::Demo => "demo",
        EventSource::Scan => "scan",
        _ => "auditor",
    };
    let total = summary.sites_total as i64;
    let import_id = sqlx::query_scalar!(
        r#"INSERT INTO imports (campaign_id, source, kind, sha256, at, actor, sites_total, sites_new, sites_changed)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 0) RETURNING id AS "id!: ImportId""#,
        campaign,
        batch.origin.name,
        kind,
        batch.origin.sha256,
        at,
        batch.origin.actor,
        total,
    )
    .fetch_one(&mut *tx)
    .await?;

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
    let (new, changed) = (summary.sites_new as i64, summary.sites_changed as i64);
    sqlx::query!(
        "UPDATE imports SET sites_new = ?2, sites_changed = ?3 WHERE id = ?1",
        import_id,
        new,
        changed
    )
    .execute(&mut *tx)
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
    ctx.event(
        &mut tx,
        None,
        EventKind::Import,
        None,
        Some(&batch.origin.name),
        &what,
    )
    .await?;
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
struct EventCtx<'a> {
    campaign: CampaignId,
    at: &'a str,
    origin: &'a Origin,
}

impl EventCtx<'_> {
    async fn event(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        site: Option<SiteId>,
        kind: EventKind,
        old: Option<&str>,
        new: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        sqlx::query!(
            "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            self.campaign,
            site,
            self.at,
            self.origin.actor,
            self.origin.source,
            self.origin.name,
            kind,
            old,
            new,
            reason
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    fn authority(&self) -> Authority {
        match self.origin.source {
            EventSource::Scan => Authority::Scan,
            _ => Authority::Import,
        }
    }
}

async fn upsert_campaign(
    tx: &mut Transaction<'_, Sqlite>,
    spec: &CampaignSpec,
    at: &str,
    writes: &mut Writes,
) -> Result<CampaignId> {
    let slug = spec.slug.as_str();
    let row = sqlx::query!(
        r#"SELECT id AS "id!: CampaignId", title, description, rule, tree_describe, tree_commit, tree_url
           FROM campaigns WHERE slug = ?1"#,
        slug
    )
    .fetch_optional(&mut **tx)
    .await?;
    let (tree_describe, tree_commit, tree_url) = match &spec.tree {
        Some(t) => (Some(t.describe.clone()), t.commit.clone(), t.url.clone()),
        None => (None, None, None),
    };
    let Some(row) = row else {
        writes.0 += 1;
        let title = spec.title.clone().unwrap_or_else(|| slug.to_owned());
        let description = spec.description.clone().unwrap_or_default();
        let rule = spec.rule.clone().unwrap_or_default();
        let id = sqlx::query_scalar!(
            r#"INSERT INTO campaigns (slug, title, description, rule, tree_describe, tree_commit, tree_url, created_at, updated_at)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id AS "id!: CampaignId""#,
            slug,
            title,
            description,
            rule,
            tree_describe,
            tree_commit,
            tree_url,
            at
        )
        .fetch_one(&mut **tx)
        .await?;
        return Ok(id);
    };
    // Only what the batch states is updated; absent fields keep their stored values.
    let title = spec.title.clone().unwrap_or(row.title.clone());
    let description = spec.description.clone().unwrap_or(row.description.clone());
    let rule = spec.rule.clone().unwrap_or(row.rule.clone());
    let (td, tc, tu) = if spec.tree.is_some() {
        (tree_describe, tree_commit, tree_url)
    } else {
        (
            row.tree_describe.clone(),
            row.tree_commit.clone(),
            row.tree_url.clone(),
        )
    };
    if (&title, &description, &rule, &td, &tc, &tu)
        != (
            &row.title,
            &row.description,
            &row.rule,
            &row.tree_describe,
            &row.tree_commit,
            &row.tree_url,
        )
    {
        writes.0 += 1;
        sqlx::query!(
            "UPDATE campaigns SET title = ?2, description = ?3, rule = ?4, tree_describe = ?5,
             tree_commit = ?6, tree_url = ?7, updated_at = ?8 WHERE id = ?1",
            row.id,
            title,
            description,
            rule,
            td,
            tc,
            tu,
            at
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(row.id)
}

/// Subsystem ids by name, created on first mention.
#[derive(Default)]
struct SubsystemCache(HashMap<String, SubsystemId>);

impl SubsystemCache {
    async fn id(&mut self, tx: &mut Transaction<'_, Sqlite>, name: &str) -> Result<SubsystemId> {
        if let Some(id) = self.0.get(name) {
            return Ok(*id);
        }
        let id = match sqlx::query_scalar!(
            r#"SELECT id AS "id!: SubsystemId" FROM subsystems WHERE name = ?1"#,
            name
        )
        .fetch_optional(&mut **tx)
        .await?
        {
            Some(id) => id,
            None => {
                let base = subsystem_slug(name);
                let mut slug = base.clone();
                let mut n = 2;
                while sqlx::query_scalar!(
                    r#"SELECT 1 AS "one!: i64" FROM subsystems WHERE slug = ?1"#,
                    slug
                )
                .fetch_optional(&mut **tx)
                .await?
                .is_some()
                {
                    slug = format!("{base}-{n}");
                    n += 1;
                }
                sqlx::query_scalar!(
                    r#"INSERT INTO subsystems (name, slug) VALUES (?1, ?2) RETURNING id AS "id!: SubsystemId""#,
                    name,
                    slug
                )
                .fetch_one(&mut **tx)
                .await?
            }
        };
        self.0.insert(name.to_owned(), id);
        Ok(id)
    }

    async fn upsert(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        s: &SubsystemSpec,
        writes: &mut Writes,
    ) -> Result<SubsystemId> {
        let before = self.0.len();
        let existed = sqlx::query_scalar!(
            r#"SELECT 1 AS "one!: i64" FROM subsystems WHERE name = ?1"#,
            s.name
        )
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
        let id = self.id(tx, &s.name).await?;
        if !existed && self.0.len() > before {
            writes.0 += 1;
        }
        if let Some(status) = &s.status {
            let n = sqlx::query!(
                "UPDATE subsystems SET status = ?2 WHERE id = ?1 AND status IS NOT ?2",
                id,
                status
            )
            .execute(&mut **tx)
            .await?
            .rows_affected();
            writes.0 += n;
        }
        for (role, people) in [("maintainer", &s.maintainers), ("reviewer", &s.reviewers)] {
            for p in people {
                let n = sqlx::query!(
                    "INSERT OR IGNORE INTO subsystem_people (subsystem_id, role, name, email) VALUES (?1, ?2, ?3, ?4)",
                    id,
                    role,
                    p.name,
                    p.email
                )
                .execute(&mut **tx)
                .await?
                .rows_affected();
                writes.0 += n;
            }
        }
        for l in &s.lists {
            let n = sqlx::query!(
                "INSERT OR IGNORE INTO subsystem_lists (subsystem_id, list) VALUES (?1, ?2)",
                id,
                l
            )
            .execute(&mut **tx)
            .await?
            .rows_affected();
            writes.0 += n;
        }
        Ok(id)
    }
}

/// A verdict group with its compiled matcher.
struct LoadedVerdict {
    id: VerdictId,
    matcher: Matcher,
    status: Status,
    reason: String,
}

async fn load_verdicts(
    tx: &mut Transaction<'_, Sqlite>,
    campaign: CampaignId,
) -> Result<Vec<LoadedVerdict>> {
    let rows = crate::verdicts::list_in(&mut **tx, campaign).await?;
    rows.into_iter()
        .map(|v| {
            Ok(LoadedVerdict {
                id: v.id,
                matcher: v.matches.compile()?,
                status: v.status,
                reason: v.reason,
            })
        })
        .collect()
}

/// Replace the campaign's verdict groups when they differ. Returns whether they did.
async fn replace_verdicts(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    new: &[VerdictSpec],
) -> Result<bool> {
    let old = crate::verdicts::list_in(&mut **tx, ctx.campaign).await?;
    let same = old.len() == new.len()
        && old.iter().zip(new).all(|(o, n)| {
            o.label == n.label
                && o.matches == n.matches
                && o.status == n.status
                && o.reason == n.reason
        });
    if same {
        return Ok(false);
    }
    // Detach sites from the old groups first; reevaluate() decides them again.
    sqlx::query!(
        "UPDATE sites SET verdict_id = NULL WHERE campaign_id = ?1 AND verdict_id IS NOT NULL",
        ctx.campaign
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("DELETE FROM verdicts WHERE campaign_id = ?1", ctx.campaign)
        .execute(&mut **tx)
        .await?;
    for (pos, v) in new.iter().enumerate() {
        let pos = pos as i64;
        let kind = v.matches.iter_kind.map(|k| k.as_str());
        sqlx::query!(
            "INSERT INTO verdicts (campaign_id, position, label, match_callee, match_iter_kind, match_direction,
                                   match_function, match_file, status, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            ctx.campaign,
            pos,
            v.label,
            v.matches.callee,
            kind,
            v.matches.direction,
            v.matches.function,
            v.matches.file,
            v.status,
            v.reason
        )
        .execute(&mut **tx)
        .await?;
    }
    let summary = format!(
        "{} verdict groups replaced by {}",
        new.len(),
        ctx.origin.name
    );
    ctx.event(
        tx,
        None,
        EventKind::Verdicts,
        Some(&old.len().to_string()),
        Some(&new.len().to_string()),
        &summary,
    )
    .await?;
    Ok(true)
}

fn decide(
    explicit: Option<Status>,
    reason: Option<&str>,
    facts: &SiteFacts<'_>,
    verdicts: &[LoadedVerdict],
) -> Decision {
    if let Some(status) = explicit.filter(|s| *s != Status::Unreviewed) {
        return Decision {
            status,
            decided_by: DecidedBy::Site,
            verdict_id: None,
            reason: reason.unwrap_or_default().to_owned(),
        };
    }
    match verdicts.iter().find(|v| v.matcher.matches(facts)) {
        Some(v) => Decision {
            status: v.status,
            decided_by: DecidedBy::Verdict,
            verdict_id: Some(v.id),
            reason: v.reason.clone(),
        },
        None => Decision {
            status: Status::Unreviewed,
            decided_by: DecidedBy::Default,
            verdict_id: None,
            reason: reason.unwrap_or_default().to_owned(),
        },
    }
}

/// Identity keys of the batch's sites, in batch order.
pub fn identities(sites: &[SiteSpec]) -> Vec<String> {
    // Ordinals count calls with the same (file, function, callee, code) in line order.
    let norm: Vec<String> = sites.iter().map(|s| normalise_code(&s.code)).collect();
    let mut order: Vec<usize> = (0..sites.len()).collect();
    order.sort_by_key(|&i| (sites[i].line, sites[i].column, i));
    let mut seen: HashMap<(&str, Option<&str>, &str, &str), u32> = HashMap::new();
    let mut out = vec![String::new(); sites.len()];
    for i in order {
        let s = &sites[i];
        let key = (
            s.file.as_str(),
            s.function.as_deref(),
            s.callee.as_str(),
            norm[i].as_str(),
        );
        let n = seen.entry(key).or_insert(0);
        out[i] = site_identity(key.0, key.1, key.2, key.3, *n);
        *n += 1;
    }
    out
}

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
    let mut new_rows = Vec::new();
    let mut data_updates = Vec::new();
    let mut with_extras: Vec<(usize, Option<SiteId>)> = Vec::new();
    let mut seen_in_batch: HashMap<&str, usize> = HashMap::new();

    for (i, (s, identity)) in batch.sites.iter().zip(&ids).enumerate() {
        if seen_in_batch.insert(identity.as_str(), i).is_some() {
            // Same identity twice in one file can only come from exact duplicates (same
            // line too); the first wins.
            continue;
        }
        let subsystem_id = match &s.subsystem {
            Some(name) => Some(subsystems.id(tx, name).await?),
            None => None,
        };
        let facts = SiteFacts {
            file: s.file.as_str(),
            function: s.function.as_deref(),
            callee: &s.callee,
            iter_kind: s.iter_kind,
            direction: s.direction.as_deref(),
        };
        let has_extras = !s.notes.is_empty() || !s.refs.is_empty();
        let key = rekeyed.get(&i).map_or(identity.as_str(), String::as_str);
        match existing.remove(key) {
            None => {
                let d = decide(s.status, s.reason.as_deref(), &facts, verdicts);
                new_rows.push(NewSite {
                    identity,
                    spec: s,
                    subsystem_id,
                    decision: d,
                });
                if has_extras {
                    with_extras.push((i, None));
                }
            }
            Some(old) => {
                let line = i64::from(s.line);
                let col = s.column.map(i64::from);
                // Absent optional fields keep what is stored (a sparser re-import is no edit).
                let subsystem_id = subsystem_id.or(old.subsystem_id);
                let direction = s.direction.clone().or(old.direction.clone());
                let (context, context_start) = match &s.context {
                    Some((c, start)) => (Some(c.clone()), Some(i64::from(*start))),
                    None => (old.context.clone(), old.context_start),
                };
                let rekey = key != identity.as_str();
                if rekey {
                    summary
                        .rematched
                        .push(format!("{}:{} → {}", old.file, old.line, s.line));
                }
                // The same call may be written differently (re-wrapped, READ → ITER_DEST):
                // the stored text follows the latest.
                let code = if s.code.is_empty() {
                    old.code.clone()
                } else {
                    s.code.clone()
                };
                let mut changed = false;
                if rekey
                    || (
                        line,
                        col,
                        s.iter_kind,
                        &direction,
                        subsystem_id,
                        &context,
                        context_start,
                        &code,
                    ) != (
                        old.line,
                        old.col,
                        old.iter_kind,
                        &old.direction,
                        old.subsystem_id,
                        &old.context,
                        old.context_start,
                        &old.code,
                    )
                {
                    let function = if rekey {
                        s.function.clone()
                    } else {
                        old.function.clone()
                    };
                    data_updates.push(json!([
                        old.id.0,
                        line,
                        col,
                        s.iter_kind.as_str(),
                        direction,
                        subsystem_id.map(|x| x.0),
                        context,
                        context_start,
                        identity,
                        function,
                        code
                    ]));
                    changed = true;
                }
                let wanted = if scan {
                    scan_decision(&old, s, &facts, verdicts)
                } else {
                    let keep_human = old.decided_by == DecidedBy::Site
                        && s.status.is_none_or(|st| st == Status::Unreviewed);
                    (!keep_human).then(|| decide(s.status, s.reason.as_deref(), &facts, verdicts))
                };
                if let Some(d) = wanted {
                    let current = Decision {
                        status: old.status,
                        decided_by: old.decided_by,
                        verdict_id: old.verdict_id,
                        reason: old.reason.clone(),
                    };
                    if d != current {
                        let logged = transition::apply(
                            tx,
                            StatusChange {
                                campaign: ctx.campaign,
                                site: old.id,
                                from: old.status,
                                to: d.status,
                                decided_by: d.decided_by,
                                verdict: d.verdict_id,
                                reason: &d.reason,
                                by: ctx.authority(),
                                actor: &ctx.origin.actor,
                                source: ctx.origin.source,
                                source_ref: Some(&ctx.origin.name),
                                at: ctx.at,
                            },
                        )
                        .await?;
                        if logged {
                            summary.status_changes += 1;
                        }
                        changed = true;
                    }
                }
                if changed {
                    summary.sites_changed += 1;
                }
                if has_extras {
                    with_extras.push((i, Some(old.id)));
                }
            }
        }
    }

    summary.sites_new = new_rows.len() as u64;
    // The hot path of a large import. Multi-row VALUES with bound parameters is the fastest
    // way through sqlx (one statement per chunk instead of one round trip per row); the
    // builder is not macro-checked, so tests/benches cover this statement.
    for chunk in new_rows.chunks(INSERT_CHUNK) {
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
    for chunk in data_updates.chunks(CHUNK) {
        let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
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

    if with_extras.is_empty() {
        return Ok(existing);
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
    for (i, id) in with_extras {
        let Some(site) = id.or_else(|| new_ids.get(&ids[i]).copied()) else {
            continue;
        };
        let s = &batch.sites[i];
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
    Ok(existing)
}

/// The parts of a batch only a tree scan has: gone sites, all subsystems per site, parse
/// problems and the scan's date. Returns the number of writes.
async fn store_scan(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    batch: &Batch,
    scan: &ScanInfo,
    unmentioned: &mut HashMap<String, Existing>,
    subsystems: &mut SubsystemCache,
    summary: &mut Summary,
) -> Result<u64> {
    let mut writes = 0;
    let in_scope = |file: &str| {
        scan.scope.is_empty()
            || scan
                .scope
                .iter()
                .any(|p| file == p || file.starts_with(&format!("{}/", p.trim_end_matches('/'))))
    };
    let reason = format!("not found by the scan of {}", ctx.origin.name);
    let mut gone: Vec<&Existing> = unmentioned
        .values()
        .filter(|e| e.status != Status::Gone && in_scope(&e.file))
        .collect();
    gone.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    for e in &gone {
        transition::apply(
            tx,
            StatusChange {
                campaign: ctx.campaign,
                site: e.id,
                from: e.status,
                to: Status::Gone,
                decided_by: DecidedBy::Site,
                verdict: None,
                reason: &reason,
                by: Authority::Scan,
                actor: &ctx.origin.actor,
                source: ctx.origin.source,
                source_ref: Some(&ctx.origin.name),
                at: ctx.at,
            },
        )
        .await?;
        summary.gone.push(format!("{}:{}", e.file, e.line));
    }
    summary.status_changes += gone.len() as u64;
    writes += gone.len() as u64;
    let gone_keys: Vec<String> = unmentioned
        .iter()
        .filter(|(_, e)| e.status != Status::Gone && in_scope(&e.file))
        .map(|(k, _)| k.clone())
        .collect();
    for k in gone_keys {
        unmentioned.remove(&k);
    }

    // Every subsystem of every scanned site, in rank order; rewritten only where it differs.
    let mut stored: HashMap<SiteId, Vec<SubsystemId>> = HashMap::new();
    for r in sqlx::query!(
        r#"SELECT ss.site_id AS "site_id!: SiteId", ss.subsystem_id AS "subsystem_id!: SubsystemId"
           FROM site_subsystems ss JOIN sites s ON s.id = ss.site_id
           WHERE s.campaign_id = ?1 ORDER BY ss.site_id, ss.rank"#,
        ctx.campaign
    )
    .fetch_all(&mut **tx)
    .await?
    {
        stored.entry(r.site_id).or_default().push(r.subsystem_id);
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
        for name in &s.all_subsystems {
            want.push(subsystems.id(tx, name).await?);
        }
        if stored.get(&site) == Some(&want) {
            continue;
        }
        sqlx::query!("DELETE FROM site_subsystems WHERE site_id = ?1", site)
            .execute(&mut **tx)
            .await?;
        for (rank, sub) in want.iter().enumerate() {
            let rank = rank as i64;
            sqlx::query!(
                "INSERT OR IGNORE INTO site_subsystems (site_id, subsystem_id, rank) VALUES (?1, ?2, ?3)",
                site,
                sub,
                rank
            )
            .execute(&mut **tx)
            .await?;
        }
        writes += 1;
    }

    // Problems and the scan's date describe the latest scan: replaced, not accumulated.
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
    if old_problems != new_problems {
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
        writes += 1;
    }
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

/// Lines a call may have drifted and still be matched by its code.
const NEARBY_LINES: i64 = 50;

/// For scanned sites with no stored identity: the stored, unclaimed site in the same file with
/// the same callee whose code is the same or a cut-off prefix, nearest by line.
fn nearby_matches(
    sites: &[SiteSpec],
    ids: &[String],
    existing: &HashMap<String, Existing>,
) -> HashMap<usize, String> {
    let in_batch: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    // (file, callee) → (identity, stored site, its normalised code)
    type Candidates<'a> = HashMap<(&'a str, &'a str), Vec<(&'a str, &'a Existing, String)>>;
    let mut candidates: Candidates<'_> = HashMap::new();
    for (identity, e) in existing {
        if !in_batch.contains(identity.as_str()) {
            candidates
                .entry((e.file.as_str(), e.callee.as_str()))
                .or_default()
                .push((identity.as_str(), e, normalise_code(&e.code)));
        }
    }
    let mut claimed = std::collections::HashSet::new();
    let mut out = HashMap::new();
    for (i, (s, id)) in sites.iter().zip(ids).enumerate() {
        if existing.contains_key(id) {
            continue;
        }
        let Some(list) = candidates.get(&(s.file.as_str(), s.callee.as_str())) else {
            continue;
        };
        let code = normalise_code(&s.code);
        let best = list
            .iter()
            .filter(|(key, e, old)| {
                !claimed.contains(key)
                    && (i64::from(s.line) - e.line).abs() <= NEARBY_LINES
                    && (old.is_empty()
                        || *old == code
                        || (old.len() >= 16 && code.starts_with(old.as_str())))
            })
            .min_by_key(|(_, e, _)| (i64::from(s.line) - e.line).abs());
        if let Some((key, _, _)) = best {
            claimed.insert(*key);
            out.insert(i, (*key).to_owned());
        }
    }
    out
}

/// What a tree scan decides for a site it found again. The code is the record for what the
/// spec can read from it (a current direction means fixed; a legacy one, a regression, needs
/// fixing), but people's decisions in between (fix proposed, awaiting an owner, confirmed
/// safe) stay, and a site the scan cannot classify keeps whatever decided it before.
fn scan_decision(
    old: &Existing,
    s: &SiteSpec,
    facts: &SiteFacts<'_>,
    verdicts: &[LoadedVerdict],
) -> Option<Decision> {
    let reason = s.reason.as_deref();
    match s.status {
        Some(Status::Fixed) if !matches!(old.status, Status::Fixed | Status::ConfirmedSafe) => {
            Some(decide(s.status, reason, facts, verdicts))
        }
        Some(Status::Fixed) => None,
        Some(st) if st != Status::Unreviewed => {
            let human = old.decided_by == DecidedBy::Site
                && matches!(
                    old.status,
                    Status::FixProposed
                        | Status::AwaitingOwner
                        | Status::NeedsPin
                        | Status::ConfirmedSafe
                );
            (!human || old.status == Status::Gone)
                .then(|| decide(s.status, reason, facts, verdicts))
        }
        // No classification: a site that came back is decided afresh; others keep theirs,
        // verdict groups still apply.
        _ if old.status == Status::Gone || old.decided_by != DecidedBy::Site => {
            Some(decide(None, reason, facts, verdicts))
        }
        _ => None,
    }
}

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
        let facts = SiteFacts {
            file: &r.file,
            function: r.function.as_deref(),
            callee: &r.callee,
            iter_kind: r.iter_kind,
            direction: r.direction.as_deref(),
        };
        let d = decide(None, None, &facts, verdicts);
        if (d.status, d.decided_by, d.verdict_id, &d.reason)
            == (r.status, r.decided_by, r.verdict_id, &r.reason)
        {
            continue;
        }
        let logged = transition::apply(
            tx,
            StatusChange {
                campaign: ctx.campaign,
                site: r.id,
                from: r.status,
                to: d.status,
                decided_by: d.decided_by,
                verdict: d.verdict_id,
                reason: &d.reason,
                by: ctx.authority(),
                actor: &ctx.origin.actor,
                source: ctx.origin.source,
                source_ref: Some(&ctx.origin.name),
                at: ctx.at,
            },
        )
        .await?;
        n += u64::from(logged);
    }
    Ok(n)
}

async fn insert_note(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    site: Option<SiteId>,
    n: &NoteSpec,
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
    if inserted && site.is_some() {
        sqlx::query!("UPDATE sites SET version = version + 1 WHERE id = ?1", site)
            .execute(&mut **tx)
            .await?;
    }
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
        ctx.event(tx, site, kind, None, Some(&n.text), &what)
            .await?;
    }
    Ok(inserted)
}

async fn insert_ref(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    site: Option<SiteId>,
    r: &RefSpec,
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
    if inserted && site.is_some() {
        sqlx::query!("UPDATE sites SET version = version + 1 WHERE id = ?1", site)
            .execute(&mut **tx)
            .await?;
    }
    if inserted {
        ctx.event(tx, site, EventKind::Ref, None, Some(&r.target), &r.title)
            .await?;
    }
    Ok(inserted)
}
