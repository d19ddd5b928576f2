//! The mail importer on real list mail (`../shared/data/mail`, see `tests/support/real_mail.rs`),
//! a built fixture with a campaign site, hostile input and a local HTTP server standing in for
//! lore.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use treewide_core::mail::{self as core_mail, LinkHow, MailScope, ThreadPage, TrailerKind};
use treewide_core::model::{SiteId, Status};
use treewide_core::{db, ingest, sites, SqlitePool};
use treewide_importer::{auditor, mail};

#[path = "../../tests/support/real_mail.rs"]
mod real_mail;

/// A fixture written for these tests (`tests/data/mail/generated`).
fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/mail")
        .join(rel)
}

/// Real list mail, or `None` when this clone has none (the test then skips).
fn real(rel: &str) -> Option<PathBuf> {
    real_mail::real_mail(rel)
}

fn opts() -> mail::Options {
    mail::Options {
        campaign: None,
        actor: "test".into(),
    }
}

async fn import_file(db: &SqlitePool, path: &Path) -> mail::Report {
    mail::import(db, &mail::Source::Mbox(path.to_owned()), &opts())
        .await
        .unwrap()
}

fn untar(tgz: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(tgz)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok, "tar failed on {}", tgz.display());
    dir
}

/// Write `text` to `dir/name`; the path.
fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn count_kind(db: &SqlitePool, kind: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM message_trailers WHERE kind = ?1")
        .bind(kind)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn real_threads_import_every_message_with_threads_and_trailers() {
    let db = db::open_memory().await.unwrap();
    // (file, messages, at least this many Reviewed-by, Acked-by)
    let expected = [
        ("ovl-cred-guard-v3", 64, 41, 0),
        ("splice-read-v17-partial", 7, 1, 1),
        ("splice-read-v21-partial", 5, 2, 2),
        ("block-reexpand-iov_iter", 18, 0, 1),
        ("caif-dont-assume-iov_iter-type", 3, 1, 0),
        ("save-restore-iov_iter-state-v3", 12, 0, 0),
    ];
    let mut total = 0;
    for (name, n, reviewed, acked) in expected {
        let before_r = count_kind(&db, "reviewed_by").await;
        let before_a = count_kind(&db, "acked_by").await;
        let Some(path) = real(&format!("threads/{name}.mbox.gz")) else {
            return;
        };
        let r = import_file(&db, &path).await;
        assert!(r.skipped.is_empty(), "{name}: {:?}", r.skipped);
        assert_eq!(r.summary.messages, n, "{name}");
        assert_eq!(r.summary.messages_new, n, "{name}");
        total += n as i64;
        assert!(
            count_kind(&db, "reviewed_by").await - before_r >= reviewed,
            "{name}"
        );
        assert_eq!(
            count_kind(&db, "acked_by").await - before_a,
            acked,
            "{name}"
        );
    }
    assert_eq!(core_mail::count(&db).await.unwrap(), total);

    // A whole thread has one root; the partial ones have replies whose parents are absent.
    let ovl_roots: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT thread_root) FROM messages WHERE subject LIKE '%ovl%' AND subject LIKE '%PATCH v3%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(ovl_roots, 1);
    let t = core_mail::get(&db, "<20210401071807.3328235-1-yangerkun@huawei.com>")
        .await
        .unwrap();
    assert_eq!(t.thread.size, 18);
    assert_eq!((t.thread.index, t.thread.depth), (1, 0));
    assert_eq!(t.head.list.as_deref(), Some("io-uring.vger.kernel.org"));

    // The mistyped Acked-by is recorded as written and matches nobody.
    let acked: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.email, p.message_id FROM message_trailers t JOIN trailer_patches tp ON tp.trailer_id = t.id
         JOIN messages p ON p.id = tp.patch_id WHERE t.email = 'asml.silencec@gmail.com'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        acked,
        vec![(
            "asml.silencec@gmail.com".to_owned(),
            "20210401071807.3328235-1-yangerkun@huawei.com".to_owned()
        )]
    );

    // Re-import is a no-op.
    for (name, ..) in expected {
        let path = real(&format!("threads/{name}.mbox.gz")).expect("found above");
        let r = import_file(&db, &path).await;
        assert!(r.summary.is_noop(), "{name}: {:?}", r.summary);
    }
    assert_eq!(core_mail::count(&db).await.unwrap(), total);
}

#[tokio::test]
async fn public_inbox_epoch_imports_300_then_only_new_commits() {
    let db = db::open_memory().await.unwrap();
    let Some(tar) = real("public-inbox/linux-unionfs-epoch0-first300.tar.gz") else {
        return;
    };
    let dir = untar(&tar);
    let src = mail::Source::PublicInbox(dir.path().to_owned());
    let r = mail::import(&db, &src, &opts()).await.unwrap();
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!((r.summary.messages, r.summary.messages_new), (300, 300));
    assert!(count_kind(&db, "reviewed_by").await >= 6);
    assert!(count_kind(&db, "acked_by").await >= 1);
    let diffs: i64 = sqlx::query_scalar("SELECT sum(has_diff) FROM messages")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(diffs >= 69, "{diffs} messages with diffs");
    // Second run: the cursor says everything is read.
    let again = mail::import(&db, &src, &opts()).await.unwrap();
    assert_eq!(again.summary.messages, 0);
    assert!(again.summary.is_noop());

    // The same epoch as people have it: a bare mirror in a folder of any name, somewhere
    // else. It is recognised by its content and its cursor (by root commit) still holds.
    let elsewhere = tempfile::tempdir().unwrap();
    let mirror = elsewhere.path().join("linux-unionfs-lore-mirror");
    std::fs::rename(dir.path().join("git/0.git"), &mirror).unwrap();
    let moved = mail::import(&db, &mail::Source::PublicInbox(mirror), &opts())
        .await
        .unwrap();
    assert_eq!(moved.summary.messages, 0, "{:?}", moved.summary);

    // A bare repository that holds no messages is refused, naming it and what was expected.
    let other = elsewhere.path().join("not-an-inbox.git");
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "a")
            .env("GIT_AUTHOR_EMAIL", "a@b")
            .env("GIT_COMMITTER_NAME", "a")
            .env("GIT_COMMITTER_EMAIL", "a@b")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    let work = elsewhere.path().join("work");
    git(&["init", "-q", work.to_str().unwrap()]);
    std::fs::write(work.join("README"), "x").unwrap();
    git(&["-C", work.to_str().unwrap(), "add", "README"]);
    git(&["-C", work.to_str().unwrap(), "commit", "-q", "-m", "x"]);
    git(&[
        "clone",
        "-q",
        "--bare",
        work.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    let err = mail::import(&db, &mail::Source::PublicInbox(other), &opts())
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("not-an-inbox.git is not a public-inbox epoch"),
        "{msg}"
    );
    assert!(msg.contains("blob m"), "{msg}");
}

#[tokio::test]
async fn public_inbox_commit_without_m_is_reported_and_skipped() {
    let db = db::open_memory().await.unwrap();
    let dir = untar(&data("generated/public-inbox-without-m.tar.gz"));
    let epoch = dir.path().join("git/0.git");
    let r = mail::import(&db, &mail::Source::PublicInbox(epoch), &opts())
        .await
        .unwrap();
    assert_eq!(r.summary.messages_new, 2);
    assert_eq!(r.skipped.len(), 1);
    assert!(r.skipped[0].position.starts_with("epoch 0 commit 1f4b81b"));
    assert!(r.skipped[0].reason.contains("no blob m"));
    let reply = core_mail::get(&db, "pi-3@example.org").await.unwrap();
    assert_eq!(reply.thread.parent.as_deref(), Some("pi-1@example.org"));
}

async fn fixture_db() -> SqlitePool {
    let db = db::open_memory().await.unwrap();
    let batch = auditor::parse_file(&data("generated/ceph-campaign.json"), "test").unwrap();
    ingest::store(&db, &batch).await.unwrap();
    db
}

/// The ceph audit as another campaign (not a built-in slug), with `campaign` fields added.
async fn audit_db(extra: &str) -> SqlitePool {
    let text = std::fs::read_to_string(data("generated/ceph-campaign.json"))
        .unwrap()
        .replacen(
            r#""slug": "iov-iter-pin""#,
            &format!(r#""slug": "ceph-audit"{extra}"#),
            1,
        );
    assert!(text.contains("ceph-audit"));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "audit.json", &text);
    let db = db::open_memory().await.unwrap();
    let batch = auditor::parse_file(&path, "test").unwrap();
    ingest::store(&db, &batch).await.unwrap();
    db
}

#[tokio::test]
async fn an_auditor_campaign_takes_its_fixed_form_and_start_from_its_file() {
    // Naming a built-in spec gives the campaign its fixed form: the patch proposes the fix.
    let db = audit_db(r#", "spec": "iov-iter-pin", "start": "2022-08-01""#).await;
    let r = import_file(&db, &data("generated/ceph-pin.mbox")).await;
    assert_eq!(r.summary.fix_proposed, vec!["fs/ceph/file.c:98"]);
    // Exported and read back, the campaign keeps both.
    let doc = treewide_formats::export::document(&db, "ceph-audit")
        .await
        .unwrap();
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["campaign"]["spec"], "iov-iter-pin");
    assert_eq!(json["campaign"]["start"], "2022-08-01T00:00:00Z");

    // A start after the patch's date (2022-09-21): the patch fixes nothing.
    let db = audit_db(r#", "spec": "iov-iter-pin", "start": "2022-10-01""#).await;
    let r = import_file(&db, &data("generated/ceph-pin.mbox")).await;
    assert!(r.summary.fix_proposed.is_empty());
    // No spec: nothing says what fixed is; the patch is a link only.
    let db = audit_db("").await;
    let r = import_file(&db, &data("generated/ceph-pin.mbox")).await;
    assert!(r.summary.fix_proposed.is_empty());
    assert!(r.summary.links_new > 0);

    // An unknown spec name is an error naming the field.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let text = std::fs::read_to_string(data("generated/ceph-campaign.json"))
        .unwrap()
        .replacen(
            r#""slug": "iov-iter-pin""#,
            r#""slug": "x", "spec": "nope""#,
            1,
        );
    std::fs::write(&path, text).unwrap();
    let err = format!("{:#}", auditor::parse_file(&path, "test").unwrap_err());
    assert!(
        err.contains("spec") && err.contains("iov-iter-pin"),
        "{err}"
    );
}

#[tokio::test]
async fn a_claimants_patch_releases_the_claim_and_queues_show_what_waits() {
    use treewide_core::{claims, queue, users};
    let db = fixture_db().await;
    let site = SiteId(1);
    let (viro, _) = users::invite(&db, "viro@zeniv.linux.org.uk", "Al Viro", false)
        .await
        .unwrap();
    let (reader, _) = users::invite(&db, "reader@example.org", "", false)
        .await
        .unwrap();
    claims::claim_site(&db, site, &viro, 14).await.unwrap();
    let held = claims::claim_site(&db, site, &reader, 3).await.unwrap();
    assert_eq!(claims::for_site(&db, site).await.unwrap().len(), 2);
    // Only the holder releases; an expired claim is no claim.
    assert!(claims::release(&db, held.id, &viro).await.is_err());
    sqlx::query("UPDATE claims SET expires_at = '2000-01-01T00:00:00Z' WHERE id = ?1")
        .bind(held.id)
        .execute(&db)
        .await
        .unwrap();
    let live = claims::for_site(&db, site).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].email, "viro@zeniv.linux.org.uk");
    assert!(
        claims::claim_site(&db, site, &viro, 91).await.is_err(),
        "90 days at most"
    );

    // The CEPH maintainer's queue before the patch: the open question, the site awaiting.
    let q = queue::for_email(&db, "IDryomov@gmail.com").await.unwrap();
    assert_eq!(q.subsystems.len(), 1);
    assert_eq!(q.questions.len(), 1, "{:?}", q.questions);

    // Al Viro's patch for the site arrives: his claim is done.
    let r = import_file(&db, &data("generated/ceph-pin.mbox")).await;
    assert_eq!(r.summary.claims_released, 1);
    assert!(claims::for_site(&db, site).await.unwrap().is_empty());
    let why: String = sqlx::query_scalar("SELECT released_why FROM claims WHERE user_id = ?1")
        .bind(viro.id.0)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(why, "patch 20220921100000.ceph-pin-1@zeniv.linux.org.uk");
    // Jeff Layton reviewed the patch that proposes the fix: it is in his queue.
    let q = queue::for_email(&db, "jlayton@kernel.org").await.unwrap();
    assert_eq!(q.reviewed_patches.len(), 1, "{:?}", q.reviewed_patches);
    assert_eq!(q.reviewed_patches[0].trailer, "Reviewed-by");
    let q = queue::for_email(&db, "idryomov@gmail.com").await.unwrap();
    assert_eq!(
        q.awaiting_total, 1,
        "the fix_proposed site waits for its owners"
    );
}

#[tokio::test]
async fn patch_proposes_fix_and_trailers_sign_off_for_the_sites_subsystem() {
    let db = fixture_db().await;
    let site = SiteId(1);
    assert_eq!(
        sites::get(&db, site).await.unwrap().status,
        Status::NeedsPin
    );
    let r = import_file(&db, &data("generated/ceph-pin.mbox")).await;
    assert_eq!(r.summary.messages_new, 4);
    assert_eq!(r.summary.fix_proposed, vec!["fs/ceph/file.c:98"]);
    let s = sites::get(&db, site).await.unwrap();
    assert_eq!(s.status, Status::FixProposed);
    // The change went through the checked transition, with its event.
    let ev = treewide_core::events::for_site(&db, site).await.unwrap();
    assert!(ev.iter().any(|e| e.new.as_deref() == Some("fix_proposed")
        && e.source_ref.as_deref() == Some("20220921100000.ceph-pin-1@zeniv.linux.org.uk")));

    let patch = core_mail::get(&db, "20220921100000.ceph-pin-1@zeniv.linux.org.uk")
        .await
        .unwrap();
    assert!(patch.head.has_diff);
    assert_eq!(patch.head.patch_prefix.as_deref(), Some("PATCH"));
    assert_eq!(patch.head.subject_tag.as_deref(), Some("ceph"));
    let hows: Vec<LinkHow> = patch.sites.iter().map(|l| l.how).collect();
    assert!(hows.contains(&LinkHow::Patch));
    let trailers = core_mail::trailers_for_site(&db, site).await.unwrap();
    assert_eq!(trailers.len(), 2);
    let review = trailers
        .iter()
        .find(|t| t.kind == TrailerKind::ReviewedBy)
        .unwrap();
    assert_eq!(
        review.signoff_for.as_deref(),
        Some("CEPH DISTRIBUTED FILE SYSTEM CLIENT (CEPH)")
    );
    // Mistyped address: recorded, not a sign-off.
    let ack = trailers
        .iter()
        .find(|t| t.kind == TrailerKind::AckedBy)
        .unwrap();
    assert_eq!(ack.email, "idryomov@gmial.com");
    assert_eq!(ack.signoff_for, None);
    assert_eq!(
        patch
            .sites
            .iter()
            .find(|l| l.how == LinkHow::Patch)
            .unwrap()
            .signoffs,
        vec!["CEPH DISTRIBUTED FILE SYSTEM CLIENT (CEPH)"]
    );

    // The drifted file:line mention links to the site; a quoted function name does not.
    let mention = core_mail::get(&db, "ceph-mention@example.org")
        .await
        .unwrap();
    let hows: Vec<LinkHow> = mention.sites.iter().map(|l| l.how).collect();
    assert_eq!(hows, vec![LinkHow::FileLine]);

    // The site's threads, newest activity first: the later mention, then the patch with its
    // replies, nested.
    let t = core_mail::threads_for(&db, MailScope::Site(site), ThreadPage::default())
        .await
        .unwrap();
    let depths: Vec<u32> = t.strong.iter().map(|e| e.depth).collect();
    assert_eq!(depths, vec![0, 0, 1, 2]);

    // Owners' answers: the maintainers' replies in the thread answer the open question.
    let c = treewide_core::campaigns::get(&db, "iov-iter-pin")
        .await
        .unwrap();
    let answers = core_mail::pending_answers(&db, c.id, Some(site), None)
        .await
        .unwrap();
    let from: Vec<&str> = answers.iter().map(|a| a.from.as_str()).collect();
    // By date: Ilya's 13:00 +0200 comes before Jeff's 12:00 -0400.
    assert_eq!(
        from,
        vec![
            "Ilya Dryomov <idryomov@gmail.com>",
            "Jeff Layton <jlayton@kernel.org>"
        ]
    );

    // Re-import changes nothing, status included.
    let events_before = treewide_core::events::count(&db).await.unwrap();
    let again = import_file(&db, &data("generated/ceph-pin.mbox")).await;
    assert!(again.summary.is_noop(), "{:?}", again.summary);
    assert_eq!(
        treewide_core::events::count(&db).await.unwrap(),
        events_before
    );
}

#[tokio::test]
async fn hostile_messages_are_data_not_failures() {
    let db = db::open_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.mbox");
    let mut f = std::fs::File::create(&path).unwrap();
    let sep = "From mboxrd@z Thu Jan  1 00:00:00 1970\n";
    // 10 MB body.
    write!(
        f,
        "{sep}From: Big <big@example.org>\nSubject: big\nMessage-ID: <big@example.org>\n\n"
    )
    .unwrap();
    let line = "x".repeat(99) + "\n";
    for _ in 0..100_000 {
        f.write_all(line.as_bytes()).unwrap();
    }
    // Header injection via an encoded newline, a <script> subject, HTML-only mail,
    // a missing Message-ID, and garbage.
    write!(
        f,
        "\n{sep}From: Evil <evil@example.org>\nSubject: =?utf-8?q?hi=0D=0ABcc:_victim@example.org?=\nMessage-ID: <inject@example.org>\n\nbody\n\n\
         {sep}From: Evil <evil@example.org>\nSubject: <script>alert(1)</script>\nMessage-ID: <script@example.org>\n\nbody\n\n\
         {sep}From: Html <html@example.org>\nSubject: html\nMessage-ID: <html@example.org>\nContent-Type: text/html\n\n<p>see <b>fs/x.c:1</b></p><script>x()</script>\n\n\
         {sep}From: Anon <anon@example.org>\nSubject: no id\n\nno message id here\n\n\
         {sep}\x00\x01\x02\n"
    )
    .unwrap();
    drop(f);
    let r = import_file(&db, &path).await;
    assert_eq!(r.summary.messages_new, 5, "{:?}", r.skipped);
    assert_eq!(r.skipped.len(), 1);
    assert!(
        r.skipped[0].position.starts_with("message 6 at line"),
        "{}",
        r.skipped[0]
    );

    let big = core_mail::get(&db, "big@example.org").await.unwrap();
    assert!(big.body.len() <= mail::MAX_BODY + 100);
    assert!(big.body.contains("cut by treewide"));
    let inj = core_mail::get(&db, "inject@example.org").await.unwrap();
    assert!(!inj.head.subject.contains('\n') && !inj.head.subject.contains('\r'));
    let s = core_mail::get(&db, "script@example.org").await.unwrap();
    assert_eq!(s.head.subject, "<script>alert(1)</script>");
    let html = core_mail::get(&db, "html@example.org").await.unwrap();
    assert!(html.body.contains("fs/x.c:1"));
    let derived: Vec<String> =
        sqlx::query_scalar("SELECT message_id FROM messages WHERE derived_id = 1")
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(derived.len(), 1);
    // Stable: a second import derives the same id and stores nothing.
    assert!(import_file(&db, &path).await.summary.is_noop());
}

/// Serve `answers` (status, body) one connection each on 127.0.0.1; returns the base URL.
fn serve(answers: Vec<(u16, Vec<u8>)>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for (status, body) in answers {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    base
}

#[tokio::test]
async fn lore_fetch_200_404_and_refused() {
    let db = db::open_memory().await.unwrap();
    let Some(caif) = real("threads/caif-dont-assume-iov_iter-type.mbox.gz") else {
        return;
    };
    let gz = std::fs::read(caif).unwrap();
    let base = serve(vec![(200, gz), (404, b"not found".to_vec())]);
    let src = |base: &str| mail::Source::Lore {
        msgid: "<some/id@example.org>".into(),
        base: base.to_owned(),
    };
    let r = mail::import(&db, &src(&base), &opts()).await.unwrap();
    assert_eq!(r.summary.messages_new, 3);
    assert!(r.source.ends_with("/all/some%2Fid@example.org/t.mbox.gz"));

    let e = mail::import(&db, &src(&base), &opts()).await.unwrap_err();
    assert!(format!("{e:#}").contains("404"), "{e:#}");

    // Nobody listens on a port that was just freed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = mail::import(&db, &src(&format!("http://127.0.0.1:{port}")), &opts())
        .await
        .unwrap_err();
    assert!(format!("{e:#}").contains("cannot fetch"), "{e:#}");
}

#[tokio::test]
async fn a_later_import_reroots_stored_replies_whose_parent_arrives() {
    let db = db::open_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mbox = |name: &str, text: &str| write_file(dir.path(), name, text);
    // First the replies: c answers b (absent) and names a (absent) in References; d answers c.
    let replies = mbox(
        "replies.mbox",
        "From: C <c@example.org>\nSubject: Re: x\nMessage-ID: <c@x>\nIn-Reply-To: <b@x>\nReferences: <a@x> <b@x>\n\nc\n",
    );
    import_file(&db, &replies).await;
    let d = mbox(
        "d.mbox",
        "From: D <d@example.org>\nSubject: Re: x\nMessage-ID: <d@x>\nIn-Reply-To: <c@x>\n\nd\n",
    );
    import_file(&db, &d).await;
    assert_eq!(core_mail::get(&db, "d@x").await.unwrap().thread.root, "c@x");
    // a arrives: c's nearest present reference, so c and d move under a.
    let a = mbox(
        "a.mbox",
        "From: A <a@example.org>\nSubject: x\nMessage-ID: <a@x>\n\na\n",
    );
    import_file(&db, &a).await;
    let t = core_mail::get(&db, "d@x").await.unwrap();
    assert_eq!((t.thread.root.as_str(), t.thread.size), ("a@x", 3));
    // b arrives: c's In-Reply-To; the thread stays a's, with b between a and c.
    let b = mbox(
        "b.mbox",
        "From: B <b@example.org>\nSubject: Re: x\nMessage-ID: <b@x>\nIn-Reply-To: <a@x>\n\nb\n",
    );
    import_file(&db, &b).await;
    let c = core_mail::get(&db, "c@x").await.unwrap();
    assert_eq!(c.thread.parent.as_deref(), Some("b@x"));
    let t = core_mail::get(&db, "d@x").await.unwrap();
    assert_eq!(
        (t.thread.root.as_str(), t.thread.size, t.thread.depth),
        ("a@x", 4, 3)
    );
    // Nothing waits any more.
    let wants: i64 = sqlx::query_scalar("SELECT count(*) FROM message_wants")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(wants, 0);
}

#[tokio::test]
async fn a_review_imported_before_its_series_signs_only_the_patches_it_quotes() {
    let db = db::open_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mbox = |name: &str, text: &str| write_file(dir.path(), name, text);
    // A reply to the cover letter reviewing patch 2 only, then (later) the series.
    let review = mbox(
        "review.mbox",
        "From: R <r@example.org>\nSubject: Re: [PATCH 0/2] x: things\nMessage-ID: <review@x>\n\
         In-Reply-To: <cover@x>\nReferences: <cover@x>\n\n\
         > [PATCH 2/2] x: second\n\nReviewed-by: R <r@example.org>\n",
    );
    import_file(&db, &review).await;
    let patch = |n: u32, title: &str| {
        format!(
            "From A Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nSubject: [PATCH {n}/2] x: {title}\n\
             Message-ID: <p{n}@x>\nIn-Reply-To: <cover@x>\nReferences: <cover@x>\n\n\
             diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n\n"
        )
    };
    let series = mbox(
        "series.mbox",
        &format!(
            "From A Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nSubject: [PATCH 0/2] x: things\n\
             Message-ID: <cover@x>\n\ncover\n\n{}{}",
            patch(1, "first"),
            patch(2, "second")
        ),
    );
    import_file(&db, &series).await;
    let about: Vec<String> = mail_state(&db)
        .await
        .into_iter()
        .filter(|l| l.contains(" about "))
        .collect();
    assert_eq!(about, ["review@x about p2@x"]);
}

#[tokio::test]
async fn a_whole_series_ack_reaches_a_patch_of_the_series_that_arrives_later() {
    let db = db::open_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mbox = |name: &str, text: &str| write_file(dir.path(), name, text);
    let patch = |n: u32, title: &str| {
        format!(
            "From A Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nSubject: [PATCH {n}/2] x: {title}\n\
             Message-ID: <p{n}@x>\nIn-Reply-To: <cover@x>\nReferences: <cover@x>\n\n\
             diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n\n"
        )
    };
    // The cover letter, patch 1 and an ack of the whole series; patch 2 comes in a later run.
    let first = mbox(
        "first.mbox",
        &format!(
            "From A Mon Jan  1 00:00:00 2024\nFrom: A <a@example.org>\nSubject: [PATCH 0/2] x: things\n\
             Message-ID: <cover@x>\n\ncover\n\n{}\
             From R Mon Jan  1 00:00:00 2024\nFrom: R <r@example.org>\nSubject: Re: [PATCH 0/2] x: things\n\
             Message-ID: <ack@x>\nIn-Reply-To: <cover@x>\nReferences: <cover@x>\n\n\
             For the series:\n\nAcked-by: R <r@example.org>\n\n",
            patch(1, "first"),
        ),
    );
    import_file(&db, &first).await;
    let about = |db: SqlitePool| async move {
        mail_state(&db)
            .await
            .into_iter()
            .filter(|l| l.contains(" about "))
            .collect::<Vec<_>>()
    };
    assert_eq!(about(db.clone()).await, ["ack@x about p1@x"]);
    import_file(&db, &mbox("later.mbox", &patch(2, "second"))).await;
    assert_eq!(
        about(db.clone()).await,
        ["ack@x about p1@x", "ack@x about p2@x"]
    );
}

/// What a mail import leaves in the database, by Message-ID (ids depend on arrival order).
async fn mail_state(db: &SqlitePool) -> Vec<String> {
    let q = [
        "SELECT message_id || ' root ' || thread_root FROM messages",
        "SELECT m.message_id || ' ' || t.kind || ' ' || t.raw FROM message_trailers t JOIN messages m ON m.id = t.message_id",
        "SELECT a.message_id || ' about ' || p.message_id FROM trailer_patches tp JOIN message_trailers t ON t.id = tp.trailer_id
           JOIN messages a ON a.id = t.message_id JOIN messages p ON p.id = tp.patch_id",
        "SELECT m.message_id || ' links ' || ms.site_id || ' ' || ms.how FROM message_sites ms JOIN messages m ON m.id = ms.message_id",
        "SELECT m.message_id || ' wants ' || w.want FROM message_wants w JOIN messages m ON m.id = w.message_id",
        "SELECT m.message_id || ' answers ' || a.note_id FROM question_answers a JOIN messages m ON m.id = a.message_id",
        "SELECT 'site ' || id || ' ' || status FROM sites",
    ];
    let mut out = Vec::new();
    for q in q {
        out.extend(
            sqlx::query_scalar::<_, String>(q)
                .fetch_all(db)
                .await
                .unwrap(),
        );
    }
    out.sort();
    out
}

#[tokio::test]
async fn chunked_import_in_any_order_stores_what_one_batch_stores() {
    // Real threads (a reviewed series, a partial thread whose parents are absent) and the
    // built ceph fixture (a patch proposing a fix, trailers, an owner's answer).
    let mut raw = Vec::new();
    for f in [
        "threads/ovl-cred-guard-v3.mbox.gz",
        "threads/splice-read-v17-partial.mbox.gz",
        "threads/block-reexpand-iov_iter.mbox.gz",
    ] {
        let Some(path) = real(f) else {
            return;
        };
        let bytes = std::fs::read(path).unwrap();
        raw.extend(mail::read_mbox(bytes, f).unwrap().messages);
    }
    let ceph = std::fs::read(data("generated/ceph-pin.mbox")).unwrap();
    raw.extend(mail::read_mbox(ceph, "ceph-pin.mbox").unwrap().messages);
    let one = fixture_db().await;
    let sites = mail::site_index(&one, None).await.unwrap();
    let (parsed, skipped) = mail::parse_all(raw, &sites);
    assert!(skipped.is_empty());
    let batch = core_mail::MailBatch {
        source: "test".into(),
        actor: "test".into(),
        messages: parsed.clone(),
        cursors: Vec::new(),
    };
    let whole = core_mail::store(&one, &batch).await.unwrap();
    assert_eq!(whole.fix_proposed, vec!["fs/ceph/file.c:98"]);
    assert!(whole.answers_new >= 1 && whole.links_new >= 2 && whole.trailers_new >= 40);

    // The same messages one per chunk, replies before what they answer.
    let chunked = fixture_db().await;
    let mut conn = chunked.acquire().await.unwrap();
    let mut w = core_mail::MailWriter::begin(&mut conn, "test", "test")
        .await
        .unwrap();
    for m in parsed.iter().rev() {
        w.add(std::slice::from_ref(m), &[]).await.unwrap();
    }
    let summary = w.finish().await.unwrap();
    drop(conn);
    assert_eq!(
        (summary.messages_new, summary.threads, summary.trailers_new),
        (whole.messages_new, whole.threads, whole.trailers_new)
    );
    assert_eq!(summary.links_new, whole.links_new);
    assert_eq!(summary.answers_new, whole.answers_new);
    assert_eq!(mail_state(&chunked).await, mail_state(&one).await);
}

#[tokio::test]
async fn stored_bodies_read_back_as_parsed_packed_or_not() {
    let db = db::open_memory().await.unwrap();
    let Some(path) = real("threads/ovl-cred-guard-v3.mbox.gz") else {
        return;
    };
    import_file(&db, &path).await;
    let read = mail::read_mbox(std::fs::read(&path).unwrap(), "t").unwrap();
    let (mut packed, mut plain) = (0, 0);
    for r in read.messages {
        let (m, text, _) = mail::parse_message(&r.data).unwrap();
        let stored = core_mail::get(&db, &m.message_id).await.unwrap();
        assert_eq!(stored.body, text, "{}", m.message_id);
        if core_mail::pack_body(&text).is_some() {
            packed += 1;
        } else {
            plain += 1;
        }
    }
    // Patches are packed; the thread has short replies too, stored as text.
    assert!(packed > 40 && plain > 0, "{packed} packed, {plain} plain");
    let blobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE typeof(body) = 'blob'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(blobs, packed);
}

#[tokio::test]
async fn a_truncated_gzip_fails_the_import_naming_the_file_and_stores_nothing() {
    let db = db::open_memory().await.unwrap();
    let Some(ovl) = real("threads/ovl-cred-guard-v3.mbox.gz") else {
        return;
    };
    let whole = std::fs::read(ovl).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.mbox.gz");
    std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
    let err = mail::import(&db, &mail::Source::Mbox(cut.clone()), &opts())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("cut.mbox.gz"), "{text}");
    assert_eq!(core_mail::count(&db).await.unwrap(), 0, "{text}");
    // A missing file is named too.
    let missing = dir.path().join("missing.mbox");
    let err = mail::import(&db, &mail::Source::Mbox(missing), &opts())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("missing.mbox"));
}
