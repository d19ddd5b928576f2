//! Checking a patch before it lands: which added lines introduce what a campaign is removing
//! (a legacy READ/WRITE direction, a new iov_iter_get_pages*() caller, a banned function).
//! Used by `POST /api/v1/check` as a CI gate.

use serde::Serialize;

use crate::calls::{text_call, CallMatcher};
use crate::spec::Spec;

/// One added line that works against a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub campaign: String,
    pub file: String,
    /// Line in the new file.
    pub line: u32,
    pub callee: String,
    /// The added line, trimmed.
    pub code: String,
    pub problem: String,
    /// The line with the fix applied, when there is a mechanical one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// Added lines of a unified diff: (file in the new tree, line number, text).
pub fn added_lines(diff: &str) -> Vec<(String, u32, String)> {
    let mut out = Vec::new();
    let (mut file, mut line) = (None::<String>, 0u32);
    for l in diff.lines() {
        if let Some(path) = l.strip_prefix("+++ ") {
            let path = path.split('\t').next().unwrap_or(path).trim();
            file =
                (path != "/dev/null").then(|| path.strip_prefix("b/").unwrap_or(path).to_owned());
        } else if l.starts_with("--- ") {
            continue;
        } else if let Some(h) = l.strip_prefix("@@ ") {
            // @@ -a,b +c,d @@
            line = h
                .split_whitespace()
                .find_map(|p| p.strip_prefix('+'))
                .and_then(|p| p.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
        } else if let Some(text) = l.strip_prefix('+') {
            if let Some(f) = &file {
                out.push((f.clone(), line, text.to_owned()));
            }
            // A hunk header may claim any line number up to u32::MAX (fuzzing found the
            // overflow): past it the count stays at the last line.
            line = line.saturating_add(1);
        } else if l.starts_with(' ') || l.is_empty() {
            line = line.saturating_add(1);
        }
    }
    out
}

/// Check a diff against campaign specs.
pub fn check_diff(diff: &str, specs: &[Spec]) -> anyhow::Result<Vec<Finding>> {
    let lines = added_lines(diff);
    let mut out = Vec::new();
    for spec in specs {
        let m = CallMatcher::new(spec)?;
        for (file, line, text) in &lines {
            if !(file.ends_with(".c") || file.ends_with(".h")) {
                continue;
            }
            let t = text.trim_start();
            if t.starts_with("//") || t.starts_with("/*") || t.starts_with('*') {
                continue;
            }
            for name in m.callee_names(text.as_bytes()) {
                let callee = String::from_utf8_lossy(name.as_bytes()).into_owned();
                let Some(group) = spec.group_of(&callee) else {
                    continue;
                };
                let (_, args) = text_call(text.as_bytes(), name.end());
                let direction = group.direction_arg.and_then(|i| args.get(i - 1)).cloned();
                let class = spec.classify(group, direction.as_deref());
                let legacy = spec
                    .direction
                    .as_ref()
                    .zip(direction.as_deref())
                    .and_then(|(r, d)| r.legacy.get(d).map(|new| (d.to_owned(), new.clone())));
                let (problem, suggestion) = match (&legacy, class.status, group.direction_arg) {
                    (Some((old, new)), _, _) => (
                        format!("legacy direction {old}: use {new}"),
                        Some(replace_arg(text.trim(), &callee, old, new)),
                    ),
                    (None, Some(s), _) if !s.is_done() => (class.reason.clone(), None),
                    // A new caller of what the campaign audits (e.g. iov_iter_get_pages*()).
                    (None, None, None) => (
                        format!(
                            "new {callee}() caller: review it for the campaign \"{}\"",
                            spec.campaign.slug
                        ),
                        None,
                    ),
                    _ => continue,
                };
                out.push(Finding {
                    campaign: spec.campaign.slug.to_string(),
                    file: file.clone(),
                    line: *line,
                    callee,
                    code: text.trim().to_owned(),
                    problem,
                    suggestion,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.file, a.line, &a.campaign).cmp(&(&b.file, b.line, &b.campaign)));
    Ok(out)
}

/// The line with the first whole-word `old` after `callee(` replaced by `new`.
fn replace_arg(line: &str, callee: &str, old: &str, new: &str) -> String {
    let Some(start) = line.find(callee) else {
        return line.to_owned();
    };
    let rest = &line[start..];
    let mut i = 0;
    while let Some(p) = rest[i..].find(old) {
        let at = i + p;
        let before = rest[..at].chars().next_back();
        let after = rest[at + old.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !word(before) && !word(after) {
            return format!(
                "{}{}{}{}",
                &line[..start],
                &rest[..at],
                new,
                &rest[at + old.len()..]
            );
        }
        i = at + old.len();
    }
    line.to_owned()
}

/// The built-in campaign specs.
pub fn builtin_specs() -> anyhow::Result<Vec<Spec>> {
    crate::spec::BUILTIN
        .iter()
        .map(|(name, text)| Spec::parse(name, text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "diff --git a/drivers/foo/bar.c b/drivers/foo/bar.c
--- a/drivers/foo/bar.c
+++ b/drivers/foo/bar.c
@@ -10,6 +10,9 @@ static int bar(void)
 \tstruct iov_iter iter;
-\tiov_iter_kvec(&iter, ITER_DEST, &kv, 1, len);
+\tiov_iter_kvec(&iter, READ, &kv, 1, len);
+\t/* iov_iter_bvec(&iter, WRITE, ...) in a comment */
+\tn = iov_iter_get_pages2(&iter, pages, len, 8, &off);
 \treturn 0;
+\tiov_iter_bvec(&i2, ITER_SOURCE, bv, 1, n);
";

    #[test]
    fn a_hunk_at_the_last_line_number_does_not_overflow() {
        // Found by formats/tests/fuzz.rs: `+4294967295` then two lines overflowed u32.
        let diff = "--- a/x.c\n+++ b/x.c\n@@ -1 +4294967295 @@\n context\n+\tiov_iter_kvec(&i, READ, &kv, 1, n);\n";
        let added = added_lines(diff);
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].1, u32::MAX);
        let f = check_diff(diff, &builtin_specs().unwrap()).unwrap();
        assert_eq!(f.len(), 1, "{f:#?}");
    }

    #[test]
    fn finds_legacy_directions_and_new_get_pages_callers() {
        let f = check_diff(DIFF, &builtin_specs().unwrap()).unwrap();
        let dir: Vec<_> = f
            .iter()
            .filter(|f| f.campaign == "iov-iter-direction")
            .collect();
        assert_eq!(dir.len(), 1, "{f:#?}");
        assert_eq!(
            (dir[0].file.as_str(), dir[0].line),
            ("drivers/foo/bar.c", 11)
        );
        assert_eq!(dir[0].problem, "legacy direction READ: use ITER_DEST");
        assert_eq!(
            dir[0].suggestion.as_deref(),
            Some("iov_iter_kvec(&iter, ITER_DEST, &kv, 1, len);")
        );
        let pin: Vec<_> = f.iter().filter(|f| f.campaign == "iov-iter-pin").collect();
        assert_eq!(pin.len(), 1, "{f:#?}");
        assert_eq!(
            (pin[0].line, pin[0].callee.as_str()),
            (13, "iov_iter_get_pages2")
        );
    }

    #[test]
    fn line_numbers_follow_the_new_file() {
        let a = added_lines(DIFF);
        assert_eq!(
            a.iter().map(|(_, l, _)| *l).collect::<Vec<_>>(),
            vec![11, 12, 13, 15]
        );
    }
}
