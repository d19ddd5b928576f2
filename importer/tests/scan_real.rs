//! The scanner on a real kernel tree (Debian's linux-source-6.1, fetched by
//! scripts/linux-source.sh; skipped with a message when it cannot be had): every difference
//! from `git grep` is explained, the strlcpy example spec works, and the sites' subsystems
//! agree with get_maintainer.pl.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{linux_tree, perl_subsystems};
use treewide_formats::calls::CallMatcher;
use treewide_formats::spec::Spec;
use treewide_importer::scan::{self, NotACall};

mod common;

fn tree() -> Option<std::path::PathBuf> {
    match linux_tree() {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("SKIPPED: no Linux tree ({e})");
            None
        }
    }
}

/// `git grep` (no repository needed) for `\bcallee\s*\(` in .c/.h files: file → lines.
fn git_grep(tree: &Path, spec: &Spec) -> BTreeMap<String, BTreeSet<u32>> {
    let names: Vec<String> = spec
        .calls
        .iter()
        .flat_map(|g| g.callees.iter())
        .map(|c| match c.strip_suffix('*') {
            Some(p) => format!("{p}[A-Za-z0-9_]*"),
            None => c.clone(),
        })
        .collect();
    let out = Command::new("git")
        .args(["grep", "--no-index", "-n", "-E"])
        .arg(format!(
            "(^|[^A-Za-z0-9_])({})[[:space:]]*\\(",
            names.join("|")
        ))
        .args(["--", "*.c", "*.h"])
        .current_dir(tree)
        .output()
        .expect("git grep");
    let mut found: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut parts = l.splitn(3, ':');
        let (Some(f), Some(n)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Ok(n) = n.parse() {
            found.entry(f.to_owned()).or_default().insert(n);
        }
    }
    found
}

#[test]
fn every_difference_from_git_grep_is_explained() {
    let Some(tree) = tree() else { return };
    let spec = Spec::load("iov-iter-direction").unwrap();
    let result = scan::scan_tree(&tree, &spec, &|_| {}).unwrap();
    let grep = git_grep(&tree, &spec);
    let mut ours: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for s in &result.sites {
        ours.entry(s.file.clone()).or_default().insert(s.line);
    }
    let matcher = CallMatcher::new(&spec).unwrap();
    let mut parser = scan::new_parser();
    let (mut comments, mut declarations, mut multi_line, mut same) = (0, 0, 0, 0);
    let files: BTreeSet<&String> = grep.keys().chain(ours.keys()).collect();
    for f in files {
        let empty = BTreeSet::new();
        let (g, o) = (grep.get(f).unwrap_or(&empty), ours.get(f).unwrap_or(&empty));
        same += g.intersection(o).count();
        let src = std::fs::read(tree.join(f)).unwrap();
        let (_, _, skipped) = scan::scan_source_explained(f, &src, &spec, &matcher, &mut parser);
        for line in g.difference(o) {
            match skipped.iter().find(|(l, _)| l == line).map(|(_, why)| *why) {
                Some(NotACall::CommentOrString) => comments += 1,
                Some(NotACall::Declaration) => declarations += 1,
                None => panic!("{f}:{line}: git grep finds a call the scanner does not"),
            }
        }
        for line in o.difference(g) {
            // The scanner's line is the callee's; grep needs `callee(` on one line.
            let text = String::from_utf8_lossy(&src);
            let l = text.lines().nth(*line as usize - 1).unwrap_or("");
            assert!(!l.contains('('), "{f}:{line}: only the scanner finds {l:?}");
            multi_line += 1;
        }
    }
    eprintln!(
        "iov-iter-direction on {}: {} sites; git grep agrees on {same}; grep-only: {comments} in comments/strings, \
         {declarations} declarations; scanner-only: {multi_line} calls split before `(`; {} files not fully parsed",
        tree.display(),
        result.sites.len(),
        result.problems.len()
    );
    assert!(
        result.sites.len() > 150,
        "a 6.1 tree has ~190 direction sites"
    );
    assert!(same > 150);
}

#[test]
fn the_strlcpy_example_spec_works_on_the_real_tree() {
    let Some(tree) = tree() else { return };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/specs/strlcpy.toml");
    let spec = Spec::load(path.to_str().unwrap()).unwrap();
    let result = scan::scan_tree(&tree, &spec, &|_| {}).unwrap();
    let sites = scan::to_site_specs(&result, &spec, &|_| Vec::new());
    eprintln!("strlcpy on {}: {} calls", tree.display(), sites.len());
    assert!(
        sites.len() > 100,
        "6.1 still has hundreds of strlcpy() calls: {}",
        sites.len()
    );
    assert!(sites
        .iter()
        .all(|(s, _)| s.status == Some(treewide_core::model::Status::NeedsFix)));
    assert!(sites
        .iter()
        .any(|(s, _)| s.file.as_str().starts_with("drivers/")));
}

#[test]
fn site_subsystems_agree_with_get_maintainer_pl() {
    let Some(tree) = tree() else { return };
    let spec = Spec::load("iov-iter-direction").unwrap();
    let result = scan::scan_tree(&tree, &spec, &|_| {}).unwrap();
    let m = scan::load_maintainers(&tree).unwrap().expect("MAINTAINERS");
    let files: BTreeSet<&str> = result.sites.iter().map(|s| s.file.as_str()).collect();
    let t = std::time::Instant::now();
    let ours: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|f| ((*f).to_owned(), scan::subsystem_names(&m, &tree, f)))
        .collect();
    let ours_time = t.elapsed();
    let t = std::time::Instant::now();
    let mut agree = 0;
    let mut primary_agree = 0;
    let mut disagreements = Vec::new();
    for (f, names) in &ours {
        let perl = perl_subsystems(&tree, f);
        if perl.first() == names.first() {
            primary_agree += 1;
        }
        let (mut a, mut b) = (perl.clone(), names.clone());
        a.sort();
        b.sort();
        if a == b {
            agree += 1;
        } else {
            disagreements.push(format!("{f}: perl {perl:?} ours {names:?}"));
        }
    }
    eprintln!(
        "subsystems of all {} files with iov-iter-direction sites: {agree} agree with get_maintainer.pl \
         (primary: {primary_agree}); mapping them took {ours_time:?}, perl took {:?} for all",
        ours.len(),
        t.elapsed()
    );
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}
