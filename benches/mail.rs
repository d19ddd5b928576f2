//! Mail import benchmark: `treewide import mail` of a 50k-message mbox (linked against a
//! campaign site) against a plain mail-parser parse of the same file (its own mbox reader,
//! one thread), in the same run. Target (issue 5): treewide ≥ 50% of the plain parse rate.
//!
//! Two inputs:
//! - **real list mail**: real vger mail from `../shared/data/mail` (or `TREEWIDE_MAIL_DATA`;
//!   never copied into the repository): six threads and the first 300 messages of the
//!   linux-unionfs public-inbox epoch, 6.9 KB on average with their real Received/DKIM headers,
//!   copied until there are 50k, each copy with its own Message-IDs so threads stay whole.
//!   This is what the target is about.
//! - **small generated messages** (~700 bytes, a few headers): what is left is mostly the
//!   per-message cost of SQLite rows and indexes, which a bare parse of tiny messages does not
//!   have. Reported to keep that cost in view.
//!
//! Two more lines take the import apart: treewide's parse (split, parse, trailers, links, on
//! every core) alone, and SQLite alone storing the same message rows (one prepared rusqlite
//! INSERT in one transaction, same schema, same pragmas).
//!
//! A third part compares with public-inbox's own indexer on a public-inbox v2 epoch of 100k
//! messages (the real target-devel epoch's 7,273 messages copied under fresh Message-IDs,
//! written with `git fast-import` into a temporary folder): `treewide import mail
//! --public-inbox` run as a child process of the built binary, and `public-inbox-index -L
//! basic` on a copy of the same epoch, each one's time and peak RSS (`wait4`'s `ru_maxrss`:
//! the largest of the process and the children it waited for, taken by a fresh copy of this
//! bench that runs the command, see `run_measured`). Target (issue 15): treewide's
//! peak RSS ≤ 200 MB. Without `public-inbox-index` (Debian package `public-inbox`) that line
//! says SKIPPED.
//!
//! `cargo bench --bench mail` runs it in full; under `cargo test` it runs a small smoke size.
//! `TREEWIDE_BENCH_MBOX_DIR=DIR` also writes the inputs there (`real.mbox`, `small.mbox`) to
//! profile `treewide import mail` on them.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use treewide_core::mail::NewMessage;

// The allocator the `treewide` binary uses (src/main.rs), for the import and the baseline.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use treewide_core::{db, ingest};
use treewide_importer::mail::link::SiteIndex;
use treewide_importer::{auditor, mail};

/// An mboxrd of `n` messages: threads of 10 (a patch with a diff, replies quoting it with
/// trailers), quoted-printable and ISO-8859-1 bodies, RFC 2047 subjects, escaped `From ` lines.
fn generate(n: usize) -> String {
    let mut out = String::with_capacity(n * 1500);
    for i in 0..n {
        let thread = i / 10;
        let k = i % 10;
        let _ = writeln!(out, "From mboxrd@z Thu Jan  1 00:00:00 1970");
        let _ = writeln!(out, "From: Person {k} <p{k}@example.org>");
        let _ = writeln!(
            out,
            "Date: Wed, 21 Sep 2022 10:{:02}:{:02} +0000",
            k,
            i % 60
        );
        let _ = writeln!(out, "Message-ID: <{thread}.{k}@bench.example.org>");
        let _ = writeln!(out, "List-Id: <bench.vger.kernel.org>");
        if k == 0 {
            let _ = writeln!(out, "Subject: [PATCH v2 {k}/9] ceph: fix thing {thread}\n");
            let _ = writeln!(
                out,
                "__iter_get_bvecs() takes references; see fs/ceph/file.c:98.\n\n\
                 Signed-off-by: A <a@example.org>\n---\n fs/ceph/file.c | 2 +-\n\n\
                 diff --git a/fs/ceph/file.c b/fs/ceph/file.c\n--- a/fs/ceph/file.c\n+++ b/fs/ceph/file.c\n\
                 @@ -{l},3 +{l},3 @@ static ssize_t f(void)\n \tint a;\n-\tb = old(x);\n+\tb = new(x);\n \treturn b;\n",
                l = 500 + thread % 400
            );
        } else {
            let _ = writeln!(out, "In-Reply-To: <{thread}.{}@bench.example.org>", k - 1);
            let _ = writeln!(
                out,
                "References: <{thread}.0@bench.example.org> <{thread}.{}@bench.example.org>",
                k - 1
            );
            if k % 3 == 0 {
                let _ = writeln!(
                    out,
                    "Subject: =?utf-8?q?Re=3A_=5BPATCH_v2_0/9=5D_ceph=3A_fix_thing_{thread}_=C3=A4?=\n\
                     Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n"
                );
                let _ = writeln!(
                    out,
                    "Gr=FC=DFe, the patch looks fine to me.=20\n>From the list\n"
                );
            } else {
                let _ = writeln!(
                    out,
                    "Subject: Re: [PATCH v2 0/9] ceph: fix thing {thread}\n"
                );
                for q in 0..8 {
                    let _ = writeln!(out, "> quoted line {q} of the patch with some text in it");
                }
                let _ = writeln!(
                    out,
                    "\nLooks good.\n\nReviewed-by: Person {k} <p{k}@example.org>"
                );
            }
        }
        out.push('\n');
    }
    out
}

#[path = "../tests/support/epoch.rs"]
mod epoch;
#[path = "../tests/support/real_mail.rs"]
mod real_mail;

/// Real list mail (six vger threads and 300 linux-unionfs messages of a public-inbox epoch),
/// each message as its raw bytes; `None` (said) when this clone has none.
fn real_messages() -> Option<Vec<Vec<u8>>> {
    real_mail::real_mail("threads")?;
    real_mail::real_mail("public-inbox/linux-unionfs-epoch0-first300.tar.gz")?;
    let root = real_mail::real_mail_root();
    let mut out = Vec::new();
    let mut threads: Vec<_> = std::fs::read_dir(root.join("threads"))
        .expect("threads")
        .map(|e| e.expect("entry").path())
        .collect();
    threads.sort();
    for t in threads {
        let bytes = std::fs::read(&t).expect("thread");
        let read = mail::read_mbox(bytes, &t.display().to_string()).expect("mbox");
        out.extend(read.messages.into_iter().map(|r| r.data.to_vec()));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(root.join("public-inbox/linux-unionfs-epoch0-first300.tar.gz"))
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("tar")
        .success();
    assert!(ok, "tar failed");
    let read = mail::public_inbox::read(dir.path(), &Default::default()).expect("inbox");
    out.extend(read.messages.into_iter().map(|r| r.data.to_vec()));
    Some(out)
}

/// `n` messages as an mboxrd, made of copies of the real messages: copy `c` prefixes every
/// Message-ID, In-Reply-To and References id with `c{c}.` (threads stay whole within a copy)
/// and gets an `X-Bench-Copy` header (messages without a Message-ID stay distinct).
fn real_mbox(n: usize) -> Option<Vec<u8>> {
    let msgs = real_messages()?;
    let mut out = Vec::with_capacity(n * 8000);
    for (i, raw) in msgs.iter().cycle().take(n).enumerate() {
        let copy = i / msgs.len();
        out.extend_from_slice(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n");
        // mboxrd: a line that reads "From " after any number of '>' gets one more.
        for line in epoch::fresh_ids(raw, copy).split_inclusive(|b| *b == b'\n') {
            let n = line.iter().take_while(|b| **b == b'>').count();
            if line[n..].starts_with(b"From ") {
                out.push(b'>');
            }
            out.extend_from_slice(line);
        }
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    Some(out)
}

fn plain_parse(bytes: &[u8]) -> (Duration, usize) {
    let t = Instant::now();
    let mut n = 0;
    let parser = mail_parser::MessageParser::default();
    for m in mail_parser::mailbox::mbox::MessageIterator::new(bytes).flatten() {
        if parser.parse(m.contents()).is_some() {
            n += 1;
        }
    }
    (t.elapsed(), n)
}

/// treewide's parse of the mbox (split, mail-parser, trailers, diff, links; parallel).
fn treewide_parse(bytes: &[u8]) -> (Duration, Vec<NewMessage>) {
    let t = Instant::now();
    let read = mail::read_mbox(bytes.to_vec(), "bench").expect("mbox");
    let (parsed, skipped) = mail::parse_all(read.messages, &SiteIndex::new(Vec::new()));
    assert!(skipped.is_empty());
    (t.elapsed(), parsed)
}

/// SQLite alone: the rows of `msgs` into `messages` with every index of the schema, one
/// prepared statement, one transaction, the pragmas treewide uses (WAL, synchronous=NORMAL).
fn sqlite_floor(dir: &Path, run: usize, msgs: &[NewMessage]) -> Duration {
    let c = rusqlite::Connection::open(dir.join(format!("floor-{run}.db"))).expect("open");
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -262144;",
    )
    .expect("pragmas");
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&migrations)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for f in files {
        c.execute_batch(&std::fs::read_to_string(&f).expect("migration"))
            .expect("migrate");
    }
    let t = Instant::now();
    c.execute_batch("BEGIN IMMEDIATE").expect("begin");
    {
        let mut ins = c
            .prepare(
                "INSERT INTO messages (id, message_id, derived_id, subject, from_name, from_email, date, list,
                     in_reply_to, refs, body, has_diff, patch_prefix, subject_tag, thread_root, sha256, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )
            .expect("prepare");
        for (id, m) in (1_i64..).zip(msgs) {
            let body: &dyn rusqlite::ToSql = match &m.body_zstd {
                Some(z) => z,
                None => &m.body,
            };
            ins.execute(rusqlite::params![
                id,
                m.message_id,
                m.derived_id,
                m.subject,
                m.from_name,
                m.from_email,
                m.date,
                m.list,
                m.in_reply_to,
                m.references.join(" "),
                body,
                m.has_diff,
                m.patch_prefix,
                m.subject_tag,
                m.message_id,
                m.sha256,
                "2026-01-01T00:00:00Z",
            ])
            .expect("insert");
        }
    }
    c.execute_batch("COMMIT").expect("commit");
    t.elapsed()
}

fn treewide_import(
    rt: &tokio::runtime::Runtime,
    dir: &Path,
    file: &Path,
    run: usize,
) -> (Duration, u64) {
    rt.block_on(async {
        let pool = db::open(&dir.join(format!("mail-{run}.db")))
            .await
            .expect("open");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/mail/generated/ceph-campaign.json");
        let batch = auditor::parse_file(&fixture, "bench").expect("campaign");
        ingest::store(&pool, &batch).await.expect("store campaign");
        let t = Instant::now();
        let r = mail::import(
            &pool,
            &mail::Source::Mbox(file.to_owned()),
            &mail::Options {
                campaign: None,
                actor: "bench".into(),
            },
        )
        .await
        .expect("import");
        let d = t.elapsed();
        assert!(r.skipped.is_empty());
        (d, r.summary.messages_new)
    })
}

fn main() {
    if std::env::var_os(MEASURE).is_some() {
        measure_child();
    }
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 50_000 } else { 2_000 };
    let runs = if full { 3 } else { 1 };
    if std::env::var_os("TREEWIDE_BENCH_ONLY_EPOCH").is_some() {
        epoch_comparison(if full { 100_000 } else { 2_000 });
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if let Some(real) = real_mbox(n) {
        measure(
            &rt,
            "real list mail (copies of shared/data/mail)",
            real,
            n,
            runs,
        );
    }
    measure(
        &rt,
        "small generated messages",
        generate(n).into_bytes(),
        n,
        runs,
    );
    epoch_comparison(if full { 100_000 } else { 2_000 });
}

/// Set in a copy of this bench that only runs one command and reports on it
/// ([`measure_child`]).
const MEASURE: &str = "TREEWIDE_BENCH_MEASURE";

/// Run `cmd` to its end: its time and peak RSS in MB, or why it failed.
///
/// The command runs under a fresh copy of this bench ([`measure_child`]), which reports its
/// child's `ru_maxrss` from `wait4`. Run directly, the command's `ru_maxrss` would start from
/// this process's own peak: a child spawned with `vfork` (as `std::process::Command` does)
/// shares this process's memory until it execs, and the kernel keeps that memory's high-water
/// mark as the child's maximum, so after the 50k-message parts (1.8 GB here) every child
/// "peaked" at 1.8 GB.
fn run_measured(cmd: &mut std::process::Command) -> Result<(Duration, f64), String> {
    let exe = std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?;
    let mut m = std::process::Command::new(exe);
    m.env(MEASURE, "1")
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => m.env(k, v),
            None => m.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        m.current_dir(dir);
    }
    let out = m
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>());
    match (fields.next(), fields.next()) {
        (Some(Ok(secs)), Some(Ok(kb))) => Ok((Duration::from_secs_f64(secs), kb / 1024.0)),
        _ => Err(format!("{cmd:?}: no measurement in {text:?}")),
    }
}

/// The copy of this bench [`run_measured`] starts: run the command after `--`, its output
/// dropped and its standard error passed on, and print its time in seconds and its peak RSS
/// in KB (`ru_maxrss` of `wait4`, which covers the children it waited for); exit as it did.
fn measure_child() -> ! {
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .collect();
    let Some((program, args)) = args.split_first() else {
        eprintln!("{MEASURE}: no command after --");
        std::process::exit(2);
    };
    let t = Instant::now();
    let child = match std::process::Command::new(program)
        .args(args)
        .env_remove(MEASURE)
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot start {program:?}: {e}");
            std::process::exit(2);
        }
    };
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid, and `pid` is our own child, not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = t.elapsed();
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        eprintln!("{program:?} failed (status {status})");
        std::process::exit(1);
    }
    println!("{:.3} {}", took.as_secs_f64(), usage.ru_maxrss);
    std::process::exit(0);
}

/// treewide and public-inbox-index on the same `n`-message public-inbox v2 epoch.
fn epoch_comparison(n: usize) {
    let Some(tar) = real_mail::real_mail("public-inbox/target-devel-epoch0.tar") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let source = epoch::target_devel(&tar, dir.path()).expect("unpack target-devel");
    let messages = epoch::read_epoch(&source).expect("read target-devel");
    let inbox = dir.path().join("inbox");
    let git_dir = inbox.join("git/0.git");
    let t = Instant::now();
    epoch::replicate(&messages, n, &git_dir).expect("write the epoch");
    println!(
        "public-inbox v2 epoch of {n} messages (target-devel's {} copied under fresh Message-IDs), written in {:.1?}:",
        messages.len(),
        t.elapsed()
    );
    drop(messages);

    // treewide, the release binary, on a database with both demo campaigns.
    let exe = env!("CARGO_BIN_EXE_treewide");
    let db = dir.path().join("treewide.db");
    for f in [
        "data/demo/iov-iter-direction.json",
        "data/demo/iov-iter-pin.json",
    ] {
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        run_measured(
            std::process::Command::new(exe)
                .arg("--db")
                .arg(&db)
                .args(["import", "auditor", "--quiet"])
                .arg(f),
        )
        .expect("demo campaign");
    }
    let (tw_time, tw_rss) = run_measured(
        std::process::Command::new(exe)
            .arg("--db")
            .arg(&db)
            .args(["import", "mail", "--quiet", "--public-inbox"])
            .arg(&inbox)
            .env("TREEWIDE_LOG", "warn"),
    )
    .expect("treewide import mail");
    let rate = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "  treewide import mail --public-inbox: {:>7.0} messages/s ({tw_time:.2?}), peak RSS {tw_rss:.0} MB (target ≤ 200 MB)",
        rate(tw_time)
    );

    // public-inbox-index -L basic: an inbox made by public-inbox-init, its epoch replaced by
    // a copy of ours (its config and home in the temporary folder, not the user's).
    let which = std::process::Command::new("sh")
        .args([
            "-c",
            "command -v public-inbox-index && command -v public-inbox-init",
        ])
        .output();
    if !which.is_ok_and(|o| o.status.success()) {
        println!(
            "  public-inbox-index: SKIPPED (not installed; Debian package public-inbox) — no comparison"
        );
        return;
    }
    let home = dir.path().join("pi-home");
    let pi_inbox = dir.path().join("pi-inbox");
    std::fs::create_dir_all(&home).expect("home");
    let pi = |cmd: &str| {
        let mut c = std::process::Command::new(cmd);
        c.env("HOME", &home)
            .env("PI_CONFIG", home.join("config"))
            .env_remove("GIT_DIR");
        c
    };
    run_measured(
        pi("public-inbox-init")
            .args(["-V2", "-L", "basic", "bench"])
            .arg(&pi_inbox)
            .args(["http://example.org/bench", "bench@example.org"]),
    )
    .expect("public-inbox-init");
    let pi_epoch = pi_inbox.join("git/0.git");
    std::fs::remove_dir_all(&pi_epoch).expect("the empty epoch");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(&git_dir)
        .arg(&pi_epoch)
        .status()
        .expect("cp");
    assert!(copied.success(), "cp -r failed");
    match run_measured(
        pi("public-inbox-index")
            .args(["-L", "basic"])
            .arg(&pi_inbox),
    ) {
        Ok((pi_time, pi_rss)) => {
            println!(
                "  public-inbox-index -L basic:        {:>7.0} messages/s ({pi_time:.2?}), peak RSS {pi_rss:.0} MB",
                rate(pi_time)
            );
            println!(
                "  treewide / public-inbox-index: time {:.2}×, peak RSS {:.2}×",
                tw_time.as_secs_f64() / pi_time.as_secs_f64().max(1e-9),
                tw_rss / pi_rss.max(1e-9)
            );
        }
        Err(e) => println!("  public-inbox-index failed: {e}"),
    }
}

fn measure(rt: &tokio::runtime::Runtime, what: &str, text: Vec<u8>, n: usize, runs: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bench.mbox");
    std::fs::write(&file, &text).expect("write mbox");
    if let Some(keep) = std::env::var_os("TREEWIDE_BENCH_MBOX_DIR") {
        let name = if what.starts_with("real") {
            "real.mbox"
        } else {
            "small.mbox"
        };
        std::fs::write(Path::new(&keep).join(name), &text).expect("keep the mbox");
    }
    println!(
        "mail import of {n} messages, {what} ({:.1} MB mbox), best of {runs}:",
        text.len() as f64 / 1e6
    );
    let plain = (0..runs)
        .map(|_| {
            let (d, parsed) = plain_parse(&text);
            assert_eq!(parsed, n);
            d
        })
        .min()
        .unwrap_or_default();
    let tw = (1..=runs)
        .map(|i| {
            let (d, stored) = treewide_import(rt, dir.path(), &file, i);
            assert_eq!(stored, n as u64);
            d
        })
        .min()
        .unwrap_or_default();
    let mut parsed = Vec::new();
    let parse = (0..runs)
        .map(|_| {
            let (d, p) = treewide_parse(&text);
            parsed = p;
            d
        })
        .min()
        .unwrap_or_default();
    let floor = (1..=runs)
        .map(|i| sqlite_floor(dir.path(), i, &parsed))
        .min()
        .unwrap_or_default();
    let rate = |d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "  mail-parser alone (parse only):  {:>9.0} messages/s ({:.2?})",
        rate(plain),
        plain
    );
    println!(
        "  treewide import mail (stored):    {:>9.0} messages/s ({:.2?}) = {:.0}% of plain (target ≥ 50%)",
        rate(tw),
        tw,
        100.0 * plain.as_secs_f64() / tw.as_secs_f64().max(1e-9)
    );
    println!(
        "  treewide parse alone (all cores): {:>9.0} messages/s ({:.2?})",
        rate(parse),
        parse
    );
    println!(
        "  SQLite alone, same rows (floor):  {:>9.0} messages/s ({:.2?}) = {:.0}% of plain",
        rate(floor),
        floor,
        100.0 * plain.as_secs_f64() / floor.as_secs_f64().max(1e-9)
    );
}
