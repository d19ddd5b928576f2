//! A plain-text status mail in the style of the 2022 audit: progress per subsystem, open
//! questions to owners, and `file:line: code` lists ready to paste into a reply.

use std::fmt::Write;

use sqlx::{SqliteConnection, SqlitePool};

use crate::db::Snapshot;
use crate::model::{CampaignId, Status};
use crate::sites::{self, SiteLine, TreeCursor};
use crate::subsystems::{self, SubsystemFilter};
use crate::{campaigns, notes, Result};

/// The lists of open sites, in the order the mail gives them.
const LISTS: [(Status, &str); 5] = [
    (Status::NeedsFix, "Needs fixing"),
    (Status::NeedsPin, "Needs pinning"),
    (Status::AwaitingOwner, "Awaiting owners"),
    (Status::FixProposed, "Fix proposed"),
    (Status::Unreviewed, "Haven't done yet"),
];

/// Sites read and written per chunk of a list.
const PAGE: u32 = 1000;

/// Render the report of a campaign, or of one subsystem (by slug) in it, whole (the CLI and
/// tests; the server streams [`Report`]).
pub async fn render(db: &SqlitePool, campaign: &str, subsystem: Option<&str>) -> Result<String> {
    let mut r = Report::start(db, campaign, subsystem).await?;
    let mut out = String::new();
    while let Some(chunk) = r.next_chunk().await? {
        out.push_str(&chunk);
    }
    Ok(out)
}

/// The status mail in chunks: the head (addressees, progress, fixing commits, questions),
/// then each list of open sites a page at a time in tree order, all read in one read
/// transaction. It lists every open site, so at 100k sites it is megabytes: memory holds a
/// page, and the first bytes go out before the last site is read.
pub struct Report {
    snap: Snapshot,
    campaign: CampaignId,
    filter: Option<SubsystemFilter>,
    /// The head, until the first chunk takes it.
    head: Option<String>,
    /// The list being written (an index into [`LISTS`]).
    list: usize,
    /// Where the list goes on: `None` before its first page.
    after: Option<TreeCursor>,
}

impl Report {
    /// Begin the read transaction and write the head; the lists are read as chunks are asked
    /// for. NotFound for an unknown campaign or subsystem.
    pub async fn start(db: &SqlitePool, campaign: &str, subsystem: Option<&str>) -> Result<Report> {
        let mut snap = Snapshot::begin(db).await?;
        let (head, campaign, filter) = head(snap.conn(), campaign, subsystem).await?;
        Ok(Report {
            snap,
            campaign,
            filter,
            head: Some(head),
            list: 0,
            after: None,
        })
    }

    /// The next text of the mail, `None` after the last.
    pub async fn next_chunk(&mut self) -> Result<Option<String>> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head));
        }
        while let Some((status, heading)) = LISTS.get(self.list).copied() {
            let first = self.after.is_none();
            let after = self.after.take().unwrap_or_else(TreeCursor::start);
            let page = sites::lines_with_status(
                self.snap.conn(),
                self.campaign,
                self.filter,
                status,
                &after,
                PAGE,
            )
            .await?;
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    self.after = Some(TreeCursor::after_line(last))
                }
                _ => self.list += 1,
            }
            if page.is_empty() {
                continue;
            }
            let mut out = String::with_capacity(page.len() * 100);
            if first {
                let _ = writeln!(out, "\n{heading}:");
            }
            for s in &page {
                let _ = writeln!(out, "{}:{}: {}", s.file, s.line, code_of(s));
            }
            return Ok(Some(out));
        }
        Ok(None)
    }
}

/// A listed site's code on one line, or its callee when the scan kept no code.
fn code_of(s: &SiteLine) -> String {
    if s.code.is_empty() {
        format!("{}()", s.callee)
    } else {
        one_line(&s.code, 160)
    }
}

/// The mail down to its lists: title, addressees, rule, tree, progress, fixing commits, the
/// per-subsystem table and open questions. Also the campaign and the subsystem filter.
async fn head(
    conn: &mut SqliteConnection,
    campaign: &str,
    subsystem: Option<&str>,
) -> Result<(String, CampaignId, Option<SubsystemFilter>)> {
    let c = campaigns::get_on(&mut *conn, campaign).await?;
    let (filter, info) = match subsystem {
        Some(s) => {
            let (f, i) = subsystems::filter_on(&mut *conn, s).await?;
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
    let progress = subsystems::progress_on(&mut *conn, c.id).await?;
    if info.is_none() && filter.is_none() {
        // The whole campaign's mail goes to the owners of whatever waits for them.
        let (to, cc) = addressees(&mut *conn, c.id, &progress).await?;
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
    let fixes = fixing_commits(&mut *conn, c.id, filter).await?;
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
        Some(SubsystemFilter::Id(id)) => {
            let mut qs = notes::for_subsystem(&mut *conn, c.id, Some(id)).await?;
            qs.retain(|n| n.question_state == Some(crate::model::QuestionState::Open));
            qs
        }
        _ => notes::open_questions(&mut *conn, c.id).await?,
    };
    if !qs.is_empty() {
        let _ = writeln!(out, "\nOpen questions to owners:");
        qs.sort_by(|a, b| (&a.ask, &a.created_at).cmp(&(&b.ask, &b.created_at)));
        for n in qs {
            let label = match (n.site_id, n.site_label) {
                (Some(_), Some(l)) => l,
                _ => "(campaign)".into(),
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
    Ok((out, c.id, filter))
}

/// The maintainers and reviewers (To:) and lists (Cc:) of the subsystems where something
/// waits for its owners (a site to fix, pin or sign off, or a question to them), each once,
/// in subsystem order. Subsystems with only unreviewed sites wait for the campaign's
/// auditors, not their owners: a treewide scan would otherwise address half of MAINTAINERS.
async fn addressees(
    conn: &mut SqliteConnection,
    campaign: CampaignId,
    progress: &[subsystems::SubsystemProgress],
) -> Result<(Vec<String>, Vec<String>)> {
    let open: std::collections::HashSet<_> = progress
        .iter()
        .filter(|p| {
            p.open_questions > 0
                || Status::ALL
                    .iter()
                    .any(|s| s.waits_for_owners() && p.counts.get(*s) > 0)
        })
        .filter_map(|p| p.id)
        .collect();
    let (mut to, mut cc) = (Vec::new(), Vec::new());
    for s in subsystems::used_by(&mut *conn, campaign).await? {
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
    conn: &mut SqliteConnection,
    campaign: CampaignId,
    filter: Option<SubsystemFilter>,
) -> Result<Vec<String>> {
    let sub = filter.map(|f| f.sql());
    let rows = sqlx::query!(
        r#"SELECT oid AS "oid!: String", subject AS "subject!: String", tag, at FROM (
             SELECT DISTINCT c.oid, c.subject, c.subject_tag AS tag, c.commit_date AS at
             FROM site_commits sc CROSS JOIN sites s ON s.id = sc.site_id JOIN commits c ON c.id = sc.commit_id
             WHERE s.campaign_id = ?1 AND sc.role = 'fix' AND c.upstream_oid IS NULL
               AND (?2 IS NULL OR (?2 = 0 AND s.subsystem_id IS NULL) OR s.subsystem_id = ?2)
             UNION
             SELECT r.target, r.title, r.tag, r.date FROM refs r
             WHERE r.campaign_id = ?1 AND r.kind = 'commit' AND r.site_id IS NULL AND ?2 IS NULL)
           ORDER BY at, oid"#,
        campaign,
        sub
    )
    .fetch_all(conn)
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
