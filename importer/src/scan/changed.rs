//! What may have changed in a tree since its last scan, when the caller knows: the paths a
//! file watcher saw (`treewide scan --watch`) or a list given on the command line
//! (`treewide scan --changed`, e.g. from `git diff --name-only` in a hook).
//!
//! With such a list, a re-scan does not stat every file of the tree: a directory with no
//! listed path at or below it is taken as the last scan stored it (no handle opened, no
//! listing, no stat), a directory on the way to a listed path is opened and listed again
//! when its entries changed (a file added, deleted or renamed; a directory created or
//! deleted along with the files a hook lists), and a listed file, or everything under a
//! listed directory, is checked as a re-scan without a list checks it. A file whose stored mtime was too recent to trust is checked
//! wherever it is. The result is the full scan's as long as the list holds every path that
//! changed; a path listed but unchanged costs a stat.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Paths relative to a tree's root, `/`-separated, that may have changed since its last
/// scan: files edited, added or deleted, directories added, deleted or renamed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// The paths as given (normalised); `""` is the whole tree.
    paths: HashSet<String>,
    /// The directories holding a path (each path's parent).
    parents: HashSet<String>,
    /// Every proper ancestor of a path, `""` included.
    ancestors: HashSet<String>,
}

impl Changed {
    /// The list for the tree at `root`: each path relative to the root, or absolute and
    /// inside it (a path need not exist: deleted files are listed too). Errors name the path
    /// that is outside the tree.
    pub fn new<I, P>(root: &Path, paths: I) -> anyhow::Result<Changed>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let canonical_root = root.canonicalize().ok();
        let mut out = Changed::default();
        for p in paths {
            let p = p.as_ref();
            let rel = relative(root, canonical_root.as_deref(), p).ok_or_else(|| {
                anyhow::anyhow!(
                    "changed path {} is not inside the tree {}",
                    p.display(),
                    root.display()
                )
            })?;
            out.insert(rel);
        }
        Ok(out)
    }

    fn insert(&mut self, rel: String) {
        let mut dir = rel.as_str();
        if !rel.is_empty() {
            let parent = parent(dir);
            self.parents.insert(parent.to_owned());
            loop {
                dir = parent_or_none(dir).unwrap_or("");
                if !self.ancestors.insert(dir.to_owned()) || dir.is_empty() {
                    break;
                }
            }
        }
        self.paths.insert(rel);
    }

    /// No path is listed.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// How many paths are listed.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// `dir` is listed, or lies under a listed directory: everything in it is checked.
    pub fn whole(&self, dir: &str) -> bool {
        let mut d = dir;
        loop {
            if self.paths.contains(d) {
                return true;
            }
            match parent_or_none(d) {
                Some(p) => d = p,
                None => return false,
            }
        }
    }

    /// A listed path lies in `dir` or below it.
    pub fn below(&self, dir: &str) -> bool {
        self.ancestors.contains(dir)
    }

    /// A listed path lies directly in `dir`: its entries may have changed.
    pub fn in_dir(&self, dir: &str) -> bool {
        self.parents.contains(dir)
    }

    /// The file `path` is listed.
    pub fn file(&self, path: &str) -> bool {
        self.paths.contains(path)
    }
}

/// `a/b/c` → `a/b`, `a` → `""`.
fn parent(path: &str) -> &str {
    parent_or_none(path).unwrap_or("")
}

/// `a/b/c` → `a/b`, `a` → `""`, `""` → none.
fn parent_or_none(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rfind('/').map_or("", |i| &path[..i]))
}

/// `p` relative to the tree, `/`-separated, without `.` components or a trailing `/`;
/// none when it leaves the tree.
fn relative(root: &Path, canonical_root: Option<&Path>, p: &Path) -> Option<String> {
    let rel: PathBuf = if p.is_absolute() {
        match (p.strip_prefix(root), canonical_root) {
            (Ok(rel), _) => rel.to_path_buf(),
            (Err(_), Some(croot)) => match p.strip_prefix(croot) {
                Ok(rel) => rel.to_path_buf(),
                // A path under a symlinked root, or a deleted file there: by its parent.
                Err(_) => {
                    let parent = p.parent()?.canonicalize().ok()?;
                    parent.strip_prefix(croot).ok()?.join(p.file_name()?)
                }
            },
            (Err(_), None) => return None,
        }
    } else {
        p.to_path_buf()
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in rel.components() {
        match c {
            Component::CurDir => {}
            Component::Normal(s) => parts.push(s.to_str()?),
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(paths: &[&str]) -> Changed {
        Changed::new(Path::new("/nonexistent/tree"), paths).unwrap()
    }

    #[test]
    fn files_directories_and_their_ancestors() {
        let c = changed(&["lib/iov_iter.c", "./drivers/vhost/new/", "fs//afs/dir.c"]);
        assert_eq!(c.len(), 3);
        assert!(c.file("lib/iov_iter.c") && c.file("fs/afs/dir.c"));
        assert!(c.whole("drivers/vhost/new") && c.whole("drivers/vhost/new/deeper"));
        assert!(!c.whole("drivers/vhost") && !c.whole("lib") && !c.whole(""));
        for d in ["", "lib", "drivers", "drivers/vhost", "fs", "fs/afs"] {
            assert!(c.below(d), "{d}");
        }
        assert!(!c.below("lib/x") && !c.below("drivers/vhost/new") && !c.below("net"));
        assert!(c.in_dir("lib") && c.in_dir("drivers/vhost") && c.in_dir("fs/afs"));
        assert!(!c.in_dir("") && !c.in_dir("drivers") && !c.in_dir("fs"));
    }

    #[test]
    fn the_root_is_the_whole_tree() {
        let c = changed(&["."]);
        assert!(c.whole("") && c.whole("any/dir"));
        let top = changed(&["Makefile"]);
        assert!(top.in_dir("") && top.below("") && !top.whole(""));
    }

    #[test]
    fn absolute_paths_inside_the_tree_and_paths_outside_it() {
        let c = Changed::new(
            Path::new("/nonexistent/tree"),
            ["/nonexistent/tree/lib/iov_iter.c"],
        )
        .unwrap();
        assert!(c.file("lib/iov_iter.c"));
        for bad in ["../elsewhere.c", "lib/../../x.c", "/elsewhere/x.c"] {
            let e = Changed::new(Path::new("/nonexistent/tree"), [bad]).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
