//! Many writers at once over HTTP: every mutation answers, none is lost.

use goalgraph_e2e::{CREATE_UNIT, create_org, gql, start};
use goalgraph_testkit::TestDb;
use serde_json::json;
use std::collections::HashSet;

const WRITERS: usize = 50;

pub async fn concurrent_mutations_all_succeed(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);
    let company = server.company_unit_id(&token).await;
    let before = server.unit_count(&token).await;

    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let client = server.client.clone();
            let url = server.graphql_url();
            let token = token.clone();
            let variables = json!({ "parent": company, "name": format!("Concurrent {i}") });
            tokio::spawn(async move { gql(&client, &url, Some(&token), CREATE_UNIT, variables).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let reply = task.await.unwrap();
        let text = reply.body.to_string();
        assert!(!text.to_lowercase().contains("locked"), "writer {i}: {text}");
        let data = reply.assert_ok();
        assert_eq!(data["createUnit"]["unit"]["name"], format!("Concurrent {i}"));
        ids.insert(data["createUnit"]["unit"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), WRITERS, "every writer created its own unit");
    assert_eq!(server.unit_count(&token).await, before + WRITERS as u64);
    let data = server
        .gql_ok(&token, "{ units(filter: { search: \"Concurrent\" }) { totalCount } }", json!({}))
        .await;
    assert_eq!(data["units"]["totalCount"], WRITERS);
    server.stop().await;
}
