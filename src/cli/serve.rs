//! `treewide serve`: the web dashboard and REST API, with the demo campaigns in an empty
//! database.

use std::path::Path;

use anyhow::Context;
use treewide_core::campaigns;
use treewide_importer::demo;

/// Options of `treewide serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "TREEWIDE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not load the built-in demo campaigns into an empty database.
    #[arg(long)]
    no_demo: bool,
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
    println!("treewide: serving {} on http://{addr}/", path.display());
    treewide_server::serve(listener, db).await?;
    Ok(())
}
