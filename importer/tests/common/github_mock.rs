//! A GitHub REST API stand-in for tests: one repository with a commit graph, served on
//! 127.0.0.1 with GitHub's field names, `Link` pagination, rate-limit replies and 404 bodies.
//! It serves only what `treewide import github` and `treewide sync github-issue` ask for.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

/// A change a commit makes to one file.
#[derive(Clone)]
pub enum Edit {
    Set(String, Vec<u8>),
    Remove(String),
    Rename(String, String, Vec<u8>),
}

#[derive(Clone)]
struct Commit {
    sha: String,
    parents: Vec<String>,
    date: String,
    message: String,
    /// (filename, status, previous_filename)
    files: Vec<(String, &'static str, Option<String>)>,
    tree: BTreeMap<String, Vec<u8>>,
}

/// What the server answers with instead of the data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    None,
    /// Every request: 403, `x-ratelimit-remaining: 0`, reset in an hour.
    RateLimited,
    /// The next request only: 403 resetting in one second.
    BrieflyLimited,
}

#[derive(Default)]
struct Data {
    commits: Vec<Commit>,
    by_sha: HashMap<String, usize>,
    head: String,
    /// Requests as "METHOD path?query".
    log: Vec<String>,
    issues: HashMap<u64, String>,
    pulls: HashMap<String, Value>,
    trouble: Option<Trouble>,
}

/// The mock repository `OWNER/NAME` with branch `master`.
pub struct Mock {
    pub owner: String,
    pub name: String,
    /// Page size the listings use (GitHub's is `per_page`; smaller here to exercise paging).
    pub page_size: usize,
    base: Mutex<String>,
    data: Mutex<Data>,
}

impl Mock {
    pub fn new(owner: &str, name: &str) -> Arc<Mock> {
        Arc::new(Mock {
            owner: owner.into(),
            name: name.into(),
            page_size: 2,
            base: Mutex::new(String::new()),
            data: Mutex::new(Data::default()),
        })
    }

    /// Serve on a random local port; returns the base URL.
    pub async fn serve(self: &Arc<Mock>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *self.base.lock().unwrap() = base.clone();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    /// Add a commit on `parents` (default: the head) and make it the head; returns its sha.
    pub fn commit(
        &self,
        parents: Option<Vec<String>>,
        date: &str,
        message: &str,
        edits: Vec<Edit>,
    ) -> String {
        let mut d = self.data.lock().unwrap();
        let parents = parents.unwrap_or_else(|| {
            if d.head.is_empty() {
                vec![]
            } else {
                vec![d.head.clone()]
            }
        });
        let mut tree = parents
            .first()
            .map(|p| d.commits[d.by_sha[p]].tree.clone())
            .unwrap_or_default();
        let mut files = Vec::new();
        for e in edits {
            match e {
                Edit::Set(path, content) => {
                    let status = if tree.contains_key(&path) {
                        "modified"
                    } else {
                        "added"
                    };
                    tree.insert(path.clone(), content);
                    files.push((path, status, None));
                }
                Edit::Remove(path) => {
                    tree.remove(&path);
                    files.push((path, "removed", None));
                }
                Edit::Rename(from, to, content) => {
                    tree.remove(&from);
                    tree.insert(to.clone(), content);
                    files.push((to, "renamed", Some(from)));
                }
            }
        }
        let n = d.commits.len() + 1;
        let sha = format!(
            "{:08x}{:032x}",
            (n as u32).wrapping_mul(2654435761),
            (n as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        let at = d.commits.len();
        d.by_sha.insert(sha.clone(), at);
        d.commits.push(Commit {
            sha: sha.clone(),
            parents,
            date: date.into(),
            message: message.into(),
            files,
            tree,
        });
        d.head = sha.clone();
        sha
    }

    pub fn set_trouble(&self, t: Trouble) {
        self.data.lock().unwrap().trouble = Some(t);
    }

    pub fn set_issue(&self, n: u64, body: &str) {
        self.data.lock().unwrap().issues.insert(n, body.into());
    }

    pub fn issue(&self, n: u64) -> String {
        self.data.lock().unwrap().issues[&n].clone()
    }

    pub fn set_pulls(&self, sha: &str, prs: Value) {
        self.data.lock().unwrap().pulls.insert(sha.into(), prs);
    }

    /// The requests so far, and forget them.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.data.lock().unwrap().log)
    }

    fn html(&self, sha: &str) -> String {
        format!(
            "https://github.com/{}/{}/commit/{sha}",
            self.owner, self.name
        )
    }
}

fn error(status: StatusCode, message: &str, doc: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"message": message, "documentation_url": doc, "status": status.as_str()}),
        ),
    )
        .into_response()
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "Not Found",
        "https://docs.github.com/rest",
    )
}

fn rate_limited(reset_in: i64) -> Response {
    let reset = time::OffsetDateTime::now_utc().unix_timestamp() + reset_in;
    let mut r = error(
        StatusCode::FORBIDDEN,
        "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
        "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
    );
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", "60".parse().unwrap());
    h.insert("x-ratelimit-remaining", "0".parse().unwrap());
    h.insert("x-ratelimit-reset", reset.to_string().parse().unwrap());
    h.insert("x-ratelimit-used", "60".parse().unwrap());
    h.insert("x-ratelimit-resource", "core".parse().unwrap());
    r
}

fn query(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| {
                    (
                        k.to_owned(),
                        percent_encoding::percent_decode_str(v)
                            .decode_utf8_lossy()
                            .into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn handle(
    State(m): State<Arc<Mock>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut d = m.data.lock().unwrap();
    d.log.push(format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    ));
    match d.trouble {
        Some(Trouble::RateLimited) => return rate_limited(3600),
        Some(Trouble::BrieflyLimited) => {
            d.trouble = None;
            return rate_limited(1);
        }
        _ => {}
    }
    let path = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let prefix = format!("/repos/{}/{}", m.owner, m.name);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return not_found();
    };
    let q = query(&uri);
    let base = m.base.lock().unwrap().clone();
    let parts: Vec<&str> = rest.trim_start_matches('/').splitn(2, '/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", [""]) => axum::Json(json!({
            "id": 2325298, "name": m.name, "full_name": format!("{}/{}", m.owner, m.name),
            "private": false, "default_branch": "master",
            "html_url": format!("https://github.com/{}/{}", m.owner, m.name)
        })).into_response(),
        ("GET", ["branches", b]) if *b == "master" => axum::Json(json!({
            "name": "master", "commit": {"sha": d.head, "url": format!("{base}{prefix}/commits/{}", d.head)}, "protected": false
        })).into_response(),
        ("GET", ["commits"]) => list(&m, &d, &q, &base, &prefix),
        ("GET", ["commits", rest]) => {
            if let Some(sha) = rest.strip_suffix("/pulls") {
                return axum::Json(d.pulls.get(sha).cloned().unwrap_or(json!([]))).into_response();
            }
            match d.by_sha.get(*rest) {
                Some(&i) => axum::Json(detail(&m, &d, i)).into_response(),
                None => error(StatusCode::UNPROCESSABLE_ENTITY, &format!("No commit found for SHA: {rest}"), "https://docs.github.com/rest/commits/commits#get-a-commit"),
            }
        }
        ("GET", ["compare", basehead]) => compare(&m, &d, basehead, &q, &base, &prefix),
        ("GET", ["contents", file]) => {
            let Some(&i) = q.get("ref").and_then(|r| d.by_sha.get(r)) else { return not_found() };
            let Some(content) = d.commits[i].tree.get(*file) else { return not_found() };
            if headers.get("accept").and_then(|v| v.to_str().ok()) == Some("application/vnd.github.raw+json") {
                return content.clone().into_response();
            }
            let b64 = base64::engine::general_purpose::STANDARD.encode(content);
            let wrapped: Vec<&str> = b64.as_bytes().chunks(60).map(|c| std::str::from_utf8(c).unwrap()).collect();
            axum::Json(json!({
                "type": "file", "encoding": "base64", "size": content.len(), "name": file.rsplit('/').next(),
                "path": file, "content": wrapped.join("\n") + "\n", "sha": format!("{:040x}", content.len()),
            })).into_response()
        }
        ("GET", ["issues", n]) => match n.parse().ok().and_then(|n: u64| d.issues.get(&n).map(|b| (n, b))) {
            Some((n, b)) => axum::Json(json!({"number": n, "title": "Tracking", "state": "open", "body": b})).into_response(),
            None => not_found(),
        },
        ("PATCH", ["issues", n]) => {
            let Some(n) = n.parse::<u64>().ok().filter(|n| d.issues.contains_key(n)) else { return not_found() };
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let Some(b) = v.get("body").and_then(Value::as_str) else {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request.", "https://docs.github.com/rest/issues/issues#update-an-issue");
            };
            if b.chars().count() > 65536 {
                return error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed", "body is too long (maximum is 65536 characters)");
            }
            d.issues.insert(n, b.to_owned());
            axum::Json(json!({"number": n, "body": b})).into_response()
        }
        _ => not_found(),
    }
}

fn list_item(m: &Mock, c: &Commit) -> Value {
    json!({
        "sha": c.sha, "node_id": "C_x", "html_url": m.html(&c.sha),
        "commit": {
            "author": {"name": "Al Viro", "email": "viro@zeniv.linux.org.uk", "date": c.date},
            "committer": {"name": "Linus Torvalds", "email": "torvalds@linux-foundation.org", "date": c.date},
            "message": c.message,
        },
        "parents": c.parents.iter().map(|p| json!({"sha": p, "html_url": m.html(p)})).collect::<Vec<_>>(),
    })
}

fn detail(m: &Mock, d: &Data, i: usize) -> Value {
    let c = &d.commits[i];
    let mut v = list_item(m, c);
    v["files"] = c.files.iter().map(|(f, status, prev)| {
        let mut x = json!({"sha": "0000000000000000000000000000000000000000", "filename": f, "status": status, "additions": 1, "deletions": 1, "changes": 2});
        if let Some(p) = prev { x["previous_filename"] = json!(p); }
        x
    }).collect();
    v
}

/// Commits reachable from `sha`, newest first (by date, then by position).
fn reachable(d: &Data, sha: &str) -> Vec<usize> {
    let mut seen = HashSet::new();
    let mut stack = vec![sha.to_owned()];
    let mut out = Vec::new();
    while let Some(s) = stack.pop() {
        let Some(&i) = d.by_sha.get(&s) else { continue };
        if seen.insert(i) {
            out.push(i);
            stack.extend(d.commits[i].parents.iter().cloned());
        }
    }
    out.sort_by(|a, b| (&d.commits[*b].date, b).cmp(&(&d.commits[*a].date, a)));
    out
}

fn touches(c: &Commit, path: &str) -> bool {
    c.files
        .iter()
        .any(|(f, _, p)| f == path || p.as_deref() == Some(path))
}

/// One page of `items`, with GitHub's `Link` header.
fn paged(
    items: Vec<Value>,
    q: &HashMap<String, String>,
    page_size: usize,
    base: &str,
    path: &str,
) -> Response {
    let per = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30usize)
        .min(page_size);
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per).max(1);
    let chunk: Vec<Value> = items.into_iter().skip((page - 1) * per).take(per).collect();
    let link_to = |p: usize| {
        let mut q2: Vec<(String, String)> = q
            .iter()
            .filter(|(k, _)| *k != "page")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        q2.sort();
        q2.push(("page".into(), p.to_string()));
        let qs: Vec<String> = q2
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect();
        format!("<{base}{path}?{}>", qs.join("&"))
    };
    let mut links = Vec::new();
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut r = axum::Json(chunk).into_response();
    if !links.is_empty() {
        r.headers_mut()
            .insert("link", links.join(", ").parse().unwrap());
    }
    r
}

fn list(m: &Mock, d: &Data, q: &HashMap<String, String>, base: &str, prefix: &str) -> Response {
    let sha = q.get("sha").cloned().unwrap_or_else(|| d.head.clone());
    if !d.by_sha.contains_key(&sha) {
        return error(
            StatusCode::NOT_FOUND,
            &format!("No commit found for SHA: {sha}"),
            "https://docs.github.com/rest/commits/commits#list-commits",
        );
    }
    let items = reachable(d, &sha)
        .into_iter()
        .map(|i| &d.commits[i])
        .filter(|c| q.get("path").is_none_or(|p| touches(c, p)))
        .filter(|c| q.get("since").is_none_or(|s| c.date >= *s))
        .map(|c| list_item(m, c))
        .collect();
    paged(items, q, m.page_size, base, &format!("{prefix}/commits"))
}

fn compare(
    m: &Mock,
    d: &Data,
    basehead: &str,
    q: &HashMap<String, String>,
    base: &str,
    prefix: &str,
) -> Response {
    let Some((a, b)) = basehead.split_once("...") else {
        return not_found();
    };
    if !d.by_sha.contains_key(a) || !d.by_sha.contains_key(b) {
        return not_found();
    }
    let old: HashSet<usize> = reachable(d, a).into_iter().collect();
    let mut new: Vec<usize> = reachable(d, b)
        .into_iter()
        .filter(|i| !old.contains(i))
        .collect();
    new.reverse(); // oldest first, as GitHub lists them
    let commits: Vec<Value> = new.iter().map(|&i| list_item(m, &d.commits[i])).collect();
    let total = commits.len();
    // GitHub pages a comparison's commits; the page body is the comparison object.
    let r = paged(
        commits,
        q,
        m.page_size,
        base,
        &format!("{prefix}/compare/{basehead}"),
    );
    let (parts, body) = r.into_parts();
    let _ = body;
    let per = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(250usize)
        .min(m.page_size);
    let page: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let chunk: Vec<Value> = new
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|&i| list_item(m, &d.commits[i]))
        .collect();
    let v = json!({
        "status": "ahead", "ahead_by": total, "behind_by": 0, "total_commits": total,
        "base_commit": list_item(m, &d.commits[d.by_sha[a]]), "commits": chunk, "files": [],
    });
    let mut out = axum::Json(v).into_response();
    if let Some(l) = parts.headers.get("link") {
        out.headers_mut().insert("link", l.clone());
    }
    out
}
