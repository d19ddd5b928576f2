//! Big public-inbox v2 epochs made of real mail, for tests and benches that need more mail
//! than `../shared/data/mail` holds: the real messages copied, each copy under its own
//! Message-IDs (threads stay whole within a copy), written with `git fast-import` as
//! public-inbox writes an epoch (a bare repository, linear `refs/heads/master`, one commit a
//! message, its tree the one blob `m`). Always into a temporary folder, never the repository.
//!
//! One file, included with `#[path]` by the root crate's tests and by `benches/mail.rs`.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// `raw` as copy `copy`: every Message-ID, In-Reply-To and References id gets the prefix
/// `c{copy}.`, and an `X-Bench-Copy` header makes messages without a Message-ID distinct.
pub fn fresh_ids(raw: &[u8], copy: usize) -> Vec<u8> {
    let split = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(raw.len(), |p| p + 1);
    let (head, body) = raw.split_at(split);
    let mut out = Vec::with_capacity(raw.len() + 64);
    let _ = writeln!(out, "X-Bench-Copy: {copy}");
    let mut in_ids = false;
    for line in head.split_inclusive(|b| *b == b'\n') {
        let cont = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !cont {
            let l = line.to_ascii_lowercase();
            in_ids = [&b"message-id:"[..], b"in-reply-to:", b"references:"]
                .iter()
                .any(|h| l.starts_with(h));
        }
        if in_ids {
            for (k, part) in line.split(|b| *b == b'<').enumerate() {
                if k > 0 {
                    let _ = write!(out, "<c{copy}.");
                }
                out.extend_from_slice(part);
            }
        } else {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(body);
    out
}

/// Write `messages` as a public-inbox v2 epoch: a bare repository at `git_dir` (created),
/// one commit a message on `refs/heads/master`, oldest first. Returns how many.
pub fn write_epoch(
    git_dir: &Path,
    messages: impl Iterator<Item = Vec<u8>>,
) -> std::io::Result<usize> {
    let ok = Command::new("git")
        .args(["init", "--quiet", "--bare", "--initial-branch=master"])
        .arg(git_dir)
        .status()?
        .success();
    if !ok {
        return Err(std::io::Error::other("git init failed"));
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .spawn()?;
    let mut n = 0;
    {
        let mut stdin = std::io::BufWriter::new(child.stdin.take().expect("piped stdin"));
        for (i, m) in messages.enumerate() {
            // One commit a message, a second apart, its tree the blob `m` alone.
            let when = 1_600_000_000 + i;
            write!(stdin, "blob\nmark :{}\ndata {}\n", 2 * i + 1, m.len())?;
            stdin.write_all(&m)?;
            let msg = format!("message {i}\n");
            write!(
                stdin,
                "\ncommit refs/heads/master\nmark :{}\ncommitter Bench <bench@example.org> {when} +0000\ndata {}\n{msg}deleteall\nM 100644 :{} m\n\n",
                2 * i + 2,
                msg.len(),
                2 * i + 1
            )?;
            n += 1;
        }
        stdin.write_all(b"done\n")?;
        stdin.flush()?;
    }
    if !child.wait()?.success() {
        return Err(std::io::Error::other("git fast-import failed"));
    }
    Ok(n)
}

/// The raw messages of a bare public-inbox epoch (each commit's blob `m`, oldest first), read
/// with `git` (`log --reverse` and one `cat-file --batch`).
pub fn read_epoch(git_dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let log = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["log", "--reverse", "--format=%H:m", "refs/heads/master"])
        .output()?;
    if !log.status.success() {
        return Err(std::io::Error::other("git log failed"));
    }
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&log.stdout));
    let mut out = Vec::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        if std::io::BufRead::read_line(&mut stdout, &mut line)? == 0 {
            break;
        }
        // `<oid> blob <size>`, or `<name> missing` for a commit without `m`.
        let Some(size) = line
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        let mut data = vec![0; size + 1];
        std::io::Read::read_exact(&mut stdout, &mut data)?;
        data.pop();
        out.push(data);
    }
    writer
        .join()
        .map_err(|_| std::io::Error::other("writer panicked"))??;
    child.wait()?;
    Ok(out)
}

/// Unpack the real target-devel epoch (7,273 messages) under `dir`; its `git/0.git`.
pub fn target_devel(tar: &Path, dir: &Path) -> std::io::Result<std::path::PathBuf> {
    let ok = Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(dir)
        .status()?
        .success();
    if !ok {
        return Err(std::io::Error::other("tar failed"));
    }
    Ok(dir.join("git/0.git"))
}

/// An epoch of `n` messages at `git_dir`: `source`'s messages, copied under fresh ids until
/// there are `n`.
pub fn replicate(source: &[Vec<u8>], n: usize, git_dir: &Path) -> std::io::Result<usize> {
    let len = source.len().max(1);
    write_epoch(
        git_dir,
        source
            .iter()
            .cycle()
            .take(n)
            .enumerate()
            .map(|(i, m)| fresh_ids(m, i / len)),
    )
}
