//! Writing a mail import: [`MailWriter`] stores messages chunk by chunk in one transaction,
//! with their threads (`threads`), trailers (`trailers`), links to sites, the fixes new
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

/// Store `batch` in one transaction: new messages with their thread roots, links (a new
/// patch link proposes a fix), trailers and owners' answers. A batch already stored changes
/// nothing. [`MailWriter`] does the same for a batch that comes in chunks.
pub async fn store(pool: &SqlitePool, batch: &MailBatch) -> Result<MailSummary> {
    let mut conn = pool.acquire().await?;
    let cache = ImportCache::grow(&mut conn).await?;
    let stored = async {
        let mut w = MailWriter::begin(&mut conn, &batch.source, &batch.actor).await?;
        w.add(&batch.messages).await?;
        w.finish(&batch.cursors).await
    }
    .await;
    cache.restore(&mut conn).await?;
    stored
}

/// One mail import, written chunk by chunk in one transaction (`BEGIN IMMEDIATE` …
/// `COMMIT` in [`MailWriter::finish`]; dropping the writer rolls everything back). An
/// importer parses the next chunk while this one is stored, and holds one chunk of parsed
/// mail in memory rather than the whole source.
///
/// Threads are worked out in memory over each chunk and the stored threads it touches: those
/// of the stored messages it refers to and those of stored messages waiting for one of its
/// messages (`message_wants`). Earlier chunks of the same import are stored messages to a
/// later one, so chunking gives the same threads, trailers and links as one batch. An import
/// costs what it brings, not what the database holds.
pub struct MailWriter<'c> {
    tx: Transaction<'c, Sqlite>,
    at: String,
    source: String,
    actor: String,
    summary: MailSummary,
    /// Message-IDs of this import so far (a later copy is a duplicate).
    seen: HashSet<String>,
    /// Thread root of each message of this import, kept current as threads re-root.
    roots: HashMap<String, String>,
    per_campaign: HashMap<CampaignId, u64>,
    /// Messages that may answer an open question (replies, re-imported messages).
    answer_candidates: Vec<i64>,
}

impl<'c> MailWriter<'c> {
    /// Start the import's transaction.
    pub async fn begin(
        conn: &'c mut SqliteConnection,
        source: &str,
        actor: &str,
    ) -> Result<MailWriter<'c>> {
        Ok(MailWriter {
            tx: sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?,
            at: now(),
            source: source.to_owned(),
            actor: actor.to_owned(),
            summary: MailSummary::default(),
            seen: HashSet::new(),
            roots: HashMap::new(),
            per_campaign: HashMap::new(),
            answer_candidates: Vec::new(),
        })
    }

    /// Store the next chunk: messages, threads, trailers, links and proposed fixes.
    pub async fn add(&mut self, batch: &[NewMessage]) -> Result<()> {
        let tx = &mut self.tx;
        let summary = &mut self.summary;
        summary.messages += batch.len() as u64;
        let msgs: Vec<&NewMessage> = batch
            .iter()
            .filter(|m| self.seen.insert(m.message_id.clone()))
            .collect();
        summary.duplicates += (batch.len() - msgs.len()) as u64;

        // 1. The stored messages the batch names: its own (a re-import) and those it refers to.
        let mut named: HashSet<&str> = HashSet::with_capacity(msgs.len() * 2);
        for m in &msgs {
            named.insert(&m.message_id);
            named.extend(mentions(m));
        }
        let known = stored_by_msgid(tx, named).await?;
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
        insert_messages(tx, &graph, &roots, &fresh, stored.len(), &self.at).await?;
        let rerooted = graph.rerooted(&roots, stored.len());
        for (_, msgid, root) in &rerooted {
            // A message of an earlier chunk of this import whose thread grew a new root.
            if let Some(mine) = self.roots.get_mut(*msgid) {
                (*root).clone_into(mine);
            }
        }
        store_roots(tx, &rerooted).await?;
        let root_of = |msgid: &str| {
            graph
                .index
                .get(msgid)
                .map(|i| graph.nodes[roots[*i]].msgid)
                .or_else(|| known.get(msgid).map(|k| k.root.as_str()))
        };
        for m in &msgs {
            if let Some(r) = root_of(&m.message_id) {
                self.roots.insert(m.message_id.clone(), r.to_owned());
            }
        }
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
        let (links_new, mut new_patches) =
            store_links(tx, &msgs, &id_of, &mut self.per_campaign).await?;
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
            if let Some(loc) = propose_fix(tx, m, l, &self.actor, &self.at).await? {
                summary.fix_proposed.push(loc);
            }
        }

        // Replies (and re-imported messages) may answer questions: checked once all links of
        // the import are in (see `finish`).
        self.answer_candidates.extend(
            msgs.iter()
                .filter(|m| m.in_reply_to.is_some() || known.contains_key(&m.message_id))
                .filter_map(|m| id_of(&m.message_id)),
        );
        Ok(())
    }

    /// Answers, cursors and import records; then commit.
    pub async fn finish(mut self, cursors: &[Cursor]) -> Result<MailSummary> {
        self.summary.threads = self.roots.values().collect::<HashSet<_>>().len() as u64;

        // 6. Owners' answers to open questions on sites the reply's thread is about. Only replies
        //    answer: a new message that is none is left out (a stored one is checked by the
        //    query, against its stored In-Reply-To).
        for chunk in self.answer_candidates.chunks(CHUNK * 4) {
            let ids = json_list(chunk)?;
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
                self.at
            )
            .fetch_all(&mut *self.tx)
            .await?;
            for a in answers {
                let r = sqlx::query!(
                    r#"SELECT n.campaign_id AS "campaign!: CampaignId", n.site_id AS "site: SiteId",
                              m.message_id, m.from_name, m.from_email
                       FROM notes n, messages m WHERE n.id = ?1 AND m.id = ?2"#,
                    a.note_id,
                    a.message_id
                )
                .fetch_one(&mut *self.tx)
                .await?;
                let who = if r.from_name.is_empty() {
                    r.from_email.clone()
                } else {
                    format!("{} <{}>", r.from_name, r.from_email)
                };
                let reason = format!("answer by {who}, pending review");
                let stamp = import_stamp(&self.actor, &self.at, Some(&r.message_id));
                let event = NewEvent::new(r.campaign, EventKind::Question, stamp)
                    .site(r.site)
                    .change(Some("open"), Some("answered_pending_review"))
                    .reason(&reason);
                events::append(&mut *self.tx, &event).await?;
                self.summary.answers_new += 1;
                *self.per_campaign.entry(r.campaign).or_default() += 0;
            }
        }

        // 7. Cursors and import records.
        for c in cursors {
            sqlx::query!(
                "INSERT INTO mail_cursors (inbox, epoch, last_commit, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (inbox, epoch) DO UPDATE SET last_commit = excluded.last_commit, updated_at = excluded.updated_at",
                c.inbox,
                c.epoch,
                c.last_commit,
                self.at
            )
            .execute(&mut *self.tx)
            .await?;
        }
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
            let id = imports::record(&mut *self.tx, &import).await?;
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
            events::append(&mut *self.tx, &event).await?;
            self.summary.import_ids.push(id);
        }
        self.tx.commit().await?;
        Ok(self.summary)
    }
}

/// Link the chunk's messages to sites (`id_of` gives a message's database id). Counts new
/// links per campaign in `per_campaign`; returns how many links are new and the new patch
/// links, as (message, link) indexes into `msgs`.
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
