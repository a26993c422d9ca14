//! Partner integrations: scoped API keys, shown once, stored hashed,
//! usable as bearer credentials, revocable with immediate effect.

use goalgraph_e2e::{create_org, start};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const CREATE: &str = "mutation($n: String!, $s: [IntegrationScope!]!) { createIntegration(input: { name: $n, scopes: $s }) \
                      { apiKey integration { id keyPrefix scopes } } }";

pub async fn integration_keys_do_what_their_scopes_name(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let admin = server.token(&acme, &acme.admin);
    let company = server.company_unit_id(&admin).await;
    let admin_id = server.gql_ok(&admin, "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let kpi = server
        .gql_ok(
            &admin,
            "mutation($u: ID!, $o: ID!) { createKpi(input: { unitId: $u, ownerId: $o, name: \"Uptime\", category: OPERATIONAL, \
             direction: HIGHER_IS_BETTER, healthyLower: 99, cadence: DAILY, externalId: \"uptime\" }) { kpi { id } } }",
            json!({ "u": company, "o": admin_id }),
        )
        .await["createKpi"]["kpi"]["id"]
        .clone();

    // Only admins manage integrations: HR cannot even see them.
    let hr = server.token(&acme, &acme.hr);
    server
        .gql(Some(&hr), CREATE, json!({ "n": "HRIS", "s": ["DIRECTORY_WRITE"] }))
        .await
        .assert_error("NOT_FOUND");

    let create = |name: &'static str, scopes: Value| {
        let admin = admin.clone();
        let server = &server;
        async move {
            server.gql_ok(&admin, CREATE, json!({ "n": name, "s": scopes })).await["createIntegration"]
                .clone()
        }
    };
    let metrics = create("Metrics feed", json!(["KPI_WRITE"])).await;
    let bi = create("BI", json!(["OKR_READ"])).await;
    let hris = create("HRIS", json!(["DIRECTORY_WRITE"])).await;
    let key = |i: &Value| i["apiKey"].as_str().unwrap_or_default().to_owned();
    let (metrics_key, bi_key, hris_key) = (key(&metrics), key(&bi), key(&hris));
    assert!(metrics_key.starts_with("ggk_") && metrics_key.len() > 60, "recognisable, long: {metrics_key}");
    assert!(metrics_key.starts_with(metrics["integration"]["keyPrefix"].as_str().unwrap_or("?")));

    // Shown once: the list never carries a key, and the database only its hash.
    let listed = server.gql_ok(&admin, "{ integrations { name keyPrefix lastUsedAt } }", json!({})).await;
    assert!(!listed.to_string().contains(&metrics_key));
    let raw = stored_integration_text(server.store()).await;
    assert!(raw.contains("Metrics feed"), "positive control: the rows were read");
    assert!(!raw.contains(&metrics_key[4..]), "the key is stored only as a hash");

    let record = "mutation($t: DateTime!) { recordKpiMeasurement(input: { externalId: \"uptime\", observedAt: $t, value: 99.5 }) { written } }";
    let now = json!({ "t": chrono::Utc::now().to_rfc3339() });
    let unit = "mutation($p: ID!) { createUnit(input: { kind: DEPARTMENT, name: \"Synced\", parentId: $p }) { unit { id } } }";

    // kpi:write records measurements (addressing the KPI by its external id) …
    let written = server.gql_ok(&metrics_key, record, now.clone()).await;
    assert_eq!(written["recordKpiMeasurement"]["written"], 1);
    // … and nothing else: no directory, no persons behind it.
    server.gql(Some(&metrics_key), unit, json!({ "p": company })).await.assert_error("NOT_FOUND");
    let seen = server.gql_ok(&metrics_key, "{ viewer { name } units { totalCount } }", json!({})).await;
    assert_eq!((seen["viewer"].clone(), seen["units"]["totalCount"].clone()), (Value::Null, json!(0)));

    // okr:read reads PUBLIC objectives but records nothing.
    server.gql(Some(&bi_key), record, now.clone()).await.assert_error("NOT_FOUND");
    let q = server.gql_ok(&bi_key, "query($k: ID!) { node(id: $k) { id } }", json!({ "k": kpi })).await;
    assert_eq!(q["node"], Value::Null);

    // directory:write maintains units but records nothing.
    let created = server.gql_ok(&hris_key, unit, json!({ "p": company })).await;
    assert!(created["createUnit"]["unit"]["id"].is_string());
    server.gql(Some(&hris_key), record, now.clone()).await.assert_error("NOT_FOUND");

    // A kpi:write integration given a list feeds and sees those KPIs only.
    let errors = server
        .gql_ok(
            &admin,
            "mutation($u: ID!, $o: ID!) { createKpi(input: { unitId: $u, ownerId: $o, name: \"Errors\", category: OPERATIONAL, \
             direction: LOWER_IS_BETTER, healthyUpper: 1, cadence: DAILY, externalId: \"errors\" }) { kpi { id } } }",
            json!({ "u": company, "o": admin_id }),
        )
        .await["createKpi"]["kpi"]["id"]
        .clone();
    let listed_create = "mutation($k: [ID!]) { createIntegration(input: { name: \"Error feed\", scopes: [KPI_WRITE], kpiIds: $k }) \
                         { apiKey integration { kpiIds } } }";
    let feed =
        server.gql_ok(&admin, listed_create, json!({ "k": [errors] })).await["createIntegration"].clone();
    assert_eq!(feed["integration"]["kpiIds"], json!([errors]));
    let feed_key = key(&feed);
    let record_errors = "mutation($t: DateTime!) { recordKpiMeasurement(input: { externalId: \"errors\", observedAt: $t, value: 0.5 }) { written } }";
    assert_eq!(
        server.gql_ok(&feed_key, record_errors, now.clone()).await["recordKpiMeasurement"]["written"],
        1
    );
    server.gql(Some(&feed_key), record, now.clone()).await.assert_error("NOT_FOUND");
    let seen = server.gql_ok(&feed_key, "{ kpis { totalCount edges { node { id } } } }", json!({})).await;
    assert_eq!(seen["kpis"]["totalCount"], 1, "{seen}");
    assert_eq!(seen["kpis"]["edges"][0]["node"]["id"], errors);
    // A list for an integration that feeds no KPIs, or naming a foreign id, is refused.
    let bad = "mutation($k: [ID!]) { createIntegration(input: { name: \"Odd\", scopes: [OKR_READ], kpiIds: $k }) { apiKey } }";
    server.gql(Some(&admin), bad, json!({ "k": [errors] })).await.assert_error("BAD_USER_INPUT");
    server.gql(Some(&admin), listed_create, json!({ "k": [company] })).await.assert_error("BAD_USER_INPUT");

    // Used keys show their last use.
    let listed = server.gql_ok(&admin, "{ integrations { name lastUsedAt } }", json!({})).await;
    let used = listed["integrations"].as_array().cloned().unwrap_or_default();
    assert!(used.iter().find(|i| i["name"] == "Metrics feed").is_some_and(|i| i["lastUsedAt"].is_string()));

    // Revoked: the next request with the key is 401.
    server
        .gql_ok(
            &admin,
            "mutation($i: ID!) { revokeIntegration(input: { id: $i }) { integration { revokedAt } } }",
            json!({ "i": metrics["integration"]["id"] }),
        )
        .await;
    server.gql(Some(&metrics_key), record, now.clone()).await.assert_unauthenticated("revoked key");
    // A key that never existed, with the right prefix, is 401 too.
    let forged = "ggk_0000000000000000000000000000000000000000000000000000000000000000";
    server.gql(Some(forged), record, now).await.assert_unauthenticated("unknown key");
    server.stop().await;
}

/// Every text column of the stored integrations, read behind the API.
async fn stored_integration_text(store: &goalgraph_persistence::Store) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let conn = store.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT name, scopes, key_prefix, key_hash FROM integrations".to_owned(),
        ))
        .await
        .unwrap();
    let mut out = String::new();
    for row in rows {
        for col in ["name", "scopes", "key_prefix", "key_hash"] {
            out.push_str(&row.try_get::<String>("", col).unwrap());
            out.push('\n');
        }
    }
    out
}
