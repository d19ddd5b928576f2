//! Re-scanning a tree keeps call sites' identities: moved calls keep their id, notes and
//! decisions, removed calls become gone, new ones appear, and an auditor's `file:line` list
//! with other line numbers is matched by code. Runs on a copy of a small real excerpt tree.

use std::path::Path;

use treewide_core::model::{EventSource, Status};
use treewide_core::{campaigns, db, events, ingest, notes, sites, SqlitePool};
use treewide_formats::spec::Spec;
use treewide_importer::{auditor, scan};

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

async fn scan_into(db: &SqlitePool, tree: &Path) -> ingest::Summary {
    let req = scan::ScanRequest {
        tree: tree.to_path_buf(),
        spec: Spec::load("iov-iter-direction").unwrap(),
        campaign: Some("iov-iter-direction".into()),
        describe: Some("v6.1.172".into()),
        actor: "tester".into(),
        full: false,
        changed: None,
    };
    scan::run(db, &req, &()).await.unwrap().summary
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, f(text)).unwrap();
}

fn find<'a>(all: &'a [sites::Site], file: &str, code_part: &str) -> &'a sites::Site {
    all.iter()
        .find(|s| s.file == file && s.code.contains(code_part))
        .unwrap_or_else(|| panic!("no {file} site with {code_part:?}"))
}

#[tokio::test]
async fn rescans_track_sites_across_moves_removals_and_auditor_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("linux");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tree"),
        &tree,
    );
    let db = db::open(&dir.path().join("t.db")).await.unwrap();

    // An auditor's list first, as the seed mail gives it: other line numbers, no function,
    // fs/afs/dir.c's call cut at the end of the line.
    let seed = r#"{"format": "treewide-audit/1", "campaign": {"slug": "iov-iter-direction"},
      "sites": [
        {"file": "drivers/vhost/vringh.c", "line": 1198, "callee": "iov_iter_bvec", "status": "unreviewed",
         "code": "iov_iter_bvec(&iter, ITER_DEST, iov, ret, translated);",
         "notes": [{"author": "Al Viro <viro@zeniv.linux.org.uk>", "text": "Haven't done yet"}]},
        {"file": "fs/afs/dir.c", "line": 40, "callee": "iov_iter_xarray", "status": "unreviewed",
         "code": "iov_iter_xarray(&req->def_iter, ITER_DEST, &dvnode->netfs.inode.i_mapping->i_pages,"},
        {"file": "fs/afs/dir.c", "line": 5000, "callee": "iov_iter_kvec", "code": "iov_iter_kvec(&x, READ, v, 1, n);"}
      ]}"#;
    let b =
        auditor::parse_bytes("seed.json", seed.as_bytes(), EventSource::Import, "lead").unwrap();
    ingest::store(&db, &b).await.unwrap();
    let c = campaigns::get(&db, "iov-iter-direction").await.unwrap();
    let before = sites::all_in(&db, c.id).await.unwrap();
    let vringh_id = find(&before, "drivers/vhost/vringh.c", "ITER_DEST").id;
    let afs_id = find(&before, "fs/afs/dir.c", "iov_iter_xarray").id;

    let s = scan_into(&db, &tree).await;
    assert_eq!(s.sites_total, 3);
    assert_eq!(s.sites_new, 2, "both vringh calls are new: {s:?}");
    // vringh's call is 1198 in the mail, 57 here: too far to be matched by line (and it has
    // no function in the mail); the afs call is 9 lines off with cut code: matched by code.
    assert_eq!(
        s.rematched,
        vec!["fs/afs/dir.c:40 → 50".to_owned()],
        "{s:?}"
    );
    assert!(
        s.gone.contains(&"fs/afs/dir.c:5000".to_owned()),
        "an auditor site the tree lacks is gone, not dropped"
    );
    let after = sites::all_in(&db, c.id).await.unwrap();
    let afs = after.iter().find(|x| x.id == afs_id).unwrap();
    assert_eq!(
        (afs.line, afs.function.as_deref()),
        (50, Some("afs_read_dir"))
    );
    assert_eq!(
        afs.status,
        Status::Fixed,
        "ITER_DEST: the scan's classification"
    );
    assert_eq!(afs.subsystem.as_deref(), Some("AFS FILESYSTEM"));
    let vringh = after.iter().find(|x| x.id == vringh_id).unwrap();
    assert_eq!(
        vringh.status,
        Status::Gone,
        "the mail's line is far away; it is reported, kept, and gone"
    );
    assert_eq!(
        notes::for_site(&db, vringh_id).await.unwrap().len(),
        1,
        "notes stay"
    );
    let fresh = find(&after, "drivers/vhost/vringh.c", "ITER_SOURCE");
    assert_eq!(
        (fresh.function.as_deref(), fresh.status),
        (Some("copy_from_iotlb"), Status::Fixed)
    );
    assert_eq!(fresh.subsystem.as_deref(), Some("VIRTIO HOST (VHOST)"));

    // The same tree again: nothing changes, nothing is logged.
    let n_events = events::count(&db).await.unwrap();
    assert!(scan_into(&db, &tree).await.is_noop());
    assert_eq!(events::count(&db).await.unwrap(), n_events);

    // A later tree: 11 lines added on top of vringh.c, a regression to READ in copy_to_iotlb,
    // afs's call removed, a new legacy call added.
    let vr = tree.join("drivers/vhost/vringh.c");
    edit(&vr, |t| format!("{}{t}", "/* added */\n".repeat(11)));
    edit(&vr, |t| {
        t.replace(
            "iov_iter_bvec(&iter, ITER_DEST, iov, ret, translated);",
            "iov_iter_bvec(&iter, READ, iov, ret, translated);",
        )
    });
    edit(&vr, |t| {
        t.replace("\treturn total_translated;\n}\n\nstatic inline int copy_to_iotlb", "\tiov_iter_kvec(&k, WRITE, kv, 1, n);\n\treturn total_translated;\n}\n\nstatic inline int copy_to_iotlb")
    });
    let afs_file = tree.join("fs/afs/dir.c");
    edit(&afs_file, |t| {
        let start = t.find("\tiov_iter_xarray(").unwrap();
        let end = start + t[start..].find(";\n").unwrap() + 2;
        format!("{}{}", &t[..start], &t[end..])
    });
    let s = scan_into(&db, &tree).await;
    // READ and ITER_DEST are the same call to the identity: the regression is a status change
    // of the existing site, not a new site.
    assert_eq!(s.sites_new, 1, "{s:?}");
    assert_eq!(s.gone, vec!["fs/afs/dir.c:50".to_owned()]);
    let later = sites::all_in(&db, c.id).await.unwrap();
    let moved = later.iter().find(|x| x.id == fresh.id).unwrap();
    assert_eq!(moved.line, fresh.line + 11, "same id, new line");
    assert_eq!(moved.status, Status::Fixed);
    let regressed = find(&later, "drivers/vhost/vringh.c", "READ");
    assert_eq!(
        regressed.id,
        find(&after, "drivers/vhost/vringh.c", "ITER_DEST").id
    );
    assert_eq!(regressed.status, Status::NeedsFix);
    assert_eq!(regressed.reason, "legacy direction READ: use ITER_DEST");
    let added = find(&later, "drivers/vhost/vringh.c", "iov_iter_kvec");
    assert_eq!(
        (added.status, added.function.as_deref()),
        (Status::NeedsFix, Some("copy_from_iotlb"))
    );
    let ev = events::for_site(&db, afs_id).await.unwrap();
    let last = ev.last().unwrap();
    assert_eq!(
        (last.old.as_deref(), last.new.as_deref()),
        (Some("fixed"), Some("gone"))
    );
    assert!(last.reason.contains("not found by the scan"));
}
