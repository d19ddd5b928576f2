//! Migrations on data written before them, through sqlx's migrator as `db::open` runs it.

use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePoolOptions;
use treewide_core::{db, MIGRATOR};

/// The migration that gives the import log honest columns.
const HONEST_IMPORTS: i64 = 20261125000008;
/// The migration that keeps patch versions and applied notes.
const REVISIONS: i64 = 20261125000009;
/// The migration that narrows sign-off to the most specific MAINTAINERS sections.
const SIGNOFF_SCOPE: i64 = 20261125000011;
/// The migration that rebuilds the event log for two more kinds.
const EVENT_KINDS: i64 = 20261130000028;

/// A pool on a fresh database in `dir`, migrated up to (not including) `upto`.
async fn migrated_before(dir: &std::path::Path, upto: i64) -> sqlx::SqlitePool {
    let before = dir.join("before");
    std::fs::create_dir(&before).unwrap();
    for m in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations")).unwrap() {
        let path = m.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version < upto {
            std::fs::copy(&path, before.join(&name)).unwrap();
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(db::options(&dir.join("t.db")))
        .await
        .unwrap();
    Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    pool
}

#[tokio::test]
async fn messages_stored_before_versions_were_kept_get_them_when_the_database_opens() {
    let dir = tempfile::tempdir().unwrap();
    let pool = migrated_before(dir.path(), REVISIONS).await;
    let packed = treewide_core::mail::pack_body(&format!(
        "{}\nApplied to 6.3/scsi-queue, thanks!\n",
        "> quoted patch text that makes the body long enough to be packed\n".repeat(20)
    ))
    .unwrap();
    sqlx::query(
        "INSERT INTO messages (id, message_id, subject, from_email, in_reply_to, body, has_diff,
                               patch_prefix, thread_root, sha256, imported_at) VALUES
           (1, 'p@x', '[PATCH v2 1/2] scsi: fix it', 'A@Example.org', NULL, 'diff', 1, 'PATCH v2 1/2', 'p@x', 's1', 'now'),
           (2, 'r@x', 'Re: [PATCH v2 1/2] scsi: fix it', 'm@example.org', 'p@x', ?1, 0, 'PATCH v2 1/2', 'p@x', 's2', 'now'),
           (3, 'c@x', '[PATCH 0/2] scsi: things', 'a@example.org', NULL, 'cover\nchange-id: 20230101-things-ab12\n', 0, 'PATCH 0/2', 'c@x', 's3', 'now')",
    )
    .bind(packed)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    /// Message-ID, revision key, change-id, applied note.
    type Row = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT message_id, revision_key, change_id, applied FROM messages ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows[0].1.as_deref(), Some("a@example.org\nscsi: fix it"));
    assert_eq!(rows[1].1, None, "a reply is no version");
    assert_eq!(rows[1].3.as_deref(), Some(r#"{"tree":"6.3/scsi-queue"}"#));
    assert_eq!(rows[2].2.as_deref(), Some("20230101-things-ab12"));
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, 1, "filled once");
}

#[tokio::test]
async fn the_import_log_migration_moves_reused_columns_to_their_own_and_keeps_ids() {
    // A database as the migrations before it left it, with one import of each kind written
    // the old way and a site pointing at the first.
    let dir = tempfile::tempdir().unwrap();
    let pool = migrated_before(dir.path(), HONEST_IMPORTS).await;
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

#[tokio::test]
async fn sites_scanned_before_depths_were_kept_sign_off_by_their_primary_section_until_rescanned() {
    let dir = tempfile::tempdir().unwrap();
    let pool = migrated_before(dir.path(), SIGNOFF_SCOPE).await;
    // net/ceph as a scan stored it: LIBCEPH first, NETWORKING [GENERAL] second.
    sqlx::raw_sql(
        "INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES (1, 'c', 'C', 'now', 'now');
         INSERT INTO subsystems (id, name, slug) VALUES (1, 'CEPH COMMON CODE (LIBCEPH)', 'ceph'),
                                                       (2, 'NETWORKING [GENERAL]', 'net');
         INSERT INTO subsystem_people (subsystem_id, role, name, email) VALUES
           (1, 'maintainer', 'Ilya Dryomov', 'idryomov@gmail.com'),
           (2, 'maintainer', 'Jakub Kicinski', 'kuba@kernel.org');
         INSERT INTO sites (id, campaign_id, identity, file, line, callee, iter_kind, status, decided_by,
                            subsystem_id, created_at, updated_at)
         VALUES (1, 1, 'i1', 'net/ceph/messenger_v1.c', 52, 'iov_iter_bvec', 'ITER_BVEC', 'unreviewed',
                 'default', 1, 'now', 'now');
         INSERT INTO site_subsystems (site_id, subsystem_id, rank) VALUES (1, 1, 0), (1, 2, 1);",
    )
    .execute(&pool)
    .await
    .unwrap();

    MIGRATOR.run(&pool).await.unwrap();

    let c = treewide_core::campaigns::meta(&pool, "c").await.unwrap();
    assert_eq!(
        c.signoff_scope,
        treewide_core::model::SignoffScope::Specific
    );
    let rows: Vec<(i64, Option<i64>, String)> =
        sqlx::query_as("SELECT rank, depth, matched FROM site_subsystems ORDER BY rank")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows, [(0, None, String::new()), (1, None, String::new())]);
    let site = treewide_core::model::SiteId(1);
    let signs = |email: &'static str| {
        let pool = pool.clone();
        async move {
            treewide_core::routing::signs_for(&pool, site, email)
                .await
                .unwrap()
        }
    };
    assert!(signs("idryomov@gmail.com").await);
    assert!(!signs("kuba@kernel.org").await, "no depth: no tie");
    let bad = sqlx::query("UPDATE campaigns SET signoff_scope = 'everyone'")
        .execute(&pool)
        .await;
    assert!(bad.is_err(), "the CHECK constraint holds");
}

#[tokio::test]
async fn the_event_log_rebuilt_for_more_kinds_keeps_its_rows_ids_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let pool = migrated_before(dir.path(), EVENT_KINDS).await;
    sqlx::raw_sql(
        "INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES (1, 'c', 'C', 'now', 'now');
         INSERT INTO sites (id, campaign_id, identity, file, line, callee, iter_kind, status, decided_by,
                            created_at, updated_at)
         VALUES (1, 1, 'i1', 'fs/a.c', 10, 'iov_iter_bvec', 'ITER_BVEC', 'unreviewed', 'default', 'now', 'now');
         INSERT INTO events (id, campaign_id, site_id, at, actor, source, kind, old, new, reason, occurred_at)
         VALUES (7, 1, 1, '2026-01-02T00:00:00Z', 'al', 'web', 'status', 'unreviewed', 'needs_fix', 'why', '2022-09-16'),
                (9, 1, NULL, '2026-01-03T00:00:00Z', 'al', 'cli', 'import', NULL, 'a.json', '', NULL);",
    )
    .execute(&pool)
    .await
    .unwrap();

    MIGRATOR.run(&pool).await.unwrap();

    type Row = (i64, Option<i64>, String, Option<String>, Option<String>);
    let rows: Vec<Row> =
        sqlx::query_as("SELECT id, site_id, kind, new, occurred_at FROM events ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                7,
                Some(1),
                "status".into(),
                Some("needs_fix".into()),
                Some("2022-09-16".into())
            ),
            (9, None, "import".into(), Some("a.json".into()), None),
        ]
    );
    // The new kinds go in; the log stays append-only; a done status still dates the site.
    sqlx::raw_sql(
        "INSERT INTO events (campaign_id, at, actor, source, kind, old, new)
         VALUES (1, 'now', 'al', 'cli', 'scope', 'specific', 'any_section');
         INSERT INTO events (campaign_id, site_id, at, actor, source, kind, old, new)
         VALUES (1, 1, 'now', 'x', 'web', 'proposal', 'unreviewed', 'confirmed_safe');
         UPDATE sites SET status = 'fixed' WHERE id = 1;
         INSERT INTO events (campaign_id, site_id, at, actor, source, kind, old, new, occurred_at)
         VALUES (1, 1, '2026-01-04T00:00:00Z', 'al', 'web', 'status', 'needs_fix', 'fixed', '2022-12-25');",
    )
    .execute(&pool)
    .await
    .unwrap();
    let day: (String,) = sqlx::query_as("SELECT day FROM site_done WHERE site_id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(day.0, "2022-12-25");
    assert!(sqlx::query("UPDATE events SET reason = 'x' WHERE id = 7")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM events WHERE id = 7")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query(
        "INSERT INTO events (campaign_id, at, actor, source, kind) VALUES (1, 'now', 'al', 'cli', 'nonsense')"
    )
    .execute(&pool)
    .await
    .is_err());
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'events' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        vec![("events_campaign".to_owned(),), ("events_site".to_owned(),)]
    );
}
