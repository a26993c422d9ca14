//! The seeds' guidance on OKRs as `insights` (PRODUCT.md, "Guidance the
//! seeds ask for"): more than 5 active objectives for one owner in a
//! period, an objective with no key result or more than 5, a non-company
//! objective aligned to nothing. Warnings with the threshold in force,
//! which comes from the organization's settings.
//!
//! The fixture (tenant A, period "Winter 2026"; each objective has one key
//! result unless said otherwise, and is ACTIVE unless said otherwise):
//! ```text
//! Company goal           Alpha Corp, aligned to nothing (a company's may be)
//! Mia 1 … Mia 6          Mia Member, aligned to Company goal;
//!                        Mia 1 has no key result, Mia 2 has six
//! Olga 1 … Olga 4        Olga Other, aligned to Company goal
//! Olga 5                 Olga Other, aligned to nothing
//! Olga draft             Olga Other, DRAFT, aligned to Company goal, five key results
//! Platform goal          Platform, aligned to nothing
//! ```

use crate::okr_support::{create_key_result, create_objective};
use crate::support::{Session, World, expect_data};
use goalgraph_testkit::TestDb;
use serde_json::json;

const INSIGHTS: &str = "query($period: ID!) { insights(periodId: $period) {
    kind threshold count hiddenCount
    owner { __typename ... on Person { name } ... on Unit { name } }
    objectives { title } keyResults { title } message } }";
const UPDATE_ORGANIZATION: &str = "mutation($input: UpdateOrganizationInput!) {
    updateOrganization(input: $input) { organization { settings { maxObjectivesPerOwner maxKeyResultsPerObjective } } } }";

/// One insight, comparable: (kind, owner, threshold, count, objective titles sorted).
type Row = (String, String, u64, u64, Vec<String>);

fn row(kind: &str, owner: &str, threshold: u64, count: u64, objectives: &[&str]) -> Row {
    let mut titles: Vec<String> = objectives.iter().map(|t| (*t).to_owned()).collect();
    titles.sort();
    (kind.to_owned(), owner.to_owned(), threshold, count, titles)
}

async fn insights(s: &Session, period: &str) -> Vec<Row> {
    let data = s.ok(INSIGHTS, json!({ "period": period })).await;
    let mut rows: Vec<Row> = data["insights"]
        .as_array()
        .expect("insights")
        .iter()
        .map(|i| {
            assert_eq!(i["hiddenCount"], 0, "the admin sees everything: {i}");
            assert!(!i["message"].as_str().expect("message").is_empty());
            let mut titles: Vec<String> = i["objectives"]
                .as_array()
                .expect("objectives")
                .iter()
                .map(|o| o["title"].as_str().expect("title").to_owned())
                .collect();
            titles.sort();
            (
                i["kind"].as_str().expect("kind").to_owned(),
                i["owner"]["name"].as_str().expect("owner").to_owned(),
                i["threshold"].as_u64().expect("threshold"),
                i["count"].as_u64().expect("count"),
                titles,
            )
        })
        .collect();
    rows.sort();
    rows
}

pub async fn okr_insights_follow_the_thresholds_in_the_settings(db: TestDb) {
    let w = World::new(&db).await;
    let admin = w.a_admin().await;
    let ids = admin.ids().await;
    let period = ids.period("Winter 2026");
    let mut kr_count = 0;
    let mut objective = async |owner: (&str, String),
                               title: &str,
                               status: &str,
                               parent: Option<&str>,
                               krs: usize| {
        let mut input =
            json!({ "periodId": period, "title": title, "status": status, "parentObjectiveId": parent });
        input[owner.0] = json!(owner.1);
        let id = create_objective(&admin, input).await;
        for k in 0..krs {
            kr_count += 1;
            create_key_result(
                &admin,
                json!({ "objectiveId": id, "ownerId": ids.person("Mia Member"), "title": format!("{title} KR{k}"),
                        "measure": "INCREASE", "start": 0.0, "target": 10.0 }),
            )
            .await;
        }
        id
    };
    let company = objective(("ownerUnitId", ids.unit("Alpha Corp")), "Company goal", "ACTIVE", None, 1).await;
    let mia = ("ownerPersonId", ids.person("Mia Member"));
    let olga = ("ownerPersonId", ids.person("Olga Other"));
    for (i, krs) in [(1, 0), (2, 6), (3, 1), (4, 1), (5, 1), (6, 1)] {
        objective(mia.clone(), &format!("Mia {i}"), "ACTIVE", Some(&company), krs).await;
    }
    for i in 1..=4 {
        objective(olga.clone(), &format!("Olga {i}"), "ACTIVE", Some(&company), 1).await;
    }
    objective(olga.clone(), "Olga 5", "ACTIVE", None, 1).await;
    objective(olga.clone(), "Olga draft", "DRAFT", Some(&company), 5).await;
    objective(("ownerUnitId", ids.unit("Platform")), "Platform goal", "ACTIVE", None, 1).await;
    assert_eq!(kr_count, 1 + 10 + 5 + 5 + 1);

    let mias = ["Mia 1", "Mia 2", "Mia 3", "Mia 4", "Mia 5", "Mia 6"];
    // Mia: six ACTIVE objectives, one more than 5; Olga: five ACTIVE (and a
    // DRAFT, which does not count): none. Mia 1 has no key result, Mia 2
    // six (Olga's draft has five: none). Olga 5 and the Platform goal are
    // aligned to nothing; the company's goal need not be.
    let expected_default = vec![
        row("KEY_RESULT_COUNT", "Mia Member", 5, 0, &["Mia 1"]),
        row("KEY_RESULT_COUNT", "Mia Member", 5, 6, &["Mia 2"]),
        row("TOO_MANY_OBJECTIVES", "Mia Member", 5, 6, &mias),
        row("UNALIGNED_OBJECTIVE", "Olga Other", 0, 0, &["Olga 5"]),
        row("UNALIGNED_OBJECTIVE", "Platform", 0, 0, &["Platform goal"]),
    ];
    let mut want = expected_default.clone();
    want.sort();
    assert_eq!(insights(&admin, &period).await, want, "with the default settings");

    // Thresholds come from the settings: 7 objectives per owner, 6 key
    // results per objective. The server reads the settings per request, so
    // a new session sees them.
    let r = admin
        .gql(
            UPDATE_ORGANIZATION,
            json!({ "input": { "settings": { "maxObjectivesPerOwner": 7, "maxKeyResultsPerObjective": 6 } } }),
        )
        .await;
    assert_eq!(
        expect_data(&r)["updateOrganization"]["organization"]["settings"],
        json!({ "maxObjectivesPerOwner": 7, "maxKeyResultsPerObjective": 6 })
    );
    let admin = w.a_admin().await;
    let mut want = vec![
        row("KEY_RESULT_COUNT", "Mia Member", 6, 0, &["Mia 1"]),
        row("UNALIGNED_OBJECTIVE", "Olga Other", 0, 0, &["Olga 5"]),
        row("UNALIGNED_OBJECTIVE", "Platform", 0, 0, &["Platform goal"]),
    ];
    want.sort();
    assert_eq!(insights(&admin, &period).await, want, "with 7 objectives and 6 key results allowed");

    // And back down: 4 objectives per owner flags Olga's five too.
    admin.ok(UPDATE_ORGANIZATION, json!({ "input": { "settings": { "maxObjectivesPerOwner": 4 } } })).await;
    let admin = w.a_admin().await;
    let olgas = ["Olga 1", "Olga 2", "Olga 3", "Olga 4", "Olga 5"];
    let mut want = vec![
        row("KEY_RESULT_COUNT", "Mia Member", 6, 0, &["Mia 1"]),
        row("TOO_MANY_OBJECTIVES", "Mia Member", 4, 6, &mias),
        row("TOO_MANY_OBJECTIVES", "Olga Other", 4, 5, &olgas),
        row("UNALIGNED_OBJECTIVE", "Olga Other", 0, 0, &["Olga 5"]),
        row("UNALIGNED_OBJECTIVE", "Platform", 0, 0, &["Platform goal"]),
    ];
    want.sort();
    assert_eq!(insights(&admin, &period).await, want, "with 4 objectives allowed");
}
