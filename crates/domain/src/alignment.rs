//! The alignment tree of a period as a flat, depth-first list, with hidden
//! objectives left out and their visible descendants attached to the
//! nearest visible ancestor.

use crate::ObjectiveId;
use std::collections::{HashMap, HashSet};

/// One objective of the period, with what ordering and visibility need.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    pub id: ObjectiveId,
    pub parent: Option<ObjectiveId>,
    /// Siblings are ordered by this key (company first, then units, then
    /// people; by title within), then by id.
    pub sort_key: (u8, String),
    pub visible: bool,
}

/// A row of the flattened tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatRow {
    pub id: ObjectiveId,
    /// Depth among visible rows: 0 for a root.
    pub depth: u32,
    /// The nearest visible ancestor in the tree.
    pub parent: Option<ObjectiveId>,
}

/// Flattens the tree below `root` (or the whole forest) depth-first.
/// Returns the visible rows down to `max_depth` and how many objectives of
/// the walked subtree were hidden. Objectives whose parent is outside
/// `nodes` (another period) are roots.
pub fn flatten(nodes: &[TreeNode], root: Option<ObjectiveId>, max_depth: Option<u32>) -> (Vec<FlatRow>, u32) {
    let ids: HashSet<ObjectiveId> = nodes.iter().map(|n| n.id).collect();
    let by_id: HashMap<ObjectiveId, &TreeNode> = nodes.iter().map(|n| (n.id, n)).collect();
    let mut children: HashMap<Option<ObjectiveId>, Vec<&TreeNode>> = HashMap::new();
    for n in nodes {
        let parent = n.parent.filter(|p| ids.contains(p) && *p != n.id);
        children.entry(parent).or_default().push(n);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.sort_key.cmp(&b.sort_key).then(a.id.cmp(&b.id)));
    }
    let starts: Vec<&TreeNode> = match root {
        Some(r) => by_id.get(&r).copied().into_iter().collect(),
        None => children.get(&None).cloned().unwrap_or_default(),
    };
    let mut rows = Vec::new();
    let mut hidden = 0u32;
    let mut seen = HashSet::new();
    // (node, visible ancestor, depth the node gets if visible)
    let mut stack: Vec<(&TreeNode, Option<ObjectiveId>, u32)> =
        starts.into_iter().rev().map(|n| (n, None, 0)).collect();
    while let Some((node, visible_parent, depth)) = stack.pop() {
        if !seen.insert(node.id) {
            continue; // a cycle written behind the application's back
        }
        let (next_parent, next_depth) = if node.visible {
            if max_depth.is_none_or(|m| depth <= m) {
                rows.push(FlatRow { id: node.id, depth, parent: visible_parent });
            }
            (Some(node.id), depth + 1)
        } else {
            hidden += 1;
            (visible_parent, depth)
        };
        if let Some(kids) = children.get(&Some(node.id)) {
            for kid in kids.iter().rev() {
                stack.push((kid, next_parent, next_depth));
            }
        }
    }
    (rows, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: ObjectiveId, parent: Option<ObjectiveId>, title: &str, visible: bool) -> TreeNode {
        TreeNode { id, parent, sort_key: (0, title.to_owned()), visible }
    }

    #[test]
    fn depth_first_with_hidden_nodes_skipped() {
        let ids: Vec<ObjectiveId> = (0..6).map(|_| ObjectiveId::new()).collect();
        let (a, b, c, d, e, f) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
        // a ─ b (hidden) ─ c
        //   └ d ─ e
        // f (another root)
        let nodes = vec![
            node(a, None, "A", true),
            node(b, Some(a), "B", false),
            node(c, Some(b), "C", true),
            node(d, Some(a), "D", true),
            node(e, Some(d), "E", true),
            node(f, None, "F", true),
        ];
        let (rows, hidden) = flatten(&nodes, None, None);
        let got: Vec<(ObjectiveId, u32, Option<ObjectiveId>)> =
            rows.iter().map(|r| (r.id, r.depth, r.parent)).collect();
        // c attaches to a (its nearest visible ancestor) at depth 1.
        assert_eq!(got, vec![(a, 0, None), (c, 1, Some(a)), (d, 1, Some(a)), (e, 2, Some(d)), (f, 0, None)]);
        assert_eq!(hidden, 1);
        // From d only, and depth-limited.
        let (rows, hidden) = flatten(&nodes, Some(d), None);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![d, e]);
        assert_eq!(hidden, 0);
        let (rows, _) = flatten(&nodes, None, Some(0));
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a, f]);
        // A parent outside the set (another period) makes a root.
        let outside = ObjectiveId::new();
        let (rows, _) = flatten(&[node(c, Some(outside), "C", true)], None, None);
        assert_eq!(rows, vec![FlatRow { id: c, depth: 0, parent: None }]);
    }

    #[test]
    fn cycles_terminate() {
        let (a, b) = (ObjectiveId::new(), ObjectiveId::new());
        let nodes = vec![node(a, Some(b), "A", true), node(b, Some(a), "B", true)];
        let (rows, _) = flatten(&nodes, Some(a), None);
        assert_eq!(rows.len(), 2);
    }
}
