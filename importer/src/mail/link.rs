//! Which call sites a message is about: `file.c:123` mentions, functions, callee + file
//! pairs, and the hunks of its diff.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use treewide_core::identity::normalise_code;
use treewide_core::mail::{LinkCandidate, LinkHow, NewLink};
use treewide_core::model::CampaignId;

use super::patch::FixRule;

use super::trailers::own_lines;

/// How far (in lines) a `file:line` mention or a hunk may be from a site that drifted.
pub const DRIFT: i64 = 50;

/// One hunk of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hunk {
    pub old_start: i64,
    pub old_len: i64,
    /// The old side as text: context and removed lines, in order.
    pub old_text: String,
    /// The new side as text: context and added lines, in order.
    pub new_text: String,
    /// What diff shows after the second `@@`: usually the enclosing function's header.
    pub heading: String,
}

/// The hunks a diff makes to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub file: String,
    pub hunks: Vec<Hunk>,
}

static HUNK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@").expect("hunk regex")
});

fn strip_ab(path: &str) -> &str {
    let p = path.split('\t').next().unwrap_or(path).trim();
    p.strip_prefix("a/")
        .or_else(|| p.strip_prefix("b/"))
        .unwrap_or(p)
}

/// The unified diff in the sender's own lines (a quoted diff is someone else's patch).
pub fn parse_diff(text: &str) -> Vec<FileDiff> {
    // Most mail holds no diff header of its own; finding out costs one SIMD pass.
    if !text.starts_with("--- ") && memchr::memmem::find(text.as_bytes(), b"\n--- ").is_none() {
        return Vec::new();
    }
    let lines: Vec<&str> = own_lines(text).collect();
    let mut out: Vec<FileDiff> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if let (Some(old), Some(new)) = (
            l.strip_prefix("--- "),
            lines.get(i + 1).and_then(|n| n.strip_prefix("+++ ")),
        ) {
            let new = strip_ab(new);
            let file = if new == "/dev/null" {
                strip_ab(old)
            } else {
                new
            };
            out.push(FileDiff {
                file: file.to_owned(),
                hunks: Vec::new(),
            });
            i += 2;
            continue;
        }
        // The regex only on lines that can be hunk headers: it would run on every line.
        let hunk = if l.starts_with("@@ -") {
            HUNK.captures(l)
        } else {
            None
        };
        if let (Some(c), Some(cur)) = (hunk, out.last_mut()) {
            let num = |k: usize, d: i64| c.get(k).map_or(d, |m| m.as_str().parse().unwrap_or(d));
            let (old_start, old_len, new_len) = (num(1, 0), num(2, 1), num(4, 1));
            let (mut o, mut n) = (old_len, new_len);
            let heading = l[c.get(0).map_or(0, |m| m.end())..]
                .trim_start_matches('@')
                .trim()
                .to_owned();
            let mut h = Hunk {
                old_start,
                old_len,
                heading,
                ..Hunk::default()
            };
            i += 1;
            while i < lines.len() && (o > 0 || n > 0) {
                let line = lines[i];
                let rest = line.get(1..).unwrap_or("");
                match line.as_bytes().first() {
                    Some(b'-') => {
                        o -= 1;
                        push_line(&mut h.old_text, rest);
                    }
                    Some(b'+') => {
                        n -= 1;
                        push_line(&mut h.new_text, rest);
                    }
                    Some(b' ') | None => {
                        o -= 1;
                        n -= 1;
                        push_line(&mut h.old_text, rest);
                        push_line(&mut h.new_text, rest);
                    }
                    Some(b'\\') => {}
                    _ => break,
                }
                i += 1;
            }
            cur.hunks.push(h);
            continue;
        }
        i += 1;
    }
    out.retain(|f| !f.hunks.is_empty());
    out
}

fn push_line(text: &mut String, line: &str) {
    text.push_str(line);
    text.push('\n');
}

/// An `->op()` mention that resolves to more sites than this links none of them.
const MAX_OP_SITES: usize = 3;

static TRACE_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    // `func+0x1a/0x2b`, `[<ffffffff81234567>]`, `RIP: 0010:`, ` ? func+…`, `file.c:123 [inline]`
    Regex::new(r"\+0x[0-9a-f]+/0x[0-9a-f]+|\[<[0-9a-f]{8,}>\]|^\s*RIP: |\.[ch]:\d+ \[inline\]")
        .expect("trace regex")
});

/// A line that opens a stack trace.
fn is_trace_start(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("Call Trace:")
        || l.starts_with("<TASK>")
        || l.starts_with("Stack:")
        || l.starts_with("Backtrace:")
        || l.starts_with("Allocated by task")
        || l.starts_with("Freed by task")
}

/// A line of a stack trace, wherever it stands.
fn is_trace_line(line: &str) -> bool {
    (line.contains("0x") || line.contains("[inline]") || line.contains("RIP:"))
        && TRACE_FRAME.is_match(line)
}

/// Sites indexed the ways mail mentions them.
#[derive(Debug, Default)]
pub struct SiteIndex {
    sites: Vec<LinkCandidate>,
    by_file: HashMap<String, Vec<usize>>,
    by_function: HashMap<String, Vec<usize>>,
    /// `op` → sites in functions named `*_op` (`->issue_read()` instances).
    by_op: HashMap<String, Vec<usize>>,
    /// Each campaign's idea of fixed; a campaign without one gets no automatic fix.
    rules: HashMap<CampaignId, FixRule>,
}

static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"((?:[A-Za-z0-9_.+-]+/)+[A-Za-z0-9_.+-]+\.[chS])(?::(\d+))?").expect("file regex")
});
static CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(->)?\b([A-Za-z_][A-Za-z0-9_]*)\(\)").expect("call regex"));
static IDENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("ident regex"));

impl SiteIndex {
    /// Index `sites`.
    pub fn new(sites: Vec<LinkCandidate>) -> SiteIndex {
        let mut ix = SiteIndex::default();
        for (i, s) in sites.iter().enumerate() {
            ix.by_file.entry(s.file.clone()).or_default().push(i);
            if let Some(f) = &s.function {
                ix.by_function.entry(f.clone()).or_default().push(i);
                for (p, _) in f.match_indices('_') {
                    let op = &f[p + 1..];
                    if op.len() >= 4 {
                        ix.by_op.entry(op.to_owned()).or_default().push(i);
                    }
                }
            }
        }
        ix.sites = sites;
        ix
    }

    /// With the campaigns' fix rules: patches that turn a site's call into its campaign's
    /// fixed form propose a fix (see [`FixRule`]).
    pub fn with_rules(mut self, rules: HashMap<CampaignId, FixRule>) -> SiteIndex {
        self.rules = rules;
        self
    }

    /// The campaigns the index has sites of.
    pub fn campaigns(&self) -> Vec<CampaignId> {
        let mut c: Vec<CampaignId> = self.sites.iter().map(|s| s.campaign).collect();
        c.sort();
        c.dedup();
        c
    }

    /// True when there is nothing to link to.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    fn file_key<'a>(&self, path: &'a str) -> Option<&'a str> {
        [path, strip_ab(path)]
            .into_iter()
            .find(|p| self.by_file.contains_key(*p))
    }

    /// The links of a message with this text (and diff), sent on `date` (RFC 3339).
    pub fn links(&self, text: &str, diff: &[FileDiff], date: Option<&str>) -> Vec<NewLink> {
        let mut out: Vec<NewLink> = Vec::new();
        let mut seen: HashSet<(usize, LinkHow)> = HashSet::new();
        let mut push =
            |i: usize, how: LinkHow, detail: String, fixes: bool, out: &mut Vec<NewLink>| {
                if seen.insert((i, how)) {
                    let s = &self.sites[i];
                    out.push(NewLink {
                        campaign: s.campaign,
                        site: s.id,
                        how,
                        detail,
                        fixes,
                    });
                }
            };
        if self.sites.is_empty() {
            return out;
        }
        for f in diff {
            let Some(file) = self.file_key(&f.file) else {
                continue;
            };
            // Each hunk's old side normalised once, not once per site of the file.
            let old_norm: Vec<String> = f
                .hunks
                .iter()
                .map(|h| normalise_code(&h.old_text))
                .collect();
            for &i in &self.by_file[file] {
                let s = &self.sites[i];
                let rule = self.rules.get(&s.campaign);
                // A hunk that turns the call into the fixed form proposes a fix; one that
                // holds the call (changed or as context) only touches it. Lines alone say
                // nothing: the patch was made against another tree.
                let fix = f
                    .hunks
                    .iter()
                    .find_map(|h| rule.and_then(|r| r.fixes(s, h, date)).map(|why| (h, why)));
                if let Some((h, why)) = fix {
                    let detail = format!("{file} @@ -{},{} @@: {why}", h.old_start, h.old_len);
                    push(i, LinkHow::Patch, detail, true, &mut out);
                    continue;
                }
                let code = normalise_code(s.code.trim_end_matches(';'));
                let touched = f.hunks.iter().zip(&old_norm).find_map(|(h, norm)| {
                    (h.old_text.contains(s.callee.as_str()) && norm.contains(code.as_str()))
                        .then_some(h)
                });
                if let Some(h) = touched {
                    let detail = format!("{file} @@ -{},{} @@: touches", h.old_start, h.old_len);
                    push(i, LinkHow::Patch, detail, false, &mut out);
                }
            }
        }
        let mut files_mentioned: Vec<&str> = Vec::new();
        let mut idents: Option<HashSet<&str>> = None;
        let mut in_trace = false;
        for line in own_lines(text) {
            // Diff lines name files and functions of the patch, which the hunks already cover.
            if line.starts_with(['+', '-', ' ', '@']) && !diff.is_empty() {
                continue;
            }
            // A stack trace (an oops, a syzbot report, a hung task) names every function and
            // file:line on the way to a crash: none of them is what the message is about.
            if is_trace_start(line) {
                in_trace = true;
            } else if line.trim().is_empty() {
                in_trace = false;
            }
            if in_trace || is_trace_line(line) {
                continue;
            }
            // Both regexes need a literal (`/`, `()`) most lines lack; memchr rules them out
            // faster than the regex engines.
            let paths = if line.contains('/') {
                Some(FILE_LINE.captures_iter(line))
            } else {
                None
            };
            for c in paths.into_iter().flatten() {
                let path = c.get(1).map_or("", |m| m.as_str());
                let Some(file) = self.file_key(path) else {
                    continue;
                };
                if !files_mentioned.contains(&file) {
                    files_mentioned.push(file);
                }
                let Some(n) = c.get(2).and_then(|m| m.as_str().parse::<i64>().ok()) else {
                    continue;
                };
                // The nearest site of every campaign: a line is one place in the tree, and
                // each campaign may have a site there.
                let mut nearest: HashMap<CampaignId, (usize, i64)> = HashMap::new();
                for &i in &self.by_file[file] {
                    let d = (self.sites[i].line - n).abs();
                    if d > DRIFT {
                        continue;
                    }
                    let e = nearest.entry(self.sites[i].campaign).or_insert((i, d));
                    if d < e.1 {
                        *e = (i, d);
                    }
                }
                let mut nearest: Vec<usize> = nearest.into_values().map(|(i, _)| i).collect();
                nearest.sort_unstable();
                for i in nearest {
                    push(i, LinkHow::FileLine, format!("{file}:{n}"), false, &mut out);
                }
            }
            let calls = if line.contains("()") {
                Some(CALL.captures_iter(line))
            } else {
                None
            };
            for c in calls.into_iter().flatten() {
                let name = &c[2];
                let (list, shown) = if c.get(1).is_some() {
                    let mut v: Vec<usize> = self.by_op.get(name).cloned().unwrap_or_default();
                    v.extend(self.by_function.get(name).into_iter().flatten());
                    // `->read()` names every instance of an operation: a link to each of
                    // many sites says nothing about any of them.
                    if v.len() > MAX_OP_SITES {
                        continue;
                    }
                    (v, format!("->{name}()"))
                } else {
                    (
                        self.by_function.get(name).cloned().unwrap_or_default(),
                        format!("{name}()"),
                    )
                };
                for i in list {
                    push(i, LinkHow::Function, shown.clone(), false, &mut out);
                }
            }
        }
        for file in files_mentioned {
            let idents = idents.get_or_insert_with(|| {
                own_lines(text)
                    .flat_map(|l| IDENT.find_iter(l).map(|m| m.as_str()))
                    .collect()
            });
            // A callee named beside a file picks a site only when the file has one call of it:
            // naming iov_iter_bvec beside a file with five calls points at none of them.
            let calls_of = |callee: &str| {
                self.by_file[file]
                    .iter()
                    .filter(|&&j| self.sites[j].callee == callee)
                    .count()
            };
            for &i in &self.by_file[file] {
                let s = &self.sites[i];
                if idents.contains(s.callee.as_str()) && calls_of(&s.callee) == 1 {
                    push(
                        i,
                        LinkHow::CalleeFile,
                        format!("{} in {file}", s.callee),
                        false,
                        &mut out,
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use treewide_core::model::{CampaignId, SiteId};

    fn site(id: i64, file: &str, line: i64, function: &str, callee: &str) -> LinkCandidate {
        LinkCandidate {
            id: SiteId(id),
            campaign: CampaignId(1),
            file: file.into(),
            line,
            function: Some(function.into()),
            callee: callee.into(),
            code: format!("{callee}(iter, p, 1, 2, &o);"),
        }
    }

    fn index() -> SiteIndex {
        SiteIndex::new(vec![
            site(
                1,
                "fs/cifs/file.c",
                100,
                "cifs_send_async_read",
                "iov_iter_get_pages2",
            ),
            site(2, "fs/cifs/file.c", 400, "cifs_write", "iov_iter_kvec"),
            site(3, "fs/afs/file.c", 300, "afs_issue_read", "iov_iter_xarray"),
        ])
    }

    #[test]
    fn diff_hunks_and_drift() {
        let text = "Fix it.\n\n---\n fs/cifs/file.c | 2 +-\n\ndiff --git a/fs/cifs/file.c b/fs/cifs/file.c\n\
                    --- a/fs/cifs/file.c\n+++ b/fs/cifs/file.c\n@@ -120,3 +120,3 @@ static int f(void)\n \
                    a\n-\tn = iov_iter_get_pages2(iter, p, 1, 2, &o);\n+\tn = iov_iter_get_pages(iter);\n b\n";
        let d = parse_diff(text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].file, "fs/cifs/file.c");
        assert_eq!((d[0].hunks[0].old_start, d[0].hunks[0].old_len), (120, 3));
        let links = index().links(text, &d, None);
        // The hunk is 20 lines below site 1 (drifted) but removes its call.
        assert!(links
            .iter()
            .any(|l| l.site == SiteId(1) && l.how == LinkHow::Patch));
        assert!(!links
            .iter()
            .any(|l| l.site == SiteId(2) && l.how == LinkHow::Patch));
    }

    #[test]
    fn stack_traces_ambiguous_ops_and_callees_link_nothing() {
        let ix = index();
        let trace = "syzbot found:\nCall Trace:\n <TASK>\n cifs_send_async_read+0x1a/0x2b fs/cifs/file.c:101\n\
                     \nRIP: 0010:cifs_send_async_read+0x10/0x20 fs/cifs/file.c:100\n \
                     cifs_send_async_read fs/cifs/file.c:102 [inline]\n";
        assert!(ix.links(trace, &[], None).is_empty());
        // Outside the trace the same mention links.
        assert!(!ix.links("see fs/cifs/file.c:101", &[], None).is_empty());
        // A callee named beside a file with two calls of it picks neither.
        let two = SiteIndex::new(vec![
            site(1, "fs/x.c", 10, "a", "iov_iter_bvec"),
            site(2, "fs/x.c", 90, "b", "iov_iter_bvec"),
        ]);
        assert!(two.links("iov_iter_bvec in fs/x.c", &[], None).is_empty());
    }

    #[test]
    fn quoted_diffs_are_not_the_senders() {
        let text = "> --- a/fs/cifs/file.c\n> +++ b/fs/cifs/file.c\n> @@ -99,3 +99,3 @@\n>  a\n> -x\n> +y\n>  b\n";
        assert!(parse_diff(text).is_empty());
    }

    #[test]
    fn mentions_file_line_function_and_op() {
        let ix = index();
        let l = ix.links("see fs/cifs/file.c:130 and ->issue_read() too", &[], None);
        assert!(l
            .iter()
            .any(|l| l.site == SiteId(1) && l.how == LinkHow::FileLine));
        assert!(l
            .iter()
            .any(|l| l.site == SiteId(3) && l.how == LinkHow::Function));
        let l = ix.links("cifs_send_async_read() is fine", &[], None);
        assert_eq!(l.len(), 1);
        let l = ix.links(
            "> cifs_send_async_read() quoted\nfs/cifs/file.c:999 too far",
            &[],
            None,
        );
        assert!(l.iter().all(|l| l.how == LinkHow::CalleeFile) || l.is_empty());
        let l = ix.links("iov_iter_kvec in fs/cifs/file.c", &[], None);
        assert!(l
            .iter()
            .any(|l| l.site == SiteId(2) && l.how == LinkHow::CalleeFile));
    }
}
