//! The `serve` command itself: it says where it listens, loads the demo into an empty
//! database (not with `--no-demo`) and answers there. Every other test of the web app runs
//! it in-process through `treewide_testing::spawn_app`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use common::http::Client;
use common::treewide;

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
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TREEWIDE_LOG", "warn")
            .env("TREEWIDE_ARGON2_MEMORY_KIB", "64")
            .stdout(Stdio::piped())
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
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Served { child, url }
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
