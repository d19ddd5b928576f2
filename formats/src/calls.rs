//! Finding a campaign's calls in C text, without parsing it: a byte prefilter, the call
//! pattern, and a parenthesis-balancing reader of one call's arguments. The tree scan (with
//! tree-sitter, in the importer), the history analysis and the diff check all use these.

use aho_corasick::AhoCorasick;
use anyhow::Context;
use regex::bytes::{Match, Regex};

use crate::spec::Spec;

/// "Can this file hold a call?" over raw bytes. Aho-Corasick's SIMD searcher (Teddy) where
/// the CPU has it: the callees' first bytes (`i`, `_`) are too common in C for the automaton's
/// start-byte prefilter to skip much.
enum Prefilter {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefilter {
    fn new(literals: &[String]) -> anyhow::Result<Prefilter> {
        match aho_corasick::packed::Searcher::new(literals.iter()) {
            Some(s) => Ok(Prefilter::Packed(s)),
            None => Ok(Prefilter::Automaton(
                AhoCorasick::new(literals).context("building the prefilter")?,
            )),
        }
    }

    fn is_match(&self, haystack: &[u8]) -> bool {
        match self {
            Prefilter::Packed(s) => s.find(haystack).is_some(),
            Prefilter::Automaton(a) => a.is_match(haystack),
        }
    }
}

/// Compiled matchers for one spec.
pub struct CallMatcher {
    prefilter: Prefilter,
    calls: Regex,
}

impl CallMatcher {
    /// Compile the prefilter and the call pattern of `spec`'s callees.
    pub fn new(spec: &Spec) -> anyhow::Result<CallMatcher> {
        let literals = spec.literals();
        let alternation: Vec<String> = spec
            .calls
            .iter()
            .flat_map(|g| g.callees.iter())
            .map(|c| match c.strip_suffix('*') {
                Some(p) => format!("{}\\w*", regex::escape(p)),
                None => regex::escape(c),
            })
            .collect();
        Ok(CallMatcher {
            prefilter: Prefilter::new(&literals)?,
            // (?-u) keeps \b and \w ASCII-only: C identifiers are ASCII, and it is faster.
            calls: Regex::new(&format!(r"(?-u)\b({})\s*\(", alternation.join("|")))
                .context("building the call pattern")?,
        })
    }

    /// Whether `haystack` holds one of the callees' literal prefixes (cheap; may say yes
    /// for text without a call, never no for text with one).
    pub fn may_hold_call(&self, haystack: &[u8]) -> bool {
        self.prefilter.is_match(haystack)
    }

    /// Whether `text` holds `callee (` for one of the callees.
    pub fn has_call(&self, text: &[u8]) -> bool {
        self.calls.is_match(text)
    }

    /// The callee names of every `callee (` in `text`, in order.
    pub fn callee_names<'t>(&'t self, text: &'t [u8]) -> impl Iterator<Item = Match<'t>> + 't {
        self.calls.captures_iter(text).filter_map(|c| c.get(1))
    }
}

/// Whitespace runs → one space; comments inside a call are kept as written.
pub fn collapse(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// For a call found by text: the end of its argument list (balanced parentheses, strings and
/// comments skipped) and its top-level arguments. `after_name` is the byte after the callee.
pub fn text_call(src: &[u8], after_name: usize) -> (usize, Vec<String>) {
    let Some(open) = src[after_name..]
        .iter()
        .position(|b| *b == b'(')
        .map(|p| after_name + p)
    else {
        return (after_name, Vec::new());
    };
    let limit = (open + 8192).min(src.len());
    let (mut depth, mut i, mut arg_start) = (0usize, open, open + 1);
    let mut args = Vec::new();
    while i < limit {
        match src[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    let last = collapse(&src[arg_start..i]);
                    if !last.is_empty() || !args.is_empty() {
                        args.push(last);
                    }
                    return (i + 1, args);
                }
            }
            b',' if depth == 1 => {
                args.push(collapse(&src[arg_start..i]));
                arg_start = i + 1;
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < limit && src[i] != q {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                // The `/*` may straddle the limit: its body then starts past it.
                let body = (i + 2).min(limit);
                i = src[body..limit]
                    .windows(2)
                    .position(|w| w == b"*/")
                    .map_or(limit, |p| body + p + 1);
            }
            _ => {}
        }
        i += 1;
    }
    // Unbalanced (e.g. a macro cut by #ifdef): the rest of the line.
    let eol = src[after_name..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(src.len(), |p| after_name + p);
    (eol, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_calls_balance_parentheses() {
        let src = b"f(a, g(b, c), \"x,)\", /* ) */ d) rest";
        let (end, args) = text_call(src, 1);
        assert_eq!(&src[..end], b"f(a, g(b, c), \"x,)\", /* ) */ d)");
        assert_eq!(args, vec!["a", "g(b, c)", "\"x,)\"", "/* ) */ d"]);
    }

    #[test]
    fn a_comment_opening_at_the_argument_limit_ends_the_call_unbalanced() {
        // `f(` then padding up to the 8,192-byte limit, where `/*` begins: the `*` is the
        // first byte past it.
        for pad in [8189, 8190, 8191] {
            let mut src = b"f(".to_vec();
            src.extend(std::iter::repeat_n(b'x', pad));
            src.extend_from_slice(b"/* c */ y)\nnext");
            let (end, args) = text_call(&src, 1);
            assert!(end <= src.len(), "pad {pad}");
            assert!(
                args.is_empty(),
                "pad {pad}: no closing parenthesis within the limit"
            );
        }
        // A string whose escape is the last byte before the limit.
        let mut src = b"f(\"".to_vec();
        src.extend(std::iter::repeat_n(b'x', 8188));
        src.extend_from_slice(b"\\\"\")");
        let (end, _) = text_call(&src, 1);
        assert!(end <= src.len());
    }
}
