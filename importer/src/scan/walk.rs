//! Walking a kernel source tree: every `.c` and `.h` file is read, in parallel; a byte
//! prefilter (Aho-Corasick over the callees' literal prefixes) keeps only files that can hold
//! a call, and those go to [`super::source`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use rayon::prelude::*;
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;

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
}

/// What one file gave: its sites and, if the parser failed around a call, the problem.
type FileScan = (Vec<FoundSite>, Option<Problem>);

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
    let matcher = CallMatcher::new(spec)?;
    if !root.is_dir() {
        anyhow::bail!("{} is not a directory", root.display());
    }
    let units = work_units(root).with_context(|| format!("cannot list {}", root.display()))?;
    let done = AtomicU64::new(0);
    let per_unit: Vec<anyhow::Result<(u64, Vec<FileScan>)>> = units
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
                    buf.clear();
                    std::fs::File::open(path)
                        .and_then(|mut f| f.read_to_end(buf))
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    if matcher.may_hold_call(&buf[..]) {
                        let rel = path
                            .strip_prefix(root)
                            .unwrap_or(path)
                            .to_string_lossy()
                            .replace('\\', "/");
                        found.push(scan_source(&rel, buf, spec, &matcher, parser));
                    }
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
        for (sites, problem) in found {
            out.files_matched += 1;
            out.sites.extend(sites);
            out.problems.extend(problem);
        }
    }
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
