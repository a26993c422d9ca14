//! The demo organization of `serve --demo`: a company, departments, teams,
//! people with managers and roles, and the current quarter as an active
//! period. Created once; later starts reuse it.

use chrono::{Datelike, NaiveDate, Utc};
use goalgraph_domain::PeriodId;
use goalgraph_domain::model::{PeriodStatus, Person, Role, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveKind, ObjectiveStatus, Owner, ProgressDriver, Visibility};
use goalgraph_domain::policy::Actor;
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_persistence::{
    NewKeyResult, NewObjective, NewOrganization, NewPeriod, NewPerson, NewUnit, Store, StoreResult,
};
use std::collections::HashMap;

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.example";

/// The first and last day of the quarter holding `day`.
pub fn quarter_of(day: NaiveDate) -> (NaiveDate, NaiveDate, String) {
    let q = (day.month0() / 3) + 1;
    let start = NaiveDate::from_ymd_opt(day.year(), (q - 1) * 3 + 1, 1).unwrap_or(day);
    let next = if q == 4 {
        NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(day.year(), q * 3 + 1, 1)
    };
    let end = next.and_then(|n| n.pred_opt()).unwrap_or(day);
    (start, end, format!("{} Q{q}", day.year()))
}

/// Creates the demo organization unless it exists; returns its admin.
pub async fn demo(store: &Store) -> StoreResult<Person> {
    if let Some(org) = store.find_organization(DEMO_SLUG).await?
        && let Some(admin) = store.find_person_by_email(org.id, DEMO_ADMIN_EMAIL).await?
    {
        return Ok(admin);
    }
    let (_, company, admin) = store
        .create_organization(NewOrganization {
            name: "Demo Corp".into(),
            slug: Some(DEMO_SLUG.into()),
            time_zone: Some("Europe/Berlin".into()),
            admin_name: "Ada Admin".into(),
            admin_email: DEMO_ADMIN_EMAIL.into(),
        })
        .await?;
    let actor = store.person_actor(&admin, &RoleSet::default()).await?;

    let unit = |kind, name: &str, parent: UnitId| NewUnit {
        kind,
        name: name.into(),
        parent_id: parent,
        external_id: None,
    };
    let engineering =
        store.create_unit(&actor, unit(UnitKind::Department, "Engineering", company.id)).await?;
    let sales = store.create_unit(&actor, unit(UnitKind::Department, "Sales", company.id)).await?;
    let people_dept =
        store.create_unit(&actor, unit(UnitKind::Department, "People & Culture", company.id)).await?;
    let platform = store.create_unit(&actor, unit(UnitKind::Team, "Platform", engineering.id)).await?;
    let mobile = store.create_unit(&actor, unit(UnitKind::Team, "Mobile", engineering.id)).await?;
    let field = store.create_unit(&actor, unit(UnitKind::Team, "Field Sales", sales.id)).await?;

    let person =
        |name: &str, email: &str, unit: UnitId, manager: Option<PersonId>, roles: &[Role]| NewPerson {
            name: name.into(),
            email: email.into(),
            unit_id: unit,
            manager_id: manager,
            roles: Some(RoleSet::new(roles.iter().copied())),
            subject: None,
            external_id: None,
        };
    let ceo = store
        .create_person(&actor, person("Cleo Chief", "cleo@demo.example", company.id, None, &[Role::Manager]))
        .await?;
    let hr = store
        .create_person(
            &actor,
            person(
                "Hana Human",
                "hana@demo.example",
                people_dept.id,
                Some(ceo.id),
                &[Role::Hr, Role::Manager],
            ),
        )
        .await?;
    let cto = store
        .create_person(
            &actor,
            person("Eli Engineer", "eli@demo.example", engineering.id, Some(ceo.id), &[Role::Manager]),
        )
        .await?;
    let sales_lead = store
        .create_person(
            &actor,
            person("Sam Seller", "sam@demo.example", sales.id, Some(ceo.id), &[Role::Manager]),
        )
        .await?;
    let platform_lead = store
        .create_person(
            &actor,
            person("Pia Platform", "pia@demo.example", platform.id, Some(cto.id), &[Role::Manager]),
        )
        .await?;
    let mobile_lead = store
        .create_person(
            &actor,
            person("Mo Mobile", "mo@demo.example", mobile.id, Some(cto.id), &[Role::Manager]),
        )
        .await?;
    let members: [(&str, &str, UnitId, PersonId); 8] = [
        ("Ivy Infra", "ivy@demo.example", platform.id, platform_lead.id),
        ("Oscar Ops", "oscar@demo.example", platform.id, platform_lead.id),
        ("Nia Native", "nia@demo.example", mobile.id, mobile_lead.id),
        ("Uma UI", "uma@demo.example", mobile.id, mobile_lead.id),
        ("Fred Field", "fred@demo.example", field.id, sales_lead.id),
        ("Gina Growth", "gina@demo.example", field.id, sales_lead.id),
        ("Rae Recruiter", "rae@demo.example", people_dept.id, hr.id),
        ("Vic Viewer", "vic@demo.example", company.id, ceo.id),
    ];
    let mut by_email = HashMap::new();
    for (name, email, unit, manager) in members {
        let roles: &[Role] = if email.starts_with("vic") { &[Role::Viewer] } else { &[Role::Member] };
        let p = store.create_person(&actor, person(name, email, unit, Some(manager), roles)).await?;
        by_email.insert(email, p.id);
    }
    for (unit, manager) in [
        (company.id, ceo.id),
        (engineering.id, cto.id),
        (sales.id, sales_lead.id),
        (people_dept.id, hr.id),
        (platform.id, platform_lead.id),
        (mobile.id, mobile_lead.id),
        (field.id, sales_lead.id),
    ] {
        store.set_unit_managers(&actor, unit, &[manager]).await?;
    }

    let today = Utc::now().date_naive();
    let (start, end, name) = quarter_of(today);
    let current = store.create_period(&actor, NewPeriod { name, start_date: start, end_date: end }).await?;
    store.transition_period(&actor, current.id, PeriodStatus::Active, None).await?;

    // Goals: a company objective, department and team objectives aligned to
    // it, individual ones below, key results of every measure, and weekly
    // check-ins since the quarter began.
    let people = DemoPeople {
        ceo: ceo.id,
        cto: cto.id,
        sales_lead: sales_lead.id,
        platform_lead: platform_lead.id,
        mobile_lead: mobile_lead.id,
        ivy: by_email.get("ivy@demo.example").copied().unwrap_or(platform_lead.id),
        nia: by_email.get("nia@demo.example").copied().unwrap_or(mobile_lead.id),
        fred: by_email.get("fred@demo.example").copied().unwrap_or(sales_lead.id),
    };
    let units = DemoUnits {
        company: company.id,
        engineering: engineering.id,
        sales: sales.id,
        platform: platform.id,
        mobile: mobile.id,
    };
    demo_goals(store, &actor, current.id, start, &people, &units).await?;
    demo_kpis(store, &actor, &people, &units).await?;
    if let Some(next_day) = end.succ_opt() {
        let (start, end, name) = quarter_of(next_day);
        store.create_period(&actor, NewPeriod { name, start_date: start, end_date: end }).await?;
    }
    Ok(admin)
}

struct DemoPeople {
    ceo: PersonId,
    cto: PersonId,
    sales_lead: PersonId,
    platform_lead: PersonId,
    mobile_lead: PersonId,
    ivy: PersonId,
    nia: PersonId,
    fred: PersonId,
}

struct DemoUnits {
    company: UnitId,
    engineering: UnitId,
    sales: UnitId,
    platform: UnitId,
    mobile: UnitId,
}

/// A key result of the demo: title, measure, start, target, label, owner,
/// and the value it reaches by now (check-ins move there week by week).
struct DemoKr(&'static str, Measure, f64, f64, &'static str, PersonId, f64);

async fn demo_goals(
    store: &Store,
    actor: &Actor,
    period: PeriodId,
    start: NaiveDate,
    p: &DemoPeople,
    u: &DemoUnits,
) -> StoreResult<()> {
    let objective = |owner, parent, title: &str, kind, visibility, driver| NewObjective {
        period_id: period,
        owner,
        parent_id: parent,
        title: title.into(),
        description: None,
        kind,
        visibility,
        progress_driver: driver,
        status: Some(ObjectiveStatus::Active),
    };
    use ObjectiveKind::{Aspirational, Committed};
    use Visibility::{Private, Public, Unit};
    let company = store
        .create_objective(
            actor,
            objective(
                Owner::Unit(u.company),
                None,
                "Become the goals platform teams love",
                Aspirational,
                Public,
                Some(ProgressDriver::Both),
            ),
        )
        .await?;
    let engineering = store
        .create_objective(
            actor,
            objective(
                Owner::Unit(u.engineering),
                Some(company.id),
                "Ship a platform people trust",
                Committed,
                Public,
                None,
            ),
        )
        .await?;
    let sales = store
        .create_objective(
            actor,
            objective(
                Owner::Unit(u.sales),
                Some(company.id),
                "Grow recurring revenue",
                Aspirational,
                Public,
                None,
            ),
        )
        .await?;
    let platform = store
        .create_objective(
            actor,
            objective(
                Owner::Unit(u.platform),
                Some(engineering.id),
                "Cut the incident load",
                Committed,
                Unit,
                None,
            ),
        )
        .await?;
    let mobile = store
        .create_objective(
            actor,
            objective(
                Owner::Unit(u.mobile),
                Some(engineering.id),
                "Launch the mobile app",
                Aspirational,
                Public,
                None,
            ),
        )
        .await?;
    let ivy = store
        .create_objective(
            actor,
            objective(
                Owner::Person(p.ivy),
                Some(platform.id),
                "Automate every deployment",
                Committed,
                Private,
                None,
            ),
        )
        .await?;
    let nia = store
        .create_objective(
            actor,
            objective(
                Owner::Person(p.nia),
                Some(mobile.id),
                "Make the app feel native",
                Aspirational,
                Public,
                None,
            ),
        )
        .await?;
    let fred = store
        .create_objective(
            actor,
            objective(
                Owner::Person(p.fred),
                Some(sales.id),
                "Win the enterprise segment",
                Aspirational,
                Public,
                None,
            ),
        )
        .await?;

    let plan: Vec<(goalgraph_domain::ObjectiveId, Vec<DemoKr>)> = vec![
        (company.id, vec![DemoKr("Net promoter score", Measure::Increase, 30.0, 50.0, "NPS", p.ceo, 38.0)]),
        (
            engineering.id,
            vec![DemoKr("Uptime stays at or above", Measure::MaintainAbove, 99.0, 99.9, "%", p.cto, 99.95)],
        ),
        (
            sales.id,
            vec![DemoKr(
                "Annual recurring revenue",
                Measure::Increase,
                2.0,
                3.0,
                "M EUR",
                p.sales_lead,
                2.35,
            )],
        ),
        (
            platform.id,
            vec![
                DemoKr(
                    "Incidents per month",
                    Measure::Decrease,
                    12.0,
                    4.0,
                    "incidents",
                    p.platform_lead,
                    7.0,
                ),
                DemoKr(
                    "Pages outside office hours at most",
                    Measure::MaintainBelow,
                    10.0,
                    3.0,
                    "pages/week",
                    p.platform_lead,
                    2.0,
                ),
            ],
        ),
        (
            mobile.id,
            vec![
                DemoKr("App store release", Measure::Milestone, 0.0, 1.0, "", p.mobile_lead, 0.0),
                DemoKr("Beta rating", Measure::Increase, 3.5, 4.5, "stars", p.mobile_lead, 4.1),
            ],
        ),
        (
            ivy.id,
            vec![DemoKr("Services deployed by pipeline", Measure::Increase, 20.0, 100.0, "%", p.ivy, 65.0)],
        ),
        (nia.id, vec![DemoKr("Cold start time", Measure::Decrease, 3.0, 1.0, "s", p.nia, 2.2)]),
        (fred.id, vec![DemoKr("Enterprise deals closed", Measure::Increase, 0.0, 5.0, "deals", p.fred, 1.0)]),
    ];
    let now = Utc::now();
    let first = start.and_hms_opt(9, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let weeks = ((now - first).num_days() / 7).max(1);
    for (objective_id, krs) in plan {
        for DemoKr(title, measure, from, to, label, owner, reached) in krs {
            let kr = store
                .create_key_result(
                    actor,
                    NewKeyResult {
                        objective_id,
                        owner_id: owner,
                        title: title.into(),
                        measure,
                        start: from,
                        target: to,
                        unit_label: Some(label.into()),
                        weight: None,
                    },
                )
                .await?;
            // Weekly check-ins moving from the start towards where it is now.
            let points: Vec<_> = (1..=weeks)
                .filter_map(|w| {
                    let at = first + chrono::Duration::weeks(w);
                    (at < now).then(|| {
                        let value = match measure {
                            Measure::Milestone | Measure::MaintainAbove | Measure::MaintainBelow => reached,
                            _ => from + (reached - from) * (w as f64 / weeks as f64),
                        };
                        let confidence = if w == weeks && reached == 0.0 { 0.4 } else { 0.7 };
                        (at, (value * 100.0).round() / 100.0, Some(confidence))
                    })
                })
                .collect();
            if !points.is_empty() {
                store.import_check_ins(actor, kr.id, &points).await?;
            }
        }
    }
    Ok(())
}

/// KPIs of the demo: one healthy, one breached for months (so the
/// KPI_NEEDS_OBJECTIVE insight shows), one PEOPLE KPI only HR and line
/// managers see; daily or weekly history over the last quarter.
async fn demo_kpis(store: &Store, actor: &Actor, p: &DemoPeople, u: &DemoUnits) -> StoreResult<()> {
    use goalgraph_domain::kpi::{Cadence, Direction, KpiCategory};
    use goalgraph_persistence::{KpiRef, NewKpi};
    let now = Utc::now();
    let kpi = |unit, owner, name: &str, category, direction, lower, upper, cadence, external: &str| NewKpi {
        unit_id: unit,
        owner_id: owner,
        name: name.into(),
        description: None,
        category,
        unit_label: None,
        direction,
        target: None,
        healthy_lower: lower,
        healthy_upper: upper,
        tolerance_absolute: None,
        tolerance_percent: Some(5.0),
        cadence,
        external_id: Some(external.into()),
    };
    let uptime = store
        .create_kpi(
            actor,
            kpi(
                u.engineering,
                p.cto,
                "Uptime",
                KpiCategory::Operational,
                Direction::HigherIsBetter,
                Some(99.9),
                None,
                Cadence::Daily,
                "uptime",
            ),
        )
        .await?;
    let churn = store
        .create_kpi(
            actor,
            kpi(
                u.sales,
                p.sales_lead,
                "Monthly churn",
                KpiCategory::Customer,
                Direction::LowerIsBetter,
                None,
                Some(2.0),
                Cadence::Weekly,
                "churn",
            ),
        )
        .await?;
    let absenteeism = store
        .create_kpi(
            actor,
            kpi(
                u.company,
                p.ceo,
                "Absenteeism",
                KpiCategory::People,
                Direction::LowerIsBetter,
                None,
                Some(3.0),
                Cadence::Monthly,
                "absenteeism",
            ),
        )
        .await?;
    let daily: Vec<_> =
        (0..90).map(|d| (now - chrono::Duration::days(d), 99.9 + (d % 7) as f64 * 0.01)).collect();
    store.record_measurements(actor, KpiRef::Id(uptime.id), &daily, None).await?;
    let weekly: Vec<_> =
        (0..13).map(|w| (now - chrono::Duration::weeks(w), 2.6 + (w % 3) as f64 * 0.1)).collect();
    store.record_measurements(actor, KpiRef::Id(churn.id), &weekly, None).await?;
    let monthly: Vec<_> = (0..3).map(|m| (now - chrono::Duration::days(30 * m), 2.5)).collect();
    store.record_measurements(actor, KpiRef::Id(absenteeism.id), &monthly, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::quarter_of;
    use chrono::NaiveDate;

    #[test]
    fn quarters() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(quarter_of(d(2026, 11, 22)), (d(2026, 10, 1), d(2026, 12, 31), "2026 Q4".to_owned()));
        assert_eq!(quarter_of(d(2026, 1, 1)), (d(2026, 1, 1), d(2026, 3, 31), "2026 Q1".to_owned()));
        assert_eq!(quarter_of(d(2024, 5, 31)), (d(2024, 4, 1), d(2024, 6, 30), "2024 Q2".to_owned()));
    }
}
