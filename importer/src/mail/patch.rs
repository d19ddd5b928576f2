//! Whether a patch fixes a call site, decided by meaning: the hunk must change *that* call
//! (found by its normalised text and its function, not by line numbers, since a patch is made
//! against another tree) and its new side must hold the call in the campaign's fixed form
//! (`formats::spec::Spec::is_fixed_form`). Pure; the mail linker asks it for every patch link.

use regex::Regex;
use treewide_core::identity::normalise_code;
use treewide_core::mail::LinkCandidate;
use treewide_formats::calls::{collapse, text_call};
use treewide_formats::spec::Spec;

use super::link::Hunk;

/// A campaign's idea of fixed, as patches are judged by it.
#[derive(Debug)]
pub struct FixRule {
    spec: Spec,
    /// `YYYY-MM-DD`: older patches fix nothing.
    start: Option<String>,
    /// `callee (` for the spec's callees and their replacements.
    calls: Regex,
}

impl FixRule {
    /// The rule of `spec`; `None` when the spec does not say what fixed looks like (then no
    /// patch moves a status by itself: precision before recall).
    pub fn new(spec: Spec) -> anyhow::Result<Option<FixRule>> {
        if !spec.knows_fixed_form() {
            return Ok(None);
        }
        let names: Vec<String> = spec
            .calls
            .iter()
            .flat_map(|g| g.callees.iter())
            .chain(spec.fixed.iter().flat_map(|f| f.replacements.iter()))
            .map(|c| match c.strip_suffix('*') {
                Some(p) => format!("{}\\w*", regex::escape(p)),
                None => regex::escape(c),
            })
            .collect();
        let calls = Regex::new(&format!(r"\b({})\s*\(", names.join("|")))?;
        Ok(Some(FixRule {
            start: spec.campaign.start.clone(),
            spec,
            calls,
        }))
    }

    /// The calls in one side of a hunk.
    fn calls_in(&self, text: &str) -> Vec<HunkCall> {
        let src = text.as_bytes();
        self.calls
            .captures_iter(text)
            .filter_map(|c| {
                let name = c.get(1)?;
                let (end, args) = text_call(src, name.end());
                let code = collapse(&src[name.start()..end]);
                Some(HunkCall {
                    callee: name.as_str().to_owned(),
                    norm: normalised(&code),
                    code,
                    args,
                })
            })
            .collect()
    }

    /// Why `hunk` of a patch dated `date` fixes `site`, or `None` when it does not (it may
    /// still touch it).
    pub fn fixes(&self, site: &LinkCandidate, hunk: &Hunk, date: Option<&str>) -> Option<String> {
        // A patch without a date, or from before the campaign, is about something else.
        if let Some(start) = &self.start {
            let day = date?.get(..10)?;
            if day < start.as_str() {
                return None;
            }
        }
        if !in_function(site, hunk) {
            return None;
        }
        let want = normalised(&site.code);
        let old = self.calls_in(&hunk.old_text);
        let new = self.calls_in(&hunk.new_text);
        // The site's call on the old side, changed by the hunk (not kept as it was).
        let removed: Vec<&HunkCall> = old
            .iter()
            .filter(|c| c.callee == site.callee && same_call(&c.norm, &want))
            .filter(|c| !new.iter().any(|n| n.code == c.code))
            .collect();
        let [was] = removed[..] else {
            // None, or several identical calls the hunk cannot tell apart: not by itself.
            return None;
        };
        if self.spec.is_fixed_form(&was.callee, &was.args) {
            return None;
        }
        // What stands in its place: new calls the old side did not have.
        let added: Vec<&HunkCall> = new
            .iter()
            .filter(|n| !old.iter().any(|o| o.code == n.code))
            .collect();
        // The same call with a fixed direction (its normalised text reads READ as ITER_DEST),
        // else the one changed call of the same callee.
        let same: Vec<&&HunkCall> = added.iter().filter(|n| n.callee == was.callee).collect();
        let paired = same
            .iter()
            .find(|n| n.norm == was.norm)
            .or(if same.len() == 1 { same.first() } else { None });
        if let Some(n) = paired {
            if self.spec.is_fixed_form(&n.callee, &n.args) {
                return Some(format!("turns {} into {}", was.code, n.code));
            }
            return None;
        }
        let replacement = added
            .iter()
            .find(|n| n.callee != was.callee && self.spec.is_fixed_form(&n.callee, &n.args))?;
        Some(format!(
            "replaces {}() with {}()",
            was.callee, replacement.callee
        ))
    }
}

/// A call found in a hunk.
#[derive(Debug)]
struct HunkCall {
    callee: String,
    args: Vec<String>,
    /// As written, whitespace collapsed.
    code: String,
    norm: String,
}

/// Whether a call found in a hunk is the site's: the site's code may be the whole statement
/// (`bytes = f(…);`, as auditors write it) where the hunk gives the call.
fn same_call(call: &str, site: &str) -> bool {
    call == site || (site.contains(call) && call.ends_with(')'))
}

/// A call's normalised text without the statement's `;` (sites keep it, hunk calls do not).
fn normalised(code: &str) -> String {
    normalise_code(code.trim_end_matches(';').trim_end())
}

/// Whether the hunk is in the site's function: its heading names it, or the function's
/// definition starts inside the hunk. A site without a function (file scope, a macro) is
/// matched by its call's text alone.
fn in_function(site: &LinkCandidate, hunk: &Hunk) -> bool {
    let Some(f) = site.function.as_deref() else {
        return true;
    };
    let names = |text: &str| {
        text.match_indices(f).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + f.len()..].trim_start().chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && after == Some('(')
        })
    };
    names(&hunk.heading) || names(&hunk.old_text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use treewide_core::model::{CampaignId, SiteId};

    fn site(function: &str, callee: &str, code: &str) -> LinkCandidate {
        LinkCandidate {
            id: SiteId(1),
            campaign: CampaignId(1),
            file: "drivers/target/target_core_file.c".into(),
            line: 300,
            function: Some(function.into()),
            callee: callee.into(),
            code: code.into(),
        }
    }

    fn hunk(heading: &str, body: &str) -> Hunk {
        let diff = format!("--- a/f.c\n+++ b/f.c\n@@ -280,7 +280,7 @@ {heading}\n{body}");
        super::super::link::parse_diff(&diff)
            .pop()
            .and_then(|f| f.hunks.into_iter().next())
            .expect("one hunk")
    }

    fn rule(name: &str) -> FixRule {
        FixRule::new(Spec::load(name).unwrap()).unwrap().unwrap()
    }

    const DATE: Option<&str> = Some("2022-09-20T10:00:00Z");

    /// A site in `f` and a hunk of `f` that turns its READ into ITER_DEST.
    fn direction_fix_in_f() -> (LinkCandidate, Hunk) {
        let s = site(
            "f",
            "iov_iter_bvec",
            "iov_iter_bvec(&iter, READ, bvec, n, len);",
        );
        let h = hunk(
            "static int f(void)",
            "-\tiov_iter_bvec(&iter, READ, bvec, n, len);\n+\tiov_iter_bvec(&iter, ITER_DEST, bvec, n, len);\n",
        );
        (s, h)
    }

    #[test]
    fn a_direction_fix_fixes_the_call_it_changes() {
        let s = site(
            "fd_do_rw",
            "iov_iter_bvec",
            "iov_iter_bvec(&iter, READ, bvec, n, len);",
        );
        let h = hunk(
            "static int fd_do_rw(struct se_cmd *cmd)",
            " \tint ret;\n-\tiov_iter_bvec(&iter, READ, bvec, n, len);\n+\tiov_iter_bvec(&iter, ITER_DEST, bvec, n, len);\n \treturn 0;\n",
        );
        let why = rule("iov-iter-direction").fixes(&s, &h, DATE);
        assert!(why.unwrap().contains("ITER_DEST"));
    }

    #[test]
    fn a_direction_on_a_continuation_line_is_fixed_too() {
        let s = site(
            "fd_do_rw",
            "iov_iter_bvec",
            "iov_iter_bvec(&iter, READ, bvec, n, len);",
        );
        let h = hunk(
            "static int fd_do_rw(struct se_cmd *cmd)",
            " \tiov_iter_bvec(&iter,\n-\t\t      READ, bvec, n, len);\n+\t\t      ITER_DEST, bvec, n, len);\n",
        );
        assert!(rule("iov-iter-direction").fixes(&s, &h, DATE).is_some());
    }

    #[test]
    fn touching_the_line_without_the_fixed_form_is_no_fix() {
        // "target/file: don't zero iter before iov_iter_bvec" (2021): the call stays as it was.
        let s = site(
            "fd_do_rw",
            "iov_iter_bvec",
            "iov_iter_bvec(&iter, is_write, bvec, sgl_nents, len);",
        );
        let h = hunk(
            "static int fd_do_rw(struct se_cmd *cmd)",
            "-\tmemset(&iter, 0, sizeof(iter));\n \tiov_iter_bvec(&iter, is_write, bvec, sgl_nents, len);\n",
        );
        assert_eq!(
            rule("iov-iter-direction").fixes(&s, &h, Some("2023-01-01")),
            None
        );
    }

    #[test]
    fn patches_before_the_campaign_fix_nothing() {
        let (s, h) = direction_fix_in_f();
        let r = rule("iov-iter-direction");
        assert_eq!(r.fixes(&s, &h, Some("2019-05-01T00:00:00Z")), None);
        assert_eq!(r.fixes(&s, &h, None), None);
        assert!(r.fixes(&s, &h, DATE).is_some());
    }

    #[test]
    fn another_function_or_another_call_is_no_fix() {
        let h = hunk(
            "static int other(void)",
            "-\tiov_iter_bvec(&iter, READ, bvec, n, len);\n+\tiov_iter_bvec(&iter, ITER_DEST, bvec, n, len);\n",
        );
        let s = site(
            "fd_do_rw",
            "iov_iter_bvec",
            "iov_iter_bvec(&iter, READ, bvec, n, len);",
        );
        assert_eq!(rule("iov-iter-direction").fixes(&s, &h, DATE), None);
        let s = site(
            "other",
            "iov_iter_bvec",
            "iov_iter_bvec(&to, READ, bv, 1, size);",
        );
        assert_eq!(rule("iov-iter-direction").fixes(&s, &h, DATE), None);
    }

    #[test]
    fn a_pin_fix_replaces_get_pages_with_extract_pages() {
        let s = site(
            "bio_map_user_iov",
            "iov_iter_get_pages_alloc2",
            "iov_iter_get_pages_alloc2(iter, &pages, LONG_MAX, &offs);",
        );
        let h = hunk(
            "static int bio_map_user_iov(struct request *rq, struct iov_iter *iter,",
            "-\t\tbytes = iov_iter_get_pages_alloc2(iter, &pages, LONG_MAX, &offs);\n+\t\tbytes = iov_iter_extract_pages(iter, &pages, LONG_MAX,\n+\t\t\t\t\t       nr_vecs, extraction_flags, &offs);\n",
        );
        let r = rule("iov-iter-pin");
        assert!(r
            .fixes(&s, &h, Some("2023-05-22T13:50:00Z"))
            .unwrap()
            .contains("iov_iter_extract_pages"));
        // A direction fix is no pin fix.
        let (s, h) = direction_fix_in_f();
        assert_eq!(r.fixes(&s, &h, DATE), None);
    }

    #[test]
    fn specs_without_a_fixed_form_have_no_rule() {
        let mut spec = Spec::load("iov-iter-pin").unwrap();
        spec.fixed = None;
        assert!(FixRule::new(spec).unwrap().is_none());
    }
}
