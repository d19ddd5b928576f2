//! The counts pages read (migration 0020: per campaign, per campaign/subsystem/status, done
//! sites per day) stay exact whatever writes the sites: inserts, status changes, moves between
//! subsystems, events and commits that date a fix, deletes, a campaign's deletion; and sites
//! stored before the counts existed are counted when the migration runs.

use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::SqlitePool;
use treewide_core::model::CampaignId;
use treewide_core::{campaigns, db, history, subsystems};

/// The migration that keeps counts on write.
const COUNTS: i64 = 20261125000020;

type Row = (i64, i64, String, i64);

/// What the counts tables hold against what counting every site gives now.
async fn assert_exact(pool: &SqlitePool) {
    let kept: Vec<Row> = sqlx::query_as(
        "SELECT campaign_id, subsystem_id, status, n FROM site_counts WHERE n != 0 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let real: Vec<Row> = sqlx::query_as(
        "SELECT campaign_id, ifnull(subsystem_id, 0), status, count(*) FROM sites
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(kept, real, "site_counts");
    let kept: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT campaign_id, status, n FROM campaign_counts WHERE n != 0 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let real: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT campaign_id, status, count(*) FROM sites GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(kept, real, "campaign_counts");
    // The burndown's rule, site by site: first fixing/removing commit, else the last event
    // that marked the site done, else its creation.
    let kept: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT campaign_id, day, n FROM burndown_days WHERE n != 0 ORDER BY 1, 2")
            .fetch_all(pool)
            .await
            .unwrap();
    let real: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT campaign_id, day, count(*) FROM (
            SELECT s.campaign_id, substr(coalesce(
                (SELECT min(c.commit_date) FROM site_commits sc JOIN commits c ON c.id = sc.commit_id
                  WHERE sc.site_id = s.id AND sc.role IN ('fix', 'gone')),
                (SELECT max(e.at) FROM events e WHERE e.site_id = s.id AND e.kind = 'status'
                    AND e.new IN ('fixed', 'confirmed_safe', 'gone')),
                s.created_at), 1, 10) AS day
            FROM sites s WHERE s.status IN ('fixed', 'confirmed_safe', 'gone'))
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(kept, real, "burndown_days");
    let negative: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM site_counts WHERE n < 0) + (SELECT count(*) FROM campaign_counts WHERE n < 0)
              + (SELECT count(*) FROM burndown_days WHERE n < 0)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(negative, 0);
}

async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Two campaigns, three subsystems and 300 sites in all statuses, some without a subsystem.
const SEED: &str = "
INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES
    (1, 'a', 'A', '2022-09-01T00:00:00Z', '2022-09-01T00:00:00Z'),
    (2, 'b', 'B', '2022-09-01T00:00:00Z', '2022-09-01T00:00:00Z');
INSERT INTO subsystems (id, name, slug) VALUES (1, 'ONE', 'one'), (2, 'TWO', 'two'), (3, 'THREE', 'three');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO sites (id, campaign_id, identity, file, line, callee, iter_kind, subsystem_id, status,
                   decided_by, created_at, updated_at)
SELECT i, 1 + i % 2, 'site-' || i, 'f' || (i % 7) || '.c', 1 + i, 'iov_iter_bvec', 'ITER_BVEC',
       nullif(i % 4, 0),
       CASE i % 8 WHEN 0 THEN 'unreviewed' WHEN 1 THEN 'needs_fix' WHEN 2 THEN 'needs_pin'
                  WHEN 3 THEN 'awaiting_owner' WHEN 4 THEN 'fix_proposed' WHEN 5 THEN 'fixed'
                  WHEN 6 THEN 'confirmed_safe' ELSE 'gone' END,
       'default', '2022-09-' || printf('%02d', 1 + i % 28) || 'T10:00:00Z', '2022-09-01T00:00:00Z'
FROM n;
";

#[tokio::test]
async fn counts_stay_exact_through_inserts_status_changes_moves_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    exec(&pool, SEED).await;
    assert_exact(&pool).await;

    // Status changes (to done, from done, between open ones), moves between subsystems and
    // into and out of "no subsystem", and an UPDATE that changes neither.
    exec(&pool, "UPDATE sites SET status = 'fixed' WHERE id % 5 = 0").await;
    exec(
        &pool,
        "UPDATE sites SET status = 'needs_fix' WHERE id % 11 = 0",
    )
    .await;
    exec(&pool, "UPDATE sites SET subsystem_id = 3 WHERE id % 13 = 0").await;
    exec(
        &pool,
        "UPDATE sites SET subsystem_id = NULL WHERE id % 17 = 0",
    )
    .await;
    exec(&pool, "UPDATE sites SET line = line + 1, status = status").await;
    assert_exact(&pool).await;

    // Events and commits that date a done site's fix, and a commit link that goes away.
    exec(
        &pool,
        "INSERT INTO events (campaign_id, site_id, at, actor, source, kind, old, new)
           SELECT campaign_id, id, '2022-10-0' || (1 + id % 9) || 'T00:00:00Z', 't', 'web', 'status', 'needs_fix', status
           FROM sites WHERE id % 3 = 0;
         INSERT INTO commits (id, oid, author_date, commit_date) VALUES
           (1, printf('%040d', 1), '2022-11-02T00:00:00Z', '2022-11-02T00:00:00Z'),
           (2, printf('%040d', 2), '2022-11-20T00:00:00Z', '2022-11-20T00:00:00Z');
         INSERT INTO site_commits (site_id, commit_id, role, file)
           SELECT id, 1 + id % 2, CASE WHEN id % 4 = 0 THEN 'gone' ELSE 'fix' END, file
           FROM sites WHERE id % 10 = 0;
         INSERT INTO site_commits (site_id, commit_id, role, file)
           SELECT id, 1, 'change', file FROM sites WHERE id % 9 = 0;",
    )
    .await;
    assert_exact(&pool).await;
    exec(&pool, "DELETE FROM site_commits WHERE site_id % 20 = 0").await;
    assert_exact(&pool).await;

    // Deletes: some sites (those without events: the log is append-only), then a whole
    // campaign (its sites go by cascade).
    exec(
        &pool,
        "DELETE FROM sites WHERE id % 7 = 0 AND id NOT IN (SELECT site_id FROM events WHERE site_id IS NOT NULL)",
    )
    .await;
    assert_exact(&pool).await;
    exec(&pool, "DELETE FROM campaigns WHERE id = 2").await;
    assert_exact(&pool).await;

    // What the pages read agrees with counting the sites.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM sites WHERE campaign_id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let c = campaigns::get(&pool, "a").await.unwrap();
    assert_eq!(c.counts.total(), total as u64);
    let listed = campaigns::list(&pool).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].counts, c.counts);
    let per_sub = subsystems::progress(&pool, CampaignId(1)).await.unwrap();
    assert_eq!(
        per_sub.iter().map(|p| p.counts.total()).sum::<u64>(),
        total as u64
    );
    assert!(
        per_sub.last().unwrap().id.is_none(),
        "no subsystem comes last"
    );
    let points = history::burndown(&pool, CampaignId(1)).await.unwrap();
    let last = points.last().unwrap();
    assert_eq!(last.open + last.done, total as u64);
    assert_eq!(last.done, c.counts.done());
}

#[tokio::test]
async fn sites_stored_before_the_counts_existed_are_counted_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before");
    std::fs::create_dir(&before).unwrap();
    for m in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations")).unwrap() {
        let path = m.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version < COUNTS {
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
    exec(&pool, SEED).await;
    exec(
        &pool,
        "INSERT INTO events (campaign_id, site_id, at, actor, source, kind, old, new)
           SELECT campaign_id, id, '2022-10-05T00:00:00Z', 't', 'web', 'status', 'needs_fix', status
           FROM sites WHERE id % 3 = 0",
    )
    .await;
    pool.close().await;
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    assert_exact(&pool).await;
    let n: i64 = sqlx::query_scalar("SELECT sum(n) FROM campaign_counts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 300);
}
