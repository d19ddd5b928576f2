//! Progress on the terminal (standard error) for the long commands: a ticking spinner and a
//! byte bar for reading big files. Both are hidden with `--quiet`.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

/// A spinner drawn with the static `template`, ticking on its own (hidden when `hidden`).
pub fn spinner(
    hidden: bool,
    template: &'static str,
    message: impl Into<Cow<'static, str>>,
) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(ProgressStyle::with_template(template).expect("static template"));
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Read a whole file; files of 4 MiB and more show a byte bar unless `quiet`.
pub fn read_file(path: &Path, quiet: bool) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if quiet || len < (4 << 20) {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    bar.set_message(format!("reading {}", path.display()));
    let mut bytes = Vec::with_capacity(len as usize);
    bar.wrap_read(file)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    bar.finish_and_clear();
    Ok(bytes)
}
