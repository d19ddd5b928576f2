//! Opening the database (WAL, foreign keys, migrations), SQLite tuning for large imports, and
//! how lists are passed to SQL.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use serde::Serialize;
use sqlx::SqliteConnection;

use crate::{Error, Result};

/// The schema migrations, embedded from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Rows sqlx's worker thread may hand over before it waits for the reader (sqlx's default is
/// 50). Past the buffer the worker wakes the reader and waits for it row by row, two thread
/// switches a row; pages read 200–500 rows and exports 2,000, all collected anyway. (It
/// pays only without SQLite's memory statistics, `crate::sqlite_memory`: with them, a
/// worker running ahead fights the reader for their mutex.)
const ROW_BUFFER: usize = 1024;

/// Connection options every treewide connection uses.
pub fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .row_buffer_size(ROW_BUFFER)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; only an OS crash may
        // lose the last transactions, never corrupt the file.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

/// Pool settings every treewide pool uses: `max` connections, none tested before use. sqlx
/// tests an idle connection by sending its worker thread a ping and waiting for the answer,
/// a round trip before every query; a SQLite connection lives in this process and cannot
/// have been cut off, and one that fails anyway fails its query.
fn pool_options(max: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max)
        .test_before_acquire(false)
}

/// Open (creating if needed) and migrate the database at `path`.
pub async fn open(path: &Path) -> Result<SqlitePool> {
    let pool = pool_options(8).connect_with(options(path)).await?;
    MIGRATOR.run(&pool).await?;
    crate::mail::revision::backfill(&pool).await?;
    Ok(pool)
}

/// The file of the browser sessions that belong to the database at `path`:
/// `treewide.db` → `treewide.db-sessions`.
pub fn sessions_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-sessions");
    name.into()
}

/// Open (creating if needed) the browser sessions' database that belongs to `main`: the file
/// [`sessions_path`] names, or a private in-memory database for an in-memory `main`. Sessions
/// are kept apart from the data because every login form and every renewal writes one, and
/// the page cache empties on any write to the data's file (`PRAGMA data_version`). The schema
/// is the session store's own (it creates its table); deleting the file only logs everyone
/// out.
pub async fn open_sessions(main: &SqlitePool) -> Result<SqlitePool> {
    let file = main.connect_options().get_filename().to_owned();
    let name = file.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.contains("mode=memory") {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // One connection, kept: the database lives as long as it does.
        return Ok(pool_options(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?);
    }
    Ok(pool_options(4)
        .connect_with(options(&sessions_path(&file)))
        .await?)
}

/// Open a private in-memory database (tests and tools).
pub async fn open_memory() -> Result<SqlitePool> {
    let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
    let pool = pool_options(1).connect_with(opts).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// SQLite's page cache for the length of a mail import. A chunk touches more index pages than
/// the default 2 MB hold; evicting dirty index pages mid-transaction writes them to the WAL
/// and reads them back, again and again. Since imports commit a chunk at a time (a few
/// hundred messages) 32 MB holds what a chunk touches, and it is a sixth of the import's
/// 200 MB memory budget (before: 64 MB for one transaction of the whole import; 256 MB was
/// slower still, faulting in and zeroing a fresh page for every page written).
pub struct ImportCache {
    /// The connection's page cache size and checkpoint interval before the import.
    before: (i64, i64),
}

/// The import's page cache, in KiB (see [`ImportCache`]).
const IMPORT_CACHE_KIB: i64 = 32 * 1024;

/// WAL pages after which an import's commit copies the WAL into the database (SQLite's
/// default: 1,000). A chunk rewrites the same index pages as the chunk before; a checkpoint
/// copies each page once however often it changed since the last one, so checkpointing a
/// fourth as often writes and reads back fewer pages.
const IMPORT_CHECKPOINT_PAGES: i64 = 4000;

impl ImportCache {
    /// Grow the connection's page cache for an import and space its checkpoints out,
    /// remembering both settings as they were.
    pub async fn grow(conn: &mut SqliteConnection) -> Result<ImportCache> {
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *conn)
            .await?;
        let checkpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!(
            "PRAGMA wal_autocheckpoint = {IMPORT_CHECKPOINT_PAGES}"
        ))
        .execute(&mut *conn)
        .await?;
        Ok(ImportCache {
            before: (cache, checkpoint),
        })
    }

    /// Give the memory back and checkpoint as before: the connection returns to the pool.
    pub async fn restore(self, conn: &mut SqliteConnection) -> Result<()> {
        let (cache, checkpoint) = self.before;
        sqlx::query(&format!("PRAGMA cache_size = {cache}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("PRAGMA wal_autocheckpoint = {checkpoint}"))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// A read transaction: every query on it sees the database as it was at its first read,
/// whatever commits meanwhile (WAL), so that a long read (an export streamed page by page)
/// is consistent. Dropping it ends the transaction and gives the connection back.
pub struct Snapshot(sqlx::Transaction<'static, sqlx::Sqlite>);

impl Snapshot {
    /// Take a connection from `db` and begin reading.
    pub async fn begin(db: &SqlitePool) -> Result<Snapshot> {
        Ok(Snapshot(db.begin().await?))
    }

    /// The connection to run the snapshot's queries on.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
}

/// A list as one JSON parameter, for `IN (SELECT value FROM json_each(?))`.
pub(crate) fn json_list<T: Serialize>(items: &[T]) -> Result<String> {
    serde_json::to_string(items).map_err(|e| Error::Invalid {
        what: "JSON parameter",
        value: e.to_string(),
        expected: "JSON",
    })
}
