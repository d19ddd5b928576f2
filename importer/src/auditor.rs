//! Importing the auditor's JSON format `treewide-audit/1` (docs/auditor-json.md): a
//! document, read and checked by [`treewide_formats::audit`], becomes a core [`Batch`].

use std::num::NonZeroU32;
use std::path::Path;

use sha2::{Digest, Sha256};
use treewide_core::ingest::{
    Batch, CampaignSpec, NoteSpec, Origin, SiteSpec, SubsystemSpec, TreeSpec, VerdictSpec,
};
use treewide_core::model::{EventSource, IterKind};
use treewide_formats::audit::{parse_document, AuditError, Date, Document, NonEmpty};

/// Turn a parsed document into a core batch.
pub fn to_batch(doc: Document, origin: Origin) -> Batch {
    let note = |author: NonEmpty,
                text: NonEmpty,
                date: Option<Date>,
                ask: Option<NonEmpty>,
                subsystem: Option<NonEmpty>| NoteSpec {
        author: author.into_string(),
        text: text.into_string(),
        date: date.map(Date::into_string),
        ask: ask.map(NonEmpty::into_string),
        subsystem: subsystem.map(NonEmpty::into_string),
    };
    Batch {
        origin,
        campaign: CampaignSpec {
            slug: doc.campaign.slug,
            title: doc.campaign.title,
            description: doc.campaign.description,
            rule: doc.campaign.rule,
            tree: doc.tree.map(|t| TreeSpec {
                describe: t.describe,
                commit: t.commit.map(|c| c.into_string()),
                url: t.url,
            }),
        },
        subsystems: doc
            .subsystems
            .into_iter()
            .map(|s| SubsystemSpec {
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
                    VerdictSpec {
                        label: v.label.unwrap_or_else(|| matches.describe()),
                        matches,
                        status: v.status,
                        reason: v.reason.unwrap_or_default(),
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
                SiteSpec {
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
                    subsystem: s.subsystem.map(NonEmpty::into_string),
                    notes: s
                        .notes
                        .into_iter()
                        .map(|n| note(n.author, n.text, n.date, n.ask, None))
                        .collect(),
                    refs: s.refs.into_iter().map(|r| r.into_spec()).collect(),
                    context: None,
                    all_subsystems: Vec::new(),
                }
            })
            .collect(),
    }
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
    use anyhow::Context;
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
}
