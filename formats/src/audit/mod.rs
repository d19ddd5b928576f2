//! The auditor's JSON format `treewide-audit/1` (docs/auditor-json.md,
//! docs/auditor-json.schema.json): read a document with errors that say where, and the one
//! writer of it, used by `treewide export`, the web export and `treewide scan --json`.

mod document;

use std::fmt;
use std::io::Write;

pub use document::{
    CampaignDoc, CampaignNoteDoc, CommitId, ContextDoc, Date, Document, FormatTag, Ident, Invalid,
    NonEmpty, PersonDoc, RefDoc, SiteDoc, SiteNoteDoc, SpecName, SubsystemDoc, TreeDoc, ValidMatch,
    VerdictDoc,
};

/// The format tag this module reads and writes.
pub const FORMAT: &str = "treewide-audit/1";

/// Why an auditor file was refused: where, which field, what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError {
    pub file: String,
    /// JSON line and column (1-based), when known.
    pub position: Option<(usize, usize)>,
    /// The field, e.g. `sites[3].status` (empty for the document itself).
    pub path: String,
    pub message: String,
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((l, c)) = self.position {
            write!(f, ":{l}:{c}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for AuditError {}

/// Parse a document from bytes; `name` is used in errors.
pub fn parse_document(name: &str, bytes: &[u8]) -> Result<Document, AuditError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let doc: Document = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let position = (inner.line() > 0).then(|| (inner.line(), inner.column()));
        let mut message = inner.to_string();
        // serde_json appends the position, which we print up front.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        if inner.is_syntax() || inner.is_eof() {
            message = format!("not valid JSON: {message}");
        }
        AuditError {
            file: name.to_owned(),
            position,
            path: if path == "." { String::new() } else { path },
            message,
        }
    })?;
    de.end().map_err(|e| AuditError {
        file: name.to_owned(),
        position: Some((e.line(), e.column())),
        path: String::new(),
        message: "trailing characters after the JSON document".into(),
    })?;
    Ok(doc)
}

/// Write a document as pretty JSON and a final newline: the one writer of the format.
pub fn write(doc: &Document, out: &mut dyn Write) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    out.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> AuditError {
        parse_document("t.json", json.as_bytes()).unwrap_err()
    }

    const MIN: &str = r#"{"format":"treewide-audit/1","campaign":{"slug":"x"},"sites":[{"file":"a/b.c","line":3,"callee":"iov_iter_bvec"}]}"#;

    #[test]
    fn errors_name_position_field_and_expectation() {
        let e = err(&MIN.replace("\"line\":3", "\"line\":0"));
        assert_eq!(e.path, "sites[0].line");
        assert!(e.position.is_some());
        assert!(e.to_string().starts_with("t.json:1:"), "{e}");

        let e = err(&MIN.replace("\"callee\"", "\"status\":\"done\",\"callee\""));
        assert_eq!(e.path, "sites[0].status");
        assert!(e.message.contains("confirmed_safe"), "{e}");

        let e = err(&MIN.replace("treewide-audit/1", "treewide-audit/2"));
        assert_eq!(e.path, "format");
        assert!(e.message.contains("expected \"treewide-audit/1\""), "{e}");

        let e = err(&MIN.replace("\"line\":3", "\"line\":3,\"colour\":1"));
        assert!(e.message.contains("unknown field `colour`"), "{e}");

        let e = err(&MIN.replace("a/b.c", "../b.c"));
        assert_eq!(e.path, "sites[0].file");
        let e = err(&MIN.replace("a/b.c", "/abs/b.c"));
        assert!(e.message.contains("absolute"), "{e}");

        let e = err(&MIN.replace(",\"callee\":\"iov_iter_bvec\"", ""));
        assert!(e.message.contains("missing field `callee`"), "{e}");
        assert_eq!(e.path, "sites[0]");

        let e = err("{\"format\": ");
        assert!(e.message.starts_with("not valid JSON"), "{e}");
        let e = err(&format!("{MIN} x"));
        assert!(e.message.contains("trailing"), "{e}");
    }

    #[test]
    fn refs_need_exactly_one_target() {
        let two = MIN.replace("\"callee\":\"iov_iter_bvec\"", "\"callee\":\"iov_iter_bvec\",\"refs\":[{\"commit\":\"abcdef0\",\"url\":\"https://x\"}]");
        assert!(err(&two).message.contains("exactly one"));
        let ok = MIN.replace(
            "\"callee\":\"iov_iter_bvec\"",
            "\"callee\":\"iov_iter_bvec\",\"refs\":[{\"message_id\":\"<a@b>\"}]",
        );
        let doc = parse_document("t", ok.as_bytes()).unwrap();
        assert_eq!(doc.sites[0].refs[0].clone().into_spec().target, "a@b");
    }

    #[test]
    fn empty_or_bad_verdict_matches_are_refused() {
        let v = MIN.replace(
            "\"sites\"",
            "\"verdicts\":[{\"match\":{},\"status\":\"fixed\"}],\"sites\"",
        );
        let e = err(&v);
        assert_eq!(e.path, "verdicts[0].match");
        assert!(e.message.contains("at least one"), "{e}");
    }
}
