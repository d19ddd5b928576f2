//! Walking a kernel source tree: every `.c` and `.h` file is read, in parallel; a byte
//! prefilter (Aho-Corasick over the callees' literal prefixes) keeps only files that can hold
//! a call, and those go to [`super::source`]. Given the last scan's files ([`Previous`]), a
//! file whose size and mtime did not change is not read, and one whose content hash did not
//! change is not parsed: their stored findings are reused.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use rayon::prelude::*;
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;

use super::cache::{self, FileRecord, FileScan, How, Previous};
use super::source::{new_parser, scan_source, FoundSite, Problem};

/// The result of scanning a tree.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub sites: Vec<FoundSite>,
    pub problems: Vec<Problem>,
    pub files_total: u64,
    pub files_matched: u64,
    /// `v6.1.172` from the tree's Makefile, when it has one.
    pub describe: Option<String>,
    /// Every file read (or known unchanged), by path.
    pub files: Vec<FileRecord>,
}

impl ScanResult {
    /// Files read from disk this time (all of them without a previous scan).
    pub fn files_read(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.how != How::Unchanged)
            .count() as u64
    }

    /// Files parsed this time.
    pub fn files_parsed(&self) -> u64 {
        self.files.iter().filter(|f| f.how == How::Parsed).count() as u64
    }
}

/// One file: how this scan knows it, and its findings when it has a candidate call.
type Visited = (FileRecord, Option<FileScan>);

/// Scan the tree at `root`. `progress` is called now and then with the number of files read.
///
/// The walk itself is parallel (one work unit per directory two levels down, like ripgrep's
/// parallel walker), so reading overlaps listing; each thread reuses one read buffer and one
/// parser.
pub fn scan_tree(
    root: &Path,
    spec: &Spec,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<ScanResult> {
    scan_tree_with(root, spec, None, cache::now_ns(), progress)
}

/// [`scan_tree`], reusing what `previous` (the last scan of the same campaign, with the same
/// spec) found in files that did not change. `started_ns` is when this scan started: files
/// modified since (or just before) get no trusted mtime.
pub fn scan_tree_with(
    root: &Path,
    spec: &Spec,
    previous: Option<&Previous>,
    started_ns: i64,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<ScanResult> {
    let matcher = CallMatcher::new(spec)?;
    if !root.is_dir() {
        anyhow::bail!("{} is not a directory", root.display());
    }
    let units = work_units(root).with_context(|| format!("cannot list {}", root.display()))?;
    let done = AtomicU64::new(0);
    let per_unit: Vec<anyhow::Result<(u64, Vec<Visited>)>> = units
        .par_iter()
        .map_init(
            || (new_parser(), Vec::with_capacity(1 << 20)),
            |(parser, buf), unit| {
                let mut found = Vec::new();
                let mut files = 0u64;
                let mut visit = |path: &Path| -> anyhow::Result<()> {
                    files += 1;
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_multiple_of(1024) {
                        progress(n);
                    }
                    let rel = path
                        .strip_prefix(root)
                        .unwrap_or(path)
                        .to_string_lossy()
                        .replace('\\', "/");
                    let mut meta = None;
                    if let Some(prev) = previous {
                        let m = std::fs::metadata(path)
                            .with_context(|| format!("cannot read {}", path.display()))?;
                        let mtime_ns = cache::stable_mtime(&m, started_ns);
                        if let Some(old) = prev.unchanged(&rel, m.len(), mtime_ns) {
                            // Stored findings that do not read back: read the file again.
                            let scan = match &old.found {
                                None => Some(None),
                                Some(j) => cache::found_from_json(j).map(Some),
                            };
                            if let Some(scan) = scan {
                                let record = FileRecord {
                                    path: rel,
                                    size: m.len(),
                                    mtime_ns,
                                    sha256: old.sha256.clone(),
                                    found_json: old.found.clone(),
                                    how: How::Unchanged,
                                };
                                found.push((record, scan));
                                return Ok(());
                            }
                        }
                        meta = Some(m);
                    }
                    buf.clear();
                    let mut file = std::fs::File::open(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let meta = match meta {
                        Some(m) => m,
                        None => file
                            .metadata()
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    };
                    file.read_to_end(buf)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let mut record = FileRecord {
                        path: rel,
                        size: meta.len(),
                        mtime_ns: cache::stable_mtime(&meta, started_ns),
                        sha256: None,
                        found_json: None,
                        how: How::NoCandidate,
                    };
                    if !matcher.may_hold_call(&buf[..]) {
                        found.push((record, None));
                        return Ok(());
                    }
                    let sha = cache::sha256_hex(buf);
                    let reused = previous
                        .and_then(|p| p.same_content(&record.path, &sha))
                        .and_then(|old| {
                            let j = old.found.as_ref()?;
                            Some((cache::found_from_json(j)?, j.clone()))
                        });
                    let scan = match reused {
                        Some((scan, json)) => {
                            record.how = How::SameContent;
                            record.found_json = Some(json);
                            scan
                        }
                        None => {
                            let scan = scan_source(&record.path, buf, spec, &matcher, parser);
                            record.how = How::Parsed;
                            record.found_json = Some(cache::found_to_json(&scan));
                            scan
                        }
                    };
                    record.sha256 = Some(sha);
                    found.push((record, Some(scan)));
                    Ok(())
                };
                match unit {
                    Unit::File(p) => visit(p)?,
                    Unit::Dir(d) => {
                        for e in walkdir::WalkDir::new(d).sort_by_file_name() {
                            let e = e.with_context(|| format!("cannot list {}", d.display()))?;
                            if e.file_type().is_dir() && e.depth() > 0 && is_hidden(e.file_name()) {
                                continue;
                            }
                            if e.file_type().is_file() && is_c_source(e.file_name()) {
                                visit(e.path())?;
                            }
                        }
                    }
                }
                Ok((files, found))
            },
        )
        .collect();
    let mut out = ScanResult {
        describe: describe(root),
        ..Default::default()
    };
    for r in per_unit {
        let (files, found) = r?;
        out.files_total += files;
        for (record, scan) in found {
            if let Some((sites, problem)) = scan {
                out.files_matched += 1;
                out.sites.extend(sites);
                out.problems.extend(problem);
            }
            out.files.push(record);
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    progress(out.files_total);
    out.sites
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    out.problems.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

/// A piece of the walk: one file, or one directory to walk whole.
enum Unit {
    File(PathBuf),
    Dir(PathBuf),
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn is_c_source(name: &std::ffi::OsStr) -> bool {
    let n = name.as_encoded_bytes();
    n.ends_with(b".c") || n.ends_with(b".h")
}

/// Files in the top two levels, and every directory two levels down, skipping hidden ones.
fn work_units(root: &Path) -> std::io::Result<Vec<Unit>> {
    let mut units = Vec::new();
    let mut level = vec![root.to_path_buf()];
    for depth in 0..2 {
        let mut next = Vec::new();
        for dir in level {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let name = e.file_name();
                let ft = e.file_type()?;
                if ft.is_dir() && !is_hidden(&name) {
                    if depth == 1 {
                        units.push(Unit::Dir(e.path()));
                    } else {
                        next.push(e.path());
                    }
                } else if ft.is_file() && is_c_source(&name) {
                    units.push(Unit::File(e.path()));
                }
            }
        }
        level = next;
    }
    Ok(units)
}

/// `v6.1.172` from the tree's top Makefile.
pub fn describe(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("Makefile")).ok()?;
    let var = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(name)?
                .trim_start()
                .strip_prefix('=')
                .map(|v| v.trim().to_owned())
        })
    };
    let (v, p) = (var("VERSION")?, var("PATCHLEVEL")?);
    let s = var("SUBLEVEL").filter(|s| !s.is_empty() && s != "0");
    let extra = var("EXTRAVERSION").unwrap_or_default();
    Some(match s {
        Some(s) => format!("v{v}.{p}.{s}{extra}"),
        None => format!("v{v}.{p}{extra}"),
    })
}
