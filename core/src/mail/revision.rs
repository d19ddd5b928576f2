//! Versions of one patch and maintainers' "Applied …, thanks!" notes, read from subjects and
//! the sender's own text (pure), and filled in for messages stored before they were kept
//! ([`backfill`]).

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::history::{patch_title, split_mail_subject};
use crate::Result;

/// What the versions of one patch (or cover letter) share: the sender's address and the
/// subject without reply markers and `[PATCH vN m/n]`, both lower-cased. `None` for replies
/// and for messages that are no patch mail (no `[PATCH …]`/`[RFC …]` prefix).
pub fn revision_key(from_email: &str, subject: &str) -> Option<String> {
    let s = subject.trim_start();
    let reply = s
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("re:") || p.eq_ignore_ascii_case("aw:"))
        || s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("fwd:"));
    if reply || from_email.is_empty() {
        return None;
    }
    split_mail_subject(s).0?;
    let title = patch_title(s).to_lowercase();
    (!title.is_empty()).then(|| format!("{}\n{title}", from_email.to_lowercase()))
}

/// The version a `[PATCH v3 2/7]` prefix names (1 when it names none).
pub fn version(patch_prefix: Option<&str>) -> u32 {
    patch_prefix
        .into_iter()
        .flat_map(str::split_whitespace)
        .find_map(|w| {
            let w = w.strip_prefix(['v', 'V'])?;
            w.parse().ok()
        })
        .unwrap_or(1)
}

/// The position `m` of `m/n` in a `[PATCH v3 2/7]` prefix.
pub fn series_number(patch_prefix: Option<&str>) -> Option<u32> {
    patch_prefix?.split_whitespace().find_map(|w| {
        let (m, n) = w.split_once('/')?;
        n.parse::<u32>().ok()?;
        m.parse().ok()
    })
}

/// Lines the sender wrote, up to the signature (`-- `): quoted lines belong to others.
fn own_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .take_while(|l| *l != "-- ")
        .filter(|l| !l.trim_start().starts_with('>'))
}

/// The b4 `change-id:` the sender's own text carries.
pub fn change_id(text: &str) -> Option<String> {
    // Most mail has none: one SIMD pass says so without walking the lines.
    memchr::memmem::find(text.as_bytes(), b"change-id:")?;
    own_lines(text).find_map(|l| {
        let v = l.strip_prefix("change-id:")?.trim();
        (!v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        .then(|| v.to_owned())
    })
}

/// A maintainer's note that patches were applied: "Applied to 7.1/scsi-queue, thanks!".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedNote {
    /// The tree or branch named ("7.1/scsi-queue", "rdma for-next"); `None` for "Applied,
    /// thanks!".
    pub tree: Option<String>,
    /// Patches of the series named by number ("Applied 2-5 to …"); with `titles` empty, the
    /// note is about what it replies to (every patch of a series, for a cover letter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numbers: Vec<u32>,
    /// Patches named by b4's "[1/3] scsi: foo" lines under the note ([`patch_title`],
    /// lower-cased).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titles: Vec<String>,
}

impl AppliedNote {
    /// Whether the note, in a reply to `parent`, is about `patch` (the parent itself, or a
    /// patch of the series whose cover letter is the parent). Numbers and titles pick patches
    /// of a series; a note naming none is about the parent, or the whole series.
    pub fn covers(&self, patch: &PatchMail<'_>, parent: &str) -> bool {
        let named = |p: &PatchMail<'_>| {
            (self.numbers.is_empty() && self.titles.is_empty())
                || series_number(p.prefix).is_some_and(|m| self.numbers.contains(&m))
                || self.titles.contains(&patch_title(p.subject).to_lowercase())
        };
        (patch.message_id == parent || patch.in_reply_to == Some(parent)) && named(patch)
    }
}

/// A patch as [`AppliedNote::covers`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct PatchMail<'a> {
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub prefix: Option<&'a str>,
}

/// "Applied", "Thanks, applied", "Applied 2-5 to …", "Applied patches 1 and 3 to …", with the
/// tree after "to"/"into". What ends the tree: `,` `;` `!`, ". ", " with ", " thanks", the end.
static APPLIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(?:thanks[,!.]?\s+|thank\ you[,!.]?\s+)?applied
          (?:\s+(?:patch(?:es)?\s+)?(?P<nums>\#?\d+(?:\s*(?:-|,|\+|&|,?\s*and)\s*\#?\d+)*))?
          (?:\s+(?:to|into)\s+(?P<tree>.+?))?
          \s*(?:[,;!:]|\.(?:\s|$)|$|\s+with\s|\s+-\s|\s+thanks|\s+thank\ you)",
    )
    .expect("applied regex")
});

/// The word every note has, in any case: a message without it has no note.
static SAYS_APPLIED: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["applied"])
        .expect("applied automaton")
});

/// b4's list of what was applied: "[2/5] scsi: target: fix …".
static B4_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(\d+)/(\d+)\]\s+(\S.*)$").expect("b4 regex"));

/// The "Applied …" note in the sender's own text, if the message carries one. Precision
/// first: the note must open a paragraph, name no tree or one that reads as a branch (one
/// word, or "the X branch of the Y tree" / "Y for-next" style with thanks), and testers'
/// "Applied over v6.2, boots fine" or "applied to my tree and tested" are no notes.
pub fn applied_note(text: &str) -> Option<AppliedNote> {
    // A note says "applied" (any case, [`APPLIED`]); most mail does not, and one pass over
    // the bytes says so without splitting the lines.
    if !SAYS_APPLIED.is_match(text) {
        return None;
    }
    // Quoted lines end a paragraph ("A wrote:\n> …\nApplied, thanks!").
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .take_while(|l| *l != "-- ")
        .map(|l| {
            if l.trim_start().starts_with('>') {
                ""
            } else {
                l
            }
        })
        .collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() || (i > 0 && !lines[i - 1].trim().is_empty()) {
            i += 1;
            continue;
        }
        // A paragraph: its lines joined (a note may wrap after "Applied to").
        let start = i;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        let para = lines[start..i]
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(note) = parse_note(&para) {
            let mut note = note;
            for l in &lines[i..] {
                if let Some(c) = B4_LINE.captures(l.trim()) {
                    if let Ok(m) = c[1].parse() {
                        if !note.numbers.contains(&m) {
                            note.numbers.push(m);
                        }
                    }
                    note.titles.push(patch_title(&c[3]).to_lowercase());
                }
            }
            return Some(note);
        }
    }
    None
}

fn parse_note(para: &str) -> Option<AppliedNote> {
    let c = APPLIED.captures(para)?;
    let thanks = {
        let l = para.to_ascii_lowercase();
        l.contains("thank") || l.contains("thx")
    };
    let tree = match c.name("tree") {
        None => None,
        Some(t) => {
            let t = t.as_str().trim().trim_end_matches('.');
            let t = t.strip_prefix("the ").unwrap_or(t).trim();
            let words = t.split_whitespace().count();
            let branch_of = t.contains(" branch of ") || t.ends_with(" tree");
            let branchy = |w: &str| {
                w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./+()".contains(&b))
            };
            let ok = !t.is_empty()
                && t.len() <= 100
                && t.split_whitespace().all(branchy)
                && (words == 1 || (thanks && words <= 3) || (branch_of && words <= 8));
            if !ok {
                return None;
            }
            Some(t.to_owned())
        }
    };
    let numbers = c
        .name("nums")
        .map_or_else(Vec::new, |n| numbers(n.as_str()));
    if c.name("nums").is_some() && numbers.is_empty() {
        return None;
    }
    Some(AppliedNote {
        tree,
        numbers,
        titles: Vec::new(),
    })
}

/// "2-5", "20-22,54,120-124", "1+2", "2, 17, 24, and 25" → the numbers (ranges of at most
/// 500; none when the list reads otherwise).
fn numbers(list: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let norm = list.replace("and", ",").replace(['+', '&', '#'], ",");
    for part in norm.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) else {
                    return Vec::new();
                };
                if a > b || b - a > 500 {
                    return Vec::new();
                }
                out.extend(a..=b);
            }
            None => match part.parse() {
                Ok(n) => out.push(n),
                Err(_) => return Vec::new(),
            },
        }
    }
    out
}

/// What a new message stores besides its text: its revision key, b4 change-id and applied
/// note (JSON).
pub fn derived_columns(
    from_email: &str,
    subject: &str,
    in_reply_to: Option<&str>,
    text: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    let key = revision_key(from_email, subject);
    let change = change_id(text);
    let applied = in_reply_to
        .and_then(|_| applied_note(text))
        .and_then(|n| serde_json::to_string(&n).ok());
    (key, change, applied)
}

/// Fill the revision key, change-id and applied note of messages stored before migration
/// 0009 kept them: once per database (`PRAGMA user_version` 0 → 1), in chunks, each chunk
/// in its own transaction (a crash leaves the version at 0 and the next open goes on).
pub async fn backfill(db: &SqlitePool) -> Result<u64> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(db)
        .await?;
    if version >= 1 {
        return Ok(0);
    }
    let mut after = 0i64;
    let mut filled = 0u64;
    loop {
        let rows = sqlx::query!(
            r#"SELECT id AS "id!: i64", subject, from_email, in_reply_to, CAST(body AS BLOB) AS "body!: Vec<u8>",
                      typeof(body) = 'blob' AS "packed!: bool"
               FROM messages WHERE id > ?1 ORDER BY id LIMIT 2000"#,
            after
        )
        .fetch_all(db)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let mut tx = db.begin().await?;
        for r in &rows {
            let text = super::unpack_body(&r.body, r.packed);
            let (key, change, applied) =
                derived_columns(&r.from_email, &r.subject, r.in_reply_to.as_deref(), &text);
            if key.is_none() && change.is_none() && applied.is_none() {
                continue;
            }
            sqlx::query!(
                "UPDATE messages SET revision_key = ?2, change_id = ?3, applied = ?4 WHERE id = ?1",
                r.id,
                key,
                change,
                applied
            )
            .execute(&mut *tx)
            .await?;
            filled += 1;
        }
        tx.commit().await?;
    }
    sqlx::query("PRAGMA user_version = 1").execute(db).await?;
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_one_patch_share_a_key() {
        let a = revision_key(
            "DHowells@Redhat.com",
            "[PATCH v16 09/30] block: convert bio_map_user_iov",
        );
        let b = revision_key(
            "dhowells@redhat.com",
            "[PATCH v21 09/30]  block: Convert bio_map_user_iov",
        );
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(
            revision_key("a@b", "Re: [PATCH v2] block: convert bio_map_user_iov"),
            None
        );
        assert_eq!(revision_key("a@b", "block: convert bio_map_user_iov"), None);
        assert_ne!(
            revision_key("a@b", "[PATCH] block: x"),
            revision_key("c@d", "[PATCH] block: x")
        );
        assert_eq!(version(Some("PATCH v21 09/30")), 21);
        assert_eq!(version(Some("PATCH 2/3")), 1);
        assert_eq!(series_number(Some("PATCH v21 09/30")), Some(9));
        assert_eq!(series_number(Some("PATCH")), None);
    }

    #[test]
    fn b4_change_ids_come_from_own_text() {
        let cover = "Hi,\n\nseries.\n\n---\nbase-commit: abc\nchange-id: 20230101-topic-ab12cd34\n\nBest regards,\n-- \nA\nchange-id: nope\n";
        assert_eq!(change_id(cover).as_deref(), Some("20230101-topic-ab12cd34"));
        assert_eq!(change_id("> change-id: 2023-quoted\n"), None);
    }

    #[test]
    fn applied_notes_as_maintainers_write_them() {
        type Want<'a> = Option<(&'a str, &'a [u32])>;
        let cases: &[(&str, Want)] = &[
            ("Applied to 7.1/scsi-queue, thanks!", Some(("7.1/scsi-queue", &[]))),
            ("Bart,\n\n> quoted\n\nApplied to 6.4/scsi-staging, thanks!\n", Some(("6.4/scsi-staging", &[]))),
            ("Applied to for-next.", Some(("for-next", &[]))),
            ("Applied to rdma for-next, thanks", Some(("rdma for-next", &[]))),
            ("Applied to the vfs.rw branch of the vfs/vfs.git tree.\nPatches in the vfs.rw branch should appear in linux-next soon.", Some(("vfs.rw branch of the vfs/vfs.git tree", &[]))),
            ("Applied to\n6.1/scsi-queue, thanks!", Some(("6.1/scsi-queue", &[]))),
            ("Applied 20-22,54,120-124 to 6.3/scsi-staging, thanks.", Some(("6.3/scsi-staging", &[20, 21, 22, 54, 120, 121, 122, 123, 124]))),
            ("Applied patches 2, 17, 24, and 25 to 6.2/scsi-staging, thanks!", Some(("6.2/scsi-staging", &[2, 17, 24, 25]))),
            ("Applied 1+2 to 6.1/scsi-fixes. Thanks!", Some(("6.1/scsi-fixes", &[1, 2]))),
            ("Applied to for-next with the reworked commit message Bart suggested", Some(("for-next", &[]))),
            ("Applied to arm64 (for-next/misc), thanks!", Some(("arm64 (for-next/misc)", &[]))),
            ("Applied over current git kernel, boots on my sparc64 LDOM", None),
            ("Applied to my local tree and ran the tests, works", None),
            ("I applied it and it works.", None),
            ("> Applied to 6.1/scsi-queue, thanks!", None),
            ("The patch was\napplied.", None),
        ];
        for (text, want) in cases {
            let got = applied_note(text);
            match want {
                None => assert_eq!(got, None, "{text:?}"),
                Some((tree, nums)) => {
                    let got = got.unwrap_or_else(|| panic!("no note in {text:?}"));
                    assert_eq!(got.tree.as_deref(), Some(*tree), "{text:?}");
                    assert_eq!(got.numbers, *nums, "{text:?}");
                }
            }
        }
        let plain = applied_note("On Mon, A wrote:\n> x\n\nApplied, thanks!\n").unwrap();
        assert_eq!(plain, AppliedNote::default());
    }

    #[test]
    fn b4_ty_lists_name_the_patches() {
        let ty = "On Tue, 10 Jan 2023, A wrote:\n> cover\n\nApplied, thanks!\n\n[1/3] block: add a helper\n      commit: 0123abcd\n[3/3] block: convert bio_map_user_iov to use iov_iter_extract_pages\n      commit: 4567ef01\n\nBest regards,\n-- \nJens Axboe\n";
        let n = applied_note(ty).unwrap();
        assert_eq!(n.numbers, [1, 3]);
        assert_eq!(
            n.titles[1],
            "block: convert bio_map_user_iov to use iov_iter_extract_pages"
        );
        let cover = "c@x";
        let p = |id, subject, prefix| PatchMail {
            message_id: id,
            in_reply_to: Some(cover),
            subject,
            prefix: Some(prefix),
        };
        assert!(n.covers(
            &p("p1", "[PATCH 1/3] block: add a helper", "PATCH 1/3"),
            cover
        ));
        assert!(!n.covers(&p("p2", "[PATCH 2/3] block: other", "PATCH 2/3"), cover));
        // A note about the whole series, and one replying to the patch itself.
        let all = AppliedNote::default();
        assert!(all.covers(&p("p2", "[PATCH 2/3] block: other", "PATCH 2/3"), cover));
        assert!(all.covers(&p("p2", "[PATCH 2/3] block: other", "PATCH 2/3"), "p2"));
        assert!(!all.covers(
            &p("p2", "[PATCH 2/3] block: other", "PATCH 2/3"),
            "elsewhere"
        ));
    }
}
