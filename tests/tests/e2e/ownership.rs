//! When someone leaves: what they still own is listed by the ORPHANED_OWNER
//! insight, and `transferOwnership` hands it over in one transaction.

use crate::live::{goals, id};
use goalgraph_api::ids::NodeType;
use goalgraph_domain::kpi::{Cadence, Direction, KpiCategory};
use goalgraph_e2e::{deactivate, start};
use goalgraph_persistence::NewKpi;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const INSIGHTS: &str = "query($p: ID!) { insights(periodId: $p) { kind count owner { __typename ... on Person { id } } \
    objectives { id } keyResults { id } kpis { id } } }";
const TRANSFER: &str = "mutation($f: ID!, $t: ID!) { transferOwnership(input: { fromPersonId: $f, toPersonId: $t }) { \
    objectives { id owner { ... on Person { id } } } keyResults { id owner { id } } kpis { id owner { id } } } }";

fn orphaned(insights: &Value) -> Vec<Value> {
    insights["insights"]
        .as_array()
        .map(|all| all.iter().filter(|i| i["kind"] == "ORPHANED_OWNER").cloned().collect())
        .unwrap_or_default()
}

pub async fn orphaned_goals_are_listed_and_handed_over(db: TestDb) {
    let server = start(&db).await;
    let store = server.store();
    let g = goals(store, "leavers").await;
    let ivy_kpi = store
        .create_kpi(
            &g.admin,
            NewKpi {
                unit_id: g.inbound,
                owner_id: g.ivy.id,
                name: "Calls answered".into(),
                description: None,
                category: KpiCategory::Operational,
                unit_label: None,
                direction: Direction::HigherIsBetter,
                target: None,
                healthy_lower: Some(10.0),
                healthy_upper: None,
                tolerance_absolute: None,
                tolerance_percent: None,
                cadence: Cadence::Weekly,
                external_id: None,
            },
        )
        .await
        .unwrap();
    let hr = server.token(&g.org, &g.org.hr);
    let member = server.token(&g.org, &g.org.member);
    let period = id(NodeType::Period, g.period.0);
    let (ivy, otto) = (id(NodeType::Person, g.ivy.id.0), id(NodeType::Person, g.otto.id.0));

    // Positive control first: while Ivy is active, nothing is orphaned.
    assert!(orphaned(&server.gql_ok(&hr, INSIGHTS, json!({ "p": period })).await).is_empty());
    deactivate(store, &g.org, &g.ivy).await;
    let found = orphaned(&server.gql_ok(&hr, INSIGHTS, json!({ "p": period })).await);
    assert_eq!(found.len(), 1, "{found:?}");
    let insight = &found[0];
    assert_eq!(insight["owner"]["id"], ivy);
    // Her two objectives, their two key results, her KPI.
    assert_eq!(insight["count"], 5, "{insight}");
    let ids = |field: &str| -> Vec<Value> {
        let mut v: Vec<Value> = insight[field].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
        v.sort_by_key(|x| x.to_string());
        v
    };
    let mut want_objectives = vec![id(NodeType::Objective, g.ivys.0), id(NodeType::Objective, g.secret.0)];
    want_objectives.sort_by_key(|x| x.to_string());
    assert_eq!(ids("objectives"), want_objectives);
    assert_eq!(ids("kpis"), vec![id(NodeType::Kpi, ivy_kpi.id.0)]);
    // A member elsewhere sees the public part only, the private objective counted, not named.
    let seen = orphaned(&server.gql_ok(&member, INSIGHTS, json!({ "p": period })).await);
    let named = seen[0].to_string();
    assert!(!named.contains(id(NodeType::Objective, g.secret.0).as_str().unwrap()), "{named}");

    // Only who may change all of it may hand it over; a refusal moves nothing.
    server.gql(Some(&member), TRANSFER, json!({ "f": ivy, "t": otto })).await.assert_error("FORBIDDEN");
    // Nor to someone who left.
    let viewer = id(NodeType::Person, g.org.viewer.id.0);
    deactivate(store, &g.org, &g.org.viewer).await;
    server.gql(Some(&hr), TRANSFER, json!({ "f": ivy, "t": viewer })).await.assert_error("BAD_USER_INPUT");
    assert_eq!(orphaned(&server.gql_ok(&hr, INSIGHTS, json!({ "p": period })).await)[0]["count"], 5);

    let moved =
        server.gql_ok(&hr, TRANSFER, json!({ "f": ivy, "t": otto })).await["transferOwnership"].clone();
    assert_eq!(moved["objectives"].as_array().unwrap().len(), 2, "{moved}");
    assert!(moved["objectives"].as_array().unwrap().iter().all(|o| o["owner"]["id"] == otto));
    assert!(moved["keyResults"].as_array().unwrap().iter().all(|k| k["owner"]["id"] == otto));
    assert_eq!(moved["keyResults"].as_array().unwrap().len(), 2);
    assert_eq!(moved["kpis"][0]["owner"]["id"], otto);
    // Nothing is left orphaned but the viewer, who owns nothing.
    assert!(orphaned(&server.gql_ok(&hr, INSIGHTS, json!({ "p": period })).await).is_empty());
    // Otto now owns the private objective: he sees it.
    let otto_token = server.token_for(&g.otto.subject, &g.org.org.slug);
    let node = server
        .gql_ok(
            &otto_token,
            "query($o: ID!) { node(id: $o) { id } }",
            json!({ "o": id(NodeType::Objective, g.secret.0) }),
        )
        .await;
    assert_eq!(node["node"]["id"], id(NodeType::Objective, g.secret.0));
}
