//! public-inbox v2 mirrors: `git/0.git`, `git/1.git`, … bare repositories with one commit
//! per message and the raw message in the blob `m`. Read with gix (no `git` process),
//! incrementally: only commits after the last one imported from each epoch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use treewide_core::messages::Cursor;

use super::{Raw, Read, Skipped};

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

/// Read every epoch's commits after its cursor (`done`: epoch → last imported commit).
pub fn read(dir: &Path, inbox: &str, done: &HashMap<i64, String>) -> anyhow::Result<Read> {
    let mut out = Read::default();
    for (epoch, path) in epochs(dir)? {
        read_epoch(
            &path,
            epoch,
            inbox,
            done.get(&epoch).map(String::as_str),
            &mut out,
        )
        .with_context(|| format!("epoch {epoch} ({})", path.display()))?;
    }
    Ok(out)
}

fn read_epoch(
    path: &Path,
    epoch: i64,
    inbox: &str,
    after: Option<&str>,
    out: &mut Read,
) -> anyhow::Result<()> {
    let repo = gix::open(path).context("cannot open the bare repository")?;
    let tip = match repo.head_id() {
        Ok(id) => id.detach(),
        // An epoch without commits yet.
        Err(_) => return Ok(()),
    };
    let mut ids = Vec::new();
    for info in repo.rev_walk([tip]).all().context("cannot walk history")? {
        let id = info.context("broken history")?.id;
        if after == Some(id.to_string().as_str()) {
            break;
        }
        ids.push(id);
    }
    ids.reverse();
    for id in &ids {
        let position = format!("epoch {epoch} commit {id}");
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
        match blob {
            Ok(data) => out.messages.push(Raw { position, data }),
            Err(e) => out.skipped.push(Skipped {
                position,
                reason: format!("{e:#}"),
            }),
        }
    }
    if let Some(last) = ids.last() {
        out.cursors.push(Cursor {
            inbox: inbox.to_owned(),
            epoch,
            last_commit: last.to_string(),
        });
    }
    Ok(())
}
