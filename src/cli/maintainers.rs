//! `treewide maintainers`: the MAINTAINERS subsystems of files, most specific first, as
//! get_maintainer.pl --subsystem lists them.

use std::io::Write;
use std::path::PathBuf;

/// Options of `treewide maintainers`.
#[derive(clap::Args)]
pub struct Args {
    /// Root of the kernel source tree (holding MAINTAINERS).
    #[arg(long, default_value = ".")]
    tree: PathBuf,
    /// Files, relative to the tree root.
    #[arg(required = true)]
    files: Vec<String>,
}

/// Print each file's subsystems with their maintainers, reviewers and lists.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let (tree, files) = (&args.tree, &args.files);
    let m = treewide_importer::maintainers::from_tree(tree)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for f in files {
        let rel = f.trim_start_matches("./");
        let content = std::fs::read(tree.join(rel)).ok();
        let content = content.as_deref().map(String::from_utf8_lossy);
        if files.len() > 1 {
            writeln!(out, "{rel}:")?;
        }
        for e in m.subsystems_for(rel, content.as_deref()) {
            writeln!(
                out,
                "{}{}",
                e.name,
                e.status
                    .as_deref()
                    .map(|s| format!("  [{s}]"))
                    .unwrap_or_default()
            )?;
            for p in &e.maintainers {
                writeln!(out, "  M: {p}")?;
            }
            for p in &e.reviewers {
                writeln!(out, "  R: {p}")?;
            }
            for l in &e.lists {
                writeln!(out, "  L: {l}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
