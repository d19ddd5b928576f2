//! `treewide serve`: the web dashboard and REST API, with the demo campaigns in an empty
//! database.

use std::path::Path;

use anyhow::Context;
use treewide_core::campaigns;
use treewide_importer::demo;
use treewide_server::{Config, PublicUrl};

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
    let config = match args.public_url {
        Some(url) => Config::for_public_url(url),
        // Browsers keep Secure cookies from http://127.0.0.1 and http://localhost, nowhere
        // else over http.
        None => Config {
            secure_cookies: loopback,
            ..Config::default()
        },
    };
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
