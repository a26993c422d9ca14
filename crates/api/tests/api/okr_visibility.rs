//! Visibility of objectives (PRODUCT.md, "Access"): PUBLIC for the whole
//! tenant, UNIT for the owning unit's subtree and its ancestors' members
//! (plus line managers), PRIVATE for the owner, line managers, HR and
//! ADMIN; key results and check-ins follow their objective. Checked on every
//! read path that can reach an objective, for people of every kind, with
//! the expected visible set written down by hand from the role table. A
//! hidden object must never be named: its title, its key result's title,
//! its check-in's note and its ids must not occur in any response.
//!
//! The fixture (period "Winter 2026" of tenant A; every objective ACTIVE):
//! ```text
//! Alpha North Star        Alpha Corp (company)  PUBLIC
//! ├── Platform Public Parent    Platform         PUBLIC
//! │   ├── Platform Visible Sibling  Platform     PUBLIC
//! │   └── Mia Secret Plan       Mia Member       PRIVATE  key result "Secret KR Sauce"
//! │       │                                               (owner Mia, 0 → 10, one
//! │       │                                               check-in: 10, with a note)
//! │       └── Mia Grandchild Visible  Mia Member PUBLIC
//! └── Platform Unit Goal        Platform         UNIT
//! Alpha Unit-Wide Goal    Alpha Corp (company)  UNIT
//! Mia Secret Side Quest   Mia Member            PRIVATE  (aligned to nothing)
//! ```
//! Added to the fixture: Dana Dept, MEMBER of Engineering (Platform's
//! parent department). Max Manager manages Engineering: a line manager of
//! Platform. Olga Other is a MEMBER of Mobile (another team), Sam Seller the
//! MANAGER of Sales (another department), Vic Viewer a VIEWER.

use crate::okr_support::{
    CHECK_IN, create_key_result, create_objective, edge_titles, sorted_strings, titles,
};
use crate::support::{World, expect_data};
use goalgraph_domain::model::Role;
use goalgraph_testkit::TestDb;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

const C0: &str = "Alpha North Star";
const U2: &str = "Alpha Unit-Wide Goal";
const P: &str = "Platform Public Parent";
const V: &str = "Platform Visible Sibling";
const U: &str = "Platform Unit Goal";
const H: &str = "Mia Secret Plan";
const G: &str = "Mia Grandchild Visible";
const H2: &str = "Mia Secret Side Quest";
const ALL: [&str; 8] = [C0, P, V, H, G, U, U2, H2];
const PUBLIC: [&str; 4] = [C0, P, V, G];
const KR: &str = "Secret KR Sauce";
const NOTE: &str = "hush-hush check-in note";

/// Who sees what, from the role table (see the module doc).
const SEES_EVERYTHING: [&str; 8] = ALL;
const SEES_DEPARTMENT: [&str; 6] = [C0, P, V, G, U, U2];
const SEES_OTHER_TEAM: [&str; 5] = [C0, P, V, G, U2];

/// (title, depth, nearest visible ancestor) of `alignmentTree`, and its
/// `hiddenCount`: company first, then units, then people, by title within.
type Tree = (&'static [(&'static str, u32, Option<&'static str>)], u32);
const FULL_TREE: Tree = (
    &[
        (C0, 0, None),
        (P, 1, Some(C0)),
        (V, 2, Some(P)),
        (H, 2, Some(P)),
        (G, 3, Some(H)),
        (U, 1, Some(C0)),
        (U2, 0, None),
        (H2, 0, None),
    ],
    0,
);
// The hidden "Mia Secret Plan" is left out; its child attaches to its
// nearest visible ancestor, "Platform Public Parent", one level up.
const DEPARTMENT_TREE: Tree = (
    &[(C0, 0, None), (P, 1, Some(C0)), (V, 2, Some(P)), (G, 2, Some(P)), (U, 1, Some(C0)), (U2, 0, None)],
    2,
);
const OTHER_TEAM_TREE: Tree =
    (&[(C0, 0, None), (P, 1, Some(C0)), (V, 2, Some(P)), (G, 2, Some(P)), (U2, 0, None)], 3);
const VIEWER_TREE: Tree = (&[(C0, 0, None), (P, 1, Some(C0)), (V, 2, Some(P)), (G, 2, Some(P))], 4);

pub(crate) struct Fixture {
    pub(crate) w: World,
    pub(crate) period: String,
    /// Objective ids by title.
    ids: HashMap<&'static str, String>,
    pub(crate) kr: String,
    check_in: String,
    pub(crate) platform: String,
    pub(crate) company: String,
    mia: String,
}

impl Fixture {
    pub(crate) fn id(&self, title: &str) -> &str {
        &self.ids[title]
    }

    fn title_of(&self, id: &str) -> &'static str {
        self.ids.iter().find(|(_, v)| v.as_str() == id).map(|(t, _)| *t).unwrap_or("<unknown id>")
    }
}

fn objective_input(
    period: &str,
    owner: (&str, &str),
    title: &str,
    visibility: &str,
    parent: Option<&str>,
) -> Value {
    let mut input = json!({
        "periodId": period,
        "title": title,
        "visibility": visibility,
        "parentObjectiveId": parent,
        "status": "ACTIVE",
    });
    input[owner.0] = json!(owner.1);
    input
}

pub(crate) async fn fixture(db: &TestDb) -> Fixture {
    let mut w = World::new(db).await;
    w.a.add_person(&w.store, "Dana Dept", "Engineering", Some("Max Manager"), &[Role::Member]).await;
    let admin = w.a_admin().await;
    let mia_session = w.a.session(&w.store, "Mia Member").await;
    let dir = admin.ids().await;
    let period = dir.period("Winter 2026");
    let (company, platform, mia) = (dir.unit("Alpha Corp"), dir.unit("Platform"), dir.person("Mia Member"));
    let by_company = ("ownerUnitId", company.as_str());
    let by_platform = ("ownerUnitId", platform.as_str());
    let by_mia = ("ownerPersonId", mia.as_str());

    let mut ids: HashMap<&'static str, String> = HashMap::new();
    let c0 = create_objective(&admin, objective_input(&period, by_company, C0, "PUBLIC", None)).await;
    let u2 = create_objective(&admin, objective_input(&period, by_company, U2, "UNIT", None)).await;
    let p = create_objective(&admin, objective_input(&period, by_platform, P, "PUBLIC", Some(&c0))).await;
    let v = create_objective(&admin, objective_input(&period, by_platform, V, "PUBLIC", Some(&p))).await;
    let u = create_objective(&admin, objective_input(&period, by_platform, U, "UNIT", Some(&c0))).await;
    // Mia writes her own objectives (a MEMBER may own goals).
    let h = create_objective(&mia_session, objective_input(&period, by_mia, H, "PRIVATE", Some(&p))).await;
    let g = create_objective(&mia_session, objective_input(&period, by_mia, G, "PUBLIC", Some(&h))).await;
    let h2 = create_objective(&mia_session, objective_input(&period, by_mia, H2, "PRIVATE", None)).await;
    let kr = create_key_result(
        &mia_session,
        json!({ "objectiveId": h, "ownerId": mia, "title": KR, "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
    )
    .await;
    let done = mia_session
        .ok(CHECK_IN, json!({ "input": { "keyResultId": kr, "value": 10.0, "note": NOTE } }))
        .await;
    let check_in = done["checkIn"]["checkIn"]["id"].as_str().expect("check-in id").to_owned();
    for (t, id) in [(C0, c0), (U2, u2), (P, p), (V, v), (U, u), (H, h), (G, g), (H2, h2)] {
        ids.insert(t, id);
    }
    Fixture { w, period, ids, kr, check_in, platform, company, mia }
}

const LIST: &str = "query($filter: ObjectiveFilterInput) {
    objectives(first: 100, filter: $filter) { totalCount edges { node { title } } } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { __typename
    ... on Objective { title }
    ... on KeyResult { title objective { title } checkIns(first: 10) { totalCount edges { node { note } } } }
    ... on CheckIn { note keyResult { title } } } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename
    ... on Objective { title } ... on KeyResult { title } ... on CheckIn { note } } }";
const AGGREGATE: &str = "query($id: ID!) { node(id: $id) { ... on Objective { title
    children { title } hiddenChildrenCount
    progressExplanation { driver hiddenInputs inputs { kind title } } } } }";
const PARENT: &str = "query($id: ID!) { node(id: $id) { ... on Objective { title parent { title } } } }";
const OWNED: &str = "query($platform: ID!, $company: ID!, $mia: ID!, $period: ID!) {
    platform: node(id: $platform) { ... on Unit { objectives(periodId: $period) { title } } }
    company: node(id: $company) { ... on Unit { objectives(periodId: $period) { title } } }
    mia: node(id: $mia) { ... on Person { objectives(periodId: $period) { title } } }
    miaAllPeriods: node(id: $mia) { ... on Person { objectives { title } } } }";
const TREE: &str = "query($period: ID!) { alignmentTree(periodId: $period) {
    totalCount hiddenCount edges { node { depth parentId objective { id title } } } } }";
const INSIGHTS: &str = "query($period: ID!, $unit: ID) { insights(periodId: $period, unitId: $unit) {
    kind threshold count hiddenCount message
    owner { __typename ... on Person { name } ... on Unit { name } }
    objectives { id title } keyResults { id title } } }";

/// Runs every read path as `person` and checks each against `visible`
/// (titles) and `tree`; then checks that nothing hidden is named anywhere.
async fn check_person(fx: &Fixture, person: &str, visible: &[&str], tree: Tree) {
    let s = fx.w.a.session(&fx.w.store, person).await;
    let seen: BTreeSet<&str> = visible.iter().copied().collect();
    // The titles of `among` that `person` may see, in title order.
    let sees = |among: &[&str]| -> Vec<String> {
        let kept: Vec<&str> = among.iter().copied().filter(|t| seen.contains(t)).collect();
        sorted_strings(&kept)
    };
    let mut responses: Vec<(String, Value)> = Vec::new();

    // The root list, unfiltered and with every filter.
    let filters: [(&str, Value, &[&str]); 8] = [
        ("no filter", Value::Null, &ALL),
        ("periodId", json!({ "periodId": fx.period }), &ALL),
        ("ownerPersonId", json!({ "ownerPersonId": fx.mia }), &[H, G, H2]),
        ("ownerUnitId", json!({ "ownerUnitId": fx.platform }), &[P, V, U]),
        ("parentObjectiveId", json!({ "parentObjectiveId": fx.id(P) }), &[V, H]),
        ("search", json!({ "search": "mia" }), &[H, G, H2]),
        ("status", json!({ "status": "ACTIVE", "periodId": fx.period }), &ALL),
        // Health is computed: "Mia Secret Plan" is ON_TRACK (its key result
        // reached its target) and so are its ancestors (the worst of their
        // inputs; inputs without key results have no health).
        ("health", json!({ "health": "ON_TRACK", "periodId": fx.period }), &[C0, P, H]),
    ];
    for (label, filter, among) in filters {
        let r = s.gql(LIST, json!({ "filter": filter })).await;
        let data = expect_data(&r);
        let mut got = edge_titles(&data["objectives"]);
        got.sort();
        let want = sees(among);
        assert_eq!(got, want, "{person}: objectives({label})");
        assert_eq!(
            data["objectives"]["totalCount"],
            json!(want.len()),
            "{person}: objectives({label}).totalCount"
        );
        responses.push((format!("objectives({label})"), r));
    }

    // node(id) for every objective, the key result and the check-in.
    for t in ALL {
        let r = s.gql(NODE, json!({ "id": fx.id(t) })).await;
        if seen.contains(t) {
            assert_eq!(
                expect_data(&r)["node"],
                json!({ "__typename": "Objective", "title": t }),
                "{person}: node({t})"
            );
        } else {
            assert_eq!(r, json!({ "data": { "node": null }, "errors": [] }), "{person}: node({t})");
        }
        responses.push((format!("node({t})"), r));
    }
    let sees_h = seen.contains(H);
    let r = s.gql(NODE, json!({ "id": fx.kr })).await;
    let want = if sees_h {
        json!({ "node": { "__typename": "KeyResult", "title": KR, "objective": { "title": H },
                          "checkIns": { "totalCount": 1, "edges": [{ "node": { "note": NOTE } }] } } })
    } else {
        json!({ "node": null })
    };
    assert_eq!(expect_data(&r), want, "{person}: node(key result of {H})");
    responses.push(("node(key result)".into(), r));
    let r = s.gql(NODE, json!({ "id": fx.check_in })).await;
    let want = if sees_h {
        json!({ "node": { "__typename": "CheckIn", "note": NOTE, "keyResult": { "title": KR } } })
    } else {
        json!({ "node": null })
    };
    assert_eq!(expect_data(&r), want, "{person}: node(check-in of {H})");
    responses.push(("node(check-in)".into(), r));

    // nodes(ids): the same answers, in the order asked.
    let mut asked: Vec<String> = ALL.iter().map(|t| fx.id(t).to_owned()).collect();
    asked.extend([fx.kr.clone(), fx.check_in.clone()]);
    let mut want: Vec<Value> = ALL
        .iter()
        .map(
            |t| if seen.contains(t) { json!({ "__typename": "Objective", "title": t }) } else { Value::Null },
        )
        .collect();
    want.push(if sees_h { json!({ "__typename": "KeyResult", "title": KR }) } else { Value::Null });
    want.push(if sees_h { json!({ "__typename": "CheckIn", "note": NOTE }) } else { Value::Null });
    let r = s.gql(NODES, json!({ "ids": asked })).await;
    assert_eq!(expect_data(&r)["nodes"], json!(want), "{person}: nodes");
    responses.push(("nodes".into(), r));

    // Aggregates over children: the visible ones named, the rest counted.
    for (parent, children) in [(P, [H, V]), (C0, [P, U])] {
        let r = s.gql(AGGREGATE, json!({ "id": fx.id(parent) })).await;
        let node = expect_data(&r)["node"].clone();
        let named = sees(&children);
        let hidden = children.len() - named.len();
        assert_eq!(titles(&node["children"]), named, "{person}: {parent}.children");
        assert_eq!(node["hiddenChildrenCount"], json!(hidden), "{person}: {parent}.hiddenChildrenCount");
        let explanation = &node["progressExplanation"];
        assert_eq!(explanation["driver"], "ALIGNED_OBJECTIVES", "{person}: {parent} has no key results");
        assert_eq!(
            explanation["hiddenInputs"],
            json!(hidden),
            "{person}: {parent}.progressExplanation.hiddenInputs"
        );
        let mut inputs = titles(&explanation["inputs"]);
        inputs.sort();
        assert_eq!(inputs, named, "{person}: {parent}.progressExplanation.inputs");
        responses.push((format!("{parent} children"), r));
    }
    let r = s.gql(PARENT, json!({ "id": fx.id(G) })).await;
    let want = if sees_h { json!({ "title": H }) } else { Value::Null };
    assert_eq!(expect_data(&r)["node"]["parent"], want, "{person}: {G}.parent");
    responses.push(("parent".into(), r));

    // Unit.objectives and Person.objectives.
    let r = s
        .gql(
            OWNED,
            json!({ "platform": fx.platform, "company": fx.company, "mia": fx.mia, "period": fx.period }),
        )
        .await;
    let data = expect_data(&r);
    assert_eq!(titles(&data["platform"]["objectives"]), sees(&[P, V, U]), "{person}: Platform.objectives");
    assert_eq!(titles(&data["company"]["objectives"]), sees(&[C0, U2]), "{person}: Alpha Corp.objectives");
    assert_eq!(titles(&data["mia"]["objectives"]), sees(&[H, G, H2]), "{person}: Mia.objectives(period)");
    assert_eq!(titles(&data["miaAllPeriods"]["objectives"]), sees(&[H, G, H2]), "{person}: Mia.objectives");
    responses.push(("owned".into(), r));

    // The alignment tree.
    let r = s.gql(TREE, json!({ "period": fx.period })).await;
    let data = expect_data(&r);
    let got: Vec<(String, u64, Option<String>)> = data["alignmentTree"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let n = &e["node"];
            let parent = n["parentId"].as_str().map(|id| fx.title_of(id).to_owned());
            (
                n["objective"]["title"].as_str().expect("title").to_owned(),
                n["depth"].as_u64().expect("depth"),
                parent,
            )
        })
        .collect();
    let want: Vec<(String, u64, Option<String>)> =
        tree.0.iter().map(|(t, d, p)| ((*t).to_owned(), u64::from(*d), p.map(str::to_owned))).collect();
    assert_eq!(got, want, "{person}: alignmentTree rows");
    assert_eq!(data["alignmentTree"]["hiddenCount"], json!(tree.1), "{person}: alignmentTree.hiddenCount");
    assert_eq!(data["alignmentTree"]["totalCount"], json!(want.len()), "{person}: alignmentTree.totalCount");
    responses.push(("alignmentTree".into(), r));

    // Insights: every objective without a key result is flagged (all but
    // "Mia Secret Plan"), and "Mia Secret Side Quest" is aligned to nothing
    // (the company's objectives need no parent); only visible ones named.
    let no_key_results = [C0, P, V, G, U, U2, H2];
    let in_platform = [P, V, U, H, G, H2];
    for (unit, scope) in [(None, &ALL[..]), (Some(fx.platform.as_str()), &in_platform[..])] {
        let r = s.gql(INSIGHTS, json!({ "period": fx.period, "unit": unit })).await;
        let data = expect_data(&r);
        let mut got: Vec<(String, String)> = Vec::new();
        for i in data["insights"].as_array().expect("insights") {
            let named = titles(&i["objectives"]);
            assert_eq!(named.len(), 1, "{person}: one objective per insight of this kind: {i}");
            got.push((i["kind"].as_str().expect("kind").to_owned(), named[0].clone()));
            if i["kind"] == "KEY_RESULT_COUNT" {
                assert_eq!(
                    (&i["count"], &i["threshold"], &i["hiddenCount"]),
                    (&json!(0), &json!(5), &json!(0))
                );
            }
        }
        got.sort();
        let in_scope = |set: &[&'static str]| -> Vec<&'static str> {
            set.iter().copied().filter(|t| scope.contains(t)).collect()
        };
        let mut want: Vec<(String, String)> = sees(&in_scope(&no_key_results))
            .into_iter()
            .map(|t| ("KEY_RESULT_COUNT".to_owned(), t))
            .chain(sees(&in_scope(&[H2])).into_iter().map(|t| ("UNALIGNED_OBJECTIVE".to_owned(), t)))
            .collect();
        want.sort();
        assert_eq!(got, want, "{person}: insights(unitId: {unit:?})");
        responses.push((format!("insights({unit:?})"), r));
    }

    // Nothing hidden is named in any response.
    let mut secrets: Vec<String> = Vec::new();
    for t in ALL.iter().filter(|t| !seen.contains(*t)) {
        secrets.push((*t).to_owned());
        secrets.push(fx.id(t).to_owned());
    }
    if !sees_h {
        secrets.extend([KR.to_owned(), NOTE.to_owned(), fx.kr.clone(), fx.check_in.clone()]);
    }
    for (path, response) in &responses {
        let text = response.to_string();
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{person}: {path} names the hidden {secret:?}: {text}");
        }
    }
}

pub async fn private_objective_is_hidden_on_every_read_path(db: TestDb) {
    let fx = fixture(&db).await;
    // A MEMBER of another team, and the MANAGER of another department.
    check_person(&fx, "Olga Other", &SEES_OTHER_TEAM, OTHER_TEAM_TREE).await;
    check_person(&fx, "Sam Seller", &SEES_OTHER_TEAM, OTHER_TEAM_TREE).await;
    // Positive controls on the same paths: the owner, the line manager of
    // her team (manages its department), HR and ADMIN.
    for person in ["Mia Member", "Max Manager", "Hana Human", "Ada Admin"] {
        check_person(&fx, person, &SEES_EVERYTHING, FULL_TREE).await;
    }
}

pub async fn unit_objective_is_seen_by_its_units_lineage(db: TestDb) {
    let fx = fixture(&db).await;
    // "Platform Unit Goal": a member of Platform and a member of its parent
    // department see it; "Alpha Unit-Wide Goal" (UNIT of the company) every
    // member below the company sees.
    check_person(&fx, "Mia Member", &SEES_EVERYTHING, FULL_TREE).await;
    check_person(&fx, "Dana Dept", &SEES_DEPARTMENT, DEPARTMENT_TREE).await;
    // A member of the sibling team does not.
    check_person(&fx, "Olga Other", &SEES_OTHER_TEAM, OTHER_TEAM_TREE).await;
}

pub async fn viewer_sees_only_public_objectives(db: TestDb) {
    let fx = fixture(&db).await;
    check_person(&fx, "Vic Viewer", &PUBLIC, VIEWER_TREE).await;
    // Positive control: a MEMBER of a team elsewhere sees the company's UNIT
    // objective as well.
    check_person(&fx, "Olga Other", &SEES_OTHER_TEAM, OTHER_TEAM_TREE).await;
}
