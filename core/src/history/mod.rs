//! History: the commits that fixed, changed, moved or removed call sites, stable backports,
//! and how far each repository has been read. The importer works out what each commit did to
//! which site (from a local repository or from GitHub); [`store`] writes it in one
//! transaction, and [`query`] answers the pages' questions (a site's commits, the campaign's
//! burndown).
//!
//! `subject` reads commit subjects, `backports` and `burndown` are the pure rules the
//! queries apply to what they read.

mod backports;
mod burndown;
pub mod query;
mod store;
mod subject;

use serde::Serialize;

use crate::imports::ImportKind;
use crate::model::{CampaignId, CommitRole, ImportId, SiteId, Status};

pub use burndown::BurndownPoint;
pub use query::*;
pub use store::store;
pub use subject::{patch_title, split_mail_subject, subject_tag};

/// A commit as the importer read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full hex object id.
    pub oid: String,
    pub author_name: String,
    pub author_email: String,
    /// RFC 3339 UTC.
    pub author_date: String,
    pub commit_date: String,
    pub subject: String,
    /// `vhost` of `[vhost] …` or `vhost: …`.
    pub subject_tag: Option<String>,
    /// For a stable backport: the mainline commit its message names.
    pub upstream_oid: Option<String>,
    /// The branch the import reached it from.
    pub branch: Option<String>,
    /// Its web page, when the source has one (GitHub).
    pub url: Option<String>,
}

impl CommitInfo {
    /// Abbreviated id, as in `git log --oneline`.
    pub fn short(&self) -> &str {
        &self.oid[..self.oid.len().min(12)]
    }

    /// Where the commit is on the web: the source's page, else git.kernel.org (stable for a
    /// backport, Linus's tree otherwise).
    pub fn web_url(&self) -> String {
        if let Some(u) = &self.url {
            return u.clone();
        }
        if self.upstream_oid.is_some() {
            format!("https://git.kernel.org/stable/c/{}", self.oid)
        } else {
            format!("https://git.kernel.org/torvalds/c/{}", self.oid)
        }
    }
}

/// What one commit did to one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteLink {
    pub site: SiteId,
    pub commit: String,
    pub role: CommitRole,
    /// The site's file after the commit (before it, for [`CommitRole::Gone`]).
    pub file: String,
    pub line: Option<u32>,
    pub old_code: Option<String>,
    pub new_code: Option<String>,
}

/// Where a site is at the tip the import read up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub site: SiteId,
    pub identity: String,
    pub file: String,
    pub line: u32,
    pub col: Option<u32>,
    pub function: Option<String>,
    pub code: String,
    pub direction: Option<String>,
    /// Source lines around the call and the number of the first.
    pub context: Option<(String, u32)>,
}

impl Position {
    /// Whether the site is stored where this position puts it (a position without context
    /// leaves the stored context alone).
    fn is_at(&self, stored: &StoredPlace) -> bool {
        stored.file == self.file
            && stored.line == i64::from(self.line)
            && stored.col == self.col.map(i64::from)
            && stored.function == self.function
            && stored.code == self.code
            && stored.direction == self.direction
            && self.context.as_ref().is_none_or(|(c, s)| {
                stored.context.as_deref() == Some(c) && stored.context_start == Some(i64::from(*s))
            })
    }
}

/// Where a site is stored, as a position is compared with it.
struct StoredPlace {
    identity: String,
    file: String,
    line: i64,
    col: Option<i64>,
    function: Option<String>,
    code: String,
    direction: Option<String>,
    context: Option<String>,
    context_start: Option<i64>,
}

/// A status the history establishes: fixed by a commit, or gone with one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFromHistory {
    pub site: SiteId,
    pub to: Status,
    pub reason: String,
    /// The commit that did it, when one is known.
    pub commit: Option<String>,
}

/// How far one branch of one repository has been read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cursor {
    /// Canonical path of a local repository, or `github:OWNER/NAME`.
    pub repo: String,
    pub ref_name: String,
    pub last_commit: String,
}

/// Where the history came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistorySource {
    Git,
    GitHub,
}

impl HistorySource {
    /// The kind of import reading this source is, for the import log.
    fn import_kind(self) -> ImportKind {
        match self {
            HistorySource::Git => ImportKind::Git,
            HistorySource::GitHub => ImportKind::GitHub,
        }
    }
}

/// Everything one history import stores.
#[derive(Debug, Clone)]
pub struct HistoryBatch {
    pub campaign: CampaignId,
    pub source: HistorySource,
    /// Shown in the import record and events: `git /src/linux (master)`.
    pub name: String,
    pub actor: String,
    /// The commit positions are at; becomes the campaign's tree commit when positions moved.
    pub tip: Option<String>,
    /// What `tip` is, as `git describe --tags` says it (`v6.7-rc1-12-g1a2b3c4d5e6f`), or
    /// what the source calls it: becomes the campaign's tree description when positions
    /// moved, so that links go to the release tag the positions derive from.
    pub tip_describe: Option<String>,
    /// Site files that differ at the release tag `tip_describe` names from the files at
    /// `tip` (none when the tip is the tag, or the source knows no tags).
    pub files_at_tag: Vec<(String, crate::tree_links::FileAtTag)>,
    pub commits: Vec<CommitInfo>,
    pub links: Vec<SiteLink>,
    pub positions: Vec<Position>,
    pub statuses: Vec<StatusFromHistory>,
    pub cursors: Vec<Cursor>,
    /// Web pages about linked commits (GitHub pull requests), stored as the sites' `url` refs.
    pub pages: Vec<SitePage>,
    /// Stored commits this read found on a branch further along (a maintainer's fix now
    /// reachable from mainline): (commit id, branch).
    pub promotions: Vec<(String, String)>,
}

/// A web page about a site's commit, e.g. the pull request that merged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePage {
    pub site: SiteId,
    pub url: String,
    pub title: String,
    pub author: Option<String>,
    /// RFC 3339.
    pub date: Option<String>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistorySummary {
    pub import_id: Option<ImportId>,
    pub commits_new: u64,
    pub links_new: u64,
    /// Pages (pull requests) newly recorded as site refs.
    pub pages_new: u64,
    /// Sites whose position (file, line, code) changed.
    pub moved: u64,
    /// `file:line` of sites that became fixed / gone.
    pub fixed: Vec<String>,
    pub gone: Vec<String>,
    /// `file:line` of fixed sites reopened because their code is in the legacy form again
    /// (a revert or a re-introduction).
    pub reopened: Vec<String>,
}

impl HistorySummary {
    /// True when the import changed nothing (and so nothing was written).
    pub fn is_noop(&self) -> bool {
        self.import_id.is_none()
    }
}

/// A site as the history importer needs it.
#[derive(Debug, Clone)]
pub struct TrackedSite {
    pub id: SiteId,
    pub identity: String,
    pub file: String,
    pub line: i64,
    pub function: Option<String>,
    pub callee: String,
    pub code: String,
    pub status: Status,
}

/// One commit of a site's history, with the stable backports of it that were imported.
#[derive(Debug, Clone, Serialize)]
pub struct SiteCommit {
    pub role: CommitRole,
    pub file: String,
    pub line: Option<i64>,
    pub old_code: Option<String>,
    pub new_code: Option<String>,
    pub commit: CommitInfo,
    /// Backports of this commit (commits naming it as their upstream).
    pub backports: Vec<CommitInfo>,
    /// For a backport whose mainline commit was not imported: that commit's id.
    pub upstream_missing: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_without_context_keeps_the_stored_one_and_a_new_line_moves_the_site() {
        let p = Position {
            site: SiteId(1),
            identity: "i".into(),
            file: "fs/a.c".into(),
            line: 10,
            col: None,
            function: Some("f".into()),
            code: "iov_iter_kvec(&i, READ, v, 1, n)".into(),
            direction: Some("READ".into()),
            context: None,
        };
        let stored = StoredPlace {
            identity: "i".into(),
            file: "fs/a.c".into(),
            line: 10,
            col: None,
            function: Some("f".into()),
            code: p.code.clone(),
            direction: p.direction.clone(),
            context: Some("ctx".into()),
            context_start: Some(8),
        };
        assert!(p.is_at(&stored));
        let later = Position { line: 11, ..p };
        assert!(!later.is_at(&stored));
    }
}
