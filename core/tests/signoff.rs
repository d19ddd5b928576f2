//! Group sign-off on a real SQLite database: every site of the group or none.

use treewide_core::model::{CampaignId, EventSource, SubsystemId, VerdictId};
use treewide_core::signoff::{sign_off_group, GroupSignoff};
use treewide_core::subsystems::SubsystemFilter;
use treewide_core::users::{self, User};
use treewide_core::{db, Error, SqlitePool};

/// Two sites of SUB A decided by one verdict group; the first also belongs to SUB B, as
/// specific a section for its file as SUB A (same match depth), whose maintainer is hch (so
/// hch may sign off the first site and not the second).
async fn fresh() -> (SqlitePool, tempfile::TempDir, User) {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    sqlx::query(
        "INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES (1, 'c', 'C', 'now', 'now');
         INSERT INTO subsystems (id, name, slug) VALUES (1, 'SUB A', 'sub-a'), (2, 'SUB B', 'sub-b');
         INSERT INTO subsystem_people (subsystem_id, role, name, email)
         VALUES (2, 'maintainer', 'Christoph Hellwig', 'hch@lst.de');
         INSERT INTO verdicts (id, campaign_id, position, label, status) VALUES (1, 1, 1, 'nvme target', 'awaiting_owner');
         INSERT INTO sites (id, campaign_id, identity, file, line, callee, iter_kind, status, decided_by,
                            verdict_id, subsystem_id, created_at, updated_at)
         VALUES (1, 1, 'i1', 'fs/a.c', 10, 'iov_iter_bvec', 'ITER_BVEC', 'awaiting_owner', 'verdict', 1, 1, 'now', 'now'),
                (2, 1, 'i2', 'fs/b.c', 20, 'iov_iter_bvec', 'ITER_BVEC', 'awaiting_owner', 'verdict', 1, 1, 'now', 'now');
         INSERT INTO site_subsystems (site_id, subsystem_id, rank, depth) VALUES (1, 1, 0, 2), (1, 2, 1, 2);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (hch, _) = users::invite(&pool, "hch@lst.de", "Christoph Hellwig", false)
        .await
        .unwrap();
    (pool, dir, hch)
}

const GROUP: GroupSignoff = GroupSignoff {
    campaign: CampaignId(1),
    subsystem: SubsystemFilter::Id(SubsystemId(1)),
    verdict: VerdictId(1),
};

/// (status, version, decided_by) of both sites, and the number of events.
async fn state(pool: &SqlitePool) -> (Vec<(String, i64, String)>, i64) {
    let sites = sqlx::query_as("SELECT status, version, decided_by FROM sites ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let events = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await
        .unwrap();
    (sites, events)
}

#[tokio::test]
async fn one_refused_site_leaves_every_site_of_the_group_as_it_was() {
    let (pool, _d, hch) = fresh().await;
    let before = state(&pool).await;
    assert!(
        users::may_sign_off(&pool, &hch, treewide_core::model::SiteId(1))
            .await
            .unwrap()
    );
    let err = sign_off_group(&pool, &hch, GROUP, EventSource::Web)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "only this subsystem's maintainers and reviewers (or an admin) may sign off"
    );
    assert_eq!(state(&pool).await, before, "nothing written");
}

#[tokio::test]
async fn a_maintainer_signs_off_the_whole_group_in_one_go() {
    let (pool, _d, hch) = fresh().await;
    sqlx::query(
        "INSERT INTO subsystem_people (subsystem_id, role, name, email)
         VALUES (1, 'reviewer', 'Christoph Hellwig', 'hch@lst.de')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let n = sign_off_group(&pool, &hch, GROUP, EventSource::Web)
        .await
        .unwrap();
    assert_eq!(n, 2);
    let (sites, events) = state(&pool).await;
    assert!(
        sites
            .iter()
            .all(|(s, v, by)| s == "confirmed_safe" && *v == 2 && by == "site"),
        "{sites:?}"
    );
    assert_eq!(events, 2);
    let reason: String = sqlx::query_scalar("SELECT reason FROM events LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(reason, "signed off with the group \"nvme target\"");
}

#[tokio::test]
async fn an_unknown_group_is_not_found() {
    let (pool, _d, hch) = fresh().await;
    let group = GroupSignoff {
        verdict: VerdictId(7),
        ..GROUP
    };
    let err = sign_off_group(&pool, &hch, group, EventSource::Web)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "verdict group 7 not found");
}
