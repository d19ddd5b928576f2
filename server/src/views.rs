//! Page models: what each template shows, built from core values.

use askama::Template;
use askama_web::WebTemplate;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use treewide_core::campaigns::Campaign;
use treewide_core::counts::StatusCounts;
use treewide_core::events::Event;
use treewide_core::history::{CommitInfo, SiteCommit};
use treewide_core::model::{CommitRole, DecidedBy, Status};
use treewide_core::notes::Note;
use treewide_core::refs::Reference;
use treewide_core::sites::{FirstSeen, Site};
use treewide_core::subsystems::{Subsystem, SubsystemProgress};
use treewide_core::verdicts::Verdict;

/// Characters kept as they are in URL path segments and query values.
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const PATH_SAFE: &AsciiSet = &URL_SAFE.remove(b'/');

/// Percent-encode a query value or path segment.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, URL_SAFE).to_string()
}

/// What every page's frame needs: who is logged in, and the CSRF token for its forms.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// `Name <email>` of the logged-in user.
    pub viewer: Option<String>,
    pub is_admin: bool,
    pub csrf: String,
    /// This page's path, for "log in and come back".
    pub here: String,
}

/// One coloured segment of a progress bar.
pub struct Segment {
    pub status: &'static str,
    pub label: &'static str,
    pub count: u64,
    /// Where the segment starts and how wide it is, in percent of the bar (SVG units: the
    /// Content-Security-Policy forbids inline styles).
    pub offset: String,
    pub width: String,
}

/// A stacked progress bar with its summary.
pub struct Progress {
    pub segments: Vec<Segment>,
    pub done: u64,
    pub total: u64,
    pub percent: String,
}

impl Progress {
    pub fn new(c: &StatusCounts) -> Progress {
        Progress {
            segments: c
                .segments()
                .into_iter()
                .scan(0.0_f64, |at, (s, n, w)| {
                    let seg = Segment {
                        status: s.as_str(),
                        label: s.label(),
                        count: n,
                        offset: format!("{:.3}", *at),
                        width: format!("{w:.3}"),
                    };
                    *at += w;
                    Some(seg)
                })
                .collect(),
            done: c.done(),
            total: c.total(),
            percent: format!("{:.0}", c.percent_done()),
        }
    }
}

/// A status as a filter choice or table column.
pub struct StatusChoice {
    pub status: &'static str,
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// The campaign as headers show it.
pub struct CampaignHead {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub rule: String,
    pub tree: Option<String>,
    pub progress: Progress,
    pub open_questions: u64,
}

impl CampaignHead {
    pub fn new(c: &Campaign) -> CampaignHead {
        CampaignHead {
            slug: c.slug.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            rule: c.rule.clone(),
            tree: c.tree_describe.clone(),
            progress: Progress::new(&c.counts),
            open_questions: c.open_questions,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
pub struct IndexPage {
    pub chrome: Chrome,
    pub campaigns: Vec<CampaignHead>,
}

/// One row of the per-subsystem table.
pub struct SubsystemRow {
    pub name: String,
    pub href: String,
    pub counts: Vec<u64>,
    pub progress: Progress,
    pub open_questions: u64,
}

/// A sortable column header.
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// "▲", "▼" or "".
    pub arrow: &'static str,
    pub title: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign.html")]
pub struct CampaignPage {
    pub chrome: Chrome,
    pub c: CampaignHead,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<SubsystemRow>,
    pub filters: Vec<StatusChoice>,
    pub filter_label: Option<&'static str>,
    pub filter_code: Option<&'static str>,
    pub all_href: String,
    pub verdicts: Vec<VerdictView>,
    pub notes: Vec<NoteView>,
    pub refs: Vec<RefView>,
    pub scan: treewide_core::campaigns::ScanState,
    /// Open vs done over time; `None` when the campaign has no sites.
    pub burndown: Option<crate::chart::Burndown>,
}

/// How the campaign page sorts its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Total,
    Done,
    Questions,
    Status(Status),
}

impl SortKey {
    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "name" => SortKey::Name,
            "total" => SortKey::Total,
            "done" => SortKey::Done,
            "questions" => SortKey::Questions,
            s => SortKey::Status(s.parse().ok()?),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Total => "total",
            SortKey::Done => "done",
            SortKey::Questions => "questions",
            SortKey::Status(s) => s.as_str(),
        }
    }
}

/// How the campaign page orders and filters its table.
#[derive(Debug, Clone, Copy)]
pub struct TableOrder {
    pub sort: SortKey,
    pub desc: bool,
    /// Only subsystems with sites of this status.
    pub filter: Option<Status>,
}

impl CampaignPage {
    /// Build the page: `rows` filtered and sorted as `order` says.
    pub fn new(
        c: &Campaign,
        mut rows: Vec<SubsystemProgress>,
        order: TableOrder,
        verdicts: Vec<Verdict>,
        notes: Vec<Note>,
        refs: Vec<Reference>,
        scan: treewide_core::campaigns::ScanState,
    ) -> CampaignPage {
        let TableOrder { sort, desc, filter } = order;
        if let Some(f) = filter {
            rows.retain(|r| r.counts.get(f) > 0);
        }
        rows.sort_by(|a, b| {
            let o = match sort {
                SortKey::Name => a.name.cmp(&b.name),
                SortKey::Total => a.counts.total().cmp(&b.counts.total()),
                SortKey::Done => a.counts.percent_done().total_cmp(&b.counts.percent_done()),
                SortKey::Questions => a.open_questions.cmp(&b.open_questions),
                SortKey::Status(s) => a.counts.get(s).cmp(&b.counts.get(s)),
            };
            let o = if desc { o.reverse() } else { o };
            o.then_with(|| a.name.cmp(&b.name))
        });
        let base = format!("/c/{}", enc(&c.slug));
        let status_q = filter
            .map(|f| format!("&status={}", f.as_str()))
            .unwrap_or_default();
        let header = |key: SortKey, label: &'static str, title: &'static str| {
            let active = key == sort;
            // Numbers sort big-first on the first click; names A→Z.
            let next_desc = if active { !desc } else { key != SortKey::Name };
            SortHeader {
                label,
                title,
                href: format!(
                    "{base}?sort={}&dir={}{status_q}",
                    key.as_str(),
                    if next_desc { "desc" } else { "asc" }
                ),
                arrow: match (active, desc) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
            }
        };
        let mut headers = vec![header(SortKey::Name, "Subsystem", "sort by name")];
        for s in Status::ALL {
            headers.push(header(SortKey::Status(s), s.label(), "sort by this status"));
        }
        headers.push(header(SortKey::Total, "total", "sort by number of sites"));
        headers.push(header(SortKey::Done, "progress", "sort by share done"));
        headers.push(header(
            SortKey::Questions,
            "open questions",
            "sort by open questions",
        ));
        let sort_q = format!(
            "sort={}&dir={}",
            sort.as_str(),
            if desc { "desc" } else { "asc" }
        );
        let filters = Status::ALL
            .iter()
            .filter(|s| c.counts.get(**s) > 0)
            .map(|s| StatusChoice {
                status: s.as_str(),
                label: s.label(),
                href: format!("{base}?{sort_q}&status={}", s.as_str()),
                active: filter == Some(*s),
            })
            .collect();
        CampaignPage {
            chrome: Chrome::default(),
            c: CampaignHead::new(c),
            headers,
            rows: rows
                .into_iter()
                .map(|r| SubsystemRow {
                    href: format!("{base}/s/{}", enc(&r.slug)),
                    counts: Status::ALL.iter().map(|s| r.counts.get(*s)).collect(),
                    progress: Progress::new(&r.counts),
                    open_questions: r.open_questions,
                    name: r.name,
                })
                .collect(),
            filters,
            filter_label: filter.map(|f| f.label()),
            filter_code: filter.map(|f| f.as_str()),
            all_href: format!("{base}?{sort_q}"),
            verdicts: verdicts
                .into_iter()
                .map(|v| VerdictView::new(v, None))
                .collect(),
            notes: notes
                .into_iter()
                .map(|n| NoteView::new(n, &c.slug))
                .collect(),
            refs: refs.into_iter().map(RefView::new).collect(),
            scan,
            burndown: None,
        }
    }
}

/// A verdict group as pages show it.
pub struct VerdictView {
    pub id: i64,
    pub label: String,
    pub matches: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub reason: String,
    /// Sites of the page's scope it decided, when counted.
    pub sites: Option<u64>,
}

impl VerdictView {
    pub fn new(v: Verdict, sites: Option<u64>) -> VerdictView {
        VerdictView {
            id: v.id.0,
            matches: v.matches.describe(),
            label: v.label,
            status: v.status.as_str(),
            status_label: v.status.label(),
            reason: v.reason,
            sites,
        }
    }
}

/// A note as pages show it.
pub struct NoteView {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub date: String,
    pub about: Option<String>,
    pub site: Option<(String, String)>,
    /// (subsystem, href) of a question's addressee.
    pub ask: Option<(String, String)>,
    pub open: bool,
}

impl NoteView {
    pub fn new(n: Note, campaign: &str) -> NoteView {
        NoteView {
            id: n.id.0,
            date: n.created_at.get(..10).unwrap_or(&n.created_at).to_owned(),
            site: n
                .site_id
                .zip(n.site_label)
                .map(|(id, label)| (label, format!("/c/{}/site/{id}", enc(campaign)))),
            ask: n
                .ask
                .zip(n.ask_slug)
                .map(|(name, slug)| (name, format!("/c/{}/s/{}", enc(campaign), enc(&slug)))),
            open: n.question_state == Some(treewide_core::model::QuestionState::Open),
            author: n.author,
            body: n.body,
            about: n.about,
        }
    }
}

/// A reference as pages show it.
pub struct RefView {
    pub kind: &'static str,
    pub url: String,
    pub target: String,
    pub title: String,
    pub tag: Option<String>,
    pub author: Option<String>,
    pub date: Option<String>,
}

impl RefView {
    pub fn new(r: Reference) -> RefView {
        RefView {
            kind: match r.kind {
                treewide_core::model::RefKind::Commit => "commit",
                treewide_core::model::RefKind::Message => "mail",
                treewide_core::model::RefKind::Url => "link",
            },
            url: r.url(),
            target: match r.kind {
                treewide_core::model::RefKind::Commit => r.target.chars().take(12).collect(),
                treewide_core::model::RefKind::Message => format!("<{}>", r.target),
                treewide_core::model::RefKind::Url => r.target.clone(),
            },
            title: r.title,
            tag: r.tag,
            author: r.author,
            date: r.date.map(|d| d.get(..10).unwrap_or(&d).to_owned()),
        }
    }
}

/// A site in a table.
pub struct SiteRow {
    pub href: String,
    pub file: String,
    pub line: i64,
    pub function: String,
    pub callee: String,
    pub code: String,
    pub iter_kind: String,
    pub direction: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub decided: String,
    /// The commit that fixed it, when history has one (tables only).
    pub fix: Option<CommitLink>,
}

impl SiteRow {
    pub fn new(s: Site) -> SiteRow {
        SiteRow {
            fix: None,
            href: format!("/c/{}/site/{}", enc(&s.campaign), s.id),
            decided: decided_text(s.decided_by, s.verdict.as_deref()),
            file: s.file,
            line: s.line,
            function: s.function.unwrap_or_default(),
            callee: s.callee,
            code: s.code,
            iter_kind: s.iter_kind.to_string(),
            direction: s.direction.unwrap_or_default(),
            status: s.status.as_str(),
            status_label: s.status.label(),
        }
    }
}

fn decided_text(by: DecidedBy, verdict: Option<&str>) -> String {
    match (by, verdict) {
        (DecidedBy::Verdict, Some(v)) => format!("group: {v}"),
        (DecidedBy::Verdict, None) => "verdict group".into(),
        (DecidedBy::Site, _) => "per-site decision".into(),
        (DecidedBy::Default, _) => "no decision yet".into(),
    }
}

/// Previous/next links of a paged table.
pub struct Pager {
    pub from: u64,
    pub to: u64,
    pub total: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "subsystem.html")]
pub struct SubsystemPage {
    pub chrome: Chrome,
    pub slug: String,
    pub c: CampaignHead,
    pub name: String,
    pub info: Option<Subsystem>,
    pub progress: Progress,
    pub filters: Vec<StatusChoice>,
    pub all_href: String,
    pub filter_label: Option<&'static str>,
    pub sites: Vec<SiteRow>,
    /// Whether any listed site has a fixing commit (shows the column).
    pub has_fixes: bool,
    pub pager: Pager,
    pub verdicts: Vec<VerdictView>,
    pub notes: Vec<NoteView>,
    /// Mail about the subsystem's sites.
    pub mail: MailView,
}

/// A message in a thread listing.
pub struct MessageView {
    pub lore_url: String,
    pub api_url: String,
    pub subject: String,
    pub from: String,
    pub date: String,
    /// Tree drawing before the subject showing the depth in the thread (the CSP forbids
    /// inline styles).
    pub indent: String,
    pub patch: bool,
    /// Why it is linked ("patch, file_line"); empty for replies shown with their parent.
    pub links: String,
}

/// A review trailer as pages show it.
pub struct TrailerView {
    pub label: &'static str,
    pub person: String,
    pub lore_url: String,
    /// The subsystem it signs off for, when the person is one of its M:/R:.
    pub signoff_for: Option<String>,
}

/// An owner's answer waiting for review.
pub struct AnswerView {
    pub question: String,
    pub subsystem: String,
    pub from: String,
    pub subject: String,
    pub lore_url: String,
}

/// The mail part of a site or subsystem page (`_messages.html`).
#[derive(Default)]
pub struct MailView {
    pub messages: Vec<MessageView>,
    pub trailers: Vec<TrailerView>,
    pub answers: Vec<AnswerView>,
}

impl MailView {
    pub fn new(
        entries: Vec<treewide_core::mail::ThreadEntry>,
        trailers: Vec<treewide_core::mail::Trailer>,
        answers: Vec<treewide_core::mail::PendingAnswer>,
    ) -> MailView {
        let person = |name: &str, email: &str| {
            if name.is_empty() {
                email.to_owned()
            } else {
                format!("{name} <{email}>")
            }
        };
        MailView {
            messages: entries
                .into_iter()
                .map(|e| MessageView {
                    lore_url: e.head.lore_url(),
                    api_url: format!("/api/v1/messages/{}", enc(&e.head.message_id)),
                    from: person(&e.head.from_name, &e.head.from_email),
                    date: e
                        .head
                        .date
                        .as_deref()
                        .map(|d| d.get(..10).unwrap_or(d).to_owned())
                        .unwrap_or_default(),
                    indent: match e.depth.min(12) {
                        0 => String::new(),
                        d => format!("{}└ ", "\u{a0}\u{a0}".repeat(d as usize - 1)),
                    },
                    patch: e.head.has_diff,
                    links: e
                        .links
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    subject: e.head.subject,
                })
                .collect(),
            trailers: trailers
                .into_iter()
                .map(|t| TrailerView {
                    label: t.kind.label(),
                    person: if t.email.is_empty() {
                        t.raw.clone()
                    } else {
                        person(&t.name, &t.email)
                    },
                    lore_url: treewide_core::mail::lore_url(&t.message_id),
                    signoff_for: t.signoff_for,
                })
                .collect(),
            answers: answers
                .into_iter()
                .map(|a| AnswerView {
                    lore_url: treewide_core::mail::lore_url(&a.message_id),
                    question: a.question,
                    subsystem: a.subsystem.unwrap_or_default(),
                    from: a.from,
                    subject: a.subject,
                })
                .collect(),
        }
    }
}

/// A logged event as the history shows it.
pub struct EventView {
    pub at: String,
    pub actor: String,
    pub source: String,
    pub what: String,
    pub reason: String,
}

impl EventView {
    pub fn new(e: Event) -> EventView {
        use treewide_core::model::EventKind;
        let what = match e.kind {
            EventKind::Status => format!(
                "status {} → {}",
                e.old.as_deref().unwrap_or("?"),
                e.new.as_deref().unwrap_or("?")
            ),
            EventKind::Note => "note added".into(),
            EventKind::Question => "question asked".into(),
            EventKind::Ref => format!("reference {}", e.new.as_deref().unwrap_or("")),
            EventKind::Verdicts => "verdict groups replaced".into(),
            EventKind::Import => format!("imported {}", e.new.as_deref().unwrap_or("")),
        };
        EventView {
            at: e.at.replace('T', " ").trim_end_matches('Z').to_owned(),
            actor: e.actor,
            source: match e.source_ref {
                Some(r) => format!("{} ({r})", format!("{:?}", e.source).to_lowercase()),
                None => format!("{:?}", e.source).to_lowercase(),
            },
            what,
            reason: e.reason,
        }
    }
}

/// A commit as the site page links it.
pub struct CommitLink {
    pub short: String,
    pub url: String,
    pub subject: String,
    pub tag: Option<String>,
    pub author: String,
    /// Author date, YYYY-MM-DD.
    pub date: String,
    /// The branch the import reached it from (a stable branch, for a backport).
    pub branch: Option<String>,
}

impl CommitLink {
    pub fn new(c: &CommitInfo) -> CommitLink {
        CommitLink {
            short: c.short().to_owned(),
            url: c.web_url(),
            subject: c.subject.clone(),
            tag: c.subject_tag.clone(),
            author: c.author_name.clone(),
            date: c.author_date.get(..10).unwrap_or(&c.author_date).to_owned(),
            branch: c.branch.clone(),
        }
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

#[derive(Template, WebTemplate)]
#[template(path = "site.html")]
pub struct SitePage {
    pub chrome: Chrome,
    pub c: CampaignHead,
    pub site: SiteRow,
    pub column: Option<i64>,
    pub subsystem: Option<(String, String)>,
    pub reason: String,
    pub source_url: String,
    pub notes: Vec<NoteView>,
    pub refs: Vec<RefView>,
    pub events: Vec<EventView>,
    pub first_seen: Option<FirstSeen>,
    /// Numbered source lines around the call (from the last scan); `true` marks the call's line.
    pub context: Vec<(i64, String, bool)>,
    /// Every subsystem of the file (name, href), primary first.
    pub all_subsystems: Vec<(String, String)>,
    /// Subsystems a question may be addressed to: (slug, name).
    pub ask_choices: Vec<(String, String)>,
    /// Mail about the site: threads, trailers, answers pending review.
    pub mail: MailView,
    /// Commits that fixed, changed, moved or removed the call, oldest first.
    pub commits: Vec<SiteCommitView>,
}

impl SitePage {
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
    /// Link to the file at the campaign's tree version on elixir.bootlin.com.
    pub fn source_url(c: &Campaign, file: &str, line: i64) -> String {
        let version = c.tree_ref().unwrap_or_else(|| "latest".into());
        let path = utf8_percent_encode(file, PATH_SAFE);
        match &c.tree_url {
            Some(base) => format!("{}/{path}#L{line}", base.trim_end_matches('/')),
            None => format!(
                "https://elixir.bootlin.com/linux/{}/source/{path}#L{line}",
                enc(&version)
            ),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub title: String,
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "invite.html")]
pub struct InvitePage {
    pub chrome: Chrome,
    pub csrf: String,
    pub email: String,
    pub token: String,
    pub error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub chrome: Chrome,
    pub email: String,
    pub tokens: Vec<treewide_core::users::Token>,
    /// A token just created: shown this once.
    pub new_token: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
    pub back: String,
}

/// Every status, for the status form.
pub fn status_choices() -> Vec<(&'static str, &'static str)> {
    Status::ALL
        .iter()
        .filter(|s| **s != Status::Gone)
        .map(|s| (s.as_str(), s.label()))
        .collect()
}

/// One event as an Atom entry.
pub struct FeedEntry {
    pub id: i64,
    pub title: String,
    pub at: String,
    pub actor: String,
    pub href: Option<String>,
    pub text: String,
}

/// An Atom feed of a campaign's (or a subsystem's) events.
#[derive(Template)]
#[template(path = "feed.xml")]
pub struct Feed {
    pub title: String,
    /// A stable tag: URI for the feed.
    pub id: String,
    /// The page the feed follows (relative: feed readers resolve it against the feed URL).
    pub page: String,
    pub updated: String,
    pub entries: Vec<FeedEntry>,
}

impl Feed {
    pub fn entries(campaign: &str, events: Vec<(Event, Option<String>)>) -> Vec<FeedEntry> {
        events
            .into_iter()
            .map(|(e, site)| {
                let href = e.site_id.map(|s| format!("/c/{}/site/{s}", enc(campaign)));
                let view = EventView::new(e.clone());
                let title = match &site {
                    Some(s) => format!("{s}: {}", view.what),
                    None => view.what.clone(),
                };
                FeedEntry {
                    id: e.id.0,
                    title,
                    at: e.at,
                    actor: e.actor,
                    href,
                    text: if e.reason.is_empty() {
                        view.what
                    } else {
                        format!("{} — {}", view.what, e.reason)
                    },
                }
            })
            .collect()
    }
}
