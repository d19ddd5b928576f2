//! Fuzzing the importer's parsers with proptest (stable Rust; cargo-fuzz needs nightly): mbox
//! splitting, mail parsing (headers, MIME, patch hunks, trailers, `file:line` links, the fix
//! rule), MAINTAINERS, and the tree-sitter scanner on arbitrary C. Inputs are real files
//! (generated and real list mail, the kernel's MAINTAINERS, kernel C excerpts) with edits from
//! `tests/support/mutate.rs`; properties: no panic, errors that name the line, and agreement
//! between the streaming and the whole-file mbox splitter. Long campaigns: docs/fuzzing.md.

#[path = "../../tests/support/mutate.rs"]
mod mutate;
#[path = "../../tests/support/real_mail.rs"]
mod real_mail;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bytes::Bytes;
use proptest::prelude::*;
use treewide_core::mail::LinkCandidate;
use treewide_core::model::{CampaignId, SiteId};
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;
use treewide_importer::mail::link::{parse_diff, SiteIndex};
use treewide_importer::mail::patch::FixRule;
use treewide_importer::mail::{mbox, parse_message, trailers};
use treewide_importer::{maintainers, scan};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The kernel tree of the real-tree tests, when this machine has it (no download here).
fn kernel() -> Option<PathBuf> {
    let tree = std::env::var_os("TREEWIDE_LINUX_TREE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".cache/treewide/linux-source-6.1")
        });
    tree.join("MAINTAINERS").is_file().then_some(tree)
}

/// Mail: the generated fixtures, and windows of the real threads when present.
static MAIL: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut seeds: Vec<Vec<u8>> = [
        "ceph-pin.mbox",
        "extract-pages.mbox",
        "extract-pages-later.mbox",
    ]
    .iter()
    .map(|f| read(&format!("tests/data/mail/generated/{f}")))
    .collect();
    for t in [
        "threads/caif-dont-assume-iov_iter-type.mbox.gz",
        "threads/splice-read-v21-partial.mbox.gz",
        "threads/block-reexpand-iov_iter.mbox.gz",
    ] {
        // Real mail is optional here: the fixtures alone make a fuzz corpus.
        let path = real_mail::real_mail_root().join(t);
        let Ok(gz) = std::fs::read(&path) else {
            eprintln!("SKIPPED (seed only): {} is missing", path.display());
            continue;
        };
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut text)
            .expect("real thread gunzips");
        // Whole messages, a few at a time: a mutation then hits headers as often as bodies.
        let msgs = mbox::split(Bytes::from(text));
        for chunk in msgs.chunks(3).take(6) {
            let mut m = Vec::new();
            for raw in chunk {
                m.extend_from_slice(b"From mutated@example Mon Jan  2 15:04:05 2023\n");
                m.extend_from_slice(&raw.data);
                m.extend_from_slice(b"\n");
            }
            seeds.push(m);
        }
    }
    seeds
});

const MAIL_TOKENS: &[&str] = &[
    "From a@b Thu Jan  1 00:00:00 1970\n",
    "From \n",
    ">From ",
    ">>From x 00:00:00\n",
    "\n\n",
    "\r\n\r\n",
    "Subject: [PATCH v2 3/7] fs: x\n",
    "Subject: =?utf-8?B?w6k=?=\n",
    "Subject: =?x-unknown?Q?=ZZ?=\n",
    "Message-ID: <>\n",
    "In-Reply-To: <a@b>\n",
    "Date: Mon, 99 Foo 2023 25:61:61 +9999\n",
    "Date: Tue, 1 Nov 2022 10:00:00 +0000\n",
    "Content-Type: multipart/mixed; boundary=\"b\"\n",
    "--b\n",
    "--b--\n",
    "Content-Transfer-Encoding: base64\n",
    "Content-Transfer-Encoding: quoted-printable\n",
    "=\n",
    "Acked-by: A <a@b>\n",
    "Reviewed-by: \n",
    "> [PATCH 2/3] x\n",
    "--- a/fs/afs/dir.c\n+++ b/fs/afs/dir.c\n",
    "@@ -300,7 +300,7 @@ static int afs_dir_iterate(struct inode *dir)\n",
    "@@ -1 +99999999999999999999 @@\n",
    "@@ -9223372036854775807,9223372036854775807 +1,1 @@\n",
    "-\tiov_iter_xarray(&req->def_iter, READ, &x, 0, 1);\n",
    "+\tiov_iter_xarray(&req->def_iter, ITER_DEST, &x, 0, 1);\n",
    "fs/afs/dir.c:308\n",
    "drivers/vhost/vringh.c:18446744073709551616 ",
    "afs_dir_iterate() ",
    "->iterate() ",
    "Call Trace:\n",
    " ? afs_dir_iterate+0x1a/0x2b\n",
];

/// The sites the linker knows: the generated mail's sites (fs/afs/dir.c and friends).
fn site_index() -> SiteIndex {
    let site =
        |id: i64, file: &str, line: i64, function: &str, callee: &str, code: &str| LinkCandidate {
            id: SiteId(id),
            campaign: CampaignId(1 + id % 2),
            file: file.into(),
            line,
            function: Some(function.into()),
            callee: callee.into(),
            code: code.into(),
        };
    let sites = vec![
        site(1, "fs/afs/dir.c", 308, "afs_dir_iterate", "iov_iter_xarray",
             "iov_iter_xarray(&req->def_iter, ITER_DEST, &dvnode->netfs.inode.i_mapping->i_pages, i_size, req->actual_len);"),
        site(2, "drivers/vhost/vringh.c", 1198, "copy_from_iotlb", "iov_iter_bvec",
             "iov_iter_bvec(&iter, ITER_DEST, iov, ret, translated);"),
        site(3, "net/ceph/messenger_v1.c", 52, "ceph_tcp_recvpage", "iov_iter_bvec",
             "iov_iter_bvec(&msg.msg_iter, ITER_DEST, &bvec, 1, length);"),
        site(4, "fs/ceph/file.c", 100, "__iter_get_bvecs", "iov_iter_get_pages2",
             "iov_iter_get_pages2(iter, pages, maxsize, maxpages, &start);"),
    ];
    let mut rules = std::collections::HashMap::new();
    for (i, slug) in ["iov-iter-pin", "iov-iter-direction"].iter().enumerate() {
        let mut spec = Spec::load(slug).expect("built-in spec");
        spec.campaign.start = None;
        if let Some(r) = FixRule::new(spec).expect("fix rule") {
            rules.insert(CampaignId(1 + i as i64), r);
        }
    }
    SiteIndex::new(sites).with_rules(rules)
}

static SITES: LazyLock<SiteIndex> = LazyLock::new(site_index);

/// MAINTAINERS: the fixture excerpt and windows of the kernel's when present.
static MAINTAINERS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut seeds = vec![
        read("importer/tests/data/MAINTAINERS.excerpt"),
        read("importer/tests/data/tree/MAINTAINERS"),
    ];
    match kernel() {
        Some(k) => {
            let text = std::fs::read(k.join("MAINTAINERS")).expect("kernel MAINTAINERS");
            // The header, and 40 windows of 120 lines across the section list.
            seeds.extend(mutate::windows(&text, 120, 40));
        }
        None => eprintln!("SKIPPED (seed only): no kernel tree for MAINTAINERS seeds"),
    }
    seeds
});

const MAINTAINERS_TOKENS: &[&str] = &[
    "F:\t",
    "X:\t",
    "N:\t",
    "K:\t",
    "M:\tA <a@b>\n",
    "L:\t",
    "S:\tMaintained\n",
    "F:\t*\n",
    "F:\t**\n",
    "F:\tdrivers/\n",
    "F:\tfs/*/x?.c\n",
    "F:\t[\n",
    "N:\t(\n",
    "K:\t\\b(\n",
    "K:\t(?i)iov_iter\n",
    "N:\t.*\n",
    "X:\tfs/afs/\n",
    "\n\n",
    "FOO BAR SECTION\n",
    "F:\t{a,b}\n",
    "F:\t\\\n",
];

/// Paths to route through a parsed MAINTAINERS.
const PATHS: &[&str] = &[
    "fs/afs/dir.c",
    "drivers/vhost/vringh.c",
    "lib/iov_iter.c",
    "include/linux/uio.h",
    "net/ceph/messenger_v1.c",
    "MAINTAINERS",
    "",
    "a",
];

/// C: the fixture excerpts and, when present, windows of kernel files full of calls.
static C_SOURCES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut seeds = vec![
        read("importer/tests/data/tree/fs/afs/dir.c"),
        read("importer/tests/data/tree/drivers/vhost/vringh.c"),
    ];
    match kernel() {
        Some(k) => {
            for f in [
                "lib/iov_iter.c",
                "fs/splice.c",
                "drivers/target/target_core_file.c",
                "net/ceph/messenger_v2.c",
                "include/linux/uio.h",
            ] {
                if let Ok(text) = std::fs::read(k.join(f)) {
                    seeds.extend(mutate::windows(&text, 150, 4));
                }
            }
        }
        None => eprintln!("SKIPPED (seed only): no kernel tree for C seeds"),
    }
    seeds
});

const C_TOKENS: &[&str] = &[
    "iov_iter_kvec(&iter, READ, &kv, 1, len);\n",
    "iov_iter_bvec(",
    "iov_iter_init(&i, WRITE,\n iov, n, len)",
    "import_iovec(",
    "iov_iter_get_pages2(",
    "#if 0\n",
    "#ifdef CONFIG_X\n",
    "#else\n",
    "#endif\n",
    "#define F(a) iov_iter_kvec(a, READ, 0, 0, 0)\n",
    "\\\n",
    "static int f(void)\n{\n",
    "}\n",
    "\"",
    "'",
    "/*",
    "*/",
    "//",
    "R\"(",
    "??/",
    "\u{0}",
];

fn specs() -> Vec<(Spec, CallMatcher)> {
    ["iov-iter-direction", "iov-iter-pin"]
        .iter()
        .map(|s| {
            let spec = Spec::load(s).expect("built-in spec");
            let m = CallMatcher::new(&spec).expect("matcher");
            (spec, m)
        })
        .collect()
}

static SPECS: LazyLock<Vec<(Spec, CallMatcher)>> = LazyLock::new(specs);

/// Messages as the streaming reader gives them, `block` bytes read at a time.
fn streamed(data: &[u8], block: usize) -> Vec<mbox::RawMessage> {
    let mut r = mbox::MboxReader::new(data).with_block(block);
    let mut out = Vec::new();
    while let Some(m) = r.next_message().expect("reading from memory") {
        out.push(m);
    }
    out
}

proptest! {
    #![proptest_config(mutate::config(500, "proptest-regressions/fuzz.txt"))]

    /// Splitting a mutated mbox never panics, gives messages in file order, and the streaming
    /// reader agrees with the whole-file splitter at any block size.
    #[test]
    fn mbox_splitting_agrees_and_never_panics(
        data in mutate::inputs(MAIL.clone(), MAIL_TOKENS, 6),
        block in 1usize..300,
    ) {
        let whole = mbox::split(Bytes::from(data.clone()));
        let lines = data.iter().filter(|b| **b == b'\n').count() + 1;
        for w in whole.windows(2) {
            prop_assert!(w[0].line < w[1].line, "lines {} then {}", w[0].line, w[1].line);
        }
        for m in &whole {
            prop_assert!(m.line >= 1 && m.line <= lines);
        }
        prop_assert_eq!(&streamed(&data, block), &whole);
    }

    /// Every message of a mutated mbox parses or is refused with a reason; a parsed one's
    /// diff, trailers, subject and links never panic, and links name known sites.
    #[test]
    fn mail_parsing_never_panics(data in mutate::inputs(MAIL.clone(), MAIL_TOKENS, 6)) {
        for raw in mbox::split(Bytes::from(data)) {
            match parse_message(&raw.data) {
                Ok((msg, text, diff)) => {
                    prop_assert!(!msg.message_id.is_empty());
                    let _ = trailers::trailers(&text);
                    let _ = trailers::subject_parts(&msg.subject);
                    for f in &diff {
                        prop_assert!(!f.hunks.is_empty());
                    }
                    for l in SITES.links(&text, &diff, msg.date.as_deref()) {
                        prop_assert!((1..=4).contains(&l.site.0));
                    }
                }
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
        }
    }

    /// Text that is not mail at all: the diff parser, trailers and the linker on it.
    #[test]
    fn diffs_trailers_and_links_on_any_text(text in mutate::text_inputs(MAIL.clone(), MAIL_TOKENS, 8)) {
        let diff = parse_diff(&text);
        for f in &diff {
            for h in &f.hunks {
                prop_assert!(h.old_text.len() <= text.len() + text.lines().count());
            }
        }
        let _ = trailers::trailers(&text);
        let _ = trailers::subject_parts(&text);
        let _ = SITES.links(&text, &diff, Some("2023-01-02T00:00:00Z"));
        let _ = SITES.links(&text, &diff, Some("x"));
    }

    /// Mutated MAINTAINERS parses or names the line (within the text) and what it expected;
    /// a parsed one routes any path without panicking.
    #[test]
    fn maintainers_parses_or_names_the_line(
        text in mutate::text_inputs(MAINTAINERS.clone(), MAINTAINERS_TOKENS, 6),
    ) {
        match maintainers::parse(&text) {
            Ok(m) => {
                for p in PATHS {
                    let _ = m.ranked(p, Some("iov_iter_kvec(&i, READ, 0, 0, 0)"));
                    let _ = m.explain(p, Some(&text));
                    let _ = m.subsystems_for(p, None);
                }
                let _ = m.to_specs();
            }
            Err(e) => {
                prop_assert!(e.line >= 1 && e.line <= text.split('\n').count(), "{}", e);
                prop_assert!(!e.expected.is_empty());
                prop_assert!(e.to_string().contains(&e.line.to_string()), "{}", e);
            }
        }
    }

    /// The scanner on mutated C never panics, and every site it reports lies in the file: its
    /// line and column exist, its context starts at or before it, its callee is the spec's.
    #[test]
    fn scanner_reports_only_sites_inside_the_file(
        src in mutate::inputs(C_SOURCES.clone(), C_TOKENS, 8),
    ) {
        let lines = src.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let mut parser = scan::new_parser();
        for (spec, m) in SPECS.iter() {
            let (sites, problem) = scan::scan_source("fuzz.c", &src, spec, m, &mut parser);
            for s in &sites {
                prop_assert!(s.line >= 1 && s.line <= lines, "line {} of {}", s.line, lines);
                prop_assert!(s.column >= 1);
                prop_assert!(s.context_start <= s.line);
                prop_assert!(spec.group_of(&s.callee).is_some());
                prop_assert_eq!(&s.file, "fuzz.c");
            }
            if let Some(p) = problem {
                prop_assert_eq!(&p.file, "fuzz.c");
                prop_assert!(!p.reason.is_empty());
            }
        }
    }
}
