//! A plain-text status mail in the style of the 2022 audit: progress per subsystem, open
//! questions to owners, and `file:line: code` lists ready to paste into a reply.

use std::fmt::Write;

use sqlx::SqlitePool;

use crate::model::{SiteId, Status};
use crate::sites::{self, SiteQuery};
use crate::subsystems::{self, SubsystemFilter};
use crate::{campaigns, notes, Result};

/// Render the report of a campaign, or of one subsystem (by slug) in it.
pub async fn render(db: &SqlitePool, campaign: &str, subsystem: Option<&str>) -> Result<String> {
    let c = campaigns::get(db, campaign).await?;
    let (filter, info) = match subsystem {
        Some(s) => {
            let (f, i) = subsystems::filter(db, s).await?;
            (Some(f), i)
        }
        None => (None, None),
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", c.title);
    if let Some(i) = &info {
        let _ = writeln!(out, "Subsystem: {}", i.name);
        let people: Vec<&str> = i
            .maintainers
            .iter()
            .chain(&i.reviewers)
            .map(String::as_str)
            .collect();
        if !people.is_empty() {
            let _ = writeln!(out, "To: {}", people.join(", "));
        }
        if !i.lists.is_empty() {
            let _ = writeln!(out, "Cc: {}", i.lists.join(", "));
        }
    }
    if !c.rule.is_empty() {
        let _ = writeln!(out, "Rule: {}", c.rule);
    }
    if let Some(t) = &c.tree_describe {
        let _ = writeln!(out, "Tree: {t}");
    }
    let progress = subsystems::progress(db, c.id).await?;
    let rows: Vec<_> = progress
        .iter()
        .filter(|p| match filter {
            None => true,
            Some(SubsystemFilter::Unassigned) => p.id.is_none(),
            Some(SubsystemFilter::Id(id)) => p.id == Some(id),
        })
        .collect();
    let mut total = crate::counts::StatusCounts::default();
    for r in &rows {
        for s in Status::ALL {
            total.add(s, r.counts.get(s));
        }
    }
    let _ = writeln!(
        out,
        "\nDone: {} of {} sites ({:.0}%): {} fixed, {} confirmed safe, {} gone.",
        total.done(),
        total.total(),
        total.percent_done(),
        total.get(Status::Fixed),
        total.get(Status::ConfirmedSafe),
        total.get(Status::Gone)
    );
    if filter.is_none() {
        let _ = writeln!(out, "\nPer subsystem (done/total; what is open):");
        let width = rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(10)
            .min(60);
        for r in &rows {
            let open: Vec<String> = Status::ALL
                .iter()
                .filter(|s| !s.is_done() && r.counts.get(**s) > 0)
                .map(|s| format!("{} {}", s.label(), r.counts.get(*s)))
                .collect();
            let _ = writeln!(
                out,
                "  {:<width$}  {:>4}/{:<4} {}",
                r.name,
                r.counts.done(),
                r.counts.total(),
                open.join(", ")
            );
        }
    }

    // Questions still open, grouped by the subsystem asked.
    let mut qs: Vec<notes::Note> = match filter {
        Some(SubsystemFilter::Id(id)) => notes::for_subsystem(db, c.id, Some(id)).await?,
        _ => {
            let mut all = notes::for_campaign(db, c.id).await?;
            all.extend(notes::all_site_notes(db, c.id).await?);
            all
        }
    };
    qs.retain(|n| n.question_state == Some(crate::model::QuestionState::Open));
    if !qs.is_empty() {
        let _ = writeln!(out, "\nOpen questions to owners:");
        qs.sort_by(|a, b| (&a.ask, &a.created_at).cmp(&(&b.ask, &b.created_at)));
        for n in qs {
            let label = match n.site_id {
                Some(id) => site_label(db, id).await?,
                None => "(campaign)".into(),
            };
            let _ = writeln!(
                out,
                "  {} — {}: {}\n      ({}, {})",
                n.ask.as_deref().unwrap_or("?"),
                label,
                one_line(&n.body, 200),
                n.author,
                n.created_at.get(..10).unwrap_or(&n.created_at)
            );
        }
    }

    for (status, heading) in [
        (Status::NeedsFix, "Needs fixing"),
        (Status::NeedsPin, "Needs pinning"),
        (Status::AwaitingOwner, "Awaiting owners"),
        (Status::FixProposed, "Fix proposed"),
        (Status::Unreviewed, "Haven't done yet"),
    ] {
        let q = SiteQuery {
            campaign: Some(c.id),
            subsystem: filter,
            status: Some(status),
            ..Default::default()
        };
        let mut list = Vec::new();
        let mut after = SiteId(0);
        loop {
            let page = sites::list(db, &q, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            list.extend(page);
        }
        if list.is_empty() {
            continue;
        }
        list.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        let _ = writeln!(out, "\n{heading}:");
        for s in list {
            let code = if s.code.is_empty() {
                format!("{}()", s.callee)
            } else {
                one_line(&s.code, 160)
            };
            let _ = writeln!(out, "{}:{}: {}", s.file, s.line, code);
        }
    }
    Ok(out)
}

async fn site_label(db: &SqlitePool, id: SiteId) -> Result<String> {
    let s = sites::get(db, id).await?;
    Ok(format!("{}:{}", s.file, s.line))
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}
