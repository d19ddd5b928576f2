//! The site search index (`site_search`, FTS5 with trigrams; its text is the view
//! `site_search_text`: a site's file, function, callee, code, notes and the subjects of the
//! newest mail linked to it). Triggers keep it for sites and notes, a row at a time; mail
//! links come a chunk at a time, and the mail store re-indexes each site a chunk linked once
//! ([`reindex`], migration 0027).

use sqlx::SqliteConnection;

use crate::model::SiteId;

/// Rebuild the search text of `sites` (ids in any order, repeats allowed).
pub async fn reindex(conn: &mut SqliteConnection, sites: &[SiteId]) -> sqlx::Result<()> {
    if sites.is_empty() {
        return Ok(());
    }
    let ids = serde_json::to_string(sites).expect("ids serialise");
    sqlx::query!(
        "DELETE FROM site_search WHERE rowid IN (SELECT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO site_search (rowid, text)
         SELECT site_id, text FROM site_search_text
         WHERE site_id IN (SELECT DISTINCT value FROM json_each(?1))",
        ids
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
