//! A GitHub mirror's history, read through the REST API (octocrab's client, see
//! [`crate::github`]).
//!
//! GitHub lists the commits touching one path (`/commits?path=`), so the source asks once per
//! watched file instead of walking the whole history; merges are skipped as in the local
//! walk. Each remaining commit's detail names its files (with renames), and the watched ones
//! are fetched at the parent and at the commit and handed to the same [`Analyzer`] as a local
//! repository's history. A rename makes its other path watched and that path is listed in a
//! further pass.
//!
//! The cursor holds the branch head. When it moved, the compare API gives exactly the commits
//! new since then (merged side branches included, whatever their dates); the path listings
//! then start at the oldest date among them and keep only those commits, so a second run
//! fetches no detail of a commit it has read. When the head did not move nothing is read.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{bail, Context};
use base64::Engine;
use treewide_core::history::{CommitInfo, Cursor, SitePage, TrackedSite};
use treewide_formats::spec::Spec;

use super::{upstream_of, Analyzer, Outcome, SourceCommit};
use crate::github::{Client, RepoName};

/// The media type that makes `/contents` answer with the file's bytes (any size up to
/// 100 MB; the JSON form carries no content above 1 MB).
const RAW: &str = "application/vnd.github.raw+json";

/// How many pages of one listing are read at most (100 commits each): a bound against a
/// server that keeps sending `next`.
const MAX_PAGES: usize = 10_000;

/// What walking the branch through the API found.
#[derive(Debug)]
pub struct GitHubWalk {
    pub outcome: Outcome,
    pub cursors: Vec<Cursor>,
    /// The branch head positions were taken at (none when nothing was read).
    pub tip: Option<String>,
    pub tip_name: String,
    /// Pull requests of linked commits, per linked site.
    pub pages: Vec<SitePage>,
    /// HTTP requests made.
    pub requests: u64,
}

/// The key a GitHub repository's cursors are stored under.
pub fn repo_key(repo: &RepoName) -> String {
    format!("github:{repo}")
}

/// `{"sha": …}` (parents, branch heads).
#[derive(Debug, Default, serde::Deserialize)]
struct Sha {
    #[serde(default)]
    sha: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Person {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct GitCommit {
    #[serde(default)]
    author: Option<Person>,
    #[serde(default)]
    committer: Option<Person>,
    #[serde(default)]
    message: Option<String>,
}

/// A commit as `/commits`, `/commits/{sha}` and `/compare` give it.
#[derive(Debug, Default, serde::Deserialize)]
struct ApiCommit {
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    parents: Vec<Sha>,
    #[serde(default)]
    commit: GitCommit,
    #[serde(default)]
    files: Vec<ApiFile>,
}

impl ApiCommit {
    /// The earlier of author and committer date (what a `since` must not exceed).
    fn earliest_date(&self) -> Option<&str> {
        let dates = [&self.commit.author, &self.commit.committer];
        dates
            .iter()
            .filter_map(|p| p.as_ref()?.date.as_deref())
            .filter_map(|d| Some((unix(d)?, d)))
            .min_by_key(|(t, _)| *t)
            .map(|(_, d)| d)
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
struct ApiFile {
    #[serde(default)]
    filename: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    previous_filename: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Compare {
    #[serde(default)]
    commits: Vec<ApiCommit>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Branch {
    #[serde(default)]
    commit: Sha,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Contents {
    #[serde(default)]
    r#type: Option<String>,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Login {
    #[serde(default)]
    login: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct PullRequest {
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    number: Option<u64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    user: Option<Login>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A listed commit: enough to skip merges without asking for its detail.
struct Listed {
    sha: String,
    parents: usize,
}

/// The commits new since the previous head, and the date the path listings can start at.
struct Range {
    commits: HashSet<String>,
    since: Option<String>,
}

/// Read the history of `branch` (default: the repository's default branch) for `sites`.
/// `done` are the cursors of earlier imports of this repository; `progress(commits, total)`
/// follows the commit details read.
pub async fn read(
    client: &Client,
    branch: Option<&str>,
    spec: &Spec,
    sites: &[TrackedSite],
    done: &[Cursor],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<GitHubWalk> {
    let repository = client.repository().await?;
    let branch = match branch.or(repository.default_branch.as_deref()) {
        Some(b) => b.to_owned(),
        None => bail!(
            "{}: GitHub names no default branch; give --branch",
            client.repo
        ),
    };
    let head = branch_head(client, &branch).await?;
    let key = repo_key(&client.repo);
    let cursor = Cursor {
        repo: key.clone(),
        ref_name: branch.clone(),
        last_commit: head.clone(),
    };
    let tip_name = format!("{branch} at {}", &head[..head.len().min(12)]);
    let previous = done
        .iter()
        .find(|c| c.ref_name == branch)
        .map(|c| c.last_commit.clone());
    if previous.as_deref() == Some(head.as_str()) {
        return Ok(GitHubWalk {
            outcome: Outcome::default(),
            cursors: vec![cursor],
            tip: None,
            tip_name,
            pages: Vec::new(),
            requests: client.requests(),
        });
    }
    let range = match &previous {
        Some(p) => new_commits(client, p, &head).await?,
        None => None,
    };

    let mut analyzer = Analyzer::new(spec, sites)?;
    let mut listed_paths: HashSet<String> = HashSet::new();
    let mut details: HashMap<String, ApiCommit> = HashMap::new();
    let mut handled: HashSet<(String, String)> = HashSet::new();
    let mut touched: HashSet<String> = HashSet::new();
    let mut read_commits = 0u64;
    for _pass in 0..16 {
        let mut paths: Vec<String> = analyzer
            .watched()
            .iter()
            .filter(|p| !listed_paths.contains(*p))
            .cloned()
            .collect();
        if paths.is_empty() {
            break;
        }
        paths.sort();
        listed_paths.extend(paths.iter().cloned());
        let mut todo: Vec<Listed> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for path in &paths {
            for c in list_commits(client, path, &head, range.as_ref()).await? {
                if seen.insert(c.sha.clone()) {
                    todo.push(c);
                }
            }
        }
        // Merges bring changes made (and read) in their side's own commits.
        todo.retain(|c| c.parents == 1);
        let total = todo.len() as u64;
        for (n, c) in todo.iter().enumerate() {
            progress(n as u64, total);
            if !details.contains_key(&c.sha) {
                let detail = commit_detail(client, &c.sha).await?;
                read_commits += 1;
                details.insert(c.sha.clone(), detail);
            }
            let Some(detail) = details.get(&c.sha) else {
                continue;
            };
            let changed =
                apply_commit(client, &mut analyzer, &branch, &c.sha, detail, &mut handled).await?;
            touched.extend(changed);
        }
        progress(total, total);
    }
    analyzer.stats.commits = read_commits;

    // Positions: every watched file on a first read; after that only the files new commits
    // touched (the others cannot have moved).
    let at_tip: Vec<String> = match &range {
        None => analyzer.watched().iter().cloned().collect(),
        Some(_) => touched.iter().cloned().collect(),
    };
    let mut tip_files = BTreeMap::new();
    for path in at_tip {
        if let Some(content) = file_at(client, &path, &head).await? {
            tip_files.insert(path, content);
        }
    }
    let followed: Vec<TrackedSite> = match &range {
        None => sites.to_vec(),
        Some(_) => sites
            .iter()
            .filter(|s| touched.contains(&s.file))
            .cloned()
            .collect(),
    };
    let outcome = analyzer.finish(&followed, &tip_files, &tip_name);
    let pages = pull_requests(client, &outcome).await?;
    Ok(GitHubWalk {
        outcome,
        cursors: vec![cursor],
        tip: Some(head),
        tip_name,
        pages,
        requests: client.requests(),
    })
}

/// `segment` made safe for a URL path (a branch name may hold `/`, which GitHub accepts).
fn path_part(segment: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.');
    percent_encoding::utf8_percent_encode(segment, SET).to_string()
}

/// `value` made safe for a query string.
fn query_part(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The commit a branch points at.
async fn branch_head(client: &Client, branch: &str) -> anyhow::Result<String> {
    let url = client.repo_path(&format!("/branches/{}", path_part(branch)));
    let Some(reply) = client.get_optional(&url, None).await? else {
        bail!("{}: no branch {branch:?}", client.repo);
    };
    let b: Branch = serde_json::from_slice(&reply.body)
        .with_context(|| format!("GET {url}: unexpected reply"))?;
    match b.commit.sha {
        Some(sha) if is_sha(&sha) => Ok(sha),
        _ => bail!("GET {url}: the reply names no commit"),
    }
}

fn is_sha(s: &str) -> bool {
    s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commits reachable from `head` and not from `previous`, via the compare API; `None`
/// (read everything again) when GitHub no longer has `previous`, e.g. after a force push.
async fn new_commits(client: &Client, previous: &str, head: &str) -> anyhow::Result<Option<Range>> {
    let mut url = Some(client.repo_path(&format!(
        "/compare/{}...{}?per_page=100",
        path_part(previous),
        path_part(head)
    )));
    let mut range = Range {
        commits: HashSet::new(),
        since: None,
    };
    let mut pages = 0;
    while let Some(u) = url.take() {
        let Some(reply) = client.get_optional(&u, None).await? else {
            tracing::warn!(
                previous,
                "the previous head is gone from GitHub: reading all again"
            );
            return Ok(None);
        };
        let page: Compare = serde_json::from_slice(&reply.body)
            .with_context(|| format!("GET {u}: unexpected reply"))?;
        for c in &page.commits {
            if let Some(d) = c.earliest_date() {
                if range.since.as_deref().is_none_or(|s| unix(d) < unix(s)) {
                    range.since = Some(d.to_owned());
                }
            }
            if let Some(sha) = &c.sha {
                range.commits.insert(sha.clone());
            }
        }
        pages += 1;
        if !page.commits.is_empty() && pages < MAX_PAGES {
            url = reply.next_page();
        }
    }
    Ok(Some(range))
}

/// The commits of `head`'s history that touch `path` (within `range`, when given).
async fn list_commits(
    client: &Client,
    path: &str,
    head: &str,
    range: Option<&Range>,
) -> anyhow::Result<Vec<Listed>> {
    let mut url = format!("/commits?sha={head}&path={}&per_page=100", query_part(path));
    if let Some(since) = range.and_then(|r| r.since.as_deref()) {
        url.push_str(&format!("&since={}", query_part(since)));
    }
    let mut next = Some(client.repo_path(&url));
    let mut out = Vec::new();
    let mut pages = 0;
    while let Some(u) = next.take() {
        let (page, link): (Vec<ApiCommit>, _) = client.get_json(&u).await?;
        pages += 1;
        let mut older = false;
        for c in page.iter() {
            let Some(sha) = &c.sha else { continue };
            if let Some(r) = range {
                // Listings are newest first: past the range's oldest date, all is read.
                let before = c
                    .commit
                    .committer
                    .as_ref()
                    .and_then(|p| p.date.as_deref())
                    .zip(r.since.as_deref())
                    .and_then(|(d, s)| Some(unix(d)? < unix(s)?))
                    == Some(true);
                older |= before;
                if !r.commits.contains(sha) {
                    continue;
                }
            }
            out.push(Listed {
                sha: sha.clone(),
                parents: c.parents.len(),
            });
        }
        if !page.is_empty() && !older && pages < MAX_PAGES {
            next = link;
        }
    }
    Ok(out)
}

/// A commit with all its files (GitHub pages them, 300 at a time, for big commits).
async fn commit_detail(client: &Client, sha: &str) -> anyhow::Result<ApiCommit> {
    let url = client.repo_path(&format!("/commits/{sha}"));
    let (mut commit, mut next): (ApiCommit, _) = client.get_json(&url).await?;
    let mut pages = 1;
    while let Some(u) = next.take() {
        let (more, link): (ApiCommit, _) = client.get_json(&u).await?;
        if more.files.is_empty() || pages >= MAX_PAGES {
            break;
        }
        commit.files.extend(more.files);
        next = link;
        pages += 1;
    }
    Ok(commit)
}

/// Hand one commit's changes of watched files to the analyzer; returns the paths involved.
async fn apply_commit(
    client: &Client,
    analyzer: &mut Analyzer<'_>,
    branch: &str,
    sha: &str,
    detail: &ApiCommit,
    handled: &mut HashSet<(String, String)>,
) -> anyhow::Result<Vec<String>> {
    let [parent] = &detail.parents[..] else {
        return Ok(Vec::new());
    };
    let Some(parent) = parent.sha.as_deref() else {
        return Ok(Vec::new());
    };
    let mut paths = Vec::new();
    let mut index = None;
    for f in &detail.files {
        let old_path = f.previous_filename.as_deref().unwrap_or(&f.filename);
        let watched =
            analyzer.watched().contains(&f.filename) || analyzer.watched().contains(old_path);
        if !watched || !handled.insert((sha.to_owned(), f.filename.clone())) {
            continue;
        }
        let ci = *index.get_or_insert_with(|| analyzer.commit(source_commit(sha, detail, branch)));
        match f.status.as_str() {
            "modified" | "changed" => {
                let old = file_at(client, &f.filename, parent)
                    .await?
                    .unwrap_or_default();
                let new = file_at(client, &f.filename, sha).await?.unwrap_or_default();
                analyzer.file_change(ci, &f.filename, &f.filename, &old, &new);
            }
            "removed" => {
                let old = file_at(client, &f.filename, parent)
                    .await?
                    .unwrap_or_default();
                analyzer.file_change(ci, &f.filename, &f.filename, &old, b"");
            }
            "renamed" => {
                handled.insert((sha.to_owned(), old_path.to_owned()));
                analyzer.rename(ci, old_path, &f.filename);
                let old = file_at(client, old_path, parent).await?.unwrap_or_default();
                let new = file_at(client, &f.filename, sha).await?.unwrap_or_default();
                analyzer.file_change(ci, old_path, &f.filename, &old, &new);
                paths.push(old_path.to_owned());
            }
            // Added or copied: nothing was there to fix, move or remove.
            _ => {}
        }
        paths.push(f.filename.clone());
    }
    Ok(paths)
}

/// What the import records of a commit; odd or missing fields give empty values.
fn source_commit(sha: &str, c: &ApiCommit, branch: &str) -> SourceCommit {
    let author = c.commit.author.as_ref();
    let committer = c.commit.committer.as_ref().or(author);
    let text = |p: Option<&Person>, f: fn(&Person) -> &Option<String>| {
        p.and_then(|p| f(p).as_deref())
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let message = c.commit.message.as_deref().unwrap_or_default();
    let subject = message
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let author_date = text(author, |p| &p.date);
    let commit_date = text(committer, |p| &p.date);
    let time = unix(&commit_date).unwrap_or(0);
    SourceCommit {
        info: CommitInfo {
            oid: sha.to_owned(),
            author_name: text(author, |p| &p.name),
            author_email: text(author, |p| &p.email),
            author_date: normalise_date(&author_date),
            commit_date: normalise_date(&commit_date),
            subject_tag: treewide_core::history::subject_tag(&subject),
            upstream_oid: upstream_of(message),
            subject,
            branch: Some(branch.to_owned()),
            url: c.html_url.clone().filter(|u| u.starts_with("http")),
        },
        time,
    }
}

/// Seconds since the epoch of an RFC 3339 time.
fn unix(date: &str) -> Option<i64> {
    time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An RFC 3339 time as stored (UTC, `Z`); kept as given when it does not parse.
fn normalise_date(date: &str) -> String {
    time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .map(treewide_core::model::format_time)
        .unwrap_or_else(|_| date.to_owned())
}

/// A file's bytes at a commit; `None` when the commit does not have it.
async fn file_at(client: &Client, path: &str, sha: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let url = client.repo_path(&format!("/contents/{}?ref={sha}", path_part(path)));
    let Some(reply) = client.get_optional(&url, None).await? else {
        return Ok(None);
    };
    let c: Contents = match serde_json::from_slice(&reply.body) {
        Ok(c) => c,
        // A directory (a JSON list) or something else that is not one file.
        Err(_) => return Ok(None),
    };
    if c.r#type.as_deref().is_some_and(|t| t != "file") {
        return Ok(None);
    }
    match (c.encoding.as_deref(), c.content.as_deref()) {
        (Some("base64"), Some(text)) if !text.is_empty() || c.size == Some(0) => {
            decode_base64(text)
                .with_context(|| format!("{path} at {sha}: GitHub sent bad base64"))
                .map(Some)
        }
        // Over 1 MB GitHub sends no content in JSON: ask for the bytes themselves.
        _ => Ok(client.get_optional(&url, Some(RAW)).await?.map(|r| r.body)),
    }
}

/// GitHub's base64 (wrapped at 60 columns).
fn decode_base64(text: &str) -> anyhow::Result<Vec<u8>> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(compact)?)
}

/// The pull requests that brought in each linked commit, as pages of the linked sites.
async fn pull_requests(client: &Client, outcome: &Outcome) -> anyhow::Result<Vec<SitePage>> {
    let mut out = Vec::new();
    for c in &outcome.commits {
        let url = client.repo_path(&format!("/commits/{}/pulls", c.oid));
        let Some(reply) = client.get_optional(&url, None).await? else {
            continue;
        };
        let prs: Vec<PullRequest> = serde_json::from_slice(&reply.body).unwrap_or_default();
        let sites: HashSet<_> = outcome
            .links
            .iter()
            .filter(|l| l.commit == c.oid)
            .map(|l| l.site)
            .collect();
        for pr in prs {
            let Some(url) = pr.html_url.filter(|u| u.starts_with("http")) else {
                continue;
            };
            let title = match (pr.number, pr.title.as_deref()) {
                (Some(n), Some(t)) => format!("#{n}: {}", t.trim()),
                (Some(n), None) => format!("#{n}"),
                (None, t) => t.unwrap_or("pull request").trim().to_owned(),
            };
            let author = pr.user.and_then(|u| u.login);
            let date = pr.merged_at.or(pr.created_at).map(|d| normalise_date(&d));
            let mut sites: Vec<_> = sites.iter().copied().collect();
            sites.sort();
            for site in sites {
                out.push(SitePage {
                    site,
                    url: url.clone(),
                    title: format!("pull request {title}"),
                    author: author.clone(),
                    date: date.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_github_wraps_it() {
        assert_eq!(
            decode_base64("aW92X2l0ZXJf\na3ZlYygmaXRl\ncg==\n").unwrap(),
            b"iov_iter_kvec(&iter"
        );
        assert!(decode_base64("not base64!").is_err());
    }

    #[test]
    fn odd_commit_json_gives_empty_fields() {
        let c: ApiCommit =
            serde_json::from_str(r#"{"sha": "ab", "commit": {"author": null}, "files": null}"#)
                .unwrap_or_default();
        let s = source_commit("ab", &c, "master");
        assert_eq!(s.info.subject, "");
        assert_eq!(s.info.author_name, "");
        assert_eq!(s.time, 0);
        let c: ApiCommit = serde_json::from_str(
            r#"{"sha": "ab", "html_url": "https://github.com/o/r/commit/ab",
                "commit": {"author": {"name": "A", "email": "a@x", "date": "2022-10-20T14:01:02+02:00"},
                           "message": "vhost: fix\n it\n\ncommit 0123456789ab upstream."}}"#,
        )
        .unwrap();
        let s = source_commit("ab", &c, "master");
        assert_eq!(s.info.subject, "vhost: fix it");
        assert_eq!(s.info.author_date, "2022-10-20T12:01:02Z");
        assert_eq!(s.info.commit_date, "2022-10-20T12:01:02Z");
        assert_eq!(s.info.upstream_oid.as_deref(), Some("0123456789ab"));
        assert_eq!(s.info.subject_tag.as_deref(), Some("vhost"));
    }

    #[test]
    fn paths_and_queries_are_escaped() {
        assert_eq!(path_part("fs/cifs/file.c"), "fs/cifs/file.c");
        assert_eq!(path_part("a b#c?"), "a%20b%23c%3F");
        assert_eq!(query_part("a/b&c"), "a%2Fb%26c");
    }
}
