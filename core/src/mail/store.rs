//! Writing a mail import: [`MailWriter`] stores messages chunk by chunk, a transaction a
//! chunk, with their threads (`threads`), trailers (`trailers`), links to sites, the fixes new
//! patches propose and owners' answers.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

mod threads;
mod trailers;

use threads::{
    insert_messages, store_roots, store_wants, stored_by_msgid, thread_members, waiting_for,
};
use trailers::{link_trailers, store_trailers};

use super::thread::{mentions, Graph};
use super::{Cursor, LinkHow, MailBatch, MailSummary, NewLink, NewMessage};
use crate::db::{json_list, ImportCache};
use crate::events::{self, NewEvent, Stamp};
use crate::imports::{self, Import, ImportKind};
use crate::model::{now, CampaignId, EventKind, EventSource, NoteId, SiteId, Status};
use crate::transition::{self, Authority, StatusChange};
use crate::Result;

/// Messages per multi-row statement (one JSON parameter each).
const CHUNK: usize = 500;
/// Statuses a proposed patch moves to `fix_proposed`; done and proposed sites stay as they are.
const OPEN: [Status; 4] = [
    Status::Unreviewed,
    Status::NeedsFix,
    Status::NeedsPin,
    Status::AwaitingOwner,
];

/// Store `batch`: new messages with their thread roots, links (a new patch link proposes a
/// fix), trailers and owners' answers. A batch already stored changes nothing. [`MailWriter`]
/// does the same for a batch that comes in chunks.
pub async fn store(pool: &SqlitePool, batch: &MailBatch) -> Result<MailSummary> {
    let mut conn = pool.acquire().await?;
    let cache = ImportCache::grow(&mut conn).await?;
    let stored = async {
        let mut w = MailWriter::begin(&mut conn, &batch.source, &batch.actor).await?;
        w.add(&batch.messages, &batch.cursors).await?;
        w.finish().await
    }
    .await;
    cache.restore(&mut conn).await?;
    stored
}

/// Replies whose owners' answers are checked in one transaction of [`MailWriter::finish`].
const ANSWERS_PER_TRANSACTION: usize = 2_000;

/// One mail import, written chunk by chunk, each chunk in its own short transaction
/// (`BEGIN IMMEDIATE` … `COMMIT` in [`MailWriter::add`]), so that other writers (a note, a
/// login, the web's forms) get the database between chunks. An importer parses the next chunk
/// while this one is stored, and holds one chunk of parsed mail in memory rather than the
/// whole source.
///
/// Every commit leaves the database consistent: a chunk's messages go in with their threads,
/// trailers, links, proposed fixes and the cursors of the commits they came from (`add`'s
/// `cursors`), all or nothing. What needs the whole import, owners' answers (a reply may
/// answer a question on a site linked by a later chunk), waits in `mail_answer_pending`,
/// written with its chunk; [`MailWriter::finish`] checks it in short transactions. An import
/// killed half way has stored whole chunks and moved its cursors with them; the next import
/// reads on from there and finishes the answers left pending.
///
/// Threads are worked out in memory over each chunk and the stored threads it touches: those
/// of the stored messages it refers to and those of stored messages waiting for one of its
/// messages (`message_wants`). Earlier chunks of the same import are stored messages to a
/// later one, so chunking gives the same threads, trailers and links as one batch. An import
/// costs what it brings, not what the database holds, and its memory is one chunk's: the
/// Message-IDs an import has seen are kept in a temporary table of its connection
/// (`temp.mail_import`), not in memory.
pub struct MailWriter<'c> {
    conn: &'c mut SqliteConnection,
    at: String,
    source: String,
    actor: String,
    summary: MailSummary,
    per_campaign: HashMap<CampaignId, u64>,
}

impl<'c> MailWriter<'c> {
    /// Start an import on `conn` (nothing is locked until the first chunk).
    pub async fn begin(
        conn: &'c mut SqliteConnection,
        source: &str,
        actor: &str,
    ) -> Result<MailWriter<'c>> {
        // The database ids of this import's messages: what a later copy of a Message-ID is a
        // duplicate of, and what the summary counts threads over. A temporary table is the
        // connection's own: writing it takes no lock on the database.
        sqlx::query("CREATE TEMP TABLE IF NOT EXISTS mail_import (id INTEGER PRIMARY KEY)")
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM temp.mail_import")
            .execute(&mut *conn)
            .await?;
        Ok(MailWriter {
            conn,
            at: now(),
            source: source.to_owned(),
            actor: actor.to_owned(),
            summary: MailSummary::default(),
            per_campaign: HashMap::new(),
        })
    }

    /// Store the next chunk in one transaction: messages, threads, trailers, links, proposed
    /// fixes, and `cursors` (where the source stands once this chunk is stored).
    pub async fn add(&mut self, batch: &[NewMessage], cursors: &[Cursor]) -> Result<()> {
        let mut tx = sqlx::Connection::begin_with(&mut *self.conn, "BEGIN IMMEDIATE").await?;
        add_chunk(
            &mut tx,
            batch,
            &self.actor,
            &self.at,
            &mut self.summary,
            &mut self.per_campaign,
        )
        .await?;
        for c in cursors {
            store_cursor(&mut tx, c, &self.at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Owners' answers (those this import's replies give, and any an earlier import left
    /// pending), then the import records; each step in its own short transaction.
    pub async fn finish(mut self) -> Result<MailSummary> {
        loop {
            let mut tx = sqlx::Connection::begin_with(&mut *self.conn, "BEGIN IMMEDIATE").await?;
            let n = store_answers(
                &mut tx,
                &self.actor,
                &self.at,
                &mut self.summary,
                &mut self.per_campaign,
            )
            .await?;
            tx.commit().await?;
            if n < ANSWERS_PER_TRANSACTION {
                break;
            }
        }
        self.summary.threads = sqlx::query_scalar(
            "SELECT count(DISTINCT thread_root) FROM messages WHERE id IN (SELECT id FROM temp.mail_import)",
        )
        .fetch_one(&mut *self.conn)
        .await
        .map(|n: i64| n as u64)?;
        sqlx::query("DROP TABLE temp.mail_import")
            .execute(&mut *self.conn)
            .await?;

        // Import records.
        let mut tx = sqlx::Connection::begin_with(&mut *self.conn, "BEGIN IMMEDIATE").await?;
        let mut campaigns: Vec<_> = std::mem::take(&mut self.per_campaign).into_iter().collect();
        campaigns.sort();
        for (campaign, links) in campaigns {
            let import = Import::new(
                ImportKind::Mail,
                campaign,
                &self.source,
                &self.actor,
                &self.at,
            )
            .links_new(links)
            .sites_changed(self.summary.fix_proposed.len() as u64);
            let id = imports::record(&mut *tx, &import).await?;
            let what = format!(
                "{} messages ({} new), {} links, {} fixes proposed, {} answers",
                self.summary.messages,
                self.summary.messages_new,
                links,
                self.summary.fix_proposed.len(),
                self.summary.answers_new
            );
            let event = NewEvent::new(
                campaign,
                EventKind::Import,
                import_stamp(&self.actor, &self.at, None),
            )
            .change(None, Some(&self.source))
            .reason(&what);
            events::append(&mut *tx, &event).await?;
            self.summary.import_ids.push(id);
        }
        tx.commit().await?;
        Ok(self.summary)
    }
}

/// Store one chunk inside `tx` (see [`MailWriter`]).
async fn add_chunk(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &[NewMessage],
    actor: &str,
    at: &str,
    summary: &mut MailSummary,
    per_campaign: &mut HashMap<CampaignId, u64>,
) -> Result<()> {
    summary.messages += batch.len() as u64;
    let mut in_chunk = HashSet::with_capacity(batch.len());
    let msgs: Vec<&NewMessage> = batch
        .iter()
        .filter(|m| in_chunk.insert(m.message_id.as_str()))
        .collect();

    // 1. The stored messages the batch names: its own (a re-import) and those it refers to.
    let mut named: HashSet<&str> = HashSet::with_capacity(msgs.len() * 2);
    for m in &msgs {
        named.insert(&m.message_id);
        named.extend(mentions(m));
    }
    let known = stored_by_msgid(tx, named).await?;
    // A message an earlier chunk of this import stored is a duplicate (the first one is kept).
    let mine = json_list(
        &msgs
            .iter()
            .filter_map(|m| known.get(&m.message_id).map(|k| k.id))
            .collect::<Vec<_>>(),
    )?;
    let earlier: HashSet<i64> = sqlx::query_scalar(
        "SELECT id FROM temp.mail_import WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(mine)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let msgs: Vec<&NewMessage> = msgs
        .into_iter()
        .filter(|m| {
            known
                .get(&m.message_id)
                .is_none_or(|k| !earlier.contains(&k.id))
        })
        .collect();
    summary.duplicates += (batch.len() - msgs.len()) as u64;
    let fresh: Vec<&NewMessage> = msgs
        .iter()
        .copied()
        .filter(|m| !known.contains_key(&m.message_id))
        .collect();
    summary.messages_new += fresh.len() as u64;

    // 2. The stored threads the new messages may join or re-root, loaded whole, and the
    //    thread graph over them and the new messages.
    let waiting = if fresh.is_empty() {
        Vec::new()
    } else {
        waiting_for(tx, fresh.iter().map(|m| m.message_id.as_str())).await?
    };
    let touched: HashSet<&str> = fresh
        .iter()
        .flat_map(|m| mentions(m))
        .filter_map(|r| known.get(r).map(|k| k.root.as_str()))
        .chain(waiting.iter().map(|w| w.root.as_str()))
        .collect();
    let stored = thread_members(tx, touched).await?;
    let first_id =
        sqlx::query_scalar!(r#"SELECT coalesce(max(id), 0) + 1 AS "n!: i64" FROM messages"#)
            .fetch_one(&mut **tx)
            .await?;
    let graph = Graph::new(&stored, &fresh, first_id);
    let roots = graph.roots();

    // 3. New messages with their roots, and stored messages a new one re-roots (it is
    //    their missing parent, or an ancestor's).
    insert_messages(tx, &graph, &roots, &fresh, stored.len(), at).await?;
    let rerooted = graph.rerooted(&roots, stored.len());
    store_roots(tx, &rerooted).await?;
    store_wants(tx, &graph, &known, stored.len(), &waiting).await?;

    // 4. Trailers of new messages, and the patches they are about; stored trailers without
    //    a patch may have found theirs among the new messages.
    summary.trailers_new += store_trailers(tx, &graph, &fresh, stored.len()).await?;
    link_trailers(tx, &graph, stored.len()).await?;

    // 5. Links, for every message of the batch (sites may have come since the last import).
    let id_of = |msgid: &str| {
        graph
            .index
            .get(msgid)
            .map(|i| graph.nodes[*i].id)
            .or_else(|| known.get(msgid).map(|k| k.id))
    };
    let ids: Vec<i64> = msgs.iter().filter_map(|m| id_of(&m.message_id)).collect();
    sqlx::query("INSERT OR IGNORE INTO temp.mail_import (id) SELECT value FROM json_each(?1)")
        .bind(json_list(&ids)?)
        .execute(&mut **tx)
        .await?;
    let (links_new, mut new_patches) = store_links(tx, &msgs, &id_of, per_campaign).await?;
    summary.links_new += links_new;
    // A claimant's patch that touches a claimed site releases the claim.
    let patch_msgs: Vec<i64> = msgs
        .iter()
        .filter(|m| m.links.iter().any(|l| l.how == LinkHow::Patch))
        .filter_map(|m| id_of(&m.message_id))
        .collect();
    summary.claims_released += crate::claims::release_by_patches(tx, &patch_msgs).await?;
    new_patches.sort();
    for (mi, li) in new_patches {
        let (m, l) = (msgs[mi], &msgs[mi].links[li]);
        if let Some(loc) = propose_fix(tx, m, l, actor, at).await? {
            summary.fix_proposed.push(loc);
        }
    }

    // 6. Replies (and re-imported messages) may answer questions: checked once all links of
    //    the import are in (`MailWriter::finish`), kept until then with the chunk.
    let candidates: Vec<i64> = msgs
        .iter()
        .filter(|m| m.in_reply_to.is_some() || known.contains_key(&m.message_id))
        .filter_map(|m| id_of(&m.message_id))
        .collect();
    let candidates = json_list(&candidates)?;
    sqlx::query!(
        "INSERT OR IGNORE INTO mail_answer_pending (message_id) SELECT value FROM json_each(?1)",
        candidates
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where an epoch stands: its last imported commit.
async fn store_cursor(tx: &mut Transaction<'_, Sqlite>, c: &Cursor, at: &str) -> Result<()> {
    sqlx::query!(
        "INSERT INTO mail_cursors (inbox, epoch, last_commit, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (inbox, epoch) DO UPDATE SET last_commit = excluded.last_commit, updated_at = excluded.updated_at",
        c.inbox,
        c.epoch,
        c.last_commit,
        at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Owners' answers to open questions on sites the reply's thread is about, for the first
/// [`ANSWERS_PER_TRANSACTION`] pending replies, which are then no longer pending. Only
/// replies answer: a message that is none is left out (the query checks the stored
/// In-Reply-To). Returns how many pending replies were checked.
async fn store_answers(
    tx: &mut Transaction<'_, Sqlite>,
    actor: &str,
    at: &str,
    summary: &mut MailSummary,
    per_campaign: &mut HashMap<CampaignId, u64>,
) -> Result<usize> {
    let limit = ANSWERS_PER_TRANSACTION as i64;
    let pending = sqlx::query_scalar!(
        r#"SELECT message_id AS "id!: i64" FROM mail_answer_pending ORDER BY message_id LIMIT ?1"#,
        limit
    )
    .fetch_all(&mut **tx)
    .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let ids = json_list(&pending)?;
    let answers = sqlx::query!(
        r#"INSERT OR IGNORE INTO question_answers (note_id, message_id, email, at)
           SELECT DISTINCT n.id, m.id, m.from_email, ?2
           FROM messages m
           JOIN subsystem_people sp ON sp.email = m.from_email
           JOIN notes n ON n.ask_subsystem_id = sp.subsystem_id AND n.question_state = 'open'
                        AND n.site_id IS NOT NULL
           WHERE m.id IN (SELECT value FROM json_each(?1)) AND m.in_reply_to IS NOT NULL
             AND EXISTS (SELECT 1 FROM message_sites ms JOIN messages t ON t.id = ms.message_id
                         WHERE ms.site_id = n.site_id AND t.thread_root = m.thread_root)
           RETURNING note_id AS "note_id!: NoteId", message_id AS "message_id!: i64""#,
        ids,
        at
    )
    .fetch_all(&mut **tx)
    .await?;
    for a in answers {
        let r = sqlx::query!(
            r#"SELECT n.campaign_id AS "campaign!: CampaignId", n.site_id AS "site: SiteId",
                      m.message_id, m.from_name, m.from_email
               FROM notes n, messages m WHERE n.id = ?1 AND m.id = ?2"#,
            a.note_id,
            a.message_id
        )
        .fetch_one(&mut **tx)
        .await?;
        let who = if r.from_name.is_empty() {
            r.from_email.clone()
        } else {
            format!("{} <{}>", r.from_name, r.from_email)
        };
        let reason = format!("answer by {who}, pending review");
        let stamp = import_stamp(actor, at, Some(&r.message_id));
        let event = NewEvent::new(r.campaign, EventKind::Question, stamp)
            .site(r.site)
            .change(Some("open"), Some("answered_pending_review"))
            .reason(&reason);
        events::append(&mut **tx, &event).await?;
        summary.answers_new += 1;
        *per_campaign.entry(r.campaign).or_default() += 0;
    }
    sqlx::query!(
        "DELETE FROM mail_answer_pending WHERE message_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut **tx)
    .await?;
    Ok(pending.len())
}

/// Link the chunk's messages to sites (`id_of` gives a message's database id), then
/// re-index the search text of the sites newly linked, once each. Counts new links per
/// campaign in `per_campaign`; returns how many links are new and the new patch links, as
/// (message, link) indexes into `msgs`.
async fn store_links(
    tx: &mut Transaction<'_, Sqlite>,
    msgs: &[&NewMessage],
    id_of: impl Fn(&str) -> Option<i64>,
    per_campaign: &mut HashMap<CampaignId, u64>,
) -> Result<(u64, Vec<(usize, usize)>)> {
    let mut rows = Vec::new();
    let mut patches: HashMap<(i64, SiteId), (usize, usize)> = HashMap::new();
    let mut campaign_of: HashMap<SiteId, CampaignId> = HashMap::new();
    for (mi, m) in msgs.iter().enumerate() {
        if m.links.is_empty() {
            continue;
        }
        let Some(mid) = id_of(&m.message_id) else {
            continue;
        };
        for (li, l) in m.links.iter().enumerate() {
            rows.push(json!([mid, l.site, l.how.as_str(), l.detail]));
            campaign_of.insert(l.site, l.campaign);
            if l.how == LinkHow::Patch && l.fixes {
                patches.insert((mid, l.site), (mi, li));
            }
        }
    }
    let (mut links_new, mut new_patches) = (0, Vec::new());
    let mut linked: HashSet<SiteId> = HashSet::new();
    for chunk in rows.chunks(CHUNK * 4) {
        let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
        for r in sqlx::query!(
            r#"INSERT OR IGNORE INTO message_sites (message_id, site_id, how, detail)
                   SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(?1) AS j
                   RETURNING message_id AS "message_id!: i64", site_id AS "site_id!: SiteId", how AS "how!: LinkHow""#,
            rows
        )
        .fetch_all(&mut **tx)
        .await?
        {
            links_new += 1;
            linked.insert(r.site_id);
            if let Some(c) = campaign_of.get(&r.site_id) {
                *per_campaign.entry(*c).or_default() += 1;
            }
            if r.how == LinkHow::Patch {
                if let Some(&p) = patches.get(&(r.message_id, r.site_id)) {
                    new_patches.push(p);
                }
            }
        }
    }
    let linked: Vec<SiteId> = linked.into_iter().collect();
    crate::search::reindex(tx, &linked).await?;
    Ok((links_new, new_patches))
}

/// Who records a mail import's changes, naming the message (`source_ref`) when there is one.
fn import_stamp<'s>(actor: &'s str, at: &'s str, source_ref: Option<&'s str>) -> Stamp<'s> {
    Stamp {
        actor,
        source: EventSource::Import,
        source_ref,
        at,
    }
}

/// A new patch link: the site becomes `fix_proposed` (when still open) with the patch as a
/// reference. Returns the site's `file:line` when its status changed.
async fn propose_fix(
    tx: &mut Transaction<'_, Sqlite>,
    m: &NewMessage,
    l: &NewLink,
    actor: &str,
    at: &str,
) -> Result<Option<String>> {
    let author = if m.from_name.is_empty() {
        m.from_email.clone()
    } else {
        format!("{} <{}>", m.from_name, m.from_email)
    };
    let inserted = sqlx::query!(
        "INSERT OR IGNORE INTO refs (campaign_id, site_id, kind, target, title, author, date, tag)
         VALUES (?1, ?2, 'message', ?3, ?4, ?5, ?6, ?7)",
        l.campaign,
        l.site,
        m.message_id,
        m.subject,
        author,
        m.date,
        m.subject_tag
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let stamp = import_stamp(actor, at, Some(&m.message_id));
        let event = NewEvent::new(l.campaign, EventKind::Ref, stamp)
            .site(l.site)
            .change(None, Some(&m.message_id))
            .reason(&m.subject);
        events::append(&mut **tx, &event).await?;
    }
    let site = sqlx::query!(
        r#"SELECT status AS "status: Status", file, line FROM sites WHERE id = ?1"#,
        l.site
    )
    .fetch_one(&mut **tx)
    .await?;
    if !OPEN.contains(&site.status) {
        return Ok(None);
    }
    let reason = format!("patch {}: {}", m.message_id, m.subject);
    let change = StatusChange::new(
        l.campaign,
        l.site,
        site.status,
        Status::FixProposed,
        &reason,
        Authority::Import,
        import_stamp(actor, at, Some(&m.message_id)),
    );
    let changed = transition::apply(tx, change).await?;
    Ok(changed.then(|| format!("{}:{}", site.file, site.line)))
}

/// Insert two-column `rows` with `insert` (`INSERT … (a, b) `), 10,000 rows a statement
/// (20,000 parameters, under SQLite's 32,766).
async fn insert_pairs<'q, A, B>(
    tx: &mut Transaction<'_, Sqlite>,
    insert: &str,
    rows: &'q [(A, B)],
) -> Result<()>
where
    A: Copy + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + 'q,
    B: Copy + sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite> + 'q,
{
    for chunk in rows.chunks(10_000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(insert);
        q.push_values(chunk, |mut b, (x, y)| {
            b.push_bind(*x).push_bind(*y);
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}
