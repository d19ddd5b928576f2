//! From found calls to what is stored: each call classified by the campaign spec and mapped
//! to its MAINTAINERS subsystems, then gathered into the core batch a scan stores.

use std::collections::HashMap;
use std::path::Path;

use treewide_core::ingest::{
    Batch, CampaignInput, ExcludedSection, Origin, ScanInfo, SectionInput, SiteInput,
    SubsystemInput, TreeInput,
};
use treewide_core::model::{is_c_identifier, SourcePath};
use treewide_formats::spec::Spec;

use super::walk::ScanResult;
use crate::maintainers::{self, Maintainers};

/// The core batch a scan stores: the campaign (from the spec), the subsystems its sites
/// name (from MAINTAINERS), the classified sites, the sections `X:` lines took off their
/// files, and what the scan could not parse.
pub fn to_batch(
    result: &ScanResult,
    spec: &Spec,
    describe: Option<&str>,
    sites: Vec<(SiteInput, Vec<String>)>,
    maintainers: Option<&Maintainers>,
    exclusions: Vec<ExcludedSection>,
    origin: Origin,
) -> Batch {
    let used = used_subsystems(&sites);
    let subsystems = maintainers
        .map(|m| {
            m.to_specs()
                .into_iter()
                .filter(|s| used.binary_search(&s.name.as_str()).is_ok())
                .collect()
        })
        .unwrap_or_default();
    batch_of(
        result, spec, describe, sites, subsystems, exclusions, origin,
    )
}

/// The names of the subsystems `sites` name, sorted, once each.
pub(super) fn used_subsystems(sites: &[(SiteInput, Vec<String>)]) -> Vec<&str> {
    let mut used: Vec<&str> = sites
        .iter()
        .flat_map(|(_, subs)| subs.iter().map(String::as_str))
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// [`to_batch`] with the subsystems' specs already picked.
pub(super) fn batch_of(
    result: &ScanResult,
    spec: &Spec,
    describe: Option<&str>,
    sites: Vec<(SiteInput, Vec<String>)>,
    subsystems: Vec<SubsystemInput>,
    exclusions: Vec<ExcludedSection>,
    origin: Origin,
) -> Batch {
    Batch {
        origin,
        campaign: CampaignInput {
            slug: spec.campaign.slug.clone(),
            title: spec.campaign.title.clone(),
            description: spec.campaign.description.clone(),
            rule: spec.campaign.rule.clone(),
            spec_toml: (!spec.text.is_empty()).then(|| spec.text.clone()),
            start: spec.campaign.start.clone(),
            tree: describe.map(|d| TreeInput {
                describe: d.to_owned(),
                commit: None,
                url: None,
            }),
        },
        subsystems,
        verdicts: None,
        notes: Vec::new(),
        refs: Vec::new(),
        sites: sites.into_iter().map(|(s, _)| s).collect(),
        scan: Some(ScanInfo {
            scope: Vec::new(),
            problems: result
                .problems
                .iter()
                .map(|p| (p.file.clone(), p.reason.clone(), p.text_sites))
                .collect(),
            files: result.files_total,
            exclusions,
        }),
    }
}

/// Turn a scan into the sites of a core batch, each with all its subsystems (and their names).
/// `subsystems_of(file)` gives the file's subsystems, primary first.
pub fn to_site_specs(
    result: &ScanResult,
    spec: &Spec,
    subsystems_of: &(dyn Fn(&str) -> Vec<SectionInput> + Sync),
) -> Vec<(SiteInput, Vec<String>)> {
    let mut cache: HashMap<&str, Vec<SectionInput>> = HashMap::new();
    let mut out = Vec::with_capacity(result.sites.len());
    for s in &result.sites {
        let Some(group) = spec.group_of(&s.callee) else {
            continue;
        };
        let Ok(file) = SourcePath::parse(&s.file) else {
            continue;
        };
        let direction = group.direction_arg.and_then(|i| s.args.get(i - 1)).cloned();
        let class = spec.classify(group, direction.as_deref());
        let subs = cache
            .entry(s.file.as_str())
            .or_insert_with(|| subsystems_of(&s.file))
            .clone();
        out.push((
            SiteInput {
                file,
                line: s.line,
                column: Some(s.column),
                function: s.function.clone().filter(|f| is_c_identifier(f)),
                callee: s.callee.clone(),
                code: s.code.clone(),
                iter_kind: spec.iter_kind(group, &s.callee),
                direction,
                status: class.status,
                reason: (!class.reason.is_empty()).then_some(class.reason),
                status_date: None,
                subsystem: subs.first().map(|s| s.name.clone()),
                notes: Vec::new(),
                refs: Vec::new(),
                context: Some((s.context.clone(), s.context_start)),
                all_subsystems: subs.clone(),
            },
            subs.into_iter().map(|s| s.name).collect(),
        ));
    }
    out
}

/// The tree's MAINTAINERS, if it has one.
pub fn load_maintainers(tree: &Path) -> anyhow::Result<Option<Maintainers>> {
    if tree.join("MAINTAINERS").is_file() {
        Ok(Some(maintainers::from_tree(tree)?))
    } else {
        Ok(None)
    }
}

/// A file's subsystems as get_maintainer.pl orders them (K: keywords look at its content).
pub fn subsystem_names(m: &Maintainers, tree: &Path, file: &str) -> Vec<String> {
    file_routing(m, tree, file)
        .0
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// How MAINTAINERS routes `file` of the tree: its sections in get_maintainer.pl's order, each
/// with its match depth and the lines that matched (`K:` keywords look at the file's content),
/// and the sections an `X:` line took off it.
pub fn file_routing(
    m: &Maintainers,
    tree: &Path,
    file: &str,
) -> (Vec<SectionInput>, Vec<ExcludedSection>) {
    file_routing_keywords(m, tree, file).0
}

/// [`file_routing`], and the `K:` patterns the file's content matched
/// ([`Maintainers::keyword_matches`]).
pub(super) fn file_routing_keywords(
    m: &Maintainers,
    tree: &Path,
    file: &str,
) -> ((Vec<SectionInput>, Vec<ExcludedSection>), Vec<usize>) {
    let content = std::fs::read(tree.join(file)).ok();
    let content = content.as_deref().map(String::from_utf8_lossy);
    let keywords = m.keyword_matches(file, content.as_deref());
    let lines = |ls: &[maintainers::MatchedLine]| -> String {
        ls.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut sections = Vec::new();
    let mut excluded = Vec::new();
    for s in m.explain(file, content.as_deref()) {
        let name = m.entries[s.entry].name.clone();
        if s.rank.is_some() {
            sections.push(SectionInput {
                name,
                depth: s.depth,
                matched: lines(&s.matched),
            });
        } else {
            excluded.push(ExcludedSection {
                file: file.to_owned(),
                section: name,
                matched: lines(&s.matched),
                excluded_by: lines(&s.excluded_by),
            });
        }
    }
    ((sections, excluded), keywords)
}

/// The text of `file` as routing reads it (`K:` patterns), `None` when it cannot be read.
pub(super) fn routing_text(tree: &Path, file: &str) -> Option<String> {
    let bytes = std::fs::read(tree.join(file)).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
