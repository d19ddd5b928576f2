//! GitHub's REST API, through octocrab's client (authentication, base URI, retries of server
//! errors, timeouts).
//!
//! Requests go through octocrab's raw calls rather than its typed models: the importer needs
//! the response headers (`Link` pagination, `x-ratelimit-*`), and a field GitHub leaves out
//! or sends as `null` must not fail a whole import, so replies are read into the small,
//! lenient structs of the modules that use them. Rate limits are handled here: a limit that
//! resets within a minute is waited out, a later one ends the command with the reset time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;

/// Where the API is when neither `--api-url` nor `TREEWIDE_GITHUB_API` says otherwise.
pub const DEFAULT_API: &str = "https://api.github.com";

/// The longest rate-limit reset the client waits for before giving up.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How many times one request is retried after waiting for a rate limit to reset.
const RATE_LIMIT_RETRIES: u32 = 3;

/// `OWNER/NAME` of a repository, checked so that it can go into a URL path as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    /// Parse `OWNER/NAME` (GitHub allows letters, digits, `-`, `_` and `.`).
    pub fn parse(s: &str) -> anyhow::Result<RepoName> {
        let ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match s.trim().split_once('/') {
            Some((o, n)) if ok(o) && ok(n) => Ok(RepoName {
                owner: o.to_owned(),
                name: n.to_owned(),
            }),
            _ => bail!("--repo {s:?}: expected OWNER/NAME, e.g. torvalds/linux"),
        }
    }
}

impl std::fmt::Display for RepoName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A successful reply.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The `rel="next"` URL of the `Link` header, if there is a next page.
    pub fn next_page(&self) -> Option<String> {
        self.headers
            .get_all(http::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link)
    }
}

/// The `rel="next"` target of one `Link` header value.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_owned())
    })
}

/// GitHub's error body: `{"message": "Not Found", "documentation_url": …}`.
#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
}

/// A rate limit GitHub reported, from a 403 or 429 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// When the limit resets (seconds since the epoch), if GitHub said.
    pub reset: Option<i64>,
    /// Seconds to wait (`retry-after`, secondary limits), if GitHub said.
    pub retry_after: Option<u64>,
    pub limit: Option<u64>,
}

impl RateLimit {
    /// The rate limit a reply reports: a 403 or 429 with `x-ratelimit-remaining: 0` or a
    /// `retry-after` (a 403 without either is a permission problem, not a limit).
    pub fn of(status: StatusCode, headers: &HeaderMap) -> Option<RateLimit> {
        if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let exhausted = num("x-ratelimit-remaining") == Some(0);
        let retry_after = num("retry-after").and_then(|s| u64::try_from(s).ok());
        (exhausted || retry_after.is_some()).then(|| RateLimit {
            reset: num("x-ratelimit-reset"),
            retry_after,
            limit: num("x-ratelimit-limit").and_then(|s| u64::try_from(s).ok()),
        })
    }

    /// How long to wait before retrying, when that is short enough to be worth it.
    pub fn wait(&self, now: i64) -> Option<Duration> {
        let secs = match (self.retry_after, self.reset) {
            (Some(s), _) => s,
            (None, Some(reset)) => u64::try_from(reset.saturating_sub(now)).unwrap_or(0) + 1,
            (None, None) => return None,
        };
        let d = Duration::from_secs(secs);
        (d <= MAX_WAIT).then_some(d)
    }

    /// The error the command ends with.
    pub fn explain(&self, url: &str, now: i64, has_token: bool) -> String {
        let when = match self.reset {
            Some(reset) => {
                let at = time::OffsetDateTime::from_unix_timestamp(reset)
                    .map(treewide_core::model::format_time)
                    .unwrap_or_else(|_| reset.to_string());
                let mins = (reset.saturating_sub(now).max(0) + 59) / 60;
                format!("it resets at {at} (in {mins} min)")
            }
            None => match self.retry_after {
                Some(s) => format!("GitHub asks to retry in {s} s"),
                None => "GitHub did not say when it resets".to_owned(),
            },
        };
        let limit = self
            .limit
            .map(|l| format!(" ({l} requests an hour)"))
            .unwrap_or_default();
        let hint = if has_token {
            "run the command again then"
        } else {
            "set GITHUB_TOKEN to a personal access token for 5000 requests an hour, or run \
             the command again then"
        };
        format!("GET {url}: GitHub's rate limit is used up{limit}; {when}; {hint}")
    }
}

/// A GitHub API client for one repository.
pub struct Client {
    octo: Octocrab,
    pub repo: RepoName,
    api: String,
    has_token: bool,
    requests: AtomicU64,
}

impl Client {
    /// A client for `repo` at `api_url`, authenticated with `token` when given.
    pub fn new(api_url: &str, token: Option<&str>, repo: RepoName) -> anyhow::Result<Client> {
        let api = api_url.trim_end_matches('/').to_owned();
        let mut builder = Octocrab::builder()
            .base_uri(api.as_str())
            .with_context(|| format!("--api-url {api_url:?} is not a URL"))?
            // Server errors and dropped connections; rate limits are handled in `send`.
            .add_retry_config(RetryConfig::Simple(2))
            .set_connect_timeout(Some(Duration::from_secs(15)))
            .set_read_timeout(Some(Duration::from_secs(120)));
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = token {
            builder = builder.personal_token(t.to_owned());
        }
        let octo = builder.build().context("cannot set up the GitHub client")?;
        Ok(Client {
            octo,
            repo,
            api,
            has_token: token.is_some(),
            requests: AtomicU64::new(0),
        })
    }

    /// `/repos/OWNER/NAME` followed by `rest`.
    pub fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    /// How many HTTP requests were made (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The full URL of an API path, for messages.
    fn full_url(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.api)
        } else {
            url.to_owned()
        }
    }

    /// GET `url` (an API path or a full URL, e.g. from a `Link` header); a reply that is not
    /// a success is an error naming the URL.
    pub async fn get(&self, url: &str, accept: Option<&str>) -> anyhow::Result<Reply> {
        let reply = self.send(http::Method::GET, url, accept, None).await?;
        self.success(url, "GET", reply)
    }

    /// GET `url`; `None` when GitHub answers 404 (e.g. a file a commit does not have).
    pub async fn get_optional(
        &self,
        url: &str,
        accept: Option<&str>,
    ) -> anyhow::Result<Option<Reply>> {
        let reply = self.send(http::Method::GET, url, accept, None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.success(url, "GET", reply).map(Some)
    }

    /// GET `url` as JSON, with the next page's URL.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> anyhow::Result<(T, Option<String>)> {
        let reply = self.get(url, None).await?;
        let next = reply.next_page();
        let value = serde_json::from_slice(&reply.body)
            .with_context(|| format!("GET {}: unexpected reply", self.full_url(url)))?;
        Ok((value, next))
    }

    /// GET the repository itself: a 404 here means it does not exist or cannot be seen.
    pub async fn repository(&self) -> anyhow::Result<Repository> {
        let path = self.repo_path("");
        let reply = self.send(http::Method::GET, &path, None, None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            let why = if self.has_token {
                "or GITHUB_TOKEN cannot see it"
            } else {
                "or private and GITHUB_TOKEN not set"
            };
            bail!(
                "GET {}: {} not found, {why}",
                self.full_url(&path),
                self.repo
            );
        }
        let reply = self.success(&path, "GET", reply)?;
        serde_json::from_slice(&reply.body)
            .with_context(|| format!("GET {}: unexpected reply", self.full_url(&path)))
    }

    /// PATCH `url` with a JSON body.
    pub async fn patch_json(&self, url: &str, body: &serde_json::Value) -> anyhow::Result<Reply> {
        let reply = self
            .send(http::Method::PATCH, url, None, Some(body))
            .await?;
        self.success(url, "PATCH", reply)
    }

    fn success(&self, url: &str, method: &str, reply: Reply) -> anyhow::Result<Reply> {
        if reply.status.is_success() {
            return Ok(reply);
        }
        let message = serde_json::from_slice::<ErrorBody>(&reply.body)
            .ok()
            .and_then(|b| b.message)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        Err(anyhow!(
            "{method} {}: {}{message}",
            self.full_url(url),
            reply.status
        ))
    }

    /// One request, repeated after a short rate-limit wait; a long one is an error.
    async fn send(
        &self,
        method: http::Method,
        url: &str,
        accept: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<Reply> {
        let full = self.full_url(url);
        let mut waited = 0;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = if method == http::Method::PATCH {
                self.octo._patch(url, body).await
            } else {
                {
                    let mut headers = HeaderMap::new();
                    if let Some(a) = accept {
                        headers.insert(
                            http::header::ACCEPT,
                            http::HeaderValue::from_str(a).context("bad Accept value")?,
                        );
                    }
                    self.octo._get_with_headers(url, Some(headers)).await
                }
            }
            .with_context(|| format!("{method} {full}: request failed"))?;
            let (parts, body) = response.into_parts();
            let bytes = body
                .collect()
                .await
                .with_context(|| format!("{method} {full}: reply cut short"))?
                .to_bytes()
                .to_vec();
            let reply = Reply {
                status: parts.status,
                headers: parts.headers,
                body: bytes,
            };
            let Some(limit) = RateLimit::of(reply.status, &reply.headers) else {
                return Ok(reply);
            };
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            match limit.wait(now) {
                Some(d) if waited < RATE_LIMIT_RETRIES => {
                    waited += 1;
                    tracing::warn!(url = %full, seconds = d.as_secs(), "GitHub rate limit: waiting");
                    tokio::time::sleep(d).await;
                }
                _ => bail!(limit.explain(&full, now, self.has_token)),
            }
        }
    }
}

/// The parts of `GET /repos/{owner}/{repo}` the commands use.
#[derive(Debug, serde::Deserialize)]
pub struct Repository {
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next_page() {
        let h = r#"<https://api.github.com/repositories/1/commits?page=2>; rel="next", <https://api.github.com/repositories/1/commits?page=9>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/commits?page=2")
        );
        let last =
            r#"<https://x/commits?page=1>; rel="prev", <https://x/commits?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
        assert_eq!(next_link("garbage"), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn rate_limits_are_told_from_forbidden() {
        let mut h = HeaderMap::new();
        assert_eq!(RateLimit::of(StatusCode::FORBIDDEN, &h), None);
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1000".parse().unwrap());
        let l = RateLimit::of(StatusCode::FORBIDDEN, &h).unwrap();
        assert_eq!(l.reset, Some(1000));
        assert_eq!(l.wait(990), Some(Duration::from_secs(11)));
        assert_eq!(l.wait(100), None, "15 minutes is too long to wait");
        assert!(l.explain("u", 100, false).contains("GITHUB_TOKEN"));
        assert_eq!(RateLimit::of(StatusCode::NOT_FOUND, &h), None);
    }

    #[test]
    fn repo_names_are_checked() {
        assert_eq!(
            RepoName::parse("torvalds/linux").unwrap().to_string(),
            "torvalds/linux"
        );
        assert!(RepoName::parse("torvalds").is_err());
        assert!(RepoName::parse("a/b/c").is_err());
        assert!(RepoName::parse("../x").is_err());
        assert!(RepoName::parse("a/b?x=1").is_err());
    }
}
