//! Crash safety: `treewide import` killed with SIGKILL at random points leaves a sound
//! database that holds either none or all of the file; a mail import, which commits a chunk at
//! a time, killed half way and run again ends with the same database as one clean run.

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
#[path = "support/epoch.rs"]
mod epoch;
#[path = "support/real_mail.rs"]
mod real_mail;

/// What a mail import leaves, as sorted text: messages with their threads and derived
/// columns, links, trailers and the patches they are about, wants, answers, references,
/// statuses, cursors, pending answers, and the events (import records and times left out:
/// a resumed import is two runs at two times).
async fn mail_state(db: &std::path::Path) -> Vec<String> {
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
    let queries = [
        "SELECT 'message', message_id, thread_root, in_reply_to, refs, sha256, has_diff, patch_prefix, subject_tag,
                revision_key, change_id, applied, hex(body) FROM messages",
        "SELECT 'link', m.message_id, ms.site_id, ms.how, ms.detail FROM message_sites ms JOIN messages m ON m.id = ms.message_id",
        "SELECT 'trailer', m.message_id, t.kind, t.email, t.raw, t.about,
                (SELECT group_concat(p.message_id, ' ') FROM trailer_patches tp JOIN messages p ON p.id = tp.patch_id
                 WHERE tp.trailer_id = t.id)
         FROM message_trailers t JOIN messages m ON m.id = t.message_id",
        "SELECT 'want', w.want, m.message_id FROM message_wants w JOIN messages m ON m.id = w.message_id",
        "SELECT 'answer', a.note_id, m.message_id, a.email FROM question_answers a JOIN messages m ON m.id = a.message_id",
        "SELECT 'ref', campaign_id, site_id, kind, target, title FROM refs",
        "SELECT 'site', id, status, version FROM sites",
        "SELECT 'cursor', inbox, epoch, last_commit FROM mail_cursors",
        "SELECT 'pending', message_id FROM mail_answer_pending",
        "SELECT 'event', campaign_id, site_id, kind, source, source_ref, old, new, reason FROM events WHERE kind != 'import'",
    ];
    let mut out = Vec::new();
    for q in queries {
        let rows = sqlx::query(q).fetch_all(&mut conn).await.unwrap();
        for r in rows {
            use sqlx::Row;
            let cols: Vec<String> = (0..r.len())
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .map(|v| v.unwrap_or_else(|| "NULL".into()))
                        .or_else(|_| r.try_get::<Option<i64>, _>(i).map(|v| format!("{v:?}")))
                        .unwrap()
                })
                .collect();
            out.push(cols.join("|"));
        }
    }
    out.sort();
    out
}

async fn count(db: &std::path::Path, what: &str) -> i64 {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    sqlx::query_scalar(what).fetch_one(&mut conn).await.unwrap()
}

#[tokio::test]
async fn a_mail_import_killed_half_way_and_run_again_equals_one_clean_import() {
    let Some(tar) = real_mail::real_mail("public-inbox/target-devel-epoch0.tar") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inbox = epoch::target_devel(&tar, dir.path()).unwrap();
    let inbox = inbox.to_str().unwrap();
    // Both demo campaigns, so that the mail links sites, proposes fixes and answers questions.
    let seed = |db: &std::path::Path| {
        for f in [
            "data/demo/iov-iter-direction.json",
            "data/demo/iov-iter-pin.json",
        ] {
            let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            let out = run(db, &["import", "auditor", "--quiet", f.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let import = ["import", "mail", "--quiet", "--public-inbox", inbox];

    let clean = dir.path().join("clean.db");
    seed(&clean);
    let t = Instant::now();
    let out = run(&clean, &import);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = t.elapsed();
    let total = count(&clean, "SELECT count(*) FROM messages").await;

    let db = dir.path().join("killed.db");
    seed(&db);
    let mut partial = Vec::new();
    for (i, at) in [0.35, 0.55, 0.75, 0.9].into_iter().enumerate() {
        let mut child = treewide()
            .arg("--db")
            .arg(&db)
            .args(import)
            .env("TREEWIDE_LOG", "off")
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(at));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let n = count(&db, "SELECT count(*) FROM messages").await;
        eprintln!(
            "kill {i} after {:.1?}: {n} of {total} messages stored",
            full.mul_f64(at)
        );
        partial.push(n);
    }
    assert!(
        partial.iter().any(|n| *n > 0 && *n < total),
        "no kill landed inside the import ({partial:?} of {total}): nothing was resumed"
    );
    let out = run(&db, &import);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (a, b) = (mail_state(&clean).await, mail_state(&db).await);
    assert_eq!(a.len(), b.len(), "as many rows as one clean import");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "the resumed import differs from a clean one");
    }
    // Once more: nothing new.
    let out = run(&db, &import);
    assert!(out.status.success());
    assert_eq!(mail_state(&db).await, b);
}
