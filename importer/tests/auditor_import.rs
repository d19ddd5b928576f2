//! Importing auditor files into a real SQLite database: idempotence, stable identity,
//! transitions, bad input, round trips.

mod common;

use std::path::Path;

use serde_json::{json, Value};
use treewide_core::model::{EventSource, Status};
use treewide_core::sites::SiteQuery;
use treewide_core::{campaigns, db, events, ingest, notes, sites, SqlitePool};
use treewide_formats::export;
use treewide_importer::{auditor, demo};

async fn fresh(dir: &Path) -> SqlitePool {
    db::open(&dir.join("t.db")).await.unwrap()
}

fn doc(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap()
}

async fn import(db: &SqlitePool, name: &str, bytes: &[u8]) -> Result<ingest::Summary, String> {
    let batch = auditor::parse_bytes(name, bytes, EventSource::Import, "tester")
        .map_err(|e| e.to_string())?;
    ingest::store(db, &batch).await.map_err(|e| e.to_string())
}

/// Every row of every table, as text: equal fingerprints mean an unchanged database.
async fn fingerprint(db: &SqlitePool) -> String {
    let tables = [
        "campaigns",
        "subsystems",
        "subsystem_people",
        "subsystem_lists",
        "verdicts",
        "imports",
        "sites",
        "notes",
        "refs",
        "events",
    ];
    let mut out = String::new();
    for t in tables {
        let cols: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT name FROM pragma_table_info('{t}')"))
                .fetch_all(db)
                .await
                .unwrap();
        let expr = cols
            .iter()
            .map(|(c,)| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<(String,)> =
            sqlx::query_as(&format!("SELECT {expr} FROM {t} ORDER BY rowid"))
                .fetch_all(db)
                .await
                .unwrap();
        out.push_str(&format!("## {t}\n"));
        for (r,) in rows {
            out.push_str(&r);
            out.push('\n');
        }
    }
    out
}

fn sample() -> Value {
    json!({
        "format": "treewide-audit/1",
        "campaign": {"slug": "pin", "title": "Pinning", "rule": "pin user-backed pages"},
        "tree": {"describe": "v6.1"},
        "subsystems": [{"name": "NVM EXPRESS TARGET DRIVER", "maintainers": ["Christoph Hellwig <hch@lst.de>"],
                         "lists": ["linux-nvme@lists.infradead.org"], "status": "Supported"}],
        "verdicts": [
            {"label": "sources", "match": {"direction": "ITER_SOURCE"}, "status": "confirmed_safe", "reason": "no pin for sources"},
            {"label": "nvme", "match": {"file": "drivers/nvme/target/*"}, "status": "awaiting_owner", "reason": "ask nvme"}
        ],
        "sites": [
            {"file": "drivers/nvme/target/io-cmd-file.c", "line": 94, "function": "nvmet_file_submit_bvec",
             "callee": "iov_iter_bvec", "code": "iov_iter_bvec(&iter, rw, req->f.bvec, nr_segs, count);",
             "direction": "rw", "subsystem": "NVM EXPRESS TARGET DRIVER",
             "notes": [{"author": "Al Viro <viro@zeniv.linux.org.uk>", "text": "nvme folks to confirm anon pages",
                        "ask": "NVM EXPRESS TARGET DRIVER", "date": "2022-09-20"}]},
            {"file": "fs/splice.c", "line": 684, "function": "iter_file_splice_write", "callee": "iov_iter_bvec",
             "code": "iov_iter_bvec(&from, ITER_SOURCE, array, n, sd.total_len - left);", "direction": "ITER_SOURCE"},
            {"file": "drivers/target/target_core_file.c", "line": 292, "function": "fd_execute_rw_aio",
             "callee": "iov_iter_bvec", "code": "iov_iter_bvec(&iter, is_write, aio_cmd->bvecs, sgl_nents, len);",
             "direction": "is_write", "status": "unreviewed",
             "refs": [{"message_id": "<YylJU+BKw5R8u7dw@ZenIV>", "subject": "Re: [PATCH v2 4/7]"}]},
            {"file": "lib/x.c", "line": 10, "function": "twice", "callee": "iov_iter_kvec", "code": "iov_iter_kvec(&i, READ, v, 1, n);", "direction": "READ"},
            {"file": "lib/x.c", "line": 20, "function": "twice", "callee": "iov_iter_kvec", "code": "iov_iter_kvec(&i, READ, v, 1, n);", "direction": "READ", "status": "needs_fix"}
        ]
    })
}

fn status_of(list: &[sites::Site], file: &str, line: i64) -> Status {
    list.iter()
        .find(|s| s.file == file && s.line == line)
        .unwrap_or_else(|| panic!("{file}:{line}"))
        .status
}

#[tokio::test]
async fn import_decides_by_site_then_verdict_then_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    let s = import(&db, "a.json", &doc(&sample())).await.unwrap();
    assert_eq!(
        (s.sites_total, s.sites_new, s.notes_new, s.refs_new),
        (5, 5, 1, 1)
    );
    let c = campaigns::get(&db, "pin").await.unwrap();
    let all = sites::all_in(&db, c.id).await.unwrap();
    assert_eq!(
        status_of(&all, "drivers/nvme/target/io-cmd-file.c", 94),
        Status::AwaitingOwner
    );
    assert_eq!(status_of(&all, "fs/splice.c", 684), Status::ConfirmedSafe);
    assert_eq!(
        status_of(&all, "drivers/target/target_core_file.c", 292),
        Status::Unreviewed
    );
    assert_eq!(status_of(&all, "lib/x.c", 20), Status::NeedsFix);
    let nvme = all.iter().find(|s| s.line == 94).unwrap();
    assert_eq!(nvme.verdict.as_deref(), Some("nvme"));
    assert_eq!(nvme.subsystem.as_deref(), Some("NVM EXPRESS TARGET DRIVER"));
    assert_eq!(c.open_questions, 1);
    // Two identical calls in one function are two sites, told apart by order.
    assert_eq!(all.iter().filter(|s| s.file == "lib/x.c").count(), 2);
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    let bytes = doc(&sample());
    import(&db, "a.json", &bytes).await.unwrap();
    let before = fingerprint(&db).await;
    let s = import(&db, "a.json", &bytes).await.unwrap();
    assert!(s.is_noop(), "{s:?}");
    assert_eq!(fingerprint(&db).await, before);
}

#[tokio::test]
async fn reimport_with_all_lines_shifted_keeps_ids_notes_and_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    import(&db, "a.json", &doc(&sample())).await.unwrap();
    let c = campaigns::get(&db, "pin").await.unwrap();
    let before = sites::all_in(&db, c.id).await.unwrap();
    let events_before = events::count(&db).await.unwrap();

    let mut shifted = sample();
    for s in shifted["sites"].as_array_mut().unwrap() {
        let l = s["line"].as_i64().unwrap();
        s["line"] = json!(l + 11);
        // a re-wrapped call is still the same call
        let code = s["code"].as_str().unwrap().replace(", ", ",\n\t\t");
        s["code"] = json!(code);
    }
    let s = import(&db, "shifted.json", &doc(&shifted)).await.unwrap();
    assert_eq!(
        (s.sites_new, s.sites_changed, s.status_changes),
        (0, 5, 0),
        "{s:?}"
    );
    let after = sites::all_in(&db, c.id).await.unwrap();
    assert_eq!(after.len(), before.len());
    for b in &before {
        let a = after.iter().find(|a| a.id == b.id).unwrap();
        assert_eq!(a.line, b.line + 11);
        assert_eq!(a.status, b.status);
        assert_eq!(a.version, b.version, "moving lines is not a status change");
    }
    let nvme = after
        .iter()
        .find(|a| a.function.as_deref() == Some("nvmet_file_submit_bvec"))
        .unwrap();
    assert_eq!(notes::for_site(&db, nvme.id).await.unwrap().len(), 1);
    // Only the import itself is logged: no status events.
    assert_eq!(events::count(&db).await.unwrap(), events_before + 1);
}

#[tokio::test]
async fn changed_status_on_reimport_is_an_event_and_absent_sites_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    import(&db, "a.json", &doc(&sample())).await.unwrap();
    let mut v = sample();
    let sites_v = v["sites"].as_array_mut().unwrap();
    sites_v[2]["status"] = json!("needs_pin");
    sites_v.truncate(3);
    let s = import(&db, "b.json", &doc(&v)).await.unwrap();
    assert_eq!(s.status_changes, 1);
    let c = campaigns::get(&db, "pin").await.unwrap();
    let all = sites::all_in(&db, c.id).await.unwrap();
    assert_eq!(
        all.len(),
        5,
        "sites missing from a re-import are not deleted"
    );
    let t = all.iter().find(|s| s.line == 292).unwrap();
    assert_eq!(t.status, Status::NeedsPin);
    let ev = events::for_site(&db, t.id).await.unwrap();
    let last = ev.last().unwrap();
    assert_eq!(
        (last.old.as_deref(), last.new.as_deref()),
        (Some("unreviewed"), Some("needs_pin"))
    );
    assert_eq!(last.actor, "tester");
    assert_eq!(last.source_ref.as_deref(), Some("b.json"));
}

#[tokio::test]
async fn per_site_decisions_survive_a_reimport_without_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    import(&db, "a.json", &doc(&sample())).await.unwrap();
    let mut v = sample();
    v["sites"][4].as_object_mut().unwrap().remove("status");
    let s = import(&db, "b.json", &doc(&v)).await.unwrap();
    assert_eq!(s.status_changes, 0);
    let c = campaigns::get(&db, "pin").await.unwrap();
    assert_eq!(
        status_of(&sites::all_in(&db, c.id).await.unwrap(), "lib/x.c", 20),
        Status::NeedsFix
    );
}

#[tokio::test]
async fn replaced_verdict_groups_decide_again_with_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    import(&db, "a.json", &doc(&sample())).await.unwrap();
    // A later file carries only the new groups, no sites.
    let v = json!({"format": "treewide-audit/1", "campaign": {"slug": "pin"},
        "verdicts": [{"label": "nvme answered", "match": {"file": "drivers/nvme/target/*"}, "status": "confirmed_safe",
                      "reason": "hch: sgl_alloc() pages are anonymous"}]});
    let s = import(&db, "v.json", &doc(&v)).await.unwrap();
    assert!(s.verdicts_replaced);
    assert_eq!(
        s.status_changes, 2,
        "nvme → safe, splice.c loses its group → unreviewed"
    );
    let c = campaigns::get(&db, "pin").await.unwrap();
    let all = sites::all_in(&db, c.id).await.unwrap();
    assert_eq!(
        status_of(&all, "drivers/nvme/target/io-cmd-file.c", 94),
        Status::ConfirmedSafe
    );
    assert_eq!(status_of(&all, "fs/splice.c", 684), Status::Unreviewed);
    assert_eq!(
        status_of(&all, "lib/x.c", 20),
        Status::NeedsFix,
        "per-site decisions stay"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message_and_the_database_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    import(&db, "a.json", &doc(&sample())).await.unwrap();
    let before = fingerprint(&db).await;
    let good = String::from_utf8(doc(&sample())).unwrap();
    let mut garbage = Vec::with_capacity(50 << 20);
    let mut x: u32 = 12345;
    while garbage.len() < 50 << 20 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        garbage.push((x >> 16) as u8);
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not json", b"this is not json".to_vec(), "not valid JSON"),
        (
            "wrong format",
            good.replace("treewide-audit/1", "treewide-audit/9")
                .into_bytes(),
            "format: unsupported format",
        ),
        (
            "unknown status",
            good.replacen("\"needs_fix\"", "\"needs_love\"", 1)
                .into_bytes(),
            "sites[4].status: unknown variant `needs_love`",
        ),
        (
            "missing field",
            good.replacen("\"callee\": \"iov_iter_bvec\",", "", 1)
                .into_bytes(),
            "missing field `callee`",
        ),
        (
            "unknown field",
            good.replacen("\"line\": 94", "\"line\": 94, \"severity\": 3", 1)
                .into_bytes(),
            "unknown field `severity`",
        ),
        (
            "line 0",
            good.replacen("\"line\": 94", "\"line\": 0", 1).into_bytes(),
            "sites[0].line",
        ),
        (
            "absolute path",
            good.replacen("fs/splice.c", "/usr/src/linux/fs/splice.c", 1)
                .into_bytes(),
            "sites[1].file: invalid file path",
        ),
        (
            "dotdot path",
            good.replacen("fs/splice.c", "fs/../../etc/passwd", 1)
                .into_bytes(),
            "sites[1].file",
        ),
        ("50 MB of garbage", garbage, "not valid JSON"),
    ];
    for (what, bytes, expected) in cases {
        let e = import(&db, "bad.json", &bytes).await.unwrap_err();
        assert!(e.starts_with("bad.json:"), "{what}: {e}");
        assert!(
            e.contains(expected),
            "{what}: {e:?} should contain {expected:?}"
        );
        assert_eq!(
            fingerprint(&db).await,
            before,
            "{what} changed the database"
        );
    }
}

#[tokio::test]
async fn a_failure_while_storing_rolls_back_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    import(&db, "a.json", &doc(&sample())).await.unwrap();
    let before = fingerprint(&db).await;
    // Make the very last write of the next file fail inside SQLite.
    sqlx::query("CREATE TRIGGER boom BEFORE INSERT ON notes WHEN NEW.body = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END")
        .execute(&db)
        .await
        .unwrap();
    let mut v = sample();
    v["campaign"]["slug"] = json!("other");
    v["sites"][4]["notes"] = json!([{"author": "x", "text": "boom"}]);
    let e = import(&db, "c.json", &doc(&v)).await.unwrap_err();
    assert!(e.contains("boom"), "{e}");
    assert_eq!(fingerprint(&db).await, before);
    assert!(campaigns::get(&db, "other").await.is_err());
}

#[tokio::test]
async fn export_round_trips_through_import() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    demo::load(&db).await.unwrap();
    for slug in ["iov-iter-direction", "iov-iter-pin"] {
        let mut first = Vec::new();
        export::write_json(&db, slug, &mut first).await.unwrap();
        // Exported files re-import into the same database as no-ops…
        let s = import(&db, "export.json", &first).await.unwrap();
        assert!(s.is_noop(), "{slug}: {s:?}");
        // …and into an empty one as the same campaign.
        let dir2 = tempfile::tempdir().unwrap();
        let db2 = fresh(dir2.path()).await;
        import(&db2, "export.json", &first).await.unwrap();
        let mut second = Vec::new();
        export::write_json(&db2, slug, &mut second).await.unwrap();
        let text = String::from_utf8(second).unwrap();
        assert_eq!(String::from_utf8(first).unwrap(), text, "{slug}");
        let (a, b) = (
            campaigns::get(&db, slug).await.unwrap(),
            campaigns::get(&db2, slug).await.unwrap(),
        );
        assert_eq!(a.counts, b.counts);
        assert_eq!(a.open_questions, b.open_questions);
        // Code context and the dates facts happened travel too: the burndown is the same.
        assert!(text.contains("\"context\": {"), "{slug}");
        assert!(text.contains("\"date\": \"2022-"), "{slug}");
        assert_eq!(
            treewide_core::history::burndown(&db, a.id).await.unwrap(),
            treewide_core::history::burndown(&db2, b.id).await.unwrap(),
            "{slug}"
        );
    }
}

#[tokio::test]
async fn the_demo_holds_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    demo::load(&db).await.unwrap();
    let pin = campaigns::get(&db, "iov-iter-pin").await.unwrap();
    // The whole scan of the tree: every call no verdict group decides is unreviewed, among
    // them the seven of "Haven't done yet" (at their 6.1 lines; the reason keeps the mail's).
    assert_eq!(pin.counts.total(), 217);
    assert_eq!(pin.counts.get(Status::Unreviewed), 74);
    let q = SiteQuery {
        campaign: Some(pin.id),
        status: Some(Status::Unreviewed),
        ..Default::default()
    };
    let open = sites::list(&db, &q, treewide_core::model::SiteId(0), 500)
        .await
        .unwrap();
    for want in common::SEED_HAVEN_T_DONE {
        let (file, line) = want.rsplit_once(':').unwrap();
        let site = open
            .iter()
            .find(|s| s.reason.contains(&format!("in the audit mail as {want}.")))
            .unwrap_or_else(|| panic!("{want} missing"));
        assert_eq!(site.file, file);
        let line: i64 = line.parse().unwrap();
        assert!((site.line - line).abs() <= 12, "{want}: at {}", site.line);
    }
    let direction = campaigns::get(&db, "iov-iter-direction").await.unwrap();
    assert_eq!(
        (direction.counts.total(), direction.counts.done()),
        (191, 170)
    );
    let nvme = sites::list(
        &db,
        &SiteQuery {
            campaign: Some(pin.id),
            file: Some("drivers/nvme/target/*".into()),
            ..Default::default()
        },
        treewide_core::model::SiteId(0),
        10,
    )
    .await
    .unwrap();
    assert_eq!(nvme[0].status, Status::AwaitingOwner);
    let n = notes::for_site(&db, nvme[0].id).await.unwrap();
    assert!(n[0].body.contains("confirmed by nvme folks"));
    assert_eq!(n[0].ask.as_deref(), Some("NVM EXPRESS TARGET DRIVER"));
    let dir_c = campaigns::get(&db, "iov-iter-direction").await.unwrap();
    let rs = treewide_core::refs::for_campaign(&db, dir_c.id)
        .await
        .unwrap();
    let tagged: Vec<_> = rs.iter().filter_map(|r| r.tag.clone()).collect();
    for t in ["s390", "fsi", "infiniband", "target", "vhost", "xen"] {
        assert!(
            tagged.iter().any(|x| x == t),
            "[{t}] commit missing: {tagged:?}"
        );
    }
    assert!(
        rs.iter().any(|r| r.target.starts_with("de4eda9de2d9")),
        "the rename commit"
    );
}

#[tokio::test]
async fn the_documented_example_imports() {
    let text = include_str!("../../docs/auditor-json.md");
    let start = text.find("```json\n").expect("an example in the docs") + 8;
    let end = start + text[start..].find("\n```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = fresh(dir.path()).await;
    let s = import(&db, "docs/auditor-json.md", &text.as_bytes()[start..end])
        .await
        .unwrap();
    assert!(s.sites_total > 0);
}
