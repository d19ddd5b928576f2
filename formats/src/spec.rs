//! Campaign specs (TOML, docs/campaign-spec.md): what a tree scan looks for and how it
//! classifies what it finds, so treewide serves any treewide conversion.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use treewide_core::model::{is_c_identifier, IterKind, Slug, Status};

/// The built-in specs, by slug.
pub const BUILTIN: [(&str, &str); 2] = [
    (
        "iov-iter-direction",
        include_str!("../../data/specs/iov-iter-direction.toml"),
    ),
    (
        "iov-iter-pin",
        include_str!("../../data/specs/iov-iter-pin.toml"),
    ),
];

/// A campaign spec as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub campaign: CampaignPart,
    pub calls: Vec<CallGroup>,
    #[serde(default)]
    pub direction: Option<DirectionRules>,
    /// What a fixed call looks like besides a current direction (docs/campaign-spec.md).
    #[serde(default)]
    pub fixed: Option<FixedForm>,
    /// The TOML text it was parsed from (stored with the campaign, so importers know its
    /// fixed form later).
    #[serde(skip)]
    pub text: String,
}

/// The fixed form of a campaign's calls, for the importers that decide whether a patch or a
/// commit fixes a call: a current direction (see [`DirectionRules`]) or a replacement callee.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedForm {
    /// Calls that replace the campaign's calls (`iov_iter_extract_pages`, `strscpy`): a patch
    /// that removes a site's call and adds one of these in its place fixes the site.
    #[serde(default)]
    pub replacements: Vec<String>,
}

/// The campaign the scan fills.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPart {
    pub slug: Slug,
    pub title: Option<String>,
    pub description: Option<String>,
    pub rule: Option<String>,
    /// When the campaign started (`YYYY-MM-DD`): patches and commits older than this are
    /// about something else and change no status.
    pub start: Option<String>,
}

/// Calls to look for, and what to make of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallGroup {
    /// Function names; a trailing `*` matches any suffix (`iov_iter_get_pages*`).
    pub callees: Vec<String>,
    /// 1-based position of the direction argument, if the calls take one.
    pub direction_arg: Option<usize>,
    /// The iterator kind, when the callee does not say it (default: from the callee's name).
    pub iter_kind: Option<IterKind>,
    /// The status every call of this group gets (e.g. `needs_fix` for a banned function).
    pub status: Option<Status>,
    pub reason: Option<String>,
}

/// How direction arguments are classified.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionRules {
    /// Legacy spelling → replacement: such a call needs fixing.
    #[serde(default)]
    pub legacy: BTreeMap<String, String>,
    /// Current spellings: such a call is fixed.
    #[serde(default)]
    pub current: Vec<String>,
}

/// What a spec says of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub status: Option<Status>,
    pub reason: String,
}

impl Spec {
    /// Parse and check a spec; `name` is used in errors.
    pub fn parse(name: &str, text: &str) -> anyhow::Result<Spec> {
        let mut spec: Spec =
            toml::from_str(text).with_context(|| format!("{name}: not a valid campaign spec"))?;
        spec.text = text.to_owned();
        if spec.calls.is_empty() {
            anyhow::bail!("{name}: calls: at least one [[calls]] group is needed");
        }
        for (i, g) in spec.calls.iter().enumerate() {
            if g.callees.is_empty() {
                anyhow::bail!("{name}: calls[{i}].callees: at least one callee is needed");
            }
            for c in &g.callees {
                if !is_c_identifier(c.strip_suffix('*').unwrap_or(c)) {
                    anyhow::bail!(
                        "{name}: calls[{i}].callees: {c:?} is not a C identifier (with an optional trailing *)"
                    );
                }
            }
            if g.direction_arg == Some(0) {
                anyhow::bail!("{name}: calls[{i}].direction_arg: positions start at 1");
            }
        }
        if let Some(start) = &spec.campaign.start {
            let ok = start.len() == 10
                && treewide_core::model::parse_time(&format!("{start}T00:00:00Z")).is_ok();
            if !ok {
                anyhow::bail!(
                    "{name}: campaign.start: expected a date YYYY-MM-DD, found {start:?}"
                );
            }
        }
        if let Some(f) = &spec.fixed {
            if let Some(bad) = f.replacements.iter().find(|c| !is_c_identifier(c)) {
                anyhow::bail!("{name}: fixed.replacements: {bad:?} is not a C function name");
            }
        }
        Ok(spec)
    }

    /// A built-in spec by slug, or a spec file.
    pub fn load(name_or_path: &str) -> anyhow::Result<Spec> {
        if let Some((_, text)) = BUILTIN.iter().find(|(slug, _)| *slug == name_or_path) {
            return Spec::parse(name_or_path, text);
        }
        let path = Path::new(name_or_path);
        if !path.exists() {
            let names: Vec<_> = BUILTIN.iter().map(|(s, _)| *s).collect();
            anyhow::bail!(
                "no campaign spec {name_or_path:?}: expected a spec file or one of {}",
                names.join(", ")
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Spec::parse(&path.display().to_string(), &text)
    }

    /// The spec for a campaign's history: `--spec` if given, else the spec stored with the
    /// campaign (`stored`, TOML), else the campaign's built-in spec, else one that finds the
    /// stored sites' callees (without classifying them, so history shows moves and removals
    /// but cannot tell a fix).
    pub fn for_campaign(
        slug: &str,
        spec: Option<&str>,
        stored: Option<&str>,
        callees: &[String],
    ) -> anyhow::Result<Spec> {
        if let Some(s) = spec {
            return Spec::load(s);
        }
        if let Some(text) = stored {
            return Spec::parse(&format!("campaign {slug}"), text);
        }
        if BUILTIN.iter().any(|(b, _)| *b == slug) {
            return Spec::load(slug);
        }
        let mut callees: Vec<String> = callees
            .iter()
            .filter(|c| is_c_identifier(c))
            .cloned()
            .collect();
        callees.sort();
        callees.dedup();
        if callees.is_empty() {
            anyhow::bail!("campaign {slug} has no sites and no built-in spec: give --spec FILE");
        }
        Ok(Spec {
            campaign: CampaignPart {
                slug: Slug::parse(slug)?,
                title: None,
                description: None,
                rule: None,
                start: None,
            },
            calls: vec![CallGroup {
                callees,
                direction_arg: None,
                iter_kind: None,
                status: None,
                reason: None,
            }],
            direction: None,
            fixed: None,
            text: String::new(),
        })
    }

    /// The literal prefixes a file must contain to hold a call (for the byte prefilter).
    pub fn literals(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .calls
            .iter()
            .flat_map(|g| g.callees.iter().map(|c| c.trim_end_matches('*').to_owned()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The group a callee belongs to (first match).
    pub fn group_of(&self, callee: &str) -> Option<&CallGroup> {
        self.calls.iter().find(|g| {
            g.callees.iter().any(|c| match c.strip_suffix('*') {
                Some(prefix) => callee.starts_with(prefix),
                None => c == callee,
            })
        })
    }

    /// Whether a call of `callee` with these arguments is in the campaign's fixed form: a
    /// replacement callee, or a direction argument the spec calls current.
    pub fn is_fixed_form(&self, callee: &str, args: &[String]) -> bool {
        if self
            .fixed
            .as_ref()
            .is_some_and(|f| f.replacements.iter().any(|r| r == callee))
        {
            return true;
        }
        let Some(group) = self.group_of(callee) else {
            return false;
        };
        let direction = group.direction_arg.and_then(|i| args.get(i - 1));
        self.classify(group, direction.map(String::as_str)).status == Some(Status::Fixed)
    }

    /// Whether the spec says what fixed looks like at all (a campaign without it gets no
    /// automatic fix from patches or commits, only links).
    pub fn knows_fixed_form(&self) -> bool {
        self.fixed
            .as_ref()
            .is_some_and(|f| !f.replacements.is_empty())
            || self
                .direction
                .as_ref()
                .is_some_and(|d| !d.current.is_empty())
    }

    /// Classify a call of `group` whose direction argument (if any) is `direction`.
    pub fn classify(&self, group: &CallGroup, direction: Option<&str>) -> Classification {
        if let Some(status) = group.status {
            return Classification {
                status: Some(status),
                reason: group.reason.clone().unwrap_or_default(),
            };
        }
        if let (Some(rules), Some(_), Some(d)) = (&self.direction, group.direction_arg, direction) {
            if let Some(new) = rules.legacy.get(d) {
                return Classification {
                    status: Some(Status::NeedsFix),
                    reason: format!("legacy direction {d}: use {new}"),
                };
            }
            if rules.current.iter().any(|c| c == d) {
                return Classification {
                    status: Some(Status::Fixed),
                    reason: format!("direction {d}"),
                };
            }
            return Classification {
                status: None,
                reason: format!("direction is an expression: {d}"),
            };
        }
        Classification {
            status: None,
            reason: group.reason.clone().unwrap_or_default(),
        }
    }

    /// The iterator kind of a call.
    pub fn iter_kind(&self, group: &CallGroup, callee: &str) -> IterKind {
        group
            .iter_kind
            .unwrap_or_else(|| IterKind::from_callee(callee))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_specs_parse() {
        for (slug, text) in BUILTIN {
            let s = Spec::parse(slug, text).unwrap();
            assert_eq!(s.campaign.slug.as_str(), slug);
        }
        let ex = Spec::parse("strlcpy", include_str!("../../docs/specs/strlcpy.toml")).unwrap();
        assert_eq!(ex.literals(), vec!["strlcpy"]);
    }

    #[test]
    fn direction_classification() {
        let s = Spec::load("iov-iter-direction").unwrap();
        let g = s.group_of("iov_iter_bvec").unwrap();
        assert_eq!(s.classify(g, Some("READ")).status, Some(Status::NeedsFix));
        assert_eq!(
            s.classify(g, Some("READ")).reason,
            "legacy direction READ: use ITER_DEST"
        );
        assert_eq!(
            s.classify(g, Some("ITER_SOURCE")).status,
            Some(Status::Fixed)
        );
        let e = s.classify(g, Some("is_write"));
        assert_eq!(
            (e.status, e.reason.as_str()),
            (None, "direction is an expression: is_write")
        );
        assert_eq!(s.group_of("import_iovec").unwrap().direction_arg, Some(1));
        assert!(s.group_of("iov_iter_advance").is_none());
    }

    #[test]
    fn globbed_callees_and_bad_specs() {
        let s = Spec::load("iov-iter-pin").unwrap();
        assert!(s.group_of("iov_iter_get_pages_alloc2").is_some());
        assert!(s.group_of("iov_iter_extract_pages").is_some());
        assert!(s.group_of("iov_iter_extract_will_pin").is_none());
        assert!(Spec::parse("x", "[campaign]\nslug = \"x\"\ncalls = []").is_err());
        let e = Spec::parse(
            "x",
            "[campaign]\nslug = \"x\"\n[[calls]]\ncallees = [\"a b\"]",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("not a C identifier"), "{e:#}");
        let e = Spec::parse(
            "x",
            "[campaign]\nslug = \"x\"\ncolour = 1\n[[calls]]\ncallees = [\"f\"]",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
        assert!(Spec::load("no-such-spec").is_err());
    }
}
