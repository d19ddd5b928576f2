//! The campaign-level rows of a batch: the campaign itself, its subsystems with their people
//! and lists, and its verdict groups.

use std::collections::HashMap;

use sqlx::{Sqlite, Transaction};

use super::decide::LoadedVerdict;
use super::store::{EventCtx, Writes};
use super::{CampaignInput, SubsystemInput, VerdictInput};
use crate::db::json_list;
use crate::events;
use crate::model::{subsystem_slug, CampaignId, EventKind, SubsystemId};
use crate::Result;

/// Create the campaign, or update what the batch states of it; then its spec and start, when
/// the batch states them.
pub(super) async fn upsert_campaign(
    tx: &mut Transaction<'_, Sqlite>,
    spec: &CampaignInput,
    at: &str,
    writes: &mut Writes,
) -> Result<CampaignId> {
    let id = upsert_fields(tx, spec, at, writes).await?;
    if spec.spec_toml.is_some() || spec.start.is_some() {
        let changed = sqlx::query!(
            "UPDATE campaigns SET spec = coalesce(?2, spec), start = coalesce(?3, start)
             WHERE id = ?1 AND (spec IS NOT coalesce(?2, spec) OR start IS NOT coalesce(?3, start))",
            id,
            spec.spec_toml,
            spec.start
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        writes.0 += changed;
    }
    Ok(id)
}

/// The campaign row: created, or its stated fields updated.
async fn upsert_fields(
    tx: &mut Transaction<'_, Sqlite>,
    spec: &CampaignInput,
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
    if spec.tree.is_some() {
        // The positions are the stated tree's now, and that tree is what links name.
        crate::tree_links::clear(&mut **tx, row.id).await?;
    }
    Ok(row.id)
}

/// Subsystem ids by name, created on first mention.
#[derive(Default)]
pub(super) struct SubsystemCache(HashMap<String, SubsystemId>);

impl SubsystemCache {
    /// The id of subsystem `name`, created (with a free slug) when new.
    pub(super) async fn id(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        name: &str,
    ) -> Result<SubsystemId> {
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

    /// Create or update a subsystem with its people and lists.
    pub(super) async fn upsert(
        &mut self,
        tx: &mut Transaction<'_, Sqlite>,
        s: &SubsystemInput,
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
        // One statement for the people and one for the lists (JSON rows, in order): a scan
        // names a few dozen subsystems, and a statement a person cost a re-scan more than
        // the rest of storing it.
        let people: Vec<serde_json::Value> =
            [("maintainer", &s.maintainers), ("reviewer", &s.reviewers)]
                .into_iter()
                .flat_map(|(role, people)| {
                    people
                        .iter()
                        .map(move |p| serde_json::json!([role, p.name, p.email]))
                })
                .collect();
        if !people.is_empty() {
            let people = serde_json::Value::Array(people).to_string();
            let n = sqlx::query!(
                "INSERT OR IGNORE INTO subsystem_people (subsystem_id, role, name, email)
                 SELECT ?1, j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM json_each(?2) AS j",
                id,
                people
            )
            .execute(&mut **tx)
            .await?
            .rows_affected();
            writes.0 += n;
        }
        if !s.lists.is_empty() {
            let lists = json_list(&s.lists)?;
            let n = sqlx::query!(
                "INSERT OR IGNORE INTO subsystem_lists (subsystem_id, list)
                 SELECT ?1, value FROM json_each(?2)",
                id,
                lists
            )
            .execute(&mut **tx)
            .await?
            .rows_affected();
            writes.0 += n;
        }
        Ok(id)
    }
}

/// The campaign's verdict groups, compiled.
pub(super) async fn load_verdicts(
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
                date: v.date,
            })
        })
        .collect()
}

/// Replace the campaign's verdict groups when they differ. Returns whether they did.
pub(super) async fn replace_verdicts(
    tx: &mut Transaction<'_, Sqlite>,
    ctx: &EventCtx<'_>,
    new: &[VerdictInput],
) -> Result<bool> {
    let old = crate::verdicts::list_in(&mut **tx, ctx.campaign).await?;
    let same = old.len() == new.len()
        && old.iter().zip(new).all(|(o, n)| {
            o.label == n.label
                && o.matches == n.matches
                && o.status == n.status
                && o.reason == n.reason
                && o.date == n.date
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
                                   match_function, match_file, status, reason, date)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            ctx.campaign,
            pos,
            v.label,
            v.matches.callee,
            kind,
            v.matches.direction,
            v.matches.function,
            v.matches.file,
            v.status,
            v.reason,
            v.date
        )
        .execute(&mut **tx)
        .await?;
    }
    let summary = format!(
        "{} verdict groups replaced by {}",
        new.len(),
        ctx.origin.name
    );
    let (old, new) = (old.len().to_string(), new.len().to_string());
    let event = ctx
        .event(EventKind::Verdicts)
        .change(Some(&old), Some(&new))
        .reason(&summary);
    events::append(&mut **tx, &event).await?;
    Ok(true)
}
