//! List mail: messages stored once per Message-ID, threads, links to call sites, review
//! trailers and owners' answers to questions. Importers build a [`MailBatch`] and call
//! [`store`]; pages and the API read through the query functions below.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::json;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use crate::model::{
    now, CampaignId, DecidedBy, EventSource, ImportId, NoteId, SiteId, Status, SubsystemId,
};
use crate::transition::{self, Authority, StatusChange};
use crate::{Error, Result};

/// Messages per multi-row statement (one JSON parameter each).
const CHUNK: usize = 500;
/// Statuses a proposed patch moves to `fix_proposed`; done and proposed sites stay as they are.
const OPEN: [Status; 4] = [
    Status::Unreviewed,
    Status::NeedsFix,
    Status::NeedsPin,
    Status::AwaitingOwner,
];

/// A review trailer's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum TrailerKind {
    AckedBy,
    ReviewedBy,
    TestedBy,
}

impl TrailerKind {
    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TrailerKind::AckedBy => "acked_by",
            TrailerKind::ReviewedBy => "reviewed_by",
            TrailerKind::TestedBy => "tested_by",
        }
    }

    /// As written in mail: `Acked-by`.
    pub fn label(self) -> &'static str {
        match self {
            TrailerKind::AckedBy => "Acked-by",
            TrailerKind::ReviewedBy => "Reviewed-by",
            TrailerKind::TestedBy => "Tested-by",
        }
    }
}

/// Why a message is linked to a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum LinkHow {
    /// `path/file.c:123` near the site's line.
    FileLine,
    /// The site's enclosing function, as `func()` or `->func()`.
    Function,
    /// The site's callee and its file, both mentioned.
    CalleeFile,
    /// The message's diff touches the site's lines.
    Patch,
}

impl LinkHow {
    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkHow::FileLine => "file_line",
            LinkHow::Function => "function",
            LinkHow::CalleeFile => "callee_file",
            LinkHow::Patch => "patch",
        }
    }
}

/// A trailer line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailerSpec {
    pub kind: TrailerKind,
    pub name: String,
    /// Lower-cased, as written (possibly mistyped; then it matches nobody).
    pub email: String,
    /// The whole line after `Acked-by:`.
    pub raw: String,
}

/// A link from a message to a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    pub campaign: CampaignId,
    pub site: SiteId,
    pub how: LinkHow,
    pub detail: String,
}

/// One message as an importer parsed it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Without angle brackets.
    pub message_id: String,
    /// The Message-ID was derived (the message had none).
    pub derived_id: bool,
    pub subject: String,
    pub from_name: String,
    pub from_email: String,
    /// Stored time form (RFC 3339 UTC).
    pub date: Option<String>,
    pub list: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub body: String,
    /// The body as stored, compressed ([`pack_body`]): importers pack in parallel while they
    /// parse. `None` stores the text as it is.
    pub body_zstd: Option<Vec<u8>>,
    pub has_diff: bool,
    pub patch_prefix: Option<String>,
    pub subject_tag: Option<String>,
    /// SHA-256 (hex) of the raw message.
    pub sha256: String,
    pub trailers: Vec<TrailerSpec>,
    pub links: Vec<LinkSpec>,
}

/// Bodies shorter than this are stored as text: compression would save next to nothing.
const PACK_FROM: usize = 512;

/// A body compressed for storage (zstd, level 1: about 2.5× on list mail, at several hundred
/// MB/s), or `None` when it is too short to gain. Stored as a BLOB; [`unpack_body`] reads it.
/// A database holding a lore list keeps a third of the text's size, and an import writes a
/// third of the bytes (twice: WAL, then checkpoint).
pub fn pack_body(text: &str) -> Option<Vec<u8>> {
    if text.len() < PACK_FROM {
        return None;
    }
    thread_local! {
        // A compression context is hundreds of KB to set up: one per thread, reused.
        static ZSTD: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            std::cell::RefCell::new(zstd::bulk::Compressor::new(1).ok());
    }
    ZSTD.with(|z| {
        z.borrow_mut()
            .as_mut()
            .and_then(|c| c.compress(text.as_bytes()).ok())
    })
    .filter(|z| z.len() < text.len())
}

/// The text of a stored body: a BLOB is [`pack_body`]'s output, anything else is text.
/// Unreadable data gives a note saying so rather than an error: one damaged row must not
/// take the message's page or API answer down.
pub fn unpack_body(stored: &[u8], packed: bool) -> String {
    if !packed {
        return String::from_utf8_lossy(stored).into_owned();
    }
    // A body is cut at 1 MiB before it is packed; the bound stops a damaged frame early.
    match zstd::bulk::decompress(stored, 4 << 20) {
        Ok(text) => String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => format!("[treewide: the stored body cannot be read: {e}]"),
    }
}

/// How far one public-inbox epoch has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub inbox: String,
    pub epoch: i64,
    pub last_commit: String,
}

/// Everything one mail import stores.
#[derive(Debug, Clone, Default)]
pub struct MailBatch {
    /// File name, inbox path or URL, for history.
    pub source: String,
    pub actor: String,
    pub messages: Vec<NewMessage>,
    pub cursors: Vec<Cursor>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MailSummary {
    pub messages: u64,
    pub messages_new: u64,
    /// Messages whose Message-ID came twice in the batch (the first one is kept).
    pub duplicates: u64,
    pub threads: u64,
    pub links_new: u64,
    /// Sites moved to `fix_proposed` (file:line).
    pub fix_proposed: Vec<String>,
    pub trailers_new: u64,
    pub answers_new: u64,
    pub import_ids: Vec<ImportId>,
}

impl MailSummary {
    /// True when the batch changed nothing.
    pub fn is_noop(&self) -> bool {
        self.messages_new == 0 && self.links_new == 0 && self.answers_new == 0
    }
}

/// A site as linking needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFacts {
    pub id: SiteId,
    pub campaign: CampaignId,
    pub file: String,
    pub line: i64,
    pub function: Option<String>,
    pub callee: String,
}

/// The sites mail may link to: one campaign's, or every campaign's.
pub async fn link_candidates(
    db: &SqlitePool,
    campaign: Option<CampaignId>,
) -> Result<Vec<SiteFacts>> {
    Ok(sqlx::query_as!(
        SiteFacts,
        r#"SELECT id AS "id!: SiteId", campaign_id AS "campaign!: CampaignId", file, line, function, callee
           FROM sites WHERE (?1 IS NULL OR campaign_id = ?1) AND status <> 'gone' ORDER BY file, line, id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}

/// The last imported commit of every epoch of `inbox`.
pub async fn cursors(db: &SqlitePool, inbox: &str) -> Result<HashMap<i64, String>> {
    Ok(sqlx::query!(
        "SELECT epoch, last_commit FROM mail_cursors WHERE inbox = ?1",
        inbox
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.epoch, r.last_commit))
    .collect())
}

/// The parent of a message among those present: In-Reply-To, else the nearest reference.
fn parent_of<'a>(
    me: &str,
    in_reply_to: Option<&'a str>,
    refs: impl DoubleEndedIterator<Item = &'a str>,
    present: &impl Fn(&str) -> bool,
) -> Option<&'a str> {
    in_reply_to
        .filter(|p| *p != me && present(p))
        .or_else(|| refs.rev().find(|r| *r != me && present(r)))
}

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

        // 3. New messages with their roots, under ids given here: SQLite would give the same
        //    ones (max + 1, the write lock is held), and knowing them spares a RETURNING.
        for (k, chunk) in fresh.chunks(1000).enumerate() {
            let base = stored.len() + k * 1000;
            // Bound parameters, not a JSON row: bodies are most of the bytes, and SQLite would
            // parse and unescape them again. 17 parameters a row stay under SQLite's 32766.
            let mut q = sqlx::QueryBuilder::<Sqlite>::new(
                "INSERT INTO messages (id, message_id, derived_id, subject, from_name, from_email, date, list,
                     in_reply_to, refs, body, has_diff, patch_prefix, subject_tag, thread_root, sha256, imported_at) ",
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
                    .push_bind(self.at.as_str());
            });
            q.build().execute(&mut **tx).await?;
        }
        // Stored messages a new one re-roots (it is their missing parent, or an ancestor's).
        let mut changed = Vec::new();
        for (n, r) in graph.nodes[..stored.len()].iter().zip(&roots) {
            let root = graph.nodes[*r].msgid;
            if n.old_root != Some(root) {
                changed.push(json!([n.id, root]));
                // A message of an earlier chunk of this import whose thread grew a new root.
                if let Some(mine) = self.roots.get_mut(n.msgid) {
                    root.clone_into(mine);
                }
            }
        }
        for chunk in changed.chunks(CHUNK * 4) {
            let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
            sqlx::query!(
                "UPDATE messages SET thread_root = j.value ->> 1 FROM json_each(?1) AS j WHERE messages.id = j.value ->> 0",
                rows
            )
            .execute(&mut **tx)
            .await?;
        }
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
                if l.how == LinkHow::Patch {
                    patches.insert((mid, l.site), (mi, li));
                }
            }
        }
        let mut new_patches = Vec::new();
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
                summary.links_new += 1;
                if let Some(c) = campaign_of.get(&r.site_id) {
                    *self.per_campaign.entry(*c).or_default() += 1;
                }
                if r.how == LinkHow::Patch {
                    if let Some(&p) = patches.get(&(r.message_id, r.site_id)) {
                        new_patches.push(p);
                    }
                }
            }
        }
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
                sqlx::query!(
                    "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason)
                     VALUES (?1, ?2, ?3, ?4, 'import', ?5, 'question', 'open', 'answered_pending_review', ?6)",
                    r.campaign,
                    r.site,
                    self.at,
                    self.actor,
                    r.message_id,
                    reason
                )
                .execute(&mut *self.tx)
                .await?;
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
            let (links, proposed) = (links as i64, self.summary.fix_proposed.len() as i64);
            let id = sqlx::query_scalar!(
                r#"INSERT INTO imports (campaign_id, source, kind, sha256, at, actor, sites_total, sites_new, sites_changed)
                   VALUES (?1, ?2, 'mail', '', ?3, ?4, ?5, 0, ?6) RETURNING id AS "id!: ImportId""#,
                campaign,
                self.source,
                self.at,
                self.actor,
                links,
                proposed
            )
            .fetch_one(&mut *self.tx)
            .await?;
            let what = format!(
                "{} messages ({} new), {} links, {} fixes proposed, {} answers",
                self.summary.messages,
                self.summary.messages_new,
                links,
                self.summary.fix_proposed.len(),
                self.summary.answers_new
            );
            sqlx::query!(
                "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason)
                 VALUES (?1, NULL, ?2, ?3, 'import', NULL, 'import', NULL, ?4, ?5)",
                campaign,
                self.at,
                self.actor,
                self.source,
                what
            )
            .execute(&mut *self.tx)
            .await?;
            self.summary.import_ids.push(id);
        }
        self.tx.commit().await?;
        Ok(self.summary)
    }
}

/// A new patch link: the site becomes `fix_proposed` (when still open) with the patch as a
/// reference. Returns the site's `file:line` when its status changed.
async fn propose_fix(
    tx: &mut Transaction<'_, Sqlite>,
    m: &NewMessage,
    l: &LinkSpec,
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
        sqlx::query!(
            "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason)
             VALUES (?1, ?2, ?3, ?4, 'import', ?5, 'ref', NULL, ?5, ?6)",
            l.campaign,
            l.site,
            at,
            actor,
            m.message_id,
            m.subject
        )
        .execute(&mut **tx)
        .await?;
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
    let changed = transition::apply(
        tx,
        StatusChange {
            campaign: l.campaign,
            site: l.site,
            from: site.status,
            to: Status::FixProposed,
            decided_by: DecidedBy::Site,
            verdict: None,
            reason: &reason,
            by: Authority::Import,
            actor,
            source: EventSource::Import,
            source_ref: Some(&m.message_id),
            at,
        },
    )
    .await?;
    Ok(changed.then(|| format!("{}:{}", site.file, site.line)))
}

/// SQLite's page cache for the length of an import. A batch of tens of thousands of messages
/// touches more index pages than the default 2 MB hold; evicting dirty index pages
/// mid-transaction writes them to the WAL and reads them back, again and again. 64 MB holds
/// the indexes of a few hundred thousand messages; the table's pages, written once in id
/// order, spill to the WAL as the import goes (measured: 64 MB imports 50k real messages
/// faster than 256 MB, which faults in and zeroes a fresh page for every page written).
pub struct ImportCache {
    before: i64,
}

/// The import's page cache, in KiB (see [`ImportCache`]).
const IMPORT_CACHE_KIB: i64 = 64 * 1024;

impl ImportCache {
    pub async fn grow(conn: &mut SqliteConnection) -> Result<ImportCache> {
        let before: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
            .execute(&mut *conn)
            .await?;
        Ok(ImportCache { before })
    }

    /// Give the memory back: the connection returns to the pool.
    pub async fn restore(self, conn: &mut SqliteConnection) -> Result<()> {
        sqlx::query(&format!("PRAGMA cache_size = {}", self.before))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// The Message-IDs a message refers to: In-Reply-To and References.
fn mentions(m: &NewMessage) -> impl Iterator<Item = &str> {
    m.in_reply_to
        .iter()
        .chain(&m.references)
        .map(String::as_str)
}

/// A stored message found by Message-ID.
struct Known {
    id: i64,
    root: String,
}

/// The stored messages among `msgids`.
async fn stored_by_msgid(
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
struct Waiting {
    id: i64,
    root: String,
}

/// Stored messages whose parent may be among `msgids` (see `message_wants`).
async fn waiting_for(
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

/// A stored message as the thread graph needs it.
struct StoredNode {
    id: i64,
    message_id: String,
    thread_root: String,
    in_reply_to: Option<String>,
    refs: String,
    has_diff: bool,
    patch_prefix: Option<String>,
}

/// Every stored message of the threads `roots`, by id.
async fn thread_members(
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
                  has_diff AS "has_diff: bool", patch_prefix
           FROM messages WHERE thread_root IN (SELECT value FROM json_each(?1)) ORDER BY id"#,
        roots
    )
    .fetch_all(&mut **tx)
    .await?)
}

fn json_list<T: Serialize>(items: &[T]) -> Result<String> {
    serde_json::to_string(items).map_err(|e| Error::Invalid {
        what: "JSON parameter",
        value: e.to_string(),
        expected: "JSON",
    })
}

/// Keep `message_wants` up to date: a message whose In-Reply-To is absent wants every absent
/// Message-ID it refers to (one of them arriving may become its parent). The wants of the
/// stored messages that waited for a new one are rewritten (they may be settled now), and
/// the new messages' wants added. A want for a message that is present after all (stored in
/// a thread not loaded here) is harmless: it can never arrive as new.
async fn store_wants<'a>(
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
    for chunk in rows.chunks(10_000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO message_wants (want, message_id) ",
        );
        q.push_values(chunk, |mut b, (want, id)| {
            b.push_bind(*want).push_bind(*id);
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Trailers of the new messages (`graph.nodes[stored..]`), under ids given here, and the
/// patches they are about. Returns how many were stored.
async fn store_trailers(
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
    let mut rows: Vec<(i64, i64, &TrailerSpec)> = Vec::new();
    let mut about: Vec<(i64, i64)> = Vec::new();
    for (k, m) in fresh.iter().enumerate() {
        let gi = stored + k;
        let mut patches: Option<Vec<usize>> = None;
        let mut seen = HashSet::new();
        for t in &m.trailers {
            // UNIQUE (message_id, kind, raw): a repeated line is one trailer.
            if !seen.insert((t.kind, t.raw.as_str())) {
                continue;
            }
            rows.push((next, graph.nodes[gi].id, t));
            for p in patches.get_or_insert_with(|| graph.patches_for(gi)) {
                about.push((next, graph.nodes[*p].id));
            }
            next += 1;
        }
    }
    // 6 parameters a row.
    for chunk in rows.chunks(5000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO message_trailers (id, message_id, kind, name, email, raw) ",
        );
        q.push_values(chunk, |mut b, (id, message, t)| {
            b.push_bind(*id)
                .push_bind(*message)
                .push_bind(t.kind.as_str())
                .push_bind(t.name.as_str())
                .push_bind(t.email.as_str())
                .push_bind(t.raw.as_str());
        });
        q.build().execute(&mut **tx).await?;
    }
    insert_trailer_patches(tx, &about).await?;
    Ok(rows.len() as u64)
}

async fn insert_trailer_patches(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[(i64, i64)],
) -> Result<()> {
    for chunk in rows.chunks(10_000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO trailer_patches (trailer_id, patch_id) ",
        );
        q.push_values(chunk, |mut b, (trailer, patch)| {
            b.push_bind(*trailer).push_bind(*patch);
        });
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Point stored trailers that have no patch yet at theirs: only messages of the threads
/// loaded (`graph.nodes[..stored]`) can have gained an ancestor or a cover letter's patch.
async fn link_trailers(
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
        r#"SELECT t.id AS "id!: i64", t.message_id AS "message!: i64" FROM message_trailers t
           WHERE t.message_id IN (SELECT value FROM json_each(?1))
             AND NOT EXISTS (SELECT 1 FROM trailer_patches p WHERE p.trailer_id = t.id)"#,
        ids
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for t in open {
        if let Some(i) = graph.stored_index(t.message, stored) {
            for p in graph.patches_for(i) {
                rows.push((t.id, graph.nodes[p].id));
            }
        }
    }
    insert_trailer_patches(tx, &rows).await
}

/// One message in the thread graph.
struct Node<'a> {
    id: i64,
    msgid: &'a str,
    /// The stored root (`None` for a new message).
    old_root: Option<&'a str>,
    in_reply_to: Option<&'a str>,
    refs: Vec<&'a str>,
    has_diff: bool,
    cover: bool,
}

/// The new messages and the stored threads they touch, and who replies to whom. Nodes are
/// in id order (stored ones first), as a whole-database graph would visit them.
struct Graph<'a> {
    nodes: Vec<Node<'a>>,
    index: HashMap<&'a str, usize>,
    /// Each node's parent, computed once (the cover-letter lookup below needs children).
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    /// `stored` (by id), then `fresh`, numbered from `first_id` on.
    fn new(stored: &'a [StoredNode], fresh: &[&'a NewMessage], first_id: i64) -> Graph<'a> {
        let mut nodes: Vec<Node<'a>> = Vec::with_capacity(stored.len() + fresh.len());
        nodes.extend(stored.iter().map(|r| Node {
            id: r.id,
            msgid: &r.message_id,
            old_root: Some(&r.thread_root),
            in_reply_to: r.in_reply_to.as_deref(),
            refs: r.refs.split_ascii_whitespace().collect(),
            has_diff: r.has_diff,
            cover: !r.has_diff && r.patch_prefix.as_deref().is_some_and(is_cover_prefix),
        }));
        nodes.extend(fresh.iter().zip(first_id..).map(|(m, id)| Node {
            id,
            msgid: &m.message_id,
            old_root: None,
            in_reply_to: m.in_reply_to.as_deref(),
            refs: m.references.iter().map(String::as_str).collect(),
            has_diff: m.has_diff,
            cover: !m.has_diff && m.patch_prefix.as_deref().is_some_and(is_cover_prefix),
        }));
        let index: HashMap<&'a str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.msgid, i))
            .collect();
        let present = |m: &str| index.contains_key(m);
        let parents: Vec<Option<usize>> = nodes
            .iter()
            .map(|n| {
                parent_of(n.msgid, n.in_reply_to, n.refs.iter().copied(), &present)
                    .and_then(|p| index.get(p).copied())
            })
            .collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, p) in parents.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        Graph {
            nodes,
            index,
            parents,
            children,
        }
    }

    /// The node of the stored message with database id `id`.
    fn stored_index(&self, id: i64, stored: usize) -> Option<usize> {
        self.nodes[..stored]
            .binary_search_by_key(&id, |n| n.id)
            .ok()
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.parents[i]
    }

    /// Each message's root: its earliest ancestor present (cycles end where they loop).
    fn roots(&self) -> Vec<usize> {
        let parents = &self.parents;
        let mut roots: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for start in 0..self.nodes.len() {
            let mut path = vec![start];
            let mut on_path = HashSet::from([start]);
            let mut cur = start;
            let root = loop {
                if let Some(r) = roots[cur] {
                    break r;
                }
                match parents[cur] {
                    Some(p) if on_path.insert(p) => {
                        path.push(p);
                        cur = p;
                    }
                    _ => break cur,
                }
            };
            for i in path {
                roots[i] = Some(root);
            }
        }
        roots
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.unwrap_or(i))
            .collect()
    }

    /// The patches a trailer in message `i` is about.
    fn patches_for(&self, i: usize) -> Vec<usize> {
        if self.nodes[i].has_diff {
            return vec![i];
        }
        let mut seen = HashSet::from([i]);
        let mut cur = i;
        while let Some(p) = self.parent(cur) {
            if !seen.insert(p) {
                break;
            }
            let n = &self.nodes[p];
            if n.has_diff {
                return vec![p];
            }
            if n.cover {
                return self.children[p]
                    .iter()
                    .copied()
                    .filter(|c| self.nodes[*c].has_diff)
                    .collect();
            }
            cur = p;
        }
        Vec::new()
    }
}

/// `PATCH v3 0/7`: a series' cover letter.
fn is_cover_prefix(p: &str) -> bool {
    p.split_ascii_whitespace()
        .any(|w| w.starts_with("0/") || w.starts_with("00/") || w.starts_with("000/"))
}

/// A message as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageHead {
    pub message_id: String,
    pub subject: String,
    pub from_name: String,
    pub from_email: String,
    pub date: Option<String>,
    pub list: Option<String>,
    pub in_reply_to: Option<String>,
    pub has_diff: bool,
    pub patch_prefix: Option<String>,
    pub subject_tag: Option<String>,
    pub thread_root: String,
}

impl MessageHead {
    /// The message on lore.kernel.org.
    pub fn lore_url(&self) -> String {
        lore_url(&self.message_id)
    }
}

/// `https://lore.kernel.org/r/<msgid>`, the Message-ID percent-encoded where URLs need it.
pub fn lore_url(msgid: &str) -> String {
    let mut out = String::from("https://lore.kernel.org/r/");
    for b in msgid.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A message in a thread listing: its head, depth and (for site lists) why it is there.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadEntry {
    #[serde(flatten)]
    pub head: MessageHead,
    /// 0 for the thread's root (or a message whose parent is absent).
    pub depth: u32,
    /// How the message is linked to the site asked about (empty for its replies).
    pub links: Vec<LinkHow>,
}

/// What a message list is filtered by.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub site: Option<SiteId>,
    pub subsystem: Option<SubsystemId>,
    /// Any Message-ID of the thread.
    pub thread: Option<String>,
    pub limit: u32,
}

/// Messages matching `q`, by date.
pub async fn list(db: &SqlitePool, q: &MessageQuery) -> Result<Vec<MessageHead>> {
    let limit = i64::from(q.limit.max(1));
    Ok(sqlx::query_as!(
        MessageHead,
        r#"SELECT m.message_id, m.subject, m.from_name, m.from_email, m.date, m.list, m.in_reply_to,
                  m.has_diff AS "has_diff: bool", m.patch_prefix, m.subject_tag, m.thread_root
           FROM messages m
           WHERE (?1 IS NULL OR m.id IN (SELECT message_id FROM message_sites WHERE site_id = ?1))
             AND (?2 IS NULL OR m.id IN (SELECT ms.message_id FROM message_sites ms JOIN sites s ON s.id = ms.site_id
                                          WHERE s.subsystem_id = ?2))
             AND (?3 IS NULL OR m.thread_root = (SELECT thread_root FROM messages WHERE message_id = ?3))
           ORDER BY m.date IS NULL, m.date, m.id LIMIT ?4"#,
        q.site,
        q.subsystem,
        q.thread,
        limit
    )
    .fetch_all(db)
    .await?)
}

/// Every message of the threads `roots`, by date.
async fn thread_messages(db: &SqlitePool, roots: &[String]) -> Result<Vec<MessageHead>> {
    let roots = serde_json::to_string(roots).unwrap_or_else(|_| "[]".into());
    Ok(sqlx::query_as!(
        MessageHead,
        r#"SELECT m.message_id, m.subject, m.from_name, m.from_email, m.date, m.list, m.in_reply_to,
                  m.has_diff AS "has_diff: bool", m.patch_prefix, m.subject_tag, m.thread_root
           FROM messages m WHERE m.thread_root IN (SELECT value FROM json_each(?1))
           ORDER BY m.date IS NULL, m.date, m.id"#,
        roots
    )
    .fetch_all(db)
    .await?)
}

/// Order messages as threads: each root followed by its replies depth-first, by date.
/// Returns (index into `msgs`, depth).
pub fn thread_order(msgs: &[MessageHead], refs: &HashMap<String, String>) -> Vec<(usize, u32)> {
    let index: HashMap<&str, usize> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| (m.message_id.as_str(), i))
        .collect();
    let present = |m: &str| index.contains_key(m);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); msgs.len()];
    let mut tops = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let r = refs.get(&m.message_id).map_or("", String::as_str);
        match parent_of(
            &m.message_id,
            m.in_reply_to.as_deref(),
            r.split_ascii_whitespace(),
            &present,
        )
        .and_then(|p| index.get(p))
        {
            Some(&p) => children[p].push(i),
            None => tops.push(i),
        }
    }
    let mut out = Vec::with_capacity(msgs.len());
    let mut done = vec![false; msgs.len()];
    let mut stack: Vec<(usize, u32)> = tops.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, d)) = stack.pop() {
        if std::mem::replace(&mut done[i], true) {
            continue;
        }
        out.push((i, d));
        for c in children[i].iter().rev() {
            stack.push((*c, d + 1));
        }
    }
    // Messages caught in a reference cycle are shown flat at the end.
    out.extend((0..msgs.len()).filter(|i| !done[*i]).map(|i| (i, 0)));
    out
}

async fn refs_of(db: &SqlitePool, ids: &[&str]) -> Result<HashMap<String, String>> {
    let ids = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    Ok(sqlx::query!(
        "SELECT message_id, refs FROM messages WHERE message_id IN (SELECT value FROM json_each(?1))",
        ids
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.message_id, r.refs))
    .collect())
}

/// The messages about a site as threads: the linked messages and their replies.
pub async fn threads_for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<ThreadEntry>> {
    let links = sqlx::query!(
        r#"SELECT m.message_id, m.thread_root, ms.how AS "how: LinkHow" FROM message_sites ms
           JOIN messages m ON m.id = ms.message_id WHERE ms.site_id = ?1"#,
        site
    )
    .fetch_all(db)
    .await?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let mut how: HashMap<String, Vec<LinkHow>> = HashMap::new();
    let mut roots: Vec<String> = Vec::new();
    for l in links {
        how.entry(l.message_id).or_default().push(l.how);
        if !roots.contains(&l.thread_root) {
            roots.push(l.thread_root);
        }
    }
    let all = thread_messages(db, &roots).await?;
    let ids: Vec<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    let refs = refs_of(db, &ids).await?;
    let order = thread_order(&all, &refs);
    // Keep the linked messages and everything below them.
    let mut out = Vec::new();
    let mut keep_below: Option<u32> = None;
    for (i, depth) in order {
        let m = &all[i];
        if keep_below.is_some_and(|d| depth <= d) {
            keep_below = None;
        }
        let linked = how.get(&m.message_id);
        if linked.is_some() && keep_below.is_none() {
            keep_below = Some(depth);
        }
        if keep_below.is_some() {
            out.push(ThreadEntry {
                head: m.clone(),
                depth,
                links: linked.cloned().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// A trailer as pages and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct Trailer {
    pub kind: TrailerKind,
    pub name: String,
    pub email: String,
    pub raw: String,
    /// The message carrying it.
    pub message_id: String,
    /// The patch it is about, when known.
    pub patch: Option<String>,
    /// The subsystem it is a sign-off for: the person is an M:/R: of it.
    pub signoff_for: Option<String>,
}

/// Trailers on the patches proposed for a site, with whether each is a sign-off of one of
/// the site's subsystems.
pub async fn trailers_for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Trailer>> {
    Ok(sqlx::query_as!(
        Trailer,
        r#"SELECT DISTINCT t.kind AS "kind: TrailerKind", t.name, t.email, t.raw, m.message_id,
                  pm.message_id AS "patch?: String",
                  (SELECT ss.name FROM subsystem_people sp JOIN subsystems ss ON ss.id = sp.subsystem_id
                   JOIN sites s ON s.id = ?1
                   WHERE sp.email = t.email AND (sp.subsystem_id = s.subsystem_id OR sp.subsystem_id IN
                         (SELECT subsystem_id FROM site_subsystems WHERE site_id = ?1))
                   ORDER BY sp.subsystem_id = s.subsystem_id DESC LIMIT 1) AS "signoff_for?: String"
           FROM message_sites ms
           JOIN trailer_patches tp ON tp.patch_id = ms.message_id
           JOIN message_trailers t ON t.id = tp.trailer_id
           JOIN messages m ON m.id = t.message_id
           JOIN messages pm ON pm.id = tp.patch_id
           WHERE ms.site_id = ?1 AND ms.how = 'patch'
           ORDER BY m.date, t.id"#,
        site
    )
    .fetch_all(db)
    .await?)
}

/// Trailers a message carries, with the patches they are about.
pub async fn trailers_of(db: &SqlitePool, message_id: &str) -> Result<Vec<Trailer>> {
    Ok(sqlx::query_as!(
        Trailer,
        r#"SELECT t.kind AS "kind: TrailerKind", t.name, t.email, t.raw, m.message_id,
                  (SELECT pm.message_id FROM trailer_patches tp JOIN messages pm ON pm.id = tp.patch_id
                   WHERE tp.trailer_id = t.id ORDER BY pm.id LIMIT 1) AS "patch?: String",
                  NULL AS "signoff_for?: String"
           FROM message_trailers t JOIN messages m ON m.id = t.message_id
           WHERE m.message_id = ?1 ORDER BY t.id"#,
        message_id
    )
    .fetch_all(db)
    .await?)
}

/// A site a message is linked to.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedSite {
    pub site_id: SiteId,
    pub campaign: String,
    pub file: String,
    pub line: i64,
    pub function: Option<String>,
    pub status: Status,
    pub how: LinkHow,
    pub detail: String,
    /// When this message is a patch for the site: the subsystems whose M:/R: acked,
    /// reviewed or tested it.
    pub signoffs: Vec<String>,
}

/// Where a message sits in its thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadPosition {
    pub root: String,
    pub parent: Option<String>,
    pub depth: u32,
    /// 1-based position in the thread's reading order.
    pub index: u32,
    pub size: u32,
}

/// One message with everything the API shows about it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub head: MessageHead,
    pub derived_id: bool,
    pub references: Vec<String>,
    pub body: String,
    pub lore_url: String,
    pub trailers: Vec<Trailer>,
    pub sites: Vec<LinkedSite>,
    pub thread: ThreadPosition,
}

/// One message by Message-ID (with or without angle brackets).
pub async fn get(db: &SqlitePool, message_id: &str) -> Result<MessageDetail> {
    let msgid = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let r = sqlx::query!(
        r#"SELECT m.id AS "id!: i64", m.message_id, m.subject, m.from_name, m.from_email, m.date, m.list,
                  m.in_reply_to, m.has_diff AS "has_diff: bool", m.patch_prefix, m.subject_tag, m.thread_root,
                  m.derived_id AS "derived_id: bool", m.refs,
                  CAST(m.body AS BLOB) AS "body!: Vec<u8>", typeof(m.body) = 'blob' AS "packed!: bool"
           FROM messages m WHERE m.message_id = ?1"#,
        msgid
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("message <{msgid}>")))?;
    let head = MessageHead {
        message_id: r.message_id,
        subject: r.subject,
        from_name: r.from_name,
        from_email: r.from_email,
        date: r.date,
        list: r.list,
        in_reply_to: r.in_reply_to,
        has_diff: r.has_diff,
        patch_prefix: r.patch_prefix,
        subject_tag: r.subject_tag,
        thread_root: r.thread_root,
    };
    let mut sites: Vec<LinkedSite> = Vec::new();
    for s in sqlx::query!(
        r#"SELECT s.id AS "id!: SiteId", c.slug, s.file, s.line, s.function, s.status AS "status: Status",
                  ms.how AS "how: LinkHow", ms.detail
           FROM message_sites ms JOIN sites s ON s.id = ms.site_id JOIN campaigns c ON c.id = s.campaign_id
           WHERE ms.message_id = ?1 ORDER BY s.file, s.line, ms.how"#,
        r.id
    )
    .fetch_all(db)
    .await?
    {
        let signoffs = if s.how == LinkHow::Patch {
            trailers_for_site(db, s.id)
                .await?
                .into_iter()
                .filter(|t| t.patch.as_deref() == Some(head.message_id.as_str()))
                .filter_map(|t| t.signoff_for)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        sites.push(LinkedSite {
            site_id: s.id,
            campaign: s.slug,
            file: s.file,
            line: s.line,
            function: s.function,
            status: s.status,
            how: s.how,
            detail: s.detail,
            signoffs,
        });
    }
    let thread = thread_messages(db, std::slice::from_ref(&head.thread_root)).await?;
    let ids: Vec<&str> = thread.iter().map(|m| m.message_id.as_str()).collect();
    let refs = refs_of(db, &ids).await?;
    let order = thread_order(&thread, &refs);
    let (mut index, mut depth, mut parent) = (0, 0, None);
    for (pos, (i, d)) in order.iter().enumerate() {
        if thread[*i].message_id == head.message_id {
            index = pos as u32 + 1;
            depth = *d;
        }
    }
    if depth > 0 {
        let present = |m: &str| refs.contains_key(m);
        parent = parent_of(
            &head.message_id,
            head.in_reply_to.as_deref(),
            r.refs.split_ascii_whitespace(),
            &present,
        )
        .map(str::to_owned);
    }
    Ok(MessageDetail {
        trailers: trailers_of(db, &head.message_id).await?,
        lore_url: head.lore_url(),
        references: r.refs.split_ascii_whitespace().map(str::to_owned).collect(),
        body: unpack_body(&r.body, r.packed),
        derived_id: r.derived_id,
        thread: ThreadPosition {
            root: head.thread_root.clone(),
            parent,
            depth,
            index,
            size: thread.len() as u32,
        },
        sites,
        head,
    })
}

/// An owner's reply to an open question, waiting for the lead's review.
#[derive(Debug, Clone, Serialize)]
pub struct PendingAnswer {
    pub note_id: NoteId,
    pub site_id: Option<SiteId>,
    pub question: String,
    pub subsystem: Option<String>,
    pub message_id: String,
    pub subject: String,
    pub from: String,
    pub date: Option<String>,
}

/// Answers pending review for questions on a site (`site`) or to a subsystem (`subsystem`).
pub async fn pending_answers(
    db: &SqlitePool,
    campaign: CampaignId,
    site: Option<SiteId>,
    subsystem: Option<SubsystemId>,
) -> Result<Vec<PendingAnswer>> {
    Ok(sqlx::query_as!(
        PendingAnswer,
        r#"SELECT n.id AS "note_id!: NoteId", n.site_id AS "site_id: SiteId", n.body AS question,
                  ss.name AS "subsystem?: String", m.message_id, m.subject,
                  CASE WHEN m.from_name = '' THEN m.from_email ELSE m.from_name || ' <' || m.from_email || '>' END
                      AS "from!: String",
                  m.date
           FROM question_answers qa JOIN notes n ON n.id = qa.note_id JOIN messages m ON m.id = qa.message_id
           LEFT JOIN subsystems ss ON ss.id = n.ask_subsystem_id
           WHERE n.campaign_id = ?1 AND n.question_state = 'open'
             AND (?2 IS NULL OR n.site_id = ?2) AND (?3 IS NULL OR n.ask_subsystem_id = ?3)
           ORDER BY m.date, m.id"#,
        campaign,
        site,
        subsystem
    )
    .fetch_all(db)
    .await?)
}

/// Number of stored messages (tests and summaries).
pub async fn count(db: &SqlitePool) -> Result<i64> {
    Ok(
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!: i64" FROM messages"#)
            .fetch_one(db)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_pack_when_it_pays_and_unpack_to_the_same_text() {
        assert_eq!(pack_body("short reply\n"), None);
        let text = "Reviewed-by: A <a@example.org>\n> quoted line of the patch\n".repeat(40);
        let z = pack_body(&text).expect("a long body is packed");
        assert!(z.len() * 4 < text.len(), "{} of {}", z.len(), text.len());
        assert_eq!(unpack_body(&z, true), text);
        assert_eq!(unpack_body(text.as_bytes(), false), text);
        // A damaged frame is a note, not a failure.
        assert!(unpack_body(&z[..z.len() / 2], true).starts_with("[treewide: the stored body"));
    }

    fn head(id: &str, irt: Option<&str>) -> MessageHead {
        MessageHead {
            message_id: id.into(),
            subject: String::new(),
            from_name: String::new(),
            from_email: String::new(),
            date: None,
            list: None,
            in_reply_to: irt.map(Into::into),
            has_diff: false,
            patch_prefix: None,
            subject_tag: None,
            thread_root: String::new(),
        }
    }

    #[test]
    fn thread_order_nests_replies_and_keeps_orphans() {
        let msgs = vec![
            head("a", None),
            head("c", Some("absent")),
            head("b", Some("a")),
            head("d", Some("b")),
        ];
        let mut refs = HashMap::new();
        refs.insert("c".to_string(), "a absent".to_string());
        let order = thread_order(&msgs, &refs);
        let ids: Vec<_> = order
            .iter()
            .map(|(i, d)| (msgs[*i].message_id.as_str(), *d))
            .collect();
        // c's parent is absent: its nearest present reference (a) is used.
        assert_eq!(ids, vec![("a", 0), ("c", 1), ("b", 1), ("d", 2)]);
    }

    #[test]
    fn cover_letters_by_prefix() {
        assert!(is_cover_prefix("PATCH v3 0/7"));
        assert!(is_cover_prefix("PATCH 00/12"));
        assert!(!is_cover_prefix("PATCH v3 1/7"));
    }

    #[test]
    fn lore_urls_encode_odd_ids() {
        assert_eq!(
            lore_url("YJQkqP19pj3C/75N@zeniv-ca.linux.org.uk"),
            "https://lore.kernel.org/r/YJQkqP19pj3C%2F75N@zeniv-ca.linux.org.uk"
        );
    }
}
