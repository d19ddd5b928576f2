//! A large, realistic `treewide-audit/1` file for crash tests and benchmarks: sites spread over
//! files and subsystems like a kernel tree's, with the pinning audit's verdict groups.

#![allow(dead_code)]

use std::fmt::Write;

const CALLEES: [&str; 7] = [
    "iov_iter_bvec",
    "iov_iter_kvec",
    "iov_iter_init",
    "iov_iter_xarray",
    "iov_iter_get_pages2",
    "iov_iter_pipe",
    "import_single_range",
];
const DIRECTIONS: [&str; 5] = ["ITER_DEST", "ITER_SOURCE", "READ", "WRITE", "is_write"];

/// JSON text of an auditor file with `n` sites for campaign `slug`.
pub fn audit_file(slug: &str, n: usize) -> String {
    let mut s = String::with_capacity(n * 330);
    write!(
        s,
        r#"{{"format": "treewide-audit/1",
"campaign": {{"slug": "{slug}", "title": "Generated {n}-site campaign", "rule": "generated"}},
"tree": {{"describe": "v6.1"}},
"verdicts": [
 {{"label": "sources", "match": {{"direction": "ITER_SOURCE"}}, "status": "confirmed_safe", "reason": "no pin"}},
 {{"label": "iovec", "match": {{"iter_kind": "ITER_IOVEC"}}, "status": "needs_pin"}},
 {{"label": "pipe", "match": {{"iter_kind": "ITER_PIPE"}}, "status": "confirmed_safe"}},
 {{"label": "nvme", "match": {{"file": "drivers/nvme/target/*"}}, "status": "awaiting_owner"}},
 {{"label": "read_folio", "match": {{"function": "*read_folio*"}}, "status": "confirmed_safe"}}
],
"sites": [
"#
    )
    .unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let callee = CALLEES[(x % 7) as usize];
        let dir = DIRECTIONS[((x >> 8) % 5) as usize];
        let top = ["drivers", "fs", "net", "mm", "block"][((x >> 16) % 5) as usize];
        let file = format!("{top}/sub{}/file{}.c", (i / 400) % 250, i / 40);
        let func = if (x >> 24) % 9 == 0 {
            format!("gen_read_folio_{}", i / 3)
        } else {
            format!("gen_fn_{}", i / 3)
        };
        let status = if i % 10 == 0 {
            r#", "status": "needs_fix""#
        } else {
            ""
        };
        if i > 0 {
            s.push_str(",\n");
        }
        write!(
            s,
            r#"{{"file": "{file}", "line": {line}, "column": 2, "function": "{func}", "callee": "{callee}", "code": "{callee}(&iter, {dir}, bv{i}, nr, len);", "direction": "{dir}", "subsystem": "GENERATED SUBSYSTEM {sub}"{status}}}"#,
            line = 10 + (i % 40) * 25,
            sub = (i / 500) % 300,
        )
        .unwrap();
    }
    s.push_str("\n]}\n");
    s
}
