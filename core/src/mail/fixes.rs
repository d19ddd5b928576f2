//! The patches proposed as a site's fix, as people follow them: one entry per patch with all
//! its versions (the newest is the proposal, older ones are superseded) and whether a
//! maintainer of the site's subsystems applied it ("Applied to 7.1/scsi-queue, thanks!").
//!
//! Worked out when read, from what imports stored (refs, `revision_key`, `change_id`,
//! `applied`): a later import of a newer version, of the note, or of MAINTAINERS shows at
//! once, whatever order the mail came in.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::SqlitePool;

use super::revision::{self, AppliedNote, PatchMail};
use crate::model::SiteId;
use crate::Result;

/// One version of a patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchVersion {
    pub message_id: String,
    pub subject: String,
    /// 1 for `[PATCH]`, 21 for `[PATCH v21 09/30]`.
    pub version: u32,
    pub date: Option<String>,
}

/// A maintainer's note that the patch was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The tree or branch the note names.
    pub tree: Option<String>,
    /// "Name <email>" of the maintainer.
    pub by: String,
    pub date: Option<String>,
    /// The note's Message-ID.
    pub message_id: String,
    /// The version it was applied as.
    pub patch: String,
}

/// A patch proposed as the site's fix, with its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposedFix {
    /// The newest version: the proposal.
    pub current: PatchVersion,
    /// Older versions found, oldest first: superseded by `current`.
    pub superseded: Vec<PatchVersion>,
    pub author: String,
    /// Applied by a maintainer of one of the site's subsystems, when one said so.
    pub applied: Option<Applied>,
}

/// A stored patch message.
#[derive(Debug, Clone)]
struct Patch {
    message_id: String,
    subject: String,
    from_name: String,
    from_email: String,
    date: Option<String>,
    in_reply_to: Option<String>,
    patch_prefix: Option<String>,
    thread_root: String,
    revision_key: Option<String>,
}

impl Patch {
    fn version(&self) -> PatchVersion {
        PatchVersion {
            message_id: self.message_id.clone(),
            subject: self.subject.clone(),
            version: revision::version(self.patch_prefix.as_deref()),
            date: self.date.clone(),
        }
    }

    fn mail(&self) -> PatchMail<'_> {
        PatchMail {
            message_id: &self.message_id,
            in_reply_to: self.in_reply_to.as_deref(),
            subject: &self.subject,
            prefix: self.patch_prefix.as_deref(),
        }
    }
}

/// The fixes proposed for `site` by stored patches (its `message` references), grouped by
/// patch, newest proposal first.
pub async fn proposed_fixes(db: &SqlitePool, site: SiteId) -> Result<Vec<ProposedFix>> {
    let proposed = sqlx::query_as!(
        Patch,
        r#"SELECT m.message_id, m.subject, m.from_name, m.from_email, m.date, m.in_reply_to,
                  m.patch_prefix, m.thread_root, m.revision_key
           FROM refs r JOIN messages m ON m.message_id = r.target
           WHERE r.site_id = ?1 AND r.kind = 'message' ORDER BY r.id"#,
        site
    )
    .fetch_all(db)
    .await?;
    let mut groups: Vec<Vec<Patch>> = Vec::new();
    for p in proposed {
        if groups
            .iter()
            .any(|g| g.iter().any(|q| q.message_id == p.message_id))
        {
            continue;
        }
        groups.push(versions_of(db, p).await?);
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut g in groups {
        sort_versions(&mut g);
        let applied = applied_note(db, site, &g).await?;
        let current = g.pop().expect("a group holds the patch it was made for");
        out.push(ProposedFix {
            author: if current.from_name.is_empty() {
                current.from_email.clone()
            } else {
                format!("{} <{}>", current.from_name, current.from_email)
            },
            current: current.version(),
            superseded: g.iter().map(Patch::version).collect(),
            applied,
        });
    }
    out.sort_by(|a, b| b.current.date.cmp(&a.current.date));
    Ok(out)
}

/// Every stored version of the patch `message_id` (itself included), oldest first; none when
/// the message is no patch mail.
pub async fn versions(db: &SqlitePool, message_id: &str) -> Result<Vec<PatchVersion>> {
    let p = sqlx::query_as!(
        Patch,
        r#"SELECT message_id, subject, from_name, from_email, date, in_reply_to, patch_prefix,
                  thread_root, revision_key
           FROM messages WHERE message_id = ?1 AND revision_key IS NOT NULL"#,
        message_id
    )
    .fetch_optional(db)
    .await?;
    let Some(p) = p else {
        return Ok(Vec::new());
    };
    let mut all = versions_of(db, p).await?;
    sort_versions(&mut all);
    Ok(all.iter().map(Patch::version).collect())
}

/// Oldest version first: by date, then by the version the prefix names. Not by "vN" first:
/// on the whole target-devel archive 28 of 391 patches sent several times restart their
/// numbering (a v3 re-sent as "[PATCH 04/18]" after a rebase), and the newest is what counts.
fn sort_versions(v: &mut [Patch]) {
    v.sort_by(|a, b| {
        let va = revision::version(a.patch_prefix.as_deref());
        let vb = revision::version(b.patch_prefix.as_deref());
        (&a.date, va).cmp(&(&b.date, vb))
    });
}

/// Every stored version of `p`: same sender and title (`revision_key`), or the same title in
/// a series whose cover letter has the same b4 change-id.
async fn versions_of(db: &SqlitePool, p: Patch) -> Result<Vec<Patch>> {
    let mut found: HashMap<String, Patch> = HashMap::new();
    if let Some(key) = &p.revision_key {
        for q in sqlx::query_as!(
            Patch,
            r#"SELECT message_id, subject, from_name, from_email, date, in_reply_to, patch_prefix,
                      thread_root, revision_key
               FROM messages WHERE revision_key = ?1"#,
            key
        )
        .fetch_all(db)
        .await?
        {
            found.insert(q.message_id.clone(), q);
        }
    }
    // The series' change-id: the patch's own, or its cover letter's.
    let change_id = sqlx::query_scalar!(
        r#"SELECT change_id AS "change_id!: String" FROM messages
           WHERE message_id IN (?1, ?2) AND change_id IS NOT NULL LIMIT 1"#,
        p.message_id,
        p.in_reply_to
    )
    .fetch_optional(db)
    .await?;
    if let Some(change_id) = change_id {
        let title = p
            .revision_key
            .as_deref()
            .and_then(|k| k.split_once('\n'))
            .map(|(_, t)| t.to_owned());
        for q in sqlx::query_as!(
            Patch,
            r#"SELECT m.message_id, m.subject, m.from_name, m.from_email, m.date, m.in_reply_to,
                      m.patch_prefix, m.thread_root, m.revision_key
               FROM messages c JOIN messages m ON m.thread_root = c.thread_root
               WHERE c.change_id = ?1 AND m.revision_key IS NOT NULL
                 AND (m.in_reply_to = c.message_id OR m.message_id = c.message_id)"#,
            change_id
        )
        .fetch_all(db)
        .await?
        {
            let same_title = q
                .revision_key
                .as_deref()
                .and_then(|k| k.split_once('\n'))
                .map(|(_, t)| t)
                == title.as_deref();
            if same_title {
                found.insert(q.message_id.clone(), q);
            }
        }
    }
    found.insert(p.message_id.clone(), p);
    Ok(found.into_values().collect())
}

/// The newest "Applied" note a maintainer of `site`'s signing subsystems
/// (`routing::signs_for`) sent about a version of the patch: a reply to that version, or to
/// its cover letter naming it (or the whole series).
async fn applied_note(
    db: &SqlitePool,
    site: SiteId,
    versions: &[Patch],
) -> Result<Option<Applied>> {
    let mut best: Option<Applied> = None;
    for p in versions {
        let notes = sqlx::query!(
            r#"SELECT n.message_id, n.in_reply_to AS "in_reply_to!: String", n.from_name, n.from_email,
                      n.date, n.applied AS "applied!: String"
               FROM messages n
               WHERE n.thread_root = ?1 AND n.applied IS NOT NULL AND n.in_reply_to IN (?2, ?3)
                 AND EXISTS (SELECT 1 FROM subsystem_people sp JOIN sites s ON s.id = ?4
                             WHERE sp.email = n.from_email AND sp.role = 'maintainer'
                               AND (sp.subsystem_id = s.subsystem_id OR sp.subsystem_id IN
                                    (SELECT subsystem_id FROM site_subsystems WHERE site_id = ?4)))
               ORDER BY n.date"#,
            p.thread_root,
            p.message_id,
            p.in_reply_to,
            site
        )
        .fetch_all(db)
        .await?;
        for n in notes {
            let Ok(note) = serde_json::from_str::<AppliedNote>(&n.applied) else {
                continue;
            };
            // Only a maintainer of a section whose sign-off the campaign takes applies a
            // fix for it (not one of a wider section the file is also in).
            if !crate::routing::signs_for(db, site, &n.from_email).await? {
                continue;
            }
            if !note.covers(&p.mail(), &n.in_reply_to) {
                continue;
            }
            if best.as_ref().is_some_and(|b| b.date >= n.date) {
                continue;
            }
            best = Some(Applied {
                tree: note.tree,
                by: if n.from_name.is_empty() {
                    n.from_email.clone()
                } else {
                    format!("{} <{}>", n.from_name, n.from_email)
                },
                date: n.date,
                message_id: n.message_id,
                patch: p.message_id.clone(),
            });
        }
    }
    Ok(best)
}
