//! Scanning a kernel source tree for a campaign's calls: the pipeline `treewide scan` runs.
//!
//! [`run`] walks the tree (`walk.rs`: parallel, with a byte prefilter), finds each file's
//! calls with tree-sitter-c (`source.rs`), classifies them by the campaign spec and maps them
//! to MAINTAINERS subsystems (`batch.rs`), then stores the batch in one transaction (re-scans
//! keep identities and mark removed calls gone). [`document`] runs the same steps up to the
//! batch and gives it as a `treewide-audit/1` document instead (`treewide scan --json`).
//!
//! A stored scan is incremental (`cache.rs`): how the campaign's last scan listed the tree
//! and what it found in each file with a candidate call are kept (`core::scan_files`), so a
//! re-scan lists only directories whose entries changed, reads only files whose size or mtime
//! changed, parses only those whose content changed, and routes through MAINTAINERS only the
//! parsed files whose content matches other `K:` patterns than before (every site file when
//! MAINTAINERS changed or a file came or went); MAINTAINERS is not even parsed when no file
//! needs routing. The batch it stores is the one a full scan would build;
//! `ScanRequest::full` ignores the stored files.

mod batch;
pub mod cache;
mod changed;
mod source;
mod walk;
pub mod watch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use treewide_core::ingest::{self, Batch, Origin, SiteInput, SubsystemInput};
use treewide_core::model::EventSource;
use treewide_core::scan_files::listing::{self, ListingWriter};
use treewide_core::scan_files::{self, ScannedFile, Update};
use treewide_core::SqlitePool;
use treewide_formats::audit::Document;
use treewide_formats::spec::Spec;

pub use batch::{file_routing, load_maintainers, subsystem_names, to_batch, to_site_specs};
pub use changed::Changed;
pub use source::{
    new_parser, scan_source, scan_source_explained, FoundSite, NotACall, Problem, CONTEXT_LINES,
};
pub use walk::{describe, scan_tree, scan_tree_with, DirRecord, ScanResult};

use crate::maintainers::{Keywords, Maintainers};
use cache::{How, Previous, Routing, RoutingCache, StoredSection};

/// What to scan, and for whom.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// Root of the kernel source tree.
    pub tree: PathBuf,
    /// Which calls to find and how to classify them.
    pub spec: Spec,
    /// The campaign the caller named; storing refuses a spec that fills another one.
    pub campaign: Option<String>,
    /// The tree's version to record (default: from its Makefile, e.g. v6.1.172).
    pub describe: Option<String>,
    /// Who scans, as recorded in the history.
    pub actor: String,
    /// Read and parse every file, ignoring what the campaign's last scan found (it is
    /// replaced by what this one finds).
    pub full: bool,
    /// The paths that may have changed since the campaign's last scan of this tree, when the
    /// caller knows (a file watcher, a hook): the rest is taken as that scan stored it, not
    /// even stat-ed ([`Changed`]). Ignored without such a scan, or with `full`.
    pub changed: Option<Changed>,
}

/// How much a scan read and found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCounts {
    /// C files read.
    pub files: u64,
    /// Files with candidate calls (parsed).
    pub files_matched: u64,
    /// Call sites found.
    pub sites: usize,
    /// Files not fully parsed.
    pub problems: usize,
    /// Files read from disk (the others did not change since the last scan).
    pub files_read: u64,
    /// Files stat-ed (all of them unless the caller said which paths changed).
    pub files_checked: u64,
    /// Files parsed (the others' findings were reused or they had no candidate call).
    pub files_parsed: u64,
    /// Site files routed through MAINTAINERS (the others' routing was reused).
    pub files_routed: u64,
    /// Directories walked.
    pub dirs: u64,
    /// Directories listed (the others' entries had not changed since the last scan).
    pub dirs_listed: u64,
}

/// What a scan tells its caller while it runs.
pub trait Progress: Sync {
    /// `files` files have been read so far.
    fn files_read(&self, files: u64);
    /// The tree is read and its calls classified; storing (or writing) comes next.
    fn scanned(&self, counts: &ScanCounts);
}

/// No reports.
impl Progress for () {
    fn files_read(&self, _: u64) {}
    fn scanned(&self, _: &ScanCounts) {}
}

/// What [`run`] did.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// What the scan read and found.
    pub counts: ScanCounts,
    /// What storing it changed.
    pub summary: ingest::Summary,
}

/// Scan the tree and store its calls as the campaign's sites, in one transaction.
pub async fn run(
    db: &SqlitePool,
    req: &ScanRequest,
    progress: &dyn Progress,
) -> anyhow::Result<ScanReport> {
    let slug = req.spec.campaign.slug.as_str();
    if let Some(c) = req.campaign.as_deref().filter(|c| *c != slug) {
        anyhow::bail!("--campaign {c} does not match the spec's campaign {slug}");
    }
    let t = Instant::now();
    let previous = if req.full {
        None
    } else {
        scan_files::load(db, slug)
            .await
            .context("reading the last scan's files")?
            .and_then(|c| Previous::from_cache(c, &req.spec, &tree_key(&req.tree)))
    };
    tracing::debug!(elapsed = ?t.elapsed(), "last scan's files loaded");
    let scanned = scan(req, previous.as_ref(), progress)?;
    tracing::debug!(elapsed = ?t.elapsed(), "tree scanned");
    let summary = ingest::store(db, &scanned.batch)
        .await
        .context("storing the scan failed, nothing stored")?;
    tracing::debug!(elapsed = ?t.elapsed(), "sites stored");
    // After the sites: the stored files describe what this scan read, and a lost update only
    // costs the next scan a re-read.
    scan_files::save(db, slug, &scanned.files)
        .await
        .context("recording the scanned files")?;
    tracing::debug!(elapsed = ?t.elapsed(), "scanned files recorded");
    Ok(ScanReport {
        counts: scanned.counts,
        summary,
    })
}

/// Scan the tree and give its calls as a `treewide-audit/1` document, for an auditor to
/// review and import.
pub fn document(req: &ScanRequest, progress: &dyn Progress) -> anyhow::Result<Document> {
    crate::auditor::from_batch(&scan(req, None, progress)?.batch)
}

/// A scanned tree, ready to store.
struct Scanned {
    counts: ScanCounts,
    batch: Batch,
    /// What to record of the files read.
    files: Update,
}

/// The tree's root as the stored files name it: sizes and mtimes hold for that root only.
fn tree_key(tree: &Path) -> String {
    tree.canonicalize()
        .unwrap_or_else(|_| tree.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// A file's routing, and the `K:` patterns its content matched when known.
type FileRoute = (Routing, Option<Vec<usize>>);

/// MAINTAINERS, parsed when the scan first needs it (and only then: a re-scan that reuses
/// every routing does not).
struct LazyMaintainers<'a> {
    tree: &'a Path,
    parsed: Option<Maintainers>,
}

impl LazyMaintainers<'_> {
    fn get(&mut self) -> anyhow::Result<&Maintainers> {
        if self.parsed.is_none() {
            self.parsed = Some(crate::maintainers::from_tree(self.tree)?);
        }
        Ok(self.parsed.as_ref().expect("parsed above"))
    }
}

/// Walk, parse, classify and map to subsystems; with `previous`, reuse what it found in the
/// files that did not change.
fn scan(
    req: &ScanRequest,
    previous: Option<&Previous>,
    progress: &dyn Progress,
) -> anyhow::Result<Scanned> {
    let (tree, spec) = (req.tree.as_path(), &req.spec);
    let started = Instant::now();
    let started_ns = cache::now_ns();
    let changed = req.changed.as_ref().filter(|_| !req.full);
    let result = scan_tree_with(tree, spec, previous, changed, started_ns, &|files| {
        progress.files_read(files)
    })?;
    let describe = req.describe.clone().or_else(|| result.describe.clone());
    tracing::debug!(elapsed = ?started.elapsed(), "scanned");
    let maintainers_file = tree.join("MAINTAINERS");
    let has_maintainers = maintainers_file.is_file();
    let maintainers_key = match std::fs::read(&maintainers_file) {
        Ok(text) => cache::sha256_hex(&text),
        Err(_) if !maintainers_file.exists() => String::new(),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", maintainers_file.display()))
        }
    };
    // Stored routing holds while MAINTAINERS and the set of files stay the same (a directory
    // pattern's meaning depends on which directories exist) and, for a file whose content
    // changed, while it matches the same K: patterns.
    let reuse_routing =
        result.same_files && previous.is_some_and(|p| p.maintainers_key() == maintainers_key);
    let routing_cache = previous
        .filter(|_| reuse_routing)
        .and_then(Previous::routing);
    let mut keywords: Option<Option<Keywords>> = None;
    let mut maintainers = LazyMaintainers { tree, parsed: None };
    let how: HashMap<&str, How> = result
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.how))
        .collect();
    // Each file with sites is routed once: its sections for the sites, its exclusions for
    // the batch.
    let mut routes: HashMap<&str, FileRoute> = HashMap::new();
    let mut routed: HashSet<&str> = HashSet::new();
    let mut exclusions = Vec::new();
    if has_maintainers {
        for s in &result.sites {
            let file = s.file.as_str();
            let std::collections::hash_map::Entry::Vacant(v) = routes.entry(file) else {
                continue;
            };
            let stored = previous
                .filter(|_| reuse_routing)
                .and_then(|p| p.get(file)?.routing.as_deref())
                .and_then(|j| cache::routing_from_json(file, j));
            let reused = match (stored, how.get(file)) {
                (Some(r), Some(How::Unchanged | How::SameContent)) => Some(r),
                (Some((r, Some(kw))), Some(How::Parsed)) => {
                    let compiled = keywords.get_or_insert_with(|| {
                        routing_cache
                            .as_ref()
                            .and_then(|c| Keywords::new(&c.keywords).ok())
                    });
                    compiled
                        .as_ref()
                        .map(|k| k.matches(file, batch::routing_text(tree, file).as_deref()))
                        .filter(|now| *now == kw)
                        .map(|_| (r, Some(kw)))
                }
                _ => None,
            };
            let route = match reused {
                Some(r) => r,
                None => {
                    routed.insert(file);
                    let (r, kw) = batch::file_routing_keywords(maintainers.get()?, tree, file);
                    (r, Some(kw))
                }
            };
            exclusions.extend(route.0 .1.iter().cloned());
            v.insert(route);
        }
    }
    let subsystems_of = |f: &str| routes.get(f).map(|r| r.0 .0.clone()).unwrap_or_default();
    let sites: Vec<(SiteInput, Vec<String>)> = to_site_specs(&result, spec, &subsystems_of);
    tracing::debug!(elapsed = ?started.elapsed(), "sites classified and mapped to subsystems");
    // The specs of the sections the sites name: from the stored routing cache when it has
    // them all (MAINTAINERS is the one they were taken from), else from MAINTAINERS.
    let used = batch::used_subsystems(&sites);
    let from_cache = routing_cache
        .as_ref()
        .filter(|_| maintainers.parsed.is_none())
        .map(|c| {
            let sections: Vec<&StoredSection> = c
                .sections
                .iter()
                .filter(|s| used.binary_search(&s.name()).is_ok())
                .collect();
            let all = used.iter().all(|u| sections.iter().any(|s| s.name() == *u));
            (all, sections)
        })
        .filter(|(all, _)| *all)
        .map(|(_, sections)| sections.into_iter().cloned().collect::<Vec<_>>());
    let (subsystems, new_cache): (Vec<SubsystemInput>, Option<RoutingCache>) =
        match (has_maintainers, from_cache) {
            (false, _) => (Vec::new(), None),
            (true, Some(sections)) => (
                sections.iter().map(StoredSection::to_input).collect(),
                Some(RoutingCache {
                    keywords: routing_cache.map(|c| c.keywords).unwrap_or_default(),
                    sections,
                }),
            ),
            (true, None) => {
                let m = maintainers.get()?;
                let specs: Vec<SubsystemInput> = m
                    .to_specs()
                    .into_iter()
                    .filter(|s| used.binary_search(&s.name.as_str()).is_ok())
                    .collect();
                let cache = RoutingCache {
                    keywords: m.keyword_patterns(),
                    sections: specs.iter().map(StoredSection::from).collect(),
                };
                (specs, Some(cache))
            }
        };
    tracing::debug!(
        elapsed = ?started.elapsed(),
        parsed = maintainers.parsed.is_some(),
        "MAINTAINERS consulted"
    );
    for p in &result.problems {
        tracing::debug!(file = %p.file, reason = %p.reason, "parse problem");
    }
    let counts = ScanCounts {
        files: result.files_total,
        files_matched: result.files_matched,
        sites: sites.len(),
        problems: result.problems.len(),
        files_read: result.files_read,
        files_checked: result.files_checked,
        files_parsed: result.files_parsed,
        files_routed: routed.len() as u64,
        dirs: result.dirs.len() as u64,
        dirs_listed: result.dirs_listed,
    };
    progress.scanned(&counts);
    let origin = Origin {
        source: EventSource::Scan,
        name: format!(
            "scan of {} ({})",
            tree.display(),
            describe.as_deref().unwrap_or("unknown version")
        ),
        sha256: String::new(),
        actor: req.actor.clone(),
    };
    let files = files_update(
        &result,
        previous,
        &routes,
        &routed,
        cache::state(
            &tree_key(tree),
            spec,
            &maintainers_key,
            started_ns,
            new_cache.as_ref(),
        ),
    );
    let batch = batch::batch_of(
        &result,
        spec,
        describe.as_deref(),
        sites,
        subsystems,
        exclusions,
        origin,
    );
    Ok(Scanned {
        counts,
        batch,
        files,
    })
}

/// What changes in the stored files: the tree's listing when a directory changed, every file
/// with a candidate call read or routed again, the ones gone from the tree (or without a
/// candidate call now); all of them without a previous scan.
fn files_update(
    result: &ScanResult,
    previous: Option<&Previous>,
    routes: &HashMap<&str, FileRoute>,
    routed: &HashSet<&str>,
    state: treewide_core::scan_files::ScanState,
) -> Update {
    let upsert = result
        .files
        .iter()
        .filter(|f| {
            previous.is_none() || f.how != How::Unchanged || routed.contains(f.path.as_str())
        })
        .map(|f| ScannedFile {
            path: f.path.clone(),
            size: i64::try_from(f.size).unwrap_or(i64::MAX),
            mtime_ns: f.mtime_ns,
            sha256: Some(f.sha256.clone()),
            found: Some(f.found_json.clone()),
            routing: routes
                .get(f.path.as_str())
                .map(|((sections, excluded), kw)| {
                    cache::routing_to_json(sections, excluded, kw.as_deref())
                }),
        })
        .collect();
    // The groups of directories to write again: those with a directory that changed, came or
    // went; the others' records stay as stored, and so do the unchanged directories' records
    // in the groups written again.
    let mut groups: BTreeMap<&str, (bool, Vec<&DirRecord>)> = BTreeMap::new();
    for d in &result.dirs {
        let g = groups.entry(listing::group_of(&d.dir)).or_default();
        g.0 |= previous.is_none() || d.changed.is_some();
        g.1.push(d);
    }
    let mut gone_groups = Vec::new();
    if let Some(p) = previous {
        let mut before: HashMap<&str, usize> = HashMap::new();
        for d in p.dirs() {
            *before.entry(listing::group_of(d)).or_default() += 1;
        }
        for (group, n) in before {
            match groups.get_mut(group) {
                Some(g) => g.0 |= g.1.len() != n,
                None => gone_groups.push(group.to_owned()),
            }
        }
        for g in groups.values_mut() {
            g.0 |= g.1.iter().any(|d| p.dir_body(&d.dir).is_none());
        }
    }
    let listings = groups
        .into_iter()
        .filter(|(_, (dirty, _))| *dirty)
        .map(|(group, (_, dirs))| {
            let mut w = ListingWriter::new();
            for d in dirs {
                let body = d
                    .changed
                    .as_deref()
                    .or_else(|| previous.and_then(|p| p.dir_body(&d.dir)));
                // Always one or the other; without either the directory is listed next time.
                if let Some(body) = body {
                    w.push(&d.dir, body);
                }
            }
            (group.to_owned(), w.finish())
        })
        .collect();
    let delete = match previous {
        Some(p) => {
            let now: HashSet<&str> = result.files.iter().map(|f| f.path.as_str()).collect();
            p.paths()
                .filter(|p| !now.contains(p))
                .map(str::to_owned)
                .collect()
        }
        None => Vec::new(),
    };
    Update {
        state,
        replace: previous.is_none(),
        listings,
        gone_groups,
        upsert,
        delete,
    }
}
