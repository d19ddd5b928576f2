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

/// A request by someone without sign-off authority.
fn outsider(to: Status, reason: &'static str) -> StatusRequest<'static> {
    StatusRequest {
        actor: "someone@example.org",
        reason,
        ..req(to, Authority::Proposal, None)
    }
}

#[tokio::test]
async fn a_signed_off_site_changes_only_by_its_owners_others_make_proposals() {
    use treewide_core::proposals::{self, Outcome, ProposalState};
    let (pool, _d) = fresh().await;
    change_status(&pool, req(Status::ConfirmedSafe, Authority::Signoff, None))
        .await
        .unwrap();
    // The outsider's change waits as a proposal; asking again reuses it.
    let troll = outsider(Status::NeedsFix, "troll");
    let Outcome::Proposed { id } = proposals::request(&pool, troll.clone(), None)
        .await
        .unwrap()
    else {
        panic!("not a proposal");
    };
    let again = proposals::request(&pool, troll, None).await.unwrap();
    assert_eq!(again, Outcome::Proposed { id });
    let Outcome::Proposed { id: pin } = proposals::request(
        &pool,
        outsider(Status::NeedsPin, "user-backed after all"),
        None,
    )
    .await
    .unwrap() else {
        panic!("not a proposal");
    };
    assert_eq!(status(&pool).await.0, "confirmed_safe");
    // Only owners decide; authors may only withdraw their own.
    let e = proposals::decide(
        &pool,
        id,
        true,
        Authority::Proposal,
        "x",
        EventSource::Web,
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    let e = proposals::withdraw(&pool, id, "hch@lst.de")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    // Rejected with a reason; accepted with the event naming the proposal.
    let p = proposals::decide(
        &pool,
        id,
        false,
        Authority::Signoff,
        "hch@lst.de",
        EventSource::Web,
        "no",
    )
    .await
    .unwrap();
    assert_eq!(
        (p.state, p.decision_reason.as_deref()),
        (ProposalState::Rejected, Some("no"))
    );
    let p = proposals::decide(
        &pool,
        pin,
        true,
        Authority::Signoff,
        "hch@lst.de",
        EventSource::Api,
        "",
    )
    .await
    .unwrap();
    assert_eq!(p.state, ProposalState::Accepted);
    assert_eq!(status(&pool).await.0, "needs_pin");
    let ev = events::for_site(&pool, SiteId(1)).await.unwrap();
    let last = ev.last().unwrap();
    assert_eq!(last.actor, "hch@lst.de");
    assert!(
        last.reason
            .starts_with(&format!("proposal #{pin} by someone@example.org accepted")),
        "{}",
        last.reason
    );
    // The proposals are in the event log too: made (each time asked), and rejected.
    let made: Vec<(String, String)> = ev
        .iter()
        .filter(|e| e.kind == treewide_core::model::EventKind::Proposal)
        .map(|e| (e.old.clone().unwrap(), e.new.clone().unwrap()))
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        made,
        [
            pair("confirmed_safe", "needs_fix"),
            pair("confirmed_safe", "needs_fix"),
            pair("confirmed_safe", "needs_pin"),
            pair("open", "rejected"),
        ]
    );
    let rejected = ev
        .iter()
        .find(|e| e.new.as_deref() == Some("rejected"))
        .unwrap();
    assert_eq!(rejected.actor, "hch@lst.de");
    assert_eq!(
        rejected.reason,
        format!("proposal #{id} by someone@example.org: no")
    );
    // Decided is decided.
    let e = proposals::decide(
        &pool,
        pin,
        true,
        Authority::Signoff,
        "hch@lst.de",
        EventSource::Web,
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e}");
}

#[tokio::test]
async fn a_proposal_made_against_an_old_status_is_superseded_not_applied() {
    use treewide_core::proposals::{self, Outcome, ProposalState};
    let (pool, _d) = fresh().await;
    // An outsider proposes to confirm; meanwhile the owner sets another status.
    let Outcome::Proposed { id } =
        proposals::request(&pool, outsider(Status::ConfirmedSafe, "looks fine"), None)
            .await
            .unwrap()
    else {
        panic!("not a proposal");
    };
    change_status(&pool, req(Status::NeedsPin, Authority::Signoff, None))
        .await
        .unwrap();
    let e = proposals::decide(
        &pool,
        id,
        true,
        Authority::Signoff,
        "hch@lst.de",
        EventSource::Web,
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e}");
    assert_eq!(status(&pool).await.0, "needs_pin");
    let p = proposals::get(&pool, id).await.unwrap();
    assert_eq!(p.state, ProposalState::Superseded);
    // Withdrawing one's own open proposal.
    let Outcome::Proposed { id } =
        proposals::request(&pool, outsider(Status::ConfirmedSafe, "now?"), None)
            .await
            .unwrap()
    else {
        panic!("not a proposal");
    };
    let p = proposals::withdraw(&pool, id, "someone@example.org")
        .await
        .unwrap();
    assert_eq!(p.state, ProposalState::Withdrawn);
}
