//! Visibility of KPIs (PRODUCT.md, "Access": "PEOPLE KPIs: HR, ADMIN and
//! line managers of the owning unit only"; line managers are the managers
//! of the owning unit and of every ancestor, with the MANAGER role). Checked
//! on every store read that can reach a KPI or its measurements, for people
//! of every kind, against sets written down by hand.
//!
//! ```text
//! Company                   Ada Admin [ADMIN], Hana Hr [HR]
//! ├── People Dept (DEPT)    Dora Deptlead [MANAGER], manages People Dept
//! │   └── Team One (TEAM)   Tess Teamlead [MANAGER], manages Team One
//! │                         Olive Owner [MEMBER] owns P1 and O1
//! │                         Tom Teammate [MEMBER], Vera Viewer [VIEWER]
//! │                         Rex Roleless [MEMBER], listed as a manager of Team One
//! └── Other Dept (DEPT)     Otis Otherlead [MANAGER], manages Other Dept
//!     └── Team Two (TEAM)   Wes Two [MEMBER] owns P2
//! P1: PEOPLE KPI of Team One; O1: OPERATIONAL KPI of Team One;
//! P2: PEOPLE KPI of Team Two.
//! ```

use crate::common::{assert_not_found, connect, tenant};
use crate::kpi_fixture::*;
use goalgraph_domain::KpiId;
use goalgraph_domain::kpi::KpiCategory;
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_domain::policy::Actor;
use goalgraph_persistence::{KpiFilter, KpiRef, NewKpi, PageArgs, SortDirection};
use goalgraph_testkit::TestDb;
use std::collections::HashSet;

fn set(items: &[KpiId]) -> HashSet<KpiId> {
    items.iter().copied().collect()
}

pub async fn people_kpis_are_seen_by_hr_admin_and_line_managers_only(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "kpi-visibility").await;
    let dept = t.unit(&store, UnitKind::Department, "People Dept", t.company.id).await;
    let team = t.unit(&store, UnitKind::Team, "Team One", dept.id).await;
    let other_dept = t.unit(&store, UnitKind::Department, "Other Dept", t.company.id).await;
    let team2 = t.unit(&store, UnitKind::Team, "Team Two", other_dept.id).await;
    let roles = |r: Role| Some(RoleSet::new([r]));
    let hana = t.person(&store, "Hana Hr", t.company.id, roles(Role::Hr)).await;
    let dora = t.person(&store, "Dora Deptlead", dept.id, roles(Role::Manager)).await;
    let tess = t.person(&store, "Tess Teamlead", team.id, roles(Role::Manager)).await;
    let olive = t.person(&store, "Olive Owner", team.id, roles(Role::Member)).await;
    let tom = t.person(&store, "Tom Teammate", team.id, roles(Role::Member)).await;
    let vera = t.person(&store, "Vera Viewer", team.id, roles(Role::Viewer)).await;
    let rex = t.person(&store, "Rex Roleless", team.id, roles(Role::Member)).await;
    let otis = t.person(&store, "Otis Otherlead", other_dept.id, roles(Role::Manager)).await;
    let wes = t.person(&store, "Wes Two", team2.id, roles(Role::Member)).await;
    store.set_unit_managers(&t.actor, dept.id, &[dora.id]).await.unwrap();
    store.set_unit_managers(&t.actor, team.id, &[tess.id, rex.id]).await.unwrap();
    store.set_unit_managers(&t.actor, other_dept.id, &[otis.id]).await.unwrap();

    let a = &t.actor;
    let kpi = |unit, owner, name: &str, category, key: &str| NewKpi {
        category,
        external_id: Some(key.to_owned()),
        ..new_kpi(unit, owner, name)
    };
    let p1 = create_kpi(&store, a, kpi(team.id, olive.id, "Absenteeism", KpiCategory::People, "p1")).await;
    let o1 = create_kpi(&store, a, kpi(team.id, olive.id, "Deploys", KpiCategory::Operational, "o1")).await;
    let p2 = create_kpi(&store, a, kpi(team2.id, wes.id, "Attrition", KpiCategory::People, "p2")).await;
    for k in [p1.id, o1.id, p2.id] {
        record(&store, a, k, &[(day(2026, 5, 1), 91.0), (day(2026, 5, 2), 80.0)]).await;
    }
    let all = [p1.id, o1.id, p2.id];
    let keys = [(p1.id, "p1"), (o1.id, "o1"), (p2.id, "p2")];

    let actor = |p| {
        let store = store.clone();
        async move { store.person_actor(&p, &RoleSet::default()).await.unwrap() }
    };
    let everything = set(&all);
    let team_one = set(&[p1.id, o1.id]);
    let public = set(&[o1.id]);
    let readers: Vec<(&str, Actor, HashSet<KpiId>)> = vec![
        ("admin", a.clone(), everything.clone()),
        ("hr", actor(hana).await, everything.clone()),
        ("manager of the team", actor(tess).await, team_one.clone()),
        ("manager of the department (an ancestor)", actor(dora).await, team_one.clone()),
        ("owner, a MEMBER", actor(olive).await, public.clone()),
        ("teammate, a MEMBER", actor(tom).await, public.clone()),
        ("viewer in the team", actor(vera).await, public.clone()),
        ("listed as manager without the MANAGER role", actor(rex).await, public.clone()),
        ("manager of another department", actor(otis).await, set(&[o1.id, p2.id])),
    ];
    let args = PageArgs { first: 100, after: None };
    for (who, reader, visible) in &readers {
        let hidden: HashSet<KpiId> = everything.difference(visible).copied().collect();
        // list_kpis / count_kpis, unfiltered and by unit.
        let listed: HashSet<KpiId> = store
            .list_kpis(reader, &KpiFilter::default(), SortDirection::Asc, &args)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|(_, k)| k.id)
            .collect();
        assert_eq!(&listed, visible, "{who}: list_kpis");
        assert_eq!(
            store.count_kpis(reader, &KpiFilter::default()).await.unwrap(),
            visible.len() as u64,
            "{who}"
        );
        let of_team = KpiFilter { unit_id: Some(team.id), ..Default::default() };
        let listed: HashSet<KpiId> = store
            .list_kpis(reader, &of_team, SortDirection::Asc, &args)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|(_, k)| k.id)
            .collect();
        let want: HashSet<KpiId> = visible.intersection(&team_one).copied().collect();
        assert_eq!(listed, want, "{who}: list_kpis of Team One");
        let people = KpiFilter { category: Some(KpiCategory::People), ..Default::default() };
        let visible_people = visible.iter().filter(|k| **k != o1.id).count() as u64;
        assert_eq!(store.count_kpis(reader, &people).await.unwrap(), visible_people, "{who}: PEOPLE count");
        // kpis_by_ids
        let by_ids = store.kpis_by_ids(reader, &all).await.unwrap();
        assert_eq!(by_ids.keys().copied().collect::<HashSet<_>>(), *visible, "{who}: kpis_by_ids");
        // kpis_of_units
        let of_units = store.kpis_of_units(reader, &[team.id, team2.id]).await.unwrap();
        let got: HashSet<KpiId> = of_units.values().flatten().map(|k| k.id).collect();
        assert_eq!(got, *visible, "{who}: kpis_of_units");
        for (unit, list) in &of_units {
            assert!(list.iter().all(|k| k.unit_id == *unit), "{who}: a KPI under another unit");
        }
        // measurement_pages / measurement_counts
        let pages = store.measurement_pages(reader, &all, &args).await.unwrap();
        let with_points: HashSet<KpiId> =
            pages.iter().filter(|(_, p)| !p.items.is_empty()).map(|(k, _)| *k).collect();
        assert_eq!(with_points, *visible, "{who}: measurement_pages");
        assert!(pages.keys().all(|k| visible.contains(k)), "{who}: a page for a hidden KPI");
        for k in visible {
            assert_eq!(pages[k].items.len(), 2, "{who}: both points of a visible KPI");
        }
        let counts = store.measurement_counts(reader, &all).await.unwrap();
        let counted: HashSet<KpiId> = counts.iter().filter(|(_, n)| **n > 0).map(|(k, _)| *k).collect();
        assert_eq!(counted, *visible, "{who}: measurement_counts");
        // kpi_states
        let states = store.kpi_states(reader, &all).await.unwrap();
        assert_eq!(states.keys().copied().collect::<HashSet<_>>(), *visible, "{who}: kpi_states");
        for k in visible {
            assert_eq!(states[k].latest.map(|p| p.value), Some(80.0), "{who}: latest of a visible KPI");
        }
        // kpi(...) by id and by external id: hidden ones are not found.
        for (k, key) in keys {
            let by_id = store.kpi(reader, &KpiRef::Id(k)).await;
            let by_key = store.kpi(reader, &KpiRef::External(key.to_owned())).await;
            if visible.contains(&k) {
                assert_eq!(by_id.unwrap().id, k, "{who}: kpi({key}) by id");
                assert_eq!(by_key.unwrap().id, k, "{who}: kpi({key}) by external id");
            } else {
                assert!(hidden.contains(&k));
                assert_not_found(by_id);
                assert_not_found(by_key);
                // Recording on a hidden KPI: NOT_FOUND as well, nothing written.
                assert_not_found(
                    store.record_measurements(reader, KpiRef::Id(k), &[(day(2026, 5, 3), 1.0)], None).await,
                );
            }
        }
    }
    for k in all {
        assert_eq!(measurement_rows(&store, t.org.id, k).await, 2, "no hidden KPI took a point");
    }
}
