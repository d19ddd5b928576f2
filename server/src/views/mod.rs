//! View models: what each template shows, built from core values. The pieces several pages
//! share are here; each page's own model (and the assembler that reads it) is in its module.

pub mod account;
pub mod campaign;
pub mod chart;
#[cfg(test)]
mod contrast;
pub mod export;
pub mod feed;
pub mod home;
pub mod mail;
pub mod me;
pub mod site;
pub mod sites;
pub mod subsystem;

use askama::Template;
use askama_web::WebTemplate;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use treewide_core::campaigns::Campaign;
use treewide_core::counts::StatusCounts;
use treewide_core::events::Event;
use treewide_core::history::CommitInfo;
use treewide_core::model::DecidedBy;
use treewide_core::notes::Note;
use treewide_core::refs::Reference;
use treewide_core::sites::Site;
use treewide_core::verdicts::Verdict;

/// Characters kept as they are in URL path segments and query values.
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
pub(crate) const PATH_SAFE: &AsciiSet = &URL_SAFE.remove(b'/');

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
    /// Names of the subsystems whose MAINTAINERS entry lists the viewer (M:/R:): pages mark
    /// them and offer their questions' answer forms.
    pub speaks_for: Vec<String>,
}

impl Chrome {
    /// Whether the viewer answers for subsystem `name` (listed in it, or an admin).
    pub fn answers_for(&self, name: &str) -> bool {
        self.viewer.is_some() && (self.is_admin || self.speaks_for.iter().any(|s| s == name))
    }
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
    /// The bar of `c`.
    pub fn new(c: &StatusCounts) -> Progress {
        let total = c.total();
        let mut at = 0;
        Progress {
            segments: c
                .segments()
                .into_iter()
                .map(|(s, n, _)| {
                    let seg = Segment {
                        status: s.as_str(),
                        label: s.label(),
                        count: n,
                        offset: percent(at, total, 3),
                        width: percent(n, total, 3),
                    };
                    at += n;
                    seg
                })
                .collect(),
            done: c.done(),
            total,
            percent: percent(c.done(), total, 0),
        }
    }
}

/// `n` of `total` in percent with `decimals` (0 or 3) decimals, rounded half to even as
/// `format!("{:.3}", …)` rounds, "0" of nothing. Integer arithmetic: formatting floats was a
/// twentieth of the campaign page's time (a bar of 4 segments a row, 200 rows).
fn percent(n: u64, total: u64, decimals: u32) -> String {
    if total == 0 {
        return if decimals == 0 {
            "0".into()
        } else {
            "0.000".into()
        };
    }
    let scale = 10u128.pow(decimals);
    let (num, den) = (u128::from(n) * 100 * scale, u128::from(total));
    let (mut q, r) = (num / den, num % den);
    if 2 * r > den || (2 * r == den && q % 2 == 1) {
        q += 1;
    }
    if decimals == 0 {
        q.to_string()
    } else {
        format!("{}.{:0w$}", q / scale, q % scale, w = decimals as usize)
    }
}

#[cfg(test)]
mod percent_tests {
    use super::percent;

    #[test]
    fn percents_read_as_float_formatting_writes_them() {
        for (n, total) in [
            (0, 1),
            (1, 3),
            (2, 3),
            (1, 8),
            (254, 500),
            (131, 500),
            (1, 200),
            (3, 200),
            (15, 37),
            (99_999, 100_000),
            (7, 7),
        ] {
            let f = n as f64 * 100.0 / total as f64;
            assert_eq!(percent(n, total, 3), format!("{f:.3}"), "{n}/{total}");
            assert_eq!(percent(n, total, 0), format!("{f:.0}"), "{n}/{total}");
        }
        assert_eq!(percent(0, 0, 0), "0");
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
    /// Whose sign-off the campaign takes: `specific` or `any_section`, and in words.
    pub signoff_scope: &'static str,
    pub signoff: &'static str,
}

impl CampaignHead {
    /// The head of `c`.
    pub fn new(c: &Campaign) -> CampaignHead {
        CampaignHead {
            slug: c.slug.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            rule: c.rule.clone(),
            tree: c.tree_describe.clone(),
            progress: Progress::new(&c.counts),
            open_questions: c.open_questions,
            signoff_scope: c.signoff_scope.as_str(),
            signoff: c.signoff_scope.describe(),
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
    /// The group `v`, with the number of sites it decided when counted.
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
    /// Answers to this question, shown under it.
    pub answers: Vec<NoteView>,
    /// For an answer whose question is not in the list: the question's id.
    pub answers_question: Option<i64>,
}

impl NoteView {
    /// The note `n` of `campaign`.
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
            answers: Vec::new(),
            answers_question: n.answers.map(|q| q.0),
            author: n.author,
            body: n.body,
            about: n.about,
        }
    }

    /// The notes of a list with each answer under its question (answers whose question is
    /// not in the list stay in place, saying what they answer).
    pub fn threaded(notes: Vec<Note>, campaign: &str) -> Vec<NoteView> {
        let mut out: Vec<NoteView> = Vec::with_capacity(notes.len());
        let ids: std::collections::HashSet<i64> = notes.iter().map(|n| n.id.0).collect();
        let mut answers: Vec<NoteView> = Vec::new();
        for n in notes {
            let v = NoteView::new(n, campaign);
            match v.answers_question {
                Some(q) if ids.contains(&q) => answers.push(v),
                _ => out.push(v),
            }
        }
        for a in answers {
            let q = a.answers_question;
            if let Some(parent) = out.iter_mut().find(|n| Some(n.id) == q) {
                parent.answers.push(a);
            }
        }
        out
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
    /// The reference `r`.
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
    /// The row of `s` (without its fix).
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

/// A logged event as the history shows it.
pub struct EventView {
    /// When it was recorded ([`when`]).
    pub at: String,
    /// When it happened, when that is known and not when it was recorded (an auditor's date,
    /// a commit's, a mail's).
    pub happened: Option<String>,
    pub actor: String,
    pub source: String,
    pub what: String,
    pub reason: String,
}

impl EventView {
    /// The event `e` in words.
    pub fn new(e: Event) -> EventView {
        use treewide_core::model::EventKind;
        let what = match e.kind {
            EventKind::Status => format!(
                "status {} → {}",
                e.old.as_deref().unwrap_or("?"),
                e.new.as_deref().unwrap_or("?")
            ),
            EventKind::Note => "note added".into(),
            EventKind::Question => match (e.old.as_deref(), e.new.as_deref()) {
                (Some("open"), Some("answered")) => format!("question #{} answered", e.reason),
                (Some("open"), Some("answered_pending_review")) => {
                    "question answered by mail (pending review)".into()
                }
                _ => "question asked".into(),
            },
            EventKind::Ref => format!("reference {}", e.new.as_deref().unwrap_or("")),
            EventKind::Verdicts => "verdict groups replaced".into(),
            EventKind::Import => format!("imported {}", e.new.as_deref().unwrap_or("")),
            EventKind::Scope => format!(
                "sign-off scope {} → {}",
                e.old.as_deref().unwrap_or("?"),
                e.new.as_deref().unwrap_or("?")
            ),
            EventKind::Proposal => match (e.old.as_deref(), e.new.as_deref()) {
                (Some("open"), Some(end)) => format!("proposal {end}"),
                (from, to) => format!("proposed {} → {}", from.unwrap_or("?"), to.unwrap_or("?")),
            },
        };
        EventView {
            at: when(&e.at),
            happened: e.occurred_at.as_deref().map(when),
            actor: e.actor,
            source: match e.source_ref {
                Some(r) => format!("{} ({r})", e.source.as_str()),
                None => e.source.as_str().to_owned(),
            },
            // A note's or question's text is what it says; an answer's is in its note.
            reason: match e.kind {
                EventKind::Note | EventKind::Question if e.old.is_none() => {
                    e.new.unwrap_or(e.reason)
                }
                EventKind::Question if e.new.as_deref() == Some("answered") => String::new(),
                _ => e.reason,
            },
            what,
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
    /// The link to `c`.
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

/// An error as a page.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub title: String,
    pub message: String,
    /// What the refused form held, shown back.
    pub kept: Option<crate::error::Kept>,
}

/// A stored time (RFC 3339) as every page shows a moment: `2022-09-20 05:02 UTC`. A date
/// alone stays a date (`2022-12-25`); text that is neither is shown as it is.
pub fn when(at: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(at, &Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => at.to_owned(),
    }
}

#[cfg(test)]
mod when_tests {
    use super::when;

    #[test]
    fn one_format_for_every_stored_time() {
        assert_eq!(when("2022-09-20T06:02:11+01:00"), "2022-09-20 05:02 UTC");
        assert_eq!(when("2026-11-28T10:00:00.123456Z"), "2026-11-28 10:00 UTC");
        assert_eq!(when("2022-12-25"), "2022-12-25");
        assert_eq!(when("soon"), "soon");
    }
}
