//! Migrations on data written before them, through sqlx's migrator as `db::open` runs it.

use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePoolOptions;
use treewide_core::{db, MIGRATOR};

/// The migration that gives the import log honest columns.
const HONEST_IMPORTS: i64 = 20261125000008;

#[tokio::test]
async fn the_import_log_migration_moves_reused_columns_to_their_own_and_keeps_ids() {
    // A database as the migrations before it left it, with one import of each kind written
    // the old way and a site pointing at the first.
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before");
    std::fs::create_dir(&before).unwrap();
    for m in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations")).unwrap() {
        let path = m.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version < HONEST_IMPORTS {
            std::fs::copy(&path, before.join(&name)).unwrap();
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(db::options(&dir.path().join("t.db")))
        .await
        .unwrap();
    Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(
        "INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES (1, 'c', 'C', 'now', 'now');
         INSERT INTO imports (id, campaign_id, source, kind, sha256, at, actor, sites_total, sites_new, sites_changed) VALUES
           (3, 1, 'audit.json', 'auditor', 'ab12', 'now', 'al', 10, 10, 0),
           (4, 1, 'scan of linux', 'scan', '', 'now', 'al', 12, 2, 1),
           (5, 1, 'lkml.mbox', 'mail', '', 'now', 'al', 7, 0, 2),
           (6, 1, 'git /src/linux (master)', 'git', 'c0ffee 5eed', 'now', 'al', 12, 0, 3),
           (9, 1, 'github:torvalds/linux', 'github', '', 'now', 'al', 12, 0, 0);
         INSERT INTO sites (id, campaign_id, identity, file, line, callee, iter_kind, status, decided_by,
                            first_import_id, created_at, updated_at)
         VALUES (1, 1, 'i1', 'fs/a.c', 10, 'iov_iter_bvec', 'ITER_BVEC', 'unreviewed', 'default', 3, 'now', 'now');",
    )
    .execute(&pool)
    .await
    .unwrap();

    MIGRATOR.run(&pool).await.unwrap();

    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        i64,
        i64,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, sha256, cursor, sites_total, sites_new, sites_changed, links_new
         FROM imports ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        rows,
        vec![
            (3, "auditor".into(), s("ab12"), None, Some(10), 10, 0, None),
            (4, "scan".into(), None, None, Some(12), 2, 1, None),
            (5, "mail".into(), None, None, None, 0, 2, Some(7)),
            (
                6,
                "git".into(),
                None,
                s("c0ffee 5eed"),
                Some(12),
                0,
                3,
                None
            ),
            (9, "github".into(), None, None, Some(12), 0, 0, None),
        ]
    );
    let first: (String,) = sqlx::query_as(
        "SELECT i.source FROM sites s JOIN imports i ON i.id = s.first_import_id WHERE s.id = 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(first.0, "audit.json");
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");
    // Each column keeps to its kinds: a mail import has no file hash.
    let mail = |sha256: Option<&'static str>| {
        sqlx::query(
            "INSERT INTO imports (campaign_id, source, kind, sha256, at, actor, links_new)
             VALUES (1, 'lkml.mbox', 'mail', ?1, 'now', 'al', 7)",
        )
        .bind(sha256)
        .execute(&pool)
    };
    assert!(mail(Some("c0ffee")).await.is_err());
    mail(None).await.unwrap();
}
