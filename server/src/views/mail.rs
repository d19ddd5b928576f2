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
    pub messages: Vec<MessageView>,
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
