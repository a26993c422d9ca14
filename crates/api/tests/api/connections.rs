//! Cursor connections (PRODUCT.md, "API semantics"): `first`/`after`,
//! `totalCount`, `pageInfo`, `orderBy`, and a maximum `first` that is an
//! organization setting (default 1000).

use crate::support::{Session, World, edge_names, expect_data, expect_error, sorted};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

/// Follows `endCursor` page by page; returns the names in order and the
/// number of pages. Every page must report the same `totalCount`.
async fn walk(
    session: &Session,
    query: &str,
    list: &str,
    vars: Value,
    page_size: usize,
) -> (Vec<String>, usize) {
    let mut names = vec![];
    let mut after = Value::Null;
    let mut total = None;
    for page in 1..=50 {
        let mut vars = vars.clone();
        vars["after"] = after.clone();
        let data = session.ok(query, vars).await;
        let conn = &data[list];
        let got = edge_names(conn);
        assert!(got.len() <= page_size, "page {page} holds {} > {page_size} items", got.len());
        names.extend(got);
        let count = conn["totalCount"].as_u64().expect("totalCount");
        assert_eq!(*total.get_or_insert(count), count, "totalCount changed between pages");
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(page > 1), "hasPreviousPage on page {page}");
        if conn["pageInfo"]["hasNextPage"] == json!(false) {
            assert_eq!(total, Some(names.len() as u64), "totalCount is not the number of items walked");
            return (names, page);
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(after.is_string(), "a page with a next page has an endCursor: {conn:#}");
    }
    panic!("{list} never reported hasNextPage: false");
}

const UNITS: &str = "query($first: Int, $after: String, $dir: OrderDirection!) {
    units(first: $first, after: $after, orderBy: {field: NAME, direction: $dir}) {
      totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { name } } } }";

const PERIODS: &str = "query($first: Int, $after: String, $field: PeriodOrderField!, $dir: OrderDirection!) {
    periods(first: $first, after: $after, orderBy: {field: $field, direction: $dir}) {
      totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { name } } } }";

pub async fn pages_walk_the_whole_ordered_list(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;

    // Six units, two per page: three pages, by name both ways.
    let expected = w.a.unit_names();
    assert_eq!(expected.len(), 6);
    let (asc, pages) = walk(&admin, UNITS, "units", json!({ "first": 2, "dir": "ASC" }), 2).await;
    assert_eq!(asc, expected);
    assert_eq!(pages, 3);
    let (desc, _) = walk(&admin, UNITS, "units", json!({ "first": 2, "dir": "DESC" }), 2).await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);

    // Periods by start date (not creation order, not name order), one per page.
    let by_start = ["Autumn 2025", "Winter 2026", "Spring 2026"];
    let (got, pages) =
        walk(&admin, PERIODS, "periods", json!({ "first": 1, "field": "START_DATE", "dir": "ASC" }), 1).await;
    assert_eq!(got, by_start);
    assert_eq!(pages, 3);
    let (got, _) =
        walk(&admin, PERIODS, "periods", json!({ "first": 1, "field": "START_DATE", "dir": "DESC" }), 1)
            .await;
    assert_eq!(got, ["Spring 2026", "Winter 2026", "Autumn 2025"]);
    let (got, _) =
        walk(&admin, PERIODS, "periods", json!({ "first": 2, "field": "NAME", "dir": "ASC" }), 2).await;
    assert_eq!(got, ["Autumn 2025", "Spring 2026", "Winter 2026"]);
    // START_DATE is the field written out, with the default direction.
    let data =
        admin.ok("{ periods(orderBy: {field: START_DATE}) { edges { node { name } } } }", json!({})).await;
    assert_eq!(edge_names(&data["periods"]), by_start);

    // People by name, three per page.
    let people = "query($first: Int, $after: String) {
        people(first: $first, after: $after, orderBy: {field: NAME, direction: ASC}) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { name } } } }";
    let (got, _) = walk(&admin, people, "people", json!({ "first": 3 }), 3).await;
    assert_eq!(got, w.a.person_names());
}

fn fixture_len(w: &World, list: &str) -> usize {
    match list {
        "units" => w.a.units.len(),
        "people" => w.a.people.len(),
        "periods" => w.a.periods.len(),
        other => panic!("no list {other}"),
    }
}

pub async fn first_is_bounded_by_the_organization_setting(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let lists = ["units", "people", "periods"];

    for list in lists {
        let q = format!(
            "query($first: Int) {{ {list}(first: $first) {{ totalCount edges {{ node {{ id }} }} }} }}"
        );
        // Default maximum: 1000.
        for bad in [1001, -1, i32::MAX, i32::MIN] {
            let r = admin.gql(&q, json!({ "first": bad })).await;
            expect_error(&r, "BAD_USER_INPUT", Some("first"));
        }
        let r = admin.gql(&q, json!({ "first": 1000 })).await;
        let conn = &expect_data(&r)[list];
        assert_eq!(
            conn["edges"].as_array().map(Vec::len),
            Some(fixture_len(&w, list)),
            "{list}(first: 1000)"
        );
        let r = admin.gql(&q, json!({ "first": 0 })).await;
        assert_eq!(expect_data(&r)[list]["edges"], json!([]), "{list}(first: 0)");
    }

    let r = admin
        .gql(
            "mutation { updateOrganization(input: {settings: {maxPageSize: 5}}) {
               organization { settings { maxPageSize } } } }",
            json!({}),
        )
        .await;
    assert_eq!(expect_data(&r)["updateOrganization"]["organization"]["settings"]["maxPageSize"], 5);

    // The next request carries the updated settings.
    let fresh = w.a_admin().await;
    assert_eq!(fresh.ctx.settings.max_page_size, 5);
    for list in lists {
        let q = format!(
            "query($first: Int) {{ {list}(first: $first) {{ pageInfo {{ hasNextPage }} edges {{ node {{ id }} }} }} }}"
        );
        expect_error(&fresh.gql(&q, json!({ "first": 6 })).await, "BAD_USER_INPUT", Some("first"));
        let r = fresh.gql(&q, json!({ "first": 5 })).await;
        let expected_len = fixture_len(&w, list).min(5);
        assert_eq!(
            expect_data(&r)[list]["edges"].as_array().map(Vec::len),
            Some(expected_len),
            "{list}(first: 5)"
        );
    }
    let r = fresh.gql("{ units(first: 5) { pageInfo { hasNextPage } } }", json!({})).await;
    assert_eq!(expect_data(&r)["units"]["pageInfo"]["hasNextPage"], true, "6 units, 5 per page");
}

pub async fn garbage_cursors_are_bad_input(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;

    // A real cursor, as the positive control.
    let first = admin.ok("{ units(first: 2) { pageInfo { endCursor } } }", json!({})).await;
    let cursor = first["units"]["pageInfo"]["endCursor"].as_str().expect("endCursor").to_owned();
    let next = admin
        .gql(
            "query($after: String) { units(first: 2, after: $after) { edges { node { name } } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(edge_names(&expect_data(&next)["units"]), w.a.unit_names()[2..4].to_vec());

    for list in ["units", "people", "periods"] {
        let q = format!(
            "query($after: String) {{ {list}(first: 2, after: $after) {{ edges {{ node {{ id }} }} }} }}"
        );
        for garbage in ["garbage", "***", "", "e30", "bnVsbA"] {
            let r = admin.gql(&q, json!({ "after": garbage })).await;
            expect_error(&r, "BAD_USER_INPUT", Some("after"));
        }
    }
    // A name cursor is no cursor of a list ordered by time.
    let r = admin
        .gql(
            "query($after: String) {
               units(first: 2, after: $after, orderBy: {field: CREATED_AT}) { edges { node { name } } } }",
            json!({ "after": cursor }),
        )
        .await;
    expect_error(&r, "BAD_USER_INPUT", Some("after"));
}

pub async fn people_search_matches_name_or_email(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let q = "query($s: String) { people(first: 100, filter: {search: $s}) { totalCount edges { node { name } } } }";
    // "Case-insensitive substring of the name or e-mail address" (the field's doc).
    for term in ["MEMBER", "ma", "seller@", "alpha.example", "nobody-has-this"] {
        let t = term.to_lowercase();
        let expected = sorted(
            w.a.people
                .iter()
                .filter(|p| p.name.to_lowercase().contains(&t) || p.email.contains(&t))
                .map(|p| p.name.clone()),
        );
        let data = admin.ok(q, json!({ "s": term })).await;
        assert_eq!(sorted(edge_names(&data["people"])), expected, "search {term:?}");
        assert_eq!(data["people"]["totalCount"].as_u64(), Some(expected.len() as u64), "search {term:?}");
    }
    // The searches above really narrow: one person, and everyone.
    let one = admin.ok(q, json!({ "s": "MEMBER" })).await;
    assert_eq!(edge_names(&one["people"]), ["Mia Member"]);
    let all = admin.ok(q, json!({ "s": "alpha.example" })).await;
    assert_eq!(all["people"]["totalCount"].as_u64(), Some(w.a.people.len() as u64));
}
