//! HRIS directory sync over real HTTP: an integration key with
//! DIRECTORY_WRITE loads a few hundred people in one call larger than the
//! normal body limit, and the people it synced sign in.

use goalgraph_e2e::{create_org, reply, start_with};
use goalgraph_testkit::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CREATE: &str = "mutation($n: String!, $s: [IntegrationScope!]!) { \
                      createIntegration(input: { name: $n, scopes: $s }) { apiKey } }";

const SYNC: &str = "mutation($units: [DirectoryUnitInput!]!, $people: [DirectoryPersonInput!]!) { \
    syncDirectory(input: { units: $units, people: $people }) { \
    unitsCreated unitsUpdated peopleCreated peopleUpdated peopleDeactivated unchanged replayed } }";

/// 3 departments of 4 teams of 25 people; each team's first person leads
/// it and reports to p0, everyone else to their team lead; p299 has left.
fn directory() -> (Vec<Value>, Vec<Value>) {
    let mut units: Vec<Value> = (0..3)
        .map(|d| json!({ "externalId": format!("d{d}"), "name": format!("Department {d}"), "kind": "DEPARTMENT" }))
        .collect();
    units.extend((0..12).map(|t| {
        json!({ "externalId": format!("t{t}"), "name": format!("Team {t}"), "kind": "TEAM",
                "parentExternalId": format!("d{}", t / 4) })
    }));
    let people = (0..300)
        .map(|p| {
            let lead = p / 25 * 25;
            let manager = if p != lead { Some(format!("p{lead}")) } else if p != 0 { Some("p0".into()) } else { None };
            json!({ "externalId": format!("p{p}"), "name": format!("Person {p}"), "email": format!("p{p}@acme.example"),
                    "unitExternalId": format!("t{}", p / 25), "managerExternalId": manager, "active": p != 299 })
        })
        .collect();
    (units, people)
}

pub async fn a_directory_integration_syncs_people_who_then_sign_in(db: TestDb) {
    // A small normal limit, so that the sync (some 50 KB) exceeds it.
    const LIMIT: usize = 16 * 1024;
    let server = start_with(&db, |c| c.body_limit_bytes = LIMIT).await;
    let acme = create_org(server.store(), "acme").await;
    let admin = server.token(&acme, &acme.admin);
    let key = async |name: &str, scope: &str| {
        let created = server.gql_ok(&admin, CREATE, json!({ "n": name, "s": [scope] })).await;
        created["createIntegration"]["apiKey"].as_str().unwrap().to_owned()
    };
    let hris = key("HRIS", "DIRECTORY_WRITE").await;
    let metrics = key("Metrics feed", "KPI_WRITE").await;
    let (units, people) = directory();
    let body = json!({ "query": SYNC, "variables": { "units": units, "people": people } }).to_string();
    assert!(body.len() > LIMIT, "the sync ({} bytes) must exceed the normal limit", body.len());
    let post = |key: &str, body: String| {
        server
            .client
            .post(server.graphql_url())
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body)
    };

    // A key without the directory scope does not see the directory at all.
    let refused = reply(post(&metrics, body.clone()).send().await.unwrap()).await;
    refused.assert_error("NOT_FOUND");
    assert_eq!(server.unit_count(&admin).await, 1, "nothing was written");

    // The same body with a root field besides the sync is held to the normal limit.
    let mixed = body.replacen("syncDirectory(", "__typename syncDirectory(", 1);
    let too_large = reply(post(&hris, mixed).send().await.unwrap()).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", too_large.body);

    let synced = reply(post(&hris, body.clone()).send().await.unwrap()).await.assert_ok();
    assert_eq!(
        synced["syncDirectory"],
        json!({ "unitsCreated": 15, "unitsUpdated": 0, "peopleCreated": 300, "peopleUpdated": 0,
                "peopleDeactivated": 0, "unchanged": 0, "replayed": false })
    );
    assert_eq!(server.unit_count(&admin).await, 16);

    // Synced people sign in with their e-mail address as subject.
    let p37 = server.token_for("p37@acme.example", "acme");
    let me = server
        .gql_ok(&p37, "{ viewer { name email externalId roles unit { name } manager { name } } }", json!({}))
        .await;
    assert_eq!(
        me["viewer"],
        json!({ "name": "Person 37", "email": "p37@acme.example", "externalId": "p37", "roles": ["MEMBER"],
                "unit": { "name": "Team 1" }, "manager": { "name": "Person 25" } })
    );
    // A person synced as inactive does not.
    let gone = server.token_for("p299@acme.example", "acme");
    server.gql(Some(&gone), "{ viewer { name } }", json!({})).await.assert_unauthenticated("inactive person");

    // Again: nothing changes. A bad row names itself and writes nothing.
    let again = reply(post(&hris, body.clone()).send().await.unwrap()).await.assert_ok();
    assert_eq!(again["syncDirectory"]["unchanged"], 315);
    let mut broken = people.clone();
    broken[123]["email"] = json!("p123-at-acme");
    broken[7]["name"] = json!("Renamed");
    let bad = server.gql(Some(&hris), SYNC, json!({ "units": units, "people": broken })).await;
    bad.assert_error("BAD_USER_INPUT");
    assert_eq!(bad.body["errors"][0]["extensions"]["field"], "people[123].email", "{}", bad.body);
    let p7 = server.token_for("p7@acme.example", "acme");
    let unchanged = server.gql_ok(&p7, "{ viewer { name } }", json!({})).await;
    assert_eq!(unchanged["viewer"]["name"], "Person 7");
    server.stop().await;
}
