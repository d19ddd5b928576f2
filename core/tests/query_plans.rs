//! The queries behind pages and API lists never read every site: SQLite's plan for each (on a
//! migrated database) has no `SCAN` of `sites`, only index searches. The hot queries are the
//! ones whose text starts with `-- hot` (read from the committed `.sqlx/`, so a changed query
//! is checked as it is now) and the API site list's statement for each shape of filter.

use std::collections::HashSet;

use regex::Regex;
use sqlx::SqlitePool;
use treewide_core::db;
use treewide_core::model::{CampaignId, SiteId, Status, SubsystemId};
use treewide_core::sites::{self, SiteQuery};
use treewide_core::subsystems::SubsystemFilter;

/// The hot queries of the committed `.sqlx/` metadata.
fn hot_queries() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../.sqlx");
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let q = v["query"].as_str().unwrap_or_default();
        if q.trim_start().starts_with("-- hot") {
            out.push(q.to_owned());
        }
    }
    out.sort();
    out
}

/// The plan's lines that read every row of `sites` (by its name or an alias), table or index.
async fn full_site_scans(pool: &SqlitePool, sql: &str) -> Vec<String> {
    let alias = Regex::new(r"(?i)\bsites\s+(?:AS\s+)?([a-z_][a-z0-9_]*)").unwrap();
    let keywords = [
        "where", "join", "left", "inner", "on", "group", "order", "limit", "set", "natural",
        "cross", "union", "using", "as",
    ];
    let mut names: HashSet<String> = HashSet::from(["sites".to_owned()]);
    for c in alias.captures_iter(sql) {
        let a = c[1].to_ascii_lowercase();
        if !keywords.contains(&a.as_str()) {
            names.insert(a);
        }
    }
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    plan.into_iter()
        .map(|(_, _, _, detail)| detail)
        .filter(|d| {
            d.strip_prefix("SCAN ")
                .and_then(|rest| rest.split_whitespace().next())
                .is_some_and(|t| names.contains(&t.to_ascii_lowercase()))
        })
        .collect()
}

#[tokio::test]
async fn hot_queries_never_scan_every_site() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    let mut queries = hot_queries();
    assert!(
        queries.len() >= 12,
        "only {} queries marked -- hot in .sqlx/ (run scripts/sqlx-prepare.sh)",
        queries.len()
    );
    // The API's site list, for each shape of filter people use.
    let c = Some(CampaignId(1));
    let shapes = [
        SiteQuery {
            campaign: c,
            ..Default::default()
        },
        SiteQuery {
            campaign: c,
            status: Some(Status::NeedsFix),
            ..Default::default()
        },
        SiteQuery {
            campaign: c,
            subsystem: Some(SubsystemFilter::Id(SubsystemId(3))),
            ..Default::default()
        },
        SiteQuery {
            campaign: c,
            subsystem: Some(SubsystemFilter::Unassigned),
            status: Some(Status::Fixed),
            ..Default::default()
        },
        SiteQuery {
            campaign: c,
            subsystem: Some(SubsystemFilter::Id(SubsystemId(3))),
            status: Some(Status::Fixed),
            callee: Some("iov_iter_bvec".into()),
            ..Default::default()
        },
        SiteQuery {
            action_required_for: Some("someone@example.org".into()),
            ..Default::default()
        },
    ];
    for q in &shapes {
        queries.push(sites::list_ids_query(q, SiteId(0), 100).sql().to_owned());
    }
    let mut bad = Vec::new();
    for q in &queries {
        let scans = full_site_scans(&pool, q).await;
        if !scans.is_empty() {
            bad.push(format!("{scans:?} in\n{q}"));
        }
    }
    assert!(bad.is_empty(), "full scans of sites:\n{}", bad.join("\n\n"));
}

#[tokio::test]
async fn the_plan_check_sees_a_full_scan() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::open(&dir.path().join("t.db")).await.unwrap();
    let scans = full_site_scans(
        &pool,
        "SELECT status, count(*) FROM sites s WHERE s.line > 3 GROUP BY status",
    )
    .await;
    assert_eq!(scans.len(), 1, "{scans:?}");
    assert!(full_site_scans(
        &pool,
        "SELECT count(*) FROM sites WHERE campaign_id = 1 AND status = 'fixed'"
    )
    .await
    .is_empty());
}
