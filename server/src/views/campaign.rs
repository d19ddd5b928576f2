//! The campaign page: the per-subsystem table, verdict groups, notes, references and the
//! burndown; [`CampaignDetail`] is also the API's campaign answer.

use askama::Template;
use askama_web::WebTemplate;
use treewide_core::campaigns::{self, Campaign, ScanState};
use treewide_core::model::Status;
use treewide_core::notes::{self, Note};
use treewide_core::refs::{self, Reference};
use treewide_core::subsystems::{self, SubsystemProgress};
use treewide_core::verdicts::{self, Verdict};
use treewide_core::{history, SqlitePool};

use super::chart::Burndown;
use super::{enc, CampaignHead, Chrome, NoteView, Progress, RefView, StatusChoice, VerdictView};

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

/// The campaign page.
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
    pub scan: ScanState,
    /// Open vs done over time; `None` when the campaign has no sites.
    pub burndown: Option<Burndown>,
    /// Sites per furthest fix stage: (label, count), posted to stable.
    pub stages: Vec<(&'static str, i64)>,
    /// Some site has a fix stage.
    pub has_stages: bool,
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
    /// The key a `sort=` query names.
    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "name" => SortKey::Name,
            "total" => SortKey::Total,
            "done" => SortKey::Done,
            "questions" => SortKey::Questions,
            s => SortKey::Status(s.parse().ok()?),
        })
    }

    /// The key as `sort=` names it.
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

/// A campaign with its counts, verdict groups, notes, references and last scan: read once for
/// the campaign page and `GET /api/v1/campaigns/{slug}`.
pub struct CampaignDetail {
    pub campaign: Campaign,
    pub verdicts: Vec<Verdict>,
    pub notes: Vec<Note>,
    pub refs: Vec<Reference>,
    pub scan: ScanState,
}

impl CampaignDetail {
    /// Read campaign `slug`; NotFound when there is none.
    pub async fn load(db: &SqlitePool, slug: &str) -> treewide_core::Result<CampaignDetail> {
        let campaign = campaigns::get(db, slug).await?;
        Ok(CampaignDetail {
            verdicts: verdicts::list_in(db, campaign.id).await?,
            notes: notes::for_campaign(db, campaign.id).await?,
            refs: refs::for_campaign(db, campaign.id).await?,
            scan: campaigns::scan_state(db, campaign.id).await?,
            campaign,
        })
    }
}

impl CampaignPage {
    /// Read the per-subsystem rows and the burndown of the campaign, and build its page.
    pub async fn load(
        db: &SqlitePool,
        d: CampaignDetail,
        order: TableOrder,
        chrome: Chrome,
    ) -> treewide_core::Result<CampaignPage> {
        let rows = subsystems::progress(db, d.campaign.id).await?;
        let burndown = history::burndown(db, d.campaign.id).await?;
        let stages = treewide_core::stages::counts(db, d.campaign.id).await?;
        let mut page = CampaignPage::new(d, rows, order);
        page.burndown = Burndown::new(&burndown);
        page.stages = treewide_core::stages::Stage::ALL
            .iter()
            .zip(stages)
            .map(|(s, n)| (s.label(), n))
            .collect();
        page.has_stages = stages.iter().any(|n| *n > 0);
        page.chrome = chrome;
        Ok(page)
    }

    /// Build the page: `rows` filtered and sorted as `order` says.
    pub fn new(
        d: CampaignDetail,
        mut rows: Vec<SubsystemProgress>,
        order: TableOrder,
    ) -> CampaignPage {
        let CampaignDetail {
            campaign: c,
            verdicts,
            notes,
            refs,
            scan,
        } = d;
        let c = &c;
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
            notes: NoteView::threaded(notes, &c.slug),
            refs: refs.into_iter().map(RefView::new).collect(),
            scan,
            burndown: None,
            stages: Vec::new(),
            has_stages: false,
        }
    }
}
