//! treewide-importer: outside formats into treewide-core values, and back out.

pub mod auditor;
pub mod demo;
pub mod github;
pub mod github_issue;
pub mod history;
pub mod mail;
pub mod maintainers;
pub mod scan;
