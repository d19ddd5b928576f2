//! The `serve` command itself: it says where it listens, loads the demo into an empty
//! database (not with `--no-demo`) and answers there, and logins work over plain http on a
//! LAN address, with a warning. Every other test of the web app runs
//! it in-process through `treewide_testing::spawn_app`.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};

use common::http::Client;
use common::{run, treewide};

/// A `treewide serve` on a random loopback port, killed on drop.
struct Served {
    child: Child,
    url: String,
}

impl Served {
    fn start(db: &Path, extra: &[&str]) -> Served {
        let mut child = treewide()
            .arg("--db")
            .arg(db)
            .arg("serve")
            .args(
                ["--listen", "127.0.0.1:0"]
                    .iter()
                    .filter(|_| !extra.contains(&"--listen")),
            )
            .args(extra)
            .env("TREEWIDE_LOG", "warn")
            .env("TREEWIDE_ARGON2_MEMORY_KIB", "64")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start treewide serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the serving line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| {
                let _ = child.wait();
                let mut log = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut log);
                }
                panic!("no URL in {line:?}: {log}")
            })
            .trim_end_matches('/')
            .to_owned();
        Served { child, url }
    }

    /// Stop the server; what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut log);
        }
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_prints_its_url_and_loads_the_demo_into_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(&dir.path().join("t.db"), &[]);
    let r = Client::new(&served.url).get("/");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("href=\"/c/iov-iter-pin\""), "{}", r.body);
}

#[test]
fn serve_with_no_demo_leaves_an_empty_database_empty() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(&dir.path().join("t.db"), &["--no-demo"]);
    let r = Client::new(&served.url).get("/api/v1/campaigns");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["campaigns"], serde_json::json!([]));
}

#[test]
fn plain_http_on_a_lan_address_warns_and_logins_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let out = run(
        &db,
        &[
            "user",
            "add",
            "--email",
            "hch@lst.de",
            "--base-url",
            "http://lan",
        ],
    );
    assert!(out.status.success());
    let invite = String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("http://lan")
        .to_owned();
    // All addresses, as on a LAN; the test itself talks to it over loopback.
    let served = Served::start(&db, &["--listen", "0.0.0.0:0", "--no-demo"]);
    let url = served.url.replace("0.0.0.0", "127.0.0.1");
    let mut c = Client::new(&url);
    let page = c.get(&invite);
    let cookie = page.header("set-cookie").unwrap();
    assert!(
        !cookie.contains("Secure"),
        "browsers drop Secure cookies over http: {cookie}"
    );
    let r = c.form(
        &invite,
        &[
            ("csrf", &page.csrf()),
            ("password", "correct horse 1"),
            ("password2", "correct horse 1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let mut c = Client::new(&url);
    let csrf = c.get("/login").csrf();
    let r = c.form(
        "/login",
        &[
            ("csrf", &csrf),
            ("email", "hch@lst.de"),
            ("password", "correct horse 1"),
            ("next", "/settings"),
        ],
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/settings")));
    assert_eq!(c.get("/settings").status, 200);
    let log = served.stop();
    assert!(
        log.contains("serving plain http on 0.0.0.0:") && log.contains("not a loopback address"),
        "{log}"
    );
    assert!(log.contains("--public-url https://"), "{log}");
}

#[test]
fn an_https_public_url_makes_cookies_secure_and_feeds_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(
        &dir.path().join("t.db"),
        &["--public-url", "https://treewide.example.org/"],
    );
    let mut c = Client::new(&served.url);
    let cookie = c.get("/login").header("set-cookie").unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    let feed = c.get("/c/iov-iter-pin/feed.atom").body;
    assert!(
        feed.contains("href=\"https://treewide.example.org/c/iov-iter-pin\""),
        "{feed}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = treewide()
        .arg("--db")
        .arg(dir.path().join("t.db"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "https://example.org/treewide",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("served from the root of its host"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
