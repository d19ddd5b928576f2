//! `treewide`: track a treewide Linux kernel API conversion call site by call site.
//!
//! This file parses the command line and hands the subcommand to [`cli`], one module per
//! command group.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc: imports allocate and free millions of small strings
/// from several threads (mail parsing, tree scans), where it keeps pages warm and costs less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Track a treewide kernel API conversion (e.g. iov_iter READ/WRITE → ITER_DEST/ITER_SOURCE)
/// across every call site, subsystem by subsystem.
#[derive(Parser)]
#[command(name = "treewide", version, about, long_about = None)]
struct Cli {
    /// SQLite database file (created if missing).
    #[arg(
        long,
        global = true,
        env = "TREEWIDE_DB",
        default_value = "treewide.db"
    )]
    db: PathBuf,
    #[command(subcommand)]
    command: cli::Command,
}

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_t`, the same in mimalloc v2 and
/// v3; libmimalloc-sys names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Give freed memory back to the OS 10 ms after it is freed, not mimalloc's 1 s: an import
/// frees a chunk of parsed mail every few hundred milliseconds, and with the default the
/// chunks freed in the last second stayed resident (a 100k-message epoch: 186 → 158 MB peak
/// RSS, same time). `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn purge_freed_memory_soon() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options (a plain integer), before any other thread
        // exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) };
    }
}

fn main() -> ExitCode {
    // Process-wide allocator settings (mimalloc's and SQLite's) go in before any thread or
    // database exists.
    purge_freed_memory_soon();
    treewide_core::sqlite_memory::configure();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TREEWIDE_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("treewide: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(cli.command, &cli.db)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("treewide: {e:#}");
            ExitCode::FAILURE
        }
    }
}
