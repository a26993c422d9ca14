//! The unit sets of a person's actor (the units they manage and all below
//! them, their unit's lineage, their unit's subtree), computed from each
//! tenant's unit tree and line managers kept in memory.
//!
//! A tenant's tree is read again only when its directory version has moved
//! (migration 10: a trigger moves it with every change to `units` or
//! `unit_managers`, in the changing transaction). The request reads the
//! version with the person ([`Store::resolve_person_actor`]), so a change
//! is seen by the next request, on every server process, and a request
//! costs no recursive query: the sets of a person high in the tree hold
//! every unit, which the database would walk on every request.

use crate::error::StoreResult;
use crate::sql::stmt;
use crate::store::Store;
use goalgraph_domain::{OrganizationId, PersonId, UnitId};
use sea_orm::{ConnectionTrait, Value};
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// How many tenants' trees one process keeps.
const TENANTS: NonZeroUsize = NonZeroUsize::new(256).expect("not zero");

/// The trees of the tenants seen lately, least recently used out first.
#[derive(Clone)]
pub(crate) struct Directories(Arc<Mutex<lru::LruCache<OrganizationId, Arc<UnitTree>>>>);

impl Default for Directories {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(lru::LruCache::new(TENANTS))))
    }
}

/// Sets this large are kept once computed, for this many people per tree:
/// copying them is faster than gathering them again, and small ones cost
/// little to gather (and would cost memory to keep).
const LARGE: usize = 64;
const PEOPLE: usize = 128;

/// One tenant's units and line managers as of one directory version.
#[derive(Debug, Default)]
pub(crate) struct UnitTree {
    version: i64,
    parent: HashMap<UnitId, UnitId>,
    children: HashMap<UnitId, Vec<UnitId>>,
    units: HashSet<UnitId>,
    managed: HashMap<PersonId, Vec<UnitId>>,
    /// The large sets computed so far, by person and unit (a person high in
    /// the tree has thousands of units in them).
    computed: Mutex<HashMap<(PersonId, UnitId), Arc<UnitSets>>>,
}

/// A person's three sets, as [`goalgraph_domain::policy::Actor`] holds them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct UnitSets {
    pub managed: HashSet<UnitId>,
    pub lineage: HashSet<UnitId>,
    pub subtree: HashSet<UnitId>,
}

impl UnitTree {
    /// The sets of `person` of unit `unit`, computed once per tree.
    pub(crate) fn sets(&self, person: PersonId, unit: UnitId) -> UnitSets {
        let known = self.computed.lock().ok().and_then(|c| c.get(&(person, unit)).cloned());
        if let Some(sets) = known {
            return UnitSets::clone(&sets);
        }
        let sets = self.gather(person, unit);
        if sets.managed.len() + sets.subtree.len() < LARGE {
            return sets;
        }
        if let Ok(mut c) = self.computed.lock() {
            if c.len() >= PEOPLE {
                c.clear();
            }
            c.insert((person, unit), Arc::new(sets.clone()));
        }
        sets
    }

    /// The sets of `person` of unit `unit`. Each includes what the person
    /// stands on: the lineage and the subtree hold `unit` itself.
    fn gather(&self, person: PersonId, unit: UnitId) -> UnitSets {
        let mut managed = HashSet::new();
        for root in self.managed.get(&person).into_iter().flatten() {
            self.below(*root, &mut managed);
        }
        let mut lineage = HashSet::from([unit]);
        let mut at = unit;
        // A cycle cannot be stored (moves are checked), but a walk up stops
        // at a unit seen before all the same.
        while let Some(parent) = self.parent.get(&at) {
            if !lineage.insert(*parent) {
                break;
            }
            at = *parent;
        }
        let mut subtree = HashSet::from([unit]);
        if self.units.contains(&unit) {
            self.below(unit, &mut subtree);
        }
        UnitSets { managed, lineage, subtree }
    }

    /// `root` and every unit below it, into `out`.
    fn below(&self, root: UnitId, out: &mut HashSet<UnitId>) {
        out.insert(root);
        let mut stack = vec![root];
        while let Some(u) = stack.pop() {
            for c in self.children.get(&u).into_iter().flatten() {
                if out.insert(*c) {
                    stack.push(*c);
                }
            }
        }
    }
}

impl Store {
    /// Tenant `org`'s tree as of directory version `version` or later:
    /// the one in memory, or read again (one statement).
    pub(crate) async fn unit_tree_at(&self, org: OrganizationId, version: i64) -> StoreResult<Arc<UnitTree>> {
        let cached = self.directories.0.lock().ok().and_then(|mut c| c.get(&org).cloned());
        if let Some(tree) = cached
            && tree.version >= version
        {
            return Ok(tree);
        }
        // The version comes from the same statement, so from the same
        // snapshot as the rows.
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT 'version' AS kind, NULL AS a, NULL AS b, directory_version AS v \
                   FROM organizations WHERE id = $1 \
                 UNION ALL SELECT 'unit', id, parent_id, NULL FROM units WHERE organization_id = $1 \
                 UNION ALL SELECT 'manager', unit_id, person_id, NULL FROM unit_managers WHERE organization_id = $1",
                vec![Value::from(org.0)],
            ))
            .await?;
        let mut tree = UnitTree::default();
        for row in rows {
            let kind: String = row.try_get("", "kind")?;
            let (a, b): (Option<Uuid>, Option<Uuid>) = (row.try_get("", "a")?, row.try_get("", "b")?);
            match (kind.as_str(), a) {
                ("version", _) => tree.version = row.try_get::<Option<i64>>("", "v")?.unwrap_or_default(),
                ("unit", Some(id)) => {
                    let id = UnitId(id);
                    tree.units.insert(id);
                    if let Some(parent) = b.map(UnitId) {
                        tree.parent.insert(id, parent);
                        tree.children.entry(parent).or_default().push(id);
                    }
                }
                ("manager", Some(unit)) => {
                    if let Some(person) = b.map(PersonId) {
                        tree.managed.entry(person).or_default().push(UnitId(unit));
                    }
                }
                _ => {}
            }
        }
        let tree = Arc::new(tree);
        if let Ok(mut c) = self.directories.0.lock() {
            c.put(org, tree.clone());
        }
        Ok(tree)
    }

    /// Tenant `org`'s directory version now (one statement).
    pub(crate) async fn directory_version(&self, org: OrganizationId) -> StoreResult<i64> {
        let row = self
            .db
            .query_one_raw(stmt(
                self.db_backend(),
                "SELECT directory_version AS v FROM organizations WHERE id = $1",
                vec![Value::from(org.0)],
            ))
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64>("", "v")?,
            None => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sets_follow_the_tree() {
        // company → (sales → east, eng); Pat manages sales; Ed sits in east.
        let [company, sales, east, eng] = [(); 4].map(|_| UnitId(Uuid::now_v7()));
        let (pat, ed) = (PersonId(Uuid::now_v7()), PersonId(Uuid::now_v7()));
        let mut tree = UnitTree::default();
        for (child, parent) in [(sales, company), (east, sales), (eng, company)] {
            tree.parent.insert(child, parent);
            tree.children.entry(parent).or_default().push(child);
        }
        tree.units.extend([company, sales, east, eng]);
        tree.managed.insert(pat, vec![sales]);
        let pat_sets = tree.sets(pat, company);
        assert_eq!(pat_sets.managed, HashSet::from([sales, east]));
        assert_eq!(pat_sets.lineage, HashSet::from([company]));
        assert_eq!(pat_sets.subtree, HashSet::from([company, sales, east, eng]));
        let ed_sets = tree.sets(ed, east);
        assert!(ed_sets.managed.is_empty());
        assert_eq!(ed_sets.lineage, HashSet::from([east, sales, company]));
        assert_eq!(ed_sets.subtree, HashSet::from([east]));
        // A unit the tree does not hold: only itself.
        let gone = UnitId(Uuid::now_v7());
        assert_eq!(
            tree.sets(ed, gone),
            UnitSets {
                managed: HashSet::new(),
                lineage: HashSet::from([gone]),
                subtree: HashSet::from([gone]),
            }
        );
    }

    #[test]
    fn large_sets_are_kept_and_stay_the_same() {
        let company = UnitId(Uuid::now_v7());
        let boss = PersonId(Uuid::now_v7());
        let mut tree = UnitTree::default();
        tree.units.insert(company);
        for _ in 0..LARGE {
            let team = UnitId(Uuid::now_v7());
            tree.units.insert(team);
            tree.parent.insert(team, company);
            tree.children.entry(company).or_default().push(team);
        }
        tree.managed.insert(boss, vec![company]);
        let first = tree.sets(boss, company);
        assert_eq!(first.subtree.len(), LARGE + 1);
        assert_eq!(first.managed, first.subtree);
        assert_eq!(tree.computed.lock().unwrap().len(), 1, "kept");
        assert_eq!(tree.sets(boss, company), first);
        // Another person of the same unit has their own managed set.
        let other = tree.sets(PersonId(Uuid::now_v7()), company);
        assert!(other.managed.is_empty());
        assert_eq!(other.subtree, first.subtree);
    }
}
