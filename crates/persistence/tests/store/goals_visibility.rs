//! Visibility of objectives in every list and read model: a PRIVATE
//! objective (and its key results and check-ins) is seen by its owner, the
//! owner's line managers, HR and ADMIN only; a UNIT objective by members of
//! the owning unit's subtree and ancestors and by line managers; hidden
//! objectives are never named, only counted.

use crate::common::{assert_not_found, connect, tenant};
use crate::goals_fixture::*;
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, Owner, Visibility};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{KeyResultId, ObjectiveId};
use goalgraph_persistence::{ObjectiveFilter, ObjectiveOrder, PageArgs, SortDirection};
use goalgraph_testkit::TestDb;
use std::collections::{HashMap, HashSet};

fn set<T: std::hash::Hash + Eq + Copy>(items: &[T]) -> HashSet<T> {
    items.iter().copied().collect()
}

pub async fn hidden_objectives_stay_hidden_in_lists(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "visibility").await;
    // company > Sales > (East, West); company > Ops.
    let sales = t.unit(&store, UnitKind::Department, "Sales", t.company.id).await;
    let ops = t.unit(&store, UnitKind::Department, "Ops", t.company.id).await;
    let east = t.unit(&store, UnitKind::Team, "East", sales.id).await;
    let west = t.unit(&store, UnitKind::Team, "West", sales.id).await;
    let member = || Some(RoleSet::new([Role::Member]));
    let olive = t.person(&store, "Olive Owner", east.id, member()).await;
    let tom = t.person(&store, "Tom Teammate", east.id, member()).await;
    let wes = t.person(&store, "Wes West", west.id, member()).await;
    let sam = t.person(&store, "Sam Sales", sales.id, member()).await;
    let cora = t.person(&store, "Cora Company", t.company.id, member()).await;
    let otto = t.person(&store, "Otto Ops", ops.id, member()).await;
    let mona = t.person(&store, "Mona Manager", sales.id, Some(RoleSet::new([Role::Manager]))).await;
    let walt = t.person(&store, "Walt Westlead", west.id, Some(RoleSet::new([Role::Manager]))).await;
    let hana = t.person(&store, "Hana Hr", t.company.id, Some(RoleSet::new([Role::Hr]))).await;
    // Max is listed as a manager of Sales but has no MANAGER role: no line-manager rights.
    let max = t.person(&store, "Max Roleless", sales.id, member()).await;
    store.set_unit_managers(&t.actor, sales.id, &[mona.id, max.id]).await.unwrap();
    store.set_unit_managers(&t.actor, west.id, &[walt.id]).await.unwrap();

    let q2 = active_quarter(&store, &t).await;
    let a = &t.actor;
    let make = |owner: Owner, title: &str, parent: Option<ObjectiveId>, visibility: Visibility| {
        let new = new_objective(q2.id, owner, title, parent);
        let store = store.clone();
        async move { objective_with(&store, a, new, None, visibility).await }
    };
    let c = make(Owner::Unit(t.company.id), "Company", None, Visibility::Public).await;
    let e = make(Owner::Unit(east.id), "East public", Some(c.id), Visibility::Public).await;
    let x = make(Owner::Person(olive.id), "Olive private", Some(e.id), Visibility::Private).await;
    let g = make(Owner::Person(tom.id), "Tom public below private", Some(x.id), Visibility::Public).await;
    let u = make(Owner::Unit(east.id), "East unit-only", Some(c.id), Visibility::Unit).await;
    let s = make(Owner::Unit(sales.id), "Sales unit-only", Some(c.id), Visibility::Unit).await;
    let y = make(Owner::Person(olive.id), "Olive private, unaligned", None, Visibility::Private).await;
    let kx = key_result(&store, a, x.id, olive.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let kg = key_result(&store, a, g.id, tom.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let ku = key_result(&store, a, u.id, tom.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let kc = key_result(&store, a, c.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    let ks = key_result(&store, a, s.id, t.admin.id, Measure::Increase, 0.0, 10.0, 1.0).await;
    for k in [kx.id, kg.id, ku.id, kc.id, ks.id] {
        check_in(&store, a, k, 4.0).await;
    }
    let all = [c.id, e.id, x.id, g.id, u.id, s.id, y.id];
    let krs: HashMap<KeyResultId, ObjectiveId> =
        [(kx.id, x.id), (kg.id, g.id), (ku.id, u.id), (kc.id, c.id), (ks.id, s.id)].into();
    let parent_of: HashMap<ObjectiveId, Option<ObjectiveId>> = [
        (c.id, None),
        (e.id, Some(c.id)),
        (x.id, Some(e.id)),
        (g.id, Some(x.id)),
        (u.id, Some(c.id)),
        (s.id, Some(c.id)),
        (y.id, None),
    ]
    .into();

    let everything = set(&all);
    let member_of_sales_subtree = set(&[c.id, e.id, g.id, u.id, s.id]);
    let member_of_west = set(&[c.id, e.id, g.id, s.id]);
    let readers: Vec<(&str, Actor, HashSet<ObjectiveId>)> = vec![
        ("admin", t.actor.clone(), everything.clone()),
        ("hr", actor(&store, &hana).await, everything.clone()),
        ("owner", actor(&store, &olive).await, everything.clone()),
        ("line manager of Sales", actor(&store, &mona).await, everything.clone()),
        ("teammate in East", actor(&store, &tom).await, member_of_sales_subtree.clone()),
        (
            "manager of Sales without the MANAGER role",
            actor(&store, &max).await,
            member_of_sales_subtree.clone(),
        ),
        ("member of Sales (an ancestor of East)", actor(&store, &sam).await, member_of_sales_subtree.clone()),
        ("member of the company unit", actor(&store, &cora).await, member_of_sales_subtree.clone()),
        ("member of the sibling team West", actor(&store, &wes).await, member_of_west.clone()),
        ("manager of the sibling team West", actor(&store, &walt).await, member_of_west.clone()),
        ("member of Ops", actor(&store, &otto).await, set(&[c.id, e.id, g.id])),
    ];
    let args = PageArgs { first: 100, after: None };
    let by_period = ObjectiveFilter { period_id: Some(q2.id), ..Default::default() };
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    for (who, reader, visible) in &readers {
        let hidden: HashSet<ObjectiveId> = everything.difference(visible).copied().collect();
        // list_objectives / count_objectives
        let listed: HashSet<ObjectiveId> = store
            .list_objectives(reader, &by_period, ObjectiveOrder::Title, SortDirection::Asc, &args)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|(_, o)| o.id)
            .collect();
        assert_eq!(&listed, visible, "{who}: list_objectives");
        assert_eq!(
            store.count_objectives(reader, &by_period).await.unwrap(),
            visible.len() as u64,
            "{who}: count"
        );
        // objectives_by_ids and point reads
        let by_ids = store.objectives_by_ids(reader, &all).await.unwrap();
        assert_eq!(by_ids.keys().copied().collect::<HashSet<_>>(), *visible, "{who}: objectives_by_ids");
        for id in &hidden {
            assert_not_found(store.objective(reader, *id).await);
        }
        // children_of_objectives: visible children only; the total counts hidden ones.
        let children = store.children_of_objectives(reader, &[c.id, e.id, x.id]).await.unwrap();
        for parent in [c.id, e.id, x.id] {
            let all_children: Vec<ObjectiveId> =
                all.iter().copied().filter(|o| parent_of[o] == Some(parent)).collect();
            let want: HashSet<ObjectiveId> =
                all_children.iter().copied().filter(|o| visible.contains(o)).collect();
            let (got, total) = children.get(&parent).cloned().unwrap_or_default();
            let got: HashSet<ObjectiveId> = got.into_iter().map(|o| o.id).collect();
            assert_eq!(got, want, "{who}: visible children of {parent:?}");
            assert_eq!(total, all_children.len() as u64, "{who}: total children of {parent:?}");
            assert_eq!(
                total - got.len() as u64,
                all_children.iter().filter(|o| hidden.contains(o)).count() as u64,
                "{who}: hidden children of {parent:?} as a count"
            );
        }
        // key_results_of / key_results_by_ids / check_in_pages follow their objective.
        let want_krs: HashSet<KeyResultId> =
            krs.iter().filter(|(_, o)| visible.contains(o)).map(|(k, _)| *k).collect();
        let of = store.key_results_of(reader, &all).await.unwrap();
        let got: HashSet<KeyResultId> = of.values().flatten().map(|k| k.id).collect();
        assert_eq!(got, want_krs, "{who}: key_results_of");
        for (o, list) in &of {
            assert!(visible.contains(o), "{who}: key results listed under a hidden objective");
            assert!(list.iter().all(|k| k.objective_id == *o));
        }
        let kr_ids: Vec<KeyResultId> = krs.keys().copied().collect();
        let by_ids = store.key_results_by_ids(reader, &kr_ids).await.unwrap();
        assert_eq!(by_ids.keys().copied().collect::<HashSet<_>>(), want_krs, "{who}: key_results_by_ids");
        let pages = store.check_in_pages(reader, &kr_ids, &args).await.unwrap();
        let with_pages: HashSet<KeyResultId> =
            pages.iter().filter(|(_, p)| !p.items.is_empty()).map(|(k, _)| *k).collect();
        assert_eq!(with_pages, want_krs, "{who}: check_in_pages");
        for k in krs.keys().filter(|k| !want_krs.contains(k)) {
            assert_not_found(store.key_result(reader, *k).await);
        }
        // alignment_tree: hidden objectives are left out and counted; G hangs
        // under the nearest visible ancestor.
        let (rows, hidden_count) = store.alignment_tree(reader, q2.id, None, None).await.unwrap();
        let shown: HashSet<ObjectiveId> = rows.iter().map(|(r, _)| r.id).collect();
        assert_eq!(shown, *visible, "{who}: alignment_tree rows");
        assert_eq!(rows.len(), visible.len(), "{who}: each row once");
        assert_eq!(hidden_count as usize, hidden.len(), "{who}: alignment_tree hidden count");
        let row_of = |id: ObjectiveId| rows.iter().find(|(r, _)| r.id == id).map(|(r, _)| *r);
        let g_row = row_of(g.id).expect("G is public");
        if visible.contains(&x.id) {
            assert_eq!((g_row.parent, g_row.depth), (Some(x.id), 3), "{who}: G under X");
        } else {
            assert_eq!((g_row.parent, g_row.depth), (Some(e.id), 2), "{who}: G under E, X hidden");
        }
        for (r, o) in &rows {
            assert_eq!(r.id, o.id);
            assert!(r.parent.is_none_or(|p| visible.contains(&p)), "{who}: a row names a hidden parent");
        }
        // okr_insights never name hidden objectives or their key results.
        let insights =
            store.okr_insights(reader, &OrganizationSettings::default(), q2.id, None, later).await.unwrap();
        let named: HashSet<ObjectiveId> =
            insights.iter().flat_map(|i| i.objectives.iter().copied()).collect();
        let named_krs: HashSet<KeyResultId> =
            insights.iter().flat_map(|i| i.key_results.iter().copied()).collect();
        assert!(
            named.is_subset(visible),
            "{who}: insights name hidden objectives {:?}",
            named.difference(visible)
        );
        assert!(named_krs.is_subset(&want_krs), "{who}: insights name hidden key results");
        // Control: what the reader sees is named (Y: no key result and unaligned; kx: stale).
        assert_eq!(named.contains(&y.id), visible.contains(&y.id), "{who}: insight about Y");
        assert_eq!(named_krs.contains(&kx.id), visible.contains(&x.id), "{who}: stale insight about kx");
        assert!(named_krs.contains(&kg.id), "{who}: stale insight about kg");
    }

    // A root below a hidden objective: only visible rows, and the root itself
    // is not found for those who cannot see it.
    let olive_actor = actor(&store, &olive).await;
    let (rows, hidden_count) = store.alignment_tree(&olive_actor, q2.id, Some(x.id), None).await.unwrap();
    assert_eq!(rows.iter().map(|(r, _)| r.id).collect::<Vec<_>>(), vec![x.id, g.id]);
    assert_eq!(hidden_count, 0);
    let wes_actor = actor(&store, &wes).await;
    assert_not_found(store.alignment_tree(&wes_actor, q2.id, Some(x.id), None).await);
}

async fn actor(store: &goalgraph_persistence::Store, p: &goalgraph_domain::model::Person) -> Actor {
    store.person_actor(p, &RoleSet::default()).await.unwrap()
}
