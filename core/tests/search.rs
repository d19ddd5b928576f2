//! The site search index stays bounded however much mail names a site (migration 0026), and
//! the mail store's re-index (migration 0027: once per chunk, not a trigger per link) keeps it.

use treewide_core::model::SiteId;
use treewide_core::{db, search};

#[tokio::test]
async fn a_site_named_by_many_messages_is_found_by_the_newest_subjects_only() {
    let pool = db::open_memory().await.unwrap();
    sqlx::query(
        "INSERT INTO campaigns (slug, title, description, rule, created_at, updated_at)
         VALUES ('c', 'c', '', '', 'x', 'x')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sites (campaign_id, identity, file, line, callee, code, iter_kind, status,
                            decided_by, created_at, updated_at)
         VALUES (1, 'i', 'fs/x.c', 1, 'f', 'f(a);', 'unknown', 'unreviewed', 'default', 'x', 'x')",
    )
    .execute(&pool)
    .await
    .unwrap();
    for i in 0..200 {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (message_id, subject, thread_root, sha256, imported_at)
             VALUES (?1, ?2, ?1, 'h', 'x') RETURNING id",
        )
        .bind(format!("m{i}"))
        .bind(format!("[PATCH] x: change zqx{i:04}"))
        .fetch_one(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO message_sites (message_id, site_id, how) VALUES (?1, 1, 'file_line')",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap(); // As the mail store does, a chunk (here 50 messages) at a time.
        if i % 50 == 49 {
            let mut conn = pool.acquire().await.unwrap();
            search::reindex(&mut conn, &[SiteId(1), SiteId(1)])
                .await
                .unwrap();
        }
    }
    let found = |word: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM site_search WHERE site_search MATCH ?1",
            )
            .bind(word)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(found("zqx0199").await, 1, "the newest subject");
    assert_eq!(found("zqx0168").await, 1, "the 32nd newest");
    assert_eq!(
        found("zqx0100").await,
        0,
        "older subjects are not re-indexed every time"
    );
    assert_eq!(found("\"fs/x.c\"").await, 1);
    let len: i64 =
        sqlx::query_scalar("SELECT length(text) FROM site_search_text WHERE site_id = 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(len < 32 * 40, "bounded text: {len} bytes");
}
