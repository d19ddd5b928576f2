//! A local repository's history, read with gix (no `git` process).
//!
//! The walk collects every commit reachable from the tips (HEAD's branch first, then the other
//! local branches, or the `--range`), minus what earlier imports read. For each non-merge
//! commit, only the trees on the way to watched files are compared with the parent's (a
//! subtree whose id did not change is skipped whole), so a commit that does not touch a
//! campaign file costs a few tree lookups in gix's object cache. A watched file that appears
//! or disappears triggers rename detection for that one commit; a rename makes its other
//! path watched, and the walk is repeated for the new paths only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use gix::prelude::FindExt;
use gix::ObjectId;
use treewide_core::history::{CommitInfo, Cursor, TrackedSite};
use treewide_core::tree_links::FileAtTag;
use treewide_formats::spec::Spec;

use super::{upstream_of, Analyzer, Outcome, SourceCommit};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `A..B`: the commits reachable from B and not from A (B's positions are the tip).
    pub range: Option<String>,
    /// Branches (or any revisions) to read instead of HEAD and every local branch.
    pub branches: Vec<String>,
}

/// What walking the repository found.
#[derive(Debug)]
pub struct RepoWalk {
    pub outcome: Outcome,
    /// Where each tip is now, for the next import to start from.
    pub cursors: Vec<Cursor>,
    /// The commit positions were taken from.
    pub tip: Option<String>,
    /// That commit as `git describe --tags` names it (`v6.7-rc1-12-g1a2b3c4d5e6f`, or the
    /// branch and id when no tag is reachable).
    pub tip_describe: Option<String>,
    /// How each site file at the tip is at the tag `tip_describe` names, when the tip is past
    /// it (links name the tag: `treewide_core::tree_links`).
    pub files_at_tag: Vec<(String, FileAtTag)>,
    /// The repository's key in cursors: its canonical path.
    pub repo_key: String,
    /// "master at 1a2b3c4d5e6f".
    pub tip_name: String,
    /// Fixes in flight (see `read`) that a tip further along now holds: (commit id, branch).
    pub promotions: Vec<(String, String)>,
}

/// A tip to walk from.
struct Tip {
    /// What cursors call it: a full ref name, or the revision as given.
    name: String,
    /// What commits reached from it say their branch is.
    label: String,
    id: ObjectId,
}

/// One commit of the walk.
struct Walked {
    id: ObjectId,
    parents: Vec<ObjectId>,
    tip: usize,
}

/// Read `repo`'s history for `sites`. `done` are the cursors of earlier imports of this
/// repository (their commits are not read again); `in_flight` are stored fixing commits not
/// yet known in mainline (commit id, branch), checked for being reachable from a tip further
/// along (a maintainer's fix merged into mainline since); `progress(commits, total)` is
/// called as the walk goes (total is 0 until the walk is complete).
pub fn read(
    repo_path: &Path,
    opts: &Options,
    spec: &Spec,
    sites: &[TrackedSite],
    done: &[Cursor],
    in_flight: &[(String, Option<String>)],
    progress: &dyn Fn(u64, u64),
) -> anyhow::Result<RepoWalk> {
    let mut repo = gix::open(repo_path)
        .with_context(|| format!("{}: not a git repository", repo_path.display()))?;
    repo.object_cache_size_if_unset(256 << 20);
    let repo_key = repo_key(repo_path)?;

    let (tips, mut hidden) = tips(&repo, opts)?;
    for c in done {
        if let Ok(id) = ObjectId::from_hex(c.last_commit.as_bytes()) {
            if repo.has_object(id) {
                hidden.push(id);
            }
        }
    }

    // The walk: every commit once, labelled with the first tip that reaches it.
    let mut walked: Vec<Walked> = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    for (t, tip) in tips.iter().enumerate() {
        let hide: Vec<ObjectId> = hidden
            .iter()
            .copied()
            .chain(tips[..t].iter().map(|t| t.id))
            .collect();
        let walk = repo
            .rev_walk([tip.id])
            .with_hidden(hide)
            .all()
            .with_context(|| format!("cannot walk the history of {}", tip.name))?;
        for info in walk {
            let info = info.with_context(|| format!("broken history under {}", tip.name))?;
            if !seen.insert(info.id) {
                continue;
            }
            walked.push(Walked {
                id: info.id,
                parents: info.parent_ids.iter().copied().collect(),
                tip: t,
            });
            if walked.len().is_multiple_of(4096) {
                progress(walked.len() as u64, 0);
            }
        }
    }
    let total = walked.len() as u64;

    let mut analyzer = Analyzer::new(spec, sites)?;
    analyzer.stats.commits = total;
    let mut reader = Reader {
        repo: &repo,
        trees: HashMap::new(),
        buf: Vec::new(),
    };
    let mut done_paths: HashSet<String> = HashSet::new();
    let mut processed: HashSet<(usize, String)> = HashSet::new();
    for pass in 0.. {
        let new_paths: Vec<String> = analyzer
            .watched()
            .iter()
            .filter(|p| !done_paths.contains(*p))
            .cloned()
            .collect();
        if new_paths.is_empty() || pass > 16 {
            break;
        }
        done_paths.extend(new_paths.iter().cloned());
        let trie = Trie::from_paths(&new_paths);
        let mut cache = TreeCache::default();
        for (n, w) in walked.iter().enumerate() {
            if n % 1024 == 0 && pass == 0 {
                progress(n as u64, total);
            }
            // Merges bring changes made (and looked at) in their side's own commits; a root
            // commit has nothing to compare with.
            let [parent] = w.parents[..] else { continue };
            let new_tree = reader.tree_of(w.id)?;
            let old_tree = match reader.tree_of(parent) {
                Ok(t) => t,
                // A shallow clone's boundary.
                Err(_) => continue,
            };
            if new_tree == old_tree {
                continue;
            }
            let mut changed = Vec::new();
            compare(
                &repo,
                &mut cache,
                Some(old_tree),
                Some(new_tree),
                &trie,
                &mut Vec::new(),
                &mut changed,
            )?;
            if changed.is_empty() {
                continue;
            }
            let label = &tips[w.tip].label;
            let ci = analyzer.commit(commit_info(&repo, w.id, label)?);
            let mut renames: Option<Vec<(String, String, ObjectId, ObjectId)>> = None;
            for ch in changed {
                if !processed.insert((n, ch.path.clone())) {
                    continue;
                }
                match (ch.old, ch.new) {
                    (Some(o), Some(nw)) => {
                        let (a, b) = (reader.blob(o)?, reader.blob(nw)?);
                        analyzer.file_change(ci, &ch.path, &ch.path, &a, &b);
                    }
                    (old, new) => {
                        let rs = match &renames {
                            Some(r) => r,
                            None => renames.insert(renames_in(&repo, old_tree, new_tree)?),
                        };
                        let hit = rs.iter().find(|(from, to, _, _)| {
                            (old.is_some() && *from == ch.path) || (new.is_some() && *to == ch.path)
                        });
                        match hit {
                            Some((from, to, a, b)) => {
                                processed.insert((n, from.clone()));
                                processed.insert((n, to.clone()));
                                analyzer.rename(ci, from, to);
                                let (a, b) = (reader.blob(*a)?, reader.blob(*b)?);
                                analyzer.file_change(ci, from, to, &a, &b);
                            }
                            None => {
                                if let Some(o) = old {
                                    let a = reader.blob(o)?;
                                    analyzer.file_change(ci, &ch.path, &ch.path, &a, b"");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    progress(total, total);

    // Positions come from the first tip (HEAD's branch, or the range's end).
    let first = tips.first().ok_or_else(|| anyhow!("nothing to read"))?;
    let tip_tree = reader.tree_of(first.id)?;
    let mut tip_files = BTreeMap::new();
    let watched: Vec<String> = analyzer.watched().iter().cloned().collect();
    let trie = Trie::from_paths(&watched);
    let mut present = Vec::new();
    compare(
        &repo,
        &mut TreeCache::default(),
        None,
        Some(tip_tree),
        &trie,
        &mut Vec::new(),
        &mut present,
    )?;
    let mut tip_blobs = Vec::new();
    for ch in present {
        if let Some(id) = ch.new {
            tip_files.insert(ch.path.clone(), reader.blob(id)?);
            tip_blobs.push((ch.path, id));
        }
    }
    let tip_name = format!("{} at {}", first.label, &first.id.to_string()[..12]);
    let outcome = analyzer.finish(sites, &tip_files, &tip_name);
    let described = describe(&repo, first.id);
    let files_at_tag = match described.as_ref().and_then(|d| d.past) {
        Some(tag) => files_at_tag(&repo, tag, &tip_blobs)?,
        None => Vec::new(),
    };
    let promotions = promotions(&repo, &tips, in_flight);
    Ok(RepoWalk {
        outcome,
        cursors: tips
            .iter()
            .map(|t| Cursor {
                repo: repo_key.clone(),
                ref_name: t.name.clone(),
                last_commit: t.id.to_string(),
            })
            .collect(),
        tip: Some(first.id.to_string()),
        tip_describe: Some(described.map_or_else(|| tip_name.clone(), |d| d.name)),
        files_at_tag,
        repo_key,
        tip_name,
        promotions,
    })
}

/// The key a repository's cursors are stored under: its canonical path.
pub fn repo_key(repo_path: &Path) -> anyhow::Result<String> {
    Ok(repo_path
        .canonicalize()
        .with_context(|| format!("{}: no such repository", repo_path.display()))?
        .to_string_lossy()
        .into_owned())
}

/// The tips to walk and the commits to hide.
/// The fixes in flight that a tip further along holds (the fix is an ancestor of the tip):
/// each with the tip's label as its new branch. A commit this repository lacks is skipped.
fn promotions(
    repo: &gix::Repository,
    tips: &[Tip],
    in_flight: &[(String, Option<String>)],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (oid, branch) in in_flight {
        let Ok(id) = ObjectId::from_hex(oid.as_bytes()) else {
            continue;
        };
        if !repo.has_object(id) {
            continue;
        }
        let now = treewide_core::stages::branch_stage(branch.as_deref());
        let best = tips
            .iter()
            .filter(|t| treewide_core::stages::branch_stage(Some(&t.label)) > now)
            .filter(|t| {
                repo.merge_base(id, t.id)
                    .is_ok_and(|b| b.is_some_and(|b| b.detach() == id))
            })
            .max_by_key(|t| treewide_core::stages::branch_stage(Some(&t.label)));
        if let Some(t) = best {
            out.push((oid.clone(), t.label.clone()));
        }
    }
    out
}

fn tips(repo: &gix::Repository, opts: &Options) -> anyhow::Result<(Vec<Tip>, Vec<ObjectId>)> {
    if let Some(range) = &opts.range {
        let (a, b) = range
            .split_once("..")
            .ok_or_else(|| anyhow!("--range {range:?}: expected A..B (e.g. v6.0..v6.1)"))?;
        let b_name = if b.is_empty() { "HEAD" } else { b };
        let tip = Tip {
            name: b_name.to_owned(),
            label: short_label(b_name),
            id: resolve(repo, b_name).with_context(|| format!("--range {range:?}"))?,
        };
        let hidden = if a.is_empty() {
            Vec::new()
        } else {
            vec![resolve(repo, a).with_context(|| format!("--range {range:?}"))?]
        };
        return Ok((vec![tip], hidden));
    }
    if !opts.branches.is_empty() {
        let mut out = Vec::new();
        for b in &opts.branches {
            out.push(Tip {
                name: b.clone(),
                label: short_label(b),
                id: resolve(repo, b).with_context(|| format!("--branch {b:?}"))?,
            });
        }
        return Ok((out, Vec::new()));
    }
    let mut out = Vec::new();
    let head_name = repo
        .head_name()
        .ok()
        .flatten()
        .map(|n| n.as_bstr().to_string());
    let head = repo
        .head_id()
        .map_err(|e| anyhow!("the repository has no HEAD commit: {e}"))?
        .detach();
    let name = head_name.clone().unwrap_or_else(|| "HEAD".to_owned());
    out.push(Tip {
        label: short_label(&name),
        name,
        id: head,
    });
    let mut branches = Vec::new();
    for r in repo
        .references()
        .map_err(|e| anyhow!("cannot read references: {e}"))?
        .local_branches()
        .map_err(|e| anyhow!("cannot read branches: {e}"))?
    {
        let mut r = r.map_err(|e| anyhow!("cannot read a branch: {e}"))?;
        let name = r.name().as_bstr().to_string();
        if Some(&name) == head_name.as_ref() {
            continue;
        }
        let id = r
            .peel_to_id()
            .map_err(|e| anyhow!("branch {name}: {e}"))?
            .detach();
        branches.push(Tip {
            label: short_label(&name),
            name,
            id,
        });
    }
    branches.sort_by(|a, b| a.name.cmp(&b.name));
    out.extend(branches);
    Ok((out, Vec::new()))
}

/// `master` of `refs/heads/master`.
fn short_label(name: &str) -> String {
    name.strip_prefix("refs/heads/")
        .or_else(|| name.strip_prefix("refs/tags/"))
        .or_else(|| name.strip_prefix("refs/remotes/"))
        .unwrap_or(name)
        .to_owned()
}

/// A commit id from a full hex id, `HEAD`, a branch, tag or remote-branch name, or any other
/// revision git's rev-parse understands.
fn resolve(repo: &gix::Repository, name: &str) -> anyhow::Result<ObjectId> {
    if name.len() == 40 {
        if let Ok(id) = ObjectId::from_hex(name.as_bytes()) {
            return peel_commit(repo, id);
        }
    }
    if name == "HEAD" {
        return Ok(repo.head_id().map_err(|e| anyhow!("HEAD: {e}"))?.detach());
    }
    for candidate in [
        name.to_owned(),
        format!("refs/heads/{name}"),
        format!("refs/tags/{name}"),
        format!("refs/remotes/{name}"),
    ] {
        if let Ok(Some(mut r)) = repo.try_find_reference(candidate.as_str()) {
            let id = r.peel_to_id().map_err(|e| anyhow!("{name}: {e}"))?.detach();
            return peel_commit(repo, id);
        }
    }
    // Anything else git's rev-parse understands: an abbreviated id, `HEAD~100`, `v6.1^{commit}`.
    if let Ok(id) = repo.rev_parse_single(name) {
        return peel_commit(repo, id.detach());
    }
    bail!("no commit, branch or tag named {name:?} (give a commit id, a ref name or a revision like HEAD~100)")
}

fn peel_commit(repo: &gix::Repository, id: ObjectId) -> anyhow::Result<ObjectId> {
    let obj = repo.find_object(id).map_err(|e| anyhow!("{id}: {e}"))?;
    Ok(obj
        .peel_to_commit()
        .map_err(|e| anyhow!("{id} is not a commit: {e}"))?
        .id)
}

/// What the import records of a commit.
fn commit_info(repo: &gix::Repository, id: ObjectId, branch: &str) -> anyhow::Result<SourceCommit> {
    let mut buf = Vec::new();
    let c = repo
        .objects
        .find_commit(&id, &mut buf)
        .map_err(|e| anyhow!("commit {id}: {e}"))?;
    let author = c
        .author()
        .map_err(|e| anyhow!("commit {id}: bad author: {e}"))?;
    let committer = c
        .committer()
        .map_err(|e| anyhow!("commit {id}: bad committer: {e}"))?;
    let message = String::from_utf8_lossy(c.message);
    let subject = message
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let time = committer.seconds();
    Ok(SourceCommit {
        info: CommitInfo {
            oid: id.to_string(),
            author_name: author.name.to_string().trim().to_owned(),
            author_email: author.email.to_string().trim().to_owned(),
            author_date: rfc3339(author.seconds()),
            commit_date: rfc3339(time),
            subject_tag: treewide_core::history::subject_tag(&subject),
            upstream_oid: upstream_of(&message),
            subject,
            branch: Some(branch.to_owned()),
            url: None,
        },
        time,
    })
}

/// Seconds since the epoch as stored (RFC 3339 UTC).
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(treewide_core::model::format_time)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Reads trees and blobs through gix's object cache, remembering each commit's tree.
struct Reader<'r> {
    repo: &'r gix::Repository,
    trees: HashMap<ObjectId, ObjectId>,
    buf: Vec<u8>,
}

impl Reader<'_> {
    fn tree_of(&mut self, commit: ObjectId) -> anyhow::Result<ObjectId> {
        if let Some(t) = self.trees.get(&commit) {
            return Ok(*t);
        }
        let t = self
            .repo
            .objects
            .find_commit_iter(&commit, &mut self.buf)
            .map_err(|e| anyhow!("commit {commit}: {e}"))?
            .tree_id()
            .map_err(|e| anyhow!("commit {commit}: {e}"))?;
        // Each commit is looked up as itself and as its children's parent; once each is enough.
        if self.trees.len() > 1 << 20 {
            self.trees.clear();
        }
        self.trees.insert(commit, t);
        Ok(t)
    }

    fn blob(&mut self, id: ObjectId) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .repo
            .objects
            .find_blob(&id, &mut self.buf)
            .map_err(|e| anyhow!("blob {id}: {e}"))?
            .data
            .to_vec())
    }
}

/// Watched paths as a tree of their components.
#[derive(Default)]
struct Trie {
    /// Sorted by name, as git sorts tree entries (enough for lookups by name).
    children: BTreeMap<Vec<u8>, Trie>,
    file: bool,
}

impl Trie {
    fn from_paths(paths: &[String]) -> Trie {
        let mut root = Trie::default();
        for p in paths {
            let mut node = &mut root;
            for part in p.split('/').filter(|s| !s.is_empty()) {
                node = node.children.entry(part.as_bytes().to_vec()).or_default();
            }
            node.file = true;
        }
        root
    }
}

/// A watched file that differs between two trees.
struct Changed {
    path: String,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
}

/// Entries of trees already read, per trie node: the walk meets most trees twice (as a
/// commit's tree and as its child's parent tree), one commit after the other.
#[derive(Default)]
struct TreeCache {
    /// (tree, trie node) → the node's children's entries, in the node's order.
    entries: HashMap<(ObjectId, usize), std::rc::Rc<[Entry]>>,
    buf: Vec<u8>,
}

/// A trie child's entry in a tree: (id, is a tree), or absent.
type Entry = Option<(ObjectId, bool)>;

impl TreeCache {
    /// Entries are cheap to read again; a bound keeps memory flat on long histories.
    const MAX: usize = 1 << 16;

    fn entries(
        &mut self,
        repo: &gix::Repository,
        tree: Option<ObjectId>,
        node: &Trie,
    ) -> anyhow::Result<std::rc::Rc<[Entry]>> {
        let Some(tree) = tree else {
            return Ok(vec![None; node.children.len()].into());
        };
        let key = (tree, node as *const Trie as usize);
        if let Some(e) = self.entries.get(&key) {
            return Ok(e.clone());
        }
        let mut out: Vec<Entry> = vec![None; node.children.len()];
        let mut found = 0;
        let iter = repo
            .objects
            .find_tree_iter(&tree, &mut self.buf)
            .map_err(|e| anyhow!("tree {tree}: {e}"))?;
        for e in iter {
            let e = e.map_err(|e| anyhow!("tree {tree}: {e}"))?;
            let name: &[u8] = e.filename.as_ref();
            if let Some(i) = node.children.keys().position(|k| k.as_slice() == name) {
                out[i] = Some((e.oid.to_owned(), e.mode.is_tree()));
                found += 1;
                if found == out.len() {
                    break;
                }
            }
        }
        if self.entries.len() >= Self::MAX {
            self.entries.clear();
        }
        let out: std::rc::Rc<[Entry]> = out.into();
        self.entries.insert(key, out.clone());
        Ok(out)
    }
}

/// Compare two trees along the trie's paths only (`None`: no tree, i.e. everything absent).
fn compare(
    repo: &gix::Repository,
    cache: &mut TreeCache,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    node: &Trie,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Changed>,
) -> anyhow::Result<()> {
    if old == new {
        return Ok(());
    }
    let a = cache.entries(repo, old, node)?;
    let b = cache.entries(repo, new, node)?;
    for (i, (name, child)) in node.children.iter().enumerate() {
        let (ea, eb) = (a[i], b[i]);
        if ea == eb {
            continue;
        }
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
        let blob = |e: Entry| e.filter(|(_, tree)| !tree).map(|(id, _)| id);
        let tree = |e: Entry| e.filter(|(_, tree)| *tree).map(|(id, _)| id);
        if child.file && blob(ea) != blob(eb) {
            out.push(Changed {
                path: String::from_utf8_lossy(prefix).into_owned(),
                old: blob(ea),
                new: blob(eb),
            });
        }
        if !child.children.is_empty() {
            compare(repo, cache, tree(ea), tree(eb), child, prefix, out)?;
        }
        prefix.truncate(len);
    }
    Ok(())
}

/// The renames (and their blobs) between two trees, as git's rename detection finds them.
fn renames_in(
    repo: &gix::Repository,
    old: ObjectId,
    new: ObjectId,
) -> anyhow::Result<Vec<(String, String, ObjectId, ObjectId)>> {
    let (old, new) = (
        repo.find_tree(old)
            .map_err(|e| anyhow!("tree {old}: {e}"))?,
        repo.find_tree(new)
            .map_err(|e| anyhow!("tree {new}: {e}"))?,
    );
    let opts = gix::diff::Options::default().with_rewrites(Some(gix::diff::Rewrites::default()));
    let changes = repo
        .diff_tree_to_tree(Some(&old), Some(&new), opts)
        .map_err(|e| anyhow!("rename detection: {e}"))?;
    Ok(changes
        .into_iter()
        .filter_map(|c| match c {
            gix::object::tree::diff::ChangeDetached::Rewrite {
                source_location,
                source_id,
                location,
                id,
                copy: false,
                ..
            } => Some((
                source_location.to_string(),
                location.to_string(),
                source_id,
                id,
            )),
            _ => None,
        })
        .collect())
}

/// A commit as `git describe --tags` names it.
struct Described {
    /// The nearest tag, and how far past it (`v6.7-rc1-12-g1a2b3c4d5e6f`).
    name: String,
    /// The tag's commit, when the described commit is past it.
    past: Option<ObjectId>,
}

/// `id` as `git describe --tags` names it; `None` when no tag is reachable.
fn describe(repo: &gix::Repository, id: ObjectId) -> Option<Described> {
    let commit = repo.find_commit(id).ok()?;
    let found = commit
        .describe()
        .names(gix::commit::describe::SelectRef::AllTags)
        .try_resolve()
        .ok()??;
    let name = found.outcome.name.as_ref()?.to_string();
    if found.outcome.depth == 0 {
        return Some(Described { name, past: None });
    }
    let tag = repo
        .find_reference(format!("refs/tags/{name}").as_str())
        .ok()?
        .peel_to_commit()
        .ok()?
        .id;
    Some(Described {
        name: format!("{name}-{}-g{}", found.outcome.depth, &id.to_string()[..12]),
        past: Some(tag),
    })
}

/// How each of the tip's files (`(path, blob)`) is in the tree of the tag's commit.
fn files_at_tag(
    repo: &gix::Repository,
    tag: ObjectId,
    tip_blobs: &[(String, ObjectId)],
) -> anyhow::Result<Vec<(String, FileAtTag)>> {
    let tree = repo
        .find_commit(tag)
        .with_context(|| format!("tagged commit {tag}"))?
        .tree()
        .with_context(|| format!("the tree of tagged commit {tag}"))?;
    tip_blobs
        .iter()
        .map(|(path, id)| {
            let state = match tree
                .lookup_entry_by_path(path)
                .with_context(|| format!("{path} at tagged commit {tag}"))?
            {
                None => FileAtTag::Absent,
                Some(e) if e.object_id() == *id => FileAtTag::Same,
                Some(_) => FileAtTag::Changed,
            };
            Ok((path.clone(), state))
        })
        .collect()
}
