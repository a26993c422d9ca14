//! Report exports over real HTTP: a CSV answer with the caller's own
//! visibility and formula cells escaped, with a bearer token or a one-time
//! link (no header: what a browser sends), each audited; the refusals carry
//! a code and the field at fault.

use chrono::{Duration, Utc};
use goalgraph_e2e::{client, create_org, start};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const LINK: &str =
    "mutation($r: ReportInput!) { createReportExportLink(input: { report: $r }) { url expiresAt } }";

/// The CSV's records, split naively (the fixture's cells hold no commas
/// or line breaks other than in the quoted formula cell checked apart).
fn lines(body: &str) -> Vec<String> {
    body.lines().map(str::to_owned).collect()
}

pub async fn reports_export_as_csv_with_a_token_or_a_one_time_link(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let admin = server.token(&acme, &acme.admin);
    let member = server.token(&acme, &acme.member);
    let company = server.company_unit_id(&admin).await;
    // A unit whose name a spreadsheet would run as a formula.
    let evil = server.create_department(&admin, &company, "=HYPERLINK(\"http://x\")").await;
    let today = Utc::now().date_naive();
    let period = server
        .gql_ok(
            &admin,
            "mutation($s: Date!, $e: Date!) { createPeriod(input: { name: \"Now\", startDate: $s, endDate: $e }) { period { id } } }",
            json!({ "s": (today - Duration::days(10)).to_string(), "e": (today + Duration::days(80)).to_string() }),
        )
        .await["createPeriod"]["period"]["id"]
        .clone();
    let objective = |unit: &str, title: &str, visibility: &str| json!({ "input": { "periodId": period, "ownerUnitId": unit, "title": title, "visibility": visibility } });
    let create =
        "mutation($input: CreateObjectiveInput!) { createObjective(input: $input) { objective { id } } }";
    server.gql_ok(&admin, create, objective(&evil, "Public one", "PUBLIC")).await;
    server.gql_ok(&admin, create, objective(&evil, "Public two", "PUBLIC")).await;
    server.gql_ok(&admin, create, objective(&evil, "Hidden", "PRIVATE")).await;

    let input = json!({ "measures": ["OBJECTIVE_COUNT"], "dimensions": ["UNIT"] });
    let get = |token: Option<&str>, params: Vec<(&str, String)>| {
        let mut req = client().get(server.url("/reports/export")).query(&params);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let as_csv = |token: &str| get(Some(token), vec![("format", "csv".into()), ("input", input.to_string())]);

    // The admin counts all three; a member, who may not see the PRIVATE
    // one, two.
    let res = as_csv(&admin).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let body = res.text().await.unwrap();
    let rows = lines(&body);
    assert_eq!(rows[0], "unit,unit_id,objective_count", "{body}");
    assert!(rows[1].starts_with("\"'=HYPERLINK(\"\"http://x\"\")\","), "the formula is escaped: {body}");
    assert!(rows[1].ends_with(",3"), "{body}");
    assert_eq!(rows[2], "TOTAL,,3", "{body}");
    assert!(!body.contains(",=HYPERLINK") && !body.starts_with('='), "no cell starts with =");
    let member_body = as_csv(&member).await.unwrap().text().await.unwrap();
    assert!(lines(&member_body)[1].ends_with(",2"), "{member_body}");
    assert_eq!(lines(&member_body)[2], "TOTAL,,2");

    // Refusals: no credential, bad input naming its field, another format.
    let res = get(None, vec![("input", input.to_string())]).await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let bad = json!({ "measures": ["KPI_COUNT"], "dimensions": ["PERIOD"] });
    let res = get(Some(&member), vec![("input", bad.to_string())]).await.unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(err["errors"][0]["extensions"]["field"], "input.dimensions");
    let res = get(Some(&member), vec![("input", "{not json".into())]).await.unwrap();
    assert_eq!(res.status(), 400);
    let res =
        get(Some(&member), vec![("format", "xlsx".into()), ("input", input.to_string())]).await.unwrap();
    assert_eq!(res.status(), 400);

    // As of an instant: the numbers that held then (objectives are today's
    // structure, so the count holds); not in the future, and a date-time.
    let hour_ago = (Utc::now() - Duration::hours(1)).to_rfc3339();
    let res = get(Some(&admin), vec![("input", input.to_string()), ("asOf", hour_ago)]).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), body, "as of an hour ago");
    for at in [(Utc::now() + Duration::hours(1)).to_rfc3339(), "yesterday".into()] {
        let res = get(Some(&admin), vec![("input", input.to_string()), ("asOf", at.clone())]).await.unwrap();
        assert_eq!(res.status(), 400, "{at}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["errors"][0]["extensions"]["field"], "asOf", "{at}: {err}");
    }

    // A saved report, shared by the admin, exports with the member's view.
    let saved = server
        .gql_ok(
            &admin,
            "mutation($d: ReportInput!) { saveReport(input: { name: \"By unit\", definition: $d, shared: true }) { savedReport { id } } }",
            json!({ "d": input }),
        )
        .await["saveReport"]["savedReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = get(Some(&member), vec![("savedReportId", saved.clone())]).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), member_body, "the saved report, as the member sees it");
    let res = get(Some(&member), vec![("savedReportId", saved), ("input", input.to_string())]).await.unwrap();
    assert_eq!(res.status(), 400, "input or a saved report, not both");

    // A one-time link: the member's own view, without any header, once.
    let link = server.gql_ok(&member, LINK, json!({ "r": input })).await["createReportExportLink"].clone();
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/reports/export?link="), "{url}");
    let res = client().get(server.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), member_body, "the link exports what its issuer sees");
    let res = client().get(server.url(&url)).send().await.unwrap();
    assert_eq!(res.status(), 404, "a link serves once");
    let res = client().get(server.url("/reports/export?link=0000")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // A bad definition is refused when the link is asked for.
    let reply = server.gql(Some(&member), LINK, json!({ "r": bad })).await;
    reply.assert_error("BAD_USER_INPUT");

    // Every export is on the trail, the link's with its issuer.
    let trail = server
        .gql_ok(
            &admin,
            "{ viewer { id } auditEvents(filter: { action: \"exportReport\" }) { totalCount edges { node { actorKind actorId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(trail["auditEvents"]["totalCount"], json!(5), "{trail}");
    let member_id = server.gql_ok(&member, "{ viewer { id } }", json!({})).await["viewer"]["id"].clone();
    let by: Vec<Value> = trail["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["actorId"].clone())
        .collect();
    assert_eq!(by.iter().filter(|a| **a == member_id).count(), 3, "the member's three exports: {trail}");
    assert_eq!(by.iter().filter(|a| **a == trail["viewer"]["id"]).count(), 2, "the admin's two: {trail}");
    let issued = server
        .gql_ok(
            &admin,
            "{ auditEvents(filter: { action: \"createReportExportLink\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(issued["auditEvents"]["totalCount"], json!(1));
}
