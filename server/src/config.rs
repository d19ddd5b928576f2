//! How a server is set up: the URL people reach it at (which decides Secure cookies and the
//! absolute links of feeds), how hard logins are rate-limited, how often expired sessions
//! are deleted, and how much load it takes on before answering 503.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use axum::http::Uri;

/// A server's settings. `Config::default()` is what `treewide serve` uses on loopback without
/// `--public-url`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The URL people reach the server at, when known: feeds link there.
    pub public_url: Option<PublicUrl>,
    /// Whether session (and so CSRF) cookies are `Secure`. Browsers keep a Secure cookie only
    /// over https or from a loopback address, so plain http on a LAN needs it off.
    pub secure_cookies: bool,
    /// Login attempts allowed per account and per client address.
    pub login_limits: LoginLimits,
    /// How often expired sessions are deleted.
    pub session_cleanup: Duration,
    /// Connections, requests and exports at once, and the timeouts.
    pub limits: ServeLimits,
}

/// How much a server takes on at once, and for how long. Past these it answers
/// `503 Service Unavailable` with `Retry-After` (or, for connections, stops accepting until
/// one closes), so that a burst costs bounded memory and gets quick answers, never 500s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// Open connections at most; further clients wait in the listen backlog. Each costs a
    /// file descriptor: keep it under `ulimit -n`.
    pub max_connections: usize,
    /// Requests being answered at once.
    pub max_in_flight: usize,
    /// Requests waiting for one of those slots; a request past them gets 503 at once.
    pub max_queued: usize,
    /// How long a request waits for a slot before it gets 503.
    pub queue_wait: Duration,
    /// How long a request may take to start its answer before it gets 503 (a streamed
    /// export's body may take longer).
    pub request_timeout: Duration,
    /// How long a client has to send a request's headers; an idle keep-alive connection is
    /// closed after it too (slowloris).
    pub header_read_timeout: Duration,
    /// Exports (`export.json`, `export.csv`) streamed at once; each holds a database
    /// connection while it streams.
    pub max_exports: usize,
}

impl Default for ServeLimits {
    /// 1,000 connections (under the common 1,024 descriptors), 64 requests in flight (eight
    /// database connections serve them) with 1,024 more waiting up to 5 s, 30 s per answer,
    /// 10 s for a request's headers, 2 exports at once.
    fn default() -> ServeLimits {
        ServeLimits {
            max_connections: 1000,
            max_in_flight: 64,
            max_queued: 1024,
            queue_wait: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            max_exports: 2,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            public_url: None,
            secure_cookies: true,
            login_limits: LoginLimits::default(),
            session_cleanup: Duration::from_secs(3600),
            limits: ServeLimits::default(),
        }
    }
}

impl Config {
    /// The settings for `public_url`: Secure cookies exactly when it is https.
    pub fn for_public_url(public_url: PublicUrl) -> Config {
        Config {
            secure_cookies: public_url.is_https(),
            public_url: Some(public_url),
            ..Config::default()
        }
    }
}

/// The absolute URL of the server's root, `http://` or `https://`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    base: String,
    https: bool,
}

impl PublicUrl {
    /// Whether people reach the server over https.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The URL of `path` (which starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The root, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/", self.base)
    }
}

impl FromStr for PublicUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<PublicUrl, String> {
        let uri: Uri = s
            .trim()
            .parse()
            .map_err(|e| format!("{s:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{s:?}: expected an http:// or https:// URL")),
        };
        let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
            return Err(format!("{s:?}: the URL names no host"));
        };
        if authority.as_str().contains('@') {
            return Err(format!("{s:?}: the URL must not carry a user name"));
        }
        // Every page links from the root ("/c/…"), so the server cannot live under a prefix.
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!(
                "{s:?}: treewide is served from the root of its host; give the URL without a path"
            ));
        }
        let scheme = if https { "https" } else { "http" };
        Ok(PublicUrl {
            base: format!("{scheme}://{}", authority.as_str().to_ascii_lowercase()),
            https,
        })
    }
}

/// A rate: `burst` attempts at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: NonZeroU32,
    pub every: Duration,
}

/// How many login attempts (failed or not) are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// For one account (email): guessing one person's password.
    pub per_account: Limit,
    /// From one client address (an IPv6 /64): trying many accounts.
    pub per_address: Limit,
}

impl Default for LoginLimits {
    /// 10 attempts per account, then one a minute (1,440 guesses a day at most); 30 per
    /// address, then one every 10 seconds, so an office behind one NAT address can still log
    /// in all at once in the morning.
    fn default() -> LoginLimits {
        LoginLimits {
            per_account: Limit {
                burst: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
                every: Duration::from_secs(60),
            },
            per_address: Limit {
                burst: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
                every: Duration::from_secs(10),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_http_or_https_roots() {
        let u: PublicUrl = "https://Treewide.Example.org/".parse().unwrap();
        assert!(u.is_https());
        assert_eq!(
            u.join("/c/x/feed.atom"),
            "https://treewide.example.org/c/x/feed.atom"
        );
        let u: PublicUrl = "http://192.168.1.5:8080".parse().unwrap();
        assert!(!u.is_https());
        assert_eq!(u.to_string(), "http://192.168.1.5:8080/");
        for bad in [
            "treewide.example.org",
            "ftp://example.org/",
            "https://example.org/treewide/",
            "https://example.org/?x=1",
            "https://user@example.org/",
            "https:///",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
        assert!(Config::for_public_url("https://example.org".parse().unwrap()).secure_cookies);
        assert!(!Config::for_public_url("http://example.org".parse().unwrap()).secure_cookies);
    }
}
