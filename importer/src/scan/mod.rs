//! Scanning a kernel source tree for a campaign's calls: the pipeline `treewide scan` runs.
//!
//! [`run`] walks the tree (`walk.rs`: parallel, with a byte prefilter), finds each file's
//! calls with tree-sitter-c (`source.rs`), classifies them by the campaign spec and maps them
//! to MAINTAINERS subsystems (`batch.rs`), then stores the batch in one transaction (re-scans
//! keep identities and mark removed calls gone). [`document`] runs the same steps up to the
//! batch and gives it as a `treewide-audit/1` document instead (`treewide scan --json`).

mod batch;
mod source;
mod walk;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use treewide_core::ingest::{self, Batch, Origin, SectionInput, SiteInput};
use treewide_core::model::EventSource;
use treewide_core::SqlitePool;
use treewide_formats::audit::Document;
use treewide_formats::spec::Spec;

pub use batch::{file_routing, load_maintainers, subsystem_names, to_batch, to_site_specs};
pub use source::{
    new_parser, scan_source, scan_source_explained, FoundSite, NotACall, Problem, CONTEXT_LINES,
};
pub use walk::{describe, scan_tree, ScanResult};

use crate::maintainers::Maintainers;

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
    let scanned = scan(req, progress)?;
    let slug = req.spec.campaign.slug.as_str();
    if let Some(c) = req.campaign.as_deref().filter(|c| *c != slug) {
        anyhow::bail!("--campaign {c} does not match the spec's campaign {slug}");
    }
    let summary = ingest::store(db, &scanned.batch)
        .await
        .context("storing the scan failed, nothing stored")?;
    Ok(ScanReport {
        counts: scanned.counts,
        summary,
    })
}

/// Scan the tree and give its calls as a `treewide-audit/1` document, for an auditor to
/// review and import.
pub fn document(req: &ScanRequest, progress: &dyn Progress) -> anyhow::Result<Document> {
    crate::auditor::from_batch(&scan(req, progress)?.batch)
}

/// A scanned tree, ready to store.
struct Scanned {
    counts: ScanCounts,
    batch: Batch,
}

/// Walk, parse, classify and map to subsystems.
fn scan(req: &ScanRequest, progress: &dyn Progress) -> anyhow::Result<Scanned> {
    let (tree, spec) = (req.tree.as_path(), &req.spec);
    let started = Instant::now();
    let result = scan_tree(tree, spec, &|files| progress.files_read(files))?;
    let describe = req.describe.clone().or_else(|| result.describe.clone());
    tracing::debug!(elapsed = ?started.elapsed(), "scanned");
    let maintainers = load_maintainers(tree)?;
    tracing::debug!(elapsed = ?started.elapsed(), "MAINTAINERS loaded");
    // Each file with sites is routed once: its sections for the sites, its exclusions for
    // the batch.
    let mut routes: HashMap<&str, Vec<SectionInput>> = HashMap::new();
    let mut exclusions = Vec::new();
    if let Some(m) = &maintainers {
        for s in &result.sites {
            if let std::collections::hash_map::Entry::Vacant(v) = routes.entry(s.file.as_str()) {
                let (sections, excluded) = file_routing(m, tree, &s.file);
                v.insert(sections);
                exclusions.extend(excluded);
            }
        }
    }
    let subsystems_of = |f: &str| routes.get(f).cloned().unwrap_or_default();
    let sites: Vec<(SiteInput, Vec<String>)> = to_site_specs(&result, spec, &subsystems_of);
    tracing::debug!(elapsed = ?started.elapsed(), "sites classified and mapped to subsystems");
    for p in &result.problems {
        tracing::debug!(file = %p.file, reason = %p.reason, "parse problem");
    }
    let counts = ScanCounts {
        files: result.files_total,
        files_matched: result.files_matched,
        sites: sites.len(),
        problems: result.problems.len(),
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
    let m: Option<&Maintainers> = maintainers.as_ref();
    let batch = to_batch(
        &result,
        spec,
        describe.as_deref(),
        sites,
        m,
        exclusions,
        origin,
    );
    Ok(Scanned { counts, batch })
}
