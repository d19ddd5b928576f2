//! Fuzzing the formats crate's parsers with proptest (stable Rust; cargo-fuzz needs nightly):
//! auditor JSON, campaign specs, the unified diffs behind `POST /api/v1/check` and the C call
//! matcher. Inputs are real files (the demo documents, the built-in specs, kernel excerpts)
//! with edits from `tests/support/mutate.rs`; properties: no panic, errors that name the
//! file/line/field, and round trips. `PROPTEST_CASES=100000 cargo test -p treewide-formats
//! --test fuzz --release` runs a long campaign (docs/fuzzing.md).

#[path = "../../tests/support/mutate.rs"]
mod mutate;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use treewide_formats::audit::{parse_document, write};
use treewide_formats::calls::{text_call, CallMatcher};
use treewide_formats::check::{added_lines, check_diff};
use treewide_formats::spec::{Spec, BUILTIN};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Real C: the fixture excerpts of the kernel (fs/afs/dir.c, drivers/vhost/vringh.c).
fn c_seeds() -> Vec<Vec<u8>> {
    vec![
        read("importer/tests/data/tree/fs/afs/dir.c"),
        read("importer/tests/data/tree/drivers/vhost/vringh.c"),
    ]
}

/// A unified diff of `file` whose one hunk turns `ITER_DEST`/`ITER_SOURCE` back into
/// `READ`/`WRITE` (the campaign's legacy spellings) on every line that has them.
fn legacy_diff(file: &str, src: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(src);
    let lines: Vec<&str> = text.lines().collect();
    let mut body = String::new();
    let (mut old, mut new) = (0, 0);
    for l in &lines {
        let back = l
            .replace("ITER_DEST", "READ")
            .replace("ITER_SOURCE", "WRITE");
        if back != *l {
            body.push_str(&format!("-{l}\n+{back}\n"));
        } else {
            body.push_str(&format!(" {l}\n"));
        }
        old += 1;
        new += 1;
    }
    format!(
        "diff --git a/{file} b/{file}\n--- a/{file}\n+++ b/{file}\n@@ -1,{old} +1,{new} @@\n{body}"
    )
    .into_bytes()
}

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "null",
    "true",
    "\"\"",
    "0",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"status\": \"bogus\"",
    "\"line\": 0",
    "\"format\": \"treewide-audit/2\"",
    "\\u0000",
    "\\ud800",
    ",\n",
];

const TOML_TOKENS: &[&str] = &[
    "[[calls]]\n",
    "[campaign]\n",
    "[direction]\n",
    "[fixed]\n",
    "callees = []\n",
    "callees = [\"x*\"]\n",
    "callees = [\"*\"]\n",
    "direction_arg = 0\n",
    "direction_arg = 18446744073709551615\n",
    "direction_arg = 99\n",
    "start = \"2023-02-30\"\n",
    "start = \"2023-02-3x\"\n",
    "status = \"fixed\"\n",
    "slug = \"Not A Slug\"\n",
    "replacements = [\"a b\"]\n",
    "= ",
    "\"\"\"",
];

const DIFF_TOKENS: &[&str] = &[
    "@@ -1,3 +1,4 @@\n",
    "@@ -1 +4294967295 @@\n",
    "@@ -4294967295,2 +4294967295,2 @@\n",
    "@@ -0,0 +0,0 @@\n",
    "@@ \n",
    "--- a/x.c\n",
    "+++ b/x.c\n",
    "+++ /dev/null\n",
    "+++ \n",
    "+\tiov_iter_kvec(&iter, READ, &kv, 1, len);\n",
    "+\tiov_iter_bvec(&iter, WRITE,\n",
    "+iov_iter_init(",
    "+import_single_range(READ, buf, len, &iov, &iter);\n",
    "\\ No newline at end of file\n",
];

const C_TOKENS: &[&str] = &[
    "iov_iter_kvec(",
    "iov_iter_bvec(&iter, READ, ",
    "iov_iter_init(&i, WRITE, iov, n, len);",
    "iov_iter_xarray(",
    "import_iovec(",
    "\"",
    "'\\",
    "/*",
    "#if 0\n",
    "#endif\n",
    "#define X(a) iov_iter_kvec(a, READ, 0, 0, 0)\n",
];

fn specs() -> Vec<Spec> {
    BUILTIN
        .iter()
        .map(|(n, t)| Spec::parse(n, t).expect("built-in spec"))
        .collect()
}

proptest! {
    #![proptest_config(mutate::config(1500, "proptest-regressions/fuzz.txt"))]

    /// A mutated auditor file either parses, and then writes and reads back to the same
    /// document, or is refused with an error naming the file (and a position for bad JSON).
    #[test]
    fn audit_json_parses_or_says_where(input in mutate::inputs(
        vec![read("data/demo/iov-iter-direction.json"), read("data/demo/iov-iter-pin.json")],
        JSON_TOKENS,
        4,
    )) {
        match parse_document("fuzz.json", &input) {
            Ok(doc) => {
                let mut first = Vec::new();
                write(&doc, &mut first).expect("writing a parsed document");
                let again = parse_document("written.json", &first)
                    .unwrap_or_else(|e| panic!("a written document does not read back: {e}"));
                let mut second = Vec::new();
                write(&again, &mut second).expect("writing it again");
                prop_assert_eq!(String::from_utf8_lossy(&first), String::from_utf8_lossy(&second));
            }
            Err(e) => {
                prop_assert_eq!(&e.file, "fuzz.json");
                let shown = e.to_string();
                prop_assert!(shown.starts_with("fuzz.json"), "{}", shown);
                prop_assert!(!e.message.is_empty());
                if e.message.starts_with("not valid JSON") {
                    prop_assert!(e.position.is_some(), "{}", shown);
                }
            }
        }
    }

    /// A mutated spec parses (and its stored text parses to the same spec) or is refused
    /// with an error naming the spec.
    #[test]
    fn spec_toml_parses_or_names_the_field(text in mutate::text_inputs(
        BUILTIN.iter().map(|(_, t)| t.as_bytes().to_vec()).collect(),
        TOML_TOKENS,
        4,
    )) {
        match Spec::parse("fuzz.toml", &text) {
            Ok(spec) => {
                let again = Spec::parse("stored", &spec.text).expect("a spec's own text parses");
                prop_assert_eq!(format!("{spec:?}"), format!("{again:?}"));
                // Everything a spec feeds must accept it.
                let m = CallMatcher::new(&spec);
                prop_assert!(m.is_ok(), "{:?}", m.err());
                for g in &spec.calls {
                    let _ = spec.classify(g, Some("READ"));
                    for c in &g.callees {
                        let _ = spec.iter_kind(g, c);
                    }
                }
            }
            Err(e) => {
                let shown = format!("{e:#}");
                prop_assert!(shown.starts_with("fuzz.toml"), "{}", shown);
            }
        }
    }

    /// The check of a mutated diff never panics and reports only added lines of C files,
    /// at lines the diff can hold.
    #[test]
    fn check_diff_never_panics(text in mutate::text_inputs(
        vec![
            legacy_diff("fs/afs/dir.c", &read("importer/tests/data/tree/fs/afs/dir.c")),
            legacy_diff(
                "drivers/vhost/vringh.c",
                &read("importer/tests/data/tree/drivers/vhost/vringh.c"),
            ),
        ],
        DIFF_TOKENS,
        6,
    )) {
        let added = added_lines(&text);
        prop_assert!(added.len() <= text.lines().count());
        let findings = check_diff(&text, &specs()).expect("the built-in specs compile");
        for f in &findings {
            prop_assert!(f.file.ends_with(".c") || f.file.ends_with(".h"), "{:?}", f);
            prop_assert!(added.iter().any(|(file, line, _)| *file == f.file && *line == f.line));
        }
    }

    /// The text call matcher on mutated C: every call it finds ends inside the text, after
    /// its name.
    #[test]
    fn text_calls_stay_inside_the_text(src in mutate::inputs(c_seeds(), C_TOKENS, 8)) {
        for spec in specs() {
            let m = CallMatcher::new(&spec).expect("built-in spec");
            let _ = m.may_hold_call(&src);
            let _ = m.has_call(&src);
            for name in m.callee_names(&src) {
                let (end, args) = text_call(&src, name.end());
                prop_assert!(end >= name.end() && end <= src.len());
                prop_assert!(args.len() <= src.len());
            }
        }
        // And from every position a caller could hand it.
        for at in (0..=src.len()).step_by(97) {
            let (end, _) = text_call(&src, at);
            prop_assert!(end >= at && end <= src.len());
        }
    }
}
