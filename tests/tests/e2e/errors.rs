//! Internal errors reach the client as a generic message with the request
//! id, never with the database's words.

use goalgraph_e2e::{WHO_AM_I, create_org, reply, start};
use goalgraph_persistence::{Store, StoreOptions};
use goalgraph_testkit::TestDb;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const PERIODS: &str = "{ periods { totalCount } }";

/// Words of SQL and of the database drivers that must never reach a client.
const LEAKS: [&str; 9] = [
    "select",
    "from ",
    "no such table",
    "relation",
    "does not exist",
    "sqlite",
    "sqlx",
    "postgres",
    "database",
];

pub async fn internal_errors_name_only_the_request_id(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let token = server.token(&acme, &acme.admin);

    // Positive control: the query works while the table exists.
    let data = server.gql_ok(&token, PERIODS, json!({})).await;
    assert_eq!(data["periods"]["totalCount"], 0);

    // Break the database behind the server's back.
    let saboteur = Store::connect(&db.url, &StoreOptions::default()).await.unwrap();
    // Other tables reference periods: PostgreSQL needs CASCADE to drop it
    // (SQLite drops it while no row refers to it).
    let drop = match db.backend {
        goalgraph_testkit::Backend::Postgres => "DROP TABLE periods CASCADE",
        goalgraph_testkit::Backend::Sqlite => "DROP TABLE periods",
    };
    saboteur.connection().execute_unprepared(drop).await.unwrap();
    saboteur.close().await.unwrap();

    let client_id = format!("e2e-{}", uuid::Uuid::new_v4());
    for supplied in [None, Some(client_id.as_str())] {
        let mut request =
            server.client.post(server.graphql_url()).bearer_auth(&token).json(&json!({ "query": PERIODS }));
        if let Some(id) = supplied {
            request = request.header("x-request-id", id);
        }
        let reply = reply(request.send().await.unwrap()).await;
        let request_id = reply.header("x-request-id").expect("x-request-id").to_owned();
        if let Some(id) = supplied {
            assert_eq!(request_id, id);
        }
        reply.assert_error("INTERNAL");
        let error = &reply.body["errors"][0];
        assert_eq!(error["message"], format!("internal error (request id {request_id})"), "{}", reply.body);
        assert_eq!(error["extensions"]["requestId"], request_id, "{}", reply.body);
        let text = reply.body.to_string().to_lowercase();
        for leak in LEAKS {
            assert!(!text.contains(leak), "the response says {leak:?}: {text}");
        }
        // The field path names the field the client asked for; the rest of
        // the error must not name the table.
        let mut error = error.as_object().unwrap().clone();
        error.remove("path");
        assert!(!Value::Object(error).to_string().contains("period"), "{}", reply.body);
    }

    // Other queries still work.
    let data = server.gql_ok(&token, WHO_AM_I, json!({})).await;
    assert_eq!(data["organization"]["name"], "Acme Corp");
    server.stop().await;
}
