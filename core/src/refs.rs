//! References: commits, mail messages and web pages attached to sites or campaigns.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::model::{CampaignId, RefKind, SiteId};
use crate::Result;

/// A reference.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    pub kind: RefKind,
    pub target: String,
    pub title: String,
    pub author: Option<String>,
    pub date: Option<String>,
    pub tag: Option<String>,
}

impl Reference {
    /// Where the reference points on the web.
    pub fn url(&self) -> String {
        match self.kind {
            RefKind::Commit => format!("https://git.kernel.org/torvalds/c/{}", self.target),
            RefKind::Message => crate::mail::lore_url(&self.target),
            RefKind::Url => self.target.clone(),
        }
    }
}

/// References on one site.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<Vec<Reference>> {
    Ok(sqlx::query_as!(
        Reference,
        r#"SELECT kind AS "kind: RefKind", target, title, author, date, tag FROM refs WHERE site_id = ?1 ORDER BY id"#,
        site
    )
    .fetch_all(db)
    .await?)
}

/// Campaign-level references.
pub async fn for_campaign(
    db: impl sqlx::SqliteExecutor<'_>,
    campaign: CampaignId,
) -> Result<Vec<Reference>> {
    Ok(sqlx::query_as!(
        Reference,
        r#"SELECT kind AS "kind: RefKind", target, title, author, date, tag FROM refs
           WHERE campaign_id = ?1 AND site_id IS NULL ORDER BY id"#,
        campaign
    )
    .fetch_all(db)
    .await?)
}

/// The references on sites `ids` (an export's page of sites) with their site, by site.
pub async fn for_sites(
    db: impl sqlx::SqliteExecutor<'_>,
    ids: &[SiteId],
) -> Result<Vec<(SiteId, Reference)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = crate::db::json_list(ids)?;
    Ok(sqlx::query!(
        r#"SELECT site_id AS "site_id!: SiteId", kind AS "kind: RefKind", target, title, author, date, tag
           FROM refs WHERE site_id IN (SELECT value FROM json_each(?1)) ORDER BY site_id, id"#,
        ids
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| {
        (
            r.site_id,
            Reference { kind: r.kind, target: r.target, title: r.title, author: r.author, date: r.date, tag: r.tag },
        )
    })
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reference_links_to_lore_like_the_mail_pages() {
        let r = Reference {
            kind: RefKind::Message,
            target: "YJQkqP19pj3C/75N@zeniv-ca.linux.org.uk".into(),
            title: String::new(),
            author: None,
            date: None,
            tag: None,
        };
        assert_eq!(r.url(), crate::mail::lore_url(&r.target));
        assert!(r
            .url()
            .ends_with("YJQkqP19pj3C%2F75N@zeniv-ca.linux.org.uk"));
    }
}
