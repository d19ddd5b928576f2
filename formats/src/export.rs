//! Writing a campaign out: `treewide-audit/1` JSON (re-importable) and CSV.

use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroU32;

use treewide_core::ingest::RefInput;
use treewide_core::model::{DecidedBy, Person, SiteId, SourcePath};
use treewide_core::{campaigns, notes, refs, sites, subsystems, verdicts, SqlitePool};

use crate::audit::{
    self, CampaignDoc, CampaignNoteDoc, CommitId, Date, Document, FormatTag, Ident, Invalid,
    NonEmpty, PersonDoc, RefDoc, SiteDoc, SiteNoteDoc, SpecName, SubsystemDoc, TreeDoc, ValidMatch,
    VerdictDoc,
};

/// Build the document for a campaign: importing it into an empty database gives the same
/// campaign back (statuses decided by verdict groups stay decided by them). Every value goes
/// through the check an import runs, so what export writes imports again.
pub async fn document(db: &SqlitePool, slug: &str) -> anyhow::Result<Document> {
    let c = campaigns::get(db, slug).await?;
    let vs = verdicts::list_in(db, c.id).await?;
    let mut site_notes: HashMap<SiteId, Vec<notes::Note>> = HashMap::new();
    for n in notes::all_site_notes(db, c.id).await? {
        if let Some(s) = n.site_id {
            site_notes.entry(s).or_default().push(n);
        }
    }
    let mut site_refs: HashMap<SiteId, Vec<refs::Reference>> = HashMap::new();
    for (s, r) in refs::all_site_refs(db, c.id).await? {
        site_refs.entry(s).or_default().push(r);
    }
    let mut out_sites = Vec::new();
    let mut after = SiteId(0);
    let q = sites::SiteQuery {
        campaign: Some(c.id),
        ..Default::default()
    };
    loop {
        let page = sites::list(db, &q, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in page {
            let own = s.decided_by == DecidedBy::Site;
            out_sites.push(SiteDoc {
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
                reason: (s.decided_by != DecidedBy::Verdict && !s.reason.is_empty())
                    .then_some(s.reason),
                subsystem: s.subsystem.as_deref().map(NonEmpty::new).transpose()?,
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
            });
        }
    }
    // Sort like a tree listing so exports diff well.
    out_sites.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    let subsystems = subsystems::used_by(db, c.id)
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
    let campaign_notes = notes::for_campaign(db, c.id)
        .await?
        .into_iter()
        .map(|n| CampaignNoteDoc::new(note_doc(&n)?, n.about.as_deref()))
        .collect::<Result<_, _>>()?;
    let (spec, start) = treewide_core::campaigns::fix_spec(db, c.id).await?;
    Ok(Document {
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
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?,
        notes: campaign_notes,
        refs: refs::for_campaign(db, c.id)
            .await?
            .into_iter()
            .map(ref_doc)
            .collect::<Result<_, _>>()?,
        sites: out_sites,
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

/// Write the campaign as a `treewide-audit/1` document.
pub async fn write_json(
    db: &SqlitePool,
    slug: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    audit::write(&document(db, slug).await?, out)
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

/// Write the campaign's sites as CSV (one row per site, decided status included), every cell
/// made inert with [`inert_cell`].
pub async fn write_csv(
    db: &SqlitePool,
    q: &sites::SiteQuery,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
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
    ])?;
    let mut after = SiteId(0);
    loop {
        let page = sites::list(db, q, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
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
    }
    w.flush()?;
    Ok(())
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
