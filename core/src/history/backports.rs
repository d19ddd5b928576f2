//! Stable backports: which mainline commit a backport belongs with, and which fix of a site
//! counts (pure; the queries hand it what they read).

use std::collections::HashMap;

use super::{CommitInfo, SiteCommit};
use crate::model::SiteId;

/// Fold a site's commits (oldest first, each with no backports yet) into what pages show: a
/// fix and its backports as one entry ("fixed in mainline by X, backported as Y"); a backport
/// whose mainline commit is not linked to the site stands alone, with the upstream id it names.
pub(super) fn fold_backports(commits: Vec<SiteCommit>) -> Vec<SiteCommit> {
    let (backports, mut out): (Vec<_>, Vec<_>) = commits
        .into_iter()
        .partition(|c| c.commit.upstream_oid.is_some());
    for b in backports {
        let upstream = b.commit.upstream_oid.clone().unwrap_or_default();
        let main = out
            .iter_mut()
            .find(|m| m.role == b.role && oid_matches(&m.commit.oid, &upstream));
        match main {
            Some(m) => m.backports.push(b.commit),
            None => out.push(SiteCommit {
                role: b.role,
                file: String::new(),
                line: None,
                old_code: None,
                new_code: None,
                commit: b.commit,
                backports: Vec::new(),
                upstream_missing: Some(upstream),
            }),
        }
    }
    out
}

/// Whether a full id and a possibly abbreviated one name the same commit.
fn oid_matches(full: &str, named: &str) -> bool {
    named.len() >= 7 && full.len() >= named.len() && full[..named.len()].eq_ignore_ascii_case(named)
}

/// The first fix per site of fixes ordered by site, mainline first.
pub(super) fn first_fix_per_site(
    fixes: impl IntoIterator<Item = (SiteId, CommitInfo)>,
) -> HashMap<SiteId, CommitInfo> {
    let mut out = HashMap::new();
    for (site, commit) in fixes {
        out.entry(site).or_insert(commit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviated_upstream_ids_match() {
        let full = "de4eda9de2d957ef2d6a8365a01e26a435e958cb";
        assert!(oid_matches(full, "de4eda9de2d9"));
        assert!(oid_matches(full, full));
        assert!(!oid_matches(full, "de4ed"));
        assert!(!oid_matches(full, "ffffffffffff"));
    }
}
