//! The writer's thread statements: the stored messages and threads a chunk touches, the new
//! messages with their roots, re-rooted stored messages, and `message_wants`.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sqlx::{Sqlite, Transaction};

use super::super::thread::{Graph, StoredNode};
use super::super::NewMessage;
use super::{insert_pairs, CHUNK};
use crate::db::json_list;
use crate::Result;

/// Insert the new messages (`graph.nodes[stored..]`) with their roots, under the ids the graph
/// gave them: SQLite would give the same ones (max + 1, the write lock is held), and knowing
/// them spares a RETURNING.
pub(super) async fn insert_messages(
    tx: &mut Transaction<'_, Sqlite>,
    graph: &Graph<'_>,
    roots: &[usize],
    fresh: &[&NewMessage],
    stored: usize,
    at: &str,
) -> Result<()> {
    for (k, chunk) in fresh.chunks(1000).enumerate() {
        let base = stored + k * 1000;
        // Bound parameters, not a JSON row: bodies are most of the bytes, and SQLite would
        // parse and unescape them again. 20 parameters a row stay under SQLite's 32766.
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO messages (id, message_id, derived_id, subject, from_name, from_email, date, list,
                 in_reply_to, refs, body, has_diff, patch_prefix, subject_tag, thread_root, sha256, imported_at,
                 revision_key, change_id, applied) ",
        );
        q.push_values(chunk.iter().enumerate(), |mut b, (i, m)| {
            let gi = base + i;
            b.push_bind(graph.nodes[gi].id)
                .push_bind(m.message_id.as_str())
                .push_bind(m.derived_id)
                .push_bind(m.subject.as_str())
                .push_bind(m.from_name.as_str())
                .push_bind(m.from_email.as_str())
                .push_bind(m.date.as_deref())
                .push_bind(m.list.as_deref())
                .push_bind(m.in_reply_to.as_deref())
                .push_bind(m.references.join(" "));
            match &m.body_zstd {
                Some(z) => b.push_bind(z.as_slice()),
                None => b.push_bind(m.body.as_str()),
            };
            b.push_bind(m.has_diff)
                .push_bind(m.patch_prefix.as_deref())
                .push_bind(m.subject_tag.as_deref())
                .push_bind(graph.nodes[roots[gi]].msgid)
                .push_bind(m.sha256.as_str())
                .push_bind(at)
                .push_bind(m.revision_key.as_deref())
                .push_bind(m.change_id.as_deref())
                .push_bind(m.applied.as_deref());
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Write the new roots of stored messages (id, Message-ID, new root), many a statement.
pub(super) async fn store_roots(
    tx: &mut Transaction<'_, Sqlite>,
    rerooted: &[(i64, &str, &str)],
) -> Result<()> {
    let rows: Vec<_> = rerooted
        .iter()
        .map(|(id, _, root)| json!([id, root]))
        .collect();
    for chunk in rows.chunks(CHUNK * 4) {
        let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
        sqlx::query!(
            "UPDATE messages SET thread_root = j.value ->> 1 FROM json_each(?1) AS j WHERE messages.id = j.value ->> 0",
            rows
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A stored message found by Message-ID.
pub(super) struct Known {
    pub(super) id: i64,
    pub(super) root: String,
}

/// The stored messages among `msgids`.
pub(super) async fn stored_by_msgid(
    tx: &mut Transaction<'_, Sqlite>,
    msgids: HashSet<&str>,
) -> Result<HashMap<String, Known>> {
    let msgids = json_list(&msgids.into_iter().collect::<Vec<_>>())?;
    Ok(sqlx::query!(
        r#"SELECT id AS "id!: i64", message_id, thread_root FROM messages
           WHERE message_id IN (SELECT value FROM json_each(?1))"#,
        msgids
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.message_id,
            Known {
                id: r.id,
                root: r.thread_root,
            },
        )
    })
    .collect())
}

/// A stored message waiting for one of the new ones, and its thread.
pub(super) struct Waiting {
    pub(super) id: i64,
    pub(super) root: String,
}

/// Stored messages whose parent may be among `msgids` (see `message_wants`).
pub(super) async fn waiting_for(
    tx: &mut Transaction<'_, Sqlite>,
    msgids: impl Iterator<Item = &str>,
) -> Result<Vec<Waiting>> {
    let msgids = json_list(&msgids.collect::<Vec<_>>())?;
    Ok(sqlx::query_as!(
        Waiting,
        r#"SELECT DISTINCT m.id AS "id!: i64", m.thread_root AS root
           FROM message_wants w JOIN messages m ON m.id = w.message_id
           WHERE w.want IN (SELECT value FROM json_each(?1))"#,
        msgids
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// Every stored message of the threads `roots`, by id.
pub(super) async fn thread_members(
    tx: &mut Transaction<'_, Sqlite>,
    roots: HashSet<&str>,
) -> Result<Vec<StoredNode>> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let roots = json_list(&roots.into_iter().collect::<Vec<_>>())?;
    Ok(sqlx::query_as!(
        StoredNode,
        r#"SELECT id AS "id!: i64", message_id, thread_root, in_reply_to, refs,
                  has_diff AS "has_diff: bool", patch_prefix, subject
           FROM messages WHERE thread_root IN (SELECT value FROM json_each(?1)) ORDER BY id"#,
        roots
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// Keep `message_wants` up to date: a message whose In-Reply-To is absent wants every absent
/// Message-ID it refers to (one of them arriving may become its parent). The wants of the
/// stored messages that waited for a new one are rewritten (they may be settled now), and
/// the new messages' wants added. A want for a message that is present after all (stored in
/// a thread not loaded here) is harmless: it can never arrive as new.
pub(super) async fn store_wants<'a>(
    tx: &mut Transaction<'_, Sqlite>,
    graph: &Graph<'a>,
    known: &HashMap<String, Known>,
    stored: usize,
    waiting: &[Waiting],
) -> Result<()> {
    let present = |m: &str| graph.index.contains_key(m) || known.contains_key(m);
    let mut rows: Vec<(&'a str, i64)> = Vec::new();
    let wants_of = |i: usize, rows: &mut Vec<(&'a str, i64)>| {
        let n = &graph.nodes[i];
        if n.in_reply_to.is_some_and(|p| p != n.msgid && present(p)) {
            return;
        }
        for w in n.in_reply_to.iter().chain(&n.refs) {
            if *w != n.msgid && !present(w) {
                rows.push((w, n.id));
            }
        }
    };
    if !waiting.is_empty() {
        let ids = json_list(&waiting.iter().map(|w| w.id).collect::<Vec<_>>())?;
        sqlx::query!(
            "DELETE FROM message_wants WHERE message_id IN (SELECT value FROM json_each(?1))",
            ids
        )
        .execute(&mut **tx)
        .await?;
        for w in waiting {
            if let Some(i) = graph.stored_index(w.id, stored) {
                wants_of(i, &mut rows);
            }
        }
    }
    for i in stored..graph.nodes.len() {
        wants_of(i, &mut rows);
    }
    insert_pairs(
        tx,
        "INSERT OR IGNORE INTO message_wants (want, message_id) ",
        &rows,
    )
    .await
}
