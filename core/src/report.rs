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
    if info.is_none() && filter.is_none() {
        // The whole campaign's mail goes to the owners of whatever waits for them.
        let (to, cc) = addressees(db, c.id).await?;
        if !to.is_empty() {
            let _ = writeln!(out, "To: {}", to.join(", "));
        }
        if !cc.is_empty() {
            let _ = writeln!(out, "Cc: {}", cc.join(", "));
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
    let fixes = fixing_commits(db, c.id, filter).await?;
    if !fixes.is_empty() {
        let _ = writeln!(out, "\nFixed by:");
        for f in fixes {
            let _ = writeln!(out, "  {f}");
        }
    }
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
            // Whole questions, wrapped for mail: a cut question is no question.
            let _ = writeln!(out, "  {} — {}:", n.ask.as_deref().unwrap_or("?"), label);
            for l in wrap(&n.body, 72) {
                let _ = writeln!(out, "      {l}");
            }
            let _ = writeln!(
                out,
                "      ({}, {})",
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

/// The maintainers and reviewers (To:) and lists (Cc:) of the subsystems where something
/// waits for its owners (a site to fix, pin or sign off, or a question to them), each once,
/// in subsystem order. Subsystems with only unreviewed sites wait for the campaign's
/// auditors, not their owners: a treewide scan would otherwise address half of MAINTAINERS.
async fn addressees(
    db: &SqlitePool,
    campaign: crate::model::CampaignId,
) -> Result<(Vec<String>, Vec<String>)> {
    let open: std::collections::HashSet<_> = subsystems::progress(db, campaign)
        .await?
        .into_iter()
        .filter(|p| {
            p.open_questions > 0
                || Status::ALL
                    .iter()
                    .any(|s| s.waits_for_owners() && p.counts.get(*s) > 0)
        })
        .filter_map(|p| p.id)
        .collect();
    let (mut to, mut cc) = (Vec::new(), Vec::new());
    for s in subsystems::used_by(db, campaign).await? {
        if !open.contains(&s.id) {
            continue;
        }
        for p in s.maintainers.iter().chain(&s.reviewers) {
            if !to.contains(p) {
                to.push(p.clone());
            }
        }
        for l in &s.lists {
            if !cc.contains(l) {
                cc.push(l.clone());
            }
        }
    }
    Ok((to, cc))
}

/// The commits that fixed sites (from history) and the commits the campaign names
/// (`[vhost] fix …` references), oldest first: "[vhost] subject (1a2b3c4d5e6f)".
async fn fixing_commits(
    db: &SqlitePool,
    campaign: crate::model::CampaignId,
    filter: Option<SubsystemFilter>,
) -> Result<Vec<String>> {
    let sub = filter.map(|f| f.sql());
    let rows = sqlx::query!(
        r#"SELECT oid AS "oid!: String", subject AS "subject!: String", tag, at FROM (
             SELECT DISTINCT c.oid, c.subject, c.subject_tag AS tag, c.commit_date AS at
             FROM site_commits sc JOIN commits c ON c.id = sc.commit_id JOIN sites s ON s.id = sc.site_id
             WHERE s.campaign_id = ?1 AND sc.role = 'fix' AND c.upstream_oid IS NULL
               AND (?2 IS NULL OR (?2 = 0 AND s.subsystem_id IS NULL) OR s.subsystem_id = ?2)
             UNION
             SELECT r.target, r.title, r.tag, r.date FROM refs r
             WHERE r.campaign_id = ?1 AND r.kind = 'commit' AND r.site_id IS NULL AND ?2 IS NULL)
           ORDER BY at, oid"#,
        campaign,
        sub
    )
    .fetch_all(db)
    .await?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|r| seen.insert(r.oid.chars().take(12).collect::<String>()))
        .map(|r| {
            let short: String = r.oid.chars().take(12).collect();
            let subject = one_line(&r.subject, 100);
            match r.tag {
                Some(t)
                    if !subject.starts_with(&format!("[{t}]"))
                        && !subject.starts_with(&format!("{t}:")) =>
                {
                    format!("[{t}] {subject} ({short})")
                }
                _ => format!("{subject} ({short})"),
            }
        })
        .collect())
}

/// `text` as lines of at most `width` characters (longer words stand alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for w in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_wrap_whole_at_72_columns() {
        let q = "nvme read requests end up with somebody allocating and filling sglist, followed by reading from file into it (using ITER_BVEC). I'd like to see that confirmed by nvme folks.";
        let lines = wrap(q, 72);
        assert!(lines.iter().all(|l| l.chars().count() <= 72), "{lines:?}");
        assert_eq!(lines.join(" "), q);
    }
}
