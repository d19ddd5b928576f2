//! public-inbox v2 mirrors: `git/0.git`, `git/1.git`, … bare repositories with one commit
//! per message and the raw message in the blob `m`. Read with gix (no `git` process),
//! incrementally: only commits after the last one imported from each epoch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use treewide_core::mail::Cursor;

use super::{Raw, RawMail, Skipped};

/// The key cursors were stored under before they belonged to epochs: the inbox's canonical
/// path. Read once for cursors written that way; new cursors use [`EpochRef::key`].
pub fn legacy_key(dir: &Path) -> Option<String> {
    dir.canonicalize()
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// One epoch of an inbox: its number, where it is, and the key its cursor is stored under.
#[derive(Debug, Clone)]
pub struct EpochRef {
    pub number: i64,
    pub path: PathBuf,
    /// `epoch:<root commit>`: an epoch's cursor belongs to the epoch, wherever it was cloned
    /// to and whatever its folder is called.
    pub key: String,
}

/// The epochs at `dir`, recognised by their content: a public-inbox v2 directory
/// (`git/N.git`), or any bare repository whose commits carry a message in the blob `m` (a
/// `git clone --mirror` of `https://lore.kernel.org/LIST/0`, whatever its folder is called).
pub fn epochs(dir: &Path) -> anyhow::Result<Vec<EpochRef>> {
    let number = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".git"))
            .and_then(|n| n.parse::<i64>().ok())
    };
    let git = dir.join("git");
    let mut found: Vec<(i64, PathBuf)> = if git.is_dir() {
        std::fs::read_dir(&git)
            .with_context(|| format!("cannot read {}", git.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| number(&p).map(|n| (n, p)))
            .collect()
    } else if dir.is_dir() {
        vec![(number(dir).unwrap_or(0), dir.to_owned())]
    } else {
        return Err(anyhow!(
            "no public-inbox at {}: no such directory",
            dir.display()
        ));
    };
    found.sort();
    if found.is_empty() {
        return Err(anyhow!(
            "{} is not a public-inbox: no epochs (git/N.git) in {}",
            dir.display(),
            git.display()
        ));
    }
    found
        .into_iter()
        .map(|(number, path)| {
            let key = epoch_key(&path).with_context(|| {
                format!(
                    "{} is not a public-inbox epoch (expected a bare git repository with one message per commit in the blob m)",
                    path.display()
                )
            })?;
            Ok(EpochRef { number, path, key })
        })
        .collect()
}

/// How many of an epoch's newest commits are looked at for a blob `m` before it is refused.
const SNIFF_COMMITS: usize = 16;

/// `epoch:<root commit>` of a repository whose commits hold messages (`epoch:empty` for one
/// without commits yet); an error for anything else.
fn epoch_key(path: &Path) -> anyhow::Result<String> {
    let repo = open_repo(path).context("not a git repository")?;
    let Ok(tip) = repo.head_id() else {
        return Ok("epoch:empty".into());
    };
    let ids = walk(path, tip.detach(), |_| false)?;
    let has_m = ids.iter().take(SNIFF_COMMITS).any(|id| {
        repo.find_commit(*id)
            .ok()
            .and_then(|c| c.tree().ok())
            .is_some_and(|t| t.find_entry("m").is_some())
    });
    if !has_m {
        return Err(anyhow!(
            "none of its newest {SNIFF_COMMITS} commits has a blob m"
        ));
    }
    let root = ids.last().expect("a walk from HEAD has a root");
    Ok(format!("epoch:{root}"))
}

/// Commits read before the reader opens its repository again (see [`open_repo`]).
const REOPEN_EVERY: usize = 1024;

/// A repository opened for reading an epoch, with a cache of delta bases: public-inbox
/// writes with `git fast-import`, which stores each message as a delta on the one before,
/// and without the cache every blob would be rebuilt from the start of its chain (most of an
/// import's time). gix maps pack files into memory, and a mapping's pages stay resident once
/// read: reading a 400 MB epoch through one mapping would take 400 MB of RSS, so readers
/// open the repository again every [`REOPEN_EVERY`] commits, dropping the old mapping.
fn open_repo(path: &Path) -> anyhow::Result<gix::Repository> {
    let mut repo = gix::open(path)?;
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::StaticLinkedList::<64>::new(
            16 << 20,
        ))
    });
    Ok(repo)
}

/// The commits of the history from `tip`, newest first, until `stop` says so (that commit
/// is left out). public-inbox epochs are linear; any other history is walked depth first,
/// every commit once.
fn walk(
    path: &Path,
    tip: gix::ObjectId,
    stop: impl Fn(&gix::ObjectId) -> bool,
) -> anyhow::Result<Vec<gix::ObjectId>> {
    let mut repo = open_repo(path).context("cannot open the bare repository")?;
    let (mut out, mut todo, mut seen) = (Vec::new(), vec![tip], std::collections::HashSet::new());
    while let Some(id) = todo.pop() {
        if stop(&id) || !seen.insert(id) {
            continue;
        }
        if out.len() % REOPEN_EVERY == REOPEN_EVERY - 1 {
            repo = open_repo(path).context("cannot open the bare repository")?;
        }
        let commit = repo
            .find_commit(id)
            .with_context(|| format!("broken history: commit {id}"))?;
        let parents: Vec<gix::ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
        todo.extend(parents.into_iter().rev());
        out.push(id);
    }
    Ok(out)
}

/// Read every epoch's commits after its cursor (`done`: epoch → last imported commit), all
/// at once. [`open`] reads them one by one.
pub fn read(dir: &Path, done: &HashMap<i64, String>) -> anyhow::Result<RawMail> {
    let inbox = open(epochs(dir)?, done)?;
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
    /// The key its cursor is stored under ([`EpochRef::key`]).
    key: String,
    /// Opened again by the reader: gix built without its `parallel` feature keeps a
    /// repository on one thread.
    path: PathBuf,
    /// New commits, oldest first.
    ids: Vec<gix::ObjectId>,
}

/// Reads the messages of an [`Inbox`] on the thread that made it.
pub struct InboxReader {
    epochs: Vec<ReadEpoch>,
    /// The epoch being read, and the next commit in it.
    at: (usize, usize),
}

struct ReadEpoch {
    number: i64,
    key: String,
    path: PathBuf,
    repo: gix::Repository,
    ids: Vec<gix::ObjectId>,
    /// Commits handed out since [`InboxReader::take_cursors`] last looked.
    moved: bool,
}

/// Open the epochs and find the commits after each one's cursor (`done`: epoch number →
/// last imported commit).
pub fn open(epochs: Vec<EpochRef>, done: &HashMap<i64, String>) -> anyhow::Result<Inbox> {
    let mut out = Inbox {
        epochs: Vec::new(),
        cursors: Vec::new(),
    };
    for EpochRef { number, path, key } in epochs {
        let after = done.get(&number).map(String::as_str);
        let epoch = open_epoch(&path, number, &key, after)
            .with_context(|| format!("epoch {number} ({})", path.display()))?;
        if let Some(last) = epoch.ids.last() {
            out.cursors.push(Cursor {
                inbox: key,
                epoch: number,
                last_commit: last.to_string(),
            });
        }
        out.epochs.push(epoch);
    }
    Ok(out)
}

fn open_epoch(path: &Path, number: i64, key: &str, after: Option<&str>) -> anyhow::Result<Epoch> {
    let repo = open_repo(path).context("cannot open the bare repository")?;
    let mut ids = Vec::new();
    // An epoch without commits yet has no HEAD to walk from.
    if let Ok(tip) = repo.head_id() {
        let after = after.and_then(|a| gix::ObjectId::from_hex(a.as_bytes()).ok());
        ids = walk(path, tip.detach(), |id| Some(*id) == after)?;
        ids.reverse();
    }
    Ok(Epoch {
        number,
        key: key.to_owned(),
        path: path.to_owned(),
        ids,
    })
}

impl Inbox {
    /// Start reading (on this thread).
    pub fn reader(self) -> anyhow::Result<InboxReader> {
        let mut epochs = Vec::new();
        for e in self.epochs {
            let repo = open_repo(&e.path)
                .with_context(|| format!("epoch {} ({})", e.number, e.path.display()))?;
            epochs.push(ReadEpoch {
                number: e.number,
                key: e.key,
                path: e.path,
                repo,
                ids: e.ids,
                moved: false,
            });
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
            let epoch = self.epochs.get_mut(e)?;
            let Some(id) = epoch.ids.get(i).copied() else {
                self.at = (e + 1, 0);
                continue;
            };
            self.at = (e, i + 1);
            epoch.moved = true;
            if i % REOPEN_EVERY == REOPEN_EVERY - 1 {
                // A fresh mapping of the pack (see `open_repo`); the old one stays on failure.
                if let Ok(repo) = open_repo(&epoch.path) {
                    epoch.repo = repo;
                }
            }
            let (repo, position) = (&epoch.repo, format!("epoch {} commit {id}", epoch.number));
            let blob = repo
                .find_commit(id)
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
                    // A copy of the message's size: gix rebuilds a delta in a buffer that also
                    // held its base (2-4 times the message), and a raw message lives until its
                    // chunk is parsed, so taking the buffer kept ~50 MB of slack per few
                    // thousand messages. The buffer goes back to the repository for the next.
                    Ok(bytes::Bytes::copy_from_slice(&b.data))
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

    /// Where the epochs read from since the last call stand: each one's last commit handed
    /// out. Stored with the messages read up to there, so that an import that stops half way
    /// goes on from there the next time.
    pub fn take_cursors(&mut self) -> Vec<Cursor> {
        let (at, next) = self.at;
        let mut out = Vec::new();
        for (k, e) in self.epochs.iter_mut().enumerate() {
            if !std::mem::take(&mut e.moved) {
                continue;
            }
            // The epoch being read stands before `next`; earlier ones were read to the end.
            let last = if k == at {
                next.checked_sub(1)
            } else {
                e.ids.len().checked_sub(1)
            };
            if let Some(id) = last.and_then(|i| e.ids.get(i)) {
                out.push(Cursor {
                    inbox: e.key.clone(),
                    epoch: e.number,
                    last_commit: id.to_string(),
                });
            }
        }
        out
    }
}
