//! Scale and hostile-load run (issue 15), bounded and on loopback only: the real `treewide
//! serve` on a 100k-site database.
//!
//! 1. every page and API list alone, `--repeat` times each (100 by default): uncached
//!    (`Cache-Control: no-cache`), from the page cache, and logged in (a session for pages, a
//!    token for the API), p50/p99 per page;
//! 2. `--clients` anonymous readers (page cache) and as many logged-in ones (a session for
//!    pages, a token for the API; never cached) for `--seconds`, while an import of 50k
//!    sites into another campaign runs and commits: p50/p99 per page and client kind;
//! 3. bursts: 300 and then 1,000 simultaneous anonymous requests for the campaign page with
//!    `Cache-Control: no-cache` (each one costs the server a full page);
//! 4. 20 simultaneous `export.json` downloads read to the end;
//! 5. the status mail (`report.txt`, every open site) 10 times in a row, then 20 at once;
//!
//! printing the answers by status and the server's peak RSS (VmHWM, reset between phases)
//! after each. `cargo bench --bench scale` runs it in full; `TREEWIDE_BIN=path` runs another
//! build of treewide (an older one, for before/after figures); under `cargo test` it runs a
//! small smoke size.

#[path = "../tests/common/generate.rs"]
mod generate;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// An answer: status (0 when the connection failed), its head and body, how long it took.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
    took: Duration,
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), read to the end.
fn request(addr: &str, method: &str, path: &str, headers: &[String], body: &str) -> Answer {
    let t = Instant::now();
    let fail = |head: String| Answer {
        status: 0,
        head,
        body: Vec::new(),
        took: t.elapsed(),
    };
    let mut s = match TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    s.set_nodelay(true).ok();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    if let Err(e) = s.write_all(req.as_bytes()) {
        return fail(e.to_string());
    }
    let mut buf = Vec::new();
    if let Err(e) = s.read_to_end(&mut buf) {
        if buf.is_empty() {
            return fail(e.to_string());
        }
    }
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head,
        body: buf[(split + 4).min(buf.len())..].to_vec(),
        took: t.elapsed(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The server's peak RSS since the last reset, then reset it (`clear_refs` 5).
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    kb / 1024.0
}

fn cookie(head: &str) -> Option<String> {
    head.lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim()))
        .filter_map(|v| v.split(';').next())
        .find(|c| c.starts_with("treewide="))
        .map(str::to_owned)
}

fn csrf(body: &[u8]) -> String {
    let body = String::from_utf8_lossy(body);
    let at = body.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let len = body[at..].find('"').expect("its end");
    body[at..at + len].to_owned()
}

/// Latencies per page and answers per status.
#[derive(Default)]
struct Tally {
    pages: BTreeMap<String, Vec<Duration>>,
    statuses: BTreeMap<u16, usize>,
}

impl Tally {
    fn add(&mut self, page: &str, a: &Answer) {
        *self.statuses.entry(a.status).or_default() += 1;
        if a.status == 200 {
            self.pages.entry(page.to_owned()).or_default().push(a.took);
        } else if (a.status == 0 || a.status >= 500) && self.statuses[&a.status] <= 3 {
            eprintln!(
                "  {page}: {} {}",
                a.status,
                a.head.lines().next().unwrap_or("")
            );
        }
    }

    fn merge(&mut self, o: Tally) {
        for (k, v) in o.pages {
            self.pages.entry(k).or_default().extend(v);
        }
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
    }

    fn print(&mut self, label: &str) {
        println!("{label}:");
        for (page, v) in &mut self.pages {
            v.sort();
            println!(
                "  p50 {:>9.2?}  p99 {:>9.2?}  n {:>5}  {page}",
                percentile(v, 0.5),
                percentile(v, 0.99),
                v.len()
            );
        }
        let s: Vec<String> = self
            .statuses
            .iter()
            .map(|(k, v)| {
                if *k == 0 {
                    format!("connection failed: {v}")
                } else {
                    format!("{k}: {v}")
                }
            })
            .collect();
        println!("  answers by status: {}", s.join(", "));
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let arg = |name: &str, default: usize| -> usize {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (sites, seconds, clients, bursts, exports, repeat) = if full {
        (
            100_000,
            arg("--seconds", 20),
            arg("--clients", 8),
            vec![300, 1000],
            20,
            arg("--repeat", 100),
        )
    } else {
        (2_000, 2, 2, vec![20], 2, 5)
    };
    let exe =
        std::env::var("TREEWIDE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_treewide").into());
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("scale.db");
    let big = dir.path().join("big.json");
    std::fs::write(&big, generate::audit_file("load", sites)).expect("write");
    let t = Instant::now();
    let st = Command::new(&exe)
        .arg("--db")
        .arg(&db)
        .args(["import", "auditor", "--quiet", big.to_str().unwrap()])
        .status()
        .expect("import");
    assert!(st.success());
    println!("{exe}: imported {sites} sites in {:.2?}", t.elapsed());
    let out = Command::new(&exe)
        .arg("--db")
        .arg(&db)
        .args(["user", "add", "--email", "load@example.org"])
        .output()
        .expect("user add");
    let invite = String::from_utf8_lossy(&out.stdout);
    let invite_path = invite
        .find("/invite/")
        .map(|i| invite[i..].trim().to_owned())
        .expect("an invite link");
    let out = Command::new(&exe)
        .arg("--db")
        .arg(&db)
        .args([
            "token",
            "create",
            "--email",
            "load@example.org",
            "--scope",
            "read",
        ])
        .output()
        .expect("token create");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();

    let mut server = Command::new(&exe)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--no-demo", "--listen", "127.0.0.1:0"])
        .env("TREEWIDE_LOG", "error")
        .env("TREEWIDE_ARGON2_MEMORY_KIB", "64")
        .stdout(Stdio::piped())
        // Every 503 is logged; thousands of them would bury the figures.
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let pid = server.id();
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

    // Log in through the invite (which sets the password and logs in).
    let form = request(&addr, "GET", &invite_path, &[], "");
    let pre = cookie(&form.head)
        .map(|c| vec![format!("Cookie: {c}")])
        .unwrap_or_default();
    let body = format!(
        "csrf={}&password=load-password-1&password2=load-password-1",
        csrf(&form.body)
    );
    let done = request(&addr, "POST", &invite_path, &pre, &body);
    let session = cookie(&done.head).expect("a session cookie after the invite");
    println!(
        "logged in: {} ({})",
        done.status,
        session.split('=').next().unwrap_or("")
    );
    let logged_page = vec![format!("Cookie: {session}")];
    let logged_api = vec![format!("Authorization: Bearer {token}")];
    let no_cache = vec!["Cache-Control: no-cache".to_owned()];

    // Pages that exist at any size (100k sites: subsystems 0-199, a subsystem of 500 sites).
    let (sub_a, sub_b, site) = ((sites / 500 / 28).max(1), sites / 500 * 3 / 4, sites / 20);
    // The file of a site, for the file page (generated paths are random per site).
    let one = request(
        &addr,
        "GET",
        &format!("/api/v1/sites/{site}"),
        &no_cache,
        "",
    );
    let file = serde_json::from_slice::<serde_json::Value>(&one.body).expect("a site")["site"]
        ["file"]
        .as_str()
        .expect("its file")
        .to_owned();
    let pages: Vec<String> = vec![
        "/".into(),
        "/c/load".into(),
        "/c/load?sort=done&dir=desc&status=needs_fix".into(),
        "/c/load/s/generated-subsystem-0".into(),
        format!("/c/load/s/generated-subsystem-{sub_a}?status=needs_fix"),
        format!("/c/load/site/{site}"),
        "/c/load/sites".into(),
        format!("/c/load/sites?status=needs_fix&subsystem=generated-subsystem-{sub_b}"),
        format!("/c/load/sites?q=gen_fn_{}", site / 3),
        format!("/c/load/f/{file}"),
        "/c/load/feed.atom".into(),
        "/c/load/s/generated-subsystem-0/feed.atom".into(),
        "/api/v1/campaigns".into(),
        "/api/v1/campaigns/load".into(),
        "/api/v1/campaigns/load/subsystems".into(),
        "/api/v1/campaigns/load/burndown".into(),
        "/api/v1/sites?campaign=load&limit=100".into(),
        "/api/v1/sites?campaign=load&status=confirmed_safe&limit=500".into(),
        "/api/v1/sites?campaign=load&status=fixed&limit=100".into(),
        format!("/api/v1/sites?campaign=load&subsystem=generated-subsystem-{sub_b}&limit=100"),
        format!("/api/v1/sites/{site}"),
        "/api/v1/events?limit=100".into(),
    ];
    peak_rss_mb(pid);

    // 1. Alone: uncached, from the page cache (the first answer fills it), logged in.
    let kinds = [
        (
            "uncached (Cache-Control: no-cache)",
            no_cache.clone(),
            no_cache.clone(),
        ),
        ("from the page cache", Vec::new(), Vec::new()),
        (
            "logged in (never cached)",
            logged_page.clone(),
            logged_api.clone(),
        ),
    ];
    for (label, page_h, api_h) in kinds {
        let mut alone = Tally::default();
        for p in &pages {
            let h = if p.starts_with("/api/") {
                &api_h
            } else {
                &page_h
            };
            for _ in 0..repeat {
                alone.add(p, &request(&addr, "GET", p, h, ""));
            }
        }
        alone.print(&format!("1. each page alone, {label}, {repeat} times"));
        println!("  server peak RSS {:.0} MB", peak_rss_mb(pid));
    }

    // 2. Anonymous and logged-in clients while an import runs.
    let other = dir.path().join("other.json");
    std::fs::write(&other, generate::audit_file("load-other", sites / 2)).unwrap();
    let mut import = Command::new(&exe)
        .arg("--db")
        .arg(&db)
        .args(["import", "auditor", "--quiet", other.to_str().unwrap()])
        .spawn()
        .expect("import");
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut threads = Vec::new();
    for c in 0..clients * 2 {
        let logged = c % 2 == 1;
        let (addr, pages, stop) = (addr.clone(), pages.clone(), stop.clone());
        let (lp, la) = (logged_page.clone(), logged_api.clone());
        threads.push(std::thread::spawn(move || {
            let mut t = Tally::default();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let p = &pages[i % pages.len()];
                let h = match (logged, p.starts_with("/api/")) {
                    (false, _) => Vec::new(),
                    (true, true) => la.clone(),
                    (true, false) => lp.clone(),
                };
                let kind = if logged { "logged-in" } else { "anonymous" };
                t.add(&format!("{kind:<9} {p}"), &request(&addr, "GET", p, &h, ""));
                i += 1;
            }
            t
        }));
    }
    let import_ok = import.wait().map(|s| s.success()).unwrap_or(false);
    let import_took = started.elapsed();
    while started.elapsed() < Duration::from_secs(seconds as u64) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let mut mixed = Tally::default();
    for t in threads {
        mixed.merge(t.join().unwrap());
    }
    mixed.print(&format!(
        "2. {clients} anonymous + {clients} logged-in clients for {:.0?}, an import of {} sites \
         running alongside for {import_took:.1?} (ok: {import_ok})",
        started.elapsed(),
        sites / 2
    ));
    println!("  server peak RSS {:.0} MB", peak_rss_mb(pid));

    // 3. Bursts of simultaneous uncached campaign pages.
    for n in bursts {
        let gate = Arc::new(Barrier::new(n));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let started = Instant::now();
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let (addr, gate, tally, h) =
                    (addr.clone(), gate.clone(), tally.clone(), no_cache.clone());
                std::thread::Builder::new()
                    .stack_size(256 << 10)
                    .spawn(move || {
                        gate.wait();
                        let a = request(&addr, "GET", "/c/load", &h, "");
                        tally.lock().unwrap().add("/c/load", &a);
                    })
                    .expect("a thread")
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let took = started.elapsed();
        let mut t = std::mem::take(&mut *tally.lock().unwrap());
        t.print(&format!(
            "3. {n} simultaneous uncached campaign pages, all answered in {took:.2?}"
        ));
        println!("  server peak RSS {:.0} MB", peak_rss_mb(pid));
    }

    // 4. Simultaneous exports, read to the end.
    let started = Instant::now();
    let threads: Vec<_> = (0..exports)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || request(&addr, "GET", "/c/load/export.json", &[], ""))
        })
        .collect();
    let mut t = Tally::default();
    let mut sizes = Vec::new();
    for th in threads {
        let a = th.join().unwrap();
        if a.status == 200 {
            sizes.push(a.body.len());
        }
        t.add("/c/load/export.json", &a);
    }
    t.print(&format!(
        "4. {exports} simultaneous export.json, in {:.2?} ({} MB each)",
        started.elapsed(),
        sizes.first().copied().unwrap_or(0) >> 20
    ));
    println!("  server peak RSS {:.0} MB", peak_rss_mb(pid));

    // 5. The status mail: every open site, streamed.
    let mut t = Tally::default();
    let mut size = 0;
    for _ in 0..10 {
        let a = request(&addr, "GET", "/c/load/report.txt", &no_cache, "");
        size = size.max(a.body.len());
        t.add("/c/load/report.txt", &a);
    }
    t.print(&format!(
        "5. report.txt ({} MB) 10 times in a row",
        size >> 20
    ));
    println!("  server peak RSS {:.0} MB", peak_rss_mb(pid));
    let started = Instant::now();
    let threads: Vec<_> = (0..exports)
        .map(|_| {
            let (addr, h) = (addr.clone(), no_cache.clone());
            std::thread::spawn(move || request(&addr, "GET", "/c/load/report.txt", &h, ""))
        })
        .collect();
    let mut t = Tally::default();
    for th in threads {
        t.add("/c/load/report.txt", &th.join().unwrap());
    }
    t.print(&format!(
        "5. {exports} simultaneous report.txt, in {:.2?}",
        started.elapsed()
    ));
    println!("  server peak RSS {:.0} MB", peak_rss_mb(pid));

    let _ = server.kill();
    let _ = server.wait();
}
