//! The organization generator: for a fixed seed, people, periods and end of
//! history its row counts are pinned (golden numbers), equal what the
//! database holds, and the data keeps the rules the API keeps: a tree of
//! depth 5, 3–5 objectives per owner and period, 3–5 key results each,
//! progress and rollups as the formulas make them, no check-in after the
//! end of history or outside its period.

use chrono::{DateTime, TimeZone, Utc};
use goalgraph_domain::formulas::key_result_progress;
use goalgraph_domain::okr::Measure;
use goalgraph_persistence::{GenerateOptions, GenerateReport, Store};
use goalgraph_testkit::TestDb;
use sea_orm::{ConnectionTrait, Statement, Value};
use std::collections::HashMap;

/// Rows per table for 120 people, 2 periods, seed 7, history ending
/// 2026-11-15 12:00 UTC.
const GOLDEN: [(&str, u64); 9] = [
    ("units", 15),
    ("people", 120),
    ("unit_managers", 15),
    ("periods", 2),
    ("objectives", 1062),
    ("key_results", 4268),
    ("check_ins", 20111),
    ("kpis", 19),
    ("kpi_measurements", 1960),
];

fn options(seed: u64, slug: &str) -> GenerateOptions {
    GenerateOptions {
        now: Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).single().unwrap_or_default(),
        ..GenerateOptions::new(120, 2, seed, slug)
    }
}

async fn rows(store: &Store, sql: &str, org: uuid::Uuid) -> Vec<sea_orm::QueryResult> {
    let backend = store.connection().get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Sqlite => sql.replace("$1", "?"),
        _ => sql.to_owned(),
    };
    store
        .connection()
        .query_all_raw(Statement::from_sql_and_values(backend, sql.as_str(), [Value::from(org)]))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(store: &Store, table: &str, org: uuid::Uuid) -> u64 {
    let r = rows(store, &format!("SELECT COUNT(*) AS n FROM {table} WHERE organization_id = $1"), org).await;
    r[0].try_get::<i64>("", "n").map(|n| n as u64).unwrap_or(0)
}

async fn generate(store: &Store, opts: &GenerateOptions) -> GenerateReport {
    store.generate(opts, &|_, _, _| {}).await.unwrap_or_else(|e| panic!("generate: {e:?}"))
}

pub async fn generated_counts_are_pinned_and_the_data_keeps_the_rules(db: TestDb) {
    let store = crate::common::connect(&db).await;
    let report = generate(&store, &options(7, "gen-a")).await;
    let org = report.organization.id.0;
    assert_eq!(report.counts, GOLDEN.to_vec(), "golden counts");
    for (table, n) in &report.counts {
        assert_eq!(count(&store, table, org).await, *n, "{table}: printed and stored counts differ");
    }
    // The planner has statistics of the loaded tables right away.
    let stats = match store.backend() {
        goalgraph_persistence::Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM pg_stats WHERE tablename = 'key_results' AND $1 IS NOT NULL"
        }
        goalgraph_persistence::Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_stat1 WHERE tbl = 'key_results' AND $1 IS NOT NULL"
        }
    };
    let n: i64 = rows(&store, stats, org).await[0].try_get("", "n").unwrap();
    assert!(n > 0, "no planner statistics of key_results after the load");
    // The same seed again (another slug): the same counts; another seed: not.
    let again = generate(&store, &options(7, "gen-b")).await;
    assert_eq!(again.counts, report.counts);
    let other = generate(&store, &options(8, "gen-c")).await;
    assert_ne!(other.counts, report.counts);

    // Depth 5: company → division → department → group → team.
    let units = rows(&store, "SELECT id, parent_id, kind FROM units WHERE organization_id = $1", org).await;
    let parent: HashMap<uuid::Uuid, Option<uuid::Uuid>> =
        units.iter().map(|r| (r.try_get("", "id").unwrap(), r.try_get("", "parent_id").unwrap())).collect();
    for r in &units {
        let (mut id, kind): (uuid::Uuid, String) =
            (r.try_get("", "id").unwrap(), r.try_get("", "kind").unwrap());
        let mut depth = 1;
        while let Some(Some(p)) = parent.get(&id) {
            id = *p;
            depth += 1;
        }
        match kind.as_str() {
            "COMPANY" => assert_eq!(depth, 1),
            "TEAM" => assert_eq!(depth, 5),
            _ => assert!((2..=4).contains(&depth), "{kind} at depth {depth}"),
        }
    }
    // Every unit has one manager; teams hold 2–30 people.
    let managed = rows(
        &store,
        "SELECT u.id, (SELECT COUNT(*) FROM unit_managers m WHERE m.organization_id = u.organization_id AND m.unit_id = u.id) AS managers,
                (SELECT COUNT(*) FROM people p WHERE p.organization_id = u.organization_id AND p.unit_id = u.id) AS people, u.kind
         FROM units u WHERE u.organization_id = $1",
        org,
    )
    .await;
    for r in &managed {
        assert_eq!(r.try_get::<i64>("", "managers").unwrap(), 1);
        if r.try_get::<String>("", "kind").unwrap() == "TEAM" {
            let n = r.try_get::<i64>("", "people").unwrap();
            assert!((2..=30).contains(&n), "a team of {n}");
        }
    }
    // 3–5 objectives per owner and period, 3–5 key results per objective.
    let per_owner = rows(
        &store,
        "SELECT COUNT(*) AS n FROM objectives WHERE organization_id = $1
         GROUP BY period_id, owner_unit_id, owner_person_id",
        org,
    )
    .await;
    assert!(per_owner.iter().all(|r| (3..=5).contains(&r.try_get::<i64>("", "n").unwrap())));
    let per_objective = rows(
        &store,
        "SELECT COUNT(*) AS n FROM key_results WHERE organization_id = $1 GROUP BY objective_id",
        org,
    )
    .await;
    assert!(per_objective.iter().all(|r| (3..=5).contains(&r.try_get::<i64>("", "n").unwrap())));
    // Key results: every measure, progress as the formula gives it.
    let krs = rows(
        &store,
        "SELECT measure, start_value, target_value, current_value, progress, weight, objective_id
         FROM key_results WHERE organization_id = $1",
        org,
    )
    .await;
    let mut measures = std::collections::BTreeSet::new();
    let mut rollup: HashMap<uuid::Uuid, (f64, f64)> = HashMap::new();
    for r in &krs {
        let measure: Measure = r.try_get::<String>("", "measure").unwrap().parse().unwrap();
        let (s, t, c, p, w): (f64, f64, f64, f64, f64) = (
            r.try_get("", "start_value").unwrap(),
            r.try_get("", "target_value").unwrap(),
            r.try_get("", "current_value").unwrap(),
            r.try_get("", "progress").unwrap(),
            r.try_get("", "weight").unwrap(),
        );
        assert!((key_result_progress(measure, s, t, c) - p).abs() < 1e-9, "{measure:?} {s}->{t} at {c}: {p}");
        measures.insert(measure.as_str());
        let e = rollup.entry(r.try_get("", "objective_id").unwrap()).or_default();
        e.0 += p * w;
        e.1 += w;
    }
    assert_eq!(measures.len(), Measure::ALL.len(), "{measures:?}");
    // Objectives: the weighted average of their key results.
    let objectives =
        rows(&store, "SELECT id, progress FROM objectives WHERE organization_id = $1", org).await;
    for r in &objectives {
        let (sum, weight) = rollup[&r.try_get::<uuid::Uuid>("", "id").unwrap()];
        let progress: f64 = r.try_get("", "progress").unwrap();
        assert!((progress - sum / weight).abs() < 1e-9);
    }
    // Check-ins: inside their period, before the end of history.
    let end: DateTime<Utc> = options(7, "x").now;
    let bad = rows(
        &store,
        "SELECT c.created_at, p.start_date, p.end_date FROM check_ins c
         JOIN key_results k ON k.organization_id = c.organization_id AND k.id = c.key_result_id
         JOIN objectives o ON o.organization_id = k.organization_id AND o.id = k.objective_id
         JOIN periods p ON p.organization_id = o.organization_id AND p.id = o.period_id
         WHERE c.organization_id = $1",
        org,
    )
    .await;
    assert!(!bad.is_empty());
    for r in &bad {
        let at: DateTime<Utc> = r.try_get("", "created_at").unwrap();
        let (start, last): (chrono::NaiveDate, chrono::NaiveDate) =
            (r.try_get("", "start_date").unwrap(), r.try_get("", "end_date").unwrap());
        assert!(
            at < end && at.date_naive() >= start && at.date_naive() <= last,
            "{at} outside {start}..{last}"
        );
    }
}
