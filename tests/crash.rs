//! Crash safety: `treewide import` killed with SIGKILL at random points leaves a sound
//! database that holds either none or all of the file.

mod common;

use std::time::Instant;

use common::{run, treewide};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;

const SITES: usize = 30_000;
const KILLS: usize = 20;

async fn check(db: &std::path::Path, slug: &str) -> i64 {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(ok, "ok");
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(fk.is_empty(), "foreign keys broken: {fk:?}");
    sqlx::query_scalar(
        "SELECT count(*) FROM sites WHERE campaign_id = (SELECT id FROM campaigns WHERE slug = ?1)",
    )
    .bind(slug)
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn sigkill_during_import_leaves_none_or_all_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    // The database already holds data that must survive every crash.
    let seed = dir.path().join("seed.json");
    std::fs::write(&seed, common_generate::audit_file("seed", 500)).unwrap();
    assert!(run(
        &db,
        &["import", "auditor", "--quiet", seed.to_str().unwrap()]
    )
    .status
    .success());

    // How long one full import takes here, to spread the kills over it.
    let file = dir.path().join("big.json");
    let probe_db = dir.path().join("probe.db");
    std::fs::write(&file, common_generate::audit_file("probe", SITES)).unwrap();
    let t = Instant::now();
    assert!(run(
        &probe_db,
        &["import", "auditor", "--quiet", file.to_str().unwrap()]
    )
    .status
    .success());
    let full = t.elapsed();

    let mut rng: u64 = std::process::id() as u64 ^ 0x2545_f491_4f6c_dd1d;
    let (mut none, mut all) = (0, 0);
    for i in 0..KILLS {
        let slug = format!("crash-{i}");
        std::fs::write(&file, common_generate::audit_file(&slug, SITES)).unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        // Kill anywhere from start-up to a little after the expected end.
        let at = full.mul_f64((rng % 1000) as f64 / 900.0);
        let mut child = treewide()
            .arg("--db")
            .arg(&db)
            .args(["import", "auditor", "--quiet", file.to_str().unwrap()])
            .env("TREEWIDE_LOG", "off")
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let n = check(&db, &slug).await;
        assert!(
            n == 0 || n == SITES as i64,
            "kill {i} after {at:?}: {n} of {SITES} sites stored"
        );
        if n == 0 {
            none += 1
        } else {
            all += 1
        }
        assert_eq!(
            check(&db, "seed").await,
            500,
            "earlier data survived kill {i}"
        );
    }
    eprintln!("{KILLS} kills over a {full:?} import: {none} left nothing, {all} completed");
    // Once more without a kill: the database still takes imports.
    let out = run(
        &db,
        &["import", "auditor", "--quiet", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[path = "common/generate.rs"]
mod common_generate;
