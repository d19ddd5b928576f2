//! Incremental re-scans: what the last scan of a campaign read of each file (stored by core in
//! `scan_files`, migration 0018) and the rules for reusing it. A file is read again when its
//! size or mtime changed (or its mtime was too recent to trust), parsed again only when its
//! content hash changed; a spec (or scanner) change re-parses everything; a MAINTAINERS change,
//! or a file added or deleted, re-routes every site file without re-parsing any.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use treewide_core::ingest::{ExcludedSection, SectionInput};
use treewide_core::scan_files::{Cached, ScanState, ScannedFile};
use treewide_formats::spec::Spec;

use super::source::{FoundSite, Problem};

/// Bump when the scanner finds other sites (or other data about them) in the same text:
/// cached findings of an older scanner are then thrown away.
const SCANNER: &str = concat!("treewide-scan/1 ", env!("CARGO_PKG_VERSION"));

/// A file whose mtime is this close to the start of the scan that read it may change again
/// within the filesystem's timestamp granularity without its mtime moving: it is read again
/// next time (git's "racily clean" entries).
const RACY_NS: i64 = 2_000_000_000;

/// What one file gave the scanner: its sites and, if the parser failed around a call, the
/// problem.
pub type FileScan = (Vec<FoundSite>, Option<Problem>);

/// The key of cached findings: the scanner's version and the spec's text.
pub fn spec_key(spec: &Spec) -> String {
    let mut h = Sha256::new();
    h.update(SCANNER.as_bytes());
    h.update([0]);
    h.update(spec.text.as_bytes());
    hex::encode(h.finalize())
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the last scan read, ready for the walk to ask.
#[derive(Debug, Default)]
pub struct Previous {
    files: HashMap<String, ScannedFile>,
    /// Sizes and mtimes describe this tree (the same root as now).
    trust_stat: bool,
    /// The MAINTAINERS the stored routing was computed with.
    maintainers_key: String,
}

impl Previous {
    /// The last scan of a campaign, if its findings were made with this spec and scanner.
    pub fn from_cache(cached: Cached, spec: &Spec, tree: &str) -> Option<Previous> {
        if cached.state.spec_key != spec_key(spec) {
            return None;
        }
        Some(Previous {
            trust_stat: cached.state.tree == tree,
            maintainers_key: cached.state.maintainers_key,
            files: cached
                .files
                .into_iter()
                .map(|f| (f.path.clone(), f))
                .collect(),
        })
    }

    /// The stored row of `path` when its size and mtime say it did not change.
    pub fn unchanged(&self, path: &str, size: u64, mtime_ns: Option<i64>) -> Option<&ScannedFile> {
        let f = self.files.get(path)?;
        (self.trust_stat && mtime_ns.is_some() && f.mtime_ns == mtime_ns && f.size == size as i64)
            .then_some(f)
    }

    /// The stored row of `path` when its content hash is `sha256` and it has findings.
    pub fn same_content(&self, path: &str, sha256: &str) -> Option<&ScannedFile> {
        let f = self.files.get(path)?;
        (f.sha256.as_deref() == Some(sha256) && f.found.is_some()).then_some(f)
    }

    /// The stored row of `path`.
    pub fn get(&self, path: &str) -> Option<&ScannedFile> {
        self.files.get(path)
    }

    /// Paths of the last scan.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// How many files the last scan read.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when the last scan read no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The MAINTAINERS key of the stored routing.
    pub fn maintainers_key(&self) -> &str {
        &self.maintainers_key
    }
}

/// How this scan came by a file's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Size and mtime as before: not read.
    Unchanged,
    /// Read; no candidate call (nothing to parse).
    NoCandidate,
    /// Read; its content hash as before: the stored findings reused.
    SameContent,
    /// Read and parsed.
    Parsed,
}

/// One file as this scan saw it.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    /// `None` when it is too recent to trust (see [`RACY_NS`]) or unknown.
    pub mtime_ns: Option<i64>,
    pub sha256: Option<String>,
    /// Its findings in their stored form (JSON), when it has a candidate call.
    pub found_json: Option<String>,
    pub how: How,
}

/// Modification time in Unix nanoseconds, `None` when it is within [`RACY_NS`] of `started`.
pub fn stable_mtime(meta: &std::fs::Metadata, started_ns: i64) -> Option<i64> {
    let t = meta.modified().ok()?;
    let ns = i64::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos()).ok()?;
    (ns < started_ns.saturating_sub(RACY_NS)).then_some(ns)
}

/// Now in Unix nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The stored form of a file's findings.
pub fn found_to_json(scan: &FileScan) -> String {
    // Plain data (strings and numbers): serialising it cannot fail.
    serde_json::to_string(scan).unwrap_or_default()
}

/// A file's findings from their stored form; `None` when they do not read back (then the
/// file is parsed again).
pub fn found_from_json(json: &str) -> Option<FileScan> {
    serde_json::from_str(json).ok()
}

/// How MAINTAINERS routes a file, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRouting {
    /// (section, depth, matched lines)
    sections: Vec<(String, Option<i32>, String)>,
    /// (section, matched lines, excluding lines)
    excluded: Vec<(String, String, String)>,
}

/// The stored form of a file's routing.
pub fn routing_to_json(sections: &[SectionInput], excluded: &[ExcludedSection]) -> String {
    let r = StoredRouting {
        sections: sections
            .iter()
            .map(|s| (s.name.clone(), s.depth, s.matched.clone()))
            .collect(),
        excluded: excluded
            .iter()
            .map(|x| (x.section.clone(), x.matched.clone(), x.excluded_by.clone()))
            .collect(),
    };
    serde_json::to_string(&r).unwrap_or_default()
}

/// A file's routing from its stored form; `None` when it does not read back.
pub fn routing_from_json(
    file: &str,
    json: &str,
) -> Option<(Vec<SectionInput>, Vec<ExcludedSection>)> {
    let r: StoredRouting = serde_json::from_str(json).ok()?;
    Some((
        r.sections
            .into_iter()
            .map(|(name, depth, matched)| SectionInput {
                name,
                depth,
                matched,
            })
            .collect(),
        r.excluded
            .into_iter()
            .map(|(section, matched, excluded_by)| ExcludedSection {
                file: file.to_owned(),
                section,
                matched,
                excluded_by,
            })
            .collect(),
    ))
}

/// The state to store with this scan's files.
pub fn state(tree: &str, spec: &Spec, maintainers_key: &str, started_ns: i64) -> ScanState {
    ScanState {
        tree: tree.to_owned(),
        spec_key: spec_key(spec),
        maintainers_key: maintainers_key.to_owned(),
        started_ns,
    }
}
