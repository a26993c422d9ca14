//! The data set the HTTP workloads (`team`, `department`, `alignment`,
//! `checkin`, `mix`) run on: created once per database, by the server
//! process, before anything is timed.
//!
//! [`seed`] is the only place that knows how the data is made. The
//! workloads learn what they need (units, the active period, key results)
//! by querying the server or the database, never from here, so that the
//! generator can be swapped without touching them.

use crate::Fallible;
use crate::load::Rng;
use chrono::{Days, Utc};
use goalgraph_domain::PersonId;
use goalgraph_domain::model::{PeriodStatus, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveKind, ObjectiveStatus, Owner, Visibility};
use goalgraph_persistence::{
    CheckInInput, NewKeyResult, NewObjective, NewOrganization, NewPeriod, NewPerson, NewUnit, Store,
    StoreError,
};

/// What the server process needs to mint its admin's token; nothing about
/// the data's shape.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The tenant's slug (the token's tenant claim).
    pub slug: String,
    /// The subject of an ADMIN of the tenant.
    pub admin_subject: String,
}

/// The tenant's slug.
const SLUG: &str = "okr-bench";

/// The placeholder makes at most this many people, whatever was asked.
const PLACEHOLDER_MAX_PEOPLE: u32 = 60;

/// Seeds a tenant of about `people` people, deterministic in `seed`, on
/// `store` (migrated, empty of that tenant).
///
/// PLACEHOLDER, until the store's data generator
/// (`Store::generate(&GenerateOptions { people, periods, seed, .. }, progress)`)
/// exists: a small company made through the store's public commands only
/// — 2 departments (each with a head in the department unit itself), 2–3
/// teams each with a manager and members, at most
/// [`PLACEHOLDER_MAX_PEOPLE`] people in all; an ACTIVE period with an
/// objective for the company, each department and each team, and 3
/// objectives per person aligned to their unit's, 3 key results each and
/// 0–2 check-ins per key result. Replace the body of this function, and
/// nothing else, when the generator lands.
pub async fn seed(store: &Store, people: u32, seed: u64) -> Fallible<Dataset> {
    let err = |e: StoreError| format!("seeding the data set: {e}");
    let mut rng = Rng(seed);
    let (_, company, admin) = store
        .create_organization(NewOrganization {
            name: "Bench Corp".into(),
            slug: Some(SLUG.to_owned()),
            time_zone: None,
            admin_name: "Bench Admin".into(),
            admin_email: format!("admin@{SLUG}.example"),
        })
        .await
        .map_err(err)?;
    let actor = store.person_actor(&admin, &RoleSet::default()).await.map_err(err)?;
    let today = Utc::now().date_naive();
    let period = store
        .create_period(
            &actor,
            NewPeriod {
                name: "Bench quarter".into(),
                start_date: today.checked_sub_days(Days::new(30)).unwrap_or(today),
                end_date: today.checked_add_days(Days::new(60)).unwrap_or(today),
            },
        )
        .await
        .map_err(err)?;
    store.transition_period(&actor, period.id, PeriodStatus::Active, None).await.map_err(err)?;
    let objective = |owner: Owner, parent, title: String| NewObjective {
        period_id: period.id,
        owner,
        parent_id: parent,
        title,
        description: None,
        kind: ObjectiveKind::Committed,
        visibility: Visibility::Public,
        progress_driver: None,
        status: Some(ObjectiveStatus::Active),
    };
    let company_goal = store
        .create_objective(&actor, objective(Owner::Unit(company.id), None, "Grow the company".into()))
        .await
        .map_err(err)?;

    // Units: (unit, its objective), departments first; people go to each
    // department's unit (its head) and round-robin to the teams.
    let mut units = Vec::new();
    let mut teams = Vec::new();
    for d in 1..=2 {
        let department = store
            .create_unit(
                &actor,
                NewUnit {
                    kind: UnitKind::Department,
                    name: format!("Department {d}"),
                    parent_id: company.id,
                    external_id: None,
                },
            )
            .await
            .map_err(err)?;
        let goal = store
            .create_objective(
                &actor,
                objective(
                    Owner::Unit(department.id),
                    Some(company_goal.id),
                    format!("Department {d} delivers"),
                ),
            )
            .await
            .map_err(err)?;
        units.push((department.id, goal.id));
        for t in 1..=(2 + rng.below(2)) {
            let team = store
                .create_unit(
                    &actor,
                    NewUnit {
                        kind: UnitKind::Team,
                        name: format!("Team {d}.{t}"),
                        parent_id: department.id,
                        external_id: None,
                    },
                )
                .await
                .map_err(err)?;
            let team_goal = store
                .create_objective(
                    &actor,
                    objective(Owner::Unit(team.id), Some(goal.id), format!("Team {d}.{t} ships")),
                )
                .await
                .map_err(err)?;
            teams.push((team.id, team_goal.id));
        }
    }
    let heads = units.len();
    units.extend(teams);
    let total = (people.min(PLACEHOLDER_MAX_PEOPLE) as usize).max(units.len());
    let mut managed = vec![Vec::<PersonId>::new(); units.len()];
    for i in 0..total {
        // Heads first, then teams in turn: the first of each unit manages it.
        let u = if i < heads { i } else { heads + (i - heads) % (units.len() - heads) };
        let (unit, unit_goal) = units[u];
        let person = store
            .create_person(
                &actor,
                NewPerson {
                    name: format!("Person {i:04}"),
                    email: format!("person{i}@{SLUG}.example"),
                    unit_id: unit,
                    manager_id: None,
                    roles: None,
                    subject: None,
                    external_id: None,
                },
            )
            .await
            .map_err(err)?;
        if managed[u].is_empty() {
            managed[u].push(person.id);
            store.set_unit_managers(&actor, unit, &managed[u]).await.map_err(err)?;
        }
        for o in 1..=3 {
            let goal = store
                .create_objective(
                    &actor,
                    objective(
                        Owner::Person(person.id),
                        Some(unit_goal),
                        format!("Objective {o} of person {i:04}"),
                    ),
                )
                .await
                .map_err(err)?;
            for k in 1..=3 {
                let kr = store
                    .create_key_result(
                        &actor,
                        NewKeyResult {
                            objective_id: goal.id,
                            owner_id: person.id,
                            title: format!("Key result {o}.{k}"),
                            measure: Measure::Increase,
                            start: 0.0,
                            target: 100.0,
                            unit_label: None,
                            weight: None,
                        },
                    )
                    .await
                    .map_err(err)?;
                for c in 0..rng.below(3) {
                    store
                        .check_in(
                            &actor,
                            CheckInInput {
                                key_result_id: kr.id,
                                value: (10 * (c + 1) + rng.below(10)) as f64,
                                confidence: Some(0.7),
                                note: None,
                                idempotency_key: None,
                            },
                        )
                        .await
                        .map_err(err)?;
                }
            }
        }
    }
    Ok(Dataset { slug: SLUG.to_owned(), admin_subject: admin.subject })
}
