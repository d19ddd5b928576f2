//! Where a site's fix is: posted (a patch on a list) → applied to a maintainer's tree (a
//! maintainer's "Applied" reply, or a fixing commit on a maintainer branch) → linux-next →
//! mainline → a stable backport. Worked out from what imports stored: the proposed fixes
//! (`mail::proposed_fixes`) and the site's commits (`history::for_site`).

use serde::Serialize;
use sqlx::SqlitePool;

use crate::history::SiteCommit;
use crate::mail::ProposedFix;
use crate::model::{CampaignId, CommitRole};
use crate::Result;

/// A fix stage, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Posted,
    Applied,
    Next,
    Mainline,
    Stable,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Posted,
        Stage::Applied,
        Stage::Next,
        Stage::Mainline,
        Stage::Stable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Posted => "posted",
            Stage::Applied => "applied",
            Stage::Next => "next",
            Stage::Mainline => "mainline",
            Stage::Stable => "stable",
        }
    }

    /// The stage named `s` (as [`Stage::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// As pages say it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Posted => "posted",
            Stage::Applied => "in a maintainer tree",
            Stage::Next => "in linux-next",
            Stage::Mainline => "in mainline",
            Stage::Stable => "backported to stable",
        }
    }
}

/// What the branch a fixing commit was reached from says of its stage: `master`/`main` (or no
/// branch: HEAD of a mainline clone) is mainline, and so are `linux-6.1.y`-style and `stable`
/// branches (they hold mainline's history; a backport on them is told by the upstream commit
/// it names, [`commit_stage`]); a branch naming `next` is linux-next; anything else is a
/// maintainer's tree. [`COMMIT_STAGE_SQL`] says the same in SQL.
pub fn branch_stage(branch: Option<&str>) -> Stage {
    let Some(b) = branch.map(|b| b.trim_start_matches("refs/heads/")) else {
        return Stage::Mainline;
    };
    let l = b.to_ascii_lowercase();
    let stable = (l.starts_with("linux-") && l.ends_with(".y")) || l.contains("stable");
    if l == "master" || l == "main" || l == "head" || stable {
        Stage::Mainline
    } else if l.contains("next") {
        Stage::Next
    } else {
        Stage::Applied
    }
}

/// The stage a fixing commit shows: a backport (it names its upstream commit) is stable,
/// anything else is where its branch is ([`branch_stage`]).
pub fn commit_stage(branch: Option<&str>, upstream: Option<&str>) -> Stage {
    if upstream.is_some() {
        Stage::Stable
    } else {
        branch_stage(branch)
    }
}

/// [`commit_stage`] over columns `c.branch` and `c.upstream_oid`, as a stage number (0
/// posted … 4 stable).
pub const COMMIT_STAGE_SQL: &str = "CASE
    WHEN c.upstream_oid IS NOT NULL THEN 4
    WHEN c.branch IS NULL THEN 3
    WHEN lower(replace(c.branch, 'refs/heads/', '')) IN ('master', 'main', 'head') THEN 3
    WHEN (lower(replace(c.branch, 'refs/heads/', '')) LIKE 'linux-%.y') OR lower(c.branch) LIKE '%stable%' THEN 3
    WHEN lower(c.branch) LIKE '%next%' THEN 2
    ELSE 1 END";

/// One step of a site's stage line.
#[derive(Debug, Clone, Serialize)]
pub struct StageStep {
    pub stage: Stage,
    pub reached: bool,
    pub date: Option<String>,
    /// What shows it: a patch subject, "applied to for-6.5/block by …", a commit subject.
    pub what: Option<String>,
    pub url: Option<String>,
}

/// The five steps of a site's fix, from its proposed fixes and commits; a later stage
/// reached implies the earlier ones even when nothing was imported for them.
pub fn steps(fixes: &[ProposedFix], commits: &[SiteCommit]) -> Vec<StageStep> {
    let mut steps: Vec<StageStep> = Stage::ALL
        .iter()
        .map(|s| StageStep {
            stage: *s,
            reached: false,
            date: None,
            what: None,
            url: None,
        })
        .collect();
    let mut mark = |stage: Stage, date: Option<&str>, what: String, url: Option<String>| {
        let s = &mut steps[stage as usize];
        // The earliest evidence of each stage.
        if !s.reached || (date.is_some() && s.date.as_deref().is_none_or(|d| Some(d) > date)) {
            s.reached = true;
            s.date = date.map(str::to_owned);
            s.what = Some(what);
            s.url = url;
        }
    };
    for f in fixes {
        mark(
            Stage::Posted,
            f.current.date.as_deref(),
            f.current.subject.clone(),
            Some(crate::mail::lore_url(&f.current.message_id)),
        );
        if let Some(a) = &f.applied {
            let to = a
                .tree
                .as_deref()
                .map(|t| format!(" to {t}"))
                .unwrap_or_default();
            mark(
                Stage::Applied,
                a.date.as_deref(),
                format!("applied{to} by {}", a.by),
                Some(crate::mail::lore_url(&a.message_id)),
            );
        }
    }
    let commit_url = |oid: &str, url: &Option<String>| {
        url.clone()
            .unwrap_or_else(|| format!("https://git.kernel.org/torvalds/c/{oid}"))
    };
    for c in commits.iter().filter(|c| c.role == CommitRole::Fix) {
        let stage = commit_stage(c.commit.branch.as_deref(), c.commit.upstream_oid.as_deref());
        mark(
            stage,
            Some(&c.commit.commit_date),
            c.commit.subject.clone(),
            Some(commit_url(&c.commit.oid, &c.commit.url)),
        );
        for b in &c.backports {
            mark(
                Stage::Stable,
                Some(&b.commit_date),
                format!(
                    "{} ({})",
                    b.subject,
                    b.branch.as_deref().unwrap_or("stable")
                ),
                Some(commit_url(&b.oid, &b.url)),
            );
        }
    }
    // A later stage implies the earlier ones.
    if let Some(last) = steps.iter().rposition(|s| s.reached) {
        for s in &mut steps[..last] {
            s.reached = true;
        }
    }
    steps
}

/// The furthest stage reached, if any.
pub fn current(steps: &[StageStep]) -> Option<Stage> {
    steps.iter().rev().find(|s| s.reached).map(|s| s.stage)
}

/// The statement behind [`counts`] (public for the query plan test). Commits drive the
/// joins to sites (`CROSS JOIN` keeps SQLite from walking every site of the campaign to
/// look for commits).
pub fn counts_sql() -> String {
    format!(
        "{} SELECT stage, count(*) FROM (SELECT site, max(stage) AS stage FROM per_site GROUP BY site)
         GROUP BY stage",
        per_site_sql("?1")
    )
}

/// The `WITH per_site AS (…)` clause: (site, stage number) for every piece of evidence of
/// campaign `campaign` (an SQL expression: a parameter, or a literal id).
fn per_site_sql(campaign: &str) -> String {
    format!(
        "WITH per_site AS (
           SELECT r.site_id AS site, 0 AS stage FROM refs r
             WHERE r.campaign_id = {campaign} AND r.kind = 'message' AND r.site_id IS NOT NULL
           UNION ALL
           SELECT r.site_id, 1 FROM refs r
             JOIN messages p ON p.message_id = r.target
             JOIN messages n ON n.thread_root = p.thread_root AND n.applied IS NOT NULL
                            AND (n.in_reply_to = p.message_id OR n.in_reply_to = p.in_reply_to)
             JOIN sites s ON s.id = r.site_id
             WHERE r.campaign_id = {campaign} AND r.kind = 'message'
               AND EXISTS (SELECT 1 FROM subsystem_people sp
                           WHERE sp.email = n.from_email AND sp.role = 'maintainer'
                             AND (sp.subsystem_id = s.subsystem_id OR sp.subsystem_id IN
                                  (SELECT subsystem_id FROM site_subsystems WHERE site_id = s.id)))
           UNION ALL
           SELECT sc.site_id, {COMMIT_STAGE_SQL} FROM site_commits sc
             CROSS JOIN sites s ON s.id = sc.site_id JOIN commits c ON c.id = sc.commit_id
             WHERE s.campaign_id = {campaign} AND sc.role = 'fix'
           UNION ALL
           SELECT sc.site_id, 4 FROM site_commits sc
             CROSS JOIN sites s ON s.id = sc.site_id JOIN commits c ON c.id = sc.commit_id
             WHERE s.campaign_id = {campaign} AND sc.role = 'fix'
               AND EXISTS (SELECT 1 FROM commits b WHERE b.upstream_oid = c.oid)
         )"
    )
}

/// A subquery of the ids of campaign `campaign`'s sites whose furthest stage is `stage`
/// (the site list's stage filter; the same evidence as [`counts`]).
pub fn sites_at_sql(campaign: CampaignId, stage: Stage) -> String {
    format!(
        "{} SELECT site FROM per_site GROUP BY site HAVING max(stage) = {}",
        per_site_sql(&campaign.0.to_string()),
        stage as i64
    )
}

/// Sites of a campaign per furthest stage (posted … stable), for the campaign page. Counted
/// in SQL from the same evidence as [`steps`]: a proposed fix is posted; a maintainer's
/// applied note replying to it (or to its cover letter) is applied; fixing commits count by
/// their branch ([`COMMIT_STAGE_SQL`]), and their backports as stable.
pub async fn counts(db: &SqlitePool, campaign: CampaignId) -> Result<[i64; 5]> {
    let sql = counts_sql();
    let rows: Vec<(i64, i64)> = sqlx::query_as(&sql).bind(campaign).fetch_all(db).await?;
    let mut out = [0; 5];
    for (stage, n) in rows {
        if let Some(slot) = usize::try_from(stage).ok().and_then(|i| out.get_mut(i)) {
            *slot = n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_say_where_a_fix_is() {
        for (b, s) in [
            (None, Stage::Mainline),
            (Some("master"), Stage::Mainline),
            (Some("refs/heads/main"), Stage::Mainline),
            (Some("linux-6.1.y"), Stage::Mainline),
            (Some("stable-queue"), Stage::Mainline),
            (Some("for-next"), Stage::Next),
            (Some("akpm-next"), Stage::Next),
            (Some("for-6.5/block"), Stage::Applied),
            (Some("6.4/scsi-queue"), Stage::Applied),
        ] {
            assert_eq!(branch_stage(b), s, "{b:?}");
        }
    }

    fn commit(oid: &str, branch: &str, date: &str) -> crate::history::CommitInfo {
        crate::history::CommitInfo {
            oid: oid.repeat(40 / oid.len()),
            author_name: String::new(),
            author_email: String::new(),
            author_date: date.into(),
            commit_date: date.into(),
            subject: format!("block: convert ({branch})"),
            subject_tag: None,
            upstream_oid: None,
            branch: Some(branch.into()),
            url: None,
        }
    }

    #[test]
    fn a_fix_walks_from_a_maintainer_tree_to_stable() {
        let fix = |c| SiteCommit {
            role: CommitRole::Fix,
            file: "block/blk-map.c".into(),
            line: Some(296),
            old_code: None,
            new_code: None,
            commit: c,
            backports: Vec::new(),
            upstream_missing: None,
        };
        let mut mainline = fix(commit("b", "master", "2023-06-26T00:00:00Z"));
        mainline.backports = vec![commit("c", "linux-6.1.y", "2023-07-10T00:00:00Z")];
        let steps = steps(
            &[],
            &[
                fix(commit("a", "for-6.5/splice", "2023-05-24T00:00:00Z")),
                mainline,
            ],
        );
        let reached: Vec<bool> = steps.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [true; 5], "later stages imply earlier ones");
        assert_eq!(steps[1].date.as_deref(), Some("2023-05-24T00:00:00Z"));
        assert_eq!(steps[2].date, None, "linux-next was not imported");
        assert_eq!(
            steps[4].what.as_deref(),
            Some("block: convert (linux-6.1.y) (linux-6.1.y)")
        );
        assert_eq!(current(&steps), Some(Stage::Stable));
        assert_eq!(current(&super::steps(&[], &[])), None);
    }

    #[tokio::test]
    async fn the_sql_reads_branches_as_the_rust_does() {
        let db = crate::db::open_memory().await.unwrap();
        for b in [
            None,
            Some("master"),
            Some("refs/heads/main"),
            Some("HEAD"),
            Some("linux-6.1.y"),
            Some("refs/heads/linux-5.15.y"),
            Some("stable-queue"),
            Some("for-next"),
            Some("for-6.5/block"),
            Some("vfs.rw"),
        ] {
            for up in [None, Some("abc")] {
                let sql = format!(
                    "SELECT {COMMIT_STAGE_SQL} FROM (SELECT ?1 AS branch, ?2 AS upstream_oid) c"
                );
                let n: i64 = sqlx::query_scalar(&sql)
                    .bind(b)
                    .bind(up)
                    .fetch_one(&db)
                    .await
                    .unwrap();
                assert_eq!(n, commit_stage(b, up) as i64, "{b:?} {up:?}");
            }
        }
    }
}
