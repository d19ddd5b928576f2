//! Writing a history import: commits, their links to sites, pull-request pages, moved
//! positions, statuses and cursors, in one transaction.

use std::collections::HashMap;

use sqlx::{Sqlite, SqlitePool, Transaction};

use super::{CommitInfo, HistoryBatch, HistorySummary, StoredPlace};
use crate::events::{self, NewEvent, Stamp};
use crate::imports::{self, Import};
use crate::model::{now, EventKind, EventSource, Status};
use crate::sites;
use crate::transition::{self, Authority, StatusChange};
use crate::Result;

/// Store a history import in one transaction. Commits are shared and never rewritten; links
/// are added, never removed; positions and statuses go through the same rules as scans.
/// An import that changes nothing writes nothing.
pub async fn store(pool: &SqlitePool, batch: &HistoryBatch) -> Result<HistorySummary> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let at = now();
    // Every event of the import: the importer's, naming the import.
    let stamp = Stamp {
        actor: &batch.actor,
        source: EventSource::Import,
        source_ref: Some(&batch.name),
        at: &at,
    };
    let mut summary = HistorySummary::default();
    let mut writes = 0u64;

    let mut commit_ids: HashMap<&str, i64> = HashMap::new();
    for c in &batch.commits {
        let inserted = sqlx::query!(
            "INSERT OR IGNORE INTO commits (oid, author_name, author_email, author_date, commit_date,
                                            subject, subject_tag, upstream_oid, branch, url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            c.oid,
            c.author_name,
            c.author_email,
            c.author_date,
            c.commit_date,
            c.subject,
            c.subject_tag,
            c.upstream_oid,
            c.branch,
            c.url
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            summary.commits_new += 1;
        } else {
            // A commit first read from a maintainer's branch, now reached from mainline (or
            // linux-next): its fix has moved on, and its branch says so.
            let stored = sqlx::query_scalar!("SELECT branch FROM commits WHERE oid = ?1", c.oid)
                .fetch_one(&mut *tx)
                .await?;
            let (old, new) = (
                crate::stages::branch_stage(stored.as_deref()),
                crate::stages::branch_stage(c.branch.as_deref()),
            );
            if c.branch.is_some() && new > old {
                sqlx::query!(
                    "UPDATE commits SET branch = ?2 WHERE oid = ?1",
                    c.oid,
                    c.branch
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        if inserted == 0 && c.url.is_some() {
            // A commit first read from a local clone gains its GitHub page.
            sqlx::query!(
                "UPDATE commits SET url = ?2 WHERE oid = ?1 AND url IS NULL",
                c.oid,
                c.url
            )
            .execute(&mut *tx)
            .await?;
        }
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id!: i64" FROM commits WHERE oid = ?1"#,
            c.oid
        )
        .fetch_one(&mut *tx)
        .await?;
        commit_ids.insert(c.oid.as_str(), id);
    }
    // Fixes that moved on since they were first read (merged into mainline, …).
    for (oid, branch) in &batch.promotions {
        let stored = sqlx::query_scalar!("SELECT branch FROM commits WHERE oid = ?1", oid)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(stored) = stored {
            if crate::stages::branch_stage(Some(branch))
                > crate::stages::branch_stage(stored.as_deref())
            {
                sqlx::query!("UPDATE commits SET branch = ?2 WHERE oid = ?1", oid, branch)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    let subjects: HashMap<&str, &CommitInfo> =
        batch.commits.iter().map(|c| (c.oid.as_str(), c)).collect();

    for l in &batch.links {
        let Some(&commit_id) = commit_ids.get(l.commit.as_str()) else {
            return Err(crate::Error::NotFound(format!(
                "commit {} (linked to site {}) is not in the batch",
                l.commit, l.site
            )));
        };
        let role = l.role;
        let line = l.line.map(i64::from);
        let n = sqlx::query!(
            "INSERT OR IGNORE INTO site_commits (site_id, commit_id, role, file, line, old_code, new_code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            l.site,
            commit_id,
            role,
            l.file,
            line,
            l.old_code,
            l.new_code
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            summary.links_new += 1;
            // The site's commits are part of what pages and the API show of it: a client
            // holding its ETag (the version) must see it as changed.
            sites::bump_version(&mut *tx, l.site, None).await?;
            let subject = subjects.get(l.commit.as_str()).map(|c| c.subject.as_str());
            let reason = format!("{}: {}", role.as_str(), subject.unwrap_or_default());
            let event = NewEvent::new(batch.campaign, EventKind::Ref, stamp)
                .site(l.site)
                .change(None, Some(&l.commit))
                .reason(&reason);
            events::append(&mut *tx, &event).await?;
        }
    }
    writes += summary.commits_new + summary.links_new;

    for p in &batch.pages {
        summary.pages_new += sqlx::query!(
            "INSERT OR IGNORE INTO refs (campaign_id, site_id, kind, target, title, author, date)
             SELECT campaign_id, id, 'url', ?2, ?3, ?4, ?5 FROM sites WHERE id = ?1 AND campaign_id = ?6",
            p.site,
            p.url,
            p.title,
            p.author,
            p.date,
            batch.campaign
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    writes += summary.pages_new;

    summary.moved = store_positions(&mut tx, batch, &at).await?;
    writes += summary.moved;

    for s in &batch.statuses {
        let Some(row) = sqlx::query!(
            r#"SELECT status AS "status: Status", file, line FROM sites
               WHERE id = ?1 AND campaign_id = ?2"#,
            s.site,
            batch.campaign
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        if row.status == s.to {
            continue;
        }
        let source_ref = s.commit.as_ref().map(|c| format!("commit {c}"));
        let stamp = Stamp {
            source_ref: source_ref.as_deref().or(stamp.source_ref),
            ..stamp
        };
        let change = StatusChange::new(
            batch.campaign,
            s.site,
            row.status,
            s.to,
            &s.reason,
            Authority::History,
            stamp,
        );
        transition::apply(&mut tx, change).await?;
        let place = format!("{}:{}", row.file, row.line);
        match s.to {
            Status::Gone => summary.gone.push(place),
            Status::Fixed => summary.fixed.push(place),
            _ => summary.reopened.push(place),
        }
        writes += 1;
    }

    for c in &batch.cursors {
        let n = sqlx::query!(
            "INSERT INTO history_cursors (campaign_id, repo, ref_name, last_commit, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (campaign_id, repo, ref_name) DO UPDATE
                SET last_commit = excluded.last_commit, updated_at = excluded.updated_at
                WHERE last_commit != excluded.last_commit",
            batch.campaign,
            c.repo,
            c.ref_name,
            c.last_commit,
            at
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        writes += n;
    }

    if writes == 0 {
        tx.rollback().await?;
        return Ok(summary);
    }
    if let (Some(tip), true) = (&batch.tip, summary.moved > 0) {
        // The positions are the tip's now: so is the tree the campaign's links name.
        sqlx::query!(
            "UPDATE campaigns SET tree_commit = ?2, tree_describe = coalesce(?3, tree_describe)
             WHERE id = ?1",
            batch.campaign,
            tip,
            batch.tip_describe
        )
        .execute(&mut *tx)
        .await?;
        crate::tree_links::replace(&mut tx, batch.campaign, &batch.files_at_tag).await?;
    }
    let cursor = batch
        .cursors
        .iter()
        .map(|c| c.last_commit.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let import = Import::new(
        batch.source.import_kind(),
        batch.campaign,
        &batch.name,
        &batch.actor,
        &at,
    )
    .cursor(&cursor)
    .sites_total(batch.positions.len() as u64)
    .sites_changed(summary.moved);
    let import_id = imports::record(&mut *tx, &import).await?;
    let what = format!(
        "{} commits new, {} site links, {} sites moved, {} fixed, {} gone, {} reopened",
        summary.commits_new,
        summary.links_new,
        summary.moved,
        summary.fixed.len(),
        summary.gone.len(),
        summary.reopened.len()
    );
    let event = NewEvent::new(batch.campaign, EventKind::Import, stamp)
        .change(None, Some(&batch.name))
        .reason(&what);
    events::append(&mut *tx, &event).await?;
    sqlx::query!(
        "UPDATE campaigns SET updated_at = ?2 WHERE id = ?1",
        batch.campaign,
        at
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    summary.import_id = Some(import_id);
    Ok(summary)
}

/// Move sites to where the tip has them. Identities follow (they name the file and the
/// code); when two sites would swap identities, both are moved aside first, and an identity
/// another site already holds is left as it was.
async fn store_positions(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &HistoryBatch,
    at: &str,
) -> Result<u64> {
    let mut moved = Vec::new();
    for p in &batch.positions {
        let Some(row) = sqlx::query_as!(
            StoredPlace,
            "SELECT identity, file, line, col, function, code, direction, context, context_start
             FROM sites WHERE id = ?1 AND campaign_id = ?2",
            p.site,
            batch.campaign
        )
        .fetch_optional(&mut **tx)
        .await?
        else {
            continue;
        };
        if !p.is_at(&row) {
            moved.push((p, row.identity));
        }
    }
    for (p, old) in &moved {
        if *old != p.identity {
            let aside = format!("moving:{}", p.site);
            sqlx::query!(
                "UPDATE sites SET identity = ?2 WHERE id = ?1",
                p.site,
                aside
            )
            .execute(&mut **tx)
            .await?;
        }
    }
    for (p, old) in &moved {
        let taken = sqlx::query_scalar!(
            "SELECT count(*) FROM sites WHERE campaign_id = ?1 AND identity = ?2 AND id != ?3",
            batch.campaign,
            p.identity,
            p.site
        )
        .fetch_one(&mut **tx)
        .await?
            > 0;
        let identity = if taken { old } else { &p.identity };
        let (line, col) = (i64::from(p.line), p.col.map(i64::from));
        let (context, context_start) = match &p.context {
            Some((c, s)) => (Some(c.as_str()), Some(i64::from(*s))),
            None => (None, None),
        };
        sqlx::query!(
            "UPDATE sites SET identity = ?2, file = ?3, line = ?4, col = ?5, function = ?6, code = ?7,
                    direction = ?8, context = coalesce(?9, context),
                    context_start = coalesce(?10, context_start), updated_at = ?11
             WHERE id = ?1",
            p.site,
            identity,
            p.file,
            line,
            col,
            p.function,
            p.code,
            p.direction,
            context,
            context_start,
            at
        )
        .execute(&mut **tx)
        .await?;
        sites::bump_version(&mut **tx, p.site, None).await?;
    }
    Ok(moved.len() as u64)
}
