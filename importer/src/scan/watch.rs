//! Watching a tree for `treewide scan --watch`: inotify (through the `notify` crate) reports
//! the paths written, created, deleted or renamed, and each re-scan checks only those
//! ([`Changed`]), so a one-file edit costs a parse of that file and a store, not a stat of
//! every file of the tree.
//!
//! What can make a watcher miss a change is handled by not trusting it: when the kernel's
//! event queue overflowed or the watcher reported an error, the next re-scan checks the
//! whole tree as a re-scan without a watcher does ([`Pending::Everything`]). The watch is
//! set up before the first scan, so nothing written between that scan and the watch is
//! missed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::Context;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};

use super::changed::Changed;

/// A tree under watch.
pub struct Watcher {
    root: PathBuf,
    rx: Receiver<notify::Result<notify::Event>>,
    /// Kept for its events; dropping it ends the watch.
    _watcher: RecommendedWatcher,
}

/// What changed since the last [`Watcher::wait`].
#[derive(Debug)]
pub enum Pending {
    /// These paths, and nothing else.
    Paths(Changed),
    /// Events may have been lost (the reason): check everything.
    Everything(String),
}

impl Watcher {
    /// Watch every directory of the tree at `root` (a watch each: a tree of 5,000
    /// directories needs `fs.inotify.max_user_watches` above that).
    pub fn new(root: &Path) -> anyhow::Result<Watcher> {
        let (tx, rx) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(tx).context("cannot start a file watcher")?;
        watcher
            .watch(root, RecursiveMode::Recursive)
            .with_context(|| {
                format!(
                    "cannot watch {} (each directory takes an inotify watch: see sysctl fs.inotify.max_user_watches)",
                    root.display()
                )
            })?;
        Ok(Watcher {
            root: root.to_path_buf(),
            rx,
            _watcher: watcher,
        })
    }

    /// Wait for a change that can matter to a scan, then for `quiet` without another one
    /// (a `git checkout` or an editor writes in bursts), at most `settle` in all; none when
    /// the watcher has stopped.
    pub fn wait(&self, quiet: Duration, settle: Duration) -> Option<Pending> {
        let mut paths = BTreeSet::new();
        let mut lost = None;
        // Block for the first event that matters.
        loop {
            let event = self.rx.recv().ok()?;
            self.take(event, &mut paths, &mut lost);
            if !paths.is_empty() || lost.is_some() {
                break;
            }
        }
        let until = Instant::now() + settle;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.rx.recv_timeout(quiet.min(left)) {
                Ok(event) => self.take(event, &mut paths, &mut lost),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
        Some(match lost {
            Some(why) => Pending::Everything(why),
            None => match Changed::new(&self.root, &paths) {
                Ok(c) => Pending::Paths(c),
                Err(e) => Pending::Everything(format!("{e:#}")),
            },
        })
    }

    /// Add what `event` says to `paths`, or why events may have been lost to `lost`.
    fn take(
        &self,
        event: notify::Result<notify::Event>,
        paths: &mut BTreeSet<PathBuf>,
        lost: &mut Option<String>,
    ) {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                lost.get_or_insert_with(|| format!("the file watcher failed: {e}"));
                return;
            }
        };
        if event.need_rescan() {
            lost.get_or_insert_with(|| "the file watcher lost events (queue overflow)".into());
            return;
        }
        if !may_change_scan(&event.kind) {
            return;
        }
        for p in event.paths {
            if self.matters(&p) {
                paths.insert(p);
            }
        }
    }

    /// A path a scan can see: not in a hidden directory (the walk skips them), and a `.c` or
    /// `.h` file or what may be a directory (a name without an extension: a deleted or
    /// renamed one cannot be told apart).
    fn matters(&self, p: &Path) -> bool {
        let Ok(rel) = p.strip_prefix(&self.root) else {
            return false;
        };
        let hidden = rel
            .components()
            .any(|c| c.as_os_str().as_encoded_bytes().first() == Some(&b'.'));
        if hidden {
            return false;
        }
        match p.extension() {
            None => true,
            Some(ext) => ext == "c" || ext == "h" || p.is_dir(),
        }
    }
}

/// Opening or reading a file changes nothing; everything else may.
fn may_change_scan(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(
            AccessKind::Open(_)
                | AccessKind::Read
                | AccessKind::Close(AccessMode::Read | AccessMode::Execute)
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_creations_and_deletions_are_reported_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("lib/a.c"), "int a;\n").unwrap();
        std::fs::write(root.join("lib/gone.h"), "int g;\n").unwrap();
        let w = Watcher::new(root).unwrap();
        std::fs::write(root.join("lib/a.c"), "int b;\n").unwrap();
        std::fs::remove_file(root.join("lib/gone.h")).unwrap();
        std::fs::create_dir(root.join("lib/new")).unwrap();
        std::fs::write(root.join("lib/notes.txt"), "x\n").unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/index.c"), "x\n").unwrap();
        let Some(Pending::Paths(c)) = w.wait(Duration::from_millis(300), Duration::from_secs(10))
        else {
            panic!("no paths reported");
        };
        assert!(
            c.file("lib/a.c") && c.file("lib/gone.h") && c.file("lib/new"),
            "{c:?}"
        );
        assert!(
            !c.file("lib/notes.txt") && !c.file(".git") && !c.file(".git/index.c"),
            "{c:?}"
        );
    }
}
