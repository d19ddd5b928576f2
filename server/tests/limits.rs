//! The real server under hostile connections: a client that never finishes its headers is
//! cut off, idle keep-alive connections close, and past the connection cap new clients wait
//! until a connection closes instead of the process running out of file descriptors.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use treewide_server::ServeLimits;
use treewide_testing::{spawn_app_with, Config};

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Read until the server closes the connection (or `limit` passes); what it sent.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = spawn_app_with(Config {
        limits: ServeLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServeLimits::default()
        },
        ..Config::default()
    })
    .await;
    let addr = addr(app.url());
    tokio::task::spawn_blocking(move || {
        // Slowloris: half a request, then nothing.
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(closed, "the server kept a half-sent request open");
        assert!(started.elapsed() < Duration::from_secs(3));

        // An idle keep-alive connection after a full answer closes too.
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /static/style.css HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(closed, "an idle keep-alive connection stayed open");
        assert!(
            got.starts_with(b"HTTP/1.1 "),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_connection_cap_a_client_waits_until_a_connection_closes() {
    let app = spawn_app_with(Config {
        limits: ServeLimits {
            max_connections: 2,
            header_read_timeout: Duration::from_secs(30),
            ..ServeLimits::default()
        },
        ..Config::default()
    })
    .await;
    let addr = addr(app.url());
    tokio::task::spawn_blocking(move || {
        let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
        // Let the server accept both.
        std::thread::sleep(Duration::from_millis(200));
        let mut third = TcpStream::connect(&addr).unwrap();
        third
            .write_all(b"GET /api/v1/campaigns HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let (got, closed) = read_until_closed(&mut third, Duration::from_millis(700));
        assert!(
            got.is_empty() && !closed,
            "answered past the cap: {:?}",
            String::from_utf8_lossy(&got)
        );
        drop(idle);
        let (got, closed) = read_until_closed(&mut third, Duration::from_secs(10));
        assert!(closed);
        assert!(
            got.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    })
    .await
    .unwrap();
}
