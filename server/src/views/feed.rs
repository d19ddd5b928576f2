//! Atom feeds of a campaign's or a subsystem's events. Every text goes through [`xml_text`]:
//! what people type may hold characters XML 1.0 cannot carry, even escaped.

use askama::Template;
use treewide_core::events::{self, Event};
use treewide_core::model::{EventKind, NoteId};
use treewide_core::proposals::{self, Proposal};
use treewide_core::subsystems::{self, SubsystemFilter};
use treewide_core::{campaigns, notes, SqlitePool};

use super::{enc, EventView};
use crate::config::PublicUrl;

/// Events per feed.
const ENTRIES: u32 = 100;

/// One event (or proposal) as an Atom entry.
pub struct FeedEntry {
    /// Unique in the feed: `event/12`, `proposal/3`, `proposal/3/accepted`.
    pub id: String,
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
    /// The page the feed follows: absolute with a public URL, else relative (feed readers
    /// resolve it against the feed's URL).
    pub page: String,
    pub updated: String,
    pub entries: Vec<FeedEntry>,
}

impl Feed {
    /// The feed of campaign `slug`, or of one of its subsystems (by URL slug), linking to
    /// `public_url` when known.
    pub async fn load(
        db: &SqlitePool,
        slug: &str,
        sub: Option<&str>,
        public_url: Option<&PublicUrl>,
    ) -> treewide_core::Result<Feed> {
        let c = campaigns::meta(db, slug).await?;
        let (subsystem, name, page) = match sub {
            Some(s) => {
                let (f, info) = subsystems::filter(db, s).await?;
                let id = match f {
                    SubsystemFilter::Id(id) => Some(id),
                    SubsystemFilter::Unassigned => None,
                };
                let name = info.map_or_else(|| "(no subsystem)".to_owned(), |i| i.name);
                (id, Some(name), format!("/c/{}/s/{}", enc(&c.slug), enc(s)))
            }
            None => (None, None, format!("/c/{}", enc(&c.slug))),
        };
        let mut events = events::latest(db, c.id, subsystem, ENTRIES).await?;
        // Proposals get their entries from their own rows below (made and decided, with the
        // proposer's and the owner's words); their events would say it twice.
        events.retain(|(e, _)| e.kind != EventKind::Proposal);
        let updated = events
            .first()
            .map_or_else(|| c.updated_at.clone(), |(e, _)| e.at.clone());
        let link = |path: &str| public_url.map_or_else(|| path.to_owned(), |u| u.join(path));
        // Answers carry their text in their note, not in the event.
        let mut answers = std::collections::HashMap::new();
        for (e, _) in &events {
            if e.kind == EventKind::Question && e.new.as_deref() == Some("answered") {
                if let Ok(q) = e.reason.parse::<i64>() {
                    if let Some(text) = notes::answer_text(db, NoteId(q), &e.actor).await? {
                        answers.insert(format!("event/{}", e.id.0), text);
                    }
                }
            }
        }
        let mut entries = Feed::entries(&c.slug, events);
        for e in &mut entries {
            if let Some(text) = answers.remove(&e.id) {
                e.text = xml_text(&format!("{} — {text}", e.text));
            }
        }
        // Proposals are not in the event log: each is an entry when made and one more when
        // decided, newest first with the events, as many as a feed holds.
        let proposals = proposals::latest(db, c.id, subsystem, ENTRIES).await?;
        entries.extend(proposals.iter().flat_map(|p| proposal_entries(&c.slug, p)));
        entries.sort_by(|a, b| b.at.cmp(&a.at));
        entries.truncate(ENTRIES as usize);
        for e in &mut entries {
            e.href = e.href.as_deref().map(link);
        }
        Ok(Feed {
            title: xml_text(&match &name {
                Some(n) => format!("{} — {}", c.title, n),
                None => c.title.clone(),
            }),
            // The id stays the same whatever URL the server is reached at.
            id: format!("tag:treewide,2026:{}", page),
            page: link(&page),
            // The newest entry may be a proposal.
            updated: entries
                .first()
                .map_or(updated.clone(), |e| e.at.clone().max(updated)),
            entries,
        })
    }

    /// The events (each with its site's label) as entries.
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
                    id: format!("event/{}", e.id.0),
                    title: xml_text(&title),
                    at: e.at,
                    actor: xml_text(&e.actor),
                    href,
                    text: xml_text(&if view.reason.is_empty() {
                        view.what
                    } else {
                        format!("{} — {}", view.what, view.reason)
                    }),
                }
            })
            .collect()
    }
}

/// A proposal as feed entries: made, and decided when it was (accepted, rejected, withdrawn,
/// superseded), each with its reason.
fn proposal_entries(campaign: &str, p: &Proposal) -> Vec<FeedEntry> {
    let href = Some(format!("/c/{}/site/{}", enc(campaign), p.site));
    let what = format!(
        "{}:{}: proposal #{} {} → {}",
        p.file,
        p.line,
        p.id,
        p.from.as_str(),
        p.to.as_str()
    );
    let mut out = vec![FeedEntry {
        id: format!("proposal/{}", p.id),
        title: xml_text(&format!("{what} by {}", p.author)),
        at: p.created_at.clone(),
        actor: xml_text(&p.author),
        href: href.clone(),
        text: xml_text(&if p.reason.is_empty() {
            format!("{what}; waits for an owner")
        } else {
            format!("{what}; waits for an owner — {}", p.reason)
        }),
    }];
    if let (Some(at), Some(by)) = (&p.decided_at, &p.decided_by) {
        let state = p.state.as_str();
        out.push(FeedEntry {
            id: format!("proposal/{}/{state}", p.id),
            title: xml_text(&format!("{what} {state} by {by}")),
            at: at.clone(),
            actor: xml_text(by),
            href,
            text: xml_text(
                &match p.decision_reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => format!("{what} {state} — {r}"),
                    None => format!("{what} {state}"),
                },
            ),
        });
    }
    out
}

/// `s` with every character XML 1.0 does not allow (C0 controls other than tab, newline and
/// carriage return; U+FFFE, U+FFFF) replaced by U+FFFD: escaping cannot carry them, and one
/// would make the whole feed unreadable.
pub fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_a_feed_cannot_carry_is_replaced() {
        assert_eq!(
            xml_text("a\u{1}b\u{0}c\u{1b}[0m"),
            "a\u{fffd}b\u{fffd}c\u{fffd}[0m"
        );
        assert_eq!(xml_text("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
        assert_eq!(
            xml_text("\u{fffe}\u{ffff}\u{10000}é"),
            "\u{fffd}\u{fffd}\u{10000}é"
        );
        assert_eq!(
            xml_text("<&> stay for the escaper"),
            "<&> stay for the escaper"
        );
    }
}
