//! The parts of a message's text that mean something to a review: subject prefixes,
//! `Acked-by:`-style trailers and which lines are the sender's own.

use std::sync::LazyLock;

use regex::Regex;
use treewide_core::history::subject_tag;
use treewide_core::mail::{NewTrailer, TrailerKind};
use treewide_core::model::Person;

/// Lines the sender wrote: quoted lines (`> …`) belong to the quoted author.
pub fn own_lines(text: &str) -> impl Iterator<Item = &str> {
    lines(text).filter(|l| !l.trim_start().starts_with('>'))
}

/// `str::lines` (split at `\n`, a trailing `\r` dropped, no empty last line), found with
/// memchr's SIMD search: mail is millions of short lines, where std's per-call setup shows.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes())
        .map(Some)
        .chain(std::iter::once(None));
    ends.filter_map(move |end| {
        let line = match end {
            Some(e) => &text[start..e],
            None if start < text.len() => &text[start..],
            None => return None,
        };
        start = end.map_or(text.len(), |e| e + 1);
        Some(line.strip_suffix('\r').unwrap_or(line))
    })
}

/// `[PATCH v3 2/7]` (without brackets) and the subsystem tag of a subject.
pub fn subject_parts(subject: &str) -> (Option<String>, Option<String>) {
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
    let mut patch = None;
    let mut tag = None;
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
    (patch, tag.or_else(|| subject_tag(s)))
}

static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(acked|reviewed|tested)-by:\s*(.+?)\s*$").expect("trailer regex")
});

/// `Acked-by:` / `Reviewed-by:` / `Tested-by:` lines of the sender's own text. A value that
/// is not a valid `Name <email>` is kept as written (it will match no maintainer).
pub fn trailers(text: &str) -> Vec<NewTrailer> {
    let mut out: Vec<NewTrailer> = Vec::new();
    for line in own_lines(text) {
        // Most lines hold no `-by:` at all; finding that out costs less than the regex.
        let b = line.as_bytes();
        if !memchr::memchr_iter(b':', b).any(|i| i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"-by"))
        {
            continue;
        }
        let Some(c) = TRAILER.captures(line) else {
            continue;
        };
        let kind = match c[1].to_ascii_lowercase().as_str() {
            "acked" => TrailerKind::AckedBy,
            "reviewed" => TrailerKind::ReviewedBy,
            _ => TrailerKind::TestedBy,
        };
        let raw = c[2].to_owned();
        let (name, email) = match Person::parse(&raw) {
            Ok(p) => (p.name, p.email),
            Err(_) => {
                let name = raw.split('<').next().unwrap_or("").trim().to_owned();
                let email = raw
                    .split_once('<')
                    .and_then(|(_, r)| r.split_once('>'))
                    .map(|(e, _)| e.trim().to_ascii_lowercase())
                    .unwrap_or_default();
                (name, email)
            }
        };
        let t = NewTrailer {
            kind,
            name,
            email,
            raw,
        };
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_prefixes() {
        assert_eq!(
            subject_parts("[PATCH v3 2/7] ovl: use guard for creds"),
            (Some("PATCH v3 2/7".into()), Some("ovl".into()))
        );
        assert_eq!(
            subject_parts("Re: [PATCH] [vhost] fix direction"),
            (Some("PATCH".into()), Some("vhost".into()))
        );
        assert_eq!(
            subject_parts("RE: block: reexpand iov_iter"),
            (None, Some("block".into()))
        );
        assert_eq!(subject_parts("question about pins"), (None, None));
        // Real subject from linux-unionfs: a multi-byte reply marker.
        assert_eq!(
            subject_parts("回复:[PATCH] ovl: improving copy-up efficiency").1,
            None
        );
    }

    #[test]
    fn lines_split_like_std() {
        for t in [
            "",
            "a",
            "a\n",
            "a\r\nb",
            "a\n\nb\r\n",
            "\n",
            "\r\n\r\n",
            "x\ry\n",
            "ä\nö",
        ] {
            assert_eq!(
                lines(t).collect::<Vec<_>>(),
                t.lines().collect::<Vec<_>>(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn trailers_only_from_own_lines() {
        let t = trailers(
            "Looks good.\n\nAcked-by: Pavel Begunkov <asml.silencec@gmail.com>\n\
             > Reviewed-by: Quoted Person <q@example.org>\nreviewed-by:  A B <A@B.org> \n\
             Tested-by: broken <no-close\n",
        );
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].kind, TrailerKind::AckedBy);
        assert_eq!(t[0].email, "asml.silencec@gmail.com");
        assert_eq!(t[1].email, "a@b.org");
        assert_eq!(t[2].kind, TrailerKind::TestedBy);
        assert_eq!(t[2].email, "");
        assert_eq!(t[2].raw, "broken <no-close");
    }
}
