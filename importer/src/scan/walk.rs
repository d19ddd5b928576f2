//! Walking a kernel source tree: every `.c` and `.h` file is read, in parallel; a byte
//! prefilter (Aho-Corasick over the callees' literal prefixes) keeps only files that can hold
//! a call, and those go to [`super::source`]. Given the last scan's files ([`Previous`]), a
//! file whose size and mtime did not change is only stat-ed, never opened, and one whose
//! content hash did not change is not parsed: their stored findings are reused.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, StatxFlags};
use tree_sitter::Parser;
use treewide_core::scan_files::listing::{self, DirFile, DirState};
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;

use super::cache::{self, FileRecord, FileScan, How, Previous};
use super::changed::Changed;
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
    /// The files with a candidate call, by path.
    pub files: Vec<FileRecord>,
    /// Every directory walked, by path.
    pub dirs: Vec<DirRecord>,
    /// Files read from disk this time (all of them without a previous scan).
    pub files_read: u64,
    /// Files stat-ed this time (all of them, unless the caller said what changed).
    pub files_checked: u64,
    /// Files parsed this time.
    pub files_parsed: u64,
    /// Directories listed this time (the others' entries were as the last scan listed them).
    pub dirs_listed: u64,
    /// Given a previous scan: the tree has the files it had, no more, no fewer.
    pub same_files: bool,
}

/// One directory as this scan saw it.
#[derive(Debug, Clone)]
pub struct DirRecord {
    /// Relative to the tree, `/`-separated, `""` for the root.
    pub dir: String,
    /// Its record's body ([`listing::encode_dir`]) when it differs from the last scan's (or
    /// there was none).
    pub changed: Option<Vec<u8>>,
}

/// Scan the tree at `root`. `progress` is called now and then with the number of files read.
pub fn scan_tree(
    root: &Path,
    spec: &Spec,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<ScanResult> {
    scan_tree_with(root, spec, None, None, cache::now_ns(), progress)
}

/// [`scan_tree`], reusing what `previous` (the last scan of the same campaign, with the same
/// spec) found in files that did not change. `started_ns` is when this scan started: files
/// modified since (or just before) get no trusted mtime. With `changed` (and `previous`),
/// only the listed paths are checked, the rest is as `previous` stored it ([`Changed`]).
///
/// The walk is parallel by directory (rayon tasks, one per directory, so listing, stat-ing
/// and reading overlap on every core, as ripgrep's parallel walker does). A directory whose
/// inode and change time are as the last scan listed it is not listed again; every file is
/// stat-ed (an edit in place does not touch its directory) relative to its directory's
/// handle (`openat`/`statx`, no path walk from the root), and opened only when its size or
/// mtime changed. Each thread reuses one read buffer and one parser.
pub fn scan_tree_with(
    root: &Path,
    spec: &Spec,
    previous: Option<&Previous>,
    changed: Option<&Changed>,
    started_ns: i64,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<ScanResult> {
    let matcher = CallMatcher::new(spec)?;
    if !root.is_dir() {
        anyhow::bail!("{} is not a directory", root.display());
    }
    let walk = Walk {
        spec,
        matcher,
        previous,
        changed: changed.filter(|_| previous.is_some()),
        started_ns,
        progress,
        done: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        error: Mutex::new(None),
        tools: Mutex::new(Vec::new()),
        out: Mutex::new(Vec::new()),
    };
    let root_fd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("cannot list {}", root.display()))?;
    rayon::scope(|s| walk.dir(s, Some(root_fd), root.to_path_buf(), String::new()));
    if let Some(e) = walk.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut dirs = walk.out.into_inner().unwrap_or_else(|e| e.into_inner());
    dirs.sort_by(|a, b| a.record.dir.cmp(&b.record.dir));
    let mut out = ScanResult {
        describe: describe(root),
        ..Default::default()
    };
    let mut names_changed = false;
    for d in dirs {
        out.files_total += d.files;
        out.files_read += d.read;
        out.files_checked += d.checked;
        out.dirs_listed += u64::from(d.listed);
        names_changed |= d.names_changed;
        for (record, (sites, problem)) in d.visited {
            out.files_matched += 1;
            out.files_parsed += u64::from(record.how == How::Parsed);
            out.sites.extend(sites);
            out.problems.extend(problem);
            out.files.push(record);
        }
        out.dirs.push(d.record);
    }
    out.same_files = previous.is_some_and(|p| {
        let now: std::collections::HashSet<&str> =
            out.dirs.iter().map(|d| d.dir.as_str()).collect();
        !names_changed && p.dirs().all(|d| now.contains(d) || !p.had_files(d))
    });
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    progress(out.files_total);
    out.sites
        .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    out.problems.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

/// A file with a candidate call: how this scan knows it, and its findings.
type Visited = (FileRecord, FileScan);

/// One directory's share of the result.
struct DirOut {
    record: DirRecord,
    /// Its `.c`/`.h` files, how many of them were stat-ed and how many read.
    files: u64,
    checked: u64,
    read: u64,
    /// Its `.c`/`.h` files are not the ones the last scan found there (or it is new).
    names_changed: bool,
    /// It was listed (its entries were not known unchanged).
    listed: bool,
    visited: Vec<Visited>,
}

/// How directories are opened: a handle to stat and open relative to, never followed through
/// a symlink (the listing already left symlinks out).
const DIR_FLAGS: OFlags = OFlags::PATH
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// A name in a directory: as text (stored, and for paths) and as the bytes to open it by.
type Name<'n> = (Cow<'n, str>, Cow<'n, [u8]>);

/// One walk of a tree, shared by its tasks.
struct Walk<'a> {
    spec: &'a Spec,
    matcher: CallMatcher,
    previous: Option<&'a Previous>,
    /// What may have changed since `previous`, when the caller knows.
    changed: Option<&'a Changed>,
    started_ns: i64,
    progress: &'a (dyn Fn(u64) + Sync),
    done: AtomicU64,
    /// Set with the first error: the other tasks stop.
    failed: AtomicBool,
    error: Mutex<Option<anyhow::Error>>,
    /// Parsers and read buffers not in use (a task takes one, a thread holds one at a time).
    tools: Mutex<Vec<(Parser, Vec<u8>)>>,
    out: Mutex<Vec<DirOut>>,
}

impl<'a> Walk<'a> {
    /// Scan the directory `name` of `parent` in a task of its own. The child opens it: a
    /// handle is held only while its directory is worked on or has children still to open,
    /// never for every directory waiting in the queue. Without `parent` (nothing listed as
    /// changed at or below it) it is opened only if it needs checking after all.
    fn spawn_dir<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        parent: Option<Arc<OwnedFd>>,
        name: Vec<u8>,
        path: PathBuf,
        rel: String,
    ) {
        scope.spawn(move |s| {
            if self.failed.load(Ordering::Relaxed) {
                return;
            }
            let Some(parent) = parent else {
                return self.dir(s, None, path, rel);
            };
            match rustix::fs::openat(&*parent, name.as_slice(), DIR_FLAGS, Mode::empty()) {
                Ok(fd) => {
                    drop(parent);
                    self.dir(s, Some(fd), path, rel);
                }
                Err(e) => self.fail(
                    anyhow::Error::new(std::io::Error::from(e))
                        .context(format!("cannot list {}", path.display())),
                ),
            }
        });
    }

    /// Scan the directory open at `fd` (`rel` relative to the root): hand its subdirectories
    /// to other tasks and scan its `.c`/`.h` files.
    fn dir<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        fd: Option<OwnedFd>,
        path: PathBuf,
        rel: String,
    ) {
        match self.dir_files(scope, fd, &path, rel) {
            Ok(out) => lock(&self.out).push(out),
            Err(e) => self.fail(e),
        }
    }

    fn fail(&self, e: anyhow::Error) {
        self.failed.store(true, Ordering::Relaxed);
        lock(&self.error).get_or_insert(e);
    }

    fn dir_files<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        fd: Option<OwnedFd>,
        path: &Path,
        rel: String,
    ) -> anyhow::Result<DirOut> {
        let list = || format!("cannot list {}", path.display());
        let fd = Handle {
            fd: fd.map(Arc::new).map(OnceCell::from).unwrap_or_default(),
            path,
        };
        // What the caller listed as changed, unless everything here is to be checked.
        let hint = self.changed.filter(|c| !c.whole(&rel));
        let stored = self
            .previous
            .and_then(|p| p.dir(&rel))
            .and_then(listing::decode_dir);
        // No listed path in it or below it: its entries are the stored ones, if trusted
        // then. (A directory on the way to a listed path is checked too: a hook lists the
        // files of a deleted or new directory, not the directory.)
        let trusted = stored
            .as_ref()
            .filter(|s| s.key.is_some() && hint.is_some_and(|c| !c.below(&rel)));
        let key = match trusted {
            Some(s) => s.key,
            None => {
                let st = rustix::fs::statx(
                    fd.get()?.as_ref(),
                    "",
                    AtFlags::EMPTY_PATH,
                    StatxFlags::INO | StatxFlags::CTIME,
                )
                .map_err(std::io::Error::from)
                .with_context(list)?;
                cache::stable_ns(
                    st.stx_ctime.tv_sec,
                    i64::from(st.stx_ctime.tv_nsec),
                    self.started_ns,
                )
                .map(|ctime| (st.stx_ino, ctime))
            }
        };
        // The same directory, its entries untouched since it was listed: its names are the
        // stored ones (no listing), though each file is still stat-ed (a file written in
        // place does not touch its directory) unless the caller said which files changed.
        let same_listing = stored.as_ref().filter(|s| key.is_some() && s.key == key);
        let (files, subdirs, key): (Vec<Name<'_>>, Vec<Name<'_>>, _) = match same_listing {
            Some(s) => (
                s.files.iter().map(|f| borrowed(f.name)).collect(),
                s.dirs.iter().map(|d| borrowed(d)).collect(),
                key,
            ),
            None => {
                let (files, subdirs, all_text) = list_dir(fd.get()?).with_context(list)?;
                // Names that are not UTF-8 cannot be stored as they are: list it again.
                (files, subdirs, key.filter(|_| all_text))
            }
        };
        for (sub, raw) in &subdirs {
            let sub_rel = if rel.is_empty() {
                sub.to_string()
            } else {
                format!("{rel}/{sub}")
            };
            // Nothing listed in it or below: not even opened, unless it needs checking.
            let untouched = hint.is_some_and(|c| !c.below(&sub_rel) && !c.file(&sub_rel));
            let parent = match untouched {
                true => None,
                false => Some(Arc::clone(fd.get()?)),
            };
            self.spawn_dir(
                scope,
                parent,
                raw.to_vec(),
                path.join(sub.as_ref()),
                sub_rel,
            );
        }
        // Whether a file of this directory may be listed as changed (its parent is then).
        let files_listed = hint.is_some_and(|c| c.in_dir(&rel));
        // The stored entry of the `i`th file: the same place when the names are the stored
        // ones, else found by name (stored in name order).
        let stored_of = |i: usize, name: &str| {
            let s = &stored.as_ref()?.files;
            match same_listing {
                Some(_) => s.get(i),
                None => s.binary_search_by(|f| f.name.cmp(name)).ok().map(|i| &s[i]),
            }
        };
        let names_changed = match &stored {
            Some(s) => {
                same_listing.is_none()
                    && (s.files.len() != files.len()
                        || s.files.iter().zip(&files).any(|(a, b)| a.name != b.0))
            }
            None => !files.is_empty(),
        };
        let mut out = DirOut {
            record: DirRecord {
                dir: String::new(),
                changed: None,
            },
            files: files.len() as u64,
            checked: 0,
            read: 0,
            names_changed,
            listed: same_listing.is_none(),
            visited: Vec::new(),
        };
        // The directory's files as this scan saw them, once they differ from the stored ones
        // (listed again, or a file changed); until then nothing is copied.
        let mut now_files: Option<Vec<DirFile<'_>>> = same_listing
            .is_none()
            .then(|| Vec::with_capacity(files.len()));
        let mut tools = None;
        for (i, (name, raw)) in files.iter().enumerate() {
            let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(1024) {
                (self.progress)(n);
            }
            let file_path = || path.join(name.as_ref());
            let rel_file = || {
                if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                }
            };
            // Not listed as changed, and known with a trusted mtime: as stored, not stat-ed.
            let unlisted = hint.is_some_and(|c| !(files_listed && c.file(&rel_file())));
            let as_stored = stored_of(i, name)
                .filter(|old| unlisted && old.name == name.as_ref() && old.mtime_ns.is_some());
            let (size, mtime_ns, old) = match as_stored {
                Some(old) => (old.size, old.mtime_ns, Some(old)),
                None => {
                    out.checked += 1;
                    let st = rustix::fs::statx(
                        fd.get()?.as_ref(),
                        raw.as_ref(),
                        AtFlags::SYMLINK_NOFOLLOW,
                        StatxFlags::TYPE | StatxFlags::SIZE | StatxFlags::MTIME,
                    )
                    .map_err(std::io::Error::from)
                    .with_context(|| format!("cannot read {}", file_path().display()))?;
                    let size = st.stx_size;
                    let mtime_ns = cache::stable_ns(
                        st.stx_mtime.tv_sec,
                        i64::from(st.stx_mtime.tv_nsec),
                        self.started_ns,
                    );
                    let old = stored_of(i, name).filter(|old| {
                        old.name == name.as_ref()
                            && mtime_ns.is_some()
                            && old.mtime_ns == mtime_ns
                            && old.size == size
                    });
                    (size, mtime_ns, old)
                }
            };
            if let Some(old) = old {
                if !old.candidate {
                    if let Some(now) = &mut now_files {
                        now.push(*old);
                    }
                    continue;
                }
                // Stored findings that do not read back: read the file again.
                let path = rel_file();
                let reused = self
                    .previous
                    .and_then(|p| p.get(&path))
                    .and_then(|f| Some((f.sha256.clone()?, f.found.clone()?)))
                    .and_then(|(sha, json)| Some((cache::found_from_json(&json)?, sha, json)));
                if let Some((scan, sha256, found_json)) = reused {
                    let record = FileRecord {
                        path,
                        size,
                        mtime_ns,
                        sha256,
                        found_json,
                        how: How::Unchanged,
                    };
                    out.visited.push((record, scan));
                    if let Some(now) = &mut now_files {
                        now.push(*old);
                    }
                    continue;
                }
            }
            // Files before this one are as stored (same names, in the same places).
            let now = now_files.get_or_insert_with(|| {
                let mut v = Vec::with_capacity(files.len());
                v.extend(stored.iter().flat_map(|s| s.files.iter().take(i)));
                v
            });
            out.read += 1;
            let (parser, buf) = tools.get_or_insert_with(|| {
                lock(&self.tools)
                    .pop()
                    .unwrap_or_else(|| (new_parser(), Vec::with_capacity(1 << 20)))
            });
            buf.clear();
            rustix::fs::openat(
                fd.get()?.as_ref(),
                raw.as_ref(),
                OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(std::io::Error::from)
            .and_then(|f| std::fs::File::from(f).read_to_end(buf))
            .with_context(|| format!("cannot read {}", file_path().display()))?;
            let candidate = self.matcher.may_hold_call(&buf[..]);
            now.push(DirFile {
                name: name.as_ref(),
                size,
                mtime_ns,
                candidate,
            });
            if !candidate {
                continue;
            }
            let path = rel_file();
            let sha256 = cache::sha256_hex(buf);
            let reused = self
                .previous
                .and_then(|p| p.same_content(&path, &sha256))
                .and_then(|old| {
                    let j = old.found.as_ref()?;
                    Some((cache::found_from_json(j)?, j.clone()))
                });
            let (scan, found_json, how) = match reused {
                Some((scan, json)) => (scan, json, How::SameContent),
                None => {
                    let scan = scan_source(&path, buf, self.spec, &self.matcher, parser);
                    let json = cache::found_to_json(&scan);
                    (scan, json, How::Parsed)
                }
            };
            let record = FileRecord {
                path,
                size,
                mtime_ns,
                sha256,
                found_json,
                how,
            };
            out.visited.push((record, scan));
        }
        if let Some(t) = tools {
            lock(&self.tools).push(t);
        }
        if let Some(files) = now_files {
            out.record.changed = Some(listing::encode_dir(&DirState {
                key,
                files,
                dirs: subdirs.iter().map(|(t, _)| t.as_ref()).collect(),
            }));
        }
        out.record.dir = rel;
        Ok(out)
    }
}

/// A directory's handle, opened when first needed (by its path: a directory nothing was
/// listed in is reached without opening its parents).
struct Handle<'p> {
    fd: OnceCell<Arc<OwnedFd>>,
    path: &'p Path,
}

impl Handle<'_> {
    fn get(&self) -> anyhow::Result<&Arc<OwnedFd>> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd);
        }
        let fd = rustix::fs::open(self.path, DIR_FLAGS, Mode::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("cannot list {}", self.path.display()))?;
        Ok(self.fd.get_or_init(|| Arc::new(fd)))
    }
}

/// A stored name, to open by its bytes.
fn borrowed(name: &str) -> Name<'_> {
    (Cow::Borrowed(name), Cow::Borrowed(name.as_bytes()))
}

/// The `.c`/`.h` regular files and the subdirectories (not hidden, not symlinks) of the
/// directory at `fd`, each in name order, and whether every name was UTF-8.
fn list_dir(fd: &OwnedFd) -> std::io::Result<(Vec<Name<'static>>, Vec<Name<'static>>, bool)> {
    // The handle is O_PATH (it cannot be read): the listing opens the directory itself.
    let readable = rustix::fs::openat(
        fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let (mut files, mut dirs, mut all_text) = (Vec::new(), Vec::new(), true);
    for e in Dir::new(readable)? {
        let e = e?;
        let raw = e.file_name().to_bytes();
        if raw == b"." || raw == b".." {
            continue;
        }
        let ty = match e.file_type() {
            FileType::Unknown => FileType::from_raw_mode(
                rustix::fs::statx(fd, raw, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::TYPE)?
                    .stx_mode
                    .into(),
            ),
            ty => ty,
        };
        let is_dir = ty == FileType::Directory && raw.first() != Some(&b'.');
        let is_source = ty == FileType::RegularFile && is_c_source(raw);
        if !is_dir && !is_source {
            continue;
        }
        let text = String::from_utf8_lossy(raw).into_owned();
        all_text &= text.as_bytes() == raw;
        let name: Name<'static> = (Cow::Owned(text), Cow::Owned(raw.to_vec()));
        if is_dir {
            dirs.push(name);
        } else {
            files.push(name);
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((files, dirs, all_text))
}

/// A mutex whose holder cannot leave its data half changed (pushes and takes): a panic in
/// another task does not make it unusable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn is_c_source(name: &[u8]) -> bool {
    name.ends_with(b".c") || name.ends_with(b".h")
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
