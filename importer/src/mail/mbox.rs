//! mbox files (mboxrd as lore and `b4` write them, plain or gzip): split into messages with
//! their positions, undoing `>From ` escaping.
//!
//! Splitting is done here rather than with mail-parser's mbox reader because an import must
//! say *where* a bad message is (line of its `From ` separator).

use std::borrow::Cow;
use std::io::Read;

use anyhow::Context;
use memchr::memchr;

/// One message of an mbox, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage<'a> {
    /// 1-based line of the `From ` separator (or 1 for a file holding a single bare message).
    pub line: usize,
    pub data: Cow<'a, [u8]>,
}

/// Gunzip `bytes` when they are gzip (by magic number), else return them as they are.
pub fn maybe_gunzip(bytes: Vec<u8>, what: &str) -> anyhow::Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
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

/// Split an mbox into messages. A file that does not start with `From ` is one bare message.
/// A separator counts only at the start or after an empty line (mboxo writers leave body
/// lines starting with `From ` unescaped, but never after a blank line… mostly).
pub fn split(data: &[u8]) -> Vec<RawMessage<'_>> {
    if !data.starts_with(b"From ") {
        return if data.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            vec![RawMessage {
                line: 1,
                data: Cow::Borrowed(data),
            }]
        };
    }
    let mut out = Vec::new();
    // (start of the message body, line of its separator)
    let mut cur: Option<(usize, usize)> = None;
    let mut pos = 0;
    let mut line_no = 0;
    let mut prev_blank = true;
    while pos < data.len() {
        line_no += 1;
        let end = memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i + 1);
        let line = &data[pos..end];
        if prev_blank && is_separator(line) {
            finish(data, cur.take(), pos, &mut out);
            cur = Some((end, line_no));
        }
        prev_blank = line == b"\n" || line == b"\r\n";
        pos = end;
    }
    finish(data, cur, data.len(), &mut out);
    out
}

/// Close the message that started at `cur` (body start, separator line) and ends at `end`.
fn finish<'a>(
    data: &'a [u8],
    cur: Option<(usize, usize)>,
    end: usize,
    out: &mut Vec<RawMessage<'a>>,
) {
    if let Some((start, line)) = cur {
        let mut body = &data[start..end];
        // The blank line before the next separator belongs to the mbox, not the message.
        if body.ends_with(b"\n\n") {
            body = &body[..body.len() - 1];
        } else if body.ends_with(b"\r\n\r\n") {
            body = &body[..body.len() - 2];
        }
        out.push(RawMessage {
            line,
            data: unescape(body),
        });
    }
}

/// Undo mboxrd escaping: `>From `, `>>From `… lose one `>`.
fn unescape(body: &[u8]) -> Cow<'_, [u8]> {
    let escaped = |l: &[u8]| {
        let n = l.iter().take_while(|b| **b == b'>').count();
        n > 0 && l[n..].starts_with(b"From ")
    };
    let mut any = false;
    let mut pos = 0;
    while pos < body.len() {
        let end = memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i + 1);
        if escaped(&body[pos..end]) {
            any = true;
            break;
        }
        pos = end;
    }
    if !any {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut pos = 0;
    while pos < body.len() {
        let end = memchr(b'\n', &body[pos..]).map_or(body.len(), |i| pos + i + 1);
        let l = &body[pos..end];
        out.extend_from_slice(if escaped(l) { &l[1..] } else { l });
        pos = end;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_mboxrd_and_unescapes() {
        let m =
            b"From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: a\n\n>From here\n>>From there\n\n\
                  From mboxrd@z Thu Jan  1 00:00:00 1970\nSubject: b\n\nFrom inside body\n";
        let v = split(m);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].line, 1);
        assert_eq!(&*v[0].data, b"Subject: a\n\nFrom here\n>From there\n");
        assert_eq!(v[1].line, 7);
        assert_eq!(&*v[1].data, b"Subject: b\n\nFrom inside body\n");
    }

    #[test]
    fn bare_message_and_empty_file() {
        assert_eq!(split(b"Subject: x\n\nbody\n").len(), 1);
        assert!(split(b"\n\n").is_empty());
    }
}
