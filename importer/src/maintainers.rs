//! The kernel's MAINTAINERS file: parse it and map file paths to subsystems exactly as
//! `scripts/get_maintainer.pl --subsystem -f FILE` does.
//!
//! The matching rules mirror get_maintainer.pl (v0.26, Linux 6.1) line by line:
//! - A line `^[A-Z]:\s*(.*)` is a field; blank and `#` lines are dropped; any other line names the
//!   section formed by the run of fields that follows it. So an odd, non-field line inside an
//!   entry starts a new "section" named by that line, as it does in the script.
//! - `F:`/`X:` values become regexes: `.` → `\.`, `*` → `.*`, `?` → `.`, other regex syntax
//!   (`[ch]`) passes through; a value that names a directory of the tree gets a trailing `/`.
//!   A pattern ending in `/` matches every path it prefixes; any other pattern matches a path it
//!   prefixes only when both hold the same number of `/`.
//! - `X:` excludes the whole section for a path; `N:` is an unanchored extended regex on the
//!   path; `K:` is an extended regex on the file's content (default on with `--subsystem -f`).
//! - Order: sections matched by `F:`/`N:` sorted by depth, deepest first, where a section's depth
//!   is that of its *last* matching `F:`/`N:` line (`N:` counts 0, a pattern starting with `*`
//!   counts -1, else the pattern's `/` count plus one unless it ends in `/`); then the `K:`
//!   sections in the string order of their line indices; then duplicates (by name) dropped.
//! - The script orders sections of equal depth by Perl's randomised hash order; here they keep
//!   file order, so the result is deterministic and otherwise identical.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use treewide_core::ingest::SubsystemInput;
use treewide_core::model::Person;

/// A `T: value` line kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field letter (`B`, `C`, `P`, `Q`…).
    pub letter: char,
    /// The text after the colon and its whitespace.
    pub value: String,
    /// 1-based line number in the file.
    pub line: usize,
}

/// One MAINTAINERS section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The section name line, as written (what get_maintainer.pl prints).
    pub name: String,
    /// 1-based line number of the name.
    pub line: usize,
    /// `M:` people.
    pub maintainers: Vec<Person>,
    /// `R:` people.
    pub reviewers: Vec<Person>,
    /// `M:`/`R:` lines that are not `Name <address>`, kept raw.
    pub unparsed_people: Vec<Field>,
    /// `L:` values as written, e.g. `list@host (moderated for non-subscribers)`.
    pub lists: Vec<String>,
    /// The last `S:` value (the one get_maintainer.pl uses for roles).
    pub status: Option<String>,
    /// `W:` values.
    pub web: Vec<String>,
    /// `T:` values.
    pub trees: Vec<String>,
    /// `F:` patterns as written.
    pub files: Vec<String>,
    /// `X:` patterns as written.
    pub excludes: Vec<String>,
    /// `N:` regexes as written.
    pub file_regexes: Vec<String>,
    /// `K:` content regexes as written.
    pub keywords: Vec<String>,
    /// Every other field (`B:`, `C:`, `P:`, `Q:`, unknown letters), in file order.
    pub other: Vec<Field>,
}

impl Entry {
    /// `L:` addresses without their trailing remarks.
    pub fn list_addresses(&self) -> impl Iterator<Item = &str> {
        self.lists
            .iter()
            .filter_map(|l| l.split_whitespace().next())
    }
}

/// One MAINTAINERS line that matched a path (`F:`, `N:`, `K:`) or excluded a section (`X:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedLine {
    /// `F`, `N`, `K` or `X`.
    pub letter: char,
    /// The value as written.
    pub value: String,
    /// 1-based line number in MAINTAINERS.
    pub line: usize,
    /// The line's own match depth (`F:`, `N:`); `None` for `K:` and `X:`.
    pub depth: Option<i32>,
}

impl fmt::Display for MatchedLine {
    /// `F:\tfs/ceph/`, as written in MAINTAINERS.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:\t{}", self.letter, self.value)
    }
}

/// Why one section covers a path, or was taken off it ([`Maintainers::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionMatch {
    /// Index in [`Maintainers::entries`].
    pub entry: usize,
    /// Place in get_maintainer.pl's order (0: the primary); `None` when an `X:` line
    /// excluded the section.
    pub rank: Option<usize>,
    /// The section's match depth as the script sorts by it (that of its last matching
    /// `F:`/`N:` line); `None` for a `K:`-only match and for excluded sections.
    pub depth: Option<i32>,
    /// Another listed section has the same depth (the script orders such ties at random).
    pub tied: bool,
    /// The `F:`/`N:`/`K:` lines that matched, in file order.
    pub matched: Vec<MatchedLine>,
    /// The `X:` lines that match the path.
    pub excluded_by: Vec<MatchedLine>,
}

/// Why a MAINTAINERS text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What the line should have been.
    pub expected: String,
    /// The offending line.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MAINTAINERS line {}: expected {}, found {:?}",
            self.line, self.expected, self.found
        )
    }
}

/// A parsed MAINTAINERS file with its compiled matchers.
#[derive(Debug, Clone)]
pub struct Maintainers {
    /// Text lines before the first section (the how-to-submit preamble).
    pub header: Vec<String>,
    /// The sections, in file order.
    pub entries: Vec<Entry>,
    /// Non-field lines after the header that name no fields (ignored by get_maintainer.pl).
    pub stray_lines: Vec<(usize, String)>,
    matcher: PatternIndex,
}

/// How one `F:`/`X:` pattern is tested.
#[derive(Debug, Clone)]
enum Test {
    /// The converted pattern is a literal, perhaps followed by `.*`: a plain prefix test.
    Prefix(String),
    Regex(Regex),
}

/// A compiled `F:` or `X:` pattern.
#[derive(Debug, Clone)]
struct FilePattern {
    test: Test,
    /// The converted pattern ends in `/`: it matches everything below.
    dir: bool,
    /// `/` count of the converted pattern, compared with the path's when `!dir`.
    slashes: usize,
    /// The script's `$value_pd`.
    depth: i32,
    entry: usize,
    /// Position among all fields, so "the last matching line wins" can be mirrored.
    seq: usize,
    /// 1-based line number in MAINTAINERS.
    line: usize,
    /// The value as written.
    value: String,
}

impl FilePattern {
    fn matches(&self, path: &str) -> bool {
        let hit = match &self.test {
            Test::Prefix(p) => path.starts_with(p.as_str()),
            Test::Regex(r) => r.is_match(path.as_bytes()),
        };
        hit && (self.dir || count_slashes(path) == self.slashes)
    }
}

#[derive(Debug, Clone)]
struct PatternIndex {
    files: Vec<FilePattern>,
    /// `F:` pattern ids keyed by the directory part of their literal prefix ("" for none).
    by_dir: HashMap<String, Vec<usize>>,
    /// `X:` patterns per entry.
    excludes: HashMap<usize, Vec<FilePattern>>,
    names: RegexSet,
    /// (entry, seq, line) per `N:` regex of `names`.
    name_owners: Vec<(usize, usize, usize)>,
    keywords: RegexSet,
    /// (entry, sort key, line) per `K:` regex of `keywords`; the key is the script's
    /// `@typevalue` index as a string, because it sorts the indices with Perl's default string
    /// `sort`.
    keyword_owners: Vec<(usize, String, usize)>,
}

/// Parse MAINTAINERS text, treating no `F:`/`X:` value as a directory (see [`parse_with_dirs`]).
pub fn parse(text: &str) -> Result<Maintainers, ParseError> {
    parse_with_dirs(text, |_| false)
}

/// Read `root/MAINTAINERS` and resolve directory patterns against the tree at `root`.
pub fn from_tree(root: &Path) -> anyhow::Result<Maintainers> {
    let file = root.join("MAINTAINERS");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    parse_with_dirs(&text, |p| !p.is_empty() && root.join(p).is_dir())
        .with_context(|| format!("parsing {}", file.display()))
}

/// Parse MAINTAINERS text; `is_dir` answers the script's `-d $value` for a converted `F:`/`X:`
/// pattern (e.g. `drivers/net`, `lib/zstd`), relative to the tree root. A directory named
/// without a trailing `/` then covers everything below it, as in the script.
pub fn parse_with_dirs(
    text: &str,
    is_dir: impl Fn(&str) -> bool,
) -> Result<Maintainers, ParseError> {
    let mut header = Vec::new();
    let mut stray_lines = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    // The last non-field line not yet known to name a section.
    let mut pending: Option<(usize, String)> = None;
    // Whether the current section (the last of `entries`) is still receiving fields.
    let mut open = false;
    let mut files = Vec::new();
    let mut excludes: HashMap<usize, Vec<FilePattern>> = HashMap::new();
    let mut names = Vec::new();
    let mut name_owners = Vec::new();
    let mut keywords = Vec::new();
    let mut keyword_owners = Vec::new();
    // Index in the script's @typevalue (fields and non-blank, non-comment lines).
    let mut tv = 0usize;

    // Perl's `<>` splits after "\n" and `chomp` removes only that "\n".
    let lines = text
        .split_inclusive('\n')
        .map(|l| l.strip_suffix('\n').unwrap_or(l));
    for (i, line) in lines.enumerate() {
        let lineno = i + 1;
        if let Some((letter, value)) = split_field(line) {
            if !open {
                let Some((name_line, name)) = pending.take() else {
                    return Err(ParseError {
                        line: lineno,
                        expected: "a section name line before the first field".into(),
                        found: line.into(),
                    });
                };
                if entries.is_empty() {
                    // Everything before the first section's name is the preamble.
                    header.extend(stray_lines.drain(..).map(|(_, l)| l));
                }
                entries.push(Entry {
                    name,
                    line: name_line,
                    ..Entry::default()
                });
                open = true;
            }
            let entry = entries.len() - 1;
            let e = &mut entries[entry];
            let bad_regex = |err: regex::Error| ParseError {
                line: lineno,
                expected: format!("a valid {letter}: regex ({err})"),
                found: line.into(),
            };
            match letter {
                'M' | 'R' => match Person::parse(value) {
                    Ok(p) if letter == 'M' => e.maintainers.push(p),
                    Ok(p) => e.reviewers.push(p),
                    Err(_) => e.unparsed_people.push(Field {
                        letter,
                        value: value.into(),
                        line: lineno,
                    }),
                },
                'L' => e.lists.push(value.into()),
                'S' => e.status = Some(value.into()),
                'W' => e.web.push(value.into()),
                'T' => e.trees.push(value.into()),
                'F' | 'X' => {
                    let pattern = compile_file_pattern(value, &is_dir, entry, tv, lineno)
                        .map_err(bad_regex)?;
                    if letter == 'F' {
                        e.files.push(value.into());
                        files.push(pattern);
                    } else {
                        e.excludes.push(value.into());
                        excludes.entry(entry).or_default().push(pattern);
                    }
                }
                'N' => {
                    extended(value).build().map_err(bad_regex)?;
                    e.file_regexes.push(value.into());
                    names.push(value.to_owned());
                    name_owners.push((entry, tv, lineno));
                }
                'K' => {
                    extended(value).build().map_err(bad_regex)?;
                    e.keywords.push(value.into());
                    keywords.push(value.to_owned());
                    keyword_owners.push((entry, tv.to_string(), lineno));
                }
                _ => e.other.push(Field {
                    letter,
                    value: value.into(),
                    line: lineno,
                }),
            }
            tv += 1;
        } else if !is_blank_or_comment(line) {
            if let Some(prev) = pending.replace((lineno, line.to_owned())) {
                stray_lines.push(prev);
            }
            open = false;
            tv += 1;
        }
    }
    stray_lines.extend(pending);
    if entries.is_empty() {
        header.extend(stray_lines.drain(..).map(|(_, l)| l));
    }

    let mut by_dir: HashMap<String, Vec<usize>> = HashMap::new();
    for (id, p) in files.iter().enumerate() {
        let key = match &p.test {
            Test::Prefix(s) => dir_part(s).to_owned(),
            Test::Regex(r) => dir_part(&literal_prefix(&r.as_str()[1..]).0).to_owned(),
        };
        by_dir.entry(key).or_default().push(id);
    }
    // Each regex compiled alone above, so the sets cannot fail on syntax; size limits can.
    let set = |pats: &[String]| {
        regex_set(pats).map_err(|err| ParseError {
            line: 0,
            expected: format!("regexes that fit in one set ({err})"),
            found: String::new(),
        })
    };
    let matcher = PatternIndex {
        files,
        by_dir,
        excludes,
        names: set(&names)?,
        name_owners,
        keywords: set(&keywords)?,
        keyword_owners,
    };
    Ok(Maintainers {
        header,
        entries,
        stray_lines,
        matcher,
    })
}

/// `N:` and `K:` regexes compiled together, as the script's extended regexes.
fn regex_set(patterns: &[String]) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(patterns)
        .unicode(false)
        .ignore_whitespace(true)
        .build()
}

/// A MAINTAINERS file's `K:` patterns alone: which of them a file's content matches is all
/// the content adds to its routing, so a re-scan asks this of a changed file (35 patterns)
/// instead of parsing MAINTAINERS again (7,000 `F:`/`X:` lines) when the answer is the same.
#[derive(Debug, Clone)]
pub struct Keywords(RegexSet);

impl Keywords {
    /// Compile `patterns`, as [`Maintainers::keyword_patterns`] gives them.
    pub fn new(patterns: &[String]) -> Result<Keywords, regex::Error> {
        regex_set(patterns).map(Keywords)
    }

    /// Indices of the patterns `content` matches, as [`Maintainers::keyword_matches`] gives
    /// them.
    pub fn matches(&self, path: &str, content: Option<&str>) -> Vec<usize> {
        match content.filter(|_| path != "MAINTAINERS") {
            Some(text) => self.0.matches(text.as_bytes()).into_iter().collect(),
            None => Vec::new(),
        }
    }
}

impl Maintainers {
    /// The `K:` patterns in file order (what [`Keywords::new`] compiles).
    pub fn keyword_patterns(&self) -> Vec<String> {
        self.matcher.keywords.patterns().to_vec()
    }

    /// Indices of the `K:` patterns the content of `path` matches: with the path, all that
    /// decides the file's routing.
    pub fn keyword_matches(&self, path: &str, content: Option<&str>) -> Vec<usize> {
        Keywords(self.matcher.keywords.clone()).matches(path, content)
    }

    /// The subsystems for `path` (relative to the tree root; a directory ends in `/`), in
    /// get_maintainer.pl's order: first is the most specific. `content` is the file's text, for
    /// `K:` matching; `None` skips keywords (as the script does for a file that does not exist).
    pub fn subsystems_for(&self, path: &str, content: Option<&str>) -> Vec<&Entry> {
        self.ranked(path, content)
            .into_iter()
            .map(|(e, _)| &self.entries[e])
            .collect()
    }

    /// Like [`Maintainers::subsystems_for`], with each section's sort depth: `Some(depth)` for
    /// `F:`/`N:` matches (equal depths are ties the script orders at random), `None` for `K:`.
    pub fn ranked(&self, path: &str, content: Option<&str>) -> Vec<(usize, Option<i32>)> {
        let m = &self.matcher;
        // (entry, seq, depth) of every matching F:/N: line.
        let mut hits: Vec<(usize, usize, i32)> = Vec::new();
        let dirs = std::iter::once(0).chain(path.match_indices('/').map(|(i, _)| i + 1));
        for end in dirs {
            for &id in m.by_dir.get(&path[..end]).into_iter().flatten() {
                let p = &m.files[id];
                if p.matches(path) {
                    hits.push((p.entry, p.seq, p.depth));
                }
            }
        }
        for i in m.names.matches(path.as_bytes()).iter() {
            let (entry, seq, _) = m.name_owners[i];
            hits.push((entry, seq, 0));
        }
        // The script keeps, per section, the depth of the last matching line.
        hits.sort_unstable();
        let mut sections: Vec<(usize, i32)> = Vec::new();
        for (entry, _, depth) in hits {
            match sections.last_mut() {
                Some(last) if last.0 == entry => last.1 = depth,
                _ => sections.push((entry, depth)),
            }
        }
        sections.retain(|&(entry, _)| {
            !m.excludes
                .get(&entry)
                .is_some_and(|xs| xs.iter().any(|x| x.matches(path)))
        });
        // Stable: equal depths keep file order.
        sections.sort_by_key(|&(_, depth)| std::cmp::Reverse(depth));
        let mut out: Vec<(usize, Option<i32>)> =
            sections.into_iter().map(|(e, d)| (e, Some(d))).collect();

        if let Some(text) = content.filter(|_| path != "MAINTAINERS") {
            let mut kw: Vec<(&str, usize)> = m
                .keywords
                .matches(text.as_bytes())
                .iter()
                .map(|i| (m.keyword_owners[i].1.as_str(), m.keyword_owners[i].0))
                .collect();
            kw.sort_unstable();
            out.extend(kw.into_iter().map(|(_, e)| (e, None)));
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|&(e, _)| seen.insert(self.entries[e].name.as_str()));
        out
    }

    /// Why each section covers `path` (or was taken off it): the sections of
    /// [`Maintainers::ranked`] in its order, each with the lines that matched, then the
    /// sections whose `F:`/`N:` lines matched but an `X:` line excluded, in file order.
    pub fn explain(&self, path: &str, content: Option<&str>) -> Vec<SectionMatch> {
        let m = &self.matcher;
        let mut lines: HashMap<usize, Vec<MatchedLine>> = HashMap::new();
        let dirs = std::iter::once(0).chain(path.match_indices('/').map(|(i, _)| i + 1));
        for end in dirs {
            for &id in m.by_dir.get(&path[..end]).into_iter().flatten() {
                let p = &m.files[id];
                if p.matches(path) {
                    lines.entry(p.entry).or_default().push(MatchedLine {
                        letter: 'F',
                        value: p.value.clone(),
                        line: p.line,
                        depth: Some(p.depth),
                    });
                }
            }
        }
        for i in m.names.matches(path.as_bytes()).iter() {
            let (entry, _, line) = m.name_owners[i];
            lines.entry(entry).or_default().push(MatchedLine {
                letter: 'N',
                value: m.names.patterns()[i].clone(),
                line,
                depth: Some(0),
            });
        }
        let path_matched: Vec<usize> = lines.keys().copied().collect();
        if let Some(text) = content.filter(|_| path != "MAINTAINERS") {
            for i in m.keywords.matches(text.as_bytes()).iter() {
                let (entry, _, line) = &m.keyword_owners[i];
                lines.entry(*entry).or_default().push(MatchedLine {
                    letter: 'K',
                    value: m.keywords.patterns()[i].clone(),
                    line: *line,
                    depth: None,
                });
            }
        }
        let excluded_by = |entry: usize| -> Vec<MatchedLine> {
            m.excludes
                .get(&entry)
                .into_iter()
                .flatten()
                .filter(|x| x.matches(path))
                .map(|x| MatchedLine {
                    letter: 'X',
                    value: x.value.clone(),
                    line: x.line,
                    depth: None,
                })
                .collect()
        };
        let ranked = self.ranked(path, content);
        let take = |lines: &mut HashMap<usize, Vec<MatchedLine>>, entry: usize| {
            let mut l = lines.remove(&entry).unwrap_or_default();
            l.sort_by_key(|l| l.line);
            l
        };
        let mut out: Vec<SectionMatch> = Vec::with_capacity(ranked.len());
        for (rank, &(entry, depth)) in ranked.iter().enumerate() {
            let tied = depth.is_some()
                && ranked
                    .iter()
                    .any(|&(other, d)| other != entry && d == depth);
            let mut matched = take(&mut lines, entry);
            let excluded_by = excluded_by(entry);
            if !excluded_by.is_empty() {
                // Listed for a K: line only: its path lines did not count.
                matched.retain(|l| l.letter == 'K');
            }
            out.push(SectionMatch {
                entry,
                rank: Some(rank),
                depth,
                tied,
                matched,
                excluded_by,
            });
        }
        let mut excluded: Vec<usize> = path_matched
            .into_iter()
            .filter(|&e| !ranked.iter().any(|&(r, _)| r == e))
            .collect();
        excluded.sort_unstable();
        for entry in excluded {
            let by = excluded_by(entry);
            if by.is_empty() {
                // A later section of the same name as a listed one: the script drops it.
                continue;
            }
            let mut matched = take(&mut lines, entry);
            matched.retain(|l| l.letter != 'K');
            out.push(SectionMatch {
                entry,
                rank: None,
                depth: None,
                tied: false,
                matched,
                excluded_by: by,
            });
        }
        out
    }

    /// The entries as core subsystem specs: name, `M:`, `R:`, `L:` addresses and `S:`.
    pub fn to_specs(&self) -> Vec<SubsystemInput> {
        self.entries
            .iter()
            .map(|e| SubsystemInput {
                name: e.name.clone(),
                maintainers: e.maintainers.clone(),
                reviewers: e.reviewers.clone(),
                lists: e.list_addresses().map(str::to_owned).collect(),
                status: e.status.clone(),
            })
            .collect()
    }
}

/// The script's `m/^([A-Z]):\s*(.*)/` on one line.
fn split_field(line: &str) -> Option<(char, &str)> {
    let b = line.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_uppercase() && b[1] == b':' {
        // Perl's \s here: space, \t, \n, \x0b, \f, \r.
        let value = line[2..].trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
        Some((char::from(b[0]), value))
    } else {
        None
    }
}

/// The script's `/^\s*$/ || /^\s*\#/`.
fn is_blank_or_comment(line: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    rest.is_empty() || rest.starts_with('#')
}

fn count_slashes(s: &str) -> usize {
    memchr::memchr_iter(b'/', s.as_bytes()).count()
}

/// A regex builder with the script's `m/…/x` semantics on byte strings (ASCII `\b`, `\w`).
fn extended(pattern: &str) -> RegexBuilder {
    let mut b = RegexBuilder::new(pattern);
    b.unicode(false).ignore_whitespace(true);
    b
}

/// Convert an `F:`/`X:` value as `read_maintainer_file` does and compile its `m@^…@` test.
fn compile_file_pattern(
    value: &str,
    is_dir: &impl Fn(&str) -> bool,
    entry: usize,
    seq: usize,
    line: usize,
) -> Result<FilePattern, regex::Error> {
    let mut conv = value
        .replace('.', "\\.")
        .replace('*', ".*")
        .replace('?', ".");
    if is_dir(&conv) && !conv.is_empty() && !conv.ends_with('/') {
        conv.push('/');
    }
    let dir = conv.ends_with('/');
    let slashes = count_slashes(&conv);
    let depth = if conv.starts_with(".*") {
        -1
    } else {
        slashes as i32 + i32::from(!dir)
    };
    // `^lit` and `^lit.*` (most globs: "drivers/foo*") are prefix tests; the rest are regexes.
    let (lit, complete) = literal_prefix(conv.strip_suffix(".*").unwrap_or(&conv));
    let test = if complete {
        Test::Prefix(lit)
    } else {
        let anchored = format!("^{conv}");
        Test::Regex(RegexBuilder::new(&anchored).unicode(false).build()?)
    };
    Ok(FilePattern {
        test,
        dir,
        slashes,
        depth,
        entry,
        seq,
        line,
        value: value.to_owned(),
    })
}

/// The literal text every match of regex `re` (anchored at the start) begins with, and whether
/// that is all of `re`.
fn literal_prefix(re: &str) -> (String, bool) {
    // A top-level `|` makes `^a|b` match "b" anywhere: no prefix is certain.
    if re.contains('|') {
        return (String::new(), false);
    }
    let mut lit = String::new();
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                lit.push('.');
            }
            // A quantifier makes the character before it optional or repeated.
            '*' | '+' | '?' | '{' => {
                lit.pop();
                return (lit, false);
            }
            '.' | '[' | ']' | '(' | ')' | '}' | '^' | '$' | '\\' => return (lit, false),
            _ => lit.push(c),
        }
    }
    (lit, true)
}

/// `a/b/c*` → `a/b/`; no `/` → "".
fn dir_part(s: &str) -> &str {
    s.rfind('/').map_or("", |i| &s[..=i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
Preamble text
\tM: *Mail* patches to: FullName <address@domain>

Maintainers List
----------------

FOO DRIVER
M:\tAnn Example <ann@example.org> (maintainer:FOO)
R:\tBob <bob@example.org>
L:\tfoo@vger.kernel.org (moderated for non-subscribers)
S:\tMaintained
W:\thttps://example.org/foo
Q:\thttps://patchwork.example.org/foo
B:\tmailto:bugs@example.org
C:\tirc://irc.example.org/foo
P:\tDocumentation/foo.rst
T:\tgit git://git.example.org/foo.git
F:\tdrivers/foo/
X:\tdrivers/foo/bar/
N:\t[^a-z]foo
K:\t\\bfoo_ops\\b

BAR
M:\tnot a person
F:\tdrivers/bar.c
";

    #[test]
    fn parse_reads_every_field_of_an_entry() {
        let m = parse(SMALL).unwrap();
        assert_eq!(m.entries.len(), 2);
        let e = &m.entries[0];
        assert_eq!(e.name, "FOO DRIVER");
        assert_eq!(e.line, 7);
        assert_eq!(e.maintainers[0].email, "ann@example.org");
        assert_eq!(e.maintainers[0].name, "Ann Example");
        assert_eq!(e.reviewers[0].name, "Bob");
        assert_eq!(
            e.lists,
            ["foo@vger.kernel.org (moderated for non-subscribers)"]
        );
        assert_eq!(
            e.list_addresses().collect::<Vec<_>>(),
            ["foo@vger.kernel.org"]
        );
        assert_eq!(e.status.as_deref(), Some("Maintained"));
        assert_eq!(e.web, ["https://example.org/foo"]);
        assert_eq!(e.trees, ["git git://git.example.org/foo.git"]);
        assert_eq!(e.files, ["drivers/foo/"]);
        assert_eq!(e.excludes, ["drivers/foo/bar/"]);
        assert_eq!(e.file_regexes, ["[^a-z]foo"]);
        assert_eq!(e.keywords, ["\\bfoo_ops\\b"]);
        let other: Vec<_> = e.other.iter().map(|f| (f.letter, f.line)).collect();
        assert_eq!(other, [('Q', 13), ('B', 14), ('C', 15), ('P', 16)]);
    }

    #[test]
    fn parse_keeps_the_preamble_as_header() {
        let m = parse(SMALL).unwrap();
        assert_eq!(
            m.header,
            [
                "Preamble text",
                "\tM: *Mail* patches to: FullName <address@domain>",
                "Maintainers List",
                "----------------"
            ]
        );
        assert!(m.stray_lines.is_empty());
    }

    #[test]
    fn parse_keeps_unparseable_people_raw() {
        let m = parse(SMALL).unwrap();
        let bar = &m.entries[1];
        assert!(bar.maintainers.is_empty());
        assert_eq!(bar.unparsed_people[0].value, "not a person");
        assert_eq!(bar.unparsed_people[0].line, 24);
    }

    #[test]
    fn odd_line_inside_an_entry_starts_a_section_as_in_the_script() {
        let text = "A\nM:\ta@b.c\n  continued\nF:\tx/\n\n\nB\nlonely name\nF:\ty/\n";
        let m = parse(text).unwrap();
        let names: Vec<_> = m.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["A", "  continued", "lonely name"]);
        assert_eq!(m.stray_lines, [(7, "B".to_owned())]);
        assert_eq!(m.entries[1].files, ["x/"]);
    }

    #[test]
    fn blank_and_comment_lines_do_not_end_an_entry() {
        let m = parse("A\nM:\ta@b.c\n\n# note\n   \nF:\tx/\n").unwrap();
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].files, ["x/"]);
    }

    #[test]
    fn field_values_keep_trailing_text_and_crlf_stays_in_the_value() {
        let m = parse("A\r\nS:Maintained\r\nF:  a b\n").unwrap();
        assert_eq!(m.entries[0].name, "A\r");
        assert_eq!(m.entries[0].status.as_deref(), Some("Maintained\r"));
        assert_eq!(m.entries[0].files, ["a b"]);
    }

    #[test]
    fn field_before_any_name_is_an_error_with_its_line() {
        let err = parse("F:\tdrivers/\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.to_string().contains("section name"), "{err}");
    }

    #[test]
    fn bad_regex_is_an_error_with_its_line() {
        let err = parse("A\nM:\ta@b.c\nK:\t(unclosed\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.expected.contains("K: regex"), "{err}");
        let err = parse("A\nF:\tdrivers/[x\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn empty_and_text_only_inputs_parse_to_no_entries() {
        assert!(parse("").unwrap().entries.is_empty());
        let m = parse("just\ntext\n").unwrap();
        assert!(m.entries.is_empty());
        assert_eq!(m.header, ["just", "text"]);
    }

    #[test]
    fn parse_never_panics_on_odd_bytes() {
        for text in [
            "é:\n",
            "A\nF:\t\n",
            "A\nF:\t*\u{e9}?\n",
            ":\n\n",
            "A\nN:\t\n",
            "A\nK:\n",
        ] {
            let _ = parse(text).map(|m| m.subsystems_for("é/x", Some("é")).len());
        }
    }

    fn names_of<'a>(m: &'a Maintainers, path: &str, content: Option<&str>) -> Vec<&'a str> {
        m.subsystems_for(path, content)
            .into_iter()
            .map(|e| e.name.as_str())
            .collect()
    }

    fn names(m: &Maintainers, path: &str, content: Option<&str>) -> Vec<String> {
        m.subsystems_for(path, content)
            .into_iter()
            .map(|e| e.name.clone())
            .collect()
    }

    #[test]
    fn file_pattern_rules_follow_the_script() {
        let text = "\
DIR
F:\tnet/
STAR
F:\tnet/*
GLOBAL
F:\t*/core/*
Q
F:\tnet/?.c
NODIR
F:\tlib/zstd
THE REST
F:\t*
F:\t*/
";
        let m = parse(text).unwrap();
        // "net/" counts 1, "net/*" and "net/?.c" count 2, a leading "*" counts -1.
        assert_eq!(names(&m, "net/a.c", None), ["STAR", "Q", "DIR", "THE REST"]);
        assert_eq!(
            names(&m, "net/core/dev.c", None),
            ["DIR", "GLOBAL", "THE REST"]
        );
        assert_eq!(names(&m, "net/ab.c", None), ["STAR", "DIR", "THE REST"]);
        // Without tree knowledge "lib/zstd" matches only same-depth names it prefixes.
        assert_eq!(names(&m, "lib/zstd.c", None), ["NODIR", "THE REST"]);
        assert_eq!(names(&m, "lib/zstd/x.c", None), ["THE REST"]);
        assert_eq!(names(&m, "README", None), ["THE REST"]);
        let m = parse_with_dirs(text, |p| p == "lib/zstd").unwrap();
        assert_eq!(names(&m, "lib/zstd/x.c", None), ["NODIR", "THE REST"]);
        assert_eq!(names(&m, "lib/zstd.c", None), ["THE REST"]);
    }

    #[test]
    fn excludes_drop_the_whole_section() {
        let m = parse(SMALL).unwrap();
        assert_eq!(names(&m, "drivers/foo/a.c", None), ["FOO DRIVER"]);
        assert!(names(&m, "drivers/foo/bar/a.c", None).is_empty());
        assert_eq!(names(&m, "drivers/bar.c", None), ["BAR"]);
    }

    #[test]
    fn n_regex_counts_depth_zero_and_k_comes_last() {
        let text = "\
DEEP
F:\ta/b/c/
REGEX
N:\tc/x
KEY
K:\tmagic
SHALLOW
F:\t*
F:\t*/
";
        let m = parse(text).unwrap();
        assert_eq!(
            names(&m, "a/b/c/x.c", Some("the magic word")),
            ["DEEP", "REGEX", "SHALLOW", "KEY"]
        );
        assert_eq!(names(&m, "a/b/c/x.c", None), ["DEEP", "REGEX", "SHALLOW"]);
        // The script never keyword-matches MAINTAINERS itself.
        assert_eq!(names(&m, "MAINTAINERS", Some("magic")), ["SHALLOW"]);
    }

    #[test]
    fn the_last_matching_line_sets_a_sections_depth() {
        let text = "A\nF:\tx/y/z/\nF:\tx/\nB\nF:\tx/y/\n";
        let m = parse(text).unwrap();
        // A matched at depth 3 then 1: the script keeps 1, so B (2) ranks first.
        assert_eq!(names(&m, "x/y/z/f.c", None), ["B", "A"]);
    }

    #[test]
    fn explain_names_the_lines_that_matched_and_excluded() {
        let text = "\
DEEP
N:\tc/x
F:\ta/b/c/
X:\ta/b/c/skip/
OTHER
F:\ta/b/
K:\tmagic
TWIN
F:\ta/b/
SHALLOW
F:\t*
F:\t*/
";
        let m = parse(text).unwrap();
        let why = m.explain("a/b/c/x.c", Some("the magic word"));
        let got: Vec<_> = why
            .iter()
            .map(|s| {
                let lines: Vec<String> = s.matched.iter().map(|l| l.to_string()).collect();
                (
                    m.entries[s.entry].name.as_str(),
                    s.rank,
                    s.depth,
                    s.tied,
                    lines,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "DEEP",
                    Some(0),
                    Some(3),
                    false,
                    vec!["N:\tc/x".into(), "F:\ta/b/c/".into()]
                ),
                (
                    "OTHER",
                    Some(1),
                    Some(2),
                    true,
                    vec!["F:\ta/b/".into(), "K:\tmagic".into()]
                ),
                ("TWIN", Some(2), Some(2), true, vec!["F:\ta/b/".into()]),
                ("SHALLOW", Some(3), Some(-1), false, vec!["F:\t*/".into()]),
            ]
        );
        // The order is the one subsystems_for gives.
        let names: Vec<_> = why
            .iter()
            .map(|s| m.entries[s.entry].name.as_str())
            .collect();
        assert_eq!(names, names_of(&m, "a/b/c/x.c", Some("the magic word")));
        assert_eq!(why[0].matched[1].line, 3);
        assert_eq!(why[0].matched[1].depth, Some(3));

        let why = m.explain("a/b/c/skip/y.c", None);
        let excluded = why.last().unwrap();
        assert_eq!(m.entries[excluded.entry].name, "DEEP");
        assert_eq!(excluded.rank, None);
        assert_eq!(excluded.matched[0].to_string(), "F:\ta/b/c/");
        assert_eq!(excluded.excluded_by[0].to_string(), "X:\ta/b/c/skip/");
        assert_eq!(excluded.excluded_by[0].line, 4);
        assert!(why[..why.len() - 1].iter().all(|s| s.rank.is_some()));
    }

    #[test]
    fn keyword_sections_sort_by_index_as_strings() {
        let mut text = String::from("FIRST\nK:\tw\n");
        for i in 0..10 {
            text.push_str(&format!("S{i}\nS:\tx\n"));
        }
        text.push_str("LATE\nK:\tw\n");
        let m = parse(&text).unwrap();
        // FIRST's K: is @typevalue[1], LATE's is [22]: "1" < "22".
        assert_eq!(names(&m, "f.c", Some("w")), ["FIRST", "LATE"]);
        let text = text.replacen("FIRST\nK:\tw\n", "FIRST\nS:\tx\nS:\tx\nK:\tw\n", 1);
        let m = parse(&text).unwrap();
        // Now [3] and [24]: "24" < "3".
        assert_eq!(names(&m, "f.c", Some("w")), ["LATE", "FIRST"]);
    }

    #[test]
    fn duplicate_names_are_reported_once() {
        let m = parse("A\nF:\tx/\nA\nF:\tx/y/\n").unwrap();
        assert_eq!(names(&m, "x/y/z", None), ["A"]);
    }

    #[test]
    fn to_specs_maps_people_lists_and_status() {
        let specs = parse(SMALL).unwrap().to_specs();
        assert_eq!(specs[0].name, "FOO DRIVER");
        assert_eq!(specs[0].maintainers[0].email, "ann@example.org");
        assert_eq!(specs[0].reviewers[0].email, "bob@example.org");
        assert_eq!(specs[0].lists, ["foo@vger.kernel.org"]);
        assert_eq!(specs[0].status.as_deref(), Some("Maintained"));
        assert_eq!(specs[1].status, None);
    }

    #[test]
    fn literal_prefix_stops_at_regex_syntax() {
        let lit = |re| literal_prefix(re);
        assert_eq!(lit("drivers/net/"), ("drivers/net/".into(), true));
        assert_eq!(lit("a/b\\.c"), ("a/b.c".into(), true));
        assert_eq!(lit("a/b.*"), ("a/b".into(), false));
        assert_eq!(lit("a/bc+"), ("a/b".into(), false));
        assert_eq!(lit("a/b[ch]"), ("a/b".into(), false));
        assert_eq!(lit("a\\\\.c"), ("a".into(), false));
        assert_eq!(lit("a/b|c"), ("".into(), false));
    }
}
