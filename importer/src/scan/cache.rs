//! Incremental re-scans: what the last scan of a campaign read of each file (stored by core in
//! `scan_dirs` and `scan_files`, migrations 0018 and 0023) and the rules for reusing it. A
//! file is read again when its size or mtime changed (or its mtime was too recent to trust),
//! parsed again only when its content hash changed; a spec (or scanner) change re-parses
//! everything; a MAINTAINERS change, or a file added or deleted, re-routes every site file
//! without re-parsing any; a changed file is routed again only when its content matches
//! other `K:` patterns than before ([`RoutingCache`]).

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use treewide_core::ingest::{ExcludedSection, SectionInput, SubsystemInput};
use treewide_core::model::Person;
use treewide_core::scan_files::{listing, Cached, ScanState, ScannedFile};
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
    /// The tree's listing as stored ([`treewide_core::scan_files::listing`]), one blob a
    /// group, and where each directory's record lies (decoded by the walk, in parallel).
    listings: Vec<Vec<u8>>,
    dirs: HashMap<String, (usize, Range<usize>)>,
    /// The files with a candidate call.
    files: HashMap<String, ScannedFile>,
    /// Sizes and mtimes describe this tree (the same root as now).
    trust_stat: bool,
    /// The MAINTAINERS the stored routing was computed with.
    maintainers_key: String,
    /// What re-routing needs of that MAINTAINERS, as stored.
    routing: Option<String>,
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
            routing: cached.state.routing,
            dirs: cached
                .listings
                .iter()
                .enumerate()
                .flat_map(|(i, (_, blob))| {
                    listing::index(blob)
                        .into_iter()
                        .map(move |(dir, range)| (dir, (i, range)))
                })
                .collect(),
            listings: cached.listings.into_iter().map(|(_, blob)| blob).collect(),
            files: cached
                .files
                .into_iter()
                .map(|f| (f.path.clone(), f))
                .collect(),
        })
    }

    /// The stored record of directory `dir` (`""` for the root), when it describes this tree.
    pub fn dir(&self, dir: &str) -> Option<&[u8]> {
        self.trust_stat.then(|| self.dir_body(dir)).flatten()
    }

    /// The stored record of directory `dir`, whatever tree it describes.
    pub fn dir_body(&self, dir: &str) -> Option<&[u8]> {
        let (blob, range) = self.dirs.get(dir)?;
        self.listings.get(*blob)?.get(range.clone())
    }

    /// The directories of the last scan.
    pub fn dirs(&self) -> impl Iterator<Item = &str> {
        self.dirs.keys().map(String::as_str)
    }

    /// The last scan found `.c`/`.h` files in directory `dir` (or cannot tell).
    pub fn had_files(&self, dir: &str) -> bool {
        self.dir_body(dir)
            .is_some_and(|b| listing::decode_dir(b).is_none_or(|d| !d.files.is_empty()))
    }

    /// The stored row of `path` when its content hash is `sha256` and it has findings.
    pub fn same_content(&self, path: &str, sha256: &str) -> Option<&ScannedFile> {
        let f = self.files.get(path)?;
        (f.sha256.as_deref() == Some(sha256) && f.found.is_some()).then_some(f)
    }

    /// The stored row of `path` (files with a candidate call).
    pub fn get(&self, path: &str) -> Option<&ScannedFile> {
        self.files.get(path)
    }

    /// Paths of the last scan's files with a candidate call.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The MAINTAINERS key of the stored routing.
    pub fn maintainers_key(&self) -> &str {
        &self.maintainers_key
    }

    /// What re-routing needs of the MAINTAINERS of [`Previous::maintainers_key`], if stored.
    pub fn routing(&self) -> Option<RoutingCache> {
        serde_json::from_str(self.routing.as_deref()?).ok()
    }
}

/// What routing a changed file needs of MAINTAINERS when MAINTAINERS and the tree's files
/// are as the last scan found them: a file's sections depend on its path, the tree's
/// directories, MAINTAINERS and which `K:` patterns its content matches, so a file whose
/// content matches the same `K:` patterns as before keeps its routing; the batch then needs
/// the specs of the sections its sites name (people, lists, status). Stored with the scan
/// (`scan_state.routing`) instead of parsing MAINTAINERS again.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoutingCache {
    /// MAINTAINERS' `K:` patterns in file order.
    pub keywords: Vec<String>,
    /// The sections the last scan's sites named.
    pub sections: Vec<StoredSection>,
}

/// A MAINTAINERS section as the batch needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredSection {
    name: String,
    maintainers: Vec<Person>,
    reviewers: Vec<Person>,
    lists: Vec<String>,
    status: Option<String>,
}

impl From<&SubsystemInput> for StoredSection {
    fn from(s: &SubsystemInput) -> StoredSection {
        StoredSection {
            name: s.name.clone(),
            maintainers: s.maintainers.clone(),
            reviewers: s.reviewers.clone(),
            lists: s.lists.clone(),
            status: s.status.clone(),
        }
    }
}

impl StoredSection {
    /// The section's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// As the batch takes it.
    pub fn to_input(&self) -> SubsystemInput {
        SubsystemInput {
            name: self.name.clone(),
            maintainers: self.maintainers.clone(),
            reviewers: self.reviewers.clone(),
            lists: self.lists.clone(),
            status: self.status.clone(),
        }
    }
}

impl RoutingCache {
    /// The stored form.
    pub fn to_json(&self) -> String {
        // Plain data: serialising it cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// How this scan came by a file's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Size and mtime as before: not read.
    Unchanged,
    /// Read; its content hash as before: the stored findings reused.
    SameContent,
    /// Read and parsed.
    Parsed,
}

/// One file with a candidate call as this scan saw it.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    /// `None` when it is too recent to trust (see [`RACY_NS`]) or unknown.
    pub mtime_ns: Option<i64>,
    pub sha256: String,
    /// Its findings in their stored form (JSON).
    pub found_json: String,
    pub how: How,
}

/// A time stamp (Unix seconds and nanoseconds) as the cache keeps it, `None` when it is within
/// [`RACY_NS`] of `started_ns` (or later): the file or directory may change again without it
/// moving.
pub fn stable_ns(sec: i64, nsec: i64, started_ns: i64) -> Option<i64> {
    let ns = sec.checked_mul(1_000_000_000)?.checked_add(nsec)?;
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
    /// The `K:` patterns (indices, see [`RoutingCache::keywords`]) the content matched;
    /// `None`: unknown, the file is routed again when its content changes.
    #[serde(default)]
    keywords: Option<Vec<usize>>,
}

/// The stored form of a file's routing, with the `K:` patterns its content matched.
pub fn routing_to_json(
    sections: &[SectionInput],
    excluded: &[ExcludedSection],
    keywords: Option<&[usize]>,
) -> String {
    let r = StoredRouting {
        keywords: keywords.map(<[usize]>::to_vec),
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

/// A file's routing from its stored form, with the `K:` patterns its content matched (when
/// known); `None` when it does not read back.
pub fn routing_from_json(file: &str, json: &str) -> Option<(Routing, Option<Vec<usize>>)> {
    let r: StoredRouting = serde_json::from_str(json).ok()?;
    let routing = (
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
    );
    Some((routing, r.keywords))
}

/// A file's MAINTAINERS sections and the sections `X:` lines took off it.
pub type Routing = (Vec<SectionInput>, Vec<ExcludedSection>);

/// The state to store with this scan's files.
pub fn state(
    tree: &str,
    spec: &Spec,
    maintainers_key: &str,
    started_ns: i64,
    routing: Option<&RoutingCache>,
) -> ScanState {
    ScanState {
        tree: tree.to_owned(),
        spec_key: spec_key(spec),
        maintainers_key: maintainers_key.to_owned(),
        started_ns,
        routing: routing.map(RoutingCache::to_json),
    }
}
