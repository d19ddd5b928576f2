//! The `/me` page: what waits for the logged-in person.

use askama::Template;
use askama_web::WebTemplate;
use treewide_core::queue::Queue;

use super::{enc, Chrome};

/// A line of the queue with its link.
pub struct QueueLine {
    pub href: String,
    pub text: String,
    pub detail: String,
}

/// `/me`.
#[derive(Template, WebTemplate)]
#[template(path = "me.html")]
pub struct MePage {
    pub chrome: Chrome,
    pub email: String,
    /// (name, href, role).
    pub subsystems: Vec<(String, String, String)>,
    pub questions: Vec<QueueLine>,
    pub awaiting: Vec<QueueLine>,
    pub awaiting_total: i64,
    pub proposals: Vec<QueueLine>,
    /// (line, claim id).
    pub claims: Vec<(QueueLine, i64)>,
    pub reviewed: Vec<QueueLine>,
}

impl MePage {
    pub fn new(q: Queue, chrome: Chrome) -> MePage {
        let site_href = |campaign: &str, site: i64| format!("/c/{}/site/{site}", enc(campaign));
        let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
        MePage {
            chrome,
            subsystems: q
                .subsystems
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        format!("/s/{}", enc(&s.slug)),
                        s.role.clone(),
                    )
                })
                .collect(),
            questions: q
                .questions
                .into_iter()
                .map(|x| QueueLine {
                    href: match x.site {
                        Some(s) => site_href(&x.campaign, s.0),
                        None => format!("/c/{}", enc(&x.campaign)),
                    },
                    detail: format!(
                        "{} · {} · asked of {} by {} on {}",
                        x.campaign,
                        x.place.unwrap_or_else(|| "campaign".into()),
                        x.subsystem,
                        x.asked_by,
                        day(&x.at)
                    ),
                    text: x.text,
                })
                .collect(),
            awaiting: q
                .awaiting_signoff
                .into_iter()
                .map(|s| QueueLine {
                    href: site_href(&s.campaign, s.site.0),
                    detail: format!("{} · {} · {}", s.campaign, s.status.label(), s.subsystem),
                    text: match s.function {
                        Some(f) => format!("{} in {f}()", s.place),
                        None => s.place,
                    },
                })
                .collect(),
            awaiting_total: q.awaiting_total,
            proposals: q
                .proposals
                .into_iter()
                .map(|p| QueueLine {
                    href: format!("{}#proposals", site_href(&p.campaign, p.site.0)),
                    text: format!(
                        "#{} {}:{} {} → {}",
                        p.id,
                        p.file,
                        p.line,
                        p.from.label(),
                        p.to.label()
                    ),
                    detail: format!(
                        "{} · by {} on {} · {}",
                        p.campaign,
                        p.author,
                        day(&p.created_at),
                        p.reason
                    ),
                })
                .collect(),
            claims: q
                .claims
                .into_iter()
                .map(|c| {
                    let href = match c.site {
                        Some(s) => site_href(&c.campaign, s.0),
                        None => format!("/c/{}", enc(&c.campaign)),
                    };
                    let text = c.place.clone().or(c.subsystem.clone()).unwrap_or_default();
                    (
                        QueueLine {
                            href,
                            text,
                            detail: format!("{} · until {}", c.campaign, day(&c.expires_at)),
                        },
                        c.id,
                    )
                })
                .collect(),
            reviewed: q
                .reviewed_patches
                .into_iter()
                .map(|r| QueueLine {
                    href: treewide_core::mail::lore_url(&r.message_id),
                    detail: format!(
                        "{} · your {} · {} site{}",
                        r.campaign,
                        r.trailer,
                        r.sites,
                        if r.sites == 1 { "" } else { "s" }
                    ),
                    text: r.subject,
                })
                .collect(),
            email: q.email,
        }
    }
}
