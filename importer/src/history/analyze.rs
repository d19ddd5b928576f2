//! The analyzer: what each commit did to each campaign call (fix, change, revert, removal),
//! from a watched file's content before and after the commit, and, once every commit is read,
//! what that means for the stored sites ([`Analyzer::finish`]). Pure: sources feed it, the
//! pipeline in `mod.rs` stores what it decides. See the module documentation of `history`.

use std::collections::{BTreeMap, HashMap, HashSet};

use treewide_core::history::{CommitInfo, Position, SiteLink, StatusFromHistory, TrackedSite};
use treewide_core::identity::normalise_code;
use treewide_core::model::{CommitRole, SiteId, Status};
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;

use crate::scan::{new_parser, scan_source, FoundSite};

/// Lines above a changed region still searched for a callee: a call's direction argument is
/// often on a continuation line, so the callee's name is not in the changed lines themselves.
const WIDEN: u32 = 8;

/// A commit as a source read it.
#[derive(Debug, Clone)]
pub struct SourceCommit {
    pub info: CommitInfo,
    /// Commit time (seconds since the epoch): "latest" means this.
    pub time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Happened {
    Fix,
    Change,
    /// A fixed call turned back into the legacy form (a revert, or a re-introduction).
    Revert,
    Removed,
}

/// What one commit did to one call.
#[derive(Debug, Clone)]
struct CallEvent {
    commit: usize,
    what: Happened,
    /// The file before and after the commit.
    old_path: String,
    new_path: String,
    function: Option<String>,
    callee: String,
    /// Normalised code before the commit, and after it (none when removed).
    old_norm: String,
    new_norm: Option<String>,
    old_code: String,
    new_code: Option<String>,
    new_line: Option<u32>,
}

/// Paths linked by renames.
#[derive(Debug, Default)]
struct Lineage {
    parent: HashMap<String, String>,
}

impl Lineage {
    fn root(&self, path: &str) -> String {
        let mut p = path.to_owned();
        let mut steps = 0;
        while let Some(next) = self.parent.get(&p) {
            if *next == p || steps > 10_000 {
                break;
            }
            p = next.clone();
            steps += 1;
        }
        p
    }

    fn link(&mut self, a: &str, b: &str) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent.insert(ra, rb);
        }
    }
}

/// Counts for the import's report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    /// Commits walked.
    pub commits: u64,
    /// File changes of watched files looked at.
    pub file_changes: u64,
    /// File changes whose changed lines could hold a call, so both versions were parsed.
    pub parsed: u64,
    pub renames: u64,
}

/// Collects what commits did to calls; see the module documentation.
pub struct Analyzer<'s> {
    spec: &'s Spec,
    matcher: CallMatcher,
    parser: tree_sitter::Parser,
    commits: Vec<SourceCommit>,
    by_oid: HashMap<String, usize>,
    events: Vec<CallEvent>,
    renames: Vec<(usize, String, String)>,
    lineage: Lineage,
    watched: HashSet<String>,
    pub stats: Stats,
}

impl<'s> Analyzer<'s> {
    /// An analyzer watching the files of `sites`.
    pub fn new(spec: &'s Spec, sites: &[TrackedSite]) -> anyhow::Result<Analyzer<'s>> {
        Ok(Analyzer {
            spec,
            matcher: CallMatcher::new(spec)?,
            parser: new_parser(),
            commits: Vec::new(),
            by_oid: HashMap::new(),
            events: Vec::new(),
            renames: Vec::new(),
            lineage: Lineage::default(),
            watched: sites.iter().map(|s| s.file.clone()).collect(),
            stats: Stats::default(),
        })
    }

    /// Files whose changes matter: the sites' files and every path renames linked to them.
    pub fn watched(&self) -> &HashSet<String> {
        &self.watched
    }

    /// Register a commit (once per oid); returns its index for [`Self::file_change`].
    pub fn commit(&mut self, c: SourceCommit) -> usize {
        if let Some(&i) = self.by_oid.get(&c.info.oid) {
            return i;
        }
        self.by_oid.insert(c.info.oid.clone(), self.commits.len());
        self.commits.push(c);
        self.commits.len() - 1
    }

    /// Whether a commit is registered already.
    pub fn has_commit(&self, oid: &str) -> bool {
        self.by_oid.contains_key(oid)
    }

    /// `commit` renamed `from` to `to`: both are one file's lineage, and both are watched.
    /// Returns whether this made a new path watched.
    pub fn rename(&mut self, commit: usize, from: &str, to: &str) -> bool {
        self.stats.renames += 1;
        self.renames.push((commit, from.to_owned(), to.to_owned()));
        self.lineage.link(from, to);
        let a = self.watched.insert(from.to_owned());
        let b = self.watched.insert(to.to_owned());
        a || b
    }

    /// One watched file's change in one commit (`old` empty: added; `new` empty: deleted).
    pub fn file_change(
        &mut self,
        commit: usize,
        old_path: &str,
        new_path: &str,
        old: &[u8],
        new: &[u8],
    ) {
        use gix::diff::blob::{Algorithm, Diff, InternedInput};
        self.stats.file_changes += 1;
        // Most changes of a watched file are nowhere near a call: the region between the
        // common prefix and suffix (widened like the hunks below) tells without a diff.
        let (old_mid, new_mid) = changed_region(old, new);
        if !self.matcher.has_call(&old[old_mid]) && !self.matcher.has_call(&new[new_mid]) {
            return;
        }
        let input = InternedInput::new(old, new);
        let diff = Diff::compute(Algorithm::Histogram, &input);
        let hunks: Vec<gix::diff::blob::Hunk> = diff.hunks().collect();
        if hunks.is_empty() {
            return;
        }
        let (old_lines, new_lines) = (LineStarts::new(old), LineStarts::new(new));
        let may_hold_call = hunks.iter().any(|h| {
            self.matcher.has_call(old_lines.region(
                old,
                h.before.start.saturating_sub(WIDEN),
                h.before.end,
            )) || self.matcher.has_call(new_lines.region(
                new,
                h.after.start.saturating_sub(WIDEN),
                h.after.end,
            ))
        });
        if !may_hold_call {
            return;
        }
        self.stats.parsed += 1;
        let (old_calls, _) = scan_source(old_path, old, self.spec, &self.matcher, &mut self.parser);
        let (new_calls, _) = scan_source(new_path, new, self.spec, &self.matcher, &mut self.parser);
        let map = LineMap::new(&hunks);
        for (o, n) in pair_calls(&old_calls, &new_calls, &map) {
            let old = &old_calls[o];
            let Some(n) = n else {
                self.events.push(CallEvent {
                    commit,
                    what: Happened::Removed,
                    old_path: old_path.to_owned(),
                    new_path: new_path.to_owned(),
                    function: old.function.clone(),
                    callee: old.callee.clone(),
                    old_norm: normalise_code(&old.code),
                    new_norm: None,
                    old_code: old.code.clone(),
                    new_code: None,
                    new_line: None,
                });
                continue;
            };
            let new = &new_calls[n];
            let (was, is) = (self.classify(old), self.classify(new));
            let what = if is.0 == Some(Status::Fixed) && was.0 != Some(Status::Fixed) {
                Happened::Fix
            } else if was.0 == Some(Status::Fixed) && is.0 == Some(Status::NeedsFix) {
                Happened::Revert
            } else if was.1 != is.1 {
                Happened::Change
            } else {
                continue;
            };
            self.events.push(CallEvent {
                commit,
                what,
                old_path: old_path.to_owned(),
                new_path: new_path.to_owned(),
                function: new.function.clone(),
                callee: new.callee.clone(),
                old_norm: normalise_code(&old.code),
                new_norm: Some(normalise_code(&new.code)),
                old_code: old.code.clone(),
                new_code: Some(new.code.clone()),
                new_line: Some(new.line),
            });
        }
    }

    /// The spec's verdict on a call and its direction argument.
    fn classify(&self, call: &FoundSite) -> (Option<Status>, Option<String>) {
        let Some(group) = self.spec.group_of(&call.callee) else {
            return (None, None);
        };
        let direction = group
            .direction_arg
            .and_then(|i| call.args.get(i - 1))
            .cloned();
        (
            self.spec.classify(group, direction.as_deref()).status,
            direction,
        )
    }

    /// Match everything to the stored sites. `tip` holds the watched files present at the tip
    /// the positions are to be taken from (path → content); `tip_name` names it in reasons.
    pub fn finish(
        self,
        sites: &[TrackedSite],
        tip: &BTreeMap<String, Vec<u8>>,
        tip_name: &str,
    ) -> Outcome {
        let mut out = Outcome::default();

        // The tip's calls, per lineage.
        let mut tip_calls: HashMap<String, Vec<TipCall>> = HashMap::new();
        // The tip's files are parsed on every core: a tip holds all watched files.
        let scanned: Vec<(&String, Vec<FoundSite>)> = {
            use rayon::prelude::*;
            let (spec, matcher) = (self.spec, &self.matcher);
            tip.par_iter()
                .map_init(new_parser, |parser, (path, content)| {
                    (path, scan_source(path, content, spec, matcher, parser).0)
                })
                .collect()
        };
        for (path, found) in scanned {
            let specs = crate::scan::to_site_specs(
                &crate::scan::ScanResult {
                    sites: found.clone(),
                    ..Default::default()
                },
                self.spec,
                &|_| Vec::new(),
            );
            let ids = treewide_core::ingest::identities(
                &specs.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
            );
            let entry = tip_calls.entry(self.lineage.root(path)).or_default();
            for ((call, (spec, _)), identity) in found.into_iter().zip(specs).zip(ids) {
                let class = self.classify(&call).0;
                entry.push(TipCall {
                    norm: normalise_code(&call.code),
                    call,
                    function: spec.function,
                    direction: spec.direction,
                    identity,
                    class,
                });
            }
        }

        // Sites to tip calls.
        let mut claimed: HashSet<(String, usize)> = HashSet::new();
        let mut at_tip: HashMap<SiteId, (String, usize)> = HashMap::new();
        let live: Vec<&TrackedSite> = sites.iter().filter(|s| s.status != Status::Gone).collect();
        let norms: HashMap<SiteId, String> = sites
            .iter()
            .map(|s| (s.id, normalise_code(&s.code)))
            .collect();
        type Key<'a> = fn(&TrackedSite, &str, &TipCall) -> bool;
        let passes: [Key; 3] = [
            |s, norm, c| s.callee == c.call.callee && norm == c.norm && s.function == c.function,
            |s, norm, c| s.callee == c.call.callee && norm == c.norm,
            |s, _, c| s.callee == c.call.callee && s.function.is_some() && s.function == c.function,
        ];
        for (pass, key) in passes.iter().enumerate() {
            for s in &live {
                if at_tip.contains_key(&s.id) {
                    continue;
                }
                let root = self.lineage.root(&s.file);
                let Some(calls) = tip_calls.get(&root) else {
                    continue;
                };
                let norm = &norms[&s.id];
                let candidates: Vec<usize> = (0..calls.len())
                    .filter(|&i| !claimed.contains(&(root.clone(), i)) && key(s, norm, &calls[i]))
                    .collect();
                // The loosest pass only decides when there is no doubt.
                if pass == 2 && candidates.len() != 1 {
                    continue;
                }
                let best = candidates.into_iter().min_by_key(|&i| {
                    let c = &calls[i].call;
                    (
                        (c.file != s.file) as i64,
                        (i64::from(c.line) - s.line).abs(),
                    )
                });
                if let Some(i) = best {
                    claimed.insert((root.clone(), i));
                    at_tip.insert(s.id, (root.clone(), i));
                }
            }
        }

        // Events to sites, looked up by the lineage of the file they happened in.
        let mut by_root: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in self.events.iter().enumerate() {
            let path = if e.what == Happened::Removed {
                &e.old_path
            } else {
                &e.new_path
            };
            by_root.entry(self.lineage.root(path)).or_default().push(i);
        }
        let mut used_commits: HashSet<usize> = HashSet::new();
        for s in sites {
            let root = self.lineage.root(&s.file);
            let norm = &norms[&s.id];
            let tip_call = at_tip.get(&s.id).map(|(r, i)| &tip_calls[r][*i]);
            let here: Vec<&CallEvent> = by_root
                .get(&root)
                .map(|v| v.iter().map(|&i| &self.events[i]).collect())
                .unwrap_or_default();
            let matches = |e: &CallEvent, removed: bool| {
                if e.callee != s.callee {
                    return false;
                }
                let code_same = if removed {
                    e.old_norm == *norm
                } else {
                    e.new_norm.as_deref() == Some(norm)
                        || e.old_norm == *norm
                        || tip_call.is_some_and(|t| e.new_norm.as_deref() == Some(t.norm.as_str()))
                };
                code_same
                    && (s.function.is_none() || e.function.is_none() || e.function == s.function)
            };
            let (mut fixes, mut reverts): (Vec<&CallEvent>, Vec<&CallEvent>) =
                (Vec::new(), Vec::new());
            for &e in &here {
                match e.what {
                    Happened::Fix | Happened::Change | Happened::Revert if matches(e, false) => {
                        if e.what == Happened::Fix {
                            fixes.push(e);
                        }
                        if e.what == Happened::Revert {
                            reverts.push(e);
                        }
                        used_commits.insert(e.commit);
                        out.links.push(SiteLink {
                            site: s.id,
                            commit: self.commits[e.commit].info.oid.clone(),
                            // A revert is recorded as a change of the call; the status it
                            // reopens names it.
                            role: if e.what == Happened::Fix {
                                CommitRole::Fix
                            } else {
                                CommitRole::Change
                            },
                            file: e.new_path.clone(),
                            line: e.new_line,
                            old_code: Some(e.old_code.clone()),
                            new_code: e.new_code.clone(),
                        });
                    }
                    _ => {}
                }
            }
            match tip_call {
                Some(t) => {
                    if t.call.file != s.file {
                        for (c, from, to) in &self.renames {
                            if self.lineage.root(to) == root {
                                used_commits.insert(*c);
                                out.links.push(SiteLink {
                                    site: s.id,
                                    commit: self.commits[*c].info.oid.clone(),
                                    role: CommitRole::Move,
                                    file: to.clone(),
                                    line: None,
                                    old_code: Some(from.clone()),
                                    new_code: None,
                                });
                            }
                        }
                    }
                    out.positions.push(Position {
                        site: s.id,
                        identity: t.identity.clone(),
                        file: t.call.file.clone(),
                        line: t.call.line,
                        col: Some(t.call.column),
                        function: t.function.clone(),
                        code: t.call.code.clone(),
                        direction: t.direction.clone(),
                        context: Some((t.call.context.clone(), t.call.context_start)),
                    });
                    // Fixed, but the tip's code is in the legacy form again: reopened, naming
                    // the commit that turned it back when one was read.
                    if s.status == Status::Fixed && t.class == Some(Status::NeedsFix) {
                        let revert = self.pick_latest(&reverts, true);
                        let reason = match revert {
                            Some(e) => {
                                let c = &self.commits[e.commit].info;
                                format!(
                                    "reverted by {} (\"{}\"): the call is in the legacy form again",
                                    c.short(),
                                    c.subject
                                )
                            }
                            None => format!(
                                "reverted: the code at {tip_name} is in the legacy form again"
                            ),
                        };
                        out.statuses.push(StatusFromHistory {
                            site: s.id,
                            to: Status::NeedsFix,
                            reason,
                            commit: revert.map(|e| self.commits[e.commit].info.oid.clone()),
                        });
                    }
                    let open = !matches!(
                        s.status,
                        Status::Fixed | Status::ConfirmedSafe | Status::Gone
                    );
                    if open && t.class == Some(Status::Fixed) {
                        let mainline = self.pick_latest(&fixes, true);
                        let reason = match mainline {
                            Some(e) => {
                                let c = &self.commits[e.commit].info;
                                format!("fixed by {} (\"{}\")", c.short(), c.subject)
                            }
                            None => format!("the code at {tip_name} is fixed"),
                        };
                        out.statuses.push(StatusFromHistory {
                            site: s.id,
                            to: Status::Fixed,
                            reason,
                            commit: mainline.map(|e| self.commits[e.commit].info.oid.clone()),
                        });
                    }
                }
                None => {
                    let removals: Vec<&CallEvent> = here
                        .iter()
                        .copied()
                        .filter(|e| e.what == Happened::Removed && matches(e, true))
                        .collect();
                    match self.pick_latest(&removals, true) {
                        Some(e) => {
                            let c = &self.commits[e.commit].info;
                            used_commits.insert(e.commit);
                            out.links.push(SiteLink {
                                site: s.id,
                                commit: c.oid.clone(),
                                role: CommitRole::Gone,
                                file: e.old_path.clone(),
                                line: None,
                                old_code: Some(e.old_code.clone()),
                                new_code: None,
                            });
                            if s.status != Status::Gone {
                                out.statuses.push(StatusFromHistory {
                                    site: s.id,
                                    to: Status::Gone,
                                    reason: format!("removed by {} (\"{}\")", c.short(), c.subject),
                                    commit: Some(c.oid.clone()),
                                });
                            }
                        }
                        None if s.status != Status::Gone => out.unexplained.push(format!(
                            "{}:{}: {} not found at the tip, and no commit read removed it",
                            s.file, s.line, s.callee
                        )),
                        None => {}
                    }
                }
            }
        }
        let mut used: Vec<usize> = used_commits.into_iter().collect();
        used.sort_unstable();
        out.commits = used
            .into_iter()
            .map(|i| self.commits[i].info.clone())
            .collect();
        out.stats = self.stats;
        out.links.sort_by(|a, b| {
            (a.site, &a.commit, a.role.as_str()).cmp(&(b.site, &b.commit, b.role.as_str()))
        });
        out.links.dedup();
        out
    }

    /// The latest event by commit time, preferring mainline commits (not backports).
    fn pick_latest<'e>(
        &self,
        events: &[&'e CallEvent],
        mainline_first: bool,
    ) -> Option<&'e CallEvent> {
        events.iter().copied().max_by_key(|e| {
            let c = &self.commits[e.commit];
            (mainline_first && c.info.upstream_oid.is_none(), c.time)
        })
    }
}

/// A call at the tip.
struct TipCall {
    call: FoundSite,
    norm: String,
    function: Option<String>,
    direction: Option<String>,
    identity: String,
    class: Option<Status>,
}

/// What an import found, ready for `treewide_core::history::store`.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Commits linked to at least one site.
    pub commits: Vec<CommitInfo>,
    pub links: Vec<SiteLink>,
    pub positions: Vec<Position>,
    pub statuses: Vec<StatusFromHistory>,
    /// Sites the tip does not have that no commit read explains (left as they are).
    pub unexplained: Vec<String>,
    pub stats: Stats,
}

/// The byte ranges of `old` and `new` between their common prefix and suffix, widened to whole
/// lines and [`WIDEN`] lines upwards.
fn changed_region(old: &[u8], new: &[u8]) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let widen = |text: &[u8], end: usize| {
        // Back to the start of the line WIDEN lines above the first changed byte.
        let mut start = prefix;
        for _ in 0..=WIDEN {
            match memchr::memrchr(b'\n', &text[..start]) {
                Some(nl) => start = nl,
                None => {
                    start = 0;
                    break;
                }
            }
        }
        let end = memchr::memchr(b'\n', &text[end..]).map_or(text.len(), |i| end + i);
        start..end.max(start)
    };
    (
        widen(old, old.len() - suffix),
        widen(new, new.len() - suffix),
    )
}

/// Byte offsets of line starts.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(src: &[u8]) -> LineStarts {
        let mut v = vec![0];
        v.extend(memchr::memchr_iter(b'\n', src).map(|i| i + 1));
        LineStarts(v)
    }

    /// The bytes of lines `from..to` (0-based, end exclusive).
    fn region<'a>(&self, src: &'a [u8], from: u32, to: u32) -> &'a [u8] {
        let at = |l: u32| {
            self.0
                .get(l as usize)
                .copied()
                .unwrap_or(src.len())
                .min(src.len())
        };
        let (a, b) = (at(from), at(to.max(from)));
        &src[a..b]
    }
}

/// Old line → new line for lines outside the diff's hunks (0-based).
struct LineMap {
    /// (old start, old end, new start, new end) of each hunk, in order.
    hunks: Vec<(u32, u32, u32, u32)>,
}

impl LineMap {
    fn new(hunks: &[gix::diff::blob::Hunk]) -> LineMap {
        LineMap {
            hunks: hunks
                .iter()
                .map(|h| (h.before.start, h.before.end, h.after.start, h.after.end))
                .collect(),
        }
    }

    /// The unchanged line's new number, or `None` when the line was changed.
    fn map(&self, old: u32) -> Option<u32> {
        let mut shift: i64 = 0;
        for &(os, oe, ns, ne) in &self.hunks {
            if old < os {
                break;
            }
            if old < oe {
                return None;
            }
            shift += i64::from(ne - ns) - i64::from(oe - os);
        }
        u32::try_from(i64::from(old) + shift).ok()
    }

    /// Where an old line would be in the new file, changed or not.
    fn approx(&self, old: u32) -> i64 {
        let mut shift: i64 = 0;
        for &(os, oe, ns, ne) in &self.hunks {
            if old < os {
                break;
            }
            if old < oe {
                return i64::from(ns) + i64::from(old - os).min(i64::from(ne.saturating_sub(ns)));
            }
            shift += i64::from(ne - ns) - i64::from(oe - os);
        }
        i64::from(old) + shift
    }
}

/// Pair old calls with new ones: calls on unchanged lines by position, the rest by (function,
/// callee, normalised code), then by (function, callee) nearest first. Returns every old call
/// with its partner, if any.
fn pair_calls(old: &[FoundSite], new: &[FoundSite], map: &LineMap) -> Vec<(usize, Option<usize>)> {
    let mut partner: Vec<Option<usize>> = vec![None; old.len()];
    let mut taken = vec![false; new.len()];
    for (i, o) in old.iter().enumerate() {
        let Some(nl) = map.map(o.line - 1) else {
            continue;
        };
        if let Some(j) = (0..new.len()).find(|&j| {
            !taken[j]
                && new[j].line - 1 == nl
                && new[j].column == o.column
                && new[j].callee == o.callee
        }) {
            partner[i] = Some(j);
            taken[j] = true;
        }
    }
    let norm_old: Vec<String> = old.iter().map(|c| normalise_code(&c.code)).collect();
    let norm_new: Vec<String> = new.iter().map(|c| normalise_code(&c.code)).collect();
    for exact in [true, false] {
        for i in 0..old.len() {
            if partner[i].is_some() {
                continue;
            }
            let o = &old[i];
            let want = map.approx(o.line - 1);
            let best = (0..new.len())
                .filter(|&j| {
                    !taken[j]
                        && new[j].callee == o.callee
                        && new[j].function == o.function
                        && (!exact || norm_new[j] == norm_old[i])
                })
                .min_by_key(|&j| (i64::from(new[j].line - 1) - want).abs());
            if let Some(j) = best {
                partner[i] = Some(j);
                taken[j] = true;
            }
        }
    }
    partner.into_iter().enumerate().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_region_is_widened_to_lines_above() {
        let old = b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
        let new = b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nK\nl\n";
        let (o, n) = changed_region(old, new);
        // Line k (the 11th) changed: the region starts WIDEN lines above it.
        assert_eq!(&old[o], b"\nc\nd\ne\nf\ng\nh\ni\nj\nk");
        assert_eq!(&new[n], b"\nc\nd\ne\nf\ng\nh\ni\nj\nK");
        let (o, n) = changed_region(b"same\n", b"same\n");
        assert!(o.len() <= 5 && n.len() <= 5);
        let (o, n) = changed_region(b"", b"x(READ)\n");
        assert_eq!((o, n), (0..0, 0..8));
    }

    #[test]
    fn line_map_skips_changed_lines() {
        // Old lines 0..10; hunk replaces old 3..5 with new 3..6 (one line longer).
        let m = LineMap {
            hunks: vec![(3, 5, 3, 6)],
        };
        assert_eq!(m.map(2), Some(2));
        assert_eq!(m.map(3), None);
        assert_eq!(m.map(5), Some(6));
        assert_eq!(m.approx(4), 4);
        assert_eq!(m.approx(9), 10);
    }
}
