//! The auditor's JSON format `treewide-audit/1` (docs/auditor-json.md) and core batches: a
//! document, read and checked by [`treewide_formats::audit`], becomes a core [`Batch`] to
//! import; a batch (a tree scan's) becomes a document for `treewide scan --json`.

use std::num::NonZeroU32;
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};
use treewide_core::ingest::{
    Batch, CampaignInput, NoteInput, Origin, SiteInput, SubsystemInput, TreeInput, VerdictInput,
};
use treewide_core::model::{EventSource, IterKind};
use treewide_formats::audit::{
    parse_document, AuditError, CampaignDoc, CampaignNoteDoc, CommitId, ContextDoc, Date, Document,
    FormatTag, Ident, Invalid, NonEmpty, PersonDoc, RefDoc, SiteDoc, SiteNoteDoc, SpecName,
    SubsystemDoc, TreeDoc, ValidMatch, VerdictDoc,
};

/// Turn a parsed document into a core batch.
pub fn to_batch(doc: Document, origin: Origin) -> Batch {
    let note = |author: NonEmpty,
                text: NonEmpty,
                date: Option<Date>,
                ask: Option<NonEmpty>,
                subsystem: Option<NonEmpty>| NoteInput {
        author: author.into_string(),
        text: text.into_string(),
        date: date.map(Date::into_string),
        ask: ask.map(NonEmpty::into_string),
        subsystem: subsystem.map(NonEmpty::into_string),
    };
    Batch {
        origin,
        campaign: CampaignInput {
            slug: doc.campaign.slug,
            title: doc.campaign.title,
            description: doc.campaign.description,
            rule: doc.campaign.rule,
            spec_toml: doc.campaign.spec.map(|s| s.text().to_owned()),
            start: doc
                .campaign
                .start
                .map(|d| d.into_string().chars().take(10).collect()),
            tree: doc.tree.map(|t| TreeInput {
                describe: t.describe,
                commit: t.commit.map(|c| c.into_string()),
                url: t.url,
            }),
        },
        subsystems: doc
            .subsystems
            .into_iter()
            .map(|s| SubsystemInput {
                name: s.name.into_string(),
                maintainers: s.maintainers.into_iter().map(|p| p.into_person()).collect(),
                reviewers: s.reviewers.into_iter().map(|p| p.into_person()).collect(),
                lists: s.lists,
                status: s.status,
            })
            .collect(),
        verdicts: doc.verdicts.map(|vs| {
            vs.into_iter()
                .map(|v| {
                    let matches = v.matches.into_spec();
                    VerdictInput {
                        label: v.label.unwrap_or_else(|| matches.describe()),
                        matches,
                        status: v.status,
                        reason: v.reason.unwrap_or_default(),
                        date: v.date.map(|d| d.into_string()),
                    }
                })
                .collect()
        }),
        notes: doc
            .notes
            .into_iter()
            .map(|n| note(n.author, n.text, n.date, n.ask, n.subsystem))
            .collect(),
        refs: doc.refs.into_iter().map(|r| r.into_spec()).collect(),
        scan: None,
        sites: doc
            .sites
            .into_iter()
            .map(|s| {
                let callee = s.callee.into_string();
                SiteInput {
                    file: s.file,
                    line: s.line.get(),
                    column: s.column.map(NonZeroU32::get),
                    function: s.function.map(|f| f.into_string()),
                    iter_kind: s
                        .iter_kind
                        .unwrap_or_else(|| IterKind::from_callee(&callee)),
                    callee,
                    code: s.code.unwrap_or_default(),
                    direction: s
                        .direction
                        .map(|d| d.trim().to_owned())
                        .filter(|d| !d.is_empty()),
                    status: s.status,
                    reason: s.reason,
                    status_date: s.date.map(|d| d.into_string()),
                    subsystem: s.subsystem.map(NonEmpty::into_string),
                    notes: s
                        .notes
                        .into_iter()
                        .map(|n| note(n.author, n.text, n.date, n.ask, None))
                        .collect(),
                    refs: s.refs.into_iter().map(|r| r.into_spec()).collect(),
                    context: s.context.map(|c| (c.lines, c.start.get())),
                    all_subsystems: Vec::new(),
                }
            })
            .collect(),
    }
}

/// The document of a batch, every value checked as an import checks it: the inverse of
/// [`to_batch`] for all a document holds (a scan's context lines and problems it does not).
pub fn from_batch(b: &Batch) -> anyhow::Result<Document> {
    let c = &b.campaign;
    Ok(Document {
        format: FormatTag,
        campaign: CampaignDoc {
            slug: c.slug.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            rule: c.rule.clone(),
            start: c.start.as_deref().map(Date::new).transpose()?,
            spec: c.spec_toml.as_deref().and_then(SpecName::of_text),
        },
        tree: c
            .tree
            .as_ref()
            .map(|t| -> anyhow::Result<TreeDoc> {
                Ok(TreeDoc {
                    describe: t.describe.clone(),
                    commit: t.commit.as_deref().map(CommitId::new).transpose()?,
                    url: t.url.clone(),
                })
            })
            .transpose()?,
        subsystems: b
            .subsystems
            .iter()
            .map(|s| -> anyhow::Result<SubsystemDoc> {
                let people = |v: &[treewide_core::model::Person]| -> Vec<PersonDoc> {
                    v.iter().cloned().map(PersonDoc::from).collect()
                };
                Ok(SubsystemDoc {
                    name: NonEmpty::new(&s.name)?,
                    maintainers: people(&s.maintainers),
                    reviewers: people(&s.reviewers),
                    lists: s.lists.clone(),
                    status: s.status.clone(),
                })
            })
            .collect::<anyhow::Result<_>>()?,
        verdicts: b
            .verdicts
            .as_ref()
            .map(|vs| {
                vs.iter()
                    .map(|v| -> anyhow::Result<VerdictDoc> {
                        Ok(VerdictDoc {
                            label: Some(v.label.clone()),
                            matches: ValidMatch::new(v.matches.clone())?,
                            status: v.status,
                            reason: (!v.reason.is_empty()).then(|| v.reason.clone()),
                            date: v.date.as_deref().map(Date::new).transpose()?,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?,
        notes: b
            .notes
            .iter()
            .map(|n| CampaignNoteDoc::new(note_doc(n)?, n.subsystem.as_deref()))
            .collect::<Result<_, _>>()?,
        refs: b
            .refs
            .iter()
            .cloned()
            .map(RefDoc::new)
            .collect::<Result<_, _>>()?,
        sites: b
            .sites
            .iter()
            .map(site_doc)
            .collect::<anyhow::Result<_>>()?,
    })
}

/// A note's author, text, time and question as the document writes them.
fn note_doc(n: &NoteInput) -> Result<SiteNoteDoc, Invalid> {
    SiteNoteDoc::new(&n.author, &n.text, n.date.as_deref(), n.ask.as_deref())
}

/// One site of a batch as the document writes it.
fn site_doc(s: &SiteInput) -> anyhow::Result<SiteDoc> {
    Ok(SiteDoc {
        file: s.file.clone(),
        line: NonZeroU32::new(s.line).with_context(|| format!("{}: line 0", s.file.as_str()))?,
        callee: Ident::new(&s.callee)?,
        column: s.column.and_then(NonZeroU32::new),
        function: s.function.as_deref().map(Ident::new).transpose()?,
        code: (!s.code.is_empty()).then(|| s.code.clone()),
        iter_kind: Some(s.iter_kind),
        direction: s.direction.clone(),
        status: s.status,
        reason: s.reason.clone(),
        date: s.status_date.as_deref().map(Date::new).transpose()?,
        subsystem: s.subsystem.as_deref().map(NonEmpty::new).transpose()?,
        context: s.context.as_ref().and_then(|(lines, start)| {
            Some(ContextDoc {
                start: NonZeroU32::new(*start)?,
                lines: lines.clone(),
            })
        }),
        notes: s.notes.iter().map(note_doc).collect::<Result<_, _>>()?,
        refs: s
            .refs
            .iter()
            .cloned()
            .map(RefDoc::new)
            .collect::<Result<_, _>>()?,
    })
}

/// Parse bytes into a batch with the given source and actor.
pub fn parse_bytes(
    name: &str,
    bytes: &[u8],
    source: EventSource,
    actor: &str,
) -> Result<Batch, AuditError> {
    let doc = parse_document(name, bytes)?;
    let origin = Origin {
        source,
        name: name.to_owned(),
        sha256: hex::encode(Sha256::digest(bytes)),
        actor: actor.to_owned(),
    };
    Ok(to_batch(doc, origin))
}

/// Read and parse an auditor file.
pub fn parse_file(path: &Path, actor: &str) -> anyhow::Result<Batch> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse_bytes(
        &path.display().to_string(),
        &bytes,
        EventSource::Import,
        actor,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"{"format":"treewide-audit/1","campaign":{"slug":"x"},"sites":[{"file":"a/b.c","line":3,"callee":"iov_iter_bvec"}]}"#;

    #[test]
    fn minimal_document_parses() {
        let doc = parse_document("t.json", MIN.as_bytes()).unwrap();
        let b = to_batch(
            doc,
            Origin {
                source: EventSource::Import,
                name: "t".into(),
                sha256: String::new(),
                actor: "a".into(),
            },
        );
        assert_eq!(b.sites.len(), 1);
        assert_eq!(b.sites[0].iter_kind, IterKind::Bvec);
        assert!(b.verdicts.is_none());
    }

    #[test]
    fn a_batch_written_as_a_document_reads_back_the_same() {
        for (name, text) in crate::demo::FILES {
            let origin = || Origin {
                source: EventSource::Demo,
                name: name.into(),
                sha256: String::new(),
                actor: "t".into(),
            };
            let doc = parse_document(name, text.as_bytes()).unwrap();
            let first = serde_json::to_value(&doc).unwrap();
            let again = from_batch(&to_batch(doc, origin())).unwrap();
            assert_eq!(serde_json::to_value(&again).unwrap(), first, "{name}");
        }
    }
}
