//! A call site's stable identity: what makes it "the same call" across re-imports and
//! re-scans, whatever line it has drifted to.

use sha2::{Digest, Sha256};

/// Normalise a call's text for identity: whitespace runs collapse to one space (calls are
/// re-wrapped), spaces next to punctuation go, and the legacy direction names are mapped to
/// their replacements so that the very fix a campaign tracks (`READ` → `ITER_DEST`) does not
/// turn a call into a different call.
pub fn normalise_code(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut pending_space = false;
    for token in tokens(code) {
        match token {
            Token::Space => pending_space = true,
            Token::Word(w) => {
                if pending_space && out.ends_with(is_word_char) {
                    out.push(' ');
                }
                pending_space = false;
                out.push_str(match w {
                    "READ" => "ITER_DEST",
                    "WRITE" => "ITER_SOURCE",
                    w => w,
                });
            }
            Token::Punct(c) => {
                pending_space = false;
                out.push(c);
            }
        }
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

enum Token<'a> {
    Space,
    Word(&'a str),
    Punct(char),
}

fn tokens(s: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let c = rest.chars().next()?;
        let len = if c.is_whitespace() {
            rest.find(|c: char| !c.is_whitespace())
                .unwrap_or(rest.len())
        } else if is_word_char(c) {
            rest.find(|c: char| !is_word_char(c)).unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        let (tok, tail) = rest.split_at(len);
        rest = tail;
        Some(if c.is_whitespace() {
            Token::Space
        } else if is_word_char(c) {
            Token::Word(tok)
        } else {
            Token::Punct(c)
        })
    })
}

/// The identity key (hex) of the `ordinal`-th call (0-based, in line order) among calls with
/// the same file, function, callee and normalised code.
pub fn site_identity(
    file: &str,
    function: Option<&str>,
    callee: &str,
    normalised_code: &str,
    ordinal: u32,
) -> String {
    let mut h = Sha256::new();
    for part in [file, function.unwrap_or(""), callee, normalised_code] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(ordinal.to_le_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrapped_calls_are_the_same() {
        let a = "iov_iter_xarray(&req->def_iter, ITER_DEST,\n\t\t&dvnode->i_pages, 0, n);";
        let b = "iov_iter_xarray( &req->def_iter,ITER_DEST, &dvnode->i_pages, 0, n );";
        assert_eq!(normalise_code(a), normalise_code(b));
    }

    #[test]
    fn direction_fix_keeps_identity() {
        assert_eq!(
            normalise_code("iov_iter_bvec(&iter, READ, bv, 1, len);"),
            normalise_code("iov_iter_bvec(&iter, ITER_DEST, bv, 1, len);")
        );
        // but only whole words: READ_ONCE is not READ
        assert!(normalise_code("READ_ONCE(x)").starts_with("READ_ONCE"));
    }

    #[test]
    fn different_arguments_differ() {
        assert_ne!(
            normalise_code("iov_iter_bvec(&iter, ITER_DEST, a, 1, len);"),
            normalise_code("iov_iter_bvec(&iter, ITER_DEST, b, 1, len);")
        );
        assert_ne!(
            normalise_code("unsigned int"),
            normalise_code("unsignedint")
        );
    }

    #[test]
    fn identity_ignores_nothing_but_line() {
        let a = site_identity("a.c", Some("f"), "g", "g(x)", 0);
        assert_eq!(a, site_identity("a.c", Some("f"), "g", "g(x)", 0));
        assert_ne!(a, site_identity("a.c", Some("f"), "g", "g(x)", 1));
        assert_ne!(a, site_identity("a.c", None, "g", "g(x)", 0));
        assert_ne!(a, site_identity("b.c", Some("f"), "g", "g(x)", 0));
    }
}
