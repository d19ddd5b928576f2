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

/// The mail part of a site or subsystem page (`_messages.html`).
#[derive(Default)]
pub struct MailView {
    /// Threads with a strong link to the page's sites (a patch, a `file:line`), first.
    pub messages: Vec<MessageView>,
    /// Threads that only name a function or a callee: folded under a count.
    pub weak: Vec<MessageView>,
    /// How many messages of [`MailView::weak`] are linked themselves (not just replies).
    pub weak_linked: usize,
    pub trailers: Vec<TrailerView>,
    pub answers: Vec<AnswerView>,
}

impl MailView {
    /// The mail part from thread entries, trailers and pending answers.
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
        // Whole threads move together: a thread is strong when one of its messages is.
        let mut threads: Vec<(bool, Vec<treewide_core::mail::ThreadEntry>)> = Vec::new();
        for e in entries {
            if e.depth == 0 || threads.is_empty() {
                threads.push((false, Vec::new()));
            }
            let t = threads.last_mut().expect("pushed above");
            t.0 |= e.links.iter().any(|l| l.is_strong());
            t.1.push(e);
        }
        let (strong, weak): (Vec<_>, Vec<_>) = threads.into_iter().partition(|(s, _)| *s);
        let weak: Vec<treewide_core::mail::ThreadEntry> =
            weak.into_iter().flat_map(|(_, t)| t).collect();
        let weak_linked = weak.iter().filter(|e| !e.links.is_empty()).count();
        let view = |e: treewide_core::mail::ThreadEntry| MessageView {
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
        };
        MailView {
            messages: strong.into_iter().flat_map(|(_, t)| t).map(view).collect(),
            weak: weak.into_iter().map(view).collect(),
            weak_linked,
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
    fn threads_linked_only_by_name_are_folded_after_strong_ones() {
        let view = MailView::new(
            vec![
                entry("named", 0, &[LinkHow::Function]),
                entry("named-reply", 1, &[]),
                entry("patch", 0, &[LinkHow::Patch]),
                entry("patch-reply", 1, &[LinkHow::CalleeFile]),
                entry("also-named", 0, &[LinkHow::CalleeFile]),
            ],
            Vec::new(),
            Vec::new(),
        );
        let subjects = |v: &[MessageView]| v.iter().map(|m| m.subject.clone()).collect::<Vec<_>>();
        assert_eq!(subjects(&view.messages), ["patch", "patch-reply"]);
        assert_eq!(subjects(&view.weak), ["named", "named-reply", "also-named"]);
        assert_eq!(view.weak_linked, 2);
    }
}
