//! Finding the subsystem a person names: by URL slug or by MAINTAINERS name.

use treewide_core::subsystems::{filter, resolve, SubsystemFilter, UNASSIGNED_SLUG};
use treewide_core::{db, SqlitePool};

/// NVME's name folds to its slug; the second name folds to the same slug, so it got a suffix.
async fn fresh() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    sqlx::query(
        "INSERT INTO subsystems (id, name, slug) VALUES
             (1, 'NVM EXPRESS TARGET DRIVER', 'nvm-express-target-driver'),
             (2, 'NVM EXPRESS (TARGET) DRIVER', 'nvm-express-target-driver-2');",
    )
    .execute(&pool)
    .await
    .unwrap();
    (pool, dir)
}

async fn id_of(pool: &SqlitePool, key: &str) -> Option<i64> {
    resolve(pool, key).await.unwrap().map(|s| s.id.0)
}

#[tokio::test]
async fn a_subsystem_is_found_by_slug_or_by_maintainers_name() {
    let (pool, _d) = fresh().await;
    assert_eq!(id_of(&pool, "nvm-express-target-driver").await, Some(1));
    assert_eq!(id_of(&pool, "NVM EXPRESS TARGET DRIVER").await, Some(1));
    assert_eq!(id_of(&pool, " nvm express target driver ").await, Some(1));
    assert_eq!(id_of(&pool, "NVM EXPRESS (TARGET) DRIVER").await, Some(2));
    assert_eq!(id_of(&pool, "nvm-express-target-driver-2").await, Some(2));
    assert_eq!(id_of(&pool, "NO SUCH SUBSYSTEM").await, None);
    assert_eq!(id_of(&pool, "  ").await, None);
}

#[tokio::test]
async fn a_filter_takes_a_name_a_slug_or_the_unassigned() {
    let (pool, _d) = fresh().await;
    let (f, s) = filter(&pool, "NVM EXPRESS TARGET DRIVER").await.unwrap();
    assert_eq!(f.sql(), 1);
    assert_eq!(s.unwrap().slug, "nvm-express-target-driver");
    let (f, s) = filter(&pool, UNASSIGNED_SLUG).await.unwrap();
    assert_eq!((f, s.is_none()), (SubsystemFilter::Unassigned, true));
    assert!(filter(&pool, "nope").await.is_err());
}
