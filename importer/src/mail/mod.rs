//! List mail into treewide: mbox files, public-inbox v2 epochs and lore threads, parsed
//! with mail-parser, linked to call sites, stored with [`treewide_core::mail::MailWriter`].
//!
//! Parsing ([`parse_message`], [`mbox::split`], [`link`], [`trailers`]) is pure; [`import`]
//! reads a source, parses every message (a message that cannot be parsed is reported with
//! its position and skipped), links them to the sites in the database and stores them a
//! chunk a transaction. Reading, parsing and storing overlap, a chunk at a time (see
//! `docs/mail.md`, "How an import runs").

pub mod link;
pub mod lore;
pub mod mbox;
pub mod patch;
pub mod public_inbox;
pub mod trailers;

use std::fmt;
use std::path::PathBuf;
use std::sync::LazyLock;

use anyhow::Context;
use bytes::Bytes;
use mail_parser::{HeaderName, HeaderValue, MessageParser};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use treewide_core::mail::{self as core_mail, MailSummary, NewMessage};
use treewide_core::{campaigns, model::parse_time};

use link::SiteIndex;

/// Stored bodies are cut here (a 10 MB message is data, not a reason to fill the database).
pub const MAX_BODY: usize = 1 << 20;

/// Where mail comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An mbox file, plain or gzip.
    Mbox(PathBuf),
    /// A public-inbox v2 directory (`git/N.git`), or one epoch's bare repository.
    PublicInbox(PathBuf),
    /// A thread fetched from lore: `{base}/all/{msgid}/t.mbox.gz`.
    Lore { msgid: String, base: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Mbox(p) | Source::PublicInbox(p) => write!(f, "{}", p.display()),
            Source::Lore { msgid, base } => f.write_str(&lore::thread_url(base, msgid)),
        }
    }
}

/// A message that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// `line 120` of an mbox, `epoch 0 commit 1a2b…` of an inbox.
    pub position: String,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)
    }
}

/// A raw message and where it was found.
#[derive(Debug, Clone)]
pub struct Raw {
    pub position: String,
    /// The message's bytes (often a slice of a whole mbox held once in memory).
    pub data: Bytes,
}

impl Raw {
    /// The `n`th message (1-based) of an mbox, positioned by message and line.
    fn from_mbox(n: usize, m: mbox::RawMessage) -> Raw {
        Raw {
            position: format!("message {n} at line {}", m.line),
            data: m.data,
        }
    }
}

/// What a source gave: raw messages, the ones it could not even read, and the cursors to
/// store with them.
#[derive(Debug, Default)]
pub struct RawMail {
    pub messages: Vec<Raw>,
    pub skipped: Vec<Skipped>,
    pub cursors: Vec<core_mail::Cursor>,
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub source: String,
    pub summary: MailSummary,
    pub skipped: Vec<Skipped>,
}

/// Import options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Link only to this campaign's sites (default: every campaign's).
    pub campaign: Option<String>,
    /// Who imports, for history.
    pub actor: String,
}

/// Read, parse, link and store everything `source` holds.
pub async fn import(db: &SqlitePool, source: &Source, opts: &Options) -> anyhow::Result<Report> {
    let name = source.to_string();
    let started = std::time::Instant::now();
    let campaign = match &opts.campaign {
        Some(slug) => Some(
            campaigns::get(db, slug)
                .await
                .with_context(|| format!("campaign {slug:?}"))?
                .id,
        ),
        None => None,
    };
    let opened = match source {
        Source::Mbox(path) => Opened::Mbox(mbox::open(path)?),
        Source::PublicInbox(dir) => {
            let epochs = public_inbox::epochs(dir)?;
            // Cursors belong to epochs (their root commit); older ones to the inbox's path.
            let legacy = match public_inbox::legacy_key(dir) {
                Some(k) => core_mail::cursors(db, &k).await?,
                None => Default::default(),
            };
            let mut done = std::collections::HashMap::new();
            for e in &epochs {
                let last = core_mail::cursors(db, &e.key)
                    .await?
                    .remove(&e.number)
                    .or_else(|| legacy.get(&e.number).cloned());
                if let Some(last) = last {
                    done.insert(e.number, last);
                }
            }
            // The cursors move chunk by chunk as the reader goes (`RawStream::cursors`).
            Opened::Inbox(public_inbox::open(epochs, &done)?)
        }
        Source::Lore { msgid, base } => {
            let bytes = std::io::Cursor::new(lore::fetch_thread(base, msgid)?);
            Opened::Mbox(mbox::reader(bytes)?)
        }
    };
    let sites = site_index(db, campaign).await?;
    let mut conn = db.acquire().await?;
    let cache = treewide_core::db::ImportCache::grow(&mut conn).await?;
    let stored = parse_and_store(&mut conn, &name, &opts.actor, opened, sites).await;
    cache.restore(&mut conn).await?;
    let (summary, skipped) = stored.with_context(|| format!("cannot store the mail of {name}"))?;
    tracing::debug!(elapsed = ?started.elapsed(), "mail stored");
    Ok(Report {
        source: name,
        summary,
        skipped,
    })
}

/// A source opened for reading (on the reading thread, see [`Opened::start`]).
enum Opened {
    Inbox(public_inbox::Inbox),
    Mbox(mbox::MboxReader<Box<dyn std::io::Read + Send>>),
}

impl Opened {
    fn start(self) -> anyhow::Result<RawStream> {
        Ok(match self {
            Opened::Inbox(inbox) => RawStream::Inbox(inbox.reader()?),
            Opened::Mbox(reader) => RawStream::Mbox(reader, 0),
        })
    }
}

/// Raw messages as a source gives them, read as they are asked for.
enum RawStream {
    Inbox(public_inbox::InboxReader),
    /// With the number of messages handed out so far.
    Mbox(mbox::MboxReader<Box<dyn std::io::Read + Send>>, usize),
}

impl RawStream {
    /// The next message or a message the source could not give (with its position); `None`
    /// at the end.
    fn next(&mut self) -> std::io::Result<Option<Result<Raw, Skipped>>> {
        Ok(match self {
            RawStream::Inbox(inbox) => inbox.next_message(),
            RawStream::Mbox(reader, n) => reader.next_message()?.map(|m| {
                *n += 1;
                Ok(Raw::from_mbox(*n, m))
            }),
        })
    }

    /// Where the source stands after the messages read so far (public-inbox epochs; an mbox
    /// has no cursor: a second import of it finds its messages stored and adds nothing).
    fn cursors(&mut self) -> Vec<core_mail::Cursor> {
        match self {
            RawStream::Inbox(inbox) => inbox.take_cursors(),
            RawStream::Mbox(..) => Vec::new(),
        }
    }
}

/// Messages parsed and handed to the store at a time (or fewer, see [`CHUNK_BYTES`]), and
/// stored in one transaction. The first chunk is smaller, so storing starts early. A chunk
/// is what an import holds in memory at each stage (read, parse, store: a few chunks in all)
/// and what it holds the write lock for (see [`WRITER_GAP`]).
pub const CHUNK_MESSAGES: usize = 512;
const FIRST_CHUNK_MESSAGES: usize = 256;
/// Raw bytes after which a chunk is handed on even when it has fewer messages.
pub const CHUNK_BYTES: usize = 4 << 20;
/// How long the store leaves the database to other writers, at least, once it has held the
/// write lock for [`GAP_EVERY`] (over one or more chunks) since the last gap; an eighth of
/// that time when longer. SQLite does not queue writers: one waiting on the lock (a note, a
/// login) sleeps and tries again (every 100 ms once it has waited a while), and an importer
/// that began its next transaction the moment it committed would take the lock back before
/// it woke up. A gap after every chunk cost small chunks a third of their time (50k real
/// messages: 4.8 s, 1.1 s of it in gaps).
const WRITER_GAP: std::time::Duration = std::time::Duration::from_millis(10);
/// Lock time after which the store leaves a gap (see [`WRITER_GAP`]): a waiting write waits
/// about this long, not the whole import.
const GAP_EVERY: std::time::Duration = std::time::Duration::from_millis(80);

/// Raw messages and the ones the source could not give, in source order, and where the
/// source stands after them.
struct RawChunk {
    raw: Vec<Raw>,
    unread: Vec<Skipped>,
    cursors: Vec<core_mail::Cursor>,
}

/// Parse `opened` chunk by chunk on every core while the previous chunk is stored, a
/// transaction a chunk. Returns what was stored and the messages skipped, in the source's
/// order.
async fn parse_and_store(
    conn: &mut sqlx::SqliteConnection,
    source: &str,
    actor: &str,
    opened: Opened,
    sites: SiteIndex,
) -> anyhow::Result<(MailSummary, Vec<Skipped>)> {
    let name = source.to_owned();
    // Three stages, each on its own thread(s): read and split, parse (every core), store.
    // A chunk waits between stages while the next is worked on: a few chunks in memory.
    let (raw_send, raw_chunks) = std::sync::mpsc::sync_channel(1);
    let (send, mut chunks) = tokio::sync::mpsc::channel::<ParsedChunk>(1);
    let reader = std::thread::spawn(move || read_chunks(opened, &name, &raw_send));
    let parser = tokio::task::spawn_blocking(move || {
        let mut skipped = Vec::new();
        for chunk in raw_chunks {
            let RawChunk {
                raw,
                unread,
                cursors,
            } = chunk?;
            skipped.extend(unread);
            let (parsed, bad) = parse_all(raw, &sites);
            skipped.extend(bad);
            if send.blocking_send((parsed, cursors)).is_err() {
                break; // the store failed; its error is the one to report
            }
        }
        // The channel is closed (dropped with the loop): a reader that ended early panicked,
        // and what it gave is not the whole source.
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the mail reader stopped"))?;
        anyhow::Ok(skipped)
    });
    let mut writer = core_mail::MailWriter::begin(conn, source, actor).await?;
    let (mut waited, mut storing) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    // Lock time since the last gap.
    let mut held_since_gap = std::time::Duration::ZERO;
    loop {
        let t = std::time::Instant::now();
        let Some((chunk, cursors)) = chunks.recv().await else {
            break;
        };
        waited += t.elapsed();
        let t = std::time::Instant::now();
        writer.add(&chunk, &cursors).await?;
        drop(chunk);
        let held = t.elapsed();
        storing += held;
        held_since_gap += held;
        // Other writers' turn (see WRITER_GAP); longer after a longer hold.
        if held_since_gap >= GAP_EVERY {
            tokio::time::sleep(WRITER_GAP.max(held_since_gap / 8)).await;
            held_since_gap = std::time::Duration::ZERO;
        }
    }
    let skipped = parser.await.context("the mail parser stopped")??;
    let t = std::time::Instant::now();
    let summary = writer.finish().await?;
    tracing::debug!(?waited, ?storing, finishing = ?t.elapsed(), "mail chunks stored");
    Ok((summary, skipped))
}

/// Parsed messages and where the source stands after them.
type ParsedChunk = (Vec<NewMessage>, Vec<core_mail::Cursor>);

/// The reading stage: read `opened` and send it on in chunks (or the error that stopped it).
fn read_chunks(
    opened: Opened,
    name: &str,
    send: &std::sync::mpsc::SyncSender<anyhow::Result<RawChunk>>,
) {
    let mut raw = match opened.start() {
        Ok(raw) => raw,
        Err(e) => {
            let _ = send.send(Err(e));
            return;
        }
    };
    let mut limit = FIRST_CHUNK_MESSAGES;
    let (mut chunk, mut bad, mut bytes) = (Vec::new(), Vec::new(), 0);
    loop {
        let item = match raw.next() {
            Ok(item) => item,
            Err(e) => {
                let _ = send.send(Err(
                    anyhow::Error::new(e).context(format!("cannot read {name}"))
                ));
                return;
            }
        };
        let done = item.is_none();
        match item {
            Some(Ok(r)) => {
                bytes += r.data.len();
                chunk.push(r);
            }
            Some(Err(s)) => bad.push(s),
            None => {}
        }
        if done || chunk.len() >= limit || bytes >= CHUNK_BYTES {
            let full = RawChunk {
                raw: std::mem::take(&mut chunk),
                unread: std::mem::take(&mut bad),
                cursors: raw.cursors(),
            };
            let empty = full.raw.is_empty() && full.unread.is_empty() && full.cursors.is_empty();
            if !empty && send.send(Ok(full)).is_err() {
                return; // parsing stopped
            }
            (bytes, limit) = (0, CHUNK_MESSAGES);
        }
        if done {
            return;
        }
    }
}

/// Split an mbox (gzip or not) into raw messages.
pub fn read_mbox(bytes: Vec<u8>, name: &str) -> anyhow::Result<RawMail> {
    let bytes = mbox::maybe_gunzip(bytes, name)?;
    Ok(RawMail {
        messages: mbox::split(Bytes::from(bytes))
            .into_iter()
            .enumerate()
            .map(|(i, m)| Raw::from_mbox(i + 1, m))
            .collect(),
        ..Default::default()
    })
}

/// The sites mail may link to, with each campaign's fix rule: from the spec stored with the
/// campaign (the one it was scanned with, or the built-in an auditor file names), else the
/// built-in spec of the same slug; the campaign's stored start date wins over the spec's. A
/// campaign with none of these gets links but no automatic fix.
pub async fn site_index(
    db: &SqlitePool,
    campaign: Option<treewide_core::model::CampaignId>,
) -> anyhow::Result<SiteIndex> {
    let index = SiteIndex::new(core_mail::link_candidates(db, campaign).await?);
    let mut rules = std::collections::HashMap::new();
    let wanted = index.campaigns();
    for c in campaigns::list(db).await? {
        if !wanted.contains(&c.id) {
            continue;
        }
        let (stored, start) = campaigns::fix_spec(db, c.id).await?;
        let builtin = treewide_formats::spec::BUILTIN
            .iter()
            .any(|(b, _)| *b == c.slug);
        let mut spec = match stored {
            Some(text) => {
                treewide_formats::spec::Spec::parse(&format!("campaign {}", c.slug), &text)?
            }
            None if builtin => treewide_formats::spec::Spec::load(&c.slug)?,
            None => continue,
        };
        if start.is_some() {
            spec.campaign.start = start;
        }
        if let Some(rule) = patch::FixRule::new(spec)? {
            rules.insert(c.id, rule);
        }
    }
    Ok(index.with_rules(rules))
}

/// Parse and link every message (in parallel); the ones that cannot be parsed are skipped.
pub fn parse_all(raw: Vec<Raw>, sites: &SiteIndex) -> (Vec<NewMessage>, Vec<Skipped>) {
    let results: Vec<Result<NewMessage, Skipped>> = raw
        .into_par_iter()
        .map(|r| {
            // A parser bug on one hostile message must not end the import.
            std::panic::catch_unwind(|| parse_uncut(&r.data))
                .unwrap_or_else(|_| Err("the mail parser failed on this message".into()))
                .map(|(mut m, diff)| {
                    // Links read the whole text; the stored body is cut afterwards, in place.
                    m.links = sites.links(&m.body, &diff, m.date.as_deref());
                    m.body = cap(std::mem::take(&mut m.body));
                    m.body_zstd = core_mail::pack_body(&m.body);
                    m
                })
                .map_err(|reason| Skipped {
                    position: r.position,
                    reason,
                })
        })
        .collect();
    let mut ok = Vec::with_capacity(results.len());
    let mut bad = Vec::new();
    for r in results {
        match r {
            Ok(m) => ok.push(m),
            Err(s) => bad.push(s),
        }
    }
    (ok, bad)
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    v.as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|s| clean_id(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// A Message-ID without angle brackets or whitespace.
pub fn clean_id(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

/// The stable Message-ID of a message that has none: a hash of its bytes.
pub fn derived_id(raw: &[u8]) -> String {
    let trimmed = raw.trim_ascii_end();
    let h = hex::encode(Sha256::digest(trimmed));
    format!("{}@derived.treewide.invalid", &h[..32])
}

fn cap(mut s: String) -> String {
    if s.len() > MAX_BODY {
        let total = s.len();
        let mut cut = MAX_BODY;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(&format!(
            "\n[… cut by treewide: the body had {total} bytes]\n"
        ));
    }
    s
}

/// Parse one raw message: its stored form (without links), its full text and its diff.
pub fn parse_message(raw: &[u8]) -> Result<(NewMessage, String, Vec<link::FileDiff>), String> {
    let (mut msg, diff) = parse_uncut(raw)?;
    let text = msg.body.clone();
    msg.body = cap(std::mem::take(&mut msg.body));
    Ok((msg, text, diff))
}

/// mail-parser told to parse only the headers treewide reads (and the MIME headers bodies
/// need); the rest are skipped, not parsed. vger mail carries a dozen `Received:` lines and
/// long `Cc:` lists: parsing those was a tenth of the import's time, for nothing.
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_mime_headers()
        .with_message_ids()
        .header_date(HeaderName::Date)
        .header_text(HeaderName::Subject)
        .header_address(HeaderName::From)
        .default_header_ignore()
});

/// [`parse_message`] with the whole text as the body (not cut yet, no copy made).
fn parse_uncut(raw: &[u8]) -> Result<(NewMessage, Vec<link::FileDiff>), String> {
    let m = PARSER
        .parse(raw)
        .ok_or_else(|| "not a mail message (mail-parser found nothing)".to_owned())?;
    if m.headers().is_empty() {
        return Err("no mail headers".into());
    }
    if m.from().is_none() && m.subject().is_none() && m.message_id().is_none() {
        return Err("none of From:, Subject: or Message-ID: present".into());
    }
    let sha256 = hex::encode(Sha256::digest(raw));
    let (message_id, derived) = match m.message_id().map(clean_id).filter(|s| !s.is_empty()) {
        Some(id) => (id, false),
        None => (derived_id(raw), true),
    };
    let subject = m
        .subject()
        .unwrap_or("")
        .replace(['\r', '\n'], " ")
        .trim()
        .to_owned();
    let (from_name, from_email) = m
        .from()
        .and_then(|a| a.first())
        .map(|a| {
            (
                a.name().unwrap_or("").trim().to_owned(),
                a.address().unwrap_or("").trim().to_ascii_lowercase(),
            )
        })
        .unwrap_or_default();
    let date = m
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| parse_time(&d.to_rfc3339()).ok());
    let list = m
        .header_raw("List-Id")
        .map(|v| {
            let v = v.trim();
            match (v.rfind('<'), v.rfind('>')) {
                (Some(a), Some(b)) if a < b => v[a + 1..b].trim().to_owned(),
                _ => v.to_owned(),
            }
        })
        .filter(|s| !s.is_empty());
    let in_reply_to = ids(m.in_reply_to()).into_iter().next();
    let references = ids(m.references());
    let mut text = String::new();
    for i in 0..m.text_body_count() {
        if let Some(t) = m.body_text(i) {
            text.push_str(&t);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    // Patches sent as text attachments (text/x-patch) are still the sender's text.
    for a in m.attachments() {
        if a.is_text() && !a.is_text_html() {
            if let Some(t) = a.text_contents() {
                text.push_str(t);
                text.push('\n');
            }
        }
    }
    let diff = link::parse_diff(&text);
    let (patch_prefix, subject_tag) = trailers::subject_parts(&subject);
    let (revision_key, change_id, applied) =
        core_mail::revision::derived_columns(&from_email, &subject, in_reply_to.as_deref(), &text);
    let msg = NewMessage {
        revision_key,
        change_id,
        applied,
        message_id,
        derived_id: derived,
        from_name,
        from_email,
        date,
        list,
        in_reply_to,
        references,
        has_diff: !diff.is_empty(),
        patch_prefix,
        subject_tag,
        sha256,
        trailers: trailers::trailers(&text),
        links: Vec::new(),
        body: text,
        body_zstd: None,
        subject,
    };
    Ok((msg, diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_message_id_is_derived_stably() {
        let raw = b"From: A <a@example.org>\nSubject: hi\n\nbody\n";
        let (a, _, _) = parse_message(raw).unwrap();
        let (b, _, _) = parse_message(b"From: A <a@example.org>\nSubject: hi\n\nbody\n\n").unwrap();
        assert!(a.derived_id);
        assert_eq!(a.message_id, b.message_id);
        assert!(a.message_id.ends_with("@derived.treewide.invalid"));
    }

    #[test]
    fn encoded_headers_and_quoted_printable() {
        let raw = "From: =?iso-8859-1?q?J=F6rg?= <J@Example.org>\r\nSubject: =?utf-8?b?W1BBVENIXSBvdmw6IGZpeCDDpA==?=\r\n\
                   Message-ID: <x@y>\r\nIn-Reply-To: <p@y>\r\nReferences: <r@y> <p@y>\r\nDate: Tue, 20 Sep 2022 12:00:00 +0200\r\n\
                   Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n";
        let (m, text, _) = parse_message(raw.as_bytes()).unwrap();
        assert_eq!(m.from_name, "Jörg");
        assert_eq!(m.from_email, "j@example.org");
        assert_eq!(m.subject, "[PATCH] ovl: fix ä");
        assert_eq!(m.patch_prefix.as_deref(), Some("PATCH"));
        assert_eq!(m.subject_tag.as_deref(), Some("ovl"));
        assert_eq!(m.in_reply_to.as_deref(), Some("p@y"));
        assert_eq!(m.references, vec!["r@y", "p@y"]);
        assert_eq!(m.date.as_deref(), Some("2022-09-20T10:00:00Z"));
        assert!(text.contains("Grüße"));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_message(b"").is_err());
        assert!(parse_message(b"\x00\x01\x02 no headers here").is_err());
    }
}
