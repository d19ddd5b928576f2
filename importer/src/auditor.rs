//! The auditor's JSON format `treewide-audit/1` (docs/auditor-json.md): parse into a core
//! [`Batch`], and write a campaign back out in the same format.

use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use treewide_core::ingest::{
    Batch, CampaignSpec, NoteSpec, Origin, RefSpec, SiteSpec, SubsystemSpec, TreeSpec, VerdictSpec,
};
use treewide_core::matcher::MatchSpec;
use treewide_core::model::{
    is_c_identifier, parse_time, EventSource, IterKind, Person, RefKind, Slug, SourcePath, Status,
};

/// The format tag this module reads and writes.
pub const FORMAT: &str = "treewide-audit/1";

/// Why an auditor file was refused: where, which field, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError {
    pub file: String,
    /// JSON line and column (1-based), when known.
    pub position: Option<(usize, usize)>,
    /// The field, e.g. `sites[3].status` (empty for the document itself).
    pub path: String,
    pub message: String,
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((l, c)) = self.position {
            write!(f, ":{l}:{c}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for AuditError {}

/// The document as written. Unknown fields are errors everywhere.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub format: FormatTag,
    pub campaign: CampaignDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree: Option<TreeDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsystems: Vec<SubsystemDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Vec<VerdictDoc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<CampaignNoteDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<RefDoc>,
    #[serde(default)]
    pub sites: Vec<SiteDoc>,
}

/// `"format": "treewide-audit/1"`, checked while parsing so errors carry a position.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatTag;

impl<'de> Deserialize<'de> for FormatTag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == FORMAT {
            Ok(FormatTag)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported format {s:?}: expected \"{FORMAT}\""
            )))
        }
    }
}

impl Serialize for FormatTag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(FORMAT)
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignDoc {
    pub slug: Slug,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TreeDoc {
    pub describe: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A commit id: 7 to 64 hex digits (SHA-1 or SHA-256), lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CommitId(String);

impl<'de> Deserialize<'de> for CommitId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(CommitId(s.to_ascii_lowercase()))
        } else {
            Err(serde::de::Error::custom(format!(
                "invalid commit id {s:?}: expected 7 to 64 hex digits"
            )))
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubsystemDoc {
    pub name: NonEmpty,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintainers: Vec<PersonDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviewers: Vec<PersonDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A non-empty, trimmed string (names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.trim();
        if t.is_empty() {
            Err(serde::de::Error::custom("empty string: expected a name"))
        } else {
            Ok(NonEmpty(t.to_owned()))
        }
    }
}

/// `Name <email>` as MAINTAINERS writes people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDoc(Person);

impl<'de> Deserialize<'de> for PersonDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Person::parse(&s)
            .map(PersonDoc)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for PersonDoc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(rename = "match")]
    pub matches: ValidMatch,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A verdict `match` that is non-empty and whose globs compile.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct ValidMatch(MatchSpec);

impl<'de> Deserialize<'de> for ValidMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = MatchSpec::deserialize(d)?;
        m.compile().map_err(serde::de::Error::custom)?;
        Ok(ValidMatch(m))
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignNoteDoc {
    pub author: NonEmpty,
    pub text: NonEmpty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<NonEmpty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<NonEmpty>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteNoteDoc {
    pub author: NonEmpty,
    pub text: NonEmpty,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask: Option<NonEmpty>,
}

/// An RFC 3339 time (or a bare date), normalised to UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Date(String);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_time(&s).map(Date).map_err(serde::de::Error::custom)
    }
}

/// One reference: exactly one of `commit`, `message_id`, `url`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "RawRef", into = "RawRef")]
pub struct RefDoc(RefSpec);

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<CommitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    date: Option<Date>,
}

impl TryFrom<RawRef> for RefDoc {
    type Error = String;
    fn try_from(r: RawRef) -> Result<Self, String> {
        let title = r.subject.or(r.title).unwrap_or_default();
        let (kind, target) = match (r.commit, r.message_id, r.url) {
            (Some(c), None, None) => (RefKind::Commit, c.0),
            (None, Some(m), None) => {
                let m = m
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned();
                if m.is_empty() || m.contains(char::is_whitespace) || !m.contains('@') {
                    return Err(format!("invalid message_id {m:?}: expected <local@domain>"));
                }
                (RefKind::Message, m)
            }
            (None, None, Some(u)) => {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(format!("invalid url {u:?}: expected an http(s) URL"));
                }
                (RefKind::Url, u)
            }
            _ => {
                return Err("a ref needs exactly one of \"commit\", \"message_id\", \"url\"".into())
            }
        };
        Ok(RefDoc(RefSpec {
            kind,
            target,
            title,
            author: r.author,
            date: r.date.map(|d| d.0),
        }))
    }
}

impl From<RefDoc> for RawRef {
    fn from(r: RefDoc) -> RawRef {
        let r = r.0;
        let mut raw = RawRef {
            author: r.author,
            date: r.date.map(Date),
            ..Default::default()
        };
        let title = (!r.title.is_empty()).then_some(r.title);
        match r.kind {
            RefKind::Commit => {
                raw.commit = Some(CommitId(r.target));
                raw.subject = title;
            }
            RefKind::Message => {
                raw.message_id = Some(format!("<{}>", r.target));
                raw.subject = title;
            }
            RefKind::Url => {
                raw.url = Some(r.target);
                raw.title = title;
            }
        }
        raw
    }
}

/// A C identifier (callee, function).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Ident(String);

impl<'de> Deserialize<'de> for Ident {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if is_c_identifier(&s) {
            Ok(Ident(s))
        } else {
            Err(serde::de::Error::custom(format!(
                "invalid identifier {s:?}: expected a C identifier like iov_iter_bvec"
            )))
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteDoc {
    pub file: SourcePath,
    pub line: NonZeroU32,
    pub callee: Ident,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<NonZeroU32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<Ident>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iter_kind: Option<IterKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<NonEmpty>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<SiteNoteDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<RefDoc>,
}

/// Parse a document from bytes; `name` is used in errors.
pub fn parse_document(name: &str, bytes: &[u8]) -> Result<Document, AuditError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc: Document = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let position = (inner.line() > 0).then(|| (inner.line(), inner.column()));
        let mut message = inner.to_string();
        // serde_json appends the position, which we print up front.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        if inner.is_syntax() || inner.is_eof() {
            message = format!("not valid JSON: {message}");
        }
        AuditError {
            file: name.to_owned(),
            position,
            path: if path == "." { String::new() } else { path },
            message,
        }
    })?;
    de.end().map_err(|e| AuditError {
        file: name.to_owned(),
        position: Some((e.line(), e.column())),
        path: String::new(),
        message: "trailing characters after the JSON document".into(),
    })?;
    Ok(doc)
}

/// Turn a parsed document into a core batch.
pub fn to_batch(doc: Document, origin: Origin) -> Batch {
    let note = |author: NonEmpty,
                text: NonEmpty,
                date: Option<Date>,
                ask: Option<NonEmpty>,
                subsystem: Option<NonEmpty>| NoteSpec {
        author: author.0,
        text: text.0,
        date: date.map(|d| d.0),
        ask: ask.map(|a| a.0),
        subsystem: subsystem.map(|s| s.0),
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
                commit: t.commit.map(|c| c.0),
                url: t.url,
            }),
        },
        subsystems: doc
            .subsystems
            .into_iter()
            .map(|s| SubsystemSpec {
                name: s.name.0,
                maintainers: s.maintainers.into_iter().map(|p| p.0).collect(),
                reviewers: s.reviewers.into_iter().map(|p| p.0).collect(),
                lists: s.lists,
                status: s.status,
            })
            .collect(),
        verdicts: doc.verdicts.map(|vs| {
            vs.into_iter()
                .map(|v| VerdictSpec {
                    label: v.label.unwrap_or_else(|| v.matches.0.describe()),
                    matches: v.matches.0,
                    status: v.status,
                    reason: v.reason.unwrap_or_default(),
                })
                .collect()
        }),
        notes: doc
            .notes
            .into_iter()
            .map(|n| note(n.author, n.text, n.date, n.ask, n.subsystem))
            .collect(),
        refs: doc.refs.into_iter().map(|r| r.0).collect(),
        scan: None,
        sites: doc
            .sites
            .into_iter()
            .map(|s| {
                let callee = s.callee.0;
                SiteSpec {
                    file: s.file,
                    line: s.line.get(),
                    column: s.column.map(NonZeroU32::get),
                    function: s.function.map(|f| f.0),
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
                    subsystem: s.subsystem.map(|x| x.0),
                    notes: s
                        .notes
                        .into_iter()
                        .map(|n| note(n.author, n.text, n.date, n.ask, None))
                        .collect(),
                    refs: s.refs.into_iter().map(|r| r.0).collect(),
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

    fn err(json: &str) -> AuditError {
        parse_document("t.json", json.as_bytes()).unwrap_err()
    }

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
    fn errors_name_position_field_and_expectation() {
        let e = err(&MIN.replace("\"line\":3", "\"line\":0"));
        assert_eq!(e.path, "sites[0].line");
        assert!(e.position.is_some());
        assert!(e.to_string().starts_with("t.json:1:"), "{e}");

        let e = err(&MIN.replace("\"callee\"", "\"status\":\"done\",\"callee\""));
        assert_eq!(e.path, "sites[0].status");
        assert!(e.message.contains("confirmed_safe"), "{e}");

        let e = err(&MIN.replace("treewide-audit/1", "treewide-audit/2"));
        assert_eq!(e.path, "format");
        assert!(e.message.contains("expected \"treewide-audit/1\""), "{e}");

        let e = err(&MIN.replace("\"line\":3", "\"line\":3,\"colour\":1"));
        assert!(e.message.contains("unknown field `colour`"), "{e}");

        let e = err(&MIN.replace("a/b.c", "../b.c"));
        assert_eq!(e.path, "sites[0].file");
        let e = err(&MIN.replace("a/b.c", "/abs/b.c"));
        assert!(e.message.contains("absolute"), "{e}");

        let e = err(&MIN.replace(",\"callee\":\"iov_iter_bvec\"", ""));
        assert!(e.message.contains("missing field `callee`"), "{e}");
        assert_eq!(e.path, "sites[0]");

        let e = err("{\"format\": ");
        assert!(e.message.starts_with("not valid JSON"), "{e}");
        let e = err(&format!("{MIN} x"));
        assert!(e.message.contains("trailing"), "{e}");
    }

    #[test]
    fn refs_need_exactly_one_target() {
        let two = MIN.replace("\"callee\":\"iov_iter_bvec\"", "\"callee\":\"iov_iter_bvec\",\"refs\":[{\"commit\":\"abcdef0\",\"url\":\"https://x\"}]");
        assert!(err(&two).message.contains("exactly one"));
        let ok = MIN.replace(
            "\"callee\":\"iov_iter_bvec\"",
            "\"callee\":\"iov_iter_bvec\",\"refs\":[{\"message_id\":\"<a@b>\"}]",
        );
        let doc = parse_document("t", ok.as_bytes()).unwrap();
        assert_eq!(doc.sites[0].refs[0].0.target, "a@b");
    }

    #[test]
    fn empty_or_bad_verdict_matches_are_refused() {
        let v = MIN.replace(
            "\"sites\"",
            "\"verdicts\":[{\"match\":{},\"status\":\"fixed\"}],\"sites\"",
        );
        let e = err(&v);
        assert_eq!(e.path, "verdicts[0].match");
        assert!(e.message.contains("at least one"), "{e}");
    }
}
