//! The parts of a message's text that mean something to a review: subject prefixes,
//! `Acked-by:`-style trailers and which lines are the sender's own.

use std::sync::LazyLock;

use regex::Regex;
use treewide_core::history::{patch_title, split_mail_subject, subject_tag};
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
    let (patch, tag, rest) = split_mail_subject(subject);
    (patch, tag.or_else(|| subject_tag(rest)))
}

/// The title of a patch a quoted line names (`> [PATCH 2/3] foo: bar`, or quoted
/// `Subject: [PATCH 2/3] foo: bar`), as [`patch_title`] gives it.
fn quoted_patch_title(line: &str) -> Option<String> {
    let inner = line
        .trim_start()
        .strip_prefix('>')?
        .trim_start_matches(['>', ' ', '\t']);
    let inner = inner
        .strip_prefix("Subject:")
        .map_or(inner, str::trim_start);
    if !inner.starts_with('[') {
        return None;
    }
    split_mail_subject(inner).0?;
    Some(patch_title(inner))
}

static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(acked|reviewed|tested)-by:\s*(.+?)\s*$").expect("trailer regex")
});

/// `Acked-by:` / `Reviewed-by:` / `Tested-by:` lines of the sender's own text. A value that
/// is not a valid `Name <email>` is kept as written (it will match no maintainer). A trailer
/// written under a quoted patch title (`> [PATCH 2/3] …`) is about that patch: a reply to a
/// cover letter that reviews patches one by one gives each patch its own; a trailer before
/// any quoted title is about what the message replies to (the whole series, for a cover).
pub fn trailers(text: &str) -> Vec<NewTrailer> {
    let mut out: Vec<NewTrailer> = Vec::new();
    // Whether an occurrence stood under no quoted title (then it is about the whole series).
    let mut series_wide: Vec<bool> = Vec::new();
    let mut under: Option<String> = None;
    for line in lines(text) {
        if line.trim_start().starts_with('>') {
            if let Some(t) = quoted_patch_title(line) {
                under = Some(t);
            }
            continue;
        }
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
        if let Some(i) = out.iter().position(|t| t.kind == kind && t.raw == raw) {
            // The same line again (under another patch's title): one trailer, more patches.
            match &under {
                Some(title) if !series_wide[i] => {
                    if !out[i].about.contains(title) {
                        out[i].about.push(title.clone());
                    }
                }
                _ => {
                    series_wide[i] = true;
                    out[i].about.clear();
                }
            }
            continue;
        }
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
        series_wide.push(under.is_none());
        out.push(NewTrailer {
            kind,
            name,
            email,
            raw,
            about: under.iter().cloned().collect(),
        });
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
    fn trailers_under_quoted_patch_titles_are_about_those_patches() {
        let t = trailers(
            "On Mon, A wrote:\n> [PATCH 1/3] foo: one\nReviewed-by: R <r@x.org>\n\n\
             > [PATCH 2/3] foo: two\n> -old\nReviewed-by: R <r@x.org>\n\n\
             > Subject: [PATCH 3/3] foo: three\nAcked-by: A <a@x.org>\n",
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].about, ["foo: one", "foo: two"]);
        assert_eq!(t[1].about, ["foo: three"]);
        // Own text before any quoted title: about what the message replies to.
        let t = trailers("For the series:\nReviewed-by: R <r@x.org>\n> [PATCH 1/3] foo: one\n");
        assert!(t[0].about.is_empty());
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
