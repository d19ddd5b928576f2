//! The stored listing of a tree (`scan_dirs.listing`): every directory a scan walked, with
//! its key, its `.c`/`.h` files' names, sizes and mtimes and its subdirectories, packed in
//! blobs, one per group of directories ([`group_of`]: ~600 for the kernel's 5,000
//! directories and 55k files, 2 MB in all). One row a directory cost more in per-row
//! overhead than the rest of loading it; one blob for the tree cost more to write back after
//! a one-file change than the rest of the re-scan. A re-scan decodes a directory only when
//! its walk reaches it, and writes back only the groups that changed.
//!
//! Layout of a blob (little-endian), after the 4-byte magic `TWL1`, one record a directory:
//! `u32` record length, `u16` + bytes of the directory's path, then its body: `u8` key flag
//! (+ `u64` inode, `i64` ctime), `u32` file count, each file `u16` name length, `u64`
//! size, `i64` mtime, `u8` flags (1: mtime known, 2: candidate) and the name, then `u32`
//! subdirectory count, each `u16` + bytes.

use std::collections::HashMap;
use std::ops::Range;

/// The first bytes of a listing: a blob without them (or of another layout) is not read.
const MAGIC: &[u8; 4] = b"TWL1";

/// A directory as a scan listed it: what a re-scan needs to know to stat its files without
/// listing it again, and to know them unchanged without opening them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirState<'a> {
    /// The directory's inode and change time (ns) when it was listed: an entry added,
    /// removed or renamed in it changes its change time, which nothing can set back (unlike
    /// a modification time, which `cp -a` or `tar` restore). `None`: too close to the scan
    /// to trust, listed again next time.
    pub key: Option<(u64, i64)>,
    /// Its `.c`/`.h` files (regular files), in name order.
    pub files: Vec<DirFile<'a>>,
    /// Its subdirectories (not hidden, not symlinks), in name order.
    pub dirs: Vec<&'a str>,
}

/// One `.c`/`.h` file of a directory, as a scan saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFile<'a> {
    pub name: &'a str,
    pub size: u64,
    /// `None`: modified too close to the scan to trust; read again next time.
    pub mtime_ns: Option<i64>,
    /// It had a candidate call: its findings are in `scan_files`.
    pub candidate: bool,
}

/// The group a directory's record is stored in: the first two levels of its path
/// (`drivers/net/ethernet/intel` → `drivers/net`, `lib` → `lib`, the root → `""`).
pub fn group_of(dir: &str) -> &str {
    match dir.match_indices('/').nth(1) {
        Some((i, _)) => &dir[..i],
        None => dir,
    }
}

/// The body of a directory's record.
pub fn encode_dir(dir: &DirState<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + dir.files.len() * 40);
    match dir.key {
        Some((ino, ctime)) => {
            out.push(1);
            out.extend_from_slice(&ino.to_le_bytes());
            out.extend_from_slice(&ctime.to_le_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&len32(dir.files.len()).to_le_bytes());
    for f in &dir.files {
        out.extend_from_slice(&len16(f.name).to_le_bytes());
        out.extend_from_slice(&f.size.to_le_bytes());
        out.extend_from_slice(&f.mtime_ns.unwrap_or(0).to_le_bytes());
        out.push(u8::from(f.mtime_ns.is_some()) | (u8::from(f.candidate) << 1));
        out.extend_from_slice(f.name.as_bytes());
    }
    out.extend_from_slice(&len32(dir.dirs.len()).to_le_bytes());
    for d in &dir.dirs {
        out.extend_from_slice(&len16(d).to_le_bytes());
        out.extend_from_slice(d.as_bytes());
    }
    out
}

/// A directory's record body read back; `None` when it does not read (then the directory
/// is listed and its files read again).
pub fn decode_dir(body: &[u8]) -> Option<DirState<'_>> {
    let mut r = Reader(body);
    let key = match r.u8()? {
        0 => None,
        _ => Some((r.u64()?, r.i64()?)),
    };
    let n = r.u32()? as usize;
    let mut files = Vec::with_capacity(n.min(body.len() / 19));
    for _ in 0..n {
        let len = usize::from(r.u16()?);
        let (size, mtime, flags) = (r.u64()?, r.i64()?, r.u8()?);
        files.push(DirFile {
            name: r.str(len)?,
            size,
            mtime_ns: (flags & 1 != 0).then_some(mtime),
            candidate: flags & 2 != 0,
        });
    }
    let n = r.u32()? as usize;
    let mut dirs = Vec::with_capacity(n.min(body.len() / 2));
    for _ in 0..n {
        let len = usize::from(r.u16()?);
        dirs.push(r.str(len)?);
    }
    r.0.is_empty().then_some(DirState { key, files, dirs })
}

/// Directories' records put together into a listing.
#[derive(Debug, Default)]
pub struct ListingWriter(Vec<u8>);

impl ListingWriter {
    pub fn new() -> ListingWriter {
        ListingWriter(MAGIC.to_vec())
    }

    /// Add directory `dir` with its record body.
    pub fn push(&mut self, dir: &str, body: &[u8]) {
        let len = 2 + dir.len() + body.len();
        self.0
            .extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        self.0.extend_from_slice(&len16(dir).to_le_bytes());
        self.0.extend_from_slice(dir.as_bytes());
        self.0.extend_from_slice(body);
    }

    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Where each directory's record body lies in a listing; empty when the listing does not
/// read.
pub fn index(listing: &[u8]) -> HashMap<String, Range<usize>> {
    let mut out = HashMap::new();
    let Some(mut at) = listing.starts_with(MAGIC).then_some(MAGIC.len()) else {
        return out;
    };
    while at < listing.len() {
        let Some(record) = read_record(listing, at) else {
            return HashMap::new();
        };
        let (dir, body, next) = record;
        out.insert(dir.to_owned(), body);
        at = next;
    }
    out
}

/// The record at `at`: its directory, its body's range and where the next record starts.
fn read_record(listing: &[u8], at: usize) -> Option<(&str, Range<usize>, usize)> {
    let mut r = Reader(listing.get(at..)?);
    let len = r.u32()? as usize;
    let end = at.checked_add(4)?.checked_add(len)?;
    let mut r = Reader(listing.get(at + 4..end)?);
    let dir_len = usize::from(r.u16()?);
    let dir = r.str(dir_len)?;
    Some((dir, end - r.0.len()..end, end))
}

fn len16(s: &str) -> u16 {
    // Names and paths are far shorter (a Linux file name is at most 255 bytes, a path 4096).
    u16::try_from(s.len()).unwrap_or(u16::MAX)
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Reads a record front to back; every read is `None` past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn str(&mut self, n: usize) -> Option<&'a str> {
        std::str::from_utf8(self.take(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DirState<'static> {
        DirState {
            key: Some((1234, 1_700_000_000_987_654_321)),
            files: vec![
                DirFile {
                    name: "a.c",
                    size: 12,
                    mtime_ns: Some(1_700_000_000_123_456_789),
                    candidate: true,
                },
                DirFile {
                    name: "ünï.h",
                    size: 0,
                    mtime_ns: None,
                    candidate: false,
                },
            ],
            dirs: vec!["sub", "zz"],
        }
    }

    #[test]
    fn groups_are_the_first_two_levels() {
        assert_eq!(group_of("drivers/net/ethernet/intel"), "drivers/net");
        assert_eq!(group_of("drivers/net"), "drivers/net");
        assert_eq!(group_of("lib"), "lib");
        assert_eq!(group_of(""), "");
    }

    #[test]
    fn listings_read_back_as_written() {
        let (a, b) = (sample(), DirState::default());
        let mut w = ListingWriter::new();
        w.push("drivers/net", &encode_dir(&a));
        w.push("", &encode_dir(&b));
        let listing = w.finish();
        let index = index(&listing);
        assert_eq!(index.len(), 2);
        assert_eq!(decode_dir(&listing[index["drivers/net"].clone()]), Some(a));
        assert_eq!(decode_dir(&listing[index[""].clone()]), Some(b));
    }

    #[test]
    fn damaged_listings_read_as_nothing() {
        let mut w = ListingWriter::new();
        w.push("lib", &encode_dir(&sample()));
        let listing = w.finish();
        assert!(index(&listing[..listing.len() - 1]).is_empty());
        assert!(index(b"TWL0").is_empty());
        assert!(index(b"").is_empty());
        let body = encode_dir(&sample());
        assert_eq!(decode_dir(&body[..body.len() - 1]), None);
        let mut longer = body.clone();
        longer.push(0);
        assert_eq!(decode_dir(&longer), None);
    }
}
