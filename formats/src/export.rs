//! Writing a campaign out: `treewide-audit/1` JSON (re-importable) and CSV.

use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroU32;

use treewide_core::db::Snapshot;
use treewide_core::ingest::RefInput;
use treewide_core::model::CampaignId;
use treewide_core::model::{DecidedBy, Person, SiteId, SourcePath};
use treewide_core::{
    campaigns, notes, refs, sites, subsystems, verdicts, SqliteConnection, SqlitePool,
};

use crate::audit::{
    CampaignDoc, CampaignNoteDoc, CommitId, ContextDoc, Date, Document, FormatTag, Ident, Invalid,
    NonEmpty, PersonDoc, RefDoc, SiteDoc, SiteNoteDoc, SpecName, SubsystemDoc, TreeDoc, ValidMatch,
    VerdictDoc,
};

/// Build the document for a campaign: importing it into an empty database gives the same
/// campaign back (statuses decided by verdict groups stay decided by them). Every value goes
/// through the check an import runs, so what export writes imports again.
pub async fn document(db: &SqlitePool, slug: &str) -> anyhow::Result<Document> {
    let mut snap = Snapshot::begin(db).await?;
    let (mut doc, c) = head(snap.conn(), slug).await?;
    let q = sites::SiteQuery {
        campaign: Some(c),
        ..Default::default()
    };
    let mut after = SiteId(0);
    loop {
        let page = sites::list_on(snap.conn(), &q, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let ids: Vec<SiteId> = page.iter().map(|s| s.id).collect();
        let mut facts = sites::export_facts(snap.conn(), &ids).await?;
        let (mut site_notes, mut site_refs) = site_extras(snap.conn(), &ids).await?;
        for s in page {
            let f = facts.remove(&s.id).unwrap_or_default();
            doc.sites
                .push(site_doc(s, f, &mut site_notes, &mut site_refs)?);
        }
    }
    // Sort like a tree listing so exports diff well.
    doc.sites
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    Ok(doc)
}

/// The notes and references of a page of sites, by site: read with the page, so that memory
/// holds a page's, not the campaign's.
async fn site_extras(
    conn: &mut SqliteConnection,
    ids: &[SiteId],
) -> anyhow::Result<(SiteNotes, SiteRefs)> {
    let mut site_notes = SiteNotes::new();
    for n in notes::for_sites(&mut *conn, ids).await? {
        if let Some(s) = n.site_id {
            site_notes.entry(s).or_default().push(n);
        }
    }
    let mut site_refs = SiteRefs::new();
    for (s, r) in refs::for_sites(&mut *conn, ids).await? {
        site_refs.entry(s).or_default().push(r);
    }
    Ok((site_notes, site_refs))
}

/// The document without its sites, and the campaign's id, read on `conn` (the export's read
/// transaction, so that the head and the sites are one state of the database).
async fn head(conn: &mut SqliteConnection, slug: &str) -> anyhow::Result<(Document, CampaignId)> {
    let c = campaigns::meta(&mut *conn, slug).await?;
    let vs = verdicts::list_in(&mut *conn, c.id).await?;
    let subsystems = subsystems::used_by(&mut *conn, c.id)
        .await?
        .into_iter()
        .map(|s| -> anyhow::Result<SubsystemDoc> {
            let people = |v: Vec<String>| -> anyhow::Result<Vec<PersonDoc>> {
                Ok(v.iter()
                    .map(|p| Person::parse(p).map(Into::into))
                    .collect::<Result<_, _>>()?)
            };
            Ok(SubsystemDoc {
                name: NonEmpty::new(&s.name)?,
                maintainers: people(s.maintainers)?,
                reviewers: people(s.reviewers)?,
                lists: s.lists,
                status: s.status,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let campaign_notes = notes::for_campaign(&mut *conn, c.id)
        .await?
        .into_iter()
        .map(|n| CampaignNoteDoc::new(note_doc(&n)?, n.about.as_deref()))
        .collect::<Result<_, _>>()?;
    let (spec, start) = treewide_core::campaigns::fix_spec(&mut *conn, c.id).await?;
    let id = c.id;
    let doc = Document {
        format: FormatTag,
        campaign: CampaignDoc {
            slug: treewide_core::model::Slug::parse(&c.slug)?,
            title: Some(c.title),
            description: (!c.description.is_empty()).then_some(c.description),
            rule: (!c.rule.is_empty()).then_some(c.rule),
            start: start.as_deref().map(Date::new).transpose()?,
            spec: spec.as_deref().and_then(SpecName::of_text),
        },
        tree: c
            .tree_describe
            .map(|d| -> anyhow::Result<TreeDoc> {
                Ok(TreeDoc {
                    describe: d,
                    commit: c.tree_commit.as_deref().map(CommitId::new).transpose()?,
                    url: c.tree_url,
                })
            })
            .transpose()?,
        subsystems,
        verdicts: (!vs.is_empty())
            .then(|| {
                vs.into_iter()
                    .map(|v| -> anyhow::Result<VerdictDoc> {
                        Ok(VerdictDoc {
                            label: Some(v.label),
                            matches: ValidMatch::new(v.matches)?,
                            status: v.status,
                            reason: (!v.reason.is_empty()).then_some(v.reason),
                            date: v.date.as_deref().map(Date::new).transpose()?,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?,
        notes: campaign_notes,
        refs: refs::for_campaign(&mut *conn, c.id)
            .await?
            .into_iter()
            .map(ref_doc)
            .collect::<Result<_, _>>()?,
        sites: Vec::new(),
    };
    Ok((doc, id))
}

/// Notes and references of a campaign's sites, by site.
type SiteNotes = HashMap<SiteId, Vec<notes::Note>>;
type SiteRefs = HashMap<SiteId, Vec<refs::Reference>>;

/// A stored site as the document writes it, with its notes and references (taken from the
/// maps).
fn site_doc(
    s: sites::Site,
    facts: sites::ExportFacts,
    site_notes: &mut SiteNotes,
    site_refs: &mut SiteRefs,
) -> anyhow::Result<SiteDoc> {
    let own = s.decided_by == DecidedBy::Site;
    Ok(SiteDoc {
        file: SourcePath::parse(&s.file)?,
        line: NonZeroU32::new(s.line as u32).unwrap_or(NonZeroU32::MIN),
        callee: Ident::new(&s.callee)?,
        column: s.column.and_then(|c| NonZeroU32::new(c as u32)),
        function: s.function.as_deref().map(Ident::new).transpose()?,
        code: (!s.code.is_empty()).then_some(s.code),
        iter_kind: Some(s.iter_kind),
        direction: s.direction,
        status: own.then_some(s.status),
        // A verdict's reason belongs to its group; any other reason is the site's own.
        reason: (s.decided_by != DecidedBy::Verdict && !s.reason.is_empty()).then_some(s.reason),
        // The site's own status's date (a verdict group's is the group's).
        date: facts
            .status_date
            .filter(|_| own)
            .as_deref()
            .map(Date::new)
            .transpose()?,
        subsystem: s.subsystem.as_deref().map(NonEmpty::new).transpose()?,
        context: facts.context.and_then(|(lines, start)| {
            Some(ContextDoc {
                start: NonZeroU32::new(start)?,
                lines,
            })
        }),
        notes: site_notes
            .remove(&s.id)
            .unwrap_or_default()
            .into_iter()
            .map(|n| note_doc(&n))
            .collect::<Result<_, _>>()?,
        refs: site_refs
            .remove(&s.id)
            .unwrap_or_default()
            .into_iter()
            .map(ref_doc)
            .collect::<Result<_, _>>()?,
    })
}

/// A stored note's author, text, time and question as the document writes them.
fn note_doc(n: &notes::Note) -> Result<SiteNoteDoc, Invalid> {
    SiteNoteDoc::new(&n.author, &n.body, Some(&n.created_at), n.ask.as_deref())
}

/// A stored reference as the document writes it (checked as an import checks it).
fn ref_doc(r: refs::Reference) -> Result<RefDoc, Invalid> {
    RefDoc::new(RefInput {
        kind: r.kind,
        target: r.target,
        title: r.title,
        author: r.author,
        date: r.date,
    })
}

/// Write the campaign as a `treewide-audit/1` document ([`JsonExport`], page by page).
pub async fn write_json(
    db: &SqlitePool,
    slug: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let mut e = JsonExport::start(db, slug).await?;
    while let Some(chunk) = e.next_chunk().await? {
        out.write_all(&chunk)?;
    }
    Ok(())
}

/// Sites read and written per chunk of a streamed export.
const CHUNK_SITES: u32 = 2000;

/// A campaign's `treewide-audit/1` document in chunks: the head (everything but the sites),
/// then the sites page by page in tree order, then the closing brackets. The bytes are those
/// of `audit::write(&document(…))`; memory holds one page of sites with their notes and
/// references, whatever the campaign's size. The head and the sites are read in one read
/// transaction, so a write during the export does not make it skip or repeat a site, or
/// name a subsystem or verdict group the sites do not match.
pub struct JsonExport {
    campaign: CampaignId,
    /// The head, until the first chunk takes it.
    head: Option<Vec<u8>>,
    snap: Snapshot,
    after: sites::TreeCursor,
    any: bool,
    done: bool,
}

impl JsonExport {
    /// Read the campaign's head and begin the read transaction; sites are read as chunks
    /// are asked for.
    pub async fn start(db: &SqlitePool, slug: &str) -> anyhow::Result<JsonExport> {
        let mut snap = Snapshot::begin(db).await?;
        let (doc, campaign) = head(snap.conn(), slug).await?;
        let mut head = serde_json::to_vec_pretty(&doc)?;
        // `"sites": []\n}` closes the pretty document without sites; keep up to `"sites": `.
        let closing = b"[]\n}";
        anyhow::ensure!(head.ends_with(closing), "unexpected document layout");
        head.truncate(head.len() - closing.len());
        head.push(b'[');
        Ok(JsonExport {
            campaign,
            head: Some(head),
            snap,
            after: sites::TreeCursor::start(),
            any: false,
            done: false,
        })
    }

    /// The next bytes of the document, `None` after the last.
    pub async fn next_chunk(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head));
        }
        if self.done {
            return Ok(None);
        }
        let page =
            sites::export_page(self.snap.conn(), self.campaign, &self.after, CHUNK_SITES).await?;
        let Some(last) = page.last() else {
            self.done = true;
            let tail: &[u8] = if self.any { b"\n  ]\n}\n" } else { b"]\n}\n" };
            return Ok(Some(tail.to_vec()));
        };
        self.after = sites::TreeCursor::after(last);
        let ids: Vec<SiteId> = page.iter().map(|s| s.id).collect();
        let mut facts = sites::export_facts(self.snap.conn(), &ids).await?;
        let (mut notes, mut refs) = site_extras(self.snap.conn(), &ids).await?;
        let mut out = Vec::with_capacity(page.len() * 400);
        for s in page {
            let f = facts.remove(&s.id).unwrap_or_default();
            let doc = site_doc(s, f, &mut notes, &mut refs)?;
            out.extend_from_slice(if self.any { b",\n    " } else { b"\n    " });
            self.any = true;
            // One site as serde_json pretty-prints it two levels deep: every line indented
            // by four more spaces (strings hold no raw newlines).
            let text = serde_json::to_vec_pretty(&doc)?;
            for (i, line) in text.split(|b| *b == b'\n').enumerate() {
                if i > 0 {
                    out.extend_from_slice(b"\n    ");
                }
                out.extend_from_slice(line);
            }
        }
        Ok(Some(out))
    }
}

/// A CSV cell a spreadsheet will show as text: one starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return would be read as a formula (OWASP's CSV injection), so it gets a leading
/// `'`, which spreadsheets hide.
pub fn inert_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Write the campaign's sites as CSV ([`CsvExport`], page by page).
pub async fn write_csv(
    db: &SqlitePool,
    q: &sites::SiteQuery,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let mut e = CsvExport::start(db, q.clone()).await?;
    while let Some(chunk) = e.next_chunk().await? {
        out.write_all(&chunk)?;
    }
    Ok(())
}

/// The CSV columns.
const CSV_HEAD: [&str; 14] = [
    "id",
    "campaign",
    "file",
    "line",
    "function",
    "callee",
    "iter_kind",
    "direction",
    "subsystem",
    "status",
    "decided_by",
    "verdict",
    "reason",
    "code",
];

/// The sites `q` selects as CSV in chunks (one row per site by id, decided status included,
/// every cell made inert with [`inert_cell`]), read in one read transaction.
pub struct CsvExport {
    q: sites::SiteQuery,
    snap: Snapshot,
    head: bool,
    after: SiteId,
    done: bool,
}

impl CsvExport {
    /// Begin the read transaction; sites are read as chunks are asked for.
    pub async fn start(db: &SqlitePool, q: sites::SiteQuery) -> anyhow::Result<CsvExport> {
        Ok(CsvExport {
            q,
            snap: Snapshot::begin(db).await?,
            head: true,
            after: SiteId(0),
            done: false,
        })
    }

    /// The next rows, `None` after the last.
    pub async fn next_chunk(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        if std::mem::take(&mut self.head) {
            w.write_record(CSV_HEAD)?;
            return Ok(Some(w.into_inner()?));
        }
        if self.done {
            return Ok(None);
        }
        let page = sites::list_on(self.snap.conn(), &self.q, self.after, CHUNK_SITES).await?;
        let Some(last) = page.last() else {
            self.done = true;
            return Ok(None);
        };
        self.after = last.id;
        for s in page {
            let row = [
                s.id.to_string(),
                s.campaign,
                s.file,
                s.line.to_string(),
                s.function.unwrap_or_default(),
                s.callee,
                s.iter_kind.to_string(),
                s.direction.unwrap_or_default(),
                s.subsystem.unwrap_or_default(),
                s.status.to_string(),
                format!("{:?}", s.decided_by).to_lowercase(),
                s.verdict.unwrap_or_default(),
                s.reason,
                s.code,
            ];
            w.write_record(row.iter().map(|c| inert_cell(c).into_owned()))?;
        }
        Ok(Some(w.into_inner()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_get_a_quote() {
        for (cell, out) in [
            (
                "=HYPERLINK(\"http://evil.example\")",
                "'=HYPERLINK(\"http://evil.example\")",
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            (
                "iov_iter_bvec(&iter, WRITE, bv, 1, len);",
                "iov_iter_bvec(&iter, WRITE, bv, 1, len);",
            ),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(inert_cell(cell), out, "{cell:?}");
        }
    }
}
