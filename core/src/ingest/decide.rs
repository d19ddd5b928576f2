//! The rules of an import, as pure functions: which status a site gets, which stored site a
//! scanned call is when its identity changed, what a re-import changes in a stored site, and
//! which stored sites a scan no longer finds. The store steps write what these decide.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::SiteInput;
use crate::identity::{normalise_code, site_identity};
use crate::matcher::{MatchFacts, VerdictMatcher};
use crate::model::{DecidedBy, IterKind, SiteId, Status, SubsystemId, VerdictId};

/// A stored site as the rules compare it with the batch.
pub(super) struct Existing {
    pub(super) id: SiteId,
    pub(super) file: String,
    pub(super) function: Option<String>,
    pub(super) callee: String,
    pub(super) code: String,
    pub(super) context: Option<String>,
    pub(super) context_start: Option<i64>,
    pub(super) line: i64,
    pub(super) col: Option<i64>,
    pub(super) iter_kind: IterKind,
    pub(super) direction: Option<String>,
    pub(super) subsystem_id: Option<SubsystemId>,
    pub(super) status: Status,
    pub(super) decided_by: DecidedBy,
    pub(super) verdict_id: Option<VerdictId>,
    pub(super) reason: String,
}

impl Existing {
    /// What verdict groups match on.
    pub(super) fn facts(&self) -> MatchFacts<'_> {
        MatchFacts {
            file: &self.file,
            function: self.function.as_deref(),
            callee: &self.callee,
            iter_kind: self.iter_kind,
            direction: self.direction.as_deref(),
        }
    }

    /// The decision stored now.
    pub(super) fn decision(&self) -> Decision {
        Decision {
            status: self.status,
            decided_by: self.decided_by,
            verdict_id: self.verdict_id,
            reason: self.reason.clone(),
        }
    }
}

impl SiteInput {
    /// What verdict groups match on.
    pub(super) fn facts(&self) -> MatchFacts<'_> {
        MatchFacts {
            file: self.file.as_str(),
            function: self.function.as_deref(),
            callee: &self.callee,
            iter_kind: self.iter_kind,
            direction: self.direction.as_deref(),
        }
    }
}

/// A decision about a site's status.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Decision {
    pub(super) status: Status,
    pub(super) decided_by: DecidedBy,
    pub(super) verdict_id: Option<VerdictId>,
    pub(super) reason: String,
}

/// A verdict group with its compiled matcher.
pub(super) struct LoadedVerdict {
    pub(super) id: VerdictId,
    pub(super) matcher: VerdictMatcher,
    pub(super) status: Status,
    pub(super) reason: String,
    pub(super) date: Option<String>,
}

/// The status a batch gives a site: its own entry's when it states one, else the first
/// verdict group that matches, else unreviewed.
pub(super) fn decide(
    explicit: Option<Status>,
    reason: Option<&str>,
    facts: &MatchFacts<'_>,
    verdicts: &[LoadedVerdict],
) -> Decision {
    if let Some(status) = explicit.filter(|s| *s != Status::Unreviewed) {
        return Decision {
            status,
            decided_by: DecidedBy::Site,
            verdict_id: None,
            reason: reason.unwrap_or_default().to_owned(),
        };
    }
    match verdicts.iter().find(|v| v.matcher.matches(facts)) {
        Some(v) => Decision {
            status: v.status,
            decided_by: DecidedBy::Verdict,
            verdict_id: Some(v.id),
            reason: v.reason.clone(),
        },
        None => Decision {
            status: Status::Unreviewed,
            decided_by: DecidedBy::Default,
            verdict_id: None,
            reason: reason.unwrap_or_default().to_owned(),
        },
    }
}

/// Identity keys of the batch's sites, in batch order.
pub fn identities(sites: &[SiteInput]) -> Vec<String> {
    // Ordinals count calls with the same (file, function, callee, code) in line order.
    let norm: Vec<String> = sites.iter().map(|s| normalise_code(&s.code)).collect();
    let mut order: Vec<usize> = (0..sites.len()).collect();
    order.sort_by_key(|&i| (sites[i].line, sites[i].column, i));
    let mut seen: HashMap<(&str, Option<&str>, &str, &str), u32> = HashMap::new();
    let mut out = vec![String::new(); sites.len()];
    for i in order {
        let s = &sites[i];
        let key = (
            s.file.as_str(),
            s.function.as_deref(),
            s.callee.as_str(),
            norm[i].as_str(),
        );
        let n = seen.entry(key).or_insert(0);
        out[i] = site_identity(key.0, key.1, key.2, key.3, *n);
        *n += 1;
    }
    out
}

/// The decision a batch wants for a stored site it mentions, when it differs from the stored
/// one. A scan follows [`scan_decision`]; an import keeps a person's decision unless its entry
/// states a status of its own.
pub(super) fn redecide(
    old: &Existing,
    s: &SiteInput,
    verdicts: &[LoadedVerdict],
    scan: bool,
) -> Option<Decision> {
    let facts = s.facts();
    let wanted = if scan {
        scan_decision(old, s, &facts, verdicts)
    } else {
        let keep_human =
            old.decided_by == DecidedBy::Site && s.status.is_none_or(|st| st == Status::Unreviewed);
        (!keep_human).then(|| decide(s.status, s.reason.as_deref(), &facts, verdicts))
    };
    wanted.filter(|d| *d != old.decision())
}

/// The data of a stored site after a batch mentioned it again.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SiteUpdate {
    pub(super) id: SiteId,
    pub(super) line: i64,
    pub(super) col: Option<i64>,
    pub(super) iter_kind: IterKind,
    pub(super) direction: Option<String>,
    pub(super) subsystem_id: Option<SubsystemId>,
    pub(super) context: Option<String>,
    pub(super) context_start: Option<i64>,
    pub(super) identity: String,
    pub(super) function: Option<String>,
    pub(super) code: String,
}

impl SiteUpdate {
    /// One row of the multi-row UPDATE, in its column order.
    pub(super) fn to_json(&self) -> serde_json::Value {
        json!([
            self.id.0,
            self.line,
            self.col,
            self.iter_kind.as_str(),
            self.direction,
            self.subsystem_id.map(|x| x.0),
            self.context,
            self.context_start,
            self.identity,
            self.function,
            self.code
        ])
    }
}

/// What a batch changes in the data of stored site `old` (`None`: nothing). Absent optional
/// fields keep what is stored (a sparser re-import is no edit); the same call may be written
/// differently (re-wrapped, READ → ITER_DEST), so the stored code follows the latest. A site
/// found under a new identity (`rekey`) takes the batch's identity and function.
pub(super) fn site_update(
    old: &Existing,
    s: &SiteInput,
    identity: &str,
    subsystem_id: Option<SubsystemId>,
    rekey: bool,
) -> Option<SiteUpdate> {
    let u = SiteUpdate {
        id: old.id,
        line: i64::from(s.line),
        col: s.column.map(i64::from),
        iter_kind: s.iter_kind,
        direction: s.direction.clone().or(old.direction.clone()),
        subsystem_id: subsystem_id.or(old.subsystem_id),
        context: match &s.context {
            Some((c, _)) => Some(c.clone()),
            None => old.context.clone(),
        },
        context_start: match &s.context {
            Some((_, start)) => Some(i64::from(*start)),
            None => old.context_start,
        },
        identity: identity.to_owned(),
        function: if rekey {
            s.function.clone()
        } else {
            old.function.clone()
        },
        code: if s.code.is_empty() {
            old.code.clone()
        } else {
            s.code.clone()
        },
    };
    let same = (
        u.line,
        u.col,
        u.iter_kind,
        &u.direction,
        u.subsystem_id,
        &u.context,
        u.context_start,
        &u.code,
    ) == (
        old.line,
        old.col,
        old.iter_kind,
        &old.direction,
        old.subsystem_id,
        &old.context,
        old.context_start,
        &old.code,
    );
    (rekey || !same).then_some(u)
}

/// Lines a call may have drifted and still be matched by its code.
const NEARBY_LINES: i64 = 50;

/// For scanned sites with no stored identity: the stored, unclaimed site in the same file with
/// the same callee whose code is the same or a cut-off prefix, nearest by line.
pub(super) fn nearby_matches(
    sites: &[SiteInput],
    ids: &[String],
    existing: &HashMap<String, Existing>,
) -> HashMap<usize, String> {
    let in_batch: HashSet<&str> = ids.iter().map(String::as_str).collect();
    // (file, callee) → (identity, stored site, its normalised code)
    type Candidates<'a> = HashMap<(&'a str, &'a str), Vec<(&'a str, &'a Existing, String)>>;
    let mut candidates: Candidates<'_> = HashMap::new();
    for (identity, e) in existing {
        if !in_batch.contains(identity.as_str()) {
            candidates
                .entry((e.file.as_str(), e.callee.as_str()))
                .or_default()
                .push((identity.as_str(), e, normalise_code(&e.code)));
        }
    }
    let mut claimed = HashSet::new();
    let mut out = HashMap::new();
    for (i, (s, id)) in sites.iter().zip(ids).enumerate() {
        if existing.contains_key(id) {
            continue;
        }
        let Some(list) = candidates.get(&(s.file.as_str(), s.callee.as_str())) else {
            continue;
        };
        let code = normalise_code(&s.code);
        let best = list
            .iter()
            .filter(|(key, e, old)| {
                !claimed.contains(key)
                    && (i64::from(s.line) - e.line).abs() <= NEARBY_LINES
                    && (old.is_empty()
                        || *old == code
                        || (old.len() >= 16 && code.starts_with(old.as_str())))
            })
            .min_by_key(|(_, e, _)| (i64::from(s.line) - e.line).abs());
        if let Some((key, _, _)) = best {
            claimed.insert(*key);
            out.insert(i, (*key).to_owned());
        }
    }
    out
}

/// What a tree scan decides for a site it found again. The code is the record for what the
/// spec can read from it (a current direction means fixed; a legacy one, a regression, needs
/// fixing), but people's decisions in between (fix proposed, awaiting an owner, confirmed
/// safe) stay, and a site the scan cannot classify keeps whatever decided it before.
pub(super) fn scan_decision(
    old: &Existing,
    s: &SiteInput,
    facts: &MatchFacts<'_>,
    verdicts: &[LoadedVerdict],
) -> Option<Decision> {
    let reason = s.reason.as_deref();
    match s.status {
        Some(Status::Fixed) if !matches!(old.status, Status::Fixed | Status::ConfirmedSafe) => {
            Some(decide(s.status, reason, facts, verdicts))
        }
        Some(Status::Fixed) => None,
        Some(st) if st != Status::Unreviewed => {
            let human = old.decided_by == DecidedBy::Site
                && matches!(
                    old.status,
                    Status::FixProposed
                        | Status::AwaitingOwner
                        | Status::NeedsPin
                        | Status::ConfirmedSafe
                );
            (!human || old.status == Status::Gone)
                .then(|| decide(s.status, reason, facts, verdicts))
        }
        // No classification: a site that came back is decided afresh; others keep theirs,
        // verdict groups still apply.
        _ if old.status == Status::Gone || old.decided_by != DecidedBy::Site => {
            Some(decide(None, reason, facts, verdicts))
        }
        _ => None,
    }
}

/// Whether a scan of `scope` (path prefixes; empty: the whole tree) covered `file`.
pub(super) fn in_scope(scope: &[String], file: &str) -> bool {
    scope.is_empty()
        || scope
            .iter()
            .any(|p| file == p || file.starts_with(&format!("{}/", p.trim_end_matches('/'))))
}

/// The stored sites a scan of `scope` did not find (`unmentioned`) that are not gone yet:
/// their keys, by file and line.
pub(super) fn gone_after_scan(
    unmentioned: &HashMap<String, Existing>,
    scope: &[String],
) -> Vec<String> {
    let mut gone: Vec<(&String, &Existing)> = unmentioned
        .iter()
        .filter(|(_, e)| e.status != Status::Gone && in_scope(scope, &e.file))
        .collect();
    gone.sort_by(|(ka, a), (kb, b)| (&a.file, a.line, ka).cmp(&(&b.file, b.line, kb)));
    gone.into_iter().map(|(k, _)| k.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::VerdictMatch;
    use crate::model::SourcePath;

    fn spec(file: &str, line: u32, code: &str) -> SiteInput {
        SiteInput {
            file: SourcePath::parse(file).unwrap(),
            line,
            column: None,
            function: Some("f".into()),
            callee: "iov_iter_kvec".into(),
            code: code.into(),
            iter_kind: IterKind::Kvec,
            direction: Some("READ".into()),
            status: None,
            reason: None,
            status_date: None,
            subsystem: None,
            notes: Vec::new(),
            refs: Vec::new(),
            context: None,
            all_subsystems: Vec::new(),
        }
    }

    fn stored(s: &SiteInput, status: Status, decided_by: DecidedBy) -> Existing {
        Existing {
            id: SiteId(1),
            file: s.file.as_str().to_owned(),
            function: s.function.clone(),
            callee: s.callee.clone(),
            code: s.code.clone(),
            context: None,
            context_start: None,
            line: i64::from(s.line),
            col: None,
            iter_kind: s.iter_kind,
            direction: s.direction.clone(),
            subsystem_id: None,
            status,
            decided_by,
            verdict_id: None,
            reason: String::new(),
        }
    }

    fn needs_pin_for_kvec() -> Vec<LoadedVerdict> {
        let m = VerdictMatch {
            callee: Some("iov_iter_kvec".into()),
            ..VerdictMatch::default()
        };
        vec![LoadedVerdict {
            id: VerdictId(7),
            matcher: m.compile().unwrap(),
            status: Status::NeedsPin,
            reason: "kvec group".into(),
            date: None,
        }]
    }

    #[test]
    fn a_sites_own_status_beats_verdict_groups_which_beat_the_default() {
        let s = spec("fs/a.c", 10, "iov_iter_kvec(&i, READ, v, 1, n)");
        let v = needs_pin_for_kvec();
        let own = decide(Some(Status::Fixed), Some("done"), &s.facts(), &v);
        assert_eq!(
            (own.status, own.decided_by),
            (Status::Fixed, DecidedBy::Site)
        );
        let grouped = decide(Some(Status::Unreviewed), None, &s.facts(), &v);
        assert_eq!(grouped.verdict_id, Some(VerdictId(7)));
        assert_eq!(grouped.status, Status::NeedsPin);
        let default = decide(None, Some("why"), &s.facts(), &[]);
        assert_eq!(
            (default.status, default.decided_by, default.reason.as_str()),
            (Status::Unreviewed, DecidedBy::Default, "why")
        );
    }

    #[test]
    fn a_reimport_without_a_status_keeps_a_persons_decision() {
        let s = spec("fs/a.c", 10, "iov_iter_kvec(&i, READ, v, 1, n)");
        let old = stored(&s, Status::ConfirmedSafe, DecidedBy::Site);
        assert_eq!(redecide(&old, &s, &needs_pin_for_kvec(), false), None);
        let mut stated = s.clone();
        stated.status = Some(Status::NeedsFix);
        let d = redecide(&old, &stated, &[], false).unwrap();
        assert_eq!(d.status, Status::NeedsFix);
    }

    #[test]
    fn a_scan_marks_fixed_but_keeps_people_decisions_in_between() {
        let mut s = spec("fs/a.c", 10, "iov_iter_kvec(&i, ITER_DEST, v, 1, n)");
        s.status = Some(Status::Fixed);
        let open = stored(&s, Status::NeedsFix, DecidedBy::Site);
        assert_eq!(
            scan_decision(&open, &s, &s.facts(), &[]).map(|d| d.status),
            Some(Status::Fixed)
        );
        s.status = Some(Status::NeedsFix);
        let proposed = stored(&s, Status::FixProposed, DecidedBy::Site);
        assert_eq!(scan_decision(&proposed, &s, &s.facts(), &[]), None);
        let came_back = stored(&s, Status::Gone, DecidedBy::Site);
        assert_eq!(
            scan_decision(&came_back, &s, &s.facts(), &[]).map(|d| d.status),
            Some(Status::NeedsFix)
        );
    }

    #[test]
    fn a_sparser_reimport_is_no_edit_and_a_moved_call_is() {
        let s = spec("fs/a.c", 10, "iov_iter_kvec(&i, READ, v, 1, n)");
        let old = stored(&s, Status::Unreviewed, DecidedBy::Default);
        let mut sparse = s.clone();
        sparse.direction = None;
        sparse.code = String::new();
        assert_eq!(site_update(&old, &sparse, "id", None, false), None);
        let mut moved = s.clone();
        moved.line = 12;
        let u = site_update(&old, &moved, "id", None, false).unwrap();
        assert_eq!((u.line, u.direction.as_deref()), (12, Some("READ")));
    }

    #[test]
    fn identities_count_equal_calls_in_line_order() {
        let a = spec("fs/a.c", 20, "iov_iter_kvec(&i, READ, v, 1, n)");
        let b = spec("fs/a.c", 10, "iov_iter_kvec(&i,  READ, v, 1, n)");
        let ids = identities(&[a, b]);
        assert_ne!(ids[0], ids[1]);
        let again = identities(&[spec("fs/a.c", 11, "iov_iter_kvec(&i, READ, v, 1, n)")]);
        assert_eq!(
            again[0], ids[1],
            "the first call keeps its identity when lines drift"
        );
    }

    #[test]
    fn a_scanned_call_matches_a_stored_cut_off_entry_near_its_old_line() {
        let full = "iov_iter_kvec(&iter, READ, &vec, 1, len)";
        let mut cut = spec("fs/a.c", 100, &full[..20]);
        cut.function = None;
        let existing: HashMap<String, Existing> = [(
            "old".to_owned(),
            stored(&cut, Status::NeedsPin, DecidedBy::Site),
        )]
        .into();
        let near = spec("fs/a.c", 120, full);
        let far = spec("fs/a.c", 300, full);
        let ids = identities(std::slice::from_ref(&near));
        assert_eq!(
            nearby_matches(&[near], &ids, &existing)
                .get(&0)
                .map(String::as_str),
            Some("old")
        );
        assert!(nearby_matches(&[far], &ids, &existing).is_empty());
    }

    #[test]
    fn a_scan_of_a_folder_leaves_sites_outside_it_alone() {
        let scope = vec!["fs/".to_owned()];
        assert!(in_scope(&scope, "fs/a.c"));
        assert!(!in_scope(&scope, "fsx/a.c"));
        assert!(in_scope(&[], "anything.c"));
        let s = spec("drivers/x.c", 1, "c");
        let unmentioned: HashMap<String, Existing> = [
            (
                "in".to_owned(),
                stored(&spec("fs/b.c", 1, "c"), Status::NeedsFix, DecidedBy::Site),
            ),
            (
                "out".to_owned(),
                stored(&s, Status::NeedsFix, DecidedBy::Site),
            ),
            (
                "gone".to_owned(),
                stored(&spec("fs/c.c", 1, "c"), Status::Gone, DecidedBy::Site),
            ),
        ]
        .into();
        assert_eq!(gone_after_scan(&unmentioned, &scope), vec!["in".to_owned()]);
    }
}
