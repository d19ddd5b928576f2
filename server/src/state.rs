//! What every handler shares. It has a module of its own so that no handler module imports
//! the crate root, which imports the handler modules.

use std::sync::Arc;

use treewide_core::SqlitePool;

use crate::config::PublicUrl;
use crate::middleware::cache::PageCache;
use crate::middleware::login_limit::LoginGuard;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    /// Where people reach the server, when known (absolute links in feeds).
    pub public_url: Option<PublicUrl>,
    /// The login rate limits.
    pub logins: Arc<LoginGuard>,
    /// The database's version (the page cache's watch), for the ETags of streamed exports.
    pub versions: PageCache,
    /// One permit per export streaming now (`ServeLimits::max_exports`).
    pub exports: Arc<tokio::sync::Semaphore>,
}
