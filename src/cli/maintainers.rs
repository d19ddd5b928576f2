//! `treewide maintainers`: the MAINTAINERS subsystems of files, most specific first, as
//! get_maintainer.pl --subsystem lists them; with `--why`, the lines that matched or
//! excluded each section, its depth and who may sign off.

use std::io::Write;
use std::path::PathBuf;

use treewide_core::model::SignoffScope;
use treewide_core::routing;
use treewide_importer::maintainers::{Entry, Maintainers, MatchedLine, SectionMatch};

/// Options of `treewide maintainers`.
#[derive(clap::Args)]
pub struct Args {
    /// Root of the kernel source tree (holding MAINTAINERS).
    #[arg(long, default_value = ".")]
    tree: PathBuf,
    /// Explain the routing: for every section that matches (in get_maintainer.pl's order,
    /// the order of `get_maintainer.pl --sections`, keyword matches after), the F:/N:/K:
    /// lines that matched, the match depth, ties, orphaned or obsolete sections, whose
    /// sign-off a campaign takes by default; then the sections an X: line excluded.
    #[arg(long)]
    why: bool,
    /// Files, relative to the tree root.
    #[arg(required = true)]
    files: Vec<String>,
}

/// Print each file's subsystems with their maintainers, reviewers and lists.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (tree, files) = (&args.tree, &args.files);
    let m = treewide_importer::maintainers::from_tree(tree)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, f) in files.iter().enumerate() {
        let rel = f.trim_start_matches("./");
        let content = std::fs::read(tree.join(rel)).ok();
        let content = content.as_deref().map(String::from_utf8_lossy);
        if args.why {
            if i > 0 {
                writeln!(out)?;
            }
            why(&mut out, &m, rel, content.as_deref())?;
            continue;
        }
        if files.len() > 1 {
            writeln!(out, "{rel}:")?;
        }
        for e in m.subsystems_for(rel, content.as_deref()) {
            writeln!(out, "{}{}", e.name, status(e))?;
            people(&mut out, e, "  ")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `  [Maintained]`, or nothing without `S:`.
fn status(e: &Entry) -> String {
    e.status
        .as_deref()
        .map(|s| format!("  [{s}]"))
        .unwrap_or_default()
}

/// The section's M:, R: and L: lines.
fn people(out: &mut impl Write, e: &Entry, indent: &str) -> std::io::Result<()> {
    for p in &e.maintainers {
        writeln!(out, "{indent}M: {p}")?;
    }
    for p in &e.reviewers {
        writeln!(out, "{indent}R: {p}")?;
    }
    for l in &e.lists {
        writeln!(out, "{indent}L: {l}")?;
    }
    Ok(())
}

/// `F:  fs/ceph/   (MAINTAINERS:4790, depth 2)`.
fn line(l: &MatchedLine) -> String {
    let depth = l.depth.map(|d| format!(", depth {d}")).unwrap_or_default();
    format!(
        "{}:  {}   (MAINTAINERS:{}{depth})",
        l.letter, l.value, l.line
    )
}

/// The explanation of one file's routing.
fn why(
    out: &mut impl Write,
    m: &Maintainers,
    file: &str,
    content: Option<&str>,
) -> std::io::Result<()> {
    let all = m.explain(file, content);
    let (listed, excluded): (Vec<&SectionMatch>, Vec<&SectionMatch>) =
        all.iter().partition(|s| s.rank.is_some());
    let by_path = listed.iter().filter(|s| s.depth.is_some()).count();
    writeln!(
        out,
        "{file}: {by_path} section{} by path (get_maintainer.pl --sections), {} by keyword{}",
        if by_path == 1 { "" } else { "s" },
        listed.len() - by_path,
        if content.is_none() {
            " (file not found: keywords not checked)"
        } else {
            ""
        }
    )?;
    let depths: Vec<Option<i64>> = listed.iter().map(|s| s.depth.map(i64::from)).collect();
    let signs = routing::signing(SignoffScope::Specific, &depths);
    for (s, signs) in listed.iter().zip(signs) {
        let e = &m.entries[s.entry];
        let mut flags = Vec::new();
        if s.rank == Some(0) {
            flags.push("primary".to_owned());
        }
        match s.depth {
            Some(d) => flags.push(format!("depth {d}")),
            None => flags.push("keyword match".to_owned()),
        }
        if s.tied {
            let others: Vec<&str> = listed
                .iter()
                .filter(|o| o.entry != s.entry && o.depth == s.depth)
                .map(|o| m.entries[o.entry].name.as_str())
                .collect();
            flags.push(format!("tie with {}", others.join(", ")));
        }
        let st = e.status.as_deref().unwrap_or("");
        if st.trim_start().starts_with("Orphan") {
            flags.push("ORPHAN".to_owned());
        }
        if st.contains("Obsolete") {
            flags.push("OBSOLETE".to_owned());
        }
        if e.maintainers.is_empty() && e.reviewers.is_empty() {
            flags.push("no M:/R:".to_owned());
        }
        flags.push(
            if signs {
                "may sign off"
            } else {
                "may sign off only where a campaign's scope is any-section"
            }
            .to_owned(),
        );
        writeln!(
            out,
            "{}. {}{}  ({})",
            s.rank.unwrap_or(0) + 1,
            e.name,
            status(e),
            flags.join("; ")
        )?;
        for l in &s.matched {
            writeln!(out, "     matched  {}", line(l))?;
        }
        for l in &s.excluded_by {
            writeln!(
                out,
                "     excluded {} (its path lines do not count)",
                line(l)
            )?;
        }
        people(out, e, "     ")?;
    }
    if !excluded.is_empty() {
        writeln!(out, "excluded (X:):")?;
        for s in excluded {
            let e = &m.entries[s.entry];
            writeln!(out, "   {}{}", e.name, status(e))?;
            for l in &s.matched {
                writeln!(out, "     matched  {}", line(l))?;
            }
            for l in &s.excluded_by {
                writeln!(out, "     excluded {}", line(l))?;
            }
        }
    }
    Ok(())
}
