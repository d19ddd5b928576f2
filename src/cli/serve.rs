//! `treewide serve`: the web dashboard and REST API, with the demo campaigns in an empty
//! database.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use treewide_core::campaigns;
use treewide_importer::demo;
use treewide_server::{Config, PublicUrl, ServeLimits};

/// Options of `treewide serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "TREEWIDE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not load the built-in demo campaigns into an empty database.
    #[arg(long)]
    no_demo: bool,
    /// The URL people reach the server at, e.g. https://treewide.example.org/ behind an https
    /// proxy. Session and CSRF cookies are Secure exactly when it is https, and feeds link
    /// there. Without it, cookies are Secure on a loopback address only.
    #[arg(long, env = "TREEWIDE_PUBLIC_URL")]
    public_url: Option<PublicUrl>,
    /// Open connections at most; more clients wait in the listen backlog. Keep it under
    /// `ulimit -n`.
    #[arg(long, env = "TREEWIDE_MAX_CONNECTIONS", default_value_t = ServeLimits::default().max_connections)]
    max_connections: usize,
    /// Requests answered at once; more wait for their turn (up to --max-queued of them, 5 s
    /// each), past that they get 503 with Retry-After.
    #[arg(long, env = "TREEWIDE_MAX_IN_FLIGHT", default_value_t = ServeLimits::default().max_in_flight)]
    max_in_flight: usize,
    /// Requests waiting for their turn at most.
    #[arg(long, env = "TREEWIDE_MAX_QUEUED", default_value_t = ServeLimits::default().max_queued)]
    max_queued: usize,
    /// Seconds an answer may take to start before the request gets 503.
    #[arg(long, env = "TREEWIDE_REQUEST_TIMEOUT", default_value_t = ServeLimits::default().request_timeout.as_secs())]
    request_timeout: u64,
    /// Seconds a client has to send a request's headers; idle keep-alive connections are
    /// closed after as long.
    #[arg(long, env = "TREEWIDE_HEADER_TIMEOUT", default_value_t = ServeLimits::default().header_read_timeout.as_secs())]
    header_timeout: u64,
    /// Exports (export.json, export.csv) streamed at once; more get 503.
    #[arg(long, env = "TREEWIDE_MAX_EXPORTS", default_value_t = ServeLimits::default().max_exports)]
    max_exports: usize,
}

impl Args {
    /// The limits the options set.
    fn limits(&self) -> ServeLimits {
        ServeLimits {
            max_connections: self.max_connections,
            max_in_flight: self.max_in_flight,
            max_queued: self.max_queued,
            request_timeout: Duration::from_secs(self.request_timeout),
            header_read_timeout: Duration::from_secs(self.header_timeout),
            max_exports: self.max_exports,
            ..ServeLimits::default()
        }
    }
}

/// Serve until killed.
pub async fn run(path: &Path, args: Args) -> anyhow::Result<()> {
    let db = super::open(path).await?;
    if !args.no_demo && campaigns::is_empty(&db).await? {
        for s in demo::load(&db).await? {
            tracing::info!(campaign = %s.campaign, sites = s.sites_total, "loaded the demo campaign");
        }
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let loopback = addr.ip().is_loopback();
    let limits = args.limits();
    let mut config = match args.public_url {
        Some(url) => Config::for_public_url(url),
        // Browsers keep Secure cookies from http://127.0.0.1 and http://localhost, nowhere
        // else over http.
        None => Config {
            secure_cookies: loopback,
            ..Config::default()
        },
    };
    config.limits = limits;
    match &config.public_url {
        Some(url) => println!(
            "treewide: serving {} on http://{addr}/ (public URL {url})",
            path.display()
        ),
        None => println!("treewide: serving {} on http://{addr}/", path.display()),
    }
    if !loopback && !config.secure_cookies {
        tracing::warn!(
            "serving plain http on {addr}, which is not a loopback address: passwords and \
             session cookies cross the network unencrypted (cookies are not Secure, so logins \
             work over http). Put an https proxy in front and pass --public-url https://…"
        );
    } else if config.secure_cookies && config.public_url.as_ref().is_some_and(|u| u.is_https()) {
        tracing::info!(
            "session cookies are Secure: log in through {}, not over plain http",
            config
                .public_url
                .as_ref()
                .map_or(String::new(), |u| u.to_string())
        );
    }
    treewide_server::serve(listener, db, config).await?;
    Ok(())
}
