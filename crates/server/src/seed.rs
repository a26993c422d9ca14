//! The demo organization of `serve --demo`: a company, departments, teams,
//! people with managers and roles, and the current quarter as an active
//! period. Created once; later starts reuse it.

use chrono::{Datelike, NaiveDate, Utc};
use goalgraph_domain::model::{PeriodStatus, Person, Role, RoleSet, UnitKind};
use goalgraph_domain::{PersonId, UnitId};
use goalgraph_persistence::{NewOrganization, NewPeriod, NewPerson, NewUnit, Store, StoreResult};

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
    for (name, email, unit, manager) in members {
        let roles: &[Role] = if email.starts_with("vic") { &[Role::Viewer] } else { &[Role::Member] };
        store.create_person(&actor, person(name, email, unit, Some(manager), roles)).await?;
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
    if let Some(next_day) = end.succ_opt() {
        let (start, end, name) = quarter_of(next_day);
        store.create_period(&actor, NewPeriod { name, start_date: start, end_date: end }).await?;
    }
    Ok(admin)
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
