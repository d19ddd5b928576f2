//! `treewide sync github-issue`: keep a KSPP-style tracking issue's checklist up to date.
//!
//! The command owns one section of the issue body, between `<!-- treewide:begin SLUG -->`
//! and `<!-- treewide:end SLUG -->`; everything outside it is people's own text and is kept
//! byte for byte. The section is rendered from the database alone (no times, no counters of
//! runs), so a second sync with nothing changed renders the same text and does not edit the
//! issue. GitHub refuses bodies over 65536 characters: when the full checklist does not fit,
//! done sites are folded into counts first, then open sites beyond the first few of each
//! subsystem (with a link to the dashboard when there is one).

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use treewide_core::model::Status;

use crate::github::{Client, RepoName};

/// GitHub's limit on an issue body, in characters (counted here in bytes, which is never
/// less).
pub const BODY_LIMIT: usize = 65_536;

/// How many done sites of one subsystem are listed before they are folded into `<details>`.
const FOLD_DONE: usize = 10;

/// One site as the checklist shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueSite {
    pub file: String,
    pub line: i64,
    pub function: Option<String>,
    pub status: Status,
    pub subsystem: Option<String>,
    /// The subsystem's dashboard page.
    pub subsystem_url: Option<String>,
    /// The fixing commit: (short id, web page).
    pub fix: Option<(String, String)>,
    /// The site's dashboard page.
    pub url: Option<String>,
}

/// What the section says about the campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub slug: String,
    pub title: String,
    /// The campaign's dashboard page.
    pub url: Option<String>,
}

/// The begin and end markers of a campaign's section.
pub fn markers(slug: &str) -> (String, String) {
    (
        format!("<!-- treewide:begin {slug} -->"),
        format!("<!-- treewide:end {slug} -->"),
    )
}

/// Text from the database or a commit made inert in Markdown: punctuation that could start
/// emphasis, links, code, HTML or tables is backslash-escaped, and `@` and `#` get a word
/// joiner so that no one is mentioned and no issue is linked.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '@' | '#' => {
                out.push(c);
                out.push('\u{2060}');
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code span (where backslashes are literal): no backticks, no line
/// breaks, nothing that reads as a marker.
fn code(text: &str) -> String {
    text.replace('`', "'")
        .replace(['\n', '\r'], " ")
        .replace("<!--", "<!-")
}

/// A URL for `(…)` of a Markdown link: only http(s), with spaces and parentheses encoded.
fn link_target(url: &str) -> Option<String> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    Some(
        url.replace(' ', "%20")
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('<', "%3C")
            .replace('>', "%3E"),
    )
}

/// How much of the checklist is spelled out.
#[derive(Debug, Clone, Copy)]
struct Detail {
    /// List done sites (folded in `<details>` for big subsystems) or only count them.
    done_listed: bool,
    /// Open sites listed per subsystem; the rest are counted.
    open_max: usize,
}

/// From everything to little: the first that fits is used.
const DETAILS: [Detail; 7] = [
    Detail {
        done_listed: true,
        open_max: usize::MAX,
    },
    Detail {
        done_listed: false,
        open_max: usize::MAX,
    },
    Detail {
        done_listed: false,
        open_max: 100,
    },
    Detail {
        done_listed: false,
        open_max: 30,
    },
    Detail {
        done_listed: false,
        open_max: 10,
    },
    Detail {
        done_listed: false,
        open_max: 3,
    },
    Detail {
        done_listed: false,
        open_max: 0,
    },
];

/// The campaign's section, markers included, in at most `budget` bytes when that can be
/// done (the summary and subsystem headings are always there; past that the list is cut).
pub fn render_section(campaign: &Campaign, sites: &[IssueSite], budget: usize) -> String {
    let mut last = String::new();
    for d in DETAILS {
        last = render_with(campaign, sites, d);
        if last.len() <= budget {
            return last;
        }
    }
    cut(campaign, &last, budget)
}

/// The section cut at a line so that it fits `budget` (end marker kept).
fn cut(campaign: &Campaign, full: &str, budget: usize) -> String {
    let (_, end) = markers(&campaign.slug);
    let note = "\n\n*(cut: the issue body has no room for more)*\n";
    let room = budget.saturating_sub(end.len() + note.len());
    let mut at = 0;
    for (i, _) in full.match_indices('\n') {
        if i > room {
            break;
        }
        at = i;
    }
    format!("{}{note}{end}", &full[..at])
}

fn render_with(campaign: &Campaign, sites: &[IssueSite], d: Detail) -> String {
    let (begin, end) = markers(&campaign.slug);
    let mut out = String::new();
    out.push_str(&begin);
    out.push('\n');
    out.push_str(&format!("## {}\n\n", escape(&campaign.title)));
    out.push_str(&summary(sites));
    if let Some(url) = campaign.url.as_deref().and_then(link_target) {
        out.push_str(&format!(" ([dashboard]({url}))"));
    }
    out.push_str(
        "\n\n<sub>This section is written by `treewide sync github-issue`; \
         edit outside the treewide markers.</sub>\n",
    );
    let mut groups: BTreeMap<(bool, &str), Vec<&IssueSite>> = BTreeMap::new();
    for s in sites {
        let name = s.subsystem.as_deref().unwrap_or("(no subsystem)");
        groups
            .entry((s.subsystem.is_none(), name))
            .or_default()
            .push(s);
    }
    for ((_, name), mut list) in groups {
        list.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        subsystem(&mut out, name, &list, d);
    }
    out.push_str(&end);
    out
}

/// "**3 of 10 sites done (30%)**: 2 fixed, 1 gone; open: 7 needs fix".
fn summary(sites: &[IssueSite]) -> String {
    let count = |st: Status| sites.iter().filter(|s| s.status == st).count();
    let done = sites.iter().filter(|s| s.status.is_done()).count();
    let pct = if sites.is_empty() {
        0
    } else {
        done * 100 / sites.len()
    };
    let part = |done: bool| {
        Status::ALL
            .iter()
            .filter(|s| s.is_done() == done)
            .map(|&s| (count(s), s.label()))
            .filter(|(n, _)| *n > 0)
            .map(|(n, l)| format!("{n} {l}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (d, o) = (part(true), part(false));
    let mut text = format!("**{done} of {} sites done ({pct}%)**", sites.len());
    if !d.is_empty() {
        text.push_str(&format!(": {d}"));
    }
    if !o.is_empty() {
        text.push_str(&format!("; open: {o}"));
    }
    text
}

/// One subsystem's heading and checklist.
fn subsystem(out: &mut String, name: &str, list: &[&IssueSite], d: Detail) {
    let done: Vec<&IssueSite> = list
        .iter()
        .copied()
        .filter(|s| s.status.is_done())
        .collect();
    let open: Vec<&IssueSite> = list
        .iter()
        .copied()
        .filter(|s| !s.status.is_done())
        .collect();
    out.push_str(&format!(
        "\n### {} ({} of {} done)\n\n",
        escape(name),
        done.len(),
        list.len()
    ));
    let more = list
        .iter()
        .find_map(|s| s.subsystem_url.as_deref().and_then(link_target))
        .map(|u| format!(" ([dashboard]({u}))"))
        .unwrap_or_default();
    for s in open.iter().take(d.open_max) {
        out.push_str(&item(s));
    }
    if open.len() > d.open_max {
        out.push_str(&format!("- {} more open{more}\n", open.len() - d.open_max));
    }
    if done.is_empty() {
        return;
    }
    if !d.done_listed {
        out.push_str(&format!("- [x] {} done{more}\n", done.len()));
    } else if done.len() > FOLD_DONE {
        out.push_str(&format!(
            "\n<details><summary>{} done</summary>\n\n",
            done.len()
        ));
        for s in &done {
            out.push_str(&item(s));
        }
        out.push_str("\n</details>\n");
    } else {
        for s in &done {
            out.push_str(&item(s));
        }
    }
}

/// `- [x] `file:line` function: status, fix abc123, site`.
fn item(s: &IssueSite) -> String {
    let mut line = format!(
        "- [{}] `{}:{}`",
        if s.status.is_done() { 'x' } else { ' ' },
        code(&s.file),
        s.line
    );
    if let Some(f) = &s.function {
        line.push_str(&format!(" {}()", escape(f)));
    }
    line.push_str(&format!(": {}", s.status.label()));
    if let Some((short, url)) = &s.fix {
        match link_target(url) {
            Some(u) => line.push_str(&format!(", fixed in [{}]({u})", escape(short))),
            None => line.push_str(&format!(", fixed in {}", escape(short))),
        }
    }
    if let Some(u) = s.url.as_deref().and_then(link_target) {
        line.push_str(&format!(" ([site]({u}))"));
    }
    line.push('\n');
    line
}

/// `body` with the campaign's section replaced by `section`, or `section` appended when the
/// body has none. A body with only one of the markers is refused: where the section ends
/// cannot be known, and guessing could delete people's text.
pub fn splice(body: &str, slug: &str, section: &str) -> anyhow::Result<String> {
    let (begin, end) = markers(slug);
    match (body.find(&begin), body.find(&end)) {
        (Some(b), Some(e)) if e > b => {
            Ok(format!("{}{section}{}", &body[..b], &body[e + end.len()..]))
        }
        (None, None) => {
            let kept = body.trim_end();
            Ok(if kept.is_empty() {
                format!("{section}\n")
            } else {
                format!("{kept}\n\n{section}\n")
            })
        }
        _ => bail!(
            "the issue body has {begin} or {end} without the other (or in the wrong order): \
             put both back or remove both, then sync again"
        ),
    }
}

/// The whole new body: `body` with a fresh section that keeps it under [`BODY_LIMIT`].
pub fn update_body(body: &str, campaign: &Campaign, sites: &[IssueSite]) -> anyhow::Result<String> {
    let (begin, end) = markers(&campaign.slug);
    // The room left by people's text (a rough upper bound first, then exact).
    let outside = splice(body, &campaign.slug, &format!("{begin}{end}"))?.len();
    let budget = BODY_LIMIT.saturating_sub(outside - begin.len() - end.len());
    if budget < 1024 {
        bail!(
            "the issue's own text leaves {budget} of GitHub's {BODY_LIMIT} characters for the \
             checklist: shorten it"
        );
    }
    let section = render_section(campaign, sites, budget);
    splice(body, &campaign.slug, &section)
}

/// What `treewide sync github-issue` needs.
#[derive(Debug, Clone)]
pub struct IssueSync {
    /// `OWNER/NAME`.
    pub repo: String,
    pub issue: u64,
    pub campaign: String,
    pub api_url: String,
    pub token: Option<String>,
    /// The dashboard's address, for links to sites.
    pub base_url: Option<String>,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    Unchanged,
    /// The issue was edited; its body is this long.
    Updated {
        bytes: usize,
    },
}

#[derive(serde::Deserialize)]
struct Issue {
    #[serde(default)]
    body: Option<String>,
}

/// The checklist's sites, from the database.
pub async fn issue_sites(
    db: &treewide_core::SqlitePool,
    slug: &str,
    base_url: Option<&str>,
) -> anyhow::Result<(Campaign, Vec<IssueSite>)> {
    let c = treewide_core::campaigns::meta(db, slug)
        .await
        .with_context(|| format!("campaign {slug}"))?;
    let sites = treewide_core::sites::all_in(db, c.id).await?;
    let fixes = treewide_core::history::fixes_in(db, c.id).await?;
    let base = base_url.map(|b| b.trim_end_matches('/').to_owned());
    let campaign = Campaign {
        slug: c.slug.clone(),
        title: c.title.clone(),
        url: base.as_ref().map(|b| format!("{b}/c/{slug}")),
    };
    let list = sites
        .into_iter()
        .map(|s| IssueSite {
            fix: fixes
                .get(&s.id)
                .map(|f| (f.short().to_owned(), f.web_url())),
            url: base.as_ref().map(|b| format!("{b}/c/{slug}/site/{}", s.id)),
            subsystem_url: base
                .as_ref()
                .zip(s.subsystem_slug.as_ref())
                .map(|(b, ss)| format!("{b}/c/{slug}/s/{ss}")),
            file: s.file,
            line: s.line,
            function: s.function,
            status: s.status,
            subsystem: s.subsystem,
        })
        .collect();
    Ok((campaign, list))
}

/// Render the campaign's section into the issue; edit the issue only when the body changed.
pub async fn sync(db: &treewide_core::SqlitePool, job: &IssueSync) -> anyhow::Result<Synced> {
    let repo = RepoName::parse(&job.repo)?;
    let (campaign, sites) = issue_sites(db, &job.campaign, job.base_url.as_deref()).await?;
    let client = Client::new(&job.api_url, job.token.as_deref(), repo)?;
    client.repository().await?;
    let url = client.repo_path(&format!("/issues/{}", job.issue));
    let Some(reply) = client.get_optional(&url, None).await? else {
        bail!("{}: no issue #{}", client.repo, job.issue);
    };
    let issue: Issue = serde_json::from_slice(&reply.body)
        .with_context(|| format!("GET {url}: unexpected reply"))?;
    let old = issue.body.unwrap_or_default();
    let new = update_body(&old, &campaign, &sites)
        .with_context(|| format!("{} issue #{}", client.repo, job.issue))?;
    if new == old {
        return Ok(Synced::Unchanged);
    }
    client
        .patch_json(&url, &serde_json::json!({ "body": new }))
        .await?;
    Ok(Synced::Updated { bytes: new.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(file: &str, line: i64, status: Status, sub: Option<&str>) -> IssueSite {
        IssueSite {
            file: file.into(),
            line,
            function: Some("afs_read_dir".into()),
            status,
            subsystem: sub.map(str::to_owned),
            subsystem_url: None,
            fix: None,
            url: None,
        }
    }

    fn campaign() -> Campaign {
        Campaign {
            slug: "iov-iter-direction".into(),
            title: "iov_iter: READ/WRITE → ITER_DEST/ITER_SOURCE".into(),
            url: None,
        }
    }

    #[test]
    fn section_lists_sites_per_subsystem_with_progress() {
        let mut fixed = site("fs/afs/dir.c", 50, Status::Fixed, Some("AFS FILESYSTEM"));
        fixed.fix = Some((
            "de4eda9de2d9".into(),
            "https://github.com/torvalds/linux/commit/de4eda9de2d9".into(),
        ));
        fixed.url = Some("https://tw.example/c/iov-iter-direction/site/7".into());
        let sites = vec![
            site(
                "fs/afs/write.c",
                9,
                Status::NeedsFix,
                Some("AFS FILESYSTEM"),
            ),
            fixed,
            site("lib/x.c", 1, Status::Unreviewed, None),
        ];
        let s = render_section(&campaign(), &sites, BODY_LIMIT);
        assert!(s.starts_with("<!-- treewide:begin iov-iter-direction -->\n"));
        assert!(s.ends_with("<!-- treewide:end iov-iter-direction -->"));
        assert!(s.contains("**1 of 3 sites done (33%)**: 1 fixed; open: 1 needs fix, 1 unreviewed"));
        assert!(s.contains("### AFS FILESYSTEM (1 of 2 done)"));
        assert!(s.contains(
            "- [x] `fs/afs/dir.c:50` afs\\_read\\_dir(): fixed, fixed in \
             [de4eda9de2d9](https://github.com/torvalds/linux/commit/de4eda9de2d9) \
             ([site](https://tw.example/c/iov-iter-direction/site/7))"
        ));
        assert!(s.contains("- [ ] `fs/afs/write.c:9` afs\\_read\\_dir(): needs fix\n"));
        let afs = s.find("### AFS").unwrap();
        let none = s.find("### (no subsystem)").unwrap();
        assert!(afs < none, "sites without a subsystem come last");
    }

    #[test]
    fn user_text_cannot_inject_markdown_mentions_or_markers() {
        let e = escape("@torvalds fixes #12 <!-- treewide:end x --> [a](b) *x*\nnext");
        assert!(!e.contains("@t"));
        assert!(!e.contains("#1"));
        assert!(!e.contains("<!--"));
        assert!(e.contains("\\[a\\](b) \\*x\\*"));
        assert!(!e.contains('\n'));
        assert_eq!(code("a`b\n<!-- c"), "a'b <!- c");
        assert_eq!(link_target("javascript:alert(1)"), None);
    }

    #[test]
    fn splice_keeps_hand_written_text() {
        let (b, e) = markers("c");
        let body = format!("Intro by hand.\r\n\r\n{b}\nold\n{e}\n\nOutro by hand.\n");
        let new = splice(&body, "c", &format!("{b}\nnew\n{e}")).unwrap();
        assert_eq!(
            new,
            format!("Intro by hand.\r\n\r\n{b}\nnew\n{e}\n\nOutro by hand.\n")
        );
        let appended = splice("Intro.\n\n", "c", &format!("{b}\nx\n{e}")).unwrap();
        assert_eq!(appended, format!("Intro.\n\n{b}\nx\n{e}\n"));
        assert_eq!(
            splice(&appended, "c", &format!("{b}\nx\n{e}")).unwrap(),
            appended,
            "idempotent"
        );
        assert!(splice(&format!("x {b} y"), "c", "s").is_err());
        assert!(splice(&format!("{e} x {b}"), "c", "s").is_err());
        // Another campaign's section is someone else's text.
        let other = splice(&appended, "d", "D").unwrap();
        assert!(other.starts_with(&appended.trim_end().to_string()));
    }

    #[test]
    fn big_campaigns_fit_the_body_limit() {
        let mut sites = Vec::new();
        for i in 0..20_000 {
            let status = if i % 3 == 0 {
                Status::Fixed
            } else {
                Status::NeedsFix
            };
            let sub = format!("SUBSYSTEM {}", i % 150);
            sites.push(site(&format!("drivers/x/file{i}.c"), i, status, Some(&sub)));
        }
        let body = update_body("Hand-written.\n", &campaign(), &sites).unwrap();
        assert!(body.len() <= BODY_LIMIT, "{}", body.len());
        assert!(body.starts_with("Hand-written.\n\n"));
        assert!(body.contains("**6667 of 20000 sites done (33%)**"));
        assert!(
            body.contains("### SUBSYSTEM 149 ("),
            "every subsystem keeps its heading"
        );
        assert!(body
            .trim_end()
            .ends_with("<!-- treewide:end iov-iter-direction -->"));
        // Middle-sized: done sites are counted, open ones listed.
        let some: Vec<IssueSite> = sites.into_iter().take(1200).collect();
        let body = update_body("", &campaign(), &some).unwrap();
        assert!(body.len() <= BODY_LIMIT);
        assert!(body.contains("- [ ] `drivers/x/file1.c:1`"));
    }
}
