//! Writing a campaign out: `treewide-audit/1` JSON (re-importable) and CSV.

use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroU32;

use treewide_core::model::{DecidedBy, Person, SiteId, SourcePath};
use treewide_core::{campaigns, notes, refs, sites, subsystems, verdicts, SqlitePool};

use crate::auditor::{
    CampaignDoc, CampaignNoteDoc, Date, Document, FormatTag, NonEmpty, PersonDoc, RefDoc, SiteDoc,
    SiteNoteDoc, SubsystemDoc, TreeDoc, ValidMatch, VerdictDoc,
};

/// Build the document for a campaign: importing it into an empty database gives the same
/// campaign back (statuses decided by verdict groups stay decided by them).
pub async fn document(db: &SqlitePool, slug: &str) -> anyhow::Result<Document> {
    let c = campaigns::get(db, slug).await?;
    let vs = verdicts::list_in(db, c.id).await?;
    let mut site_notes: HashMap<SiteId, Vec<notes::Note>> = HashMap::new();
    for n in notes::all_site_notes(db, c.id).await? {
        if let Some(s) = n.site_id {
            site_notes.entry(s).or_default().push(n);
        }
    }
    let mut site_refs: HashMap<SiteId, Vec<refs::Reference>> = HashMap::new();
    for (s, r) in refs::all_site_refs(db, c.id).await? {
        site_refs.entry(s).or_default().push(r);
    }
    let mut out_sites = Vec::new();
    let mut after = SiteId(0);
    let q = sites::SiteQuery {
        campaign: Some(c.id),
        ..Default::default()
    };
    loop {
        let page = sites::list(db, &q, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in page {
            let own = s.decided_by == DecidedBy::Site;
            out_sites.push(SiteDoc {
                file: SourcePath::parse(&s.file)?,
                line: NonZeroU32::new(s.line as u32).unwrap_or(NonZeroU32::MIN),
                callee: json_value(s.callee.into())?,
                column: s.column.and_then(|c| NonZeroU32::new(c as u32)),
                function: s.function.map(|f| json_value(f.into())).transpose()?,
                code: (!s.code.is_empty()).then_some(s.code),
                iter_kind: Some(s.iter_kind),
                direction: s.direction,
                status: own.then_some(s.status),
                // A verdict's reason belongs to its group; any other reason is the site's own.
                reason: (s.decided_by != DecidedBy::Verdict && !s.reason.is_empty())
                    .then_some(s.reason),
                subsystem: s.subsystem.map(|n| json_value(n.into())).transpose()?,
                notes: site_notes
                    .remove(&s.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| -> anyhow::Result<SiteNoteDoc> {
                        Ok(SiteNoteDoc {
                            author: json_value(n.author.into())?,
                            text: json_value(n.body.into())?,
                            date: Some(json_value(n.created_at.into())?),
                            ask: n.ask.map(|a| json_value(a.into())).transpose()?,
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                refs: site_refs
                    .remove(&s.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(ref_doc)
                    .collect::<anyhow::Result<_>>()?,
            });
        }
    }
    // Sort like a tree listing so exports diff well.
    out_sites.sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    let subsystems = subsystems::used_by(db, c.id)
        .await?
        .into_iter()
        .map(|s| -> anyhow::Result<SubsystemDoc> {
            let people = |v: Vec<String>| -> anyhow::Result<Vec<PersonDoc>> {
                v.iter()
                    .map(|p| json_value(Person::parse(p)?.to_string().into()))
                    .collect()
            };
            Ok(SubsystemDoc {
                name: json_value(s.name.into())?,
                maintainers: people(s.maintainers)?,
                reviewers: people(s.reviewers)?,
                lists: s.lists,
                status: s.status,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let campaign_notes = notes::for_campaign(db, c.id)
        .await?
        .into_iter()
        .map(|n| -> anyhow::Result<CampaignNoteDoc> {
            Ok(CampaignNoteDoc {
                author: json_value(n.author.into())?,
                text: json_value(n.body.into())?,
                date: Some(json_value::<Date>(n.created_at.into())?),
                ask: n
                    .ask
                    .map(|a| json_value::<NonEmpty>(a.into()))
                    .transpose()?,
                subsystem: n.about.map(|a| json_value(a.into())).transpose()?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Document {
        format: FormatTag,
        campaign: CampaignDoc {
            slug: treewide_core::model::Slug::parse(&c.slug)?,
            title: Some(c.title),
            description: (!c.description.is_empty()).then_some(c.description),
            rule: (!c.rule.is_empty()).then_some(c.rule),
        },
        tree: c
            .tree_describe
            .map(|d| -> anyhow::Result<TreeDoc> {
                Ok(TreeDoc {
                    describe: d,
                    commit: c.tree_commit.map(|x| json_value(x.into())).transpose()?,
                    url: c.tree_url,
                })
            })
            .transpose()?,
        subsystems,
        verdicts: (!vs.is_empty())
            .then(|| {
                vs.into_iter()
                    .map(|v| -> anyhow::Result<VerdictDoc> {
                        Ok(VerdictDoc {
                            label: Some(v.label),
                            matches: json_value::<ValidMatch>(serde_json::to_value(&v.matches)?)?,
                            status: v.status,
                            reason: (!v.reason.is_empty()).then_some(v.reason),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?,
        notes: campaign_notes,
        refs: refs::for_campaign(db, c.id)
            .await?
            .into_iter()
            .map(ref_doc)
            .collect::<anyhow::Result<_>>()?,
        sites: out_sites,
    })
}

/// Build a validated document value from stored data by running it through the same
/// deserializer an import uses: what export writes is guaranteed to import again.
fn json_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> anyhow::Result<T> {
    Ok(serde_json::from_value(v)?)
}

fn ref_doc(r: refs::Reference) -> anyhow::Result<RefDoc> {
    let mut v = serde_json::Map::new();
    let key = match r.kind {
        treewide_core::model::RefKind::Commit => "commit",
        treewide_core::model::RefKind::Message => "message_id",
        treewide_core::model::RefKind::Url => "url",
    };
    v.insert(key.into(), r.target.into());
    if !r.title.is_empty() {
        let k = if key == "url" { "title" } else { "subject" };
        v.insert(k.into(), r.title.into());
    }
    if let Some(a) = r.author {
        v.insert("author".into(), a.into());
    }
    if let Some(d) = r.date {
        v.insert("date".into(), d.into());
    }
    Ok(serde_json::from_value(v.into())?)
}

/// Write the campaign as pretty JSON.
pub async fn write_json(
    db: &SqlitePool,
    slug: &str,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let doc = document(db, slug).await?;
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Write the campaign's sites as CSV (one row per site, decided status included).
pub async fn write_csv(
    db: &SqlitePool,
    q: &sites::SiteQuery,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "campaign",
        "file",
        "line",
        "function",
        "callee",
        "iter_kind",
        "direction",
        "subsystem",
        "status",
        "decided_by",
        "verdict",
        "reason",
        "code",
    ])?;
    let mut after = SiteId(0);
    loop {
        let page = sites::list(db, q, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in page {
            w.write_record([
                s.id.to_string(),
                s.campaign,
                s.file,
                s.line.to_string(),
                s.function.unwrap_or_default(),
                s.callee,
                s.iter_kind.to_string(),
                s.direction.unwrap_or_default(),
                s.subsystem.unwrap_or_default(),
                s.status.to_string(),
                format!("{:?}", s.decided_by).to_lowercase(),
                s.verdict.unwrap_or_default(),
                s.reason,
                s.code,
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}
