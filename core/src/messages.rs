//! List mail: messages stored once per Message-ID, threads, links to call sites, review
//! trailers and owners' answers to questions. Importers build a [`MailBatch`] and call
//! [`store`]; pages and the API read through the query functions below.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

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
    pub has_diff: bool,
    pub patch_prefix: Option<String>,
    pub subject_tag: Option<String>,
    /// SHA-256 (hex) of the raw message.
    pub sha256: String,
    pub trailers: Vec<TrailerSpec>,
    pub links: Vec<LinkSpec>,
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

/// Store `batch` in one transaction: new messages, thread roots, links (a new patch link
/// proposes a fix), trailers and owners' answers. A batch already stored changes nothing.
pub async fn store(pool: &SqlitePool, batch: &MailBatch) -> Result<MailSummary> {
    let at = now();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut summary = MailSummary {
        messages: batch.messages.len() as u64,
        ..Default::default()
    };
    let mut seen = HashSet::new();
    let msgs: Vec<&NewMessage> = batch
        .messages
        .iter()
        .filter(|m| seen.insert(m.message_id.as_str()))
        .collect();
    summary.duplicates = summary.messages - msgs.len() as u64;

    // 1. Messages, once per Message-ID.
    let mut new_ids: HashMap<String, i64> = HashMap::new();
    // Bound parameters, not a JSON row: bodies are most of the bytes, and SQLite would parse
    // and unescape them again. 16 parameters a row stay under SQLite's 32766.
    for chunk in msgs.chunks(1000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO messages (message_id, derived_id, subject, from_name, from_email, date, list,
                 in_reply_to, refs, body, has_diff, patch_prefix, subject_tag, thread_root, sha256, imported_at) ",
        );
        q.push_values(chunk, |mut b, m| {
            b.push_bind(m.message_id.as_str())
                .push_bind(m.derived_id)
                .push_bind(m.subject.as_str())
                .push_bind(m.from_name.as_str())
                .push_bind(m.from_email.as_str())
                .push_bind(m.date.as_deref())
                .push_bind(m.list.as_deref())
                .push_bind(m.in_reply_to.as_deref())
                .push_bind(m.references.join(" "))
                .push_bind(m.body.as_str())
                .push_bind(m.has_diff)
                .push_bind(m.patch_prefix.as_deref())
                .push_bind(m.subject_tag.as_deref())
                .push_bind(m.message_id.as_str())
                .push_bind(m.sha256.as_str())
                .push_bind(at.as_str());
        });
        q.push(" RETURNING id, message_id");
        let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
        for (id, msgid) in rows {
            new_ids.insert(msgid, id);
        }
    }
    summary.messages_new = new_ids.len() as u64;

    // 2. Every stored message's thread root (a new message may be the missing parent of
    //    older ones), and the graph trailers and answers need.
    let graph = Graph::load(&mut tx).await?;
    let roots = graph.roots();
    let changed: Vec<_> = graph
        .nodes
        .iter()
        .zip(&roots)
        .filter(|(n, r)| n.root != graph.nodes[**r].msgid)
        .map(|(n, r)| json!([n.id, graph.nodes[*r].msgid]))
        .collect();
    for chunk in changed.chunks(CHUNK * 4) {
        let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
        sqlx::query!(
            "UPDATE messages SET thread_root = j.value ->> 1 FROM json_each(?1) AS j WHERE messages.id = j.value ->> 0",
            rows
        )
        .execute(&mut *tx)
        .await?;
    }
    summary.threads = msgs
        .iter()
        .filter_map(|m| graph.index.get(m.message_id.as_str()).map(|i| roots[*i]))
        .collect::<HashSet<_>>()
        .len() as u64;

    // 3. Trailers of new messages.
    let mut rows = Vec::new();
    for m in &msgs {
        if let Some(id) = new_ids.get(&m.message_id) {
            for t in &m.trailers {
                rows.push(json!([id, t.kind.as_str(), t.name, t.email, t.raw]));
            }
        }
    }
    for chunk in rows.chunks(CHUNK * 4) {
        let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
        summary.trailers_new += sqlx::query!(
            "INSERT OR IGNORE INTO message_trailers (message_id, kind, name, email, raw)
             SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4
             FROM json_each(?1) AS j",
            rows
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    link_trailers(&mut tx, &graph).await?;

    // 4. Links, for every message of the batch (sites may have come since the last import).
    let mut per_campaign: HashMap<CampaignId, u64> = HashMap::new();
    let mut rows = Vec::new();
    let mut patches: HashMap<(i64, SiteId), (usize, usize)> = HashMap::new();
    let mut campaign_of: HashMap<SiteId, CampaignId> = HashMap::new();
    for (mi, m) in msgs.iter().enumerate() {
        let Some(&gi) = graph.index.get(m.message_id.as_str()) else {
            continue;
        };
        let mid = graph.nodes[gi].id;
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
        .fetch_all(&mut *tx)
        .await?
        {
            summary.links_new += 1;
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
    new_patches.sort();
    for (mi, li) in new_patches {
        let (m, l) = (msgs[mi], &msgs[mi].links[li]);
        if let Some(loc) = propose_fix(&mut tx, m, l, &batch.actor, &at).await? {
            summary.fix_proposed.push(loc);
        }
    }

    // 5. Owners' answers to open questions on sites the reply's thread is about.
    let batch_ids: Vec<i64> = msgs
        .iter()
        .filter_map(|m| graph.index.get(m.message_id.as_str()))
        .map(|i| graph.nodes[*i].id)
        .collect();
    for chunk in batch_ids.chunks(CHUNK * 4) {
        let ids = serde_json::to_string(chunk).map_err(|e| Error::Invalid {
            what: "message ids",
            value: e.to_string(),
            expected: "JSON",
        })?;
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
        .fetch_all(&mut *tx)
        .await?;
        for a in answers {
            let r = sqlx::query!(
                r#"SELECT n.campaign_id AS "campaign!: CampaignId", n.site_id AS "site: SiteId",
                          m.message_id, m.from_name, m.from_email
                   FROM notes n, messages m WHERE n.id = ?1 AND m.id = ?2"#,
                a.note_id,
                a.message_id
            )
            .fetch_one(&mut *tx)
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
                at,
                batch.actor,
                r.message_id,
                reason
            )
            .execute(&mut *tx)
            .await?;
            summary.answers_new += 1;
            *per_campaign.entry(r.campaign).or_default() += 0;
        }
    }

    // 6. Cursors and import records.
    for c in &batch.cursors {
        sqlx::query!(
            "INSERT INTO mail_cursors (inbox, epoch, last_commit, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (inbox, epoch) DO UPDATE SET last_commit = excluded.last_commit, updated_at = excluded.updated_at",
            c.inbox,
            c.epoch,
            c.last_commit,
            at
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut campaigns: Vec<_> = per_campaign.into_iter().collect();
    campaigns.sort();
    for (campaign, links) in campaigns {
        let (links, proposed) = (links as i64, summary.fix_proposed.len() as i64);
        let id = sqlx::query_scalar!(
            r#"INSERT INTO imports (campaign_id, source, kind, sha256, at, actor, sites_total, sites_new, sites_changed)
               VALUES (?1, ?2, 'mail', '', ?3, ?4, ?5, 0, ?6) RETURNING id AS "id!: ImportId""#,
            campaign,
            batch.source,
            at,
            batch.actor,
            links,
            proposed
        )
        .fetch_one(&mut *tx)
        .await?;
        let what = format!(
            "{} messages ({} new), {} links, {} fixes proposed, {} answers",
            summary.messages,
            summary.messages_new,
            links,
            summary.fix_proposed.len(),
            summary.answers_new
        );
        sqlx::query!(
            "INSERT INTO events (campaign_id, site_id, at, actor, source, source_ref, kind, old, new, reason)
             VALUES (?1, NULL, ?2, ?3, 'import', NULL, 'import', NULL, ?4, ?5)",
            campaign,
            at,
            batch.actor,
            batch.source,
            what
        )
        .execute(&mut *tx)
        .await?;
        summary.import_ids.push(id);
    }
    tx.commit().await?;
    Ok(summary)
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

/// One stored message as the thread graph needs it.
struct Node {
    id: i64,
    msgid: String,
    root: String,
    in_reply_to: Option<String>,
    refs: String,
    has_diff: bool,
    cover: bool,
}

/// Every stored message and who replies to whom.
struct Graph {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    /// Each node's parent, computed once (the cover-letter lookup below needs children).
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

impl Graph {
    async fn load(tx: &mut Transaction<'_, Sqlite>) -> Result<Graph> {
        let nodes: Vec<Node> = sqlx::query!(
            r#"SELECT id AS "id!: i64", message_id, thread_root, in_reply_to, refs,
                      has_diff AS "has_diff: bool", patch_prefix FROM messages ORDER BY id"#
        )
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| Node {
            cover: !r.has_diff && r.patch_prefix.as_deref().is_some_and(is_cover_prefix),
            id: r.id,
            msgid: r.message_id,
            root: r.thread_root,
            in_reply_to: r.in_reply_to,
            refs: r.refs,
            has_diff: r.has_diff,
        })
        .collect();
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.msgid.clone(), i))
            .collect();
        let mut g = Graph {
            nodes,
            index,
            parents: Vec::new(),
            children: Vec::new(),
        };
        g.parents = (0..g.nodes.len()).map(|i| g.compute_parent(i)).collect();
        g.children = vec![Vec::new(); g.nodes.len()];
        for (i, p) in g.parents.iter().enumerate() {
            if let Some(p) = p {
                g.children[*p].push(i);
            }
        }
        Ok(g)
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.parents[i]
    }

    fn compute_parent(&self, i: usize) -> Option<usize> {
        let n = &self.nodes[i];
        let present = |m: &str| self.index.contains_key(m);
        parent_of(
            &n.msgid,
            n.in_reply_to.as_deref(),
            n.refs.split_ascii_whitespace(),
            &present,
        )
        .and_then(|p| self.index.get(p).copied())
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

/// Point trailers that have no patch yet at theirs (their patch may have come now).
async fn link_trailers(tx: &mut Transaction<'_, Sqlite>, graph: &Graph) -> Result<()> {
    let open = sqlx::query!(
        r#"SELECT t.id AS "id!: i64", m.message_id FROM message_trailers t JOIN messages m ON m.id = t.message_id
           WHERE NOT EXISTS (SELECT 1 FROM trailer_patches p WHERE p.trailer_id = t.id)"#
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rows = Vec::new();
    for t in open {
        if let Some(&i) = graph.index.get(&t.message_id) {
            for p in graph.patches_for(i) {
                rows.push(json!([t.id, graph.nodes[p].id]));
            }
        }
    }
    for chunk in rows.chunks(CHUNK * 4) {
        let rows = serde_json::Value::Array(chunk.to_vec()).to_string();
        sqlx::query!(
            "INSERT OR IGNORE INTO trailer_patches (trailer_id, patch_id)
             SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?1) AS j",
            rows
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
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
                  m.derived_id AS "derived_id: bool", m.refs, m.body
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
        body: r.body,
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
