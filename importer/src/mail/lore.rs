//! Fetching a thread from lore.kernel.org (or any public-inbox HTTP server): the gzip'd
//! mbox at `{base}/all/{msgid}/t.mbox.gz`.
//!
//! ureq (blocking, rustls, no native TLS) because one GET per import needs no async client,
//! and it builds on the machine's Rust without OpenSSL.

use std::time::Duration;

use anyhow::anyhow;

/// The default lore base URL.
pub const LORE: &str = "https://lore.kernel.org";
/// Largest thread accepted (lore's biggest threads are a few MB gzip'd).
const MAX_BYTES: u64 = 256 << 20;

/// The thread mbox URL of a Message-ID (with or without angle brackets).
pub fn thread_url(base: &str, msgid: &str) -> String {
    let id = super::clean_id(msgid);
    let mut enc = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=:".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{}/all/{enc}/t.mbox.gz", base.trim_end_matches('/'))
}

/// GET the thread of `msgid`; a clear error when the network or the server says no.
pub fn fetch_thread(base: &str, msgid: &str) -> anyhow::Result<Vec<u8>> {
    if super::clean_id(msgid).is_empty() {
        return Err(anyhow!("empty Message-ID"));
    }
    let url = thread_url(base, msgid);
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .user_agent(concat!("treewide/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent();
    let mut res = agent
        .get(&url)
        .call()
        .map_err(|e| anyhow!("cannot fetch {url}: {e}"))?;
    let status = res.status();
    if status.as_u16() == 404 {
        return Err(anyhow!(
            "{url}: 404 Not Found: the server has no thread with Message-ID <{}>",
            super::clean_id(msgid)
        ));
    }
    if !status.is_success() {
        return Err(anyhow!("{url}: the server answered {status}"));
    }
    res.body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_vec()
        .map_err(|e| anyhow!("{url}: cannot read the answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            thread_url(
                "https://lore.kernel.org/",
                "<YJQkqP19pj3C/75N@zeniv-ca.linux.org.uk>"
            ),
            "https://lore.kernel.org/all/YJQkqP19pj3C%2F75N@zeniv-ca.linux.org.uk/t.mbox.gz"
        );
    }
}
