//! How MAINTAINERS routes a site to its sections, as the last tree scan stored it: each
//! section with its get_maintainer.pl match depth and the lines that matched (the site page's
//! "Why these owners"), and the rule of whose sign-off a campaign takes ([`signing`]).

use serde::Serialize;
use sqlx::SqlitePool;

use crate::ingest::ExcludedSection;
use crate::model::{CampaignId, SignoffScope, SiteId, SubsystemId};
use crate::{Error, Result};

/// Which of a site's sections (in rank order, primary first, with their match depths) may
/// sign it off under `scope`: with [`SignoffScope::Specific`] the primary and every section as
/// deep as it (equally specific); with [`SignoffScope::AnySection`] all of them. A depth
/// unknown (`None`: a `K:` match, or a row from before depths were stored) ties with nothing.
pub fn signing(scope: SignoffScope, depths: &[Option<i64>]) -> Vec<bool> {
    let primary = depths.first().copied().flatten();
    depths
        .iter()
        .enumerate()
        .map(|(rank, &d)| {
            rank == 0 || scope == SignoffScope::AnySection || (d.is_some() && d == primary)
        })
        .collect()
}

/// Whether `email` is a maintainer or reviewer of a section of `site` whose sign-off its
/// campaign takes ([`signing`]; the primary subsystem always counts). Admins are the
/// caller's business.
pub async fn signs_for(
    db: impl sqlx::SqliteExecutor<'_>,
    site: SiteId,
    email: &str,
) -> Result<bool> {
    let rows = sqlx::query!(
        r#"SELECT x.rank AS "rank!: i64", x.depth, c.signoff_scope AS "scope!: SignoffScope",
                  EXISTS (SELECT 1 FROM subsystem_people p
                          WHERE p.subsystem_id = x.subsystem_id AND p.email = ?2) AS "person!: bool"
           FROM site_subsystems x JOIN sites s ON s.id = x.site_id
                JOIN campaigns c ON c.id = s.campaign_id
           WHERE x.site_id = ?1
           UNION ALL
           SELECT -1, NULL, c.signoff_scope,
                  EXISTS (SELECT 1 FROM subsystem_people p
                          WHERE p.subsystem_id = s.subsystem_id AND p.email = ?2)
           FROM sites s JOIN campaigns c ON c.id = s.campaign_id
           WHERE s.id = ?1 AND s.subsystem_id IS NOT NULL
           ORDER BY 1"#,
        site,
        email
    )
    .fetch_all(db)
    .await?;
    // The primary subsystem (rank -1 here) counts whatever the scan stored.
    if rows.iter().any(|r| r.rank < 0 && r.person) {
        return Ok(true);
    }
    let ranked: Vec<_> = rows.iter().filter(|r| r.rank >= 0).collect();
    let Some(scope) = ranked.first().map(|r| r.scope) else {
        return Ok(false);
    };
    let depths: Vec<Option<i64>> = ranked.iter().map(|r| r.depth).collect();
    Ok(signing(scope, &depths)
        .into_iter()
        .zip(&ranked)
        .any(|(signs, r)| signs && r.person))
}

/// One MAINTAINERS section of a site's file, as the last scan matched it.
#[derive(Debug, Clone, Serialize)]
pub struct SiteSection {
    pub subsystem: SubsystemId,
    pub name: String,
    pub slug: String,
    /// The section's `S:`.
    pub status: Option<String>,
    /// Place in get_maintainer.pl's order, 0 for the primary.
    pub rank: i64,
    /// get_maintainer.pl's match depth; `None` for a `K:` match or before depths were stored.
    pub depth: Option<i64>,
    /// Another section of the file has the same depth (get_maintainer.pl orders such ties at
    /// random).
    pub tied: bool,
    /// Its maintainers and reviewers may sign the site off under the campaign's scope.
    pub signs: bool,
    /// The MAINTAINERS lines that matched the file, as written.
    pub matched: Vec<String>,
    /// `M:` as `Name <email>`.
    pub maintainers: Vec<String>,
    /// `R:` as `Name <email>`.
    pub reviewers: Vec<String>,
    /// `L:` addresses.
    pub lists: Vec<String>,
}

impl SiteSection {
    /// `S: Orphan` (also `Orphan / Obsolete`).
    pub fn is_orphan(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.trim_start().starts_with("Orphan"))
    }

    /// `S: Obsolete` (also `Orphan / Obsolete`).
    pub fn is_obsolete(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.contains("Obsolete"))
    }
}

/// Why a site's file has the owners it has: its sections in get_maintainer.pl's order, the
/// sections an `X:` line took off the file, and the campaign's sign-off scope.
#[derive(Debug, Clone, Serialize)]
pub struct SiteRouting {
    pub scope: SignoffScope,
    pub sections: Vec<SiteSection>,
    pub excluded: Vec<ExcludedSection>,
}

/// The stored routing of `site`: every section the last scan matched (or, for a site no scan
/// mapped, its primary subsystem alone), with people, lists and whether each signs off.
pub async fn for_site(db: &SqlitePool, site: SiteId) -> Result<SiteRouting> {
    let head = sqlx::query!(
        r#"SELECT s.file, s.campaign_id AS "campaign!: CampaignId",
                  s.subsystem_id AS "primary: SubsystemId",
                  c.signoff_scope AS "scope!: SignoffScope"
           FROM sites s JOIN campaigns c ON c.id = s.campaign_id WHERE s.id = ?1"#,
        site
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::NotFound(format!("site {site}")))?;
    let mut rows: Vec<(SubsystemId, i64, Option<i64>, String)> = sqlx::query!(
        r#"SELECT subsystem_id AS "subsystem!: SubsystemId", rank, depth, matched
           FROM site_subsystems WHERE site_id = ?1 ORDER BY rank"#,
        site
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.subsystem, r.rank, r.depth, r.matched))
    .collect();
    if rows.is_empty() {
        rows.extend(head.primary.map(|p| (p, 0, None, String::new())));
    }
    let depths: Vec<Option<i64>> = rows.iter().map(|r| r.2).collect();
    let signs = signing(head.scope, &depths);
    let mut sections = Vec::with_capacity(rows.len());
    for ((subsystem, rank, depth, matched), signs) in rows.into_iter().zip(signs) {
        let s = sqlx::query!(
            "SELECT name, slug, status FROM subsystems WHERE id = ?1",
            subsystem
        )
        .fetch_one(db)
        .await?;
        let people = sqlx::query!(
            "SELECT role, name, email FROM subsystem_people WHERE subsystem_id = ?1 ORDER BY rowid",
            subsystem
        )
        .fetch_all(db)
        .await?;
        let person = |role: &str| -> Vec<String> {
            people
                .iter()
                .filter(|p| p.role == role)
                .map(|p| {
                    if p.name.is_empty() {
                        p.email.clone()
                    } else {
                        format!("{} <{}>", p.name, p.email)
                    }
                })
                .collect()
        };
        let lists = sqlx::query_scalar!(
            "SELECT list FROM subsystem_lists WHERE subsystem_id = ?1 ORDER BY rowid",
            subsystem
        )
        .fetch_all(db)
        .await?;
        sections.push(SiteSection {
            subsystem,
            name: s.name,
            slug: s.slug,
            status: s.status,
            rank,
            depth,
            tied: depth.is_some() && depths.iter().filter(|d| **d == depth).count() > 1,
            signs,
            matched: matched.lines().map(str::to_owned).collect(),
            maintainers: person("maintainer"),
            reviewers: person("reviewer"),
            lists,
        });
    }
    let excluded = sqlx::query_as!(
        ExcludedSection,
        "SELECT file, section, matched, excluded_by FROM scan_exclusions
         WHERE campaign_id = ?1 AND file = ?2 ORDER BY section",
        head.campaign,
        head.file
    )
    .fetch_all(db)
    .await?;
    Ok(SiteRouting {
        scope: head.scope,
        sections,
        excluded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignoffScope::*;

    #[test]
    fn the_primary_and_equally_deep_sections_sign() {
        // VIRTIO BLOCK AND SCSI DRIVERS (3), VIRTIO HOST (VHOST) (2), THE REST (-1).
        assert_eq!(
            signing(Specific, &[Some(3), Some(2), Some(-1)]),
            [true, false, false]
        );
        // CEPH COMMON CODE (2), NETWORKING [GENERAL] (1), THE REST (-1).
        assert_eq!(
            signing(Specific, &[Some(2), Some(1), Some(-1)]),
            [true, false, false]
        );
        // A tie at the top: both sign.
        assert_eq!(
            signing(Specific, &[Some(2), Some(2), Some(1)]),
            [true, true, false]
        );
        // A file only THE REST covers: Linus signs.
        assert_eq!(signing(Specific, &[Some(-1)]), [true]);
        assert_eq!(signing(Specific, &[]), Vec::<bool>::new());
    }

    #[test]
    fn unknown_depths_tie_with_nothing() {
        // Rows stored before depths were: only the primary.
        assert_eq!(signing(Specific, &[None, None]), [true, false]);
        // K: matches come last with no depth.
        assert_eq!(
            signing(Specific, &[Some(2), None, None]),
            [true, false, false]
        );
    }

    #[test]
    fn any_section_lets_every_section_sign() {
        assert_eq!(
            signing(AnySection, &[Some(2), Some(1), None, Some(-1)]),
            [true; 4]
        );
    }
}
