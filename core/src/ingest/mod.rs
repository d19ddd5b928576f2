//! Storing a batch of outside data (an auditor's file, the demo, a tree scan) in one
//! transaction: campaign, subsystems, verdict groups, sites, notes and references.
//!
//! Importers build a [`Batch`] from their format and call [`store`]. A batch that changes
//! nothing writes nothing (no import row, no events).
//!
//! `decide` holds the rules (which status a site gets, which stored site a scanned call is,
//! what a re-import changes) as pure functions; `store`, `campaign` and `scan` write what
//! they decide.

mod campaign;
mod decide;
mod scan;
mod store;

use crate::imports::ImportKind;
use crate::matcher::VerdictMatch;
use crate::model::{EventSource, ImportId, IterKind, Person, RefKind, Slug, SourcePath, Status};

pub use decide::identities;
pub use store::store;

/// The campaign a batch is about.
#[derive(Debug, Clone)]
pub struct CampaignInput {
    pub slug: Slug,
    pub title: Option<String>,
    pub description: Option<String>,
    pub rule: Option<String>,
    pub tree: Option<TreeInput>,
    /// The campaign spec (TOML) the sites were found with: it says what fixed looks like.
    pub spec_toml: Option<String>,
    /// When the campaign started (`YYYY-MM-DD`): older patches and commits fix nothing.
    pub start: Option<String>,
}

/// The source tree the sites were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeInput {
    pub describe: String,
    pub commit: Option<String>,
    pub url: Option<String>,
}

/// A subsystem as the batch knows it.
#[derive(Debug, Clone)]
pub struct SubsystemInput {
    pub name: String,
    pub maintainers: Vec<Person>,
    pub reviewers: Vec<Person>,
    pub lists: Vec<String>,
    pub status: Option<String>,
}

/// A verdict group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictInput {
    pub label: String,
    pub matches: VerdictMatch,
    pub status: Status,
    pub reason: String,
    /// When the group's status became true for its sites, as the input says (RFC 3339 or
    /// YYYY-MM-DD): the burndown dates the sites it decides done by it.
    pub date: Option<String>,
}

/// A note; `ask` makes it an open question to that subsystem's owners.
#[derive(Debug, Clone)]
pub struct NoteInput {
    pub author: String,
    pub text: String,
    /// Stored time form (see [`crate::model::parse_time`]).
    pub date: Option<String>,
    pub ask: Option<String>,
    pub subsystem: Option<String>,
}

/// A reference to a commit, a mail message or a web page.
#[derive(Debug, Clone)]
pub struct RefInput {
    pub kind: RefKind,
    /// Commit id, Message-ID without angle brackets, or URL.
    pub target: String,
    pub title: String,
    pub author: Option<String>,
    pub date: Option<String>,
}

impl RefInput {
    /// The `[vhost]` / `vhost:` tag of a commit subject, if any.
    pub fn tag(&self) -> Option<String> {
        (self.kind == RefKind::Commit)
            .then(|| crate::history::subject_tag(&self.title))
            .flatten()
    }
}

/// One call site.
#[derive(Debug, Clone)]
pub struct SiteInput {
    pub file: SourcePath,
    pub line: u32,
    pub column: Option<u32>,
    pub function: Option<String>,
    pub callee: String,
    pub code: String,
    pub iter_kind: IterKind,
    pub direction: Option<String>,
    /// A per-site decision; `None` (or `unreviewed`) leaves it to the verdict groups.
    pub status: Option<Status>,
    pub reason: Option<String>,
    /// When `status` became true, when the input says (RFC 3339 or YYYY-MM-DD): logged as the
    /// status event's time of the fact.
    pub status_date: Option<String>,
    pub subsystem: Option<String>,
    pub notes: Vec<NoteInput>,
    pub refs: Vec<RefInput>,
    /// Source lines around the call and the number of the first (from a tree scan).
    pub context: Option<(String, u32)>,
    /// Every subsystem of the file, primary first (from a tree scan; empty: not known).
    pub all_subsystems: Vec<SectionInput>,
}

/// A MAINTAINERS section a site's file belongs to, as a tree scan matched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionInput {
    /// The section (subsystem) name.
    pub name: String,
    /// get_maintainer.pl's match depth: that of the section's last matching `F:`/`N:` line;
    /// `None` for a match by `K:` (content) only.
    pub depth: Option<i32>,
    /// The lines that matched, one per line, as written (`F:\tfs/ceph/`).
    pub matched: String,
}

impl SectionInput {
    /// A section known by name only (no depth, no lines).
    pub fn named(name: impl Into<String>) -> SectionInput {
        SectionInput {
            name: name.into(),
            depth: None,
            matched: String::new(),
        }
    }
}

/// A section whose `F:`/`N:` lines match a scanned file but that an `X:` line takes off it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ExcludedSection {
    pub file: String,
    pub section: String,
    /// The `F:`/`N:` lines that matched, one per line.
    pub matched: String,
    /// The `X:` lines that excluded it, one per line.
    pub excluded_by: String,
}

/// What a tree scan adds to a batch.
#[derive(Debug, Clone, Default)]
pub struct ScanInfo {
    /// Path prefixes the scan covered (empty: the whole tree). Stored sites there that the
    /// scan did not find are marked gone.
    pub scope: Vec<String>,
    /// Files the scanner could not parse cleanly: (file, reason, sites found by text).
    pub problems: Vec<(String, String, u32)>,
    /// Files the scan read.
    pub files: u64,
    /// Sections `X:` lines took off the files with sites.
    pub exclusions: Vec<ExcludedSection>,
}

/// Where a batch came from, for the import record and events.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: EventSource,
    /// File name or URL shown in history.
    pub name: String,
    /// SHA-256 (hex) of the file read; empty for a tree scan, which reads no one file.
    pub sha256: String,
    pub actor: String,
}

impl Origin {
    /// The kind of import the batch is, for the import log.
    fn import_kind(&self) -> ImportKind {
        match self.source {
            EventSource::Demo => ImportKind::Demo,
            EventSource::Scan => ImportKind::Scan,
            _ => ImportKind::Auditor,
        }
    }
}

/// Everything one import stores.
#[derive(Debug, Clone)]
pub struct Batch {
    pub origin: Origin,
    pub campaign: CampaignInput,
    pub subsystems: Vec<SubsystemInput>,
    /// `Some` replaces the campaign's verdict groups; `None` keeps them.
    pub verdicts: Option<Vec<VerdictInput>>,
    pub notes: Vec<NoteInput>,
    pub refs: Vec<RefInput>,
    pub sites: Vec<SiteInput>,
    /// Present for tree scans.
    pub scan: Option<ScanInfo>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub campaign: String,
    pub import_id: Option<ImportId>,
    pub sites_total: u64,
    pub sites_new: u64,
    /// Existing sites whose data (line, subsystem…) or status changed.
    pub sites_changed: u64,
    pub status_changes: u64,
    pub notes_new: u64,
    pub refs_new: u64,
    pub verdicts_replaced: bool,
    /// Stored sites a scan no longer found: now gone (file:line as stored).
    pub gone: Vec<String>,
    /// Stored sites matched to a scanned call by code near their old line (file:old → new).
    pub rematched: Vec<String>,
}

impl Summary {
    /// True when the batch changed nothing (and so nothing was written).
    pub fn is_noop(&self) -> bool {
        self.import_id.is_none()
    }
}
