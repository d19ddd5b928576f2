//! Import benchmark: `treewide import auditor` of a generated 100k-site file against plain
//! SQLite inserting the same rows (prepared statement, one transaction) in the same run, and the
//! server's peak RSS serving that database.
//!
//! `cargo bench --bench import` runs it in full; under `cargo test` it runs a small smoke size.
//! Targets (issue: foundation): treewide ≥ 50% of the plain rate; server peak RSS ≤ 100 MB.

#[path = "../tests/common/generate.rs"]
mod generate;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use treewide_core::model::EventSource;
use treewide_core::{db, ingest};
use treewide_importer::auditor;

fn best_of<F: FnMut() -> Duration>(n: usize, mut f: F) -> Duration {
    (0..n).map(|_| f()).min().unwrap_or_default()
}

fn treewide_import(rt: &tokio::runtime::Runtime, dir: &Path, text: &str, run: usize) -> Duration {
    let path = dir.join(format!("treewide-{run}.db"));
    rt.block_on(async {
        let pool = db::open(&path).await.expect("open");
        let t = Instant::now();
        let batch =
            auditor::parse_bytes("bench.json", text.as_bytes(), EventSource::Import, "bench")
                .expect("parse");
        ingest::store(&pool, &batch).await.expect("store");
        let d = t.elapsed();
        pool.close().await;
        d
    })
}

/// The same sites, inserted with rusqlite into the same schema: the baseline.
fn plain_sqlite(dir: &Path, text: &str, run: usize) -> Duration {
    let path = dir.join(format!("plain-{run}.db"));
    let mut conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )
    .expect("pragmas");
    for m in treewide_core::MIGRATOR.iter() {
        conn.execute_batch(&m.sql).expect("migrate");
    }
    conn.execute(
        "INSERT INTO campaigns (id, slug, title, created_at, updated_at) VALUES (1, 'plain', 'plain', 'now', 'now')",
        [],
    )
    .expect("campaign");
    let doc: serde_json::Value = serde_json::from_str(text).expect("json");
    let sites = doc["sites"].as_array().expect("sites").clone();
    // The same identity keys treewide stores, so both sides build the same indexes.
    let identities: Vec<String> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let code = treewide_core::identity::normalise_code(s["code"].as_str().unwrap_or(""));
            treewide_core::identity::site_identity(
                s["file"].as_str().unwrap_or(""),
                s["function"].as_str(),
                s["callee"].as_str().unwrap_or(""),
                &code,
                i as u32,
            )
        })
        .collect();
    let t = Instant::now();
    let tx = conn.transaction().expect("tx");
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO sites (campaign_id, identity, file, line, col, function, callee, code, iter_kind, direction,
                                    subsystem_id, status, decided_by, verdict_id, reason, first_import_id, created_at, updated_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'ITER_BVEC', ?8, NULL, 'unreviewed', 'default', NULL, '', NULL, 'now', 'now')",
            )
            .expect("prepare");
        for (s, identity) in sites.iter().zip(&identities) {
            stmt.execute(rusqlite::params![
                identity,
                s["file"].as_str(),
                s["line"].as_i64(),
                s["column"].as_i64(),
                s["function"].as_str(),
                s["callee"].as_str(),
                s["code"].as_str(),
                s["direction"].as_str(),
            ])
            .expect("insert");
        }
    }
    tx.commit().expect("commit");
    t.elapsed()
}

fn http_get(addr: &str, path: &str) -> usize {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&buf[..buf.len().min(200)])
    );
    buf.len()
}

/// Peak RSS (VmHWM, kB) of `treewide serve` after it served every page and the whole API list.
fn server_peak_rss_kb(db: &Path, slug: &str) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_treewide"))
        .arg("--db")
        .arg(db)
        .args(["serve", "--no-demo", "--listen", "127.0.0.1:0"])
        .env("TREEWIDE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("url");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .to_owned();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    http_get(&addr, "/");
    http_get(&addr, &format!("/c/{slug}"));
    http_get(&addr, &format!("/c/{slug}?sort=needs_fix&dir=desc"));
    http_get(&addr, &format!("/c/{slug}/s/generated-subsystem-0"));
    http_get(&addr, &format!("/api/v1/campaigns/{slug}/subsystems"));
    let mut next = Some(format!("/api/v1/sites?campaign={slug}&limit=500"));
    let mut pages = 0;
    while let Some(p) = next.take() {
        let mut s = TcpStream::connect(&addr).expect("connect");
        write!(
            s,
            "GET {p} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut buf = String::new();
        s.read_to_string(&mut buf).expect("read");
        pages += 1;
        next = buf
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("link:"))
            .and_then(|l| l.split('<').nth(1))
            .and_then(|l| l.split('>').next())
            .map(str::to_owned);
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("  (served {pages} API pages)");
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 100_000 } else { 2_000 };
    let runs = if full { 3 } else { 1 };
    let dir = tempfile::tempdir().expect("tempdir");
    let text = generate::audit_file("bench", n);
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    println!(
        "import of {n} sites ({:.1} MB of JSON), best of {runs}:",
        text.len() as f64 / 1e6
    );
    let mut i = 0;
    let plain = best_of(runs, || {
        i += 1;
        plain_sqlite(dir.path(), &text, i)
    });
    let mut j = 0;
    let ours = best_of(runs, || {
        j += 1;
        treewide_import(&rt, dir.path(), &text, j)
    });
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "  plain SQLite (rusqlite, prepared INSERT, one tx): {:>8.0} sites/s ({plain:.2?})",
        rate(plain)
    );
    println!(
        "  treewide import (parse + validate + store):       {:>8.0} sites/s ({ours:.2?})",
        rate(ours)
    );
    let ratio = rate(ours) / rate(plain);
    println!(
        "  ratio treewide / plain = {ratio:.2} (target >= 0.50) {}",
        if ratio >= 0.5 { "OK" } else { "BELOW TARGET" }
    );

    let rss = server_peak_rss_kb(&dir.path().join("treewide-1.db"), "bench");
    println!(
        "server peak RSS with {n} sites after serving all pages: {:.1} MB (target <= 100 MB) {}",
        rss as f64 / 1024.0,
        if rss <= 100 * 1024 {
            "OK"
        } else {
            "ABOVE TARGET"
        }
    );
}
