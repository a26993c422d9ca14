//! Keyset pagination: pages follow (sort value, id), ties broken by id, in
//! both directions; cursors that do not belong to a list are bad input;
//! search terms are matched literally.

use crate::common::{assert_invalid, connect, tenant};
use chrono::NaiveDate;
use goalgraph_domain::UnitId;
use goalgraph_domain::model::{Unit, UnitKind};
use goalgraph_domain::policy::Actor;
use goalgraph_persistence::{
    CursorKey, NewPeriod, PageArgs, PeriodOrder, SortDirection, Store, UnitFilter, UnitOrder,
};
use goalgraph_testkit::TestDb;
use std::collections::HashSet;

/// Follows `after` cursors page by page; returns the ids of each page and
/// its `has_next_page`.
async fn walk(
    store: &Store,
    actor: &Actor,
    filter: &UnitFilter,
    direction: SortDirection,
    first: u64,
) -> Vec<(Vec<UnitId>, bool)> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_units(actor, filter, UnitOrder::Name, direction, &PageArgs { first, after: after.clone() })
            .await
            .unwrap();
        after = page.items.last().map(|(cursor, _)| cursor.clone());
        let more = page.has_next_page;
        pages.push((page.items.into_iter().map(|(_, u)| u.id).collect(), more));
        assert!(pages.len() <= 10, "paging does not end");
        if !more {
            return pages;
        }
    }
}

pub async fn pages_follow_the_cursor(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "paging").await;

    // 25 departments named "Dept 00" … "Dept 08", three to a name (one for
    // the last): ties fall across the page boundaries after 10 and 20 rows.
    // They are created in a scrambled order so that creation order is not
    // the expected one.
    let mut created: Vec<Unit> = Vec::new();
    for i in (0..25).map(|i| (i * 7) % 25) {
        created.push(t.unit(&store, UnitKind::Department, &format!("Dept {:02}", i / 3), t.company.id).await);
    }
    let mut expected: Vec<(String, UnitId)> = created.iter().map(|u| (u.name.clone(), u.id)).collect();
    expected.sort();
    let expected: Vec<UnitId> = expected.into_iter().map(|(_, id)| id).collect();
    assert_ne!(
        expected,
        created.iter().map(|u| u.id).collect::<Vec<_>>(),
        "the fixture must not be pre-sorted"
    );

    let departments = UnitFilter { kind: Some(UnitKind::Department), ..Default::default() };
    let asc = walk(&store, &t.actor, &departments, SortDirection::Asc, 10).await;
    let shape: Vec<(usize, bool)> = asc.iter().map(|(ids, more)| (ids.len(), *more)).collect();
    assert_eq!(shape, [(10, true), (10, true), (5, false)]);
    let all_asc: Vec<UnitId> = asc.into_iter().flat_map(|(ids, _)| ids).collect();
    assert_eq!(all_asc.iter().collect::<HashSet<_>>().len(), 25, "no duplicates");
    assert_eq!(all_asc, expected);

    let desc = walk(&store, &t.actor, &departments, SortDirection::Desc, 10).await;
    let shape: Vec<(usize, bool)> = desc.iter().map(|(ids, more)| (ids.len(), *more)).collect();
    assert_eq!(shape, [(10, true), (10, true), (5, false)]);
    let all_desc: Vec<UnitId> = desc.into_iter().flat_map(|(ids, _)| ids).collect();
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(all_desc, reversed);

    // Exactly one page when it fits; an exact fit has no next page.
    let fit = walk(&store, &t.actor, &departments, SortDirection::Asc, 25).await;
    assert_eq!(fit.iter().map(|(ids, more)| (ids.len(), *more)).collect::<Vec<_>>(), [(25, false)]);

    // Counts: the 25 plus the company.
    assert_eq!(store.count_units(&t.actor, &UnitFilter::default()).await.unwrap(), 26);
    assert_eq!(store.count_units(&t.actor, &departments).await.unwrap(), 25);
}

pub async fn bad_cursors_are_rejected(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "cursors").await;
    for (name, month) in [("Q1", 1), ("Q2", 4), ("Q3", 7)] {
        let new = NewPeriod {
            name: name.into(),
            start_date: NaiveDate::from_ymd_opt(2026, month, 1).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2026, month + 2, 28).unwrap(),
        };
        store.create_period(&t.actor, new).await.unwrap();
    }
    let first = store
        .list_periods(
            &t.actor,
            None,
            PeriodOrder::StartDate,
            SortDirection::Asc,
            &PageArgs { first: 2, after: None },
        )
        .await
        .unwrap();
    assert_eq!(first.items.iter().map(|(_, p)| p.name.as_str()).collect::<Vec<_>>(), ["Q1", "Q2"]);
    assert!(first.has_next_page);
    // Positive control: the real cursor leads to the last period.
    let real = first.items.last().map(|(c, _)| c.clone());
    let rest = store
        .list_periods(
            &t.actor,
            None,
            PeriodOrder::StartDate,
            SortDirection::Asc,
            &PageArgs { first: 2, after: real.clone() },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.iter().map(|(_, p)| p.name.as_str()).collect::<Vec<_>>(), ["Q3"]);
    assert!(!rest.has_next_page);

    let garbage = CursorKey { key: "not-a-date".into(), id: real.map(|c| c.id).unwrap() };
    assert_invalid(
        store
            .list_periods(
                &t.actor,
                None,
                PeriodOrder::StartDate,
                SortDirection::Asc,
                &PageArgs { first: 2, after: Some(garbage) },
            )
            .await,
        "after",
    );
}

/// Names of the units whose name contains `term`, sorted here: the
/// database's collation is not under test. The count must agree.
async fn search_names(store: &Store, actor: &Actor, term: &str) -> Vec<String> {
    let filter = UnitFilter { search: Some(term.to_owned()), ..Default::default() };
    let page = store
        .list_units(
            actor,
            &filter,
            UnitOrder::Name,
            SortDirection::Asc,
            &PageArgs { first: 100, after: None },
        )
        .await
        .unwrap();
    let count = store.count_units(actor, &filter).await.unwrap();
    let mut names: Vec<String> = page.items.into_iter().map(|(_, u)| u.name).collect();
    assert_eq!(count, names.len() as u64, "count and list agree for {term:?}");
    names.sort();
    names
}

pub async fn search_matches_literally(db: TestDb) {
    let store = connect(&db).await;
    let t = tenant(&store, "search").await;
    for name in ["Sales 100% Club", "Ops_Team", "Ops Team", "Opsxteam", "Back\\Office", "Marketing"] {
        t.unit(&store, UnitKind::Department, name, t.company.id).await;
    }
    // Positive controls: a plain term matches case-insensitively.
    assert_eq!(search_names(&store, &t.actor, "ops").await, ["Ops Team", "Ops_Team", "Opsxteam"]);
    assert_eq!(search_names(&store, &t.actor, "MARKET").await, ["Marketing"]);
    // Wildcards in the term are literal characters.
    assert_eq!(search_names(&store, &t.actor, "%").await, ["Sales 100% Club"]);
    assert_eq!(search_names(&store, &t.actor, "0%").await, ["Sales 100% Club"]);
    assert_eq!(search_names(&store, &t.actor, "ops_").await, ["Ops_Team"]);
    assert_eq!(search_names(&store, &t.actor, "_").await, ["Ops_Team"]);
    assert_eq!(search_names(&store, &t.actor, "\\").await, ["Back\\Office"]);
    assert!(search_names(&store, &t.actor, "%%").await.is_empty());
}
