//! The `treewide-audit/1` document as typed values: every field checked while it is read,
//! and every checked value built through the same constructor, so what is written imports
//! again.

use std::fmt;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};
use treewide_core::ingest::RefInput;
use treewide_core::matcher::VerdictMatch;
use treewide_core::model::{
    is_c_identifier, parse_time, IterKind, Person, RefKind, Slug, SourcePath, Status,
};

use super::FORMAT;

/// A value the format does not allow, and what it expects instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Deserialize a string and check it with `check`, the constructor writers use too.
fn checked<'de, D, T, E>(d: D, check: impl FnOnce(String) -> Result<T, E>) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    E: fmt::Display,
{
    let s = String::deserialize(d)?;
    check(s).map_err(serde::de::Error::custom)
}

/// A string newtype that can only hold what its `new` accepts: reading one runs `new`, and
/// `into_string` gives the checked text back.
macro_rules! checked_string {
    ($name:ident) => {
        impl $name {
            /// The checked text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                checked(d, |s| $name::new(&s))
            }
        }
    };
}

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
        checked(d, |s| {
            if s == FORMAT {
                Ok(FormatTag)
            } else {
                Err(format!("unsupported format {s:?}: expected \"{FORMAT}\""))
            }
        })
    }
}

impl Serialize for FormatTag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(FORMAT)
    }
}

/// The campaign the document fills.
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
    /// When the campaign started: patches and commits older than this fix nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Date>,
    /// The built-in spec whose fixed form the campaign's sites take (`iov-iter-pin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SpecName>,
}

/// The name of a built-in campaign spec (`crate::spec::BUILTIN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SpecName(String);

impl SpecName {
    /// Check that a built-in spec has this name.
    pub fn new(s: &str) -> Result<SpecName, Invalid> {
        if crate::spec::BUILTIN.iter().any(|(n, _)| *n == s) {
            return Ok(SpecName(s.to_owned()));
        }
        let names: Vec<&str> = crate::spec::BUILTIN.iter().map(|(n, _)| *n).collect();
        Err(Invalid(format!(
            "expected a built-in spec name ({}), found {s:?}",
            names.join(", ")
        )))
    }

    /// The built-in spec named by the TOML text `text`, if it is one.
    pub fn of_text(text: &str) -> Option<SpecName> {
        crate::spec::BUILTIN
            .iter()
            .find(|(_, t)| *t == text)
            .map(|(n, _)| SpecName((*n).to_owned()))
    }

    /// The spec's TOML text.
    pub fn text(&self) -> &'static str {
        crate::spec::BUILTIN
            .iter()
            .find(|(n, _)| *n == self.0)
            .map_or("", |(_, t)| *t)
    }
}

checked_string!(SpecName);

/// The source tree the sites were found in.
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

impl CommitId {
    /// Check and lower-case a commit id.
    pub fn new(s: &str) -> Result<CommitId, Invalid> {
        if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(CommitId(s.to_ascii_lowercase()))
        } else {
            Err(Invalid(format!(
                "invalid commit id {s:?}: expected 7 to 64 hex digits"
            )))
        }
    }
}

checked_string!(CommitId);

/// A MAINTAINERS subsystem the sites name.
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

impl NonEmpty {
    /// Trim `s`; nothing left is refused.
    pub fn new(s: &str) -> Result<NonEmpty, Invalid> {
        let t = s.trim();
        if t.is_empty() {
            Err(Invalid("empty string: expected a name".into()))
        } else {
            Ok(NonEmpty(t.to_owned()))
        }
    }
}

checked_string!(NonEmpty);

/// `Name <email>` as MAINTAINERS writes people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDoc(Person);

impl From<Person> for PersonDoc {
    fn from(p: Person) -> PersonDoc {
        PersonDoc(p)
    }
}

impl PersonDoc {
    /// The person.
    pub fn into_person(self) -> Person {
        self.0
    }
}

impl<'de> Deserialize<'de> for PersonDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        checked(d, |s| Person::parse(&s).map(PersonDoc))
    }
}

impl Serialize for PersonDoc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

/// A verdict group: the sites it matches get its status.
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
    /// When the group's status became true for its sites (the mail that said so): the
    /// burndown dates the sites it decides done by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
}

/// A verdict `match` that is non-empty and whose globs compile.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct ValidMatch(VerdictMatch);

impl ValidMatch {
    /// Check that `m` is not empty and its globs compile.
    pub fn new(m: VerdictMatch) -> Result<ValidMatch, treewide_core::Error> {
        m.compile()?;
        Ok(ValidMatch(m))
    }

    /// The match.
    pub fn into_spec(self) -> VerdictMatch {
        self.0
    }
}

impl<'de> Deserialize<'de> for ValidMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValidMatch::new(VerdictMatch::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A note on the campaign (or on one subsystem of it).
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

impl CampaignNoteDoc {
    /// A note's fields, and the subsystem it is about.
    pub fn new(note: SiteNoteDoc, subsystem: Option<&str>) -> Result<CampaignNoteDoc, Invalid> {
        let SiteNoteDoc {
            author,
            text,
            date,
            ask,
        } = note;
        Ok(CampaignNoteDoc {
            author,
            text,
            date,
            ask,
            subsystem: subsystem.map(NonEmpty::new).transpose()?,
        })
    }
}

/// A note on one site.
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

impl SiteNoteDoc {
    /// Check a note's author, text, time and question.
    pub fn new(
        author: &str,
        text: &str,
        date: Option<&str>,
        ask: Option<&str>,
    ) -> Result<SiteNoteDoc, Invalid> {
        Ok(SiteNoteDoc {
            author: NonEmpty::new(author)?,
            text: NonEmpty::new(text)?,
            date: date.map(Date::new).transpose()?,
            ask: ask.map(NonEmpty::new).transpose()?,
        })
    }
}

/// An RFC 3339 time (or a bare date), normalised to UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Date(String);

impl Date {
    /// Check and normalise a time.
    pub fn new(s: &str) -> Result<Date, Invalid> {
        parse_time(s).map(Date).map_err(|e| Invalid(e.to_string()))
    }
}

checked_string!(Date);

/// One reference: exactly one of `commit`, `message_id`, `url`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(try_from = "RawRef", into = "RawRef")]
pub struct RefDoc(RefInput);

impl RefDoc {
    /// Check a stored reference as an import would check it.
    pub fn new(r: RefInput) -> Result<RefDoc, Invalid> {
        let title = (!r.title.is_empty()).then_some(r.title);
        let mut raw = RawRef {
            author: r.author,
            date: r.date.as_deref().map(Date::new).transpose()?,
            ..Default::default()
        };
        match r.kind {
            RefKind::Commit => {
                raw.commit = Some(CommitId::new(&r.target)?);
                raw.subject = title;
            }
            RefKind::Message => {
                raw.message_id = Some(r.target);
                raw.subject = title;
            }
            RefKind::Url => {
                raw.url = Some(r.target);
                raw.title = title;
            }
        }
        RefDoc::try_from(raw).map_err(Invalid)
    }

    /// The reference.
    pub fn into_spec(self) -> RefInput {
        self.0
    }
}

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
        Ok(RefDoc(RefInput {
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

impl Ident {
    /// Check that `s` is a C identifier.
    pub fn new(s: &str) -> Result<Ident, Invalid> {
        if is_c_identifier(s) {
            Ok(Ident(s.to_owned()))
        } else {
            Err(Invalid(format!(
                "invalid identifier {s:?}: expected a C identifier like iov_iter_bvec"
            )))
        }
    }
}

checked_string!(Ident);

/// One call site.
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
    /// When the status became true, as the auditor states it (the fixing commit's or
    /// release's date, the mail that confirmed it): the burndown dates a done site by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsystem: Option<NonEmpty>,
    /// Source lines around the call, as a tree scan reads them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<SiteNoteDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<RefDoc>,
}

/// Source lines around a call: `lines` (newline-separated) from line `start` of the file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextDoc {
    pub start: NonZeroU32,
    pub lines: String,
}
