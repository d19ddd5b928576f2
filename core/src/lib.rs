//! treewide-core: the domain of a treewide API conversion (campaigns, call sites,
//! subsystems, verdict groups, notes, references, events) and all of its SQL.

pub mod campaigns;
pub mod claims;
pub mod counts;
pub mod db;
mod error;
pub mod events;
pub mod history;
pub mod identity;
pub mod imports;
pub mod ingest;
pub mod mail;
pub mod matcher;
pub mod model;
pub mod notes;
pub mod proposals;
pub mod queue;
pub mod refs;
pub mod report;
pub mod routing;
pub mod scan_files;
pub mod search;
pub mod signoff;
pub mod sites;
pub mod sqlite_memory;
pub mod stages;
pub mod subsystems;
pub mod transition;
pub mod tree_links;
pub mod users;
pub mod verdicts;

pub use db::MIGRATOR;
pub use error::{Error, Result};
pub use sqlx::{SqliteConnection, SqlitePool};
