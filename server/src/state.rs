//! What every handler shares. It has a module of its own so that no handler module imports
//! the crate root, which imports the handler modules.

use treewide_core::SqlitePool;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
}
