//! One site: [`SiteDetail`] reads everything about it in one place, for the site page
//! ([`SitePage`]) and the API's site answers alike.

use askama::Template;
use askama_web::WebTemplate;
use percent_encoding::utf8_percent_encode;
use serde_json::json;
use treewide_core::campaigns::{self, Campaign};
use treewide_core::claims::{self, Claim};
use treewide_core::events::{self, Event};
use treewide_core::history::{self, SiteCommit};
use treewide_core::mail::{
    self, LinkedThreads, MailScope, PendingAnswer, ProposedFix, ThreadEntry, ThreadPage, Trailer,
};
use treewide_core::model::{CampaignId, CommitRole, SiteId, Status};
use treewide_core::notes::{self, Note};
use treewide_core::proposals::{self, Proposal, ProposalState};
use treewide_core::refs::{self, Reference};
use treewide_core::routing::{self, SiteRouting};
use treewide_core::sites::{self, FirstSeen, Site};
use treewide_core::tree_links::{self, FileAtTag};
use treewide_core::SqlitePool;

use super::mail::MailView;
use super::{
    enc, CampaignHead, Chrome, CommitLink, EventView, NoteView, RefView, SiteRow, PATH_SAFE,
};

/// A site's mail: a page of its threads, the patches proposed as its fix (with their versions),
/// the trailers on them, owners' answers pending review.
pub struct SiteMail {
    pub threads: LinkedThreads,
    pub page: ThreadPage,
    pub fixes: Vec<ProposedFix>,
    pub trailers: Vec<Trailer>,
    pub answers: Vec<PendingAnswer>,
}

impl SiteMail {
    /// Read the mail of `site` (of `campaign`), the strong threads of `page`.
    pub async fn load(
        db: &SqlitePool,
        campaign: CampaignId,
        site: SiteId,
        page: ThreadPage,
    ) -> treewide_core::Result<SiteMail> {
        Ok(SiteMail {
            threads: mail::threads_for(db, MailScope::Site(site), page).await?,
            page,
            fixes: mail::proposed_fixes(db, site).await?,
            trailers: mail::trailers_for_site(db, site).await?,
            answers: mail::pending_answers(db, campaign, Some(site), None).await?,
        })
    }

    /// The threads as the API gives them: strong threads of the page and the first weak ones,
    /// each message with its depth, links and lore URL, and the totals.
    pub fn thread_json(&self) -> serde_json::Value {
        let entries = |es: &[ThreadEntry]| -> Vec<serde_json::Value> {
            es.iter()
                .map(|e| {
                    let url = e.head.lore_url();
                    json!({ "message": e.head, "depth": e.depth, "links": e.links, "lore_url": url })
                })
                .collect()
        };
        let t = &self.threads;
        json!({
            "strong": entries(&t.strong),
            "strong_threads": t.strong_threads,
            "offset": self.page.offset,
            "limit": self.page.limit,
            "weak": entries(&t.weak),
            "weak_threads": t.weak_threads,
            "weak_linked": t.weak_linked,
        })
    }
}

/// Everything about one site, read once for the site page and `GET /api/v1/sites/{id}`.
pub struct SiteDetail {
    pub campaign: Campaign,
    pub site: Site,
    /// Every subsystem of the file (name, slug), primary first.
    pub subsystems: Vec<(String, String)>,
    /// Why the file has these owners, and whose sign-off counts.
    pub owners: SiteRouting,
    /// Source lines around the call from the last scan, and the first one's number.
    pub context: Option<(String, i64)>,
    pub notes: Vec<Note>,
    pub refs: Vec<Reference>,
    pub events: Vec<Event>,
    pub first_seen: Option<FirstSeen>,
    /// Commits that fixed, changed, moved or removed the call, oldest first.
    pub commits: Vec<SiteCommit>,
    pub mail: SiteMail,
    /// Status changes asked for by people who may not make them, open ones first.
    pub proposals: Vec<Proposal>,
    /// Live claims on the site (its own and its subsystem's).
    pub claims: Vec<Claim>,
    /// Where its fix is: posted → applied → linux-next → mainline → stable.
    pub stages: Vec<treewide_core::stages::StageStep>,
    /// How the site's file is at the release tag its links name.
    pub at_tag: FileAtTag,
}

impl SiteDetail {
    /// Read site `id` and all that belongs to it (its mail threads of `page`); NotFound when
    /// there is no such site.
    pub async fn load(
        db: &SqlitePool,
        id: SiteId,
        page: ThreadPage,
    ) -> treewide_core::Result<SiteDetail> {
        let site = sites::get(db, id).await?;
        let campaign = campaigns::meta(db, &site.campaign).await?;
        let commits = history::for_site(db, id).await?;
        let mail = SiteMail::load(db, campaign.id, id, page).await?;
        Ok(SiteDetail {
            stages: treewide_core::stages::steps(&mail.fixes, &commits),
            commits,
            mail,
            subsystems: sites::subsystems(db, id).await?,
            owners: routing::for_site(db, id).await?,
            context: sites::context(db, id).await?,
            notes: notes::for_site(db, id).await?,
            refs: refs::for_site(db, id).await?,
            events: events::for_site(db, id).await?,
            first_seen: sites::first_seen(db, id).await?,
            proposals: proposals::for_site(db, id).await?,
            claims: claims::for_site(db, id).await?,
            at_tag: tree_links::file_at_tag(db, campaign.id, &site.file).await?,
            campaign,
            site,
        })
    }
}

/// One entry of a site's history in git: what the commit did, and where the fix went.
pub struct SiteCommitView {
    /// `fix`, `change`, `move` or `gone`, for the CSS class.
    pub role: &'static str,
    /// "fixed by", or "fixed in mainline by" when backports follow.
    pub verb: String,
    pub commit: CommitLink,
    /// Stable backports of the commit.
    pub backports: Vec<CommitLink>,
    /// For a backport whose mainline commit was not imported: the id it names (shortened)
    /// and its page.
    pub upstream: Option<(String, String)>,
    /// "at file:line" the commit left the call at ("to" for a move, "from" for a removal).
    pub place: Option<String>,
    pub old_code: Option<String>,
    pub new_code: Option<String>,
}

impl SiteCommitView {
    /// What `sc` did, in words.
    pub fn new(sc: SiteCommit) -> SiteCommitView {
        let verb = match sc.role {
            CommitRole::Fix => "fixed",
            CommitRole::Change => "changed",
            CommitRole::Move => "moved",
            CommitRole::Gone => "removed",
        };
        let verb = if sc.backports.is_empty() {
            format!("{verb} by")
        } else {
            format!("{verb} in mainline by")
        };
        let near = match sc.role {
            CommitRole::Move => "to",
            CommitRole::Gone => "from",
            CommitRole::Fix | CommitRole::Change => "at",
        };
        let place = match (sc.file.is_empty(), sc.line) {
            (true, _) => None,
            (false, Some(l)) => Some(format!("{near} {}:{l}", sc.file)),
            (false, None) => Some(format!("{near} {}", sc.file)),
        };
        SiteCommitView {
            role: sc.role.as_str(),
            verb,
            commit: CommitLink::new(&sc.commit),
            backports: sc.backports.iter().map(CommitLink::new).collect(),
            // The mainline commit was not imported, so only its id is known: link it where
            // mainline commits live.
            upstream: sc.upstream_missing.map(|u| {
                (
                    u.chars().take(12).collect(),
                    format!("https://git.kernel.org/torvalds/c/{}", enc(&u)),
                )
            }),
            place,
            old_code: sc.old_code,
            new_code: sc.new_code,
        }
    }
}

/// One MAINTAINERS section of the site's file, as the "Why these owners" box shows it.
pub struct OwnerSection {
    /// 1 for the primary section.
    pub place: i64,
    pub name: String,
    pub href: String,
    pub status: String,
    /// The match depth, or how the section matched without one.
    pub depth: String,
    /// Orphan, obsolete, tie, no maintainers.
    pub flags: Vec<&'static str>,
    pub signs: bool,
    pub matched: Vec<String>,
    pub maintainers: Vec<String>,
    pub reviewers: Vec<String>,
    pub lists: Vec<String>,
}

/// Why a site's file has its owners: the box on the site page.
pub struct OwnersView {
    /// Whose sign-off the campaign takes, in words.
    pub scope: &'static str,
    pub sections: Vec<OwnerSection>,
    /// (section, its matched lines, the X: lines), one line each.
    pub excluded: Vec<(String, String, String)>,
    /// The scan recorded which lines matched (false for imported sites and rows from before).
    pub recorded: bool,
}

impl OwnersView {
    /// The box for `r`, linking sections with `href(slug)`.
    pub fn new(r: SiteRouting, href: impl Fn(&str) -> String) -> OwnersView {
        let recorded = r.sections.iter().any(|s| !s.matched.is_empty());
        OwnersView {
            scope: r.scope.describe(),
            sections: r
                .sections
                .into_iter()
                .map(|s| {
                    let mut flags = Vec::new();
                    if s.is_orphan() {
                        flags.push("orphan");
                    }
                    if s.is_obsolete() {
                        flags.push("obsolete");
                    }
                    if s.tied {
                        flags.push("tie");
                    }
                    if s.maintainers.is_empty() && s.reviewers.is_empty() {
                        flags.push("no maintainers");
                    }
                    let depth = match (s.depth, s.matched.iter().any(|l| l.starts_with("K:"))) {
                        (Some(d), _) => d.to_string(),
                        (None, true) => "keyword".into(),
                        (None, false) => "?".into(),
                    };
                    OwnerSection {
                        place: s.rank + 1,
                        href: href(&s.slug),
                        name: s.name,
                        status: s.status.unwrap_or_default(),
                        depth,
                        flags,
                        signs: s.signs,
                        matched: s.matched,
                        maintainers: s.maintainers,
                        reviewers: s.reviewers,
                        lists: s.lists,
                    }
                })
                .collect(),
            excluded: r
                .excluded
                .into_iter()
                .map(|x| {
                    (
                        x.section,
                        x.matched.replace('\n', ", "),
                        x.excluded_by.replace('\n', ", "),
                    )
                })
                .collect(),
            recorded,
        }
    }
}

/// The site page.
#[derive(Template, WebTemplate)]
#[template(path = "site.html")]
pub struct SitePage {
    pub chrome: Chrome,
    pub c: CampaignHead,
    pub site: SiteRow,
    pub column: Option<i64>,
    pub subsystem: Option<(String, String)>,
    pub reason: String,
    /// The file at the campaign's tree, where a link can land (see [`SitePage::source_url`]).
    pub source_url: Option<String>,
    /// Why there is no line in `source_url`, or no link at all.
    pub source_gap: Option<String>,
    pub notes: Vec<NoteView>,
    pub refs: Vec<RefView>,
    pub events: Vec<EventView>,
    pub first_seen: Option<FirstSeen>,
    /// Numbered source lines around the call (from the last scan); `true` marks the call's line.
    pub context: Vec<(i64, String, bool)>,
    /// Every subsystem of the file (name, href), primary first.
    pub all_subsystems: Vec<(String, String)>,
    /// Why these owners: the file's sections, what matched, who signs off.
    pub owners: OwnersView,
    /// Subsystems a question may be addressed to: (slug, name).
    pub ask_choices: Vec<(String, String)>,
    /// Mail about the site: threads, trailers, answers pending review.
    pub mail: MailView,
    /// Commits that fixed, changed, moved or removed the call, oldest first.
    pub commits: Vec<SiteCommitView>,
    /// Who set the current status, when and through what ("by Christoph Hellwig on
    /// 2022-09-21 (web)"), from the last status event.
    pub decision: Option<String>,
    pub proposals: Vec<ProposalView>,
    /// The viewer may sign off here (and decide proposals).
    pub may_decide: bool,
    /// The proposal the viewer's change just became (`?proposed=N`).
    pub just_proposed: Option<i64>,
    /// Live claims: (who, what, until, claim id, the viewer holds it).
    pub claims: Vec<(String, String, String, i64, bool)>,
    /// The fix's stage line; empty when no fix is known.
    pub stages: Vec<treewide_core::stages::StageStep>,
}

/// A proposal as the site page shows it.
pub struct ProposalView {
    pub id: i64,
    pub open: bool,
    pub from: &'static str,
    pub to: &'static str,
    pub to_code: &'static str,
    pub reason: String,
    pub author: String,
    pub at: String,
    /// "accepted by X on DATE: why", for decided ones.
    pub outcome: Option<String>,
}

impl ProposalView {
    pub fn new(p: Proposal) -> ProposalView {
        let state = match p.state {
            ProposalState::Open => None,
            ProposalState::Accepted => Some("accepted"),
            ProposalState::Rejected => Some("rejected"),
            ProposalState::Withdrawn => Some("withdrawn"),
            ProposalState::Superseded => Some("superseded"),
        };
        ProposalView {
            id: p.id,
            open: p.state == ProposalState::Open,
            from: p.from.label(),
            to: p.to.label(),
            to_code: p.to.as_str(),
            author: p.author,
            at: p.created_at.get(..10).unwrap_or(&p.created_at).to_owned(),
            outcome: state.map(|w| {
                let by = p.decided_by.unwrap_or_default();
                let on = p
                    .decided_at
                    .as_deref()
                    .map(|d| d.get(..10).unwrap_or(d).to_owned())
                    .unwrap_or_default();
                match p.decision_reason.filter(|r| !r.is_empty()) {
                    Some(r) => format!("{w} by {by} on {on}: {r}"),
                    None => format!("{w} by {by} on {on}"),
                }
            }),
            reason: p.reason,
        }
    }
}

impl SitePage {
    /// The page of a site, in the frame `chrome`.
    pub fn new(d: SiteDetail, chrome: Chrome) -> SitePage {
        let claims = d
            .claims
            .into_iter()
            .map(|k| {
                let what = match k.subsystem {
                    Some(s) => format!("all of {s}"),
                    None => "this site".to_owned(),
                };
                let mine = chrome.viewer.as_deref() == Some(k.who.as_str());
                let until = k.expires_at.get(..10).unwrap_or(&k.expires_at).to_owned();
                (k.who, what, until, k.id, mine)
            })
            .collect();
        let c = &d.campaign;
        let s = d.site;
        let mut ask_choices: Vec<(String, String)> = d
            .subsystems
            .iter()
            .map(|(n, slug)| (slug.clone(), n.clone()))
            .collect();
        if let (true, Some(n), Some(slug)) =
            (ask_choices.is_empty(), &s.subsystem, &s.subsystem_slug)
        {
            ask_choices.push((slug.clone(), n.clone()));
        }
        let subsystem_href = |slug: &str| format!("/c/{}/s/{}", enc(&c.slug), enc(slug));
        SitePage {
            mail: MailView::new(
                d.mail.threads,
                d.mail.page,
                &chrome.here,
                d.mail.fixes,
                d.mail.trailers,
                d.mail.answers,
            ),
            chrome,
            context: SitePage::context_lines(d.context, s.line),
            owners: OwnersView::new(d.owners, subsystem_href),
            all_subsystems: d
                .subsystems
                .into_iter()
                .map(|(n, slug)| (n, subsystem_href(&slug)))
                .collect(),
            ask_choices,
            source_url: SitePage::source_url(c, &s.file, Some(s.line), d.at_tag),
            source_gap: SitePage::source_gap(c, d.at_tag),
            column: s.column,
            subsystem: s
                .subsystem
                .clone()
                .zip(s.subsystem_slug.clone())
                .map(|(n, slug)| (n, subsystem_href(&slug))),
            reason: s.reason.clone(),
            site: SiteRow::new(s),
            notes: NoteView::threaded(d.notes, &c.slug),
            refs: d.refs.into_iter().map(RefView::new).collect(),
            decision: d
                .events
                .iter()
                .rev()
                .find(|e| e.kind == treewide_core::model::EventKind::Status)
                .map(|e| {
                    format!(
                        "set by {} on {} ({})",
                        e.actor,
                        e.at.get(..10).unwrap_or(&e.at),
                        e.source.as_str()
                    )
                }),
            proposals: d.proposals.into_iter().map(ProposalView::new).collect(),
            stages: if d.stages.iter().any(|s| s.reached) {
                d.stages
            } else {
                Vec::new()
            },
            claims,
            may_decide: false,
            just_proposed: None,
            events: d.events.into_iter().map(EventView::new).collect(),
            first_seen: d.first_seen,
            commits: d.commits.into_iter().map(SiteCommitView::new).collect(),
            c: CampaignHead::new(c),
        }
    }

    /// Number the context lines and mark the site's.
    pub fn context_lines(context: Option<(String, i64)>, line: i64) -> Vec<(i64, String, bool)> {
        context
            .map(|(text, start)| {
                text.lines()
                    .enumerate()
                    .map(|(i, l)| {
                        (
                            start + i as i64,
                            l.replace('\t', "        "),
                            start + i as i64 == line,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl SitePage {
    /// Link to the file (at `line`) at the campaign's tree version on elixir.bootlin.com, or
    /// in the campaign's own tree browser. None where elixir's tag does not have the file; no
    /// line where the tag's file differs from the one the positions come from.
    pub fn source_url(
        c: &Campaign,
        file: &str,
        line: Option<i64>,
        at: FileAtTag,
    ) -> Option<String> {
        let path = utf8_percent_encode(file, PATH_SAFE);
        let anchor = |ok: bool| match line {
            Some(l) if ok => format!("#L{l}"),
            _ => String::new(),
        };
        match &c.tree_url {
            // The campaign's own browser shows the tree the positions come from.
            Some(base) => Some(format!(
                "{}/{path}{}",
                base.trim_end_matches('/'),
                anchor(true)
            )),
            None => {
                // elixir serves release tags, not commits: the tree's tag, else the latest
                // release.
                let version = c.version_tag().unwrap_or_else(|| "latest".into());
                (at != FileAtTag::Absent).then(|| {
                    format!(
                        "https://elixir.bootlin.com/linux/{}/source/{path}{}",
                        enc(&version),
                        anchor(at == FileAtTag::Same)
                    )
                })
            }
        }
    }

    /// What the page says when the link is missing or lands on no line.
    pub fn source_gap(c: &Campaign, at: FileAtTag) -> Option<String> {
        let tag = c.version_tag()?;
        let from = c.tree_commit.as_deref().map_or_else(
            || "the scanned tree".to_owned(),
            |t| format!("commit {}", &t[..t.len().min(12)]),
        );
        match (at, &c.tree_url) {
            (_, Some(_)) | (FileAtTag::Same, _) => None,
            (FileAtTag::Absent, None) => Some(format!(
                "Not linked: the file is not in {tag}, the release elixir serves; the position is from {from}."
            )),
            (FileAtTag::Changed, None) => Some(format!(
                "The file differs in {tag} from {from}, where the position is from: the link opens the file, not the line."
            )),
        }
    }
}

/// Every status, for the status form.
pub fn status_choices() -> Vec<(&'static str, &'static str)> {
    Status::ALL
        .iter()
        .filter(|s| **s != Status::Gone)
        .map(|s| (s.as_str(), s.label()))
        .collect()
}
