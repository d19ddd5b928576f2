//! Verdict groups: which sites a group's `match` selects.

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::model::{direction_matches, IterKind};
use crate::{Error, Result};

/// The facts of a site a verdict can match on.
#[derive(Debug, Clone, Copy)]
pub struct MatchFacts<'a> {
    pub file: &'a str,
    pub function: Option<&'a str>,
    pub callee: &'a str,
    pub iter_kind: IterKind,
    pub direction: Option<&'a str>,
}

/// The `match` of a verdict group as written: every given key must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iter_kind: Option<IterKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl VerdictMatch {
    /// True when no key is given (such a group would match everything by accident).
    pub fn is_empty(&self) -> bool {
        *self == VerdictMatch::default()
    }

    /// A short description for pages: `callee=iov_iter_bvec file=mm/page_io.c`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        };
        push("callee", &self.callee);
        push("iter_kind", &self.iter_kind.map(|k| k.as_str().to_owned()));
        push("direction", &self.direction);
        push("function", &self.function);
        push("file", &self.file);
        parts.join(" ")
    }

    /// Compile the globs.
    pub fn compile(&self) -> Result<VerdictMatcher> {
        let glob = |field: &'static str, g: &Option<String>| -> Result<Option<GlobMatcher>> {
            g.as_deref()
                .map(|p| {
                    Glob::new(p)
                        .map(|g| g.compile_matcher())
                        .map_err(|_| Error::Invalid {
                            what: field,
                            value: p.to_owned(),
                            expected: "a shell glob (*, ?, [abc])",
                        })
                })
                .transpose()
        };
        if self.is_empty() {
            return Err(Error::Invalid {
                what: "verdict match",
                value: "{}".into(),
                expected: "at least one of callee, iter_kind, direction, function, file",
            });
        }
        Ok(VerdictMatcher {
            callee: glob("callee glob", &self.callee)?,
            iter_kind: self.iter_kind,
            direction: self.direction.clone(),
            function: glob("function glob", &self.function)?,
            file: glob("file glob", &self.file)?,
        })
    }
}

/// A compiled [`VerdictMatch`].
#[derive(Debug, Clone)]
pub struct VerdictMatcher {
    callee: Option<GlobMatcher>,
    iter_kind: Option<IterKind>,
    direction: Option<String>,
    function: Option<GlobMatcher>,
    file: Option<GlobMatcher>,
}

impl VerdictMatcher {
    /// Does the site satisfy every key?
    pub fn matches(&self, s: &MatchFacts<'_>) -> bool {
        self.callee.as_ref().is_none_or(|g| g.is_match(s.callee))
            && self.iter_kind.is_none_or(|k| k == s.iter_kind)
            && self
                .direction
                .as_deref()
                .is_none_or(|d| s.direction.is_some_and(|w| direction_matches(d, w)))
            && self
                .function
                .as_ref()
                .is_none_or(|g| s.function.is_some_and(|f| g.is_match(f)))
            && self.file.as_ref().is_none_or(|g| g.is_match(s.file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        file: &'a str,
        function: &'a str,
        callee: &'a str,
        dir: &'a str,
    ) -> MatchFacts<'a> {
        MatchFacts {
            file,
            function: Some(function),
            callee,
            iter_kind: IterKind::from_callee(callee),
            direction: Some(dir),
        }
    }

    #[test]
    fn all_keys_must_hold() {
        let m = VerdictMatch {
            file: Some("drivers/nvme/target/*".into()),
            callee: Some("iov_iter_bvec".into()),
            ..Default::default()
        }
        .compile()
        .unwrap();
        let nvme = facts(
            "drivers/nvme/target/io-cmd-file.c",
            "nvmet_file_submit_bvec",
            "iov_iter_bvec",
            "rw",
        );
        assert!(m.matches(&nvme));
        let other = facts(
            "drivers/nvme/target/io-cmd-file.c",
            "x",
            "iov_iter_kvec",
            "rw",
        );
        assert!(!m.matches(&other));
    }

    #[test]
    fn direction_by_meaning_and_globs_cross_slashes() {
        let m = VerdictMatch {
            direction: Some("ITER_SOURCE".into()),
            file: Some("fs/*.c".into()),
            ..Default::default()
        }
        .compile()
        .unwrap();
        assert!(m.matches(&facts("fs/cifs/file.c", "f", "iov_iter_bvec", "WRITE")));
        assert!(!m.matches(&facts("fs/cifs/file.c", "f", "iov_iter_bvec", "READ")));
    }

    #[test]
    fn function_key_needs_a_function() {
        let m = VerdictMatch {
            function: Some("*read_folio*".into()),
            ..Default::default()
        }
        .compile()
        .unwrap();
        let mut f = facts(
            "fs/9p/vfs_addr.c",
            "v9fs_read_folio",
            "iov_iter_xarray",
            "ITER_DEST",
        );
        assert!(m.matches(&f));
        f.function = None;
        assert!(!m.matches(&f));
    }

    #[test]
    fn empty_match_is_refused() {
        assert!(VerdictMatch::default().compile().is_err());
        assert!(VerdictMatch {
            file: Some("[".into()),
            ..Default::default()
        }
        .compile()
        .is_err());
    }
}
