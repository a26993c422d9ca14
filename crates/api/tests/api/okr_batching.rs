//! No N+1 on the OKR read paths: a team's people with their objectives, key
//! results, computed numbers and latest check-ins, and a period's
//! alignment tree, cost the same number of statements for a team of 5 as
//! for a team of 50 (10× the objectives, key results and check-ins).

use crate::okr_support::{assert_close, period_around_today};
use crate::support::{Session, Tenant, connect, expect_data};
use goalgraph_api::ids::{NodeType, encode_id};
use goalgraph_domain::model::{Role, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveKind, ObjectiveStatus, Owner, Visibility};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{ObjectiveId, PeriodId};
use goalgraph_persistence::{CheckInInput, NewKeyResult, NewObjective, Store};
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};

const OBJECTIVES_PER_PERSON: usize = 3;
const KEY_RESULTS_PER_OBJECTIVE: usize = 3;
/// Each key result (0 → 10) gets these check-ins, in order.
const CHECK_INS: [f64; 2] = [3.0, 6.0];

const PEOPLE: &str = "query($team: ID!, $period: ID!) { node(id: $team) { ... on Unit {
    people(first: 100) { edges { node { name
      objectives(periodId: $period) { title progress health
        keyResults { title progress health latestCheckIn { value } } } } } } } } }";
const TREE: &str = "query($period: ID!) { alignmentTree(periodId: $period, first: 1000) { totalCount
    edges { node { depth objective { title progress keyResults { title } } } } } }";

struct Org {
    tenant: Tenant,
    team: String,
    period: String,
    people: usize,
}

fn new_objective(period: PeriodId, owner: Owner, parent: Option<ObjectiveId>, title: String) -> NewObjective {
    NewObjective {
        period_id: period,
        owner,
        parent_id: parent,
        title,
        description: None,
        kind: ObjectiveKind::Committed,
        visibility: Visibility::Public,
        progress_driver: None,
        status: Some(ObjectiveStatus::Active),
    }
}

/// An organization whose one team has `people` members, each with
/// OBJECTIVES_PER_PERSON objectives (aligned to the team's objective, in
/// turn aligned to the company's) of KEY_RESULTS_PER_OBJECTIVE key results
/// with the CHECK_INS; built through the store's API.
async fn organization(store: &Store, slug: &str, people: usize) -> Org {
    let company = format!("Org {slug}");
    let mut t = Tenant::create(store, &company, slug, "Ada Admin").await;
    let team = t.add_unit(store, UnitKind::Team, "The Team", &company).await;
    let (start, end) = period_around_today(10);
    let period = t.add_period(store, "Now", &start.to_string(), &end.to_string()).await;
    let actor: Actor = store.person_actor(&t.admin, &RoleSet::default()).await.expect("admin actor");
    let company_id = t.unit(&company).id;
    let top = store
        .create_objective(
            &actor,
            new_objective(period.id, Owner::Unit(company_id), None, "Company goal".into()),
        )
        .await
        .expect("company objective");
    let team_goal = store
        .create_objective(
            &actor,
            new_objective(period.id, Owner::Unit(team.id), Some(top.id), "Team goal".into()),
        )
        .await
        .expect("team objective");
    for i in 0..people {
        let person = t.add_person(store, &format!("Member {i:02}"), "The Team", None, &[Role::Member]).await;
        for o in 0..OBJECTIVES_PER_PERSON {
            let title = format!("Member {i:02} O{o}");
            let objective = store
                .create_objective(
                    &actor,
                    new_objective(period.id, Owner::Person(person.id), Some(team_goal.id), title.clone()),
                )
                .await
                .expect("person objective");
            for k in 0..KEY_RESULTS_PER_OBJECTIVE {
                let kr = store
                    .create_key_result(
                        &actor,
                        NewKeyResult {
                            objective_id: objective.id,
                            owner_id: person.id,
                            title: format!("{title} KR{k}"),
                            measure: Measure::Increase,
                            start: 0.0,
                            target: 10.0,
                            unit_label: None,
                            weight: None,
                        },
                    )
                    .await
                    .expect("key result");
                for value in CHECK_INS {
                    store
                        .check_in(
                            &actor,
                            CheckInInput {
                                key_result_id: kr.id,
                                value,
                                confidence: None,
                                note: None,
                                idempotency_key: None,
                            },
                        )
                        .await
                        .expect("check-in");
                }
            }
        }
    }
    Org {
        team: encode_id(NodeType::Unit, team.id.0).to_string(),
        period: encode_id(NodeType::Period, period.id.0).to_string(),
        tenant: t,
        people,
    }
}

/// Runs `query` as the organization's admin: the statements it cost, and its data.
async fn measure(store: &Store, org: &Org, query: &str, vars: Value) -> (u64, Value) {
    let admin = Session::of(store, &org.tenant.admin).await;
    let before = store.statement_count();
    let response = admin.gql(query, vars).await;
    let used = store.statement_count() - before;
    (used, expect_data(&response))
}

/// The whole team, every person with all their objectives and key results,
/// and the numbers of the fixture: each key result at 6 of 10 (0.6, its
/// latest check-in 6), each objective at 0.6; the period is about half
/// over, so everything is ON_TRACK.
fn check_people(data: &Value, org: &Org) {
    let edges = data["node"]["people"]["edges"].as_array().expect("people");
    assert_eq!(edges.len(), org.people, "every member of the team");
    for edge in edges {
        let person = &edge["node"];
        let name = person["name"].as_str().expect("name");
        let objectives = person["objectives"].as_array().expect("objectives");
        let titles: Vec<&str> = objectives.iter().map(|o| o["title"].as_str().expect("title")).collect();
        let want: Vec<String> = (0..OBJECTIVES_PER_PERSON).map(|o| format!("{name} O{o}")).collect();
        assert_eq!(titles, want, "{name}'s objectives");
        for o in objectives {
            assert_close(&o["progress"], 0.6, 1e-9, "objective progress");
            assert_eq!(o["health"], "ON_TRACK", "{o}");
            let krs = o["keyResults"].as_array().expect("keyResults");
            assert_eq!(krs.len(), KEY_RESULTS_PER_OBJECTIVE);
            for (k, kr) in krs.iter().enumerate() {
                assert_eq!(kr["title"], format!("{} KR{k}", o["title"].as_str().expect("title")));
                assert_close(&kr["progress"], 0.6, 1e-9, "key result progress");
                assert_eq!(kr["health"], "ON_TRACK", "{kr}");
                assert_eq!(kr["latestCheckIn"], json!({ "value": 6.0 }));
            }
        }
    }
}

/// The company's objective, the team's, and every person's below it.
fn check_tree(data: &Value, org: &Org) {
    let tree = &data["alignmentTree"];
    let rows = tree["edges"].as_array().expect("edges");
    let n = 2 + org.people * OBJECTIVES_PER_PERSON;
    assert_eq!((rows.len(), &tree["totalCount"]), (n, &json!(n)));
    assert_eq!(rows[0]["node"]["depth"], 0);
    assert_eq!(rows[0]["node"]["objective"]["title"], "Company goal");
    assert_eq!(rows[1]["node"]["depth"], 1);
    assert_eq!(rows[1]["node"]["objective"]["title"], "Team goal");
    for row in &rows[2..] {
        let node = &row["node"];
        assert_eq!(node["depth"], 2, "{node}");
        assert_close(&node["objective"]["progress"], 0.6, 1e-9, "objective progress");
        assert_eq!(
            node["objective"]["keyResults"].as_array().expect("keyResults").len(),
            KEY_RESULTS_PER_OBJECTIVE
        );
    }
}

pub async fn okr_statement_count_does_not_grow_with_the_data(db: TestDb) {
    let store = connect(&db).await;
    let small = organization(&store, "small", 5).await;
    let large = organization(&store, "large", 50).await;

    let vars = |o: &Org| json!({ "team": o.team, "period": o.period });
    let (small_people, data) = measure(&store, &small, PEOPLE, vars(&small)).await;
    check_people(&data, &small);
    let (large_people, data) = measure(&store, &large, PEOPLE, vars(&large)).await;
    check_people(&data, &large);

    let vars = |o: &Org| json!({ "period": o.period });
    let (small_tree, data) = measure(&store, &small, TREE, vars(&small)).await;
    check_tree(&data, &small);
    let (large_tree, data) = measure(&store, &large, TREE, vars(&large)).await;
    check_tree(&data, &large);

    println!(
        "OKR statements: people/objectives/key results/check-ins {small_people} (5 people) vs {large_people} \
         (50 people); alignment tree {small_tree} vs {large_tree}"
    );
    assert_eq!(
        small_people, large_people,
        "team → people → objectives → key results → latest check-in: {small_people} statements for 5 people, \
         {large_people} for 50 (N+1)"
    );
    assert_eq!(
        small_tree, large_tree,
        "alignment tree: {small_tree} statements for 17 rows, {large_tree} for 152 (N+1)"
    );

    // Pages of 7 walk the same rows as one page of all, in order.
    const PAGE: &str = "query($period: ID!, $after: String) {
        alignmentTree(periodId: $period, first: 7, after: $after) { totalCount
          pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { depth objective { id } } } } }";
    let s = large.tenant.session(&store, "Ada Admin").await;
    let all = s
        .ok("query($p: ID!) { alignmentTree(periodId: $p, first: 1000) { edges { node { depth objective { id } } } } }", json!({ "p": large.period }))
        .await;
    let want: Vec<Value> =
        all["alignmentTree"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    assert_eq!(want.len(), 152);
    let (mut got, mut after, mut pages) = (Vec::new(), Value::Null, 0);
    loop {
        let page =
            s.ok(PAGE, json!({ "period": large.period, "after": after })).await["alignmentTree"].clone();
        assert_eq!(page["totalCount"], 152);
        assert_eq!(page["pageInfo"]["hasPreviousPage"], pages > 0, "{page:#}");
        got.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        pages += 1;
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 152_usize.div_ceil(7));
    assert_eq!(got, want, "paged rows differ from the whole list");

    // `latestCheckIn` read along with an objective's key results (one load
    // per objective) answers as it does on its own (one load per key
    // result): the newest check-in, or null when there is none.
    const LATEST: &str = "query($team: ID!, $period: ID!) { node(id: $team) { ... on Unit {
        people(first: 1) { nodes { id objectives(periodId: $period) { id
          keyResults { id latestCheckIn { id value } } } } } } } }";
    const ONE: &str = "query($id: ID!) { node(id: $id) { ... on KeyResult { latestCheckIn { id value } } } }";
    let team = json!({ "team": large.team, "period": large.period });
    let person = s.ok(LATEST, team.clone()).await["node"]["people"]["nodes"][0].clone();
    let objective = person["objectives"][0]["id"].clone();
    let created = s
        .ok(
            "mutation($o: ID!, $p: ID!) { createKeyResult(input: { objectiveId: $o, ownerId: $p,
               title: \"Not yet\", measure: INCREASE, start: 0, target: 1 }) { keyResult { id } } }",
            json!({ "o": objective, "p": person["id"] }),
        )
        .await["createKeyResult"]["keyResult"]["id"]
        .clone();
    let person = s.ok(LATEST, team).await["node"]["people"]["nodes"][0].clone();
    let krs = person["objectives"][0]["keyResults"].as_array().expect("keyResults").clone();
    assert_eq!(krs.len(), KEY_RESULTS_PER_OBJECTIVE + 1);
    for kr in &krs {
        let alone = s.ok(ONE, json!({ "id": kr["id"] })).await["node"]["latestCheckIn"].clone();
        assert_eq!(kr["latestCheckIn"], alone, "{kr}");
        if kr["id"] == created {
            assert_eq!(alone, Value::Null, "no check-in yet");
        } else {
            assert_eq!(alone["value"], 6.0, "{kr}");
        }
    }
}
