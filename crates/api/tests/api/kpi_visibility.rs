//! Visibility of KPIs over GraphQL (PRODUCT.md, "Access": "PEOPLE KPIs:
//! HR, ADMIN and line managers of the owning unit only"; "An object the
//! actor may not see answers NOT_FOUND, exactly like a missing one (no
//! probing); an object it may see but not change answers FORBIDDEN").
//!
//! Added to the fixture: Pia Peer, a MEMBER of Platform. Two KPIs of
//! Platform, both owned by Mia Member (a MEMBER of Platform):
//! "Platform Absenteeism" (PEOPLE, external id `hris-absence`) and
//! "Platform Deploys" (OPERATIONAL, external id `ci-deploys`). Max Manager
//! manages Engineering, Platform's parent: a line manager. Sam Seller is a
//! MANAGER of another department.

use crate::kpi_support::{CREATE_KPI, RECORD_ONE, create_kpi, kpi_input, record, sorted_names};
use crate::okr_support::random_id;
use crate::support::{Session, World, expect_data, expect_error};
use chrono::{Duration, Utc};
use goalgraph_api::ids::NodeType;
use goalgraph_domain::model::Role;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const PEOPLE: &str = "Platform Absenteeism";
const OPS: &str = "Platform Deploys";

const KPIS: &str = "{ kpis(first: 100) { totalCount edges { node { name } } }
    people: kpis(first: 100, filter: {category: PEOPLE}) { totalCount } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id
    ... on Kpi { name category current measurements(first: 10) { totalCount } } } }";
const UNIT_KPIS: &str = "query($id: ID!) { node(id: $id) { ... on Unit { name kpis { name category } } } }";
const BY_KEY: &str = "query($key: String!) { kpiByExternalId(externalId: $key) { id name } }";

/// (who, sees the PEOPLE KPI, may record on the OPERATIONAL KPI), from the
/// role table and the fixture.
const READERS: [(&str, bool, bool); 8] = [
    ("Ada Admin", true, true),
    ("Hana Human", true, true),
    ("Max Manager", true, true),
    ("Sam Seller", false, false),
    ("Mia Member", false, true),
    ("Pia Peer", false, false),
    ("Olga Other", false, false),
    ("Vic Viewer", false, false),
];

pub async fn people_kpi_is_hidden_like_a_missing_one(db: TestDb) {
    let mut w = World::new(&db).await;
    w.a.add_person(&w.store, "Pia Peer", "Platform", Some("Max Manager"), &[Role::Member]).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let (platform, mia) = (ids.unit("Platform"), ids.person("Mia Member"));
    let people = create_kpi(
        &admin,
        kpi_input(&platform, &mia, PEOPLE, json!({ "category": "PEOPLE", "externalId": "hris-absence" })),
    )
    .await;
    let ops =
        create_kpi(&admin, kpi_input(&platform, &mia, OPS, json!({ "externalId": "ci-deploys" }))).await;
    let yesterday = Utc::now() - Duration::days(1);
    for k in [&people, &ops] {
        assert_eq!(record(&admin, k, &[(yesterday - Duration::hours(1), 93.0), (yesterday, 95.0)]).await, 2);
    }
    let missing = random_id(NodeType::Kpi);
    // Older than the latest point: `current` stays 95.
    let point =
        json!({ "observedAt": crate::kpi_support::rfc3339(yesterday - Duration::hours(2)), "value": 91.0 });
    // Points of the PEOPLE KPI so far.
    let mut people_points = 2;
    let record_input = |by: Value| {
        let mut input = json!({ "observedAt": point["observedAt"], "value": point["value"] });
        for (k, v) in by.as_object().cloned().unwrap_or_default() {
            input[k] = v;
        }
        json!({ "input": input })
    };

    for (who, sees, may_record) in READERS {
        let s: Session = w.a.session(&w.store, who).await;
        let mut responses: Vec<Value> = Vec::new();
        // kpis: the PEOPLE KPI is listed, and counted, only for those who see it.
        let listed = s.gql(KPIS, json!({})).await;
        let data = expect_data(&listed);
        let want: Vec<String> =
            if sees { vec![PEOPLE.to_owned(), OPS.to_owned()] } else { vec![OPS.to_owned()] };
        assert_eq!(sorted_names(&data["kpis"]), want, "{who}: kpis");
        assert_eq!(data["kpis"]["totalCount"], json!(want.len()), "{who}: kpis.totalCount");
        assert_eq!(data["people"]["totalCount"], json!(u64::from(sees)), "{who}: PEOPLE count");
        responses.push(listed);

        // node(id): the KPI, or null exactly like an id that names nothing.
        let node = s.gql(NODE, json!({ "id": people })).await;
        if sees {
            let n = &expect_data(&node)["node"];
            assert_eq!(
                (n["__typename"].clone(), n["name"].clone(), n["category"].clone()),
                (json!("Kpi"), json!(PEOPLE), json!("PEOPLE")),
                "{who}: node(PEOPLE KPI)"
            );
            assert_eq!(
                (n["current"].clone(), n["measurements"]["totalCount"].clone()),
                (json!(95.0), json!(people_points)),
                "{who}: the PEOPLE KPI's numbers"
            );
        } else {
            let unknown = s.gql(NODE, json!({ "id": missing })).await;
            assert_eq!(node, unknown, "{who}: node(hidden) answers like node(missing)");
            assert_eq!(expect_data(&node)["node"], Value::Null, "{who}: node(hidden) is null");
        }
        responses.push(node);
        // Positive control: the OPERATIONAL KPI is there for everyone.
        let node = s.gql(NODE, json!({ "id": ops })).await;
        assert_eq!(expect_data(&node)["node"]["name"], json!(OPS), "{who}: node(OPERATIONAL KPI)");

        // Unit.kpis
        let unit = s.gql(UNIT_KPIS, json!({ "id": platform })).await;
        let unit_data = expect_data(&unit);
        let names: Vec<&str> = unit_data["node"]["kpis"]
            .as_array()
            .unwrap_or_else(|| panic!("{who}: Unit.kpis in {unit:#}"))
            .iter()
            .map(|k| k["name"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = if sees { vec![PEOPLE, OPS] } else { vec![OPS] };
        assert_eq!(names, want, "{who}: Unit.kpis, by name");
        responses.push(unit);

        // kpiByExternalId: null exactly like an unknown key.
        let by_key = s.gql(BY_KEY, json!({ "key": "hris-absence" })).await;
        if sees {
            assert_eq!(expect_data(&by_key)["kpiByExternalId"]["id"], json!(people), "{who}: by external id");
        } else {
            let unknown = s.gql(BY_KEY, json!({ "key": "no-such-key" })).await;
            assert_eq!(by_key, unknown, "{who}: a hidden key answers like an unknown one");
            assert_eq!(expect_data(&by_key)["kpiByExternalId"], Value::Null);
        }
        responses.push(by_key);
        let by_key = s.gql(BY_KEY, json!({ "key": "ci-deploys" })).await;
        assert_eq!(expect_data(&by_key)["kpiByExternalId"]["id"], json!(ops), "{who}: OPERATIONAL by key");

        // recordKpiMeasurement on the PEOPLE KPI: NOT_FOUND, exactly like a
        // missing KPI, for those who cannot see it (by id and by key).
        let by_id = s.gql(RECORD_ONE, record_input(json!({ "kpiId": people }))).await;
        let by_ext = s.gql(RECORD_ONE, record_input(json!({ "externalId": "hris-absence" }))).await;
        if sees {
            let d = expect_data(&by_id);
            assert_eq!(d["recordKpiMeasurement"]["written"], json!(1), "{who}: records on the PEOPLE KPI");
            assert_eq!(expect_data(&by_ext)["recordKpiMeasurement"]["written"], json!(1));
            people_points += 2;
        } else {
            expect_error(&by_id, "NOT_FOUND", None);
            let unknown = s.gql(RECORD_ONE, record_input(json!({ "kpiId": missing }))).await;
            assert_eq!(by_id, unknown, "{who}: recording on a hidden KPI answers like on a missing one");
            expect_error(&by_ext, "NOT_FOUND", None);
            let unknown = s.gql(RECORD_ONE, record_input(json!({ "externalId": "no-such-key" }))).await;
            assert_eq!(by_ext, unknown, "{who}: recording by a hidden key answers like by an unknown one");
        }
        responses.extend([by_id, by_ext]);
        // On the OPERATIONAL KPI (seen by all): FORBIDDEN for those who may not record.
        let on_ops = s.gql(RECORD_ONE, record_input(json!({ "kpiId": ops }))).await;
        if may_record {
            assert_eq!(expect_data(&on_ops)["recordKpiMeasurement"]["written"], json!(1), "{who}: records");
        } else {
            expect_error(&on_ops, "FORBIDDEN", None);
        }

        // Nothing a hidden KPI holds is named in any answer.
        if !sees {
            for r in &responses {
                let text = r.to_string();
                assert!(
                    !text.contains(PEOPLE) && !text.contains(&people),
                    "{who}: the hidden KPI leaks: {text}"
                );
            }
        }
    }

    // Points written: 2 each by the admin, then 2 (by id and by key) on the
    // PEOPLE KPI from each of the 3 who see it, and 1 on the OPERATIONAL
    // KPI from each of the 4 who may record.
    let counts = admin
        .ok(
            "query($p: ID!, $o: ID!) {
               p: node(id: $p) { ... on Kpi { measurements { totalCount } } }
               o: node(id: $o) { ... on Kpi { measurements { totalCount } } } }",
            json!({ "p": people, "o": ops }),
        )
        .await;
    assert_eq!(counts["p"]["measurements"]["totalCount"], json!(2 + 2 * 3));
    assert_eq!(counts["o"]["measurements"]["totalCount"], json!(2 + 4));

    // Defining a PEOPLE KPI follows the same rights: a MEMBER may not
    // (the unit is not theirs to manage), the line manager may.
    let mia_s = w.a.session(&w.store, "Mia Member").await;
    let denied = mia_s
        .gql(CREATE_KPI, json!({ "input": kpi_input(&platform, &mia, "Mia's PEOPLE KPI", json!({ "category": "PEOPLE" })) }))
        .await;
    assert!(
        matches!(crate::support::error_code(&denied).as_deref(), Some("FORBIDDEN") | Some("NOT_FOUND")),
        "a MEMBER defines no PEOPLE KPI: {denied:#}"
    );
    let max_s = w.a.session(&w.store, "Max Manager").await;
    create_kpi(&max_s, kpi_input(&platform, &mia, "Max's PEOPLE KPI", json!({ "category": "PEOPLE" }))).await;
}
