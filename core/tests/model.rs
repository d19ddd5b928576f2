//! The schema and the transition rules on a real SQLite database.

use treewide_core::model::{EventSource, SiteId, Status};
use treewide_core::transition::{change_status, Authority, StatusRequest};
use treewide_core::{db, events, Error, SqlitePool};

async fn fresh() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    sqlx::query(
        "INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES (1, 'c', 'C', 'now', 'now');
         INSERT INTO sites (id, campaign_id, identity, file, line, callee, iter_kind, status, decided_by, created_at, updated_at)
         VALUES (1, 1, 'i1', 'fs/a.c', 10, 'iov_iter_bvec', 'ITER_BVEC', 'awaiting_owner', 'verdict', 'now', 'now');",
    )
    .execute(&pool)
    .await
    .unwrap();
    (pool, dir)
}

fn req(to: Status, by: Authority, expected_version: Option<i64>) -> StatusRequest<'static> {
    StatusRequest {
        site: SiteId(1),
        to,
        by,
        actor: "hch@lst.de",
        source: EventSource::Web,
        reason: "sgl_alloc() pages are anonymous",
        expected_version,
    }
}

async fn status(pool: &SqlitePool) -> (String, i64, String) {
    sqlx::query_as("SELECT status, version, decided_by FROM sites WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_to_a_fresh_database_and_are_recorded() {
    let (pool, _d) = fresh().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n as usize, treewide_core::MIGRATOR.iter().count());
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn the_schema_refuses_unknown_statuses_and_kinds() {
    let (pool, _d) = fresh().await;
    assert!(sqlx::query("UPDATE sites SET status = 'done' WHERE id = 1")
        .execute(&pool)
        .await
        .is_err());
    assert!(
        sqlx::query("UPDATE sites SET iter_kind = 'ITER_FOO' WHERE id = 1")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(sqlx::query("UPDATE sites SET line = 0 WHERE id = 1")
        .execute(&pool)
        .await
        .is_err());
    assert!(
        sqlx::query("UPDATE sites SET campaign_id = 99 WHERE id = 1")
            .execute(&pool)
            .await
            .is_err(),
        "foreign key"
    );
}

#[tokio::test]
async fn a_maintainer_signs_off_with_an_event_and_a_new_version() {
    let (pool, _d) = fresh().await;
    let v = change_status(
        &pool,
        req(Status::ConfirmedSafe, Authority::Signoff, Some(1)),
    )
    .await
    .unwrap();
    assert_eq!(v, 2);
    assert_eq!(
        status(&pool).await,
        ("confirmed_safe".into(), 2, "site".into())
    );
    let ev = events::for_site(&pool, SiteId(1)).await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].old.as_deref(), ev[0].new.as_deref()),
        (Some("awaiting_owner"), Some("confirmed_safe"))
    );
    assert_eq!(ev[0].actor, "hch@lst.de");
    assert_eq!(ev[0].reason, "sgl_alloc() pages are anonymous");
}

#[tokio::test]
async fn a_proposal_cannot_confirm_and_changes_nothing() {
    let (pool, _d) = fresh().await;
    let e = change_status(&pool, req(Status::ConfirmedSafe, Authority::Proposal, None))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transition { .. }), "{e}");
    assert_eq!(
        status(&pool).await,
        ("awaiting_owner".into(), 1, "verdict".into())
    );
    assert_eq!(events::count(&pool).await.unwrap(), 0);
    // but it may propose a fix
    change_status(&pool, req(Status::FixProposed, Authority::Proposal, None))
        .await
        .unwrap();
    assert_eq!(status(&pool).await.0, "fix_proposed");
}

#[tokio::test]
async fn a_stale_version_is_refused_so_no_update_is_lost() {
    let (pool, _d) = fresh().await;
    change_status(&pool, req(Status::NeedsPin, Authority::Proposal, Some(1)))
        .await
        .unwrap();
    let e = change_status(
        &pool,
        req(Status::FixProposed, Authority::Proposal, Some(1)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Stale {
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(status(&pool).await.0, "needs_pin");
}

#[tokio::test]
async fn the_event_log_is_append_only() {
    let (pool, _d) = fresh().await;
    change_status(&pool, req(Status::NeedsPin, Authority::Proposal, None))
        .await
        .unwrap();
    let e = sqlx::query("UPDATE events SET actor = 'someone else'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = sqlx::query("DELETE FROM events")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    assert_eq!(events::count(&pool).await.unwrap(), 1);
}

#[tokio::test]
async fn same_status_is_not_an_event() {
    let (pool, _d) = fresh().await;
    change_status(&pool, req(Status::AwaitingOwner, Authority::Signoff, None))
        .await
        .unwrap();
    assert_eq!(events::count(&pool).await.unwrap(), 0);
}
