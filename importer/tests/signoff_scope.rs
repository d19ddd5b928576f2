//! Who may sign off after a scan of the real tree (Debian's linux-source-6.1 and its
//! MAINTAINERS; skipped with a message when it cannot be had): the people of a site's most
//! specific sections, everyone's sections once the campaign is widened, admins always.

use common::linux_tree;
use treewide_core::model::{EventSource, SignoffScope, SiteId, Status};
use treewide_core::transition::{change_status, Authority, StatusRequest};
use treewide_core::users::{self, User};
use treewide_core::{campaigns, db, routing, Error, SqlitePool};
use treewide_formats::spec::Spec;
use treewide_importer::scan::{self, ScanRequest};

mod common;

/// A fresh database holding a scan of the real tree for the pin campaign.
async fn scanned() -> Option<(SqlitePool, tempfile::TempDir)> {
    let tree = match linux_tree() {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED: no Linux tree ({why})");
            return None;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    let req = ScanRequest {
        tree,
        spec: Spec::load("iov-iter-pin").unwrap(),
        campaign: Some("iov-iter-pin".into()),
        describe: None,
        actor: "test".into(),
        full: false,
        changed: None,
    };
    scan::run(&pool, &req, &()).await.unwrap();
    Some((pool, dir))
}

async fn person(pool: &SqlitePool, email: &str) -> User {
    users::invite(pool, email, "", false).await.unwrap().0
}

async fn site(pool: &SqlitePool, file: &str, line: i64) -> SiteId {
    sqlx::query_scalar("SELECT id FROM sites WHERE file = ?1 AND line = ?2")
        .bind(file)
        .bind(line)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{file}:{line}: {e}"))
}

async fn may(pool: &SqlitePool, who: &User, site: SiteId) -> bool {
    users::may_sign_off(pool, who, site).await.unwrap()
}

#[tokio::test]
async fn after_a_real_scan_only_the_most_specific_sections_sign_off_until_widened() {
    let Some((pool, _dir)) = scanned().await else {
        return;
    };
    // NETWORKING [GENERAL], CEPH (both client and libceph), NFS client, THE REST.
    let kuba = person(&pool, "kuba@kernel.org").await;
    let ilya = person(&pool, "idryomov@gmail.com").await;
    let trond = person(&pool, "trond.myklebust@hammerspace.com").await;
    let linus = person(&pool, "torvalds@linux-foundation.org").await;
    let (admin, _) = users::invite(&pool, "lead@example.org", "", true)
        .await
        .unwrap();

    // net/ceph: CEPH COMMON CODE (LIBCEPH) F: net/ceph/ (depth 2), NETWORKING [GENERAL]
    // F: net/ (1), THE REST F: */ (-1).
    let libceph = site(&pool, "net/ceph/messenger_v1.c", 52).await;
    // fs/ceph: CEPH DISTRIBUTED FILE SYSTEM CLIENT (CEPH) F: fs/ceph/ (2), THE REST.
    let cephfs = site(&pool, "fs/ceph/file.c", 1403).await;
    // net/sunrpc: KERNEL NFSD, SUNRPC, AND LOCKD SERVERS and NFS, SUNRPC, AND LOCKD CLIENTS
    // both F: net/sunrpc/ (2): a tie, so both sign.
    let sunrpc = site(&pool, "net/sunrpc/svcsock.c", 263).await;
    // fs/netfs/ has no section of its own in 6.1: only THE REST.
    let netfs = site(&pool, "fs/netfs/io.c", 26).await;

    let routing = routing::for_site(&pool, libceph).await.unwrap();
    let got: Vec<(&str, Option<i64>, bool)> = routing
        .sections
        .iter()
        .map(|s| (s.name.as_str(), s.depth, s.signs))
        .collect();
    assert_eq!(
        got,
        [
            ("CEPH COMMON CODE (LIBCEPH)", Some(2), true),
            ("NETWORKING [GENERAL]", Some(1), false),
            ("THE REST", Some(-1), false),
        ]
    );
    assert_eq!(routing.sections[1].matched, ["F:\tnet/"]);

    assert!(!may(&pool, &kuba, libceph).await, "netdev on net/ceph");
    assert!(!may(&pool, &kuba, cephfs).await, "netdev on fs/ceph");
    assert!(may(&pool, &ilya, libceph).await);
    assert!(may(&pool, &ilya, cephfs).await);
    assert!(!may(&pool, &linus, libceph).await, "THE REST under LIBCEPH");
    assert!(!may(&pool, &linus, cephfs).await, "THE REST under CEPH");
    assert!(
        may(&pool, &linus, netfs).await,
        "THE REST is all fs/netfs has"
    );
    assert!(!may(&pool, &kuba, netfs).await);
    assert!(
        may(&pool, &trond, sunrpc).await,
        "an equally specific section"
    );
    assert!(!may(&pool, &ilya, sunrpc).await);
    for s in [libceph, cephfs, sunrpc, netfs] {
        assert!(may(&pool, &admin, s).await);
    }

    // The rule holds where the status changes, not only where pages ask.
    let confirm = |by: Authority, actor| StatusRequest {
        site: libceph,
        to: Status::ConfirmedSafe,
        by,
        actor,
        source: EventSource::Web,
        reason: "",
        expected_version: None,
    };
    let by = users::authority(&pool, &kuba, libceph).await.unwrap();
    assert_eq!(by, Authority::Proposal);
    let err = change_status(&pool, confirm(by, "kuba")).await.unwrap_err();
    assert!(matches!(err, Error::Transition { .. }), "{err}");

    // The lead widens the campaign: every section's people sign.
    let old = campaigns::set_signoff_scope(
        &pool,
        "iov-iter-pin",
        SignoffScope::AnySection,
        "lead",
        treewide_core::model::EventSource::Cli,
    )
    .await
    .unwrap();
    assert_eq!(old, SignoffScope::Specific);
    assert!(may(&pool, &kuba, libceph).await);
    assert!(may(&pool, &linus, cephfs).await);
    assert!(!may(&pool, &kuba, cephfs).await, "fs/ceph is not net/");
    let by = users::authority(&pool, &kuba, libceph).await.unwrap();
    assert_eq!(by, Authority::Signoff);
    change_status(&pool, confirm(by, "kuba")).await.unwrap();

    // And narrows it again.
    campaigns::set_signoff_scope(
        &pool,
        "iov-iter-pin",
        SignoffScope::Specific,
        "lead",
        treewide_core::model::EventSource::Cli,
    )
    .await
    .unwrap();
    assert!(!may(&pool, &linus, cephfs).await);
}

#[tokio::test]
async fn a_rescan_keeps_depths_and_the_exclusions_of_the_real_tree() {
    let Some((pool, _dir)) = scanned().await else {
        return;
    };
    // drivers/char/random.c: CHAR and MISC DRIVERS has F: drivers/char/ and
    // X: drivers/char/random.c.
    let random: Vec<(String, String)> = sqlx::query_as(
        "SELECT section, excluded_by FROM scan_exclusions WHERE file = 'drivers/char/random.c'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        random,
        [(
            "CHAR and MISC DRIVERS".to_owned(),
            "X:\tdrivers/char/random.c".to_owned()
        )]
    );
    let unknown: i64 =
        sqlx::query_scalar("SELECT count(*) FROM site_subsystems WHERE depth IS NULL AND rank = 0")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unknown, 0, "every primary section has its depth");
}
