//! Reading mail back: message lists, a site's threads, trailers and sign-offs, one message's
//! detail, answers waiting for review, and what importers need to link and resume.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::SqlitePool;

use super::thread::{parent_of, thread_order};
use super::{lore_url, unpack_body, LinkCandidate, LinkHow, TrailerKind};
use crate::db::json_list;
use crate::model::{CampaignId, NoteId, SiteId, Status, SubsystemId};
use crate::{Error, Result};

/// The sites mail may link to: one campaign's, or every campaign's.
pub async fn link_candidates(
    db: &SqlitePool,
    campaign: Option<CampaignId>,
) -> Result<Vec<LinkCandidate>> {
    Ok(sqlx::query_as!(
        LinkCandidate,
        r#"SELECT id AS "id!: SiteId", campaign_id AS "campaign!: CampaignId", file, line, function, callee,
                  code
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
    let roots = json_list(roots)?;
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

async fn refs_of(db: &SqlitePool, ids: &[&str]) -> Result<HashMap<String, String>> {
    let ids = json_list(ids)?;
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

/// Which of a site's threads to read: strong ones (a patch, a `file:line`) a page at a time,
/// weak ones (only naming a function or callee) up to a few, behind a count.
#[derive(Debug, Clone, Copy)]
pub struct ThreadPage {
    /// Strong threads to skip (newest first).
    pub offset: u32,
    /// Strong threads to read.
    pub limit: u32,
    /// Weak threads to read.
    pub weak_limit: u32,
}

impl Default for ThreadPage {
    fn default() -> ThreadPage {
        ThreadPage {
            offset: 0,
            limit: 20,
            weak_limit: 10,
        }
    }
}

/// Whose mail: one site's, or that of a subsystem's sites in one campaign.
#[derive(Debug, Clone, Copy)]
pub enum MailScope {
    Site(SiteId),
    Subsystem(CampaignId, SubsystemId),
}

/// Mail as threads: the linked messages and their replies, strong threads first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkedThreads {
    /// The page's strong threads, newest activity first, each in thread order.
    pub strong: Vec<ThreadEntry>,
    /// Strong threads in all.
    pub strong_threads: usize,
    /// The first weak threads.
    pub weak: Vec<ThreadEntry>,
    /// Weak threads in all.
    pub weak_threads: usize,
    /// Messages of the weak threads linked themselves (not replies), in all.
    pub weak_linked: usize,
}

/// The messages about a site or subsystem as threads (see [`LinkedThreads`]). What it reads
/// is bounded by the page, not by how many messages name the sites: a site named by hundreds
/// of messages costs one index scan of its links and the page's threads.
pub async fn threads_for(
    db: &SqlitePool,
    scope: MailScope,
    page: ThreadPage,
) -> Result<LinkedThreads> {
    let (site, campaign, subsystem) = match scope {
        MailScope::Site(s) => (Some(s), None, None),
        MailScope::Subsystem(c, s) => (None, Some(c), Some(s)),
    };
    let links = sqlx::query!(
        r#"SELECT m.message_id, m.thread_root, m.date, ms.how AS "how: LinkHow" FROM message_sites ms
           JOIN messages m ON m.id = ms.message_id
           WHERE ms.site_id = ?1
           UNION ALL
           SELECT m.message_id, m.thread_root, m.date, ms.how AS "how: LinkHow" FROM sites s
           JOIN message_sites ms ON ms.site_id = s.id JOIN messages m ON m.id = ms.message_id
           WHERE s.campaign_id = ?2 AND s.subsystem_id = ?3"#,
        site,
        campaign,
        subsystem
    )
    .fetch_all(db)
    .await?;
    // Per thread: strong or not, its latest linked message's date, and the links.
    struct Thread {
        root: String,
        strong: bool,
        latest: Option<String>,
        linked: usize,
    }
    let mut how: HashMap<String, Vec<LinkHow>> = HashMap::new();
    let mut threads: HashMap<String, Thread> = HashMap::new();
    for l in links {
        let t = threads
            .entry(l.thread_root.clone())
            .or_insert_with(|| Thread {
                root: l.thread_root,
                strong: false,
                latest: None,
                linked: 0,
            });
        t.strong |= l.how.is_strong();
        if l.date > t.latest {
            t.latest.clone_from(&l.date);
        }
        let hows = how.entry(l.message_id).or_default();
        if hows.is_empty() {
            t.linked += 1;
        }
        if !hows.contains(&l.how) {
            hows.push(l.how);
        }
    }
    let mut threads: Vec<Thread> = threads.into_values().collect();
    threads.sort_by(|a, b| b.latest.cmp(&a.latest).then_with(|| a.root.cmp(&b.root)));
    let (strong, weak): (Vec<Thread>, Vec<Thread>) = threads.into_iter().partition(|t| t.strong);
    let page_roots: Vec<String> = strong
        .iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .map(|t| t.root.clone())
        .collect();
    let weak_roots: Vec<String> = weak
        .iter()
        .take(page.weak_limit as usize)
        .map(|t| t.root.clone())
        .collect();
    Ok(LinkedThreads {
        strong: linked_threads(db, &page_roots, &how).await?,
        strong_threads: strong.len(),
        weak: linked_threads(db, &weak_roots, &how).await?,
        weak_threads: weak.len(),
        weak_linked: weak.iter().map(|t| t.linked).sum(),
    })
}

/// The threads `roots` (in that order), each the linked messages (`how`) and their replies.
async fn linked_threads(
    db: &SqlitePool,
    roots: &[String],
    how: &HashMap<String, Vec<LinkHow>>,
) -> Result<Vec<ThreadEntry>> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    let all = thread_messages(db, roots).await?;
    let ids: Vec<&str> = all.iter().map(|m| m.message_id.as_str()).collect();
    let refs = refs_of(db, &ids).await?;
    let order = thread_order(&all, &refs);
    // Keep the linked messages and everything below them, thread by thread.
    let mut per_root: HashMap<&str, Vec<ThreadEntry>> = HashMap::new();
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
            per_root
                .entry(m.thread_root.as_str())
                .or_default()
                .push(ThreadEntry {
                    head: m.clone(),
                    depth,
                    links: linked.cloned().unwrap_or_default(),
                });
        }
    }
    Ok(roots
        .iter()
        .flat_map(|r| per_root.remove(r.as_str()).unwrap_or_default())
        .collect())
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
    /// The subsystem it is a sign-off for: the person is an M:/R: of it, and of a section
    /// whose sign-off the site's campaign takes (`routing::signs_for`).
    pub signoff_for: Option<String>,
}

/// Trailers on the patches proposed for a site, with whether each is a sign-off of one of
/// the site's subsystems whose sign-off its campaign takes.
pub async fn trailers_for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Trailer>> {
    let mut trailers = sqlx::query_as!(
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
    .await?;
    // A maintainer of a wider section (VFS for a file under fs/) whose sign-off the campaign
    // does not take gives a review, not a sign-off.
    for t in &mut trailers {
        if t.signoff_for.is_some() && !crate::routing::signs_for(db, site, &t.email).await? {
            t.signoff_for = None;
        }
    }
    Ok(trailers)
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
    /// Every stored version of this patch (itself included), oldest first: the last one is
    /// current, the others are superseded. Empty for messages that are no patch mail.
    pub versions: Vec<super::PatchVersion>,
    /// The "Applied …, thanks!" note the message carries.
    pub applied: Option<super::revision::AppliedNote>,
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
                  m.derived_id AS "derived_id: bool", m.refs, m.applied,
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
        versions: super::fixes::versions(db, &head.message_id).await?,
        applied: r
            .applied
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok()),
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
