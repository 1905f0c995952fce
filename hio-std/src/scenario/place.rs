//! Where each doer of a scenario goes: the layout shared by `hio trace` and
//! the on-target conformance firmware, so both build the very same tree.

use std::collections::HashMap;

use super::{ActionKind, DoerSpec, Scenario, Where};

/// One doer of a scenario, placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement<'s> {
    /// Its spec.
    pub spec: &'s DoerSpec,
    /// `Some(Some(i))`: under the DoDoer at index i; `Some(None)`: at the
    /// top level; `None`: a spare that no extend can reach (never added).
    pub parent: Option<Option<usize>>,
    /// Whether it is kept as a spare (added at run time) where it is placed.
    pub spare: bool,
}

/// Lays out every doer of `s` in pre-order (doers, then spares), each with
/// its parent. A spare goes where the one extend naming it adds it;
/// `parent` there is the extender's own parent, which may itself be a spare
/// placed the same way.
pub fn place(s: &Scenario) -> Vec<Placement<'_>> {
    fn walk<'s>(
        nodes: &mut Vec<Placement<'s>>,
        spec: &'s DoerSpec,
        parent: Option<Option<usize>>,
        spare: bool,
    ) {
        let me = nodes.len();
        nodes.push(Placement {
            spec,
            parent,
            spare,
        });
        for c in spec.children.iter().flatten() {
            walk(nodes, c, Some(Some(me)), false);
        }
    }
    let mut nodes = Vec::new();
    for d in &s.doers {
        walk(&mut nodes, d, Some(None), false);
    }
    let first_spare = nodes.len();
    for d in &s.spares {
        walk(&mut nodes, d, None, true);
    }
    let names: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.spec.name.as_str(), i))
        .collect();
    let index = |name: &str| names.get(name).copied();
    let mut into: Vec<Option<(usize, &Where)>> = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for a in &n.spec.on {
            if let ActionKind::Extend { names, into: w } = &a.kind {
                for name in names {
                    if let Some(j) = index(name) {
                        into[j] = Some((i, w));
                    }
                }
            }
        }
    }
    // resolve spares whose extender is itself a spare, until nothing changes
    for _ in 0..nodes.len() {
        let mut changed = false;
        for j in first_spare..nodes.len() {
            if nodes[j].parent.is_some() || !nodes[j].spare {
                continue;
            }
            let Some((extender, w)) = into[j] else {
                continue;
            };
            let parent = match w {
                Where::Root => Some(None),
                Where::Named(n) => index(n).map(Some),
                Where::Parent => nodes[extender].parent,
            };
            if parent.is_some() {
                nodes[j].parent = parent;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    nodes
}

/// How many children and spares each scheduler of a placed scenario holds:
/// index i for the DoDoer at i, the last entry for the top level.
pub fn counts(nodes: &[Placement<'_>]) -> Vec<(usize, usize)> {
    let mut count = vec![(0usize, 0usize); nodes.len() + 1];
    for n in nodes {
        if let Some(p) = n.parent {
            let slot = p.unwrap_or(nodes.len());
            if n.spare {
                count[slot].1 += 1;
            } else {
                count[slot].0 += 1;
            }
        }
    }
    count
}
