//! The mail part of the site and subsystem pages (`_messages.html`): threads, review
//! trailers and owners' answers waiting for review.

use super::enc;

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

/// One version of a proposed patch.
pub struct VersionView {
    /// "v21", or "v1" for a patch without a version.
    pub label: String,
    pub subject: String,
    pub lore_url: String,
    pub date: String,
}

/// A patch proposed as the site's fix: its newest version, the superseded ones, and whether
/// a maintainer applied it.
pub struct FixView {
    pub current: VersionView,
    pub author: String,
    pub superseded: Vec<VersionView>,
    /// "applied to 7.1/scsi-queue by Martin K. Petersen on 2026-05-02", with the note's link.
    pub applied: Option<(String, String)>,
}

impl FixView {
    fn new(f: treewide_core::mail::ProposedFix) -> FixView {
        let version = |v: treewide_core::mail::PatchVersion| VersionView {
            label: format!("v{}", v.version),
            lore_url: treewide_core::mail::lore_url(&v.message_id),
            date: day(v.date.as_deref()),
            subject: v.subject,
        };
        FixView {
            applied: f.applied.map(|a| {
                let to = a.tree.map(|t| format!(" to {t}")).unwrap_or_default();
                (
                    format!("applied{to} by {} on {}", a.by, day(a.date.as_deref())),
                    treewide_core::mail::lore_url(&a.message_id),
                )
            }),
            current: version(f.current),
            author: f.author,
            superseded: f.superseded.into_iter().rev().map(version).collect(),
        }
    }
}

/// The day of a stored time (`2023-01-10T…` → `2023-01-10`).
fn day(t: Option<&str>) -> String {
    t.map(|d| d.get(..10).unwrap_or(d).to_owned())
        .unwrap_or_default()
}

/// The mail part of a site or subsystem page (`_messages.html`).
#[derive(Default)]
pub struct MailView {
    /// Patches proposed as the fix, newest version each (site pages).
    pub fixes: Vec<FixView>,
    /// The page's threads with a strong link to the page's sites (a patch, a `file:line`).
    pub messages: Vec<MessageView>,
    /// Strong threads in all, and the 1-based range of them shown.
    pub strong_threads: usize,
    pub shown: (usize, usize),
    /// Links to the newer and older pages of strong threads.
    pub newer: Option<String>,
    pub older: Option<String>,
    /// The first threads that only name a function or a callee: folded under a count.
    pub weak: Vec<MessageView>,
    /// Weak threads in all, and how many of their messages are linked themselves.
    pub weak_threads: usize,
    pub weak_linked: usize,
    /// Weak threads shown.
    pub weak_shown: usize,
    pub trailers: Vec<TrailerView>,
    pub answers: Vec<AnswerView>,
}

impl MailView {
    /// The mail part from the page `page` of linked threads (`href` is the page's own URL,
    /// for the paging links), proposed fixes, trailers and pending answers.
    pub fn new(
        threads: treewide_core::mail::LinkedThreads,
        page: treewide_core::mail::ThreadPage,
        href: &str,
        fixes: Vec<treewide_core::mail::ProposedFix>,
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
        let view = |e: treewide_core::mail::ThreadEntry| MessageView {
            lore_url: e.head.lore_url(),
            api_url: format!("/api/v1/messages/{}", enc(&e.head.message_id)),
            from: person(&e.head.from_name, &e.head.from_email),
            date: day(e.head.date.as_deref()),
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
        };
        let (offset, limit) = (page.offset as usize, page.limit as usize);
        let shown_threads = threads
            .strong
            .iter()
            .filter(|e| e.depth == 0)
            .count()
            .min(threads.strong_threads.saturating_sub(offset));
        let page_href = |o: usize| {
            let sep = if href.contains('?') { '&' } else { '?' };
            if o == 0 {
                format!("{href}#mail")
            } else {
                format!("{href}{sep}threads={o}#mail")
            }
        };
        MailView {
            fixes: fixes.into_iter().map(FixView::new).collect(),
            strong_threads: threads.strong_threads,
            shown: (
                (offset + 1).min(threads.strong_threads),
                (offset + limit).min(threads.strong_threads),
            ),
            newer: (offset > 0).then(|| page_href(offset.saturating_sub(limit))),
            older: (offset + limit < threads.strong_threads && shown_threads > 0)
                .then(|| page_href(offset + limit)),
            messages: threads.strong.into_iter().map(view).collect(),
            weak_shown: threads.weak.iter().filter(|e| e.depth == 0).count(),
            weak: threads.weak.into_iter().map(view).collect(),
            weak_threads: threads.weak_threads,
            weak_linked: threads.weak_linked,
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

#[cfg(test)]
mod tests {
    use super::*;
    use treewide_core::mail::{LinkHow, MessageHead, ThreadEntry};

    fn entry(id: &str, depth: u32, links: &[LinkHow]) -> ThreadEntry {
        ThreadEntry {
            head: MessageHead {
                message_id: id.into(),
                subject: id.into(),
                from_name: String::new(),
                from_email: "a@b.org".into(),
                date: None,
                list: None,
                in_reply_to: None,
                has_diff: false,
                patch_prefix: None,
                subject_tag: None,
                thread_root: id.into(),
            },
            depth,
            links: links.to_vec(),
        }
    }

    #[test]
    fn strong_threads_page_and_weak_ones_fold() {
        let threads = treewide_core::mail::LinkedThreads {
            strong: vec![
                entry("patch", 0, &[LinkHow::Patch]),
                entry("patch-reply", 1, &[LinkHow::CalleeFile]),
            ],
            strong_threads: 45,
            weak: vec![entry("named", 0, &[LinkHow::Function])],
            weak_threads: 7,
            weak_linked: 9,
        };
        let page = treewide_core::mail::ThreadPage {
            offset: 20,
            limit: 20,
            weak_limit: 10,
        };
        let view = MailView::new(
            threads,
            page,
            "/c/x/site/3",
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let subjects = |v: &[MessageView]| v.iter().map(|m| m.subject.clone()).collect::<Vec<_>>();
        assert_eq!(subjects(&view.messages), ["patch", "patch-reply"]);
        assert_eq!(view.shown, (21, 40));
        assert_eq!(view.newer.as_deref(), Some("/c/x/site/3#mail"));
        assert_eq!(view.older.as_deref(), Some("/c/x/site/3?threads=40#mail"));
        assert_eq!(subjects(&view.weak), ["named"]);
        assert_eq!((view.weak_threads, view.weak_linked), (7, 9));
    }
}
