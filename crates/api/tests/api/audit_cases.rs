//! One audit case per mutation of the schema: each runs the mutation as a
//! named person or integration and checks that exactly one event was
//! chained, with the action, actor, request id, object and the before and
//! after values the mutation implies. Refused and failed calls leave none,
//! and a retried idempotent call leaves no second one. The test ends by
//! listing the schema's mutations and fails on any without a case.

use crate::kpi_support::{kpi_input, points_json, rfc3339};
use crate::support::{Session, World, expect_error};
use chrono::{Duration, Utc};
use goalgraph_api::ids::{NodeType, decode_any, encode_id};
use goalgraph_domain::policy::Principal;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const EVENTS: &str = "{ auditEvents(first: 50) { edges { node {
    sequence action actorKind actorId objectType objectId before after requestId } } } }";

/// One mutation call: `mutation(input: $input) { selection }`.
struct Call {
    mutation: &'static str,
    input_type: &'static str,
    selection: &'static str,
    input: Value,
}

fn call(mutation: &'static str, input_type: &'static str, selection: &'static str, input: Value) -> Call {
    Call { mutation, input_type, selection, input }
}

impl Call {
    fn query(&self) -> String {
        format!(
            "mutation($input: {}!) {{ {}(input: $input) {{ {} }} }}",
            self.input_type, self.mutation, self.selection
        )
    }
}

/// The event a call must leave.
struct Want {
    object_type: &'static str,
    object_id: String,
    /// What `before` and `after` must hold (a subset); `None`: null.
    before: Option<Value>,
    after: Option<Value>,
}

fn want(object_type: &'static str, object_id: &Value) -> Want {
    let object_id = object_id.as_str().unwrap_or_else(|| panic!("not an id: {object_id}")).to_owned();
    Want { object_type, object_id, before: None, after: None }
}

impl Want {
    fn before(mut self, v: Value) -> Self {
        self.before = Some(v);
        self
    }
    fn after(mut self, v: Value) -> Self {
        self.after = Some(v);
        self
    }
}

/// The raw UUID behind a global id, as audit values hold it.
fn uuid(global: &Value) -> Value {
    let text = global.as_str().unwrap_or_else(|| panic!("not an id: {global}"));
    let (_, id) = decode_any(text).unwrap_or_else(|| panic!("not a global id: {text}"));
    json!(id.to_string())
}

/// `got` holds everything `want` does: objects key by key, arrays item by
/// item, numbers by value.
fn holds(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            w.iter().all(|(k, v)| g.get(k).is_some_and(|gv| holds(gv, v)))
        }
        (Value::Array(g), Value::Array(w)) => g.len() == w.len() && g.iter().zip(w).all(|(a, b)| holds(a, b)),
        (Value::Number(g), Value::Number(w)) => g.as_f64() == w.as_f64(),
        (g, w) => g == w,
    }
}

/// Who a session is, as an audit event names it.
fn actor_of(s: &Session) -> (&'static str, String) {
    match (&s.ctx.person, &s.ctx.actor.principal) {
        (Some(p), _) => ("PERSON", encode_id(NodeType::Person, p.id.0).to_string()),
        (None, Principal::Integration { id, .. }) => {
            ("INTEGRATION", encode_id(NodeType::Integration, id.0).to_string())
        }
        _ => panic!("a session of a person or an integration"),
    }
}

/// Tenant A's trail as its admin reads it, and the mutations checked so far.
struct Trail {
    reader: Session,
    seen: i64,
    covered: BTreeSet<String>,
    calls: usize,
}

impl Trail {
    async fn new(reader: Session) -> Self {
        let mut trail = Self { reader, seen: 0, covered: BTreeSet::new(), calls: 0 };
        trail.fresh().await;
        trail
    }

    /// The events chained since the last look, oldest first.
    async fn fresh(&mut self) -> Vec<Value> {
        let data = self.reader.ok(EVENTS, json!({})).await;
        let mut events: Vec<Value> = data["auditEvents"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"].clone())
            .filter(|n| n["sequence"].as_i64().expect("sequence") > self.seen)
            .collect();
        events.reverse();
        if let Some(last) = events.last() {
            self.seen = last["sequence"].as_i64().expect("sequence");
        }
        events
    }

    /// `s` with a request id of its own, so each event can be told apart.
    fn tagged(&mut self, s: &Session, c: &Call) -> (Session, String) {
        self.calls += 1;
        let rid = format!("audit-{}-{}", self.calls, c.mutation);
        let mut s = s.clone();
        s.ctx.request_id = rid.clone();
        (s, rid)
    }

    /// Runs `c` as `s`, which must succeed and leave exactly the event
    /// `expect` derives from the payload; answers the payload and the event.
    async fn check(&mut self, s: &Session, c: Call, expect: impl FnOnce(&Value) -> Want) -> (Value, Value) {
        let (tagged, rid) = self.tagged(s, &c);
        let payload = tagged.ok(&c.query(), json!({ "input": c.input })).await[c.mutation].clone();
        let w = expect(&payload);
        let events = self.fresh().await;
        assert_eq!(events.len(), 1, "{}: want one event, got {events:#?}", c.mutation);
        let event = events.into_iter().next().expect("one event");
        let (kind, id) = actor_of(s);
        assert_eq!(event["action"], c.mutation, "{event:#}");
        assert_eq!(event["actorKind"], kind, "{}: {event:#}", c.mutation);
        assert_eq!(event["actorId"], id, "{}: {event:#}", c.mutation);
        assert_eq!(event["requestId"], rid, "{event:#}");
        assert_eq!(event["objectType"], w.object_type, "{}: {event:#}", c.mutation);
        assert_eq!(event["objectId"], w.object_id, "{}: {event:#}", c.mutation);
        for (side, wanted) in [("before", &w.before), ("after", &w.after)] {
            match wanted {
                None => assert!(event[side].is_null(), "{}: {side} should be null: {event:#}", c.mutation),
                Some(v) => assert!(holds(&event[side], v), "{}: {side} lacks {v:#}: {event:#}", c.mutation),
            }
        }
        self.covered.insert(c.mutation.to_owned());
        (payload, event)
    }

    /// `check` of a creation: the object is `payload[key].id`, `before` is
    /// null and `after` holds `after`; answers the payload.
    async fn created(&mut self, s: &Session, c: Call, object: (&'static str, &str), after: Value) -> Value {
        let (object_type, key) = object;
        self.check(s, c, |p| want(object_type, &p[key]["id"]).after(after)).await.0
    }

    /// `check` of an update: the object is `payload[key].id`, and `before`
    /// and `after` hold the changed values; answers the event.
    async fn updated(
        &mut self,
        s: &Session,
        c: Call,
        object: (&'static str, &str),
        before: Value,
        after: Value,
    ) -> Value {
        let (object_type, key) = object;
        self.check(s, c, |p| want(object_type, &p[key]["id"]).before(before).after(after)).await.1
    }

    /// Runs `c` as `s`, which must succeed (as a replay) and leave no event.
    async fn replay(&mut self, s: &Session, c: Call) -> Value {
        let (tagged, _) = self.tagged(s, &c);
        let payload = tagged.ok(&c.query(), json!({ "input": c.input })).await[c.mutation].clone();
        let events = self.fresh().await;
        assert!(events.is_empty(), "{}: a retry left {events:#?}", c.mutation);
        payload
    }

    /// Runs `c` as `s`, which must fail with `code` and leave no event.
    async fn refused(&mut self, s: &Session, c: Call, code: &str) {
        let (tagged, _) = self.tagged(s, &c);
        let response = tagged.gql(&c.query(), json!({ "input": c.input })).await;
        expect_error(&response, code, None);
        let events = self.fresh().await;
        assert!(events.is_empty(), "{}: a refused call left {events:#?}", c.mutation);
    }
}

/// The mutation fields of the schema, as a client sees them.
async fn schema_mutations(s: &Session) -> BTreeSet<String> {
    let data = s.ok("{ __schema { mutationType { fields { name } } } }", json!({})).await;
    data["__schema"]["mutationType"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn integration(w: &World, trail: &mut Trail, admin: &Session, scope: &str) -> (Session, Value) {
    let (payload, event) = trail
        .check(
            admin,
            call(
                "createIntegration",
                "CreateIntegrationInput",
                "apiKey integration { id }",
                json!({ "name": format!("Audit {scope}"), "scopes": [scope] }),
            ),
            |p| {
                want("Integration", &p["integration"]["id"])
                    .after(json!({ "name": format!("Audit {scope}") }))
            },
        )
        .await;
    let key = payload["apiKey"].as_str().expect("apiKey");
    // Neither the key nor its hash is kept in the trail.
    assert!(event["after"].get("key_hash").is_none(), "{event:#}");
    assert!(!event.to_string().contains(key), "{event:#}");
    let (org, actor) = w.store.resolve_integration_actor(key).await.expect("resolve").expect("a live key");
    let ctx =
        goalgraph_api::RequestContext { actor, person: None, settings: org.settings, request_id: "x".into() };
    let s = Session { store: w.store.clone(), ctx };
    // Its first use is recorded, as the integration (at most once a minute).
    let used = trail.fresh().await;
    assert_eq!(used.len(), 1, "{used:#?}");
    assert_eq!(used[0]["action"], "useIntegration");
    assert_eq!(used[0]["actorKind"], "INTEGRATION");
    assert_eq!(used[0]["objectId"], payload["integration"]["id"]);
    assert_eq!(used[0]["before"]["lastUsedAt"], Value::Null, "{:#}", used[0]);
    assert!(used[0]["after"]["lastUsedAt"].is_string(), "{:#}", used[0]);
    (s, payload["integration"]["id"].clone())
}

pub async fn every_mutation_has_an_audit_case(db: goalgraph_testkit::TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let id = |s: &str| json!(s);
    let mut trail = Trail::new(admin.clone()).await;

    // Directory.
    let engineering = id(&ids.unit("Engineering"));
    let sales = id(&ids.unit("Sales"));
    let max = id(&ids.person("Max Manager"));
    let unit_sel = "unit { id }";
    let unit = trail
        .created(
            &admin,
            call(
                "createUnit",
                "CreateUnitInput",
                unit_sel,
                json!({ "kind": "TEAM", "name": "Audit Team", "parentId": engineering }),
            ),
            ("Unit", "unit"),
            json!({ "name": "Audit Team", "parent_id": uuid(&engineering) }),
        )
        .await;
    let unit = unit["unit"]["id"].clone();
    // A viewer may not; nothing is written, the event included.
    let viewer = w.a.session(&w.store, "Vic Viewer").await;
    trail
        .refused(
            &viewer,
            call(
                "createUnit",
                "CreateUnitInput",
                unit_sel,
                json!({ "kind": "TEAM", "name": "X", "parentId": sales }),
            ),
            "FORBIDDEN",
        )
        .await;
    trail
        .updated(
            &admin,
            call("updateUnit", "UpdateUnitInput", unit_sel, json!({ "id": unit, "name": "Audit Squad" })),
            ("Unit", "unit"),
            json!({ "name": "Audit Team", "version": 1 }),
            json!({ "name": "Audit Squad", "version": 2 }),
        )
        .await;
    trail
        .updated(
            &admin,
            call("moveUnit", "MoveUnitInput", unit_sel, json!({ "id": unit, "parentId": sales })),
            ("Unit", "unit"),
            json!({ "parent_id": uuid(&engineering) }),
            json!({ "parent_id": uuid(&sales) }),
        )
        .await;
    trail
        .updated(
            &admin,
            call(
                "setUnitManagers",
                "SetUnitManagersInput",
                unit_sel,
                json!({ "unitId": unit, "managerIds": [max] }),
            ),
            ("Unit", "unit"),
            json!({ "managerIds": [] }),
            json!({ "managerIds": [uuid(&max)] }),
        )
        .await;
    let audrey = trail
        .created(
            &admin,
            call(
                "createPerson",
                "CreatePersonInput",
                "person { id }",
                json!({ "name": "Audrey Audit", "email": "audrey@alpha.example", "unitId": unit }),
            ),
            ("Person", "person"),
            json!({ "name": "Audrey Audit", "email": "audrey@alpha.example", "unit_id": uuid(&unit) }),
        )
        .await;
    let audrey = audrey["person"]["id"].clone();
    trail
        .updated(
            &admin,
            call(
                "updatePerson",
                "UpdatePersonInput",
                "person { id }",
                json!({ "id": audrey, "name": "Audrey Audited", "roles": ["MANAGER"] }),
            ),
            ("Person", "person"),
            json!({ "name": "Audrey Audit" }),
            json!({ "name": "Audrey Audited" }),
        )
        .await;
    let temp = trail
        .created(
            &admin,
            call(
                "createUnit",
                "CreateUnitInput",
                unit_sel,
                json!({ "kind": "TEAM", "name": "Audit Temp", "parentId": sales }),
            ),
            ("Unit", "unit"),
            json!({ "name": "Audit Temp" }),
        )
        .await;
    let temp = temp["unit"]["id"].clone();
    trail
        .check(&admin, call("deleteUnit", "DeleteUnitInput", "deletedUnitId", json!({ "id": temp })), |p| {
            want("Unit", &p["deletedUnitId"])
                .before(json!({ "name": "Audit Temp", "parent_id": uuid(&sales) }))
        })
        .await;

    // Report exports: a download link, its token never on the trail.
    let link_sel = "id url expiresAt";
    let report = json!({ "measures": ["OBJECTIVE_COUNT"], "dimensions": ["LEVEL"] });
    let (link, event) = trail
        .check(
            &admin,
            call(
                "createReportExportLink",
                "CreateReportExportLinkInput",
                link_sel,
                json!({ "report": report }),
            ),
            |p| want("ReportExport", &p["id"]).after(json!({ "format": "csv" })),
        )
        .await;
    let token = link["url"].as_str().expect("url").rsplit('=').next().expect("token").to_owned();
    assert!(!event.to_string().contains(&token), "{event:#}");
    assert!(event["after"].get("token_hash").is_none(), "{event:#}");
    trail
        .refused(
            &admin,
            call(
                "createReportExportLink",
                "CreateReportExportLinkInput",
                link_sel,
                json!({ "report": { "measures": ["KPI_COUNT"], "dimensions": ["KIND"] } }),
            ),
            "BAD_USER_INPUT",
        )
        .await;

    // Periods.
    let today = Utc::now().date_naive();
    let (start, end) = ((today - Duration::days(30)).to_string(), (today + Duration::days(30)).to_string());
    let period_sel = "period { id }";
    let period = trail
        .created(
            &admin,
            call(
                "createPeriod",
                "CreatePeriodInput",
                period_sel,
                json!({ "name": "Audit P", "startDate": start, "endDate": end }),
            ),
            ("Period", "period"),
            json!({ "name": "Audit P", "status": "PLANNING" }),
        )
        .await;
    let period = period["period"]["id"].clone();
    // A rolled-back input leaves nothing.
    trail
        .refused(
            &admin,
            call(
                "createPeriod",
                "CreatePeriodInput",
                period_sel,
                json!({ "name": "Bad", "startDate": end, "endDate": start }),
            ),
            "BAD_USER_INPUT",
        )
        .await;
    trail
        .updated(
            &admin,
            call("updatePeriod", "UpdatePeriodInput", period_sel, json!({ "id": period, "name": "Audit Q" })),
            ("Period", "period"),
            json!({ "name": "Audit P" }),
            json!({ "name": "Audit Q" }),
        )
        .await;
    trail
        .updated(
            &admin,
            call(
                "transitionPeriod",
                "TransitionPeriodInput",
                period_sel,
                json!({ "id": period, "status": "ACTIVE" }),
            ),
            ("Period", "period"),
            json!({ "status": "PLANNING" }),
            json!({ "status": "ACTIVE" }),
        )
        .await;

    // OKRs.
    let me = id(&ids.person("Ada Admin"));
    let goal_sel = "objective { id }";
    let parent = trail
        .created(
            &admin,
            call(
                "createObjective",
                "CreateObjectiveInput",
                goal_sel,
                json!({ "periodId": period, "ownerUnitId": engineering, "title": "Audit parent" }),
            ),
            ("Objective", "objective"),
            json!({ "title": "Audit parent" }),
        )
        .await;
    let parent = parent["objective"]["id"].clone();
    let goal = trail
        .created(
            &admin,
            call(
                "createObjective",
                "CreateObjectiveInput",
                goal_sel,
                json!({ "periodId": period, "ownerUnitId": engineering, "title": "Audit goal",
                        "description": "Why we audit", "status": "DRAFT" }),
            ),
            ("Objective", "objective"),
            json!({
                    "title": "Audit goal", "description": "Why we audit", "status": "DRAFT",
                    "owner_unit_id": uuid(&engineering), "period_id": uuid(&period) }),
        )
        .await;
    let goal = goal["objective"]["id"].clone();
    trail
        .updated(
            &admin,
            call(
                "updateObjective",
                "UpdateObjectiveInput",
                goal_sel,
                json!({ "id": goal, "title": "Audit goal 2", "description": "Why we still audit" }),
            ),
            ("Objective", "objective"),
            json!({ "title": "Audit goal", "description": "Why we audit" }),
            json!({ "title": "Audit goal 2", "description": "Why we still audit" }),
        )
        .await;
    trail
        .updated(
            &admin,
            call(
                "transitionObjective",
                "TransitionObjectiveInput",
                goal_sel,
                json!({ "id": goal, "status": "ACTIVE" }),
            ),
            ("Objective", "objective"),
            json!({ "status": "DRAFT" }),
            json!({ "status": "ACTIVE" }),
        )
        .await;
    trail
        .updated(
            &admin,
            call(
                "reparentObjective",
                "ReparentObjectiveInput",
                goal_sel,
                json!({ "id": goal, "parentObjectiveId": parent }),
            ),
            ("Objective", "objective"),
            json!({ "parent_id": null }),
            json!({ "parent_id": uuid(&parent) }),
        )
        .await;
    let kr_sel = "keyResult { id }";
    let new_kr = |title: &str, owner: &Value| {
        json!({ "objectiveId": goal, "ownerId": owner, "title": title, "measure": "INCREASE",
                "start": 0.0, "target": 10.0 })
    };
    let kr_row = json!({ "title": "Audit KR", "target_value": 10, "objective_id": uuid(&goal), "owner_id": uuid(&me) });
    let create_kr = call("createKeyResult", "CreateKeyResultInput", kr_sel, new_kr("Audit KR", &me));
    let kr = trail.created(&admin, create_kr, ("KeyResult", "keyResult"), kr_row).await;
    let kr = kr["keyResult"]["id"].clone();
    trail
        .updated(
            &admin,
            call("updateKeyResult", "UpdateKeyResultInput", kr_sel, json!({ "id": kr, "target": 20.0 })),
            ("KeyResult", "keyResult"),
            json!({ "target_value": 10 }),
            json!({ "target_value": 20 }),
        )
        .await;
    let check_in = |note: &str| {
        call(
            "checkIn",
            "CheckInInputObject",
            "keyResult { id } checkIn { id }",
            json!({ "keyResultId": kr, "value": 5.0, "note": note, "idempotencyKey": "audit-ci-1" }),
        )
    };
    trail
        .check(&admin, check_in("Halfway there"), |p| {
            want("KeyResult", &p["keyResult"]["id"])
                .before(json!({ "current_value": 0, "progress": 0 }))
                .after(json!({ "current_value": 5, "progress": 0.25,
                               "checkIn": { "value": 5, "note": "Halfway there", "author_id": uuid(&me) } }))
        })
        .await;
    // The same key again is a replay: no second event.
    trail.replay(&admin, check_in("Halfway there")).await;

    // KPIs.
    let kpi_sel = "kpi { id }";
    let kpi = trail
        .created(
            &admin,
            call(
                "createKpi",
                "CreateKpiInput",
                kpi_sel,
                kpi_input(
                    &ids.unit("Engineering"),
                    &ids.person("Ada Admin"),
                    "Audit uptime",
                    json!({ "externalId": "audit-kpi" }),
                ),
            ),
            ("Kpi", "kpi"),
            json!({ "name": "Audit uptime", "external_id": "audit-kpi", "healthy_lower": 90 }),
        )
        .await;
    let kpi = kpi["kpi"]["id"].clone();
    trail
        .updated(
            &admin,
            call("updateKpi", "UpdateKpiInput", kpi_sel, json!({ "id": kpi, "healthyLower": 95.0 })),
            ("Kpi", "kpi"),
            json!({ "healthy_lower": 90 }),
            json!({ "healthy_lower": 95 }),
        )
        .await;
    let t0 = Utc::now() - Duration::hours(3);
    trail
        .check(
            &admin,
            call(
                "recordKpiMeasurement",
                "RecordKpiMeasurementInput",
                "written kpi { id }",
                json!({ "kpiId": kpi, "observedAt": rfc3339(t0), "value": 96.0 }),
            ),
            |p| {
                want("Kpi", &p["kpi"]["id"]).before(json!({ "latest": null })).after(
                    json!({ "written": 1, "firstObservedAt": rfc3339(t0), "lastObservedAt": rfc3339(t0),
                                   "latest": { "observedAt": rfc3339(t0), "value": 96 } }),
                )
            },
        )
        .await;
    let points = [(t0 + Duration::hours(1), 97.0), (t0 + Duration::hours(2), 98.0)];
    let bulk = || {
        call(
            "recordKpiMeasurements",
            "RecordKpiMeasurementsInput",
            "written replayed kpi { id }",
            json!({ "kpiId": kpi, "points": points_json(&points), "idempotencyKey": "audit-bulk-1" }),
        )
    };
    trail
        .check(&admin, bulk(), |p| {
            want("Kpi", &p["kpi"]["id"])
                .before(json!({ "latest": { "observedAt": rfc3339(t0), "value": 96 } }))
                .after(json!({ "written": 2, "firstObservedAt": rfc3339(points[0].0),
                               "lastObservedAt": rfc3339(points[1].0), "latest": { "value": 98 } }))
        })
        .await;
    assert_eq!(trail.replay(&admin, bulk()).await["replayed"], true);
    // One bad point of many: nothing written, no event.
    trail
        .refused(
            &admin,
            call(
                "recordKpiMeasurements",
                "RecordKpiMeasurementsInput",
                "written",
                json!({ "kpiId": kpi, "points": [{ "observedAt": rfc3339(t0), "value": 1.0 },
                                                 { "observedAt": "2999-01-01T00:00:00Z", "value": 1.0 }] }),
            ),
            "BAD_USER_INPUT",
        )
        .await;

    // KPI ↔ OKR bridges.
    let linked = trail
        .created(
            &admin,
            call("createKeyResult", "CreateKeyResultInput", kr_sel, new_kr("Audit linked", &audrey)),
            ("KeyResult", "keyResult"),
            json!({ "title": "Audit linked", "owner_id": uuid(&audrey) }),
        )
        .await;
    let linked = linked["keyResult"]["id"].clone();
    trail
        .updated(
            &admin,
            call(
                "linkKeyResultToKpi",
                "LinkKeyResultToKpiInput",
                kr_sel,
                json!({ "keyResultId": linked, "kpiId": kpi }),
            ),
            ("KeyResult", "keyResult"),
            json!({ "kpiId": null }),
            json!({ "kpiId": uuid(&kpi) }),
        )
        .await;
    trail
        .check(
            &admin,
            call(
                "createObjectiveFromKpi",
                "CreateObjectiveFromKpiInput",
                "objective { id } keyResult { id }",
                json!({ "kpiId": kpi, "periodId": period, "target": 99.0 }),
            ),
            |p| {
                want("Objective", &p["objective"]["id"]).after(json!({
                    "kpiId": uuid(&kpi), "status": "DRAFT", "owner_unit_id": uuid(&engineering),
                    "keyResult": { "id": uuid(&p["keyResult"]["id"]), "target_value": 99 } }))
            },
        )
        .await;
    let promoted = json!({ "measurementsFromCheckIns": 1, "promoted_from_key_result_id": uuid(&kr),
                           "cadence": "WEEKLY", "healthy_lower": 15 });
    trail
        .created(
            &admin,
            call(
                "promoteKeyResultToKpi",
                "PromoteKeyResultToKpiInput",
                kpi_sel,
                json!({ "keyResultId": kr, "cadence": "WEEKLY", "healthyLower": 15.0 }),
            ),
            ("Kpi", "kpi"),
            promoted,
        )
        .await;

    // Integrations: created by the admin, then acting as themselves.
    let (feeder, feeder_id) = integration(&w, &mut trail, &admin, "KPI_WRITE").await;
    let t1 = t0 + Duration::hours(2) + Duration::minutes(30);
    trail
        .updated(
            &feeder,
            call(
                "recordKpiMeasurement",
                "RecordKpiMeasurementInput",
                "written kpi { id }",
                json!({ "externalId": "audit-kpi", "observedAt": rfc3339(t1), "value": 99.0 }),
            ),
            ("Kpi", "kpi"),
            json!({ "latest": { "value": 98 } }),
            json!({ "written": 1, "latest": { "observedAt": rfc3339(t1), "value": 99 } }),
        )
        .await;
    let (hris, _) = integration(&w, &mut trail, &admin, "DIRECTORY_WRITE").await;
    let org = id(&ids.org);
    let sync = |email: &str| {
        call(
            "syncDirectory",
            "SyncDirectoryInput",
            "unitsCreated peopleCreated replayed",
            json!({ "idempotencyKey": "audit-sync-1",
                    "units": [{ "externalId": "hris-audit", "name": "Hris audit", "kind": "TEAM" }],
                    "people": [{ "externalId": "hris-p1", "name": "Hris Person", "email": email,
                                 "unitExternalId": "hris-audit" }] }),
        )
    };
    trail.refused(&hris, sync("not an address"), "BAD_USER_INPUT").await;
    trail
        .check(&hris, sync("hris.person@alpha.example"), |_| {
            want("Organization", &org).after(json!({ "unitsCreated": 1, "peopleCreated": 1 }))
        })
        .await;
    assert_eq!(trail.replay(&hris, sync("hris.person@alpha.example")).await["replayed"], true);
    let revoked = trail
        .updated(
            &admin,
            call(
                "revokeIntegration",
                "RevokeIntegrationInput",
                "integration { id }",
                json!({ "id": feeder_id }),
            ),
            ("Integration", "integration"),
            json!({ "revoked_at": null, "version": 1 }),
            json!({ "version": 2 }),
        )
        .await;
    assert!(revoked["after"]["revoked_at"].is_string(), "{revoked:#}");

    // Saved reports: created, replaced and deleted by saveReport and
    // deleteSavedReport.
    let report_sel = "savedReport { id }";
    let saved = trail
        .created(
            &admin,
            call(
                "saveReport",
                "SaveReportInput",
                report_sel,
                json!({ "name": "Audit report", "definition": { "measures": ["OBJECTIVE_COUNT"] } }),
            ),
            ("SavedReport", "savedReport"),
            json!({ "name": "Audit report", "shared": false, "owner_id": uuid(&me), "version": 1 }),
        )
        .await;
    let saved = saved["savedReport"]["id"].clone();
    let event = trail
        .updated(
            &admin,
            call(
                "saveReport",
                "SaveReportInput",
                report_sel,
                json!({ "id": saved, "name": "Audit report 2", "shared": true, "expectedVersion": 1,
                        "definition": { "measures": ["OBJECTIVE_COUNT", "KPI_COUNT"] } }),
            ),
            ("SavedReport", "savedReport"),
            json!({ "name": "Audit report", "shared": false, "version": 1 }),
            json!({ "name": "Audit report 2", "shared": true, "version": 2 }),
        )
        .await;
    assert!(event["after"]["definition"].as_str().is_some_and(|d| d.contains("KPI_COUNT")), "{event:#}");
    // A stale version leaves nothing.
    trail
        .refused(
            &admin,
            call(
                "saveReport",
                "SaveReportInput",
                report_sel,
                json!({ "id": saved, "name": "Audit report 3", "expectedVersion": 1,
                        "definition": { "measures": ["OBJECTIVE_COUNT"] } }),
            ),
            "CONFLICT",
        )
        .await;
    trail
        .check(
            &admin,
            call("deleteSavedReport", "DeleteSavedReportInput", "deletedId", json!({ "id": saved })),
            |p| {
                want("SavedReport", &p["deletedId"]).before(json!({ "name": "Audit report 2", "version": 2 }))
            },
        )
        .await;

    // Ownership, the organization and the period's close.
    trail
        .check(
            &admin,
            call(
                "transferOwnership",
                "TransferOwnershipInput",
                "keyResults { id }",
                json!({ "fromPersonId": audrey, "toPersonId": max }),
            ),
            |_| {
                want("Person", &audrey)
                    .before(json!({ "ownerId": uuid(&audrey) }))
                    .after(json!({ "ownerId": uuid(&max), "keyResultIds": [uuid(&linked)] }))
            },
        )
        .await;
    trail
        .updated(
            &admin,
            call(
                "updateOrganization",
                "UpdateOrganizationInput",
                "organization { id }",
                json!({ "name": "Alpha Audited" }),
            ),
            ("Organization", "organization"),
            json!({ "name": "Alpha Corp" }),
            json!({ "name": "Alpha Audited" }),
        )
        .await;
    trail
        .updated(
            &admin,
            call("closePeriod", "ClosePeriodInput", period_sel, json!({ "periodId": period })),
            ("Period", "period"),
            json!({ "status": "ACTIVE" }),
            json!({ "status": "CLOSED" }),
        )
        .await;
    // Closing by transition is the same change, recorded under its own name.
    let spring = id(&ids.period("Spring 2026"));
    let to = |status: &str| {
        call(
            "transitionPeriod",
            "TransitionPeriodInput",
            period_sel,
            json!({ "id": spring, "status": status }),
        )
    };
    for (from, status) in [("PLANNING", "ACTIVE"), ("ACTIVE", "CLOSED")] {
        trail
            .check(&admin, to(status), |p| {
                want("Period", &p["period"]["id"])
                    .before(json!({ "status": from }))
                    .after(json!({ "status": status }))
            })
            .await;
    }

    // Every mutation of the schema has a case above, and no case is stale.
    let schema = schema_mutations(&admin).await;
    let missing: Vec<_> = schema.difference(&trail.covered).collect();
    let stale: Vec<_> = trail.covered.difference(&schema).collect();
    assert!(missing.is_empty(), "mutations without an audit case: {missing:?}");
    assert!(stale.is_empty(), "audit cases of mutations the schema lacks: {stale:?}");
    assert!(schema.len() >= 30, "{schema:?}");
    // Tenant B's trail holds none of it.
    let b = w.b_admin().await;
    let theirs = b.ok(EVENTS, json!({})).await;
    assert!(!theirs.to_string().contains("audit-"), "{theirs:#}");
}
