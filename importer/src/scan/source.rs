//! One file's calls: each textual occurrence `callee (` found by the call pattern is
//! resolved against the file's tree-sitter-c syntax tree. A call expression gives a site with
//! its enclosing function and arguments; an occurrence in a comment or string, or the name in
//! a declaration, is not a call; anything else (a macro body, code tree-sitter could not
//! parse) still becomes a site, found by text, so nothing is skipped silently.

use tree_sitter::{Node, Parser, Tree};
use treewide_formats::calls::{collapse, text_call, CallMatcher};
use treewide_formats::spec::Spec;

/// Lines of context kept on each side of a call.
pub const CONTEXT_LINES: usize = 5;

/// One call found in the tree.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FoundSite {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// Enclosing function (or macro, for a call in a macro body).
    pub function: Option<String>,
    pub callee: String,
    /// The call's text on one line (whitespace collapsed), with `;` when the statement ends there.
    pub code: String,
    pub args: Vec<String>,
    /// ±[`CONTEXT_LINES`] lines of source, and the number of the first one.
    pub context: String,
    pub context_start: u32,
    /// Found by text, not as a call expression in the syntax tree.
    pub by_text: bool,
}

/// A file the parser could not fully understand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    pub file: String,
    pub reason: String,
    /// Sites in it found by text only.
    pub text_sites: u32,
}

/// A tree-sitter parser for C.
pub fn new_parser() -> Parser {
    let mut p = Parser::new();
    // The grammar is compiled into the binary; a version mismatch would be a build error.
    p.set_language(&tree_sitter_c::LANGUAGE.into())
        .expect("tree-sitter-c grammar matches the tree-sitter runtime");
    p
}

/// Scan one file's bytes. Returns its sites and, if the parse had errors, the problem.
pub fn scan_source(
    file: &str,
    src: &[u8],
    spec: &Spec,
    matcher: &CallMatcher,
    parser: &mut Parser,
) -> (Vec<FoundSite>, Option<Problem>) {
    let (sites, problem, _) = scan_source_explained(file, src, spec, matcher, parser);
    (sites, problem)
}

/// Why a textual `callee(` is not a call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotACall {
    /// In a comment or a string literal.
    CommentOrString,
    /// The name in a function's declaration or definition.
    Declaration,
}

/// [`scan_source`], also saying which occurrences were passed over and why (line, reason).
pub fn scan_source_explained(
    file: &str,
    src: &[u8],
    spec: &Spec,
    matcher: &CallMatcher,
    parser: &mut Parser,
) -> (Vec<FoundSite>, Option<Problem>, Vec<(u32, NotACall)>) {
    let mut skipped = Vec::new();
    let mut occurrences = Vec::new();
    for name in matcher.callee_names(src) {
        let callee = String::from_utf8_lossy(name.as_bytes()).into_owned();
        if spec.group_of(&callee).is_some() {
            occurrences.push((name.start(), name.end(), callee));
        }
    }
    if occurrences.is_empty() {
        return (Vec::new(), None, skipped);
    }
    let tree: Option<Tree> = parser.parse(src, None);
    let lines = LineIndex::new(src);
    let mut sites = Vec::with_capacity(occurrences.len());
    let mut text_sites = 0;
    // Lines of calls found by text because the parser failed around them (not macro bodies).
    let mut parse_failures = Vec::new();
    for (start, end, callee) in occurrences {
        let (line, column) = lines.position(start);
        let node = tree
            .as_ref()
            .and_then(|t| t.root_node().descendant_for_byte_range(start, end));
        if let Some(n) = node {
            if in_comment_or_string(n) {
                skipped.push((line, NotACall::CommentOrString));
                continue;
            }
            if is_declarator(n) && !is_misparsed_call(src, n) {
                skipped.push((line, NotACall::Declaration));
                continue;
            }
        }
        let call = node.and_then(|n| call_of(n, start));
        if call.is_none()
            && node.is_some_and(|n| has_error_ancestor(n) || is_misparsed_call(src, n))
        {
            parse_failures.push(line);
        }
        let (code_end, args, by_text) = match call {
            Some(call) => {
                let args = call
                    .child_by_field_name("arguments")
                    .map(|a| {
                        let mut c = a.walk();
                        a.named_children(&mut c)
                            .filter(|n| n.kind() != "comment")
                            .map(|n| collapse(&src[n.byte_range()]))
                            .collect()
                    })
                    .unwrap_or_default();
                (call.end_byte(), args, false)
            }
            None => {
                let (end, args) = text_call(src, end);
                (end, args, true)
            }
        };
        if by_text {
            text_sites += 1;
        }
        let mut code = collapse(&src[start..code_end]);
        if src[code_end..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b';') {
            code.push(';');
        }
        let (context, context_start) = lines.context(src, line);
        sites.push(FoundSite {
            file: file.to_owned(),
            line,
            column,
            function: node.and_then(enclosing_definition(src)),
            callee,
            code,
            args,
            context,
            context_start,
            by_text,
        });
    }
    // A parse error elsewhere in the file does not matter to the campaign; one around a call
    // does: that call was found by text only.
    let problem = match (&tree, parse_failures.first()) {
        (None, _) => Some(Problem {
            file: file.to_owned(),
            reason: "tree-sitter gave up on the file; its calls were found by text".into(),
            text_sites,
        }),
        (Some(_), Some(line)) => Some(Problem {
            file: file.to_owned(),
            reason: format!(
                "tree-sitter could not parse the code around line {line}; {} call(s) found by text",
                parse_failures.len()
            ),
            text_sites,
        }),
        (Some(_), None) => None,
    };
    (sites, problem, skipped)
}

/// The call expression whose callee identifier starts at `start`.
fn call_of(ident: Node<'_>, start: usize) -> Option<Node<'_>> {
    if ident.kind() != "identifier" || ident.start_byte() != start {
        return None;
    }
    let call = ident.parent()?;
    (call.kind() == "call_expression" && call.child_by_field_name("function") == Some(ident))
        .then_some(call)
}

/// The name in a function's declaration or definition (`void iov_iter_init(struct …)`).
fn is_declarator(n: Node<'_>) -> bool {
    n.kind() == "identifier"
        && n.parent().is_some_and(|p| {
            p.kind() == "function_declarator" && p.child_by_field_name("declarator") == Some(n)
        })
}

/// A call tree-sitter read as a declaration because preprocessor lines split its statement:
/// `#ifdef X` / `else` / `strlcpy(a, b, n);` / `#endif` parses as a declaration of type
/// `else`. A "type" that is a C keyword says the parse went wrong there; the call is then
/// found by text and the file reported as not fully parsed.
fn is_misparsed_call(src: &[u8], n: Node<'_>) -> bool {
    const STATEMENT_KEYWORDS: [&[u8]; 6] =
        [b"else", b"do", b"return", b"case", b"default", b"goto"];
    is_declarator(n)
        && n.parent()
            .and_then(|d| d.parent())
            .filter(|decl| decl.kind() == "declaration" || decl.is_error())
            .and_then(|decl| {
                decl.child_by_field_name("type").or_else(|| {
                    decl.named_child(0)
                        .filter(|c| c.kind() == "type_identifier")
                })
            })
            .is_some_and(|t| STATEMENT_KEYWORDS.contains(&&src[t.byte_range()]))
}

fn in_comment_or_string(n: Node<'_>) -> bool {
    let mut cur = Some(n);
    while let Some(x) = cur {
        if matches!(
            x.kind(),
            "comment" | "string_literal" | "char_literal" | "system_lib_string" | "string_content"
        ) {
            return true;
        }
        cur = x.parent();
    }
    false
}

/// The name of the function (or macro) definition around `n`.
fn enclosing_definition(src: &[u8]) -> impl Fn(Node<'_>) -> Option<String> + '_ {
    move |n| {
        let mut cur = Some(n);
        let mut blocks = Vec::new();
        while let Some(x) = cur {
            match x.kind() {
                "function_definition" => {
                    return declarator_name(src, x.child_by_field_name("declarator")?)
                }
                "preproc_function_def" | "preproc_def" => {
                    return x.child_by_field_name("name").map(|n| text(src, n));
                }
                "compound_statement" => blocks.push(x),
                _ => {}
            }
            cur = x.parent();
        }
        // Outermost first: the function body, not a nested block.
        blocks
            .into_iter()
            .rev()
            .find_map(|b| macro_defined_function(src, b))
    }
}

/// A body defined through a macro, `SYSCALL_DEFINE3(getrandom, …) { … }`, parses as a call
/// statement followed by a bare block: name the function as the kernel does (`sys_getrandom`),
/// or after the macro.
fn macro_defined_function(src: &[u8], block: Node<'_>) -> Option<String> {
    if block.kind() != "compound_statement" {
        return None;
    }
    let mut head = block.prev_named_sibling()?;
    while head.kind() == "comment" {
        head = head.prev_named_sibling()?;
    }
    let call = match head.kind() {
        "expression_statement" => head.named_child(0)?,
        "call_expression" => head,
        _ => return None,
    };
    if call.kind() != "call_expression" {
        return None;
    }
    let name = text(src, call.child_by_field_name("function")?);
    let first = call
        .child_by_field_name("arguments")
        .and_then(|a| a.named_child(0))
        .filter(|a| a.kind() == "identifier")
        .map(|a| text(src, a));
    let prefix = if name.starts_with("COMPAT_SYSCALL_DEFINE") {
        Some("compat_sys_")
    } else if name.starts_with("SYSCALL_DEFINE") {
        Some("sys_")
    } else {
        None
    };
    Some(match (prefix, first) {
        (Some(p), Some(f)) => format!("{p}{f}"),
        _ => name,
    })
}

fn declarator_name(src: &[u8], mut d: Node<'_>) -> Option<String> {
    loop {
        match d.kind() {
            "identifier" => return Some(text(src, d)),
            "function_declarator"
            | "pointer_declarator"
            | "parenthesized_declarator"
            | "attributed_declarator" => {
                d = d
                    .child_by_field_name("declarator")
                    .or_else(|| d.named_child(0))?;
            }
            _ => return None,
        }
    }
}

fn has_error_ancestor(n: Node<'_>) -> bool {
    let mut cur = Some(n);
    while let Some(x) = cur {
        if x.is_error() || x.is_missing() {
            return true;
        }
        cur = x.parent();
    }
    false
}

fn text(src: &[u8], n: Node<'_>) -> String {
    String::from_utf8_lossy(&src[n.byte_range()]).into_owned()
}

/// Byte offset → line/column, and context lines.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', src).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and byte column.
    fn position(&self, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|s| *s <= offset);
        let col = offset - self.starts[line - 1] + 1;
        (line as u32, col as u32)
    }

    fn context(&self, src: &[u8], line: u32) -> (String, u32) {
        let first = (line as usize).saturating_sub(CONTEXT_LINES).max(1);
        let last = (line as usize + CONTEXT_LINES).min(self.starts.len());
        let from = self.starts[first - 1];
        let to = self.starts.get(last).copied().unwrap_or(src.len());
        let text = String::from_utf8_lossy(&src[from..to])
            .trim_end_matches('\n')
            .to_owned();
        (text, first as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(src: &str, spec: &str) -> (Vec<FoundSite>, Option<Problem>) {
        let spec = Spec::load(spec).unwrap();
        let m = CallMatcher::new(&spec).unwrap();
        scan_source("t.c", src.as_bytes(), &spec, &m, &mut new_parser())
    }

    #[test]
    fn finds_calls_with_function_direction_and_text() {
        let src = "static int f(struct kiocb *k)\n{\n\tiov_iter_bvec(&iter, READ,\n\t\t      bv, 1, len);\n\treturn 0;\n}\n";
        let (s, p) = scan(src, "iov-iter-direction");
        assert!(p.is_none());
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!((s.line, s.column), (3, 2));
        assert_eq!(s.function.as_deref(), Some("f"));
        assert_eq!(s.code, "iov_iter_bvec(&iter, READ, bv, 1, len);");
        assert_eq!(s.args, vec!["&iter", "READ", "bv", "1", "len"]);
        assert!(!s.by_text);
        assert_eq!(s.context_start, 1);
        assert!(s.context.contains("return 0;"));
    }

    #[test]
    fn comments_and_strings_are_not_calls_but_macros_and_ifdefs_are() {
        let src = r#"
/* iov_iter_kvec(&i, READ, ...) in a comment */
#define KV(i, v) iov_iter_kvec(i, WRITE, v, 1, 8)
static const char *s = "iov_iter_kvec(";
void *g(int x) {
#ifdef CONFIG_X
	iov_iter_kvec(&a, ITER_SOURCE, v, 1, n);
#else
	iov_iter_kvec(&b, ITER_DEST, v, 1, n);
#endif
	return wrap(iov_iter_kvec(&c, dir, v, 1, n));
}
"#;
        let (s, _) = scan(src, "iov-iter-direction");
        let got: Vec<_> = s
            .iter()
            .map(|s| {
                (
                    s.line,
                    s.function.as_deref().unwrap_or("-"),
                    s.args[1].as_str(),
                    s.by_text,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "KV", "WRITE", true),
                (7, "g", "ITER_SOURCE", false),
                (9, "g", "ITER_DEST", false),
                (11, "g", "dir", false),
            ]
        );
        assert_eq!(
            s[3].code, "iov_iter_kvec(&c, dir, v, 1, n)",
            "no ; inside an outer call"
        );
    }

    #[test]
    fn pointer_returning_functions_and_globbed_callees() {
        let src = "static struct page **get(struct iov_iter *i)\n{\n\tn = iov_iter_get_pages_alloc2(i, &pages, max, &off);\n}\n";
        let (s, _) = scan(src, "iov-iter-pin");
        assert_eq!(s[0].function.as_deref(), Some("get"));
        assert_eq!(s[0].callee, "iov_iter_get_pages_alloc2");
        assert_eq!(
            s[0].code,
            "iov_iter_get_pages_alloc2(i, &pages, max, &off);"
        );
    }

    #[test]
    fn broken_code_is_reported_and_its_calls_still_found() {
        let src = "void h(void) {\n\tFOO BAR BAZ(;\n\tiov_iter_init(&i, WRITE, iov, n, len);\n}\n";
        let (s, p) = scan(src, "iov-iter-direction");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].args.get(1).map(String::as_str), Some("WRITE"));
        if s[0].by_text {
            let p = p.expect("a call found by text in broken code is reported");
            assert!(p.reason.contains("line 3"), "{}", p.reason);
        }
    }

    #[test]
    fn a_call_that_preprocessor_lines_split_from_its_if_is_found_and_reported() {
        // arch/nios2/kernel/setup.c (linux-source-6.1): the `else` branch is inside an #ifdef.
        let src = "void f(void)\n{\n#ifndef CONFIG_CMDLINE_FORCE\n\tif (cmdline_passed[0])\n                   \t\tiov_iter_init(&i, READ, v, 1, n);\n#ifdef CONFIG_NIOS2_CMDLINE_IGNORE_DTB\n                   \telse\n\t\tiov_iter_init(&i, WRITE, v, 1, n);\n#endif\n#endif\n}\n";
        let (s, p) = scan(src, "iov-iter-direction");
        let lines: Vec<u32> = s.iter().map(|c| c.line).collect();
        assert_eq!(lines, [5, 8]);
        assert_eq!(s[1].args.get(1).map(String::as_str), Some("WRITE"));
        let p = p.expect("the misparsed branch is reported");
        assert!(p.reason.contains("line 8"), "{}", p.reason);
    }

    #[test]
    fn debug_tree_of_syscall_define() {
        let src = "SYSCALL_DEFINE3(getrandom, char __user *, ubuf, size_t, len, unsigned int, flags)\n{\n\tstruct iov_iter iter;\n\tret = import_single_range(ITER_DEST, ubuf, len, &iov, &iter);\n}\n";
        let mut p = new_parser();
        let t = p.parse(src, None).unwrap();
        eprintln!("{}", t.root_node().to_sexp());
    }

    #[test]
    fn declarations_are_not_calls_and_syscalls_have_names() {
        let src = "void iov_iter_init(struct iov_iter *i, unsigned int direction);\n\
                   void iov_iter_init(struct iov_iter *i, unsigned int direction)\n{\n}\n\
                   SYSCALL_DEFINE3(getrandom, char __user *, ubuf, size_t, len, unsigned int, flags)\n{\n\
                   \tret = import_single_range(ITER_DEST, ubuf, len, &iov, &iter);\n}\n\
                   COMPAT_SYSCALL_DEFINE2(preadv2, int, fd, long, x)\n{\n\tiov_iter_init(&i, READ, v, 1, n);\n}\n";
        let (s, _) = scan(src, "iov-iter-direction");
        let got: Vec<_> = s
            .iter()
            .map(|s| (s.line, s.function.as_deref().unwrap_or("-")))
            .collect();
        assert_eq!(got, vec![(7, "sys_getrandom"), (11, "compat_sys_preadv2")]);
    }
}
