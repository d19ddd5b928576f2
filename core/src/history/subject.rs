//! Commit subjects: the subsystem tag a subject starts with (also read from mail subjects
//! and from references to commits).

/// The subsystem tag of a commit subject: `[vhost] fix …` → `vhost`, `vhost: fix …` → `vhost`.
pub fn subject_tag(subject: &str) -> Option<String> {
    let s = subject.trim();
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let tag = rest[..end].trim();
        return (!tag.is_empty() && !tag.contains(char::is_whitespace)).then(|| tag.to_owned());
    }
    let (head, _) = s.split_once(": ")?;
    let reply = ["re", "fwd", "aw", "sv"].contains(&head.to_ascii_lowercase().as_str());
    (!reply
        && !head.is_empty()
        && head.len() <= 40
        && head
            .chars()
            .all(|c| c.is_alphanumeric() || "_-/.,".contains(c)))
    .then(|| head.to_owned())
}

/// A mail subject taken apart: the `[PATCH v3 2/7]` prefix (without brackets), the first
/// other bracketed tag, and the title after reply markers and bracket groups.
pub fn split_mail_subject(subject: &str) -> (Option<String>, Option<String>, &str) {
    let mut s = subject.trim();
    // Reply and forward markers come before the prefix: "Re: [PATCH] x: y".
    loop {
        let b = s.as_bytes();
        let n = if b.len() >= 4
            && [&b"re: "[..], b"aw: ", b"sv: "]
                .iter()
                .any(|p| b[..4].eq_ignore_ascii_case(p))
        {
            4
        } else if b.len() >= 5 && b[..5].eq_ignore_ascii_case(b"fwd: ") {
            5
        } else {
            break;
        };
        s = s[n..].trim_start();
    }
    let (mut patch, mut tag) = (None, None);
    while let Some(rest) = s.strip_prefix('[') {
        let Some(end) = rest.find(']') else { break };
        let group = rest[..end].trim();
        let upper = group.to_ascii_uppercase();
        if upper.contains("PATCH") || upper.starts_with("RFC") {
            patch.get_or_insert_with(|| group.to_owned());
        } else if tag.is_none() && !group.is_empty() && !group.contains(char::is_whitespace) {
            tag = Some(group.to_owned());
        }
        s = rest[end + 1..].trim_start();
    }
    (patch, tag, s)
}

/// What the versions of one patch, and quotes of it, share: the subject without reply
/// markers and `[PATCH vN m/n]`, whitespace collapsed (`Re: [PATCH v2 3/7]  ovl: a` → `ovl: a`).
pub fn patch_title(subject: &str) -> String {
    split_mail_subject(subject)
        .2
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_titles_drop_markers_and_prefixes() {
        assert_eq!(
            patch_title("Re: [PATCH v2 3/7]  ovl: use guard"),
            "ovl: use guard"
        );
        assert_eq!(patch_title("ovl: use guard"), "ovl: use guard");
    }

    #[test]
    fn subject_tags() {
        assert_eq!(
            subject_tag("[vhost] fix 'direction' argument").as_deref(),
            Some("vhost")
        );
        assert_eq!(subject_tag("vhost: fix it").as_deref(), Some("vhost"));
        assert_eq!(subject_tag("net/ceph: fix it").as_deref(), Some("net/ceph"));
        assert_eq!(subject_tag("use less confusing names"), None);
        assert_eq!(subject_tag("Re: a b: c"), None);
    }
}
