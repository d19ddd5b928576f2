//! Load test (bounded, loopback only): the real server with 100k sites answers the subsystem page
//! and the API site list from 4 client threads while an import runs; prints p50/p99 latency and
//! errors. Targets (sign-off issue): p99 ≤ 25 ms, 0 errors.
//!
//! `cargo bench --bench load` runs it in full; under `cargo test` it runs a small smoke size.

#[path = "../tests/common/generate.rs"]
mod generate;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str, no_cache: bool) -> Result<Duration, String> {
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.set_nodelay(true).ok();
    // One write: a request in pieces would wait on Nagle's algorithm like a browser's never does.
    let cache = if no_cache {
        "Cache-Control: no-cache\r\n"
    } else {
        ""
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cache}Connection: close\r\n\r\n");
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(1 << 20);
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    if !buf.starts_with(b"HTTP/1.1 200") {
        return Err(String::from_utf8_lossy(&buf[..buf.len().min(80)]).into_owned());
    }
    Ok(t.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sites, per_thread) = if full { (100_000, 500) } else { (2_000, 20) };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("load.db");
    let exe = env!("CARGO_BIN_EXE_treewide");
    let big = dir.path().join("big.json");
    std::fs::write(&big, generate::audit_file("load", sites)).expect("write");
    let st = Command::new(exe)
        .arg("--db")
        .arg(&db)
        .args(["import", "auditor", "--quiet", big.to_str().unwrap()])
        .status()
        .expect("import");
    assert!(st.success());
    let mut server = Command::new(exe)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--no-demo", "--listen", "127.0.0.1:0"])
        .env("TREEWIDE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let paths = [
        "/c/load/s/generated-subsystem-0".to_owned(),
        "/c/load/s/generated-subsystem-0?status=needs_fix&page=2".to_owned(),
        "/api/v1/sites?campaign=load&limit=100".to_owned(),
        "/api/v1/sites?campaign=load&status=confirmed_safe&limit=500".to_owned(),
    ];
    // What each request costs alone (one client, nothing else running): the floor under the
    // latencies under load below.
    println!("alone (one client, uncached, median of 20):");
    for p in &paths {
        let mut v: Vec<Duration> = (0..20).filter_map(|_| get(&addr, p, true).ok()).collect();
        v.sort();
        println!("  {:>7.2?}  {p}", percentile(&v, 0.5));
    }

    // Two rounds, each while an import of another campaign runs (writers must not stall
    // readers: WAL): anonymous readers, answered from the page cache until the import's
    // commit empties it; then the same requests with `Cache-Control: no-cache`, which bypass
    // the cache as a logged-in user's do.
    let mut errors = 0;
    for (round, (label, no_cache)) in [
        ("cached (anonymous readers)", false),
        ("uncached (Cache-Control: no-cache)", true),
    ]
    .into_iter()
    .enumerate()
    {
        let other = dir.path().join(format!("other-{round}.json"));
        std::fs::write(
            &other,
            generate::audit_file(&format!("load-other-{round}"), sites / 2),
        )
        .unwrap();
        let mut import = Command::new(exe)
            .arg("--db")
            .arg(&db)
            .args(["import", "auditor", "--quiet", other.to_str().unwrap()])
            .spawn()
            .expect("import");
        let importing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let started = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (addr, paths, importing) = (addr.clone(), paths.clone(), importing.clone());
                std::thread::spawn(move || {
                    let mut out = (Vec::new(), Vec::new(), 0usize);
                    // At least `per_thread` requests, and on until the import has committed.
                    let mut i = 0;
                    while i < per_thread || importing.load(std::sync::atomic::Ordering::Relaxed) {
                        let p = &paths[(i + t) % paths.len()];
                        match get(&addr, p, no_cache) {
                            Ok(d) if p.starts_with("/c/") => out.0.push(d),
                            Ok(d) => out.1.push(d),
                            Err(e) => {
                                eprintln!("error on {p}: {e}");
                                out.2 += 1;
                            }
                        }
                        i += 1;
                    }
                    out
                })
            })
            .collect();
        let import_ok = import.wait().map(|s| s.success()).unwrap_or(false);
        importing.store(false, std::sync::atomic::Ordering::Relaxed);
        let (mut pages, mut api) = (Vec::new(), Vec::new());
        for t in threads {
            let (p, a, e) = t.join().unwrap();
            pages.extend(p);
            api.extend(a);
            errors += e;
        }
        let elapsed = started.elapsed();
        pages.sort();
        api.sort();
        let n = pages.len() + api.len();
        println!("load, {label}: {n} requests from 4 threads in {elapsed:.2?} against {sites} sites, an import of {} sites running alongside (ok: {import_ok})", sites / 2);
        for (name, v) in [("subsystem page", &pages), ("API site list", &api)] {
            let p99 = percentile(v, 0.99);
            println!(
                "  {name:<15} p50 {:>7.2?}  p99 {:>7.2?}  (target p99 <= 25 ms) {}",
                percentile(v, 0.5),
                p99,
                if p99 <= Duration::from_millis(25) {
                    "OK"
                } else {
                    "ABOVE TARGET"
                }
            );
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    println!("  errors: {errors} (target 0)");
    assert_eq!(errors, 0);
}
