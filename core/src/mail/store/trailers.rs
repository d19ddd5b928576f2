//! The writer's trailer statements: new messages' trailers and the patches they are about,
//! and stored trailers that found their patch among the new messages.

use std::collections::HashSet;

use sqlx::{Sqlite, Transaction};

use super::super::thread::Graph;
use super::super::{NewMessage, NewTrailer};
use super::insert_pairs;
use crate::db::json_list;
use crate::Result;

/// Trailers of the new messages (`graph.nodes[stored..]`), under ids given here, and the
/// patches they are about. Returns how many were stored.
pub(super) async fn store_trailers(
    tx: &mut Transaction<'_, Sqlite>,
    graph: &Graph<'_>,
    fresh: &[&NewMessage],
    stored: usize,
) -> Result<u64> {
    if fresh.iter().all(|m| m.trailers.is_empty()) {
        return Ok(0);
    }
    let mut next = sqlx::query_scalar!(
        r#"SELECT coalesce(max(id), 0) + 1 AS "n!: i64" FROM message_trailers"#
    )
    .fetch_one(&mut **tx)
    .await?;
    let mut rows: Vec<(i64, i64, &NewTrailer)> = Vec::new();
    let mut about: Vec<(i64, i64)> = Vec::new();
    for (k, m) in fresh.iter().enumerate() {
        let gi = stored + k;
        let mut seen = HashSet::new();
        for t in &m.trailers {
            // UNIQUE (message_id, kind, raw): a repeated line is one trailer.
            if !seen.insert((t.kind, t.raw.as_str())) {
                continue;
            }
            rows.push((next, graph.nodes[gi].id, t));
            for p in graph.patches_for(gi, &t.about) {
                about.push((next, graph.nodes[p].id));
            }
            next += 1;
        }
    }
    // 7 parameters a row.
    for chunk in rows.chunks(4000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO message_trailers (id, message_id, kind, name, email, raw, about) ",
        );
        q.push_values(chunk, |mut b, (id, message, t)| {
            b.push_bind(*id)
                .push_bind(*message)
                .push_bind(t.kind.as_str())
                .push_bind(t.name.as_str())
                .push_bind(t.email.as_str())
                .push_bind(t.raw.as_str())
                .push_bind(
                    (!t.about.is_empty())
                        .then(|| serde_json::to_string(&t.about).ok())
                        .flatten(),
                );
        });
        q.build().execute(&mut **tx).await?;
    }
    insert_trailer_patches(tx, &about).await?;
    Ok(rows.len() as u64)
}

/// Point trailers at the patches they are about: (trailer id, patch message id).
async fn insert_trailer_patches(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[(i64, i64)],
) -> Result<()> {
    insert_pairs(
        tx,
        "INSERT OR IGNORE INTO trailer_patches (trailer_id, patch_id) ",
        rows,
    )
    .await
}

/// Point stored trailers at patches that arrived after them: only messages of the threads
/// loaded (`graph.nodes[..stored]`) can have gained an ancestor, or a cover letter a patch
/// (a trailer for the whole series is about a patch of it that comes later too).
pub(super) async fn link_trailers(
    tx: &mut Transaction<'_, Sqlite>,
    graph: &Graph<'_>,
    stored: usize,
) -> Result<()> {
    if stored == 0 {
        return Ok(());
    }
    let ids = json_list(
        &graph.nodes[..stored]
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
    )?;
    let open = sqlx::query!(
        r#"SELECT t.id AS "id!: i64", t.message_id AS "message!: i64", t.about FROM message_trailers t
           WHERE t.message_id IN (SELECT value FROM json_each(?1))"#,
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for t in open {
        if let Some(i) = graph.stored_index(t.message, stored) {
            // The quoted patch titles it stood under, as stored.
            let about: Vec<String> = t
                .about
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_default();
            for p in graph.patches_for(i, &about) {
                rows.push((t.id, graph.nodes[p].id));
            }
        }
    }
    insert_trailer_patches(tx, &rows).await
}
