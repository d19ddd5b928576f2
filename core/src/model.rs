//! Domain types: identifiers, statuses, iterator kinds and validated values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Row id of a campaign.
    CampaignId
);
id_type!(
    /// Row id of a call site.
    SiteId
);
id_type!(
    /// Row id of a subsystem.
    SubsystemId
);
id_type!(
    /// Row id of a verdict group.
    VerdictId
);
id_type!(
    /// Row id of a note.
    NoteId
);
id_type!(
    /// Row id of an import run.
    ImportId
);
id_type!(
    /// Row id of an event.
    EventId
);

/// Review status of a call site. Stored as TEXT with a CHECK constraint.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum Status {
    Unreviewed,
    NeedsFix,
    NeedsPin,
    AwaitingOwner,
    FixProposed,
    Fixed,
    ConfirmedSafe,
    Gone,
}

impl Status {
    /// Every status, in the order pages and bars show them (open first, done last).
    pub const ALL: [Status; 8] = [
        Status::NeedsFix,
        Status::NeedsPin,
        Status::AwaitingOwner,
        Status::Unreviewed,
        Status::FixProposed,
        Status::Fixed,
        Status::ConfirmedSafe,
        Status::Gone,
    ];

    /// The name used in SQL, JSON and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unreviewed => "unreviewed",
            Status::NeedsFix => "needs_fix",
            Status::NeedsPin => "needs_pin",
            Status::AwaitingOwner => "awaiting_owner",
            Status::FixProposed => "fix_proposed",
            Status::Fixed => "fixed",
            Status::ConfirmedSafe => "confirmed_safe",
            Status::Gone => "gone",
        }
    }

    /// Human label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Status::Unreviewed => "unreviewed",
            Status::NeedsFix => "needs fix",
            Status::NeedsPin => "needs pin",
            Status::AwaitingOwner => "awaiting owner",
            Status::FixProposed => "fix proposed",
            Status::Fixed => "fixed",
            Status::ConfirmedSafe => "confirmed safe",
            Status::Gone => "gone",
        }
    }

    /// Fixed, confirmed safe and gone count as done.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Fixed | Status::ConfirmedSafe | Status::Gone)
    }

    /// The subsystem's owners are who moves it on: a fix or pin to write, a sign-off to
    /// give, a proposed fix to take. (Unreviewed waits for the campaign's auditors.)
    pub fn waits_for_owners(self) -> bool {
        matches!(
            self,
            Status::NeedsFix | Status::NeedsPin | Status::AwaitingOwner | Status::FixProposed
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::Invalid {
                what: "status",
                value: s.to_owned(),
                expected: "one of unreviewed, needs_fix, needs_pin, awaiting_owner, fix_proposed, fixed, confirmed_safe, gone",
            })
    }
}

/// The kind of iterator a call builds or consumes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
pub enum IterKind {
    #[serde(rename = "ITER_IOVEC")]
    #[sqlx(rename = "ITER_IOVEC")]
    Iovec,
    #[serde(rename = "ITER_UBUF")]
    #[sqlx(rename = "ITER_UBUF")]
    Ubuf,
    #[serde(rename = "ITER_BVEC")]
    #[sqlx(rename = "ITER_BVEC")]
    Bvec,
    #[serde(rename = "ITER_KVEC")]
    #[sqlx(rename = "ITER_KVEC")]
    Kvec,
    #[serde(rename = "ITER_XARRAY")]
    #[sqlx(rename = "ITER_XARRAY")]
    Xarray,
    #[serde(rename = "ITER_PIPE")]
    #[sqlx(rename = "ITER_PIPE")]
    Pipe,
    #[serde(rename = "ITER_DISCARD")]
    #[sqlx(rename = "ITER_DISCARD")]
    Discard,
    #[serde(rename = "unknown")]
    #[sqlx(rename = "unknown")]
    Unknown,
}

impl IterKind {
    /// Every kind.
    pub const ALL: [IterKind; 8] = [
        IterKind::Iovec,
        IterKind::Ubuf,
        IterKind::Bvec,
        IterKind::Kvec,
        IterKind::Xarray,
        IterKind::Pipe,
        IterKind::Discard,
        IterKind::Unknown,
    ];

    /// The name used in SQL and JSON (`ITER_BVEC`, …, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            IterKind::Iovec => "ITER_IOVEC",
            IterKind::Ubuf => "ITER_UBUF",
            IterKind::Bvec => "ITER_BVEC",
            IterKind::Kvec => "ITER_KVEC",
            IterKind::Xarray => "ITER_XARRAY",
            IterKind::Pipe => "ITER_PIPE",
            IterKind::Discard => "ITER_DISCARD",
            IterKind::Unknown => "unknown",
        }
    }

    /// The kind an iterator constructor builds, from its name (6.1 semantics).
    pub fn from_callee(callee: &str) -> IterKind {
        match callee {
            "iov_iter_init" | "import_iovec" | "__import_iovec" | "import_single_range" => {
                IterKind::Iovec
            }
            "iov_iter_ubuf" | "import_ubuf" => IterKind::Ubuf,
            "iov_iter_bvec" => IterKind::Bvec,
            "iov_iter_kvec" => IterKind::Kvec,
            "iov_iter_xarray" => IterKind::Xarray,
            "iov_iter_pipe" => IterKind::Pipe,
            "iov_iter_discard" => IterKind::Discard,
            _ => IterKind::Unknown,
        }
    }
}

impl fmt::Display for IterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IterKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        IterKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::Invalid {
                what: "iterator kind",
                value: s.to_owned(),
                expected: "one of ITER_IOVEC, ITER_UBUF, ITER_BVEC, ITER_KVEC, ITER_XARRAY, ITER_PIPE, ITER_DISCARD, unknown",
            })
    }
}

/// What a direction argument means, whatever its spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionMeaning {
    /// Data goes into the iterator: `ITER_DEST`, legacy `READ`.
    Dest,
    /// Data comes from the iterator: `ITER_SOURCE`, legacy `WRITE`.
    Source,
    /// An expression whose value is not known statically (`is_write`, `rw`, a ternary…).
    Expression,
}

/// Classify a direction argument as written in the source.
pub fn direction_meaning(arg: &str) -> DirectionMeaning {
    match arg.trim() {
        "ITER_DEST" | "READ" => DirectionMeaning::Dest,
        "ITER_SOURCE" | "WRITE" => DirectionMeaning::Source,
        _ => DirectionMeaning::Expression,
    }
}

/// True when `written` (a site's direction argument) satisfies `wanted` (a verdict's key):
/// `ITER_SOURCE` matches `WRITE` too and `ITER_DEST` matches `READ`; anything else literally.
pub fn direction_matches(wanted: &str, written: &str) -> bool {
    let (w, s) = (wanted.trim(), written.trim());
    match (direction_meaning(w), direction_meaning(s)) {
        (DirectionMeaning::Expression, _) | (_, DirectionMeaning::Expression) => w == s,
        (a, b) => a == b,
    }
}

/// Campaign slug: `[a-z0-9][a-z0-9-]{0,62}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// Validate a slug.
    pub fn parse(s: &str) -> Result<Slug, Error> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Slug(s.to_owned()))
        } else {
            Err(Error::Invalid {
                what: "campaign slug",
                value: s.to_owned(),
                expected: "1-63 characters of a-z, 0-9 and '-', starting with a letter or digit",
            })
        }
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A path inside a source tree: relative, no `..`, no backslashes, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SourcePath(String);

impl SourcePath {
    /// Validate a tree path.
    pub fn parse(s: &str) -> Result<SourcePath, Error> {
        let bad = |expected| Error::Invalid {
            what: "file path",
            value: s.to_owned(),
            expected,
        };
        if s.is_empty() || s.len() > 4096 {
            return Err(bad("a non-empty path relative to the tree root"));
        }
        if s.starts_with('/') {
            return Err(bad(
                "a path relative to the tree root, not an absolute path",
            ));
        }
        if s.contains('\\') || s.contains('\0') {
            return Err(bad("a '/'-separated path without backslashes or NUL"));
        }
        if s.split('/').any(|c| c == ".." || c == "." || c.is_empty()) {
            return Err(bad(
                "a normalised path without '..', '.' or empty components",
            ));
        }
        Ok(SourcePath(s.to_owned()))
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SourcePath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SourcePath::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// True for a C identifier (callee and function names).
pub fn is_c_identifier(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && s.len() <= 255
}

/// A person as MAINTAINERS writes them: `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name (may be empty).
    pub name: String,
    /// Email address, lower-cased for matching.
    pub email: String,
}

impl Person {
    /// Parse `Name <email>` or a bare address.
    pub fn parse(s: &str) -> Result<Person, Error> {
        let s = s.trim();
        let bad = || Error::Invalid {
            what: "person",
            value: s.to_owned(),
            expected: "\"Name <email@host>\" or \"email@host\"",
        };
        // MAINTAINERS sometimes follows the address with a comment: "N <a@b> (DFS)".
        let (name, email) = match (s.find('<'), s.find('>')) {
            (Some(open), Some(close)) if open < close => {
                let rest = s[close + 1..].trim();
                if !(rest.is_empty() || rest.starts_with('(')) {
                    return Err(bad());
                }
                (s[..open].trim(), &s[open + 1..close])
            }
            (None, None) => ("", s),
            _ => return Err(bad()),
        };
        let email = email.trim();
        if !email.contains('@') || email.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Person {
            name: name.trim_matches('"').to_owned(),
            email: email.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(&self.email)
        } else {
            write!(f, "{} <{}>", self.name, self.email)
        }
    }
}

/// URL slug of a subsystem name: `VIRTIO HOST (VHOST)` → `virtio-host-vhost`.
pub fn subsystem_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("subsystem");
    }
    out
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum EventSource {
    Import,
    Demo,
    Scan,
    Web,
    Api,
    Cli,
}

impl EventSource {
    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Import => "import",
            EventSource::Demo => "demo",
            EventSource::Scan => "scan",
            EventSource::Web => "web",
            EventSource::Api => "api",
            EventSource::Cli => "cli",
        }
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum EventKind {
    Status,
    Note,
    Ref,
    Question,
    Verdicts,
    Import,
    /// Whose sign-off the campaign takes changed (`old` → `new` scope; no site).
    Scope,
    /// A status change proposed to a site's owners (`old` → `new` status, the proposal's
    /// number and reason), or how a proposal ended without a status event (`old` `open`,
    /// `new` `rejected`, `withdrawn` or `superseded`). An accepted one is the status event
    /// that names it (migration 0028).
    Proposal,
}

/// Who decided a site's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum DecidedBy {
    /// A per-site decision (auditor entry, maintainer sign-off…).
    Site,
    /// A verdict group matched.
    Verdict,
    /// Nothing decided yet.
    Default,
}

/// Kind of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum RefKind {
    Commit,
    Message,
    Url,
}

/// What a commit did to a call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum CommitRole {
    /// After it (and not before) the campaign's classifier says the call is fixed.
    Fix,
    /// It changed the call's direction argument without the classifier calling it fixed.
    Change,
    /// It moved the call to another file (a rename).
    Move,
    /// It removed the call.
    Gone,
}

impl CommitRole {
    pub fn as_str(self) -> &'static str {
        match self {
            CommitRole::Fix => "fix",
            CommitRole::Change => "change",
            CommitRole::Move => "move",
            CommitRole::Gone => "gone",
        }
    }
}

/// Whose sign-off a campaign takes on a site: the people of its file's most specific
/// MAINTAINERS sections, or of any section that matches the file. Admins always may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum SignoffScope {
    /// The M:/R: of the primary section and of any section as specific (same match depth).
    #[default]
    Specific,
    /// The M:/R: of every section that matches the site's file (THE REST included).
    AnySection,
}

impl SignoffScope {
    /// Both scopes.
    pub const ALL: [SignoffScope; 2] = [SignoffScope::Specific, SignoffScope::AnySection];

    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SignoffScope::Specific => "specific",
            SignoffScope::AnySection => "any_section",
        }
    }

    /// In words, for pages and the CLI.
    pub fn describe(self) -> &'static str {
        match self {
            SignoffScope::Specific => {
                "maintainers and reviewers of the most specific MAINTAINERS section of the site's file"
            }
            SignoffScope::AnySection => {
                "maintainers and reviewers of any MAINTAINERS section of the site's file"
            }
        }
    }
}

impl fmt::Display for SignoffScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignoffScope {
    type Err = Error;
    /// `specific`, `any_section`; `any-section` too, as typed on a command line.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim().replace('-', "_");
        SignoffScope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::Invalid {
                what: "sign-off scope",
                value: s.clone(),
                expected: "specific or any-section",
            })
    }
}

/// State of a question to a subsystem's owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum QuestionState {
    Open,
    Answered,
}

/// Now, as stored (RFC 3339, UTC, seconds).
pub fn now() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// Format a time as stored (RFC 3339, UTC, seconds).
pub fn format_time(t: time::OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parse an RFC 3339 time and normalise it to the stored form.
pub fn parse_time(s: &str) -> Result<String, Error> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .or_else(|_| {
            // A bare date is common in hand-written audits.
            time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
                .map(|d| d.midnight().assume_utc())
        })
        .map_err(|_| Error::Invalid {
            what: "date",
            value: s.to_owned(),
            expected: "an RFC 3339 time like 2022-09-20T12:00:00Z or a date like 2022-09-20",
        })?;
    Ok(format_time(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn done_is_fixed_safe_or_gone() {
        let done: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_done()).collect();
        assert_eq!(
            done,
            vec![Status::Fixed, Status::ConfirmedSafe, Status::Gone]
        );
    }

    #[test]
    fn iter_kind_from_constructor() {
        assert_eq!(IterKind::from_callee("iov_iter_bvec"), IterKind::Bvec);
        assert_eq!(IterKind::from_callee("import_ubuf"), IterKind::Ubuf);
        assert_eq!(
            IterKind::from_callee("iov_iter_get_pages2"),
            IterKind::Unknown
        );
        for k in IterKind::ALL {
            assert_eq!(k.as_str().parse::<IterKind>().unwrap(), k);
        }
    }

    #[test]
    fn direction_matches_by_meaning() {
        assert!(direction_matches("ITER_SOURCE", "WRITE"));
        assert!(direction_matches("ITER_DEST", "READ"));
        assert!(!direction_matches("ITER_DEST", "WRITE"));
        assert!(!direction_matches("ITER_DEST", "is_write"));
        assert!(direction_matches("is_write", " is_write"));
    }

    #[test]
    fn source_paths_are_relative_and_normalised() {
        assert!(SourcePath::parse("drivers/vhost/vringh.c").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x.c",
            "a/../b.c",
            "a//b.c",
            "a\\b.c",
            "./a.c",
        ] {
            assert!(SourcePath::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("iov-iter-pin").is_ok());
        for bad in ["", "-x", "Iov", "a b", "a_b", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn people_and_subsystem_slugs() {
        let p = Person::parse("Christoph Hellwig <HCH@lst.de>").unwrap();
        assert_eq!(p.name, "Christoph Hellwig");
        assert_eq!(p.email, "hch@lst.de");
        assert_eq!(Person::parse("a@b.c").unwrap().name, "");
        assert!(Person::parse("nobody").is_err());
        let c = Person::parse("Paulo Alcantara <pc@cjr.nz> (DFS, global name space)").unwrap();
        assert_eq!(
            (c.name.as_str(), c.email.as_str()),
            ("Paulo Alcantara", "pc@cjr.nz")
        );
        assert!(Person::parse("A <a@b> trailing").is_err());
        assert_eq!(subsystem_slug("VIRTIO HOST (VHOST)"), "virtio-host-vhost");
        assert_eq!(
            subsystem_slug("FILESYSTEMS [NETFS LIBRARY]"),
            "filesystems-netfs-library"
        );
    }

    #[test]
    fn times_normalise_to_utc() {
        assert_eq!(
            parse_time("2022-09-20T03:04:05+02:00").unwrap(),
            "2022-09-20T01:04:05Z"
        );
        assert_eq!(parse_time("2022-09-20").unwrap(), "2022-09-20T00:00:00Z");
        assert!(parse_time("yesterday").is_err());
    }
}
