//! public-inbox v2 mirrors: `git/0.git`, `git/1.git`, … bare repositories with one commit
//! per message and the raw message in the blob `m`. Read with gix (no `git` process),
//! incrementally: only commits after the last one imported from each epoch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use treewide_core::mail::Cursor;

use super::{Raw, RawMail, Skipped};

/// The key an inbox's cursors are stored under: its canonical path.
pub fn inbox_key(dir: &Path) -> anyhow::Result<String> {
    let p = dir
        .canonicalize()
        .with_context(|| format!("no public-inbox at {}", dir.display()))?;
    Ok(p.to_string_lossy().into_owned())
}

/// The epochs of an inbox by number: `DIR/git/N.git`, or `DIR` itself when it is `N.git`.
pub fn epochs(dir: &Path) -> anyhow::Result<Vec<(i64, PathBuf)>> {
    let number = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".git"))
            .and_then(|n| n.parse::<i64>().ok())
    };
    if let Some(n) = number(dir) {
        return Ok(vec![(n, dir.to_owned())]);
    }
    let git = dir.join("git");
    let mut out: Vec<(i64, PathBuf)> = std::fs::read_dir(&git)
        .with_context(|| {
            format!(
                "{} is not a public-inbox v2 directory (no git/N.git epochs)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| number(&p).map(|n| (n, p)))
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(anyhow!("{}: no epochs (git/N.git) found", git.display()));
    }
    Ok(out)
}

/// Read every epoch's commits after its cursor (`done`: epoch → last imported commit), all
/// at once. [`open`] reads them one by one.
pub fn read(dir: &Path, inbox: &str, done: &HashMap<i64, String>) -> anyhow::Result<RawMail> {
    let inbox = open(dir, inbox, done)?;
    let cursors = inbox.cursors.clone();
    let mut reader = inbox.reader()?;
    let mut out = RawMail {
        cursors,
        ..RawMail::default()
    };
    while let Some(m) = reader.next_message() {
        match m {
            Ok(raw) => out.messages.push(raw),
            Err(skipped) => out.skipped.push(skipped),
        }
    }
    Ok(out)
}

/// An inbox opened for import: which commits of each epoch are new (walked when it is opened,
/// ids only). [`Inbox::reader`] reads their messages as they are asked for, so an epoch of a
/// million messages is never in memory whole. An `Inbox` can move to another thread.
pub struct Inbox {
    epochs: Vec<Epoch>,
    /// Where each epoch will stand once everything is read.
    pub cursors: Vec<Cursor>,
}

struct Epoch {
    number: i64,
    /// Opened again by the reader: gix built without its `parallel` feature keeps a
    /// repository on one thread.
    path: PathBuf,
    /// New commits, oldest first.
    ids: Vec<gix::ObjectId>,
}

/// Reads the messages of an [`Inbox`] on the thread that made it.
pub struct InboxReader {
    epochs: Vec<(i64, gix::Repository, Vec<gix::ObjectId>)>,
    /// The epoch being read, and the next commit in it.
    at: (usize, usize),
}

/// Open every epoch of the inbox at `dir` and find the commits after its cursor.
pub fn open(dir: &Path, inbox: &str, done: &HashMap<i64, String>) -> anyhow::Result<Inbox> {
    let mut out = Inbox {
        epochs: Vec::new(),
        cursors: Vec::new(),
    };
    for (number, path) in epochs(dir)? {
        let after = done.get(&number).map(String::as_str);
        let epoch = open_epoch(&path, number, after)
            .with_context(|| format!("epoch {number} ({})", path.display()))?;
        if let Some(last) = epoch.ids.last() {
            out.cursors.push(Cursor {
                inbox: inbox.to_owned(),
                epoch: number,
                last_commit: last.to_string(),
            });
        }
        out.epochs.push(epoch);
    }
    Ok(out)
}

fn open_epoch(path: &Path, number: i64, after: Option<&str>) -> anyhow::Result<Epoch> {
    let repo = gix::open(path).context("cannot open the bare repository")?;
    let mut ids = Vec::new();
    // An epoch without commits yet has no HEAD to walk from.
    if let Ok(tip) = repo.head_id() {
        for info in repo
            .rev_walk([tip.detach()])
            .all()
            .context("cannot walk history")?
        {
            let id = info.context("broken history")?.id;
            if after == Some(id.to_string().as_str()) {
                break;
            }
            ids.push(id);
        }
        ids.reverse();
    }
    Ok(Epoch {
        number,
        path: path.to_owned(),
        ids,
    })
}

impl Inbox {
    /// Start reading (on this thread).
    pub fn reader(self) -> anyhow::Result<InboxReader> {
        let mut epochs = Vec::new();
        for e in self.epochs {
            let repo = gix::open(&e.path)
                .with_context(|| format!("epoch {} ({})", e.number, e.path.display()))?;
            epochs.push((e.number, repo, e.ids));
        }
        Ok(InboxReader { epochs, at: (0, 0) })
    }
}

impl InboxReader {
    /// The next message, or why the next commit holds none (a commit without `m`, a missing
    /// blob); `None` when every epoch has been read.
    pub fn next_message(&mut self) -> Option<Result<Raw, Skipped>> {
        loop {
            let (e, i) = self.at;
            let (number, repo, ids) = self.epochs.get(e)?;
            let Some(id) = ids.get(i) else {
                self.at = (e + 1, 0);
                continue;
            };
            self.at = (e, i + 1);
            let position = format!("epoch {number} commit {id}");
            let blob = repo
                .find_commit(*id)
                .map_err(anyhow::Error::from)
                .and_then(|c| c.tree().map_err(anyhow::Error::from))
                .and_then(|t| {
                    let e = t
                        .find_entry("m")
                        .ok_or_else(|| anyhow!("no blob m in the commit's tree"))?;
                    let oid = e.oid().to_owned();
                    let b = repo
                        .find_blob(oid)
                        .map_err(|e| anyhow!("blob m ({oid}) missing: {e}"))?;
                    Ok(bytes::Bytes::from(b.data.clone()))
                });
            return Some(match blob {
                Ok(data) => Ok(Raw { position, data }),
                Err(e) => Err(Skipped {
                    position,
                    reason: format!("{e:#}"),
                }),
            });
        }
    }
}
