//! The embedded seed demo: the 2022 iov_iter audit as two campaigns (data/demo/, built
//! from Al Viro's mail of 2022-09-20 and the Debian linux-source-6.1 tree; see data/seed/).

use treewide_core::ingest::{self, Summary};
use treewide_core::model::EventSource;
use treewide_core::SqlitePool;

use crate::auditor;

/// The demo files, embedded in the binary.
pub const FILES: [(&str, &str); 2] = [
    (
        "demo:iov-iter-direction.json",
        include_str!("../../data/demo/iov-iter-direction.json"),
    ),
    (
        "demo:iov-iter-pin.json",
        include_str!("../../data/demo/iov-iter-pin.json"),
    ),
];

/// Load the demo campaigns (each file in its own transaction, like any import).
pub async fn load(db: &SqlitePool) -> anyhow::Result<Vec<Summary>> {
    let mut out = Vec::new();
    for (name, text) in FILES {
        let batch =
            auditor::parse_bytes(name, text.as_bytes(), EventSource::Demo, "treewide demo")?;
        out.push(ingest::store(db, &batch).await?);
    }
    Ok(out)
}
