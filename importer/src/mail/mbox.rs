//! mbox files (mboxrd as lore and `b4` write them, plain or gzip): split into messages with
//! their positions, undoing `>From ` escaping.
//!
//! Splitting is done here rather than with mail-parser's mbox reader because an import must
//! say *where* a bad message is (line of its `From ` separator). [`MboxReader`] splits while
//! it reads, block by block, so an import holds a chunk of the file rather than all of it.

use std::collections::VecDeque;
use std::io::Read;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use memchr::{memchr, memmem};

/// One message of an mbox, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// 1-based line of the `From ` separator (or 1 for a file holding a single bare message).
    pub line: usize,
    /// The message: a slice of the mbox's buffer, or a copy when `>From ` lines were unescaped.
    pub data: Bytes,
}

/// gzip's magic number: an mbox is gunzipped when it starts with it, whatever its name.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Gunzip `bytes` when they are gzip (by magic number), else return them as they are.
pub fn maybe_gunzip(bytes: Vec<u8>, what: &str) -> anyhow::Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .with_context(|| format!("{what}: broken gzip data"))?;
    Ok(out)
}

/// True for a `From ` separator line: `From <sender> <asctime date>`, which holds `hh:mm:ss`.
fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
        && line.windows(8).any(|w| {
            w[2] == b':'
                && w[5] == b':'
                && [0, 1, 3, 4, 6, 7].iter().all(|i| w[*i].is_ascii_digit())
        })
}

/// The line of `data` that starts at `pos` (with its newline).
fn line_at(data: &[u8], pos: usize) -> &[u8] {
    let end = memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
    &data[pos..end]
}

/// True when the line ending just before `pos` (a line start) is empty: `\n` or `\r\n`.
fn after_blank(data: &[u8], pos: usize) -> bool {
    let before = &data[..pos];
    before == b"\n" || before == b"\r\n" || before.ends_with(b"\n\n") || before.ends_with(b"\n\r\n")
}

fn newlines(b: &[u8]) -> usize {
    // memchr's count is vectorized (AVX2 where there is one); a 300 MB mbox has 5M lines.
    memchr::memchr_iter(b'\n', b).count()
}

/// Where lines starting with `From ` start (after the first byte): the only places a
/// separator can be.
fn candidates(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memmem::find_iter(data, b"\nFrom ").map(|i| i + 1)
}

/// The length of the separator line starting at `pos`, when one does: at the start or after
/// a blank line, with a time (see [`is_separator`]).
fn separator_at(data: &[u8], pos: usize) -> Option<usize> {
    if !(pos == 0 || after_blank(data, pos)) {
        return None;
    }
    let line = line_at(data, pos);
    is_separator(line).then_some(line.len())
}

/// Split an mbox into messages. A file that does not start with `From ` is one bare message.
/// A separator counts only at the start or after an empty line (mboxo writers leave body
/// lines starting with `From ` unescaped, but never after a blank line… mostly).
///
/// The messages share `data`'s buffer: only separator candidates (`\nFrom `) are looked at,
/// so splitting costs little more than one SIMD pass over the file.
pub fn split(data: Bytes) -> Vec<RawMessage> {
    if !data.starts_with(b"From ") {
        return if data.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            vec![RawMessage { line: 1, data }]
        };
    }
    let mut out = Vec::new();
    // (start of the message after its separator line, line of that separator)
    let mut cur: Option<(usize, usize)> = None;
    let (mut counted_to, mut line_no) = (0, 1);
    let candidates = std::iter::once(0)
        .chain(candidates(&data))
        .collect::<Vec<_>>();
    for pos in candidates {
        let Some(len) = separator_at(&data, pos) else {
            continue;
        };
        line_no += newlines(&data[counted_to..pos]);
        counted_to = pos;
        finish(&data, cur.take(), pos, &mut out);
        cur = Some((pos + len, line_no));
    }
    finish(&data, cur, data.len(), &mut out);
    out
}

/// Close the message that started at `cur` (body start, separator line) and ends at `end`.
fn finish(data: &Bytes, cur: Option<(usize, usize)>, end: usize, out: &mut Vec<RawMessage>) {
    if let Some((start, line)) = cur {
        let mut body = data.slice(start..end);
        // The blank line before the next separator belongs to the mbox, not the message.
        if body.ends_with(b"\n\n") {
            body.truncate(body.len() - 1);
        } else if body.ends_with(b"\r\n\r\n") {
            body.truncate(body.len() - 2);
        }
        out.push(RawMessage {
            line,
            data: unescape(body),
        });
    }
}

/// Undo mboxrd escaping: `>From `, `>>From `… lose one `>`.
fn unescape(body: Bytes) -> Bytes {
    // Positions of the lines that are escaped `From ` lines (`>+From ` at a line start).
    let escaped: Vec<usize> = memmem::find_iter(&body, b"From ")
        .filter_map(|at| {
            let quotes = body[..at].iter().rev().take_while(|b| **b == b'>').count();
            let start = at - quotes;
            (quotes > 0 && (start == 0 || body[start - 1] == b'\n')).then_some(start)
        })
        .collect();
    if escaped.is_empty() {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut from = 0;
    for start in escaped {
        out.extend_from_slice(&body[from..start]);
        from = start + 1;
    }
    out.extend_from_slice(&body[from..]);
    Bytes::from(out)
}

/// Bytes read from the underlying reader at a time.
const BLOCK: usize = 1 << 20;

/// An mbox read while it is parsed: messages come out as soon as a block holding them has
/// been read, so parsing starts with the first block and a multi-GB archive (or its gzip)
/// never sits in memory whole. Gives the same messages, lines and bytes as [`split`].
pub struct MboxReader<R> {
    reader: R,
    /// Unread input; starts at a separator line (or at the start of the file).
    buf: BytesMut,
    /// 1-based line number of `buf[0]`.
    line: usize,
    eof: bool,
    /// Messages split off, not handed out yet.
    ready: VecDeque<RawMessage>,
    /// Bytes to read at a time.
    block: usize,
    /// Where in `buf` to look for separators again: every candidate before it was decided
    /// (not a separator) when the buffer was last searched. Without it each block re-searched
    /// the whole unfinished message, quadratic in a long one read in small blocks.
    searched: usize,
}

impl<R: Read> MboxReader<R> {
    pub fn new(reader: R) -> MboxReader<R> {
        MboxReader {
            reader,
            buf: BytesMut::new(),
            line: 1,
            eof: false,
            ready: VecDeque::new(),
            block: BLOCK,
            searched: 0,
        }
    }

    /// Read `block` bytes at a time (tests cut messages at every byte with small blocks).
    pub fn with_block(mut self, block: usize) -> MboxReader<R> {
        self.block = block.max(1);
        self
    }

    /// The next message, reading more input when none is complete yet.
    pub fn next_message(&mut self) -> std::io::Result<Option<RawMessage>> {
        loop {
            if let Some(m) = self.ready.pop_front() {
                return Ok(Some(m));
            }
            // A file that does not start with `From ` is one bare message: read it whole.
            let mbox = self.buf.len() >= 5 && self.buf.starts_with(b"From ");
            if mbox {
                if let Some(end) = self.last_separator() {
                    let piece = self.buf.split_to(end).freeze();
                    self.searched = 0;
                    self.take(piece);
                    continue;
                }
            }
            if self.eof {
                let piece = self.buf.split().freeze();
                if piece.is_empty() {
                    return Ok(None);
                }
                self.take(piece);
                if self.ready.is_empty() {
                    return Ok(None);
                }
                continue;
            }
            self.fill()?;
        }
    }

    /// Split `piece` (whole messages) into `ready`, with lines counted from `self.line`.
    fn take(&mut self, piece: Bytes) {
        let base = self.line - 1;
        self.line += newlines(&piece);
        self.ready.extend(split(piece).into_iter().map(|mut m| {
            m.line += base;
            m
        }));
    }

    /// Where the last complete separator line after the first starts (the messages before it
    /// are whole), if the buffer holds one. Looks only past what earlier calls decided.
    fn last_separator(&mut self) -> Option<usize> {
        let data = &self.buf[..];
        let from = self.searched;
        let found = candidates(&data[from..])
            .map(|pos| from + pos)
            .filter(|&pos| {
                // The line must be complete to tell a separator (its time may not be read yet).
                memchr(b'\n', &data[pos..]).is_some() && separator_at(data, pos).is_some()
            })
            .last();
        // A candidate on the last, unfinished line is decided only once the line is: search
        // again from that line's newline (a candidate's match starts there).
        self.searched = memchr::memrchr(b'\n', data).unwrap_or(0);
        found
    }

    /// Read one more block (or note the end).
    fn fill(&mut self) -> std::io::Result<()> {
        let len = self.buf.len();
        self.buf.resize(len + self.block, 0);
        let mut got = 0;
        while got < self.block {
            match self.reader.read(&mut self.buf[len + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
            }
        }
        self.buf.truncate(len + got);
        Ok(())
    }
}

/// An mbox file as a [`MboxReader`], gunzipped on the fly when it is gzip (see [`reader`]).
pub fn open(path: &std::path::Path) -> anyhow::Result<MboxReader<Box<dyn Read + Send>>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    reader(file).with_context(|| format!("cannot read {}", path.display()))
}

/// An mbox as a [`MboxReader`], gunzipped on the fly when it starts with gzip's magic number.
pub fn reader(
    input: impl Read + Send + 'static,
) -> std::io::Result<MboxReader<Box<dyn Read + Send>>> {
    let mut input = std::io::BufReader::new(input);
    let gzip = std::io::BufRead::fill_buf(&mut input)?.starts_with(&GZIP_MAGIC);
    Ok(MboxReader::new(if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else {
        Box::new(input)
    }))
}

#[cfg(test)]
#[path = "../../../tests/support/real_mail.rs"]
mod real_mail;

#[cfg(test)]
mod tests {
    use super::real_mail;
    use super::*;

    #[test]
    fn splits_mboxrd_and_unescapes() {
        let m =
            b"From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: a\n\n>From here\n>>From there\n\n\
                  From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: b\n\nFrom inside body\n";
        let v = split(Bytes::from_static(m));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].line, 1);
        assert_eq!(&*v[0].data, b"Subject: a\n\nFrom here\n>From there\n");
        assert_eq!(v[1].line, 7);
        assert_eq!(&*v[1].data, b"Subject: b\n\nFrom inside body\n");
    }

    #[test]
    fn bare_message_and_empty_file() {
        assert_eq!(split(Bytes::from_static(b"Subject: x\n\nbody\n")).len(), 1);
        assert!(split(Bytes::from_static(b"\n\n")).is_empty());
    }

    #[test]
    fn reading_in_blocks_gives_what_splitting_the_whole_gives() {
        let Some(path) = real_mail::real_mail("threads/block-reexpand-iov_iter.mbox.gz") else {
            return;
        };
        let real = maybe_gunzip(std::fs::read(path).unwrap(), "t").unwrap();
        let made = b"From a@b Mon Jan  1 00:00:00 2024\r\nSubject: a\r\n\r\n>From x\r\nFrom b Mon Jan  1 00:00:00 2024\r\n\r\n\
                     From c@d Tue Jan  2 10:11:12 2024\r\nSubject: b\r\n\r\ny\r\n\r\n"
            .to_vec();
        for input in [
            real,
            made,
            b"Subject: bare\n\nno separator\n".to_vec(),
            b"\n \n".to_vec(),
        ] {
            let whole = split(Bytes::from(input.clone()));
            for block in [1, 2, 7, 64, 1000, 1 << 20] {
                let mut r = MboxReader::new(&input[..]).with_block(block);
                let mut got = Vec::new();
                while let Some(m) = r.next_message().unwrap() {
                    got.push(m);
                }
                assert_eq!(got, whole, "block {block}");
            }
        }
    }

    #[test]
    fn a_long_message_read_in_small_blocks_is_searched_once() {
        // Each block used to re-search the whole unfinished message for separators: a 4 MB
        // message read 64 bytes at a time searched ~150 GB. Now each block searches what it
        // added (plus the unfinished line).
        let mut input = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: big\n\n".to_vec();
        for i in 0..100_000 {
            input.extend_from_slice(
                format!("From line {i} of the body, not a separator\n").as_bytes(),
            );
        }
        input.extend_from_slice(b"\nFrom c@d Tue Jan  2 10:11:12 2024\nSubject: next\n\nx\n");
        let mut r = MboxReader::new(&input[..]).with_block(64);
        let first = r.next_message().unwrap().unwrap();
        assert_eq!(first.line, 1);
        assert!(first.data.starts_with(b"Subject: big\n"));
        assert_eq!(r.next_message().unwrap().unwrap().line, 100_005);
        assert!(r.next_message().unwrap().is_none());
        assert_eq!(split(Bytes::from(input)).len(), 2);
    }

    #[test]
    fn separators_only_after_blank_lines_and_with_a_time() {
        let m = b"From a@b Mon Jan  1 00:00:00 2024\r\nSubject: a\r\n\r\nx\r\nFrom b Mon Jan  1 00:00:00 2024\r\n\r\n\
                  From not a separator, no time\r\n\r\nFrom c@d Tue Jan  2 10:11:12 2024\r\nSubject: b\r\n\r\ny >From z\r\n>From w\r\n";
        let v = split(Bytes::from_static(m));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].line, 1);
        assert_eq!(
            &*v[0].data,
            b"Subject: a\r\n\r\nx\r\nFrom b Mon Jan  1 00:00:00 2024\r\n\r\nFrom not a separator, no time\r\n"
        );
        assert_eq!(v[1].line, 9);
        assert_eq!(&*v[1].data, b"Subject: b\r\n\r\ny >From z\r\nFrom w\r\n");
    }
}
