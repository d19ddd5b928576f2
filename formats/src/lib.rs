//! treewide-formats: treewide's own formats, for the importer and the web server alike.
//!
//! Nothing here reads git, GitHub, mail or parses C with tree-sitter: the web server depends
//! on this crate and should not pull those in.

pub mod audit;
pub mod calls;
pub mod check;
pub mod export;
pub mod spec;
