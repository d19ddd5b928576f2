//! Atom feeds of a campaign's or a subsystem's events.

use askama::Template;
use treewide_core::events::{self, Event};
use treewide_core::subsystems::{self, SubsystemFilter};
use treewide_core::{campaigns, SqlitePool};

use super::{enc, EventView};

/// Events per feed.
const ENTRIES: u32 = 100;

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
    /// The feed of campaign `slug`, or of one of its subsystems (by URL slug).
    pub async fn load(
        db: &SqlitePool,
        slug: &str,
        sub: Option<&str>,
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
        let events = events::latest(db, c.id, subsystem, ENTRIES).await?;
        let updated = events
            .first()
            .map_or_else(|| c.updated_at.clone(), |(e, _)| e.at.clone());
        Ok(Feed {
            title: match &name {
                Some(n) => format!("{} — {}", c.title, n),
                None => c.title.clone(),
            },
            id: format!("tag:treewide,2026:{}", page),
            page,
            updated,
            entries: Feed::entries(&c.slug, events),
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
