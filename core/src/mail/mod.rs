//! List mail: messages stored once per Message-ID, threads, links to call sites, review
//! trailers and owners' answers to questions. Importers build a [`MailBatch`] and call
//! [`store`] (or drive a [`MailWriter`]); pages and the API read through [`query`].
//!
//! `body` packs message bodies for storage, `thread` works out threads in memory (pure),
//! `store` writes an import, `query` answers the pages' questions.

mod body;
mod fixes;
pub mod query;
pub mod revision;
mod store;
mod thread;

use serde::Serialize;

use crate::model::{CampaignId, ImportId, SiteId};

pub use body::{pack_body, unpack_body};
pub use fixes::{proposed_fixes, Applied, PatchVersion, ProposedFix};
pub use query::*;
pub use store::{store, MailWriter};
pub use thread::thread_order;

/// A review trailer's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum TrailerKind {
    AckedBy,
    ReviewedBy,
    TestedBy,
}

impl TrailerKind {
    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TrailerKind::AckedBy => "acked_by",
            TrailerKind::ReviewedBy => "reviewed_by",
            TrailerKind::TestedBy => "tested_by",
        }
    }

    /// As written in mail: `Acked-by`.
    pub fn label(self) -> &'static str {
        match self {
            TrailerKind::AckedBy => "Acked-by",
            TrailerKind::ReviewedBy => "Reviewed-by",
            TrailerKind::TestedBy => "Tested-by",
        }
    }
}

/// Why a message is linked to a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum LinkHow {
    /// `path/file.c:123` near the site's line.
    FileLine,
    /// The site's enclosing function, as `func()` or `->func()`.
    Function,
    /// The site's callee and its file, both mentioned.
    CalleeFile,
    /// The message's diff changes the site's call (whether it fixes it is [`NewLink::fixes`]).
    Patch,
}

impl LinkHow {
    /// A patch or a `file:line` points at the site; a function or callee name only may.
    pub fn is_strong(self) -> bool {
        matches!(self, LinkHow::Patch | LinkHow::FileLine)
    }

    /// The name used in SQL and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkHow::FileLine => "file_line",
            LinkHow::Function => "function",
            LinkHow::CalleeFile => "callee_file",
            LinkHow::Patch => "patch",
        }
    }
}

/// A trailer line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrailer {
    pub kind: TrailerKind,
    pub name: String,
    /// Lower-cased, as written (possibly mistyped; then it matches nobody).
    pub email: String,
    /// The whole line after `Acked-by:`.
    pub raw: String,
    /// Titles of the quoted patches it stands under (`patch_title`); empty: about what the
    /// message replies to (a patch, or every patch of a series for a cover letter).
    pub about: Vec<String>,
}

/// A link from a message to a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub campaign: CampaignId,
    pub site: SiteId,
    pub how: LinkHow,
    pub detail: String,
    /// A patch that turns the site's call into the campaign's fixed form (decided by the
    /// importer's patch analyzer): only such a link proposes a fix; any other patch link
    /// only says the patch touches the site.
    pub fixes: bool,
}

/// One message as an importer parsed it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Without angle brackets.
    pub message_id: String,
    /// The Message-ID was derived (the message had none).
    pub derived_id: bool,
    pub subject: String,
    pub from_name: String,
    pub from_email: String,
    /// Stored time form (RFC 3339 UTC).
    pub date: Option<String>,
    pub list: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub body: String,
    /// The body as stored, compressed ([`pack_body`]): importers pack in parallel while they
    /// parse. `None` stores the text as it is.
    pub body_zstd: Option<Vec<u8>>,
    pub has_diff: bool,
    pub patch_prefix: Option<String>,
    pub subject_tag: Option<String>,
    /// SHA-256 (hex) of the raw message.
    pub sha256: String,
    pub trailers: Vec<NewTrailer>,
    pub links: Vec<NewLink>,
    /// What the versions of this patch share ([`revision::revision_key`]).
    pub revision_key: Option<String>,
    /// The b4 change-id of its own text ([`revision::change_id`]).
    pub change_id: Option<String>,
    /// An "Applied …, thanks!" note of a reply ([`revision::applied_note`]), as JSON.
    pub applied: Option<String>,
}

/// How far one public-inbox epoch has been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub inbox: String,
    pub epoch: i64,
    pub last_commit: String,
}

/// Everything one mail import stores.
#[derive(Debug, Clone, Default)]
pub struct MailBatch {
    /// File name, inbox path or URL, for history.
    pub source: String,
    pub actor: String,
    pub messages: Vec<NewMessage>,
    pub cursors: Vec<Cursor>,
}

/// What [`store`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MailSummary {
    pub messages: u64,
    pub messages_new: u64,
    /// Messages whose Message-ID came twice in the batch (the first one is kept).
    pub duplicates: u64,
    pub threads: u64,
    pub links_new: u64,
    /// Sites moved to `fix_proposed` (file:line).
    pub fix_proposed: Vec<String>,
    pub trailers_new: u64,
    pub answers_new: u64,
    /// Claims released because the claimant's patch for the site arrived.
    pub claims_released: u64,
    pub import_ids: Vec<ImportId>,
}

impl MailSummary {
    /// True when the batch changed nothing.
    pub fn is_noop(&self) -> bool {
        self.messages_new == 0 && self.links_new == 0 && self.answers_new == 0
    }
}

/// A site mail may link to, with what linking matches on (file, line, function, callee).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCandidate {
    pub id: SiteId,
    pub campaign: CampaignId,
    pub file: String,
    pub line: i64,
    pub function: Option<String>,
    pub callee: String,
    /// The call as written (matched against patch hunks by content, not by line).
    pub code: String,
}

/// `https://lore.kernel.org/r/<msgid>`, the Message-ID percent-encoded where URLs need it.
pub fn lore_url(msgid: &str) -> String {
    let mut out = String::from("https://lore.kernel.org/r/");
    for b in msgid.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lore_urls_encode_odd_ids() {
        assert_eq!(
            lore_url("YJQkqP19pj3C/75N@zeniv-ca.linux.org.uk"),
            "https://lore.kernel.org/r/YJQkqP19pj3C%2F75N@zeniv-ca.linux.org.uk"
        );
    }
}
