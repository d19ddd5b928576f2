//! Structure-aware input mutation for the parser fuzz suites (`formats/tests/fuzz.rs`,
//! `importer/tests/fuzz.rs`): start from real inputs (fixtures, kernel files, real mail) and
//! apply a few byte- and line-level edits (insert, delete, truncate, duplicate or splice
//! lines, swap in tokens the parsers care about), or take arbitrary bytes. proptest shrinks a
//! failure to the fewest edits and persists it under `proptest-regressions/`.
//!
//! Included with `#[path]` by each crate's fuzz suite (a dev-only crate would have to depend
//! on the importer it tests). How many cases: [`cases`] (`PROPTEST_CASES` overrides).

#![allow(dead_code)]

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence};

/// One edit of an input.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Insert these bytes at a position.
    Insert(Index, Vec<u8>),
    /// Insert one of the format's tokens at a position (and at a line start when `line`).
    Token(Index, Index, bool),
    /// Delete a range (start, length up to 64).
    Delete(Index, usize),
    /// Cut the input at a position.
    Truncate(Index),
    /// Repeat a run of lines (start line, count, times).
    DupLines(Index, usize, usize),
    /// Delete a run of lines.
    DropLines(Index, usize),
    /// Put lines of another seed at a line of this one.
    Splice(Index, Index, Index, usize),
    /// Overwrite one byte.
    Flip(Index, u8),
    /// Insert one of the tokens many times over (deep nesting, long runs).
    Repeat(Index, Index, usize),
}

/// Tokens worth inserting everywhere: line ends, quotes, brackets, NUL, invalid UTF-8 and
/// multi-byte characters at boundaries.
pub const COMMON: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    "\0",
    "\"",
    "'",
    "\\",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    ":",
    "*",
    "/*",
    "*/",
    "//",
    "#",
    "\t",
    " ",
    "é",
    "\u{2028}",
    "\u{1F600}",
    "\u{FEFF}",
    "\u{FFFD}",
];

/// A case count: `PROPTEST_CASES` when set (for long campaigns), else `default` (tuned so
/// that every fuzz suite together stays near a minute under `cargo test` on two cores).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The proptest config of a fuzz target: `default` cases, failures persisted in `file`
/// (relative to the crate, where cargo runs its tests: `proptest-regressions/fuzz.txt`),
/// committed and replayed first on every run.
pub fn config(default: u32, file: &'static str) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(file))),
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        4 => (any::<Index>(), any::<Index>(), any::<bool>())
            .prop_map(|(i, t, l)| Edit::Token(i, t, l)),
        3 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        2 => (any::<Index>(), 1usize..8, 1usize..4).prop_map(|(i, n, t)| Edit::DupLines(i, n, t)),
        2 => (any::<Index>(), 1usize..8).prop_map(|(i, n)| Edit::DropLines(i, n)),
        2 => (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..16)
            .prop_map(|(a, s, b, n)| Edit::Splice(a, s, b, n)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        1 => (any::<Index>(), any::<Index>(), 100usize..3000)
            .prop_map(|(i, t, n)| Edit::Repeat(i, t, n)),
    ]
}

/// Line start offsets of `b` (always holds 0).
fn line_starts(b: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            b.iter()
                .enumerate()
                .filter(|(_, c)| **c == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|i| *i <= b.len())
        .collect()
}

/// The byte range of `n` lines starting at line index `i`.
fn line_range(b: &[u8], i: Index, n: usize) -> std::ops::Range<usize> {
    let starts = line_starts(b);
    let first = i.index(starts.len());
    let start = starts[first];
    let end = starts.get(first + n).copied().unwrap_or(b.len());
    start..end
}

/// One of the format's tokens or the common ones.
fn token<'a>(tokens: &[&'a str], t: &Index) -> &'a str {
    let k = t.index(tokens.len() + COMMON.len());
    tokens
        .get(k)
        .copied()
        .unwrap_or_else(|| COMMON[k - tokens.len()])
}

/// Apply `edits` to `seed`; `others` are the seeds a splice takes lines from.
pub fn apply(seed: &[u8], edits: &[Edit], tokens: &[&str], others: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seed.to_vec();
    let pos = |b: &Vec<u8>, i: &Index| i.index(b.len() + 1);
    for e in edits {
        match e {
            Edit::Insert(i, bytes) => {
                let p = pos(&b, i);
                b.splice(p..p, bytes.iter().copied());
            }
            Edit::Repeat(i, t, n) => {
                let tok = token(tokens, t);
                let p = pos(&b, i);
                b.splice(p..p, tok.repeat(*n).into_bytes());
            }
            Edit::Token(i, t, line) => {
                let tok = token(tokens, t);
                let p = if *line {
                    let starts = line_starts(&b);
                    starts[i.index(starts.len())]
                } else {
                    pos(&b, i)
                };
                b.splice(p..p, tok.bytes());
            }
            Edit::Delete(i, n) => {
                let p = pos(&b, i).min(b.len());
                let end = (p + n).min(b.len());
                b.drain(p..end);
            }
            Edit::Truncate(i) => {
                let p = pos(&b, i);
                b.truncate(p);
            }
            Edit::DupLines(i, n, times) => {
                let r = line_range(&b, *i, *n);
                let chunk = b[r.clone()].to_vec();
                for _ in 0..*times {
                    b.splice(r.end..r.end, chunk.iter().copied());
                }
            }
            Edit::DropLines(i, n) => {
                let r = line_range(&b, *i, *n);
                b.drain(r);
            }
            Edit::Splice(at, seed, from, n) => {
                if others.is_empty() {
                    continue;
                }
                let src = &others[seed.index(others.len())];
                let chunk = src[line_range(src, *from, *n)].to_vec();
                let starts = line_starts(&b);
                let p = starts[at.index(starts.len())];
                b.splice(p..p, chunk);
            }
            Edit::Flip(i, byte) => {
                if !b.is_empty() {
                    let p = i.index(b.len());
                    b[p] = *byte;
                }
            }
        }
    }
    b
}

/// Inputs for a parser: mostly a seed with up to `max_edits` edits, sometimes arbitrary bytes.
/// `tokens` are the format's own (`@@ -1,2 +1,3 @@`, `F:`, `From `…).
pub fn inputs(
    seeds: Vec<Vec<u8>>,
    tokens: &'static [&'static str],
    max_edits: usize,
) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty(), "a fuzz target needs at least one seed");
    let seeds = std::sync::Arc::new(seeds);
    let mutated = {
        let seeds = seeds.clone();
        (any::<Index>(), prop::collection::vec(edit(), 0..=max_edits)).prop_map(
            move |(s, edits)| {
                let seed = &seeds[s.index(seeds.len())];
                apply(seed, &edits, tokens, &seeds)
            },
        )
    };
    prop_oneof![
        9 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The same as text (lossy: a parser of `&str` sees invalid UTF-8 as U+FFFD).
pub fn text_inputs(
    seeds: Vec<Vec<u8>>,
    tokens: &'static [&'static str],
    max_edits: usize,
) -> impl Strategy<Value = String> {
    inputs(seeds, tokens, max_edits).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Windows of `lines` lines of a big file (a whole kernel MAINTAINERS or C file is too slow to
/// parse thousands of times): each starts at a line that begins a paragraph when it can.
pub fn windows(text: &[u8], lines: usize, count: usize) -> Vec<Vec<u8>> {
    let starts = line_starts(text);
    if starts.len() <= lines {
        return vec![text.to_vec()];
    }
    let step = (starts.len() / count.max(1)).max(1);
    (0..count)
        .filter_map(|k| {
            let mut first = k * step;
            // Move to the start of a paragraph (after a blank line) near there.
            while first + 1 < starts.len()
                && first > 0
                && !(starts[first] >= 1
                    && text.get(starts[first] - 1) == Some(&b'\n')
                    && starts[first] >= 2
                    && text.get(starts[first] - 2) == Some(&b'\n'))
                && first < k * step + 200
            {
                first += 1;
            }
            let end = starts.get(first + lines).copied().unwrap_or(text.len());
            (starts.get(first)? < &end).then(|| text[starts[first]..end].to_vec())
        })
        .collect()
}
