//! Message bodies as stored: zstd-compressed when that pays, text otherwise.

/// Bodies shorter than this are stored as text: compression would save next to nothing.
const PACK_FROM: usize = 512;

/// A body compressed for storage (zstd, level 1: about 2.5× on list mail, at several hundred
/// MB/s), or `None` when it is too short to gain. Stored as a BLOB; [`unpack_body`] reads it.
/// A database holding a lore list keeps a third of the text's size, and an import writes a
/// third of the bytes (twice: WAL, then checkpoint).
pub fn pack_body(text: &str) -> Option<Vec<u8>> {
    if text.len() < PACK_FROM {
        return None;
    }
    thread_local! {
        // A compression context is hundreds of KB to set up: one per thread, reused.
        static ZSTD: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            std::cell::RefCell::new(zstd::bulk::Compressor::new(1).ok());
    }
    ZSTD.with(|z| {
        z.borrow_mut()
            .as_mut()
            .and_then(|c| c.compress(text.as_bytes()).ok())
    })
    .filter(|z| z.len() < text.len())
}

/// The text of a stored body: a BLOB is [`pack_body`]'s output, anything else is text.
/// Unreadable data gives a note saying so rather than an error: one damaged row must not
/// take the message's page or API answer down.
pub fn unpack_body(stored: &[u8], packed: bool) -> String {
    if !packed {
        return String::from_utf8_lossy(stored).into_owned();
    }
    // A body is cut at 1 MiB before it is packed; the bound stops a damaged frame early.
    match zstd::bulk::decompress(stored, 4 << 20) {
        Ok(text) => String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Err(e) => format!("[treewide: the stored body cannot be read: {e}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_pack_when_it_pays_and_unpack_to_the_same_text() {
        assert_eq!(pack_body("short reply\n"), None);
        let text = "Reviewed-by: A <a@example.org>\n> quoted line of the patch\n".repeat(40);
        let z = pack_body(&text).expect("a long body is packed");
        assert!(z.len() * 4 < text.len(), "{} of {}", z.len(), text.len());
        assert_eq!(unpack_body(&z, true), text);
        assert_eq!(unpack_body(text.as_bytes(), false), text);
        // A damaged frame is a note, not a failure.
        assert!(unpack_body(&z[..z.len() / 2], true).starts_with("[treewide: the stored body"));
    }
}
