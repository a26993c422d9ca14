//! Live subscriptions end to end: the real server, mutations over HTTP,
//! events over a real WebSocket (graphql-transport-ws). Expected numbers
//! are computed by hand from the fixture below.

use chrono::{Duration as Days, Utc};
use goalgraph_api::ids::{NodeType, encode_id};
use goalgraph_domain::kpi::{Cadence, Direction, KpiCategory};
use goalgraph_domain::model::{PeriodStatus, Person, Role, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveKind, ObjectiveStatus, Owner, Visibility};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{KeyResultId, KpiId, ObjectiveId, PeriodId, UnitId};
use goalgraph_e2e::{Org, TestServer, WsClient, create_org, start, start_with};
use goalgraph_persistence::{NewKeyResult, NewKpi, NewObjective, NewPeriod, NewPerson, PersonPatch, Store};

use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::time::Duration;

const KR_PROGRESS: &str = "subscription($kr: ID, $o: ID, $u: ID, $after: String) { \
    keyResultProgress(keyResultId: $kr, objectiveId: $o, unitId: $u, after: $after) { \
    cursor keyResultId objectiveId value progress confidence health checkIn { value note } } }";
const OBJECTIVE_PROGRESS: &str = "subscription($o: ID!) { objectiveProgress(objectiveId: $o) { \
    cursor objectiveId progress health } }";
const KPI_STATUS: &str = "subscription($k: ID) { kpiStatus(kpiId: $k) { \
    cursor kpiId status previousStatus changed latestValue points } }";
const ALIGNMENT: &str = "subscription($p: ID!) { alignmentChanged(periodId: $p) { \
    kind objectiveId parentId status } }";
const CHECK_IN: &str = "mutation($kr: ID!, $v: Float!, $c: Float, $n: String) { \
    checkIn(input: { keyResultId: $kr, value: $v, confidence: $c, note: $n }) { keyResult { progress } } }";

/// A quarter around today; units Sales › Inbound and Sales › Outbound;
/// Ivy (member of Inbound) and Otto (member of Outbound). Objectives, all
/// ACTIVE: the company's, Sales', Inbound's, Ivy's (PUBLIC) and Ivy's
/// secret one (PRIVATE), each aligned to the one before, the last two both
/// to Inbound's. Ivy owns a key result 0 → 100 on each of hers, and the
/// company has a KPI (HIGHER_IS_BETTER, healthy from 90).
pub(crate) struct Goals {
    pub(crate) org: Org,
    pub(crate) admin: Actor,
    pub(crate) period: PeriodId,
    pub(crate) inbound: UnitId,
    pub(crate) outbound: UnitId,
    pub(crate) ivy: Person,
    pub(crate) otto: Person,
    pub(crate) company: ObjectiveId,
    pub(crate) ivys: ObjectiveId,
    pub(crate) secret: ObjectiveId,
    pub(crate) kr: KeyResultId,
    pub(crate) secret_kr: KeyResultId,
    pub(crate) kpi: KpiId,
}

pub(crate) async fn goals(store: &Store, slug: &str) -> Goals {
    let org = create_org(store, slug).await;
    let admin = store.person_actor(&org.admin, &RoleSet::default()).await.unwrap();
    let a = &admin;
    let unit = |kind, name: &str, parent| goalgraph_persistence::NewUnit {
        kind,
        name: name.to_owned(),
        parent_id: parent,
        external_id: None,
    };
    let sales = store.create_unit(a, unit(UnitKind::Department, "Sales", org.company.id)).await.unwrap();
    let inbound = store.create_unit(a, unit(UnitKind::Team, "Inbound", sales.id)).await.unwrap();
    let outbound = store.create_unit(a, unit(UnitKind::Team, "Outbound", sales.id)).await.unwrap();
    let person = |name: &str, unit: UnitId| NewPerson {
        name: name.to_owned(),
        email: format!("{}@{slug}.example", name.to_lowercase()),
        unit_id: unit,
        manager_id: None,
        roles: Some(RoleSet::new([Role::Member])),
        subject: None,
        external_id: None,
    };
    let ivy = store.create_person(a, person("Ivy", inbound.id)).await.unwrap();
    let otto = store.create_person(a, person("Otto", outbound.id)).await.unwrap();
    let today = Utc::now().date_naive();
    let period = store
        .create_period(
            a,
            NewPeriod {
                name: "Now".into(),
                start_date: today - Days::days(30),
                end_date: today + Days::days(60),
            },
        )
        .await
        .unwrap();
    store.transition_period(a, period.id, PeriodStatus::Active, None).await.unwrap();
    let objective = async |owner, title: &str, parent, visibility| {
        store
            .create_objective(
                a,
                NewObjective {
                    period_id: period.id,
                    owner,
                    parent_id: parent,
                    title: title.to_owned(),
                    description: None,
                    kind: ObjectiveKind::Committed,
                    visibility,
                    progress_driver: None,
                    status: Some(ObjectiveStatus::Active),
                },
            )
            .await
            .unwrap()
            .id
    };
    let company = objective(Owner::Unit(org.company.id), "Company", None, Visibility::Public).await;
    let sales_o = objective(Owner::Unit(sales.id), "Sales", Some(company), Visibility::Public).await;
    let inbound_o = objective(Owner::Unit(inbound.id), "Inbound", Some(sales_o), Visibility::Public).await;
    let ivys = objective(Owner::Person(ivy.id), "Ivy's", Some(inbound_o), Visibility::Public).await;
    let secret = objective(Owner::Person(ivy.id), "Ivy's secret", Some(inbound_o), Visibility::Private).await;
    let key_result = async |o: ObjectiveId, title: &str| {
        store
            .create_key_result(
                a,
                NewKeyResult {
                    objective_id: o,
                    owner_id: ivy.id,
                    title: title.to_owned(),
                    measure: Measure::Increase,
                    start: 0.0,
                    target: 100.0,
                    unit_label: None,
                    weight: Some(1.0),
                },
            )
            .await
            .unwrap()
            .id
    };
    let kr = key_result(ivys, "Calls").await;
    let secret_kr = key_result(secret, "Secret calls").await;
    let kpi = store
        .create_kpi(
            a,
            NewKpi {
                unit_id: org.company.id,
                owner_id: org.admin.id,
                name: "Uptime".into(),
                description: None,
                category: KpiCategory::Operational,
                unit_label: None,
                direction: Direction::HigherIsBetter,
                target: None,
                healthy_lower: Some(90.0),
                healthy_upper: None,
                tolerance_absolute: Some(5.0),
                tolerance_percent: None,
                cadence: Cadence::Daily,
                external_id: None,
            },
        )
        .await
        .unwrap()
        .id;
    Goals {
        org,
        admin,
        period: period.id,
        inbound: inbound.id,
        outbound: outbound.id,
        ivy,
        otto,
        company,
        ivys,
        secret,
        kr,
        secret_kr,
        kpi,
    }
}

pub(crate) fn id(node: NodeType, uuid: uuid::Uuid) -> Value {
    json!(encode_id(node, uuid).0)
}

/// Subscribes on a connection of its own and waits until the server has
/// registered it with the live hub (`subscribers` goes up by one).
async fn subscribe(server: &TestServer, token: &str, query: &str, vars: Value) -> WsClient {
    let hub = server.store().live().await.unwrap();
    // The fixture's own events are history, not news for this subscriber.
    hub.caught_up(server.store()).await.unwrap();
    let before = hub.subscribers();
    let mut ws = server.ws_session(token).await;
    ws.subscribe("s", query, vars).await;
    let registered =
        goalgraph_e2e::eventually(Duration::from_secs(10), || async { hub.subscribers() > before }).await;
    assert!(registered, "the subscription never reached the live hub");
    ws
}

/// The subscription's next event payload's data, under `field`.
async fn event(ws: &mut WsClient, field: &str) -> Value {
    let payload = ws.expect_next("s").await;
    assert!(payload.get("errors").is_none(), "an event with errors: {payload}");
    payload["data"][field].clone()
}

/// Nothing arrives on the subscription for a while (an event it must not
/// see would have come with the one that was awaited just before).
async fn nothing_more(ws: &mut WsClient) {
    ws.round_trip().await;
    match tokio::time::timeout(Duration::from_millis(400), ws.next_message(Duration::from_secs(5))).await {
        Err(_) => {}
        Ok(message) => panic!("expected nothing more, got {message}"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

pub async fn every_subscription_delivers_over_a_websocket(db: TestDb) {
    let server = start(&db).await;
    let store = server.store();
    let g = goals(store, "live").await;
    let admin = server.token(&g.org, &g.org.admin);
    let ivy = server.token_for(&g.ivy.subject, &g.org.org.slug);
    let kr = id(NodeType::KeyResult, g.kr.0);

    let mut by_kr = subscribe(&server, &admin, KR_PROGRESS, json!({ "kr": kr })).await;
    let mut by_objective =
        subscribe(&server, &admin, KR_PROGRESS, json!({ "o": id(NodeType::Objective, g.ivys.0) })).await;
    let mut by_unit =
        subscribe(&server, &admin, KR_PROGRESS, json!({ "u": id(NodeType::Unit, g.inbound.0) })).await;
    let mut elsewhere =
        subscribe(&server, &admin, KR_PROGRESS, json!({ "u": id(NodeType::Unit, g.outbound.0) })).await;
    let mut company =
        subscribe(&server, &admin, OBJECTIVE_PROGRESS, json!({ "o": id(NodeType::Objective, g.company.0) }))
            .await;
    let mut kpi = subscribe(&server, &admin, KPI_STATUS, json!({ "k": id(NodeType::Kpi, g.kpi.0) })).await;
    let mut alignment =
        subscribe(&server, &admin, ALIGNMENT, json!({ "p": id(NodeType::Period, g.period.0) })).await;

    // Ivy checks in 40 of 100 over HTTP, confident enough (0.9): a third of
    // the quarter has passed, so 0.40 against an expected 0.33 is on track.
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": kr, "v": 40.0, "c": 0.9, "n": "good week" })).await;
    let mut first_cursor = None;
    for ws in [&mut by_kr, &mut by_objective, &mut by_unit] {
        let e = event(ws, "keyResultProgress").await;
        assert_eq!(e["keyResultId"], kr);
        assert_eq!(e["objectiveId"], id(NodeType::Objective, g.ivys.0));
        assert_eq!((e["value"].as_f64(), e["confidence"].as_f64()), (Some(40.0), Some(0.9)));
        assert!(close(e["progress"].as_f64().unwrap(), 0.4), "{e}");
        assert_eq!(e["health"], "ON_TRACK");
        assert_eq!(e["checkIn"], json!({ "value": 40.0, "note": "good week" }));
        first_cursor = e["cursor"].as_str().map(str::to_owned);
    }
    nothing_more(&mut elsewhere).await;
    // Three levels above: Inbound averages Ivy's two objectives (0.4, 0),
    // Sales and the company follow Inbound: 0.2.
    let e = event(&mut company, "objectiveProgress").await;
    assert_eq!(e["objectiveId"], id(NodeType::Objective, g.company.0));
    assert!(close(e["progress"].as_f64().unwrap(), 0.2), "{e}");

    // A measurement inside the healthy range: NO_DATA → HEALTHY.
    server
        .gql_ok(
            &admin,
            "mutation($k: ID!, $t: DateTime!) { recordKpiMeasurement(input: { kpiId: $k, observedAt: $t, value: 95 }) { written } }",
            json!({ "k": id(NodeType::Kpi, g.kpi.0), "t": Utc::now().to_rfc3339() }),
        )
        .await;
    let e = event(&mut kpi, "kpiStatus").await;
    assert_eq!(
        (&e["status"], &e["previousStatus"], &e["changed"], &e["latestValue"], &e["points"]),
        (&json!("HEALTHY"), &json!("NO_DATA"), &json!(true), &json!(95.0), &json!(1))
    );

    // A new objective aligned to the company's: CREATED, naming its parent.
    let created = server
        .gql_ok(
            &admin,
            "mutation($p: ID!, $u: ID!, $parent: ID!) { createObjective(input: { periodId: $p, ownerUnitId: $u, \
             parentObjectiveId: $parent, title: \"Expand\", status: ACTIVE }) { objective { id } } }",
            json!({ "p": id(NodeType::Period, g.period.0), "u": id(NodeType::Unit, g.org.company.id.0),
                    "parent": id(NodeType::Objective, g.company.0) }),
        )
        .await["createObjective"]["objective"]["id"]
        .clone();
    let e = event(&mut alignment, "alignmentChanged").await;
    assert_eq!(
        e,
        json!({ "kind": "CREATED", "objectiveId": created, "parentId": id(NodeType::Objective, g.company.0), "status": "ACTIVE" })
    );

    // A client that missed an event resumes after the cursor it had.
    drop(by_kr);
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": kr, "v": 55.0 })).await;
    let mut resumed =
        subscribe(&server, &admin, KR_PROGRESS, json!({ "kr": kr, "after": first_cursor.clone() })).await;
    let e = event(&mut resumed, "keyResultProgress").await;
    assert_eq!(e["value"], 55.0, "the missed event comes first");
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": kr, "v": 60.0 })).await;
    let e = event(&mut resumed, "keyResultProgress").await;
    assert_eq!(e["value"], 60.0, "then live ones, each once");

    // Once events are pruned, a stale cursor is told to refetch.
    store.prune_live_events(chrono::Duration::seconds(-1)).await.unwrap();
    let mut ws = server.ws_session(&admin).await;
    ws.subscribe("s", KR_PROGRESS, json!({ "kr": kr, "after": first_cursor })).await;
    let errors = ws.expect_error("s").await;
    assert_eq!(errors[0]["extensions"]["code"], "CONFLICT", "{errors}");
    assert!(errors[0]["message"].as_str().unwrap().contains("refetch"), "{errors}");
    // Bad arguments are named.
    ws.subscribe("t", KR_PROGRESS, json!({ "kr": kr, "o": id(NodeType::Objective, g.ivys.0) })).await;
    let errors = ws.expect_error("t").await;
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{errors}");
}

pub async fn subscribers_see_only_what_the_policy_lets_them(db: TestDb) {
    let server = start(&db).await;
    let store = server.store();
    let g = goals(store, "secrets").await;
    let ivy = server.token_for(&g.ivy.subject, &g.org.org.slug);
    let otto = server.token_for(&g.otto.subject, &g.org.org.slug);
    let secret = id(NodeType::Objective, g.secret.0);

    // Otto, a member of another team, cannot subscribe to Ivy's PRIVATE
    // objective: NOT_FOUND, as a query of it answers. Ivy, its owner, can.
    let mut ws = server.ws_session(&otto).await;
    ws.subscribe("s", OBJECTIVE_PROGRESS, json!({ "o": secret })).await;
    let errors = ws.expect_error("s").await;
    assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{errors}");
    let query =
        server.gql(Some(&otto), "query($o: ID!) { node(id: $o) { id } }", json!({ "o": secret })).await;
    assert_eq!(query.body["data"]["node"], Value::Null, "the query hides it the same way");
    ws.subscribe("k", KR_PROGRESS, json!({ "kr": id(NodeType::KeyResult, g.secret_kr.0) })).await;
    assert_eq!(ws.expect_error("k").await[0]["extensions"]["code"], "NOT_FOUND");
    let mut owner = subscribe(&server, &ivy, OBJECTIVE_PROGRESS, json!({ "o": secret })).await;

    // Otto may follow the Inbound team (its unit is no secret), but of its
    // key results only the PUBLIC one's events reach him.
    let mut team =
        subscribe(&server, &otto, KR_PROGRESS, json!({ "u": id(NodeType::Unit, g.inbound.0) })).await;
    let mut ivy_team =
        subscribe(&server, &ivy, KR_PROGRESS, json!({ "u": id(NodeType::Unit, g.inbound.0) })).await;
    let mut tree =
        subscribe(&server, &otto, ALIGNMENT, json!({ "p": id(NodeType::Period, g.period.0) })).await;
    let secret_kr = id(NodeType::KeyResult, g.secret_kr.0);
    let public_kr = id(NodeType::KeyResult, g.kr.0);
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": secret_kr, "v": 10.0, "n": "hush" })).await;
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": public_kr, "v": 20.0 })).await;
    // Ivy sees both, in order; Otto only the public one.
    assert_eq!(event(&mut ivy_team, "keyResultProgress").await["keyResultId"], secret_kr);
    assert_eq!(event(&mut ivy_team, "keyResultProgress").await["keyResultId"], public_kr);
    let e = event(&mut owner, "objectiveProgress").await;
    assert!(close(e["progress"].as_f64().unwrap(), 0.1), "{e}");
    let e = event(&mut team, "keyResultProgress").await;
    assert_eq!(e["keyResultId"], public_kr, "Otto's first event is the public key result's: {e}");
    nothing_more(&mut team).await;

    // A PRIVATE objective created below the secret one: Otto's alignment
    // subscription does not hear of it; a PUBLIC one aligned to the secret
    // one reaches him without naming its hidden parent.
    let admin = &g.admin;
    let new = |title: &str, visibility| NewObjective {
        period_id: g.period,
        owner: Owner::Person(g.ivy.id),
        parent_id: Some(g.secret),
        title: title.to_owned(),
        description: None,
        kind: ObjectiveKind::Committed,
        visibility,
        progress_driver: None,
        status: Some(ObjectiveStatus::Active),
    };
    store.create_objective(admin, new("Hidden", Visibility::Private)).await.unwrap();
    let shown = store.create_objective(admin, new("Shown", Visibility::Public)).await.unwrap();
    let e = event(&mut tree, "alignmentChanged").await;
    assert_eq!(e["objectiveId"], id(NodeType::Objective, shown.id.0), "{e}");
    assert_eq!(e["parentId"], Value::Null, "the hidden parent is not named: {e}");
    nothing_more(&mut tree).await;

    // Otto becomes a manager of Inbound: his open subscription sees the
    // private key result's events from the next one on, without resubscribing.
    let patch = PersonPatch { roles: Some(RoleSet::new([Role::Manager])), ..PersonPatch::default() };
    store.update_person(admin, g.otto.id, patch).await.unwrap();
    store.set_unit_managers(admin, g.inbound, &[g.otto.id]).await.unwrap();
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": secret_kr, "v": 30.0 })).await;
    let e = event(&mut team, "keyResultProgress").await;
    assert_eq!((&e["keyResultId"], &e["value"]), (&secret_kr, &json!(30.0)), "{e}");
}

/// Two servers on one PostgreSQL database, each with its own pool and
/// listener: a subscriber on one sees what is written through the other,
/// and every event of a burst arrives once, in order per key result, even
/// when the listening connection is killed in the middle of it.
pub async fn replicas_share_events_and_lose_none(db: TestDb) {
    let a = start(&db).await;
    let b = start(&db).await;
    let g = goals(a.store(), "replicas").await;
    let admin = a.token(&g.org, &g.org.admin);
    let ivy_a = a.token_for(&g.ivy.subject, &g.org.org.slug);
    let ivy_b = b.token_for(&g.ivy.subject, &g.org.org.slug);
    let krs = [g.kr, g.secret_kr];
    let mut subs = Vec::new();
    for kr in krs {
        subs.push(subscribe(&a, &admin, KR_PROGRESS, json!({ "kr": id(NodeType::KeyResult, kr.0) })).await);
    }
    // Written through B, delivered by A.
    b.gql_ok(&ivy_b, CHECK_IN, json!({ "kr": id(NodeType::KeyResult, g.kr.0), "v": 1.0 })).await;
    assert_eq!(event(&mut subs[0], "keyResultProgress").await["value"], 1.0);

    let per_kr = 12;
    let burst = {
        let client = b.client.clone();
        let url = b.graphql_url();
        let token = ivy_b.clone();
        tokio::spawn(async move {
            for v in 0..per_kr {
                for kr in krs {
                    let vars = json!({ "kr": id(NodeType::KeyResult, kr.0), "v": f64::from(100 + v) });
                    goalgraph_e2e::gql(&client, &url, Some(&token), CHECK_IN, vars).await.assert_ok();
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    goalgraph_e2e::pg_admin_exec(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND query ILIKE 'LISTEN%'",
        goalgraph_e2e::pg_database_name(&db.url)
    ))
    .await;
    burst.await.unwrap();
    for ws in &mut subs {
        for v in 0..per_kr {
            let e = event(ws, "keyResultProgress").await;
            assert_eq!(e["value"], f64::from(100 + v), "every event once, in order: {e}");
        }
        nothing_more(ws).await;
    }
    // And the other way round.
    let mut on_b = subscribe(&b, &admin, KR_PROGRESS, json!({ "kr": id(NodeType::KeyResult, g.kr.0) })).await;
    a.gql_ok(&ivy_a, CHECK_IN, json!({ "kr": id(NodeType::KeyResult, g.kr.0), "v": 7.0 })).await;
    assert_eq!(event(&mut on_b, "keyResultProgress").await["value"], 7.0);
}

/// Identical subscriptions of one tenant run once: one receiver of the hub,
/// one resolution and serialisation per event, each subscriber deciding
/// for itself (the policy test above covers that half). A resuming one runs
/// on its own.
pub async fn identical_subscriptions_share_one_execution(db: TestDb) {
    let server = start(&db).await;
    let g = goals(server.store(), "shared").await;
    let admin = server.token(&g.org, &g.org.admin);
    let ivy = server.token_for(&g.ivy.subject, &g.org.org.slug);
    let kr = id(NodeType::KeyResult, g.kr.0);
    let hub = server.store().live().await.unwrap();
    let mut subs = Vec::new();
    for _ in 0..5 {
        subs.push(subscribe(&server, &admin, KR_PROGRESS, json!({ "kr": kr })).await);
    }
    assert_eq!((hub.subscribers(), hub.receivers()), (5, 1), "five subscribers, one execution");
    server.gql_ok(&ivy, CHECK_IN, json!({ "kr": kr, "v": 5.0 })).await;
    let mut payloads = Vec::new();
    for ws in &mut subs {
        payloads.push(ws.expect_next("s").await);
    }
    assert_eq!(payloads[0]["data"]["keyResultProgress"]["value"], 5.0);
    assert!(payloads.iter().all(|p| *p == payloads[0]), "{payloads:?}");
    let cursor = payloads[0]["data"]["keyResultProgress"]["cursor"].clone();
    let _resuming = subscribe(&server, &admin, KR_PROGRESS, json!({ "kr": kr, "after": cursor })).await;
    assert_eq!((hub.subscribers(), hub.receivers()), (6, 2));
    // The last member to leave stops the group.
    drop(subs);
    let gone = goalgraph_e2e::eventually(Duration::from_secs(10), || async { hub.receivers() == 1 }).await;
    assert!(gone, "the group's receiver outlived its members: {}", hub.receivers());
}

/// The schema's depth and complexity limits hold over the socket as over
/// HTTP: a subscription selecting more fields than the limit, and a query
/// nested deeper than it, are refused before anything runs.
pub async fn limits_apply_to_documents_over_the_socket(db: TestDb) {
    // The wide selection's aliases are past the alias limit: allow them, so
    // that the complexity limit is the one that refuses it.
    let server = start_with(&db, |config| config.max_aliases = 10_000).await;
    let g = goals(server.store(), "limits").await;
    let admin = server.token(&g.org, &g.org.admin);
    let kr = id(NodeType::KeyResult, g.kr.0);
    let hub = server.store().live().await.unwrap();
    let mut ws = server.ws_session(&admin).await;
    let wide: String = (0..goalgraph_api::MAX_COMPLEXITY + 1).map(|i| format!("f{i}: value ")).collect();
    ws.subscribe(
        "wide",
        &format!("subscription($kr: ID) {{ keyResultProgress(keyResultId: $kr) {{ {wide} }} }}"),
        json!({ "kr": kr }),
    )
    .await;
    let errors = ws.expect_error("wide").await;
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{errors}");
    assert!(errors[0]["message"].as_str().unwrap().to_lowercase().contains("complex"), "{errors}");
    assert_eq!(hub.subscribers(), 0, "refused before it subscribed");
    let mut deep = "id".to_owned();
    // Three levels a step: past the depth limit, short of the parser's own
    // recursion limit.
    for _ in 0..goalgraph_api::MAX_DEPTH / 3 + 1 {
        deep = format!("children {{ edges {{ node {{ {deep} }} }} }}");
    }
    ws.subscribe("deep2", &format!("{{ organization {{ companyUnit {{ {deep} }} }} }}"), json!({})).await;
    let errors = ws.expect_error("deep2").await;
    assert!(errors[0]["message"].as_str().unwrap().to_lowercase().contains("deep"), "{errors}");
    // The control: the same subscription within the limits runs.
    let _ok = subscribe(&server, &admin, KR_PROGRESS, json!({ "kr": kr })).await;
}
