//! Threads worked out in memory: who replies to whom, each message's root, the patches a
//! trailer is about, and the reading order of a thread. Pure: the store step and the queries
//! hand it rows and write or show what it works out.

use std::collections::{HashMap, HashSet};

use super::{MessageHead, NewMessage};
use crate::history::patch_title;

/// The parent of a message among those present: In-Reply-To, else the nearest reference.
pub(super) fn parent_of<'a>(
    me: &str,
    in_reply_to: Option<&'a str>,
    refs: impl DoubleEndedIterator<Item = &'a str>,
    present: &impl Fn(&str) -> bool,
) -> Option<&'a str> {
    in_reply_to
        .filter(|p| *p != me && present(p))
        .or_else(|| refs.rev().find(|r| *r != me && present(r)))
}

/// The Message-IDs a message refers to: In-Reply-To and References.
pub(super) fn mentions(m: &NewMessage) -> impl Iterator<Item = &str> {
    m.in_reply_to
        .iter()
        .chain(&m.references)
        .map(String::as_str)
}

/// A stored message as the thread graph needs it.
pub(super) struct StoredNode {
    pub(super) id: i64,
    pub(super) message_id: String,
    pub(super) thread_root: String,
    pub(super) in_reply_to: Option<String>,
    pub(super) refs: String,
    pub(super) has_diff: bool,
    pub(super) patch_prefix: Option<String>,
    pub(super) subject: String,
}

/// One message in the thread graph.
pub(super) struct Node<'a> {
    pub(super) id: i64,
    pub(super) msgid: &'a str,
    /// The stored root (`None` for a new message).
    pub(super) old_root: Option<&'a str>,
    pub(super) in_reply_to: Option<&'a str>,
    pub(super) refs: Vec<&'a str>,
    has_diff: bool,
    cover: bool,
    /// The subject as a patch title (`patch_title`), for trailers about one patch.
    title: String,
}

/// The new messages and the stored threads they touch, and who replies to whom. Nodes are
/// in id order (stored ones first), as a whole-database graph would visit them.
pub(super) struct Graph<'a> {
    pub(super) nodes: Vec<Node<'a>>,
    pub(super) index: HashMap<&'a str, usize>,
    /// Each node's parent, computed once (the cover-letter lookup below needs children).
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    /// `stored` (by id), then `fresh`, numbered from `first_id` on.
    pub(super) fn new(
        stored: &'a [StoredNode],
        fresh: &[&'a NewMessage],
        first_id: i64,
    ) -> Graph<'a> {
        let mut nodes: Vec<Node<'a>> = Vec::with_capacity(stored.len() + fresh.len());
        nodes.extend(stored.iter().map(|r| Node {
            id: r.id,
            msgid: &r.message_id,
            old_root: Some(&r.thread_root),
            in_reply_to: r.in_reply_to.as_deref(),
            refs: r.refs.split_ascii_whitespace().collect(),
            has_diff: r.has_diff,
            cover: !r.has_diff && r.patch_prefix.as_deref().is_some_and(is_cover_prefix),
            title: patch_title(&r.subject),
        }));
        nodes.extend(fresh.iter().zip(first_id..).map(|(m, id)| Node {
            id,
            msgid: &m.message_id,
            old_root: None,
            in_reply_to: m.in_reply_to.as_deref(),
            refs: m.references.iter().map(String::as_str).collect(),
            has_diff: m.has_diff,
            cover: !m.has_diff && m.patch_prefix.as_deref().is_some_and(is_cover_prefix),
            title: patch_title(&m.subject),
        }));
        let index: HashMap<&'a str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.msgid, i))
            .collect();
        let present = |m: &str| index.contains_key(m);
        let parents: Vec<Option<usize>> = nodes
            .iter()
            .map(|n| {
                parent_of(n.msgid, n.in_reply_to, n.refs.iter().copied(), &present)
                    .and_then(|p| index.get(p).copied())
            })
            .collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, p) in parents.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        Graph {
            nodes,
            index,
            parents,
            children,
        }
    }

    /// The node of the stored message with database id `id`.
    pub(super) fn stored_index(&self, id: i64, stored: usize) -> Option<usize> {
        self.nodes[..stored]
            .binary_search_by_key(&id, |n| n.id)
            .ok()
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.parents[i]
    }

    /// Each message's root: its earliest ancestor present (cycles end where they loop).
    pub(super) fn roots(&self) -> Vec<usize> {
        let parents = &self.parents;
        let mut roots: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for start in 0..self.nodes.len() {
            let mut path = vec![start];
            let mut on_path = HashSet::from([start]);
            let mut cur = start;
            let root = loop {
                if let Some(r) = roots[cur] {
                    break r;
                }
                match parents[cur] {
                    Some(p) if on_path.insert(p) => {
                        path.push(p);
                        cur = p;
                    }
                    _ => break cur,
                }
            };
            for i in path {
                roots[i] = Some(root);
            }
        }
        roots
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.unwrap_or(i))
            .collect()
    }

    /// The stored messages (`nodes[..stored]`) whose root `roots` changes: (id, Message-ID,
    /// new root), in id order.
    pub(super) fn rerooted(&self, roots: &[usize], stored: usize) -> Vec<(i64, &'a str, &'a str)> {
        self.nodes[..stored]
            .iter()
            .zip(roots)
            .filter_map(|(n, r)| {
                let root = self.nodes[*r].msgid;
                (n.old_root != Some(root)).then_some((n.id, n.msgid, root))
            })
            .collect()
    }

    /// The patches a trailer in message `i` is about: the patch it is, or replies to; for a
    /// reply to a cover letter, the series' patches whose titles are in `about` (the quoted
    /// patches the trailer stands under), or all of them when `about` is empty.
    pub(super) fn patches_for(&self, i: usize, about: &[String]) -> Vec<usize> {
        if self.nodes[i].has_diff {
            return vec![i];
        }
        let mut seen = HashSet::from([i]);
        let mut cur = i;
        while let Some(p) = self.parent(cur) {
            if !seen.insert(p) {
                break;
            }
            let n = &self.nodes[p];
            if n.has_diff {
                return vec![p];
            }
            if n.cover {
                return self.children[p]
                    .iter()
                    .copied()
                    .filter(|c| self.nodes[*c].has_diff)
                    .filter(|c| about.is_empty() || about.contains(&self.nodes[*c].title))
                    .collect();
            }
            cur = p;
        }
        Vec::new()
    }
}

/// `PATCH v3 0/7`: a series' cover letter.
fn is_cover_prefix(p: &str) -> bool {
    p.split_ascii_whitespace()
        .any(|w| w.starts_with("0/") || w.starts_with("00/") || w.starts_with("000/"))
}

/// Order messages as threads: each root followed by its replies depth-first, by date.
/// Returns (index into `msgs`, depth).
pub fn thread_order(msgs: &[MessageHead], refs: &HashMap<String, String>) -> Vec<(usize, u32)> {
    let index: HashMap<&str, usize> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| (m.message_id.as_str(), i))
        .collect();
    let present = |m: &str| index.contains_key(m);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); msgs.len()];
    let mut tops = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let r = refs.get(&m.message_id).map_or("", String::as_str);
        match parent_of(
            &m.message_id,
            m.in_reply_to.as_deref(),
            r.split_ascii_whitespace(),
            &present,
        )
        .and_then(|p| index.get(p))
        {
            Some(&p) => children[p].push(i),
            None => tops.push(i),
        }
    }
    let mut out = Vec::with_capacity(msgs.len());
    let mut done = vec![false; msgs.len()];
    let mut stack: Vec<(usize, u32)> = tops.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((i, d)) = stack.pop() {
        if std::mem::replace(&mut done[i], true) {
            continue;
        }
        out.push((i, d));
        for c in children[i].iter().rev() {
            stack.push((*c, d + 1));
        }
    }
    // Messages caught in a reference cycle are shown flat at the end.
    out.extend((0..msgs.len()).filter(|i| !done[*i]).map(|i| (i, 0)));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn head(id: &str, irt: Option<&str>) -> MessageHead {
        MessageHead {
            message_id: id.into(),
            subject: String::new(),
            from_name: String::new(),
            from_email: String::new(),
            date: None,
            list: None,
            in_reply_to: irt.map(Into::into),
            has_diff: false,
            patch_prefix: None,
            subject_tag: None,
            thread_root: String::new(),
        }
    }

    #[test]
    fn thread_order_nests_replies_and_keeps_orphans() {
        let msgs = vec![
            head("a", None),
            head("c", Some("absent")),
            head("b", Some("a")),
            head("d", Some("b")),
        ];
        let mut refs = HashMap::new();
        refs.insert("c".to_string(), "a absent".to_string());
        let order = thread_order(&msgs, &refs);
        let ids: Vec<_> = order
            .iter()
            .map(|(i, d)| (msgs[*i].message_id.as_str(), *d))
            .collect();
        // c's parent is absent: its nearest present reference (a) is used.
        assert_eq!(ids, vec![("a", 0), ("c", 1), ("b", 1), ("d", 2)]);
    }

    #[test]
    fn cover_letters_by_prefix() {
        assert!(is_cover_prefix("PATCH v3 0/7"));
        assert!(is_cover_prefix("PATCH 00/12"));
        assert!(!is_cover_prefix("PATCH v3 1/7"));
    }

    fn new_message(id: &str, irt: Option<&str>, prefix: Option<&str>, diff: bool) -> NewMessage {
        NewMessage {
            message_id: id.into(),
            derived_id: false,
            subject: String::new(),
            from_name: String::new(),
            from_email: String::new(),
            date: None,
            list: None,
            in_reply_to: irt.map(Into::into),
            references: irt.into_iter().map(Into::into).collect(),
            body: String::new(),
            body_zstd: None,
            has_diff: diff,
            patch_prefix: prefix.map(Into::into),
            subject_tag: None,
            sha256: String::new(),
            trailers: Vec::new(),
            links: Vec::new(),
            revision_key: None,
            change_id: None,
            applied: None,
        }
    }

    #[test]
    fn a_missing_parent_that_arrives_re_roots_the_stored_reply() {
        let stored = vec![StoredNode {
            id: 1,
            message_id: "reply".into(),
            thread_root: "reply".into(),
            in_reply_to: Some("patch".into()),
            refs: "patch".into(),
            has_diff: false,
            patch_prefix: None,
            subject: "Re: [PATCH] x".into(),
        }];
        let patch = new_message("patch", None, Some("PATCH"), true);
        let graph = Graph::new(&stored, &[&patch], 2);
        let roots = graph.roots();
        assert_eq!(graph.nodes[roots[0]].msgid, "patch");
        assert_eq!(graph.rerooted(&roots, 1), vec![(1, "reply", "patch")]);
    }

    #[test]
    fn a_trailer_on_a_cover_letter_is_about_every_patch_of_the_series() {
        let cover = new_message("cover", None, Some("PATCH 0/2"), false);
        let p1 = new_message("p1", Some("cover"), Some("PATCH 1/2"), true);
        let p2 = new_message("p2", Some("cover"), Some("PATCH 2/2"), true);
        let ack = new_message("ack", Some("cover"), None, false);
        let graph = Graph::new(&[], &[&cover, &p1, &p2, &ack], 1);
        assert_eq!(graph.patches_for(3, &[]), vec![1, 2]);
        assert_eq!(graph.patches_for(1, &[]), vec![1]);
    }

    #[test]
    fn a_trailer_under_a_quoted_patch_title_is_about_that_patch_only() {
        let cover = new_message("cover", None, Some("PATCH 0/2"), false);
        let mut p1 = new_message("p1", Some("cover"), Some("PATCH 1/2"), true);
        p1.subject = "[PATCH 1/2] foo: one".into();
        let mut p2 = new_message("p2", Some("cover"), Some("PATCH 2/2"), true);
        p2.subject = "[PATCH 2/2] foo: two".into();
        let review = new_message("review", Some("cover"), None, false);
        let graph = Graph::new(&[], &[&cover, &p1, &p2, &review], 1);
        assert_eq!(graph.patches_for(3, &["foo: two".into()]), vec![2]);
        assert_eq!(graph.patches_for(3, &[]), vec![1, 2]);
    }
}
