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

#[cfg(test)]
mod tests {
    use super::*;

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
