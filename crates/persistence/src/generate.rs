//! A realistic, deterministic organization written in bulk: `goalgraph
//! seed --people N` for benchmarks and trials, and (small) the demo data.
//!
//! For a given [`GenerateOptions`] (people, periods, seed and the day it
//! runs on) the shape and every row count are the same on every run and on
//! both databases; ids and timestamps of creation are fresh.
//!
//! - **Directory**: the company with its staff (the admin, an HR person
//!   `hr@<slug>.example` and the CEO `ceo@<slug>.example`, who manages the
//!   company unit), then divisions → departments →
//!   groups → teams (a tree of depth 5). Teams have 5–30 people before the
//!   heads of the units above are drawn from the largest teams below them.
//!   Every unit has one manager; people report to their team's lead, leads
//!   to their group's head, and so on up to the CEO.
//! - **Periods**: `periods` quarters ending with the current one, which is
//!   ACTIVE; the earlier ones are CLOSED with their scores frozen.
//! - **Objectives**: 3–5 per owner (every unit and every person) and period,
//!   each aligned to one of its parent unit's (a person's: their unit's),
//!   with 3–5 key results of every measure. Closed periods' objectives are
//!   COMPLETED (some CANCELLED), the current one's ACTIVE (some DRAFT).
//! - **Check-ins**: weekly, each week with probability ½, over the elapsed
//!   part of each period, moving each key result toward an outcome drawn
//!   for it; its current value, confidence and progress, and its
//!   objective's rollup, are what the check-ins and the formulas make them.
//! - **KPIs**: one per team, two per other unit, with a year of history at
//!   their cadence; about one in six ends in breach.
//!
//! Everything after the organization itself is written in one transaction,
//! in multi-row INSERTs, with one SYSTEM audit event that records the counts.

use crate::audit::AuditRecord;
use crate::entity::{
    check_in, key_result, kpi, kpi_measurement, objective, period, person, unit, unit_manager,
};
use crate::error::StoreResult;
use crate::org::NewOrganization;
use crate::store::{Store, WriteTx};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use goalgraph_domain::DomainError;
use goalgraph_domain::formulas::{PeriodWindow, RollupInput, key_result_progress, weighted_average};
use goalgraph_domain::kpi::{Cadence, Direction, KpiCategory};
use goalgraph_domain::model::{Organization, PeriodStatus, Person, Role, RoleSet, UnitKind};
use goalgraph_domain::okr::{Measure, ObjectiveKind, ObjectiveStatus, ProgressDriver, Visibility};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveModelTrait, EntityTrait, Iterable, Set};
use uuid::Uuid;

/// Bind parameters per INSERT statement, under SQLite's 32,766 limit and
/// PostgreSQL's 65,535.
const PARAMS_PER_STATEMENT: usize = 30_000;

/// The fewest people an organization can be generated with: the company's
/// staff, the four heads of a minimal tree and a team.
pub const MIN_PEOPLE: u32 = 10;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// People in all, the admin included.
    pub people: u32,
    /// Quarterly periods, ending with the current quarter.
    pub periods: u32,
    pub seed: u64,
    pub name: String,
    pub slug: String,
    pub admin_name: String,
    pub admin_email: String,
    pub time_zone: Option<String>,
    /// The moment the history ends (check-ins and measurements stop here).
    pub now: DateTime<Utc>,
}

impl GenerateOptions {
    /// `people` people over `periods` quarters up to now, organization
    /// `slug` ("Org <slug>", admin `admin@<slug>.example`).
    pub fn new(people: u32, periods: u32, seed: u64, slug: &str) -> Self {
        Self {
            people,
            periods,
            seed,
            name: format!("Org {slug}"),
            slug: slug.to_owned(),
            admin_name: "Ada Admin".to_owned(),
            admin_email: format!("admin@{slug}.example"),
            time_zone: None,
            now: Utc::now(),
        }
    }
}

/// What was generated: the organization, its admin and the rows per table.
#[derive(Debug, Clone)]
pub struct GenerateReport {
    pub organization: Organization,
    pub admin: Person,
    /// (table, rows of this organization), the organization's own row and
    /// its company unit and admin included.
    pub counts: Vec<(&'static str, u64)>,
}

/// Reports progress: (table, rows written so far, rows it will have).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Send + Sync);

const FIRST: [&str; 32] = [
    "Ada", "Ben", "Cara", "Dev", "Ela", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kira", "Liam", "Mia", "Noah",
    "Olga", "Pia", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wes", "Xena", "Yusuf", "Zoe", "Aron",
    "Bea", "Cem", "Dana", "Emil", "Fay",
];
const LAST: [&str; 32] = [
    "Adler", "Berg", "Costa", "Dahl", "Eko", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kaur", "Lopez",
    "Meyer", "Nowak", "Okafor", "Park", "Quist", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Weber",
    "Xu", "Yilmaz", "Zhang", "Andersen", "Brown", "Chen", "Dubois", "Evans", "Fontaine",
];
const AREAS: [&str; 10] = [
    "Engineering",
    "Sales",
    "Marketing",
    "Operations",
    "Finance",
    "Product",
    "Support",
    "People",
    "Research",
    "Legal",
];
const VERBS: [&str; 8] = ["Grow", "Improve", "Launch", "Reduce", "Win", "Delight", "Simplify", "Scale"];
const THINGS: [&str; 10] = [
    "revenue",
    "retention",
    "the onboarding",
    "release quality",
    "our NPS",
    "partner reach",
    "cycle time",
    "support response",
    "hiring",
    "cost per order",
];
const MEASURES: [Measure; 5] = [
    Measure::Increase,
    Measure::Decrease,
    Measure::MaintainAbove,
    Measure::MaintainBelow,
    Measure::Milestone,
];

struct UnitPlan {
    id: Uuid,
    kind: UnitKind,
    name: String,
    parent: Option<usize>,
    /// The person who manages it.
    head: usize,
}

struct PersonPlan {
    id: Uuid,
    name: String,
    email: String,
    unit: usize,
    manager: Option<usize>,
    role: Role,
}

struct PeriodPlan {
    id: Uuid,
    name: String,
    start: NaiveDate,
    end: NaiveDate,
    /// Its instants in the organization's time zone.
    window: PeriodWindow,
    closed: bool,
}

struct ObjectivePlan {
    id: Uuid,
    period: usize,
    unit: usize,
    person: Option<usize>,
    parent: Option<usize>,
    title: String,
    description: Option<String>,
    kind: ObjectiveKind,
    visibility: Visibility,
    driver: Option<ProgressDriver>,
    status: ObjectiveStatus,
    progress: f64,
}

struct KeyResultPlan {
    id: Uuid,
    objective: usize,
    owner: usize,
    title: String,
    measure: Measure,
    start: f64,
    target: f64,
    weight: f64,
    /// Seeds its check-ins, so they are drawn the same twice.
    seed: u64,
    current: f64,
    confidence: Option<f64>,
    last_check_in_at: Option<DateTime<Utc>>,
    progress: f64,
}

struct KpiPlan {
    id: Uuid,
    unit: usize,
    owner: usize,
    name: String,
    category: KpiCategory,
    direction: Direction,
    lower: Option<f64>,
    upper: Option<f64>,
    cadence: Cadence,
    breach: bool,
    seed: u64,
}

/// One simulated check-in.
struct SimCheckIn {
    at: DateTime<Utc>,
    value: f64,
    confidence: f64,
    note: Option<String>,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The quarter `back` quarters before the one holding `day`: first day,
/// last day, name.
fn quarter(day: NaiveDate, back: u32) -> (NaiveDate, NaiveDate, String) {
    let index =
        day.year() * 4 + i32::try_from(day.month0() / 3).unwrap_or(0) - i32::try_from(back).unwrap_or(0);
    let (year, q) = (index.div_euclid(4), index.rem_euclid(4) as u32);
    let start = NaiveDate::from_ymd_opt(year, q * 3 + 1, 1).unwrap_or(day);
    let next = if q == 3 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, q * 3 + 4, 1)
    };
    let end = next.and_then(|n| n.pred_opt()).unwrap_or(day);
    (start, end, format!("{year} Q{}", q + 1))
}

/// The directory: units (the company first) and people (the admin first).
fn plan_directory(
    rng: &mut StdRng,
    opts: &GenerateOptions,
    admin: Uuid,
    company: Uuid,
) -> (Vec<UnitPlan>, Vec<PersonPlan>) {
    let mut units = vec![UnitPlan {
        id: company,
        kind: UnitKind::Company,
        name: opts.name.clone(),
        parent: None,
        head: 2,
    }];
    // Staff: the admin, HR, the CEO.
    let mut people = vec![
        PersonPlan {
            id: admin,
            name: opts.admin_name.clone(),
            email: opts.admin_email.clone(),
            unit: 0,
            manager: None,
            role: Role::Admin,
        },
        PersonPlan {
            id: Uuid::nil(),
            name: String::new(),
            email: String::new(),
            unit: 0,
            manager: Some(2),
            role: Role::Hr,
        },
        PersonPlan {
            id: Uuid::nil(),
            name: String::new(),
            email: String::new(),
            unit: 0,
            manager: None,
            role: Role::Manager,
        },
    ];
    // Team sizes for everyone else, then the tree above them.
    let mut left = opts.people.saturating_sub(3) as usize;
    let mut teams: Vec<usize> = Vec::new();
    while left > 0 {
        let size = rng.gen_range(5..=30).min(left);
        match teams.last_mut() {
            Some(last) if size < 5 && *last + size <= 30 => *last += size,
            _ => teams.push(size),
        }
        left -= size;
    }
    // Groups of 3–6 teams, departments of 4–8 groups, divisions of 2–5.
    let chunk = |rng: &mut StdRng, n: usize, lo: usize, hi: usize| -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            let k = rng.gen_range(lo..=hi).min(n - i);
            out.push(i..i + k);
            i += k;
        }
        out
    };
    let groups = chunk(rng, teams.len(), 3, 6);
    let departments = chunk(rng, groups.len(), 4, 8);
    let divisions = chunk(rng, departments.len(), 2, 5);
    // Heads of divisions, departments and groups come out of the largest
    // team below them (they are people too).
    let heads_of = |teams: &mut Vec<usize>, range: std::ops::Range<usize>| {
        if let Some(i) = range.clone().max_by_key(|&i| (teams[i], std::cmp::Reverse(i))) {
            teams[i] = teams[i].saturating_sub(1);
        }
    };
    let team_range = |g: &std::ops::Range<usize>| groups[g.start].start..groups[g.end - 1].end;
    for d in &divisions {
        let first = team_range(&(departments[d.start].start..departments[d.end - 1].end));
        heads_of(&mut teams, first);
    }
    for d in &departments {
        heads_of(&mut teams, team_range(d));
    }
    for g in &groups {
        heads_of(&mut teams, g.clone());
    }

    let add_unit = |units: &mut Vec<UnitPlan>, kind, name: String, parent| {
        units.push(UnitPlan { id: Uuid::now_v7(), kind, name, parent: Some(parent), head: 0 });
        units.len() - 1
    };
    let add_person = |people: &mut Vec<PersonPlan>, unit, manager, role| {
        people.push(PersonPlan {
            id: Uuid::nil(),
            name: String::new(),
            email: String::new(),
            unit,
            manager,
            role,
        });
        people.len() - 1
    };
    for (v, division) in divisions.iter().enumerate() {
        let area = AREAS[v % AREAS.len()];
        let name = if v < AREAS.len() { area.to_owned() } else { format!("{area} {}", v / AREAS.len() + 1) };
        let du = add_unit(&mut units, UnitKind::Department, name.clone(), 0);
        let dh = add_person(&mut people, du, Some(2), Role::Manager);
        units[du].head = dh;
        for (di, d) in departments[division.clone()].iter().enumerate() {
            let dept = add_unit(&mut units, UnitKind::Department, format!("{name} {}", di + 1), du);
            let deh = add_person(&mut people, dept, Some(dh), Role::Manager);
            units[dept].head = deh;
            for (gi, g) in groups[d.clone()].iter().enumerate() {
                let group =
                    add_unit(&mut units, UnitKind::Department, format!("{name} {}.{}", di + 1, gi + 1), dept);
                let gh = add_person(&mut people, group, Some(deh), Role::Manager);
                units[group].head = gh;
                for (ti, t) in g.clone().enumerate() {
                    let team = add_unit(
                        &mut units,
                        UnitKind::Team,
                        format!("{name} {}.{}.{}", di + 1, gi + 1, ti + 1),
                        group,
                    );
                    let lead = add_person(&mut people, team, Some(gh), Role::Manager);
                    units[team].head = lead;
                    for _ in 1..teams[t] {
                        let role = if rng.gen_bool(0.03) { Role::Viewer } else { Role::Member };
                        add_person(&mut people, team, Some(lead), role);
                    }
                }
            }
        }
    }
    for (i, p) in people.iter_mut().enumerate().skip(1) {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        p.id = Uuid::now_v7();
        p.name = format!("{first} {last}");
        p.email = match i {
            1 => format!("hr@{}.example", opts.slug),
            2 => format!("ceo@{}.example", opts.slug),
            _ => format!("{}.{}.{i}@{}.example", first.to_lowercase(), last.to_lowercase(), opts.slug),
        };
    }
    (units, people)
}

/// A key result's check-ins, drawn from its own seed (the same each time).
fn simulate(kr: &KeyResultPlan, p: &PeriodPlan, now: DateTime<Utc>) -> Vec<SimCheckIn> {
    let mut rng = StdRng::seed_from_u64(kr.seed);
    let outcome: f64 = rng.gen_range(0.2..1.1);
    let start = p.window.start + Duration::hours(9);
    let weeks = ((p.end - p.start).num_days() / 7).max(1);
    let mut out = Vec::new();
    let milestone_week = (outcome * weeks as f64).ceil() as i64;
    for w in 1..=weeks {
        let at = start + Duration::days(7 * w) + Duration::minutes(rng.gen_range(0..480));
        if at >= now || at >= p.window.end {
            break;
        }
        if !rng.gen_bool(0.5) {
            continue;
        }
        let share = outcome * w as f64 / weeks as f64;
        let value = match kr.measure {
            Measure::Increase | Measure::Decrease => {
                round1(kr.start + (kr.target - kr.start) * share * rng.gen_range(0.9..1.1))
            }
            Measure::MaintainAbove => round1(kr.target + rng.gen_range(-4.0..3.0)),
            Measure::MaintainBelow => round1(kr.target + rng.gen_range(-1.5..1.0)),
            Measure::Milestone => f64::from(u8::from(outcome > 0.6 && w >= milestone_week)),
        };
        let confidence = (rng.gen_range(0.3..0.95_f64) * 100.0).round() / 100.0;
        let note = rng.gen_bool(0.1).then(|| format!("Week {w}: on it"));
        out.push(SimCheckIn { at, value, confidence, note });
    }
    out
}

impl Store {
    /// Generates the organization `opts` describes; see the module docs.
    pub async fn generate(
        &self,
        opts: &GenerateOptions,
        progress: Progress<'_>,
    ) -> StoreResult<GenerateReport> {
        if opts.people < MIN_PEOPLE {
            return Err(DomainError::invalid("people", format!("at least {MIN_PEOPLE}")).into());
        }
        if opts.periods == 0 || opts.periods > 40 {
            return Err(DomainError::invalid("periods", "between 1 and 40").into());
        }
        let (organization, company, admin) = self
            .create_organization(NewOrganization {
                name: opts.name.clone(),
                slug: Some(opts.slug.clone()),
                time_zone: opts.time_zone.clone(),
                admin_name: opts.admin_name.clone(),
                admin_email: opts.admin_email.clone(),
            })
            .await?;
        let org = organization.id.0;
        let mut rng = StdRng::seed_from_u64(opts.seed);
        let (units, people) = plan_directory(&mut rng, opts, admin.id.0, company.id.0);
        let now = opts.now;
        let today = now.date_naive();
        let tz = organization.settings.time_zone.tz();
        let periods: Vec<PeriodPlan> = (0..opts.periods)
            .rev()
            .map(|back| {
                let (start, end, name) = quarter(today, back);
                let window = PeriodWindow::new(start, end, tz);
                PeriodPlan { id: Uuid::now_v7(), name, start, end, window, closed: back > 0 }
            })
            .collect();
        let (objectives, key_results) = plan_goals(&mut rng, &units, &people, &periods, now);
        let kpis = plan_kpis(&mut rng, &units);

        let tx = self.write().await?;
        let mut counts: Vec<(&'static str, u64)> = Vec::new();
        let at = Utc::now();

        // The directory (the company unit and the admin exist already).
        let rows: Vec<unit::ActiveModel> = units
            .iter()
            .skip(1)
            .map(|u| unit::ActiveModel {
                organization_id: Set(org),
                id: Set(u.id),
                kind: Set(u.kind.as_str().to_owned()),
                name: Set(u.name.clone()),
                parent_id: Set(u.parent.map(|p| units[p].id)),
                external_id: Set(None),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            })
            .collect();
        insert_all(&tx, "units", rows, progress).await?;
        counts.push(("units", units.len() as u64));
        let rows: Vec<person::ActiveModel> = people
            .iter()
            .skip(1)
            .map(|p| person::ActiveModel {
                organization_id: Set(org),
                id: Set(p.id),
                name: Set(p.name.clone()),
                email: Set(p.email.clone()),
                unit_id: Set(units[p.unit].id),
                manager_id: Set(p.manager.map(|m| people[m].id)),
                roles: Set(RoleSet::new([p.role]).to_json()),
                subject: Set(p.email.clone()),
                external_id: Set(None),
                active: Set(true),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            })
            .collect();
        // Managers point at earlier rows only after their own insert: the
        // CEO (row 3) manages the staff before it, so people go in order of
        // their managers first.
        let mut ordered: Vec<(usize, person::ActiveModel)> =
            rows.into_iter().enumerate().map(|(i, r)| (i + 1, r)).collect();
        ordered.sort_by_key(|(i, _)| (people[*i].manager.is_some(), *i));
        insert_all(&tx, "people", ordered.into_iter().map(|(_, r)| r).collect(), progress).await?;
        counts.push(("people", people.len() as u64));
        let rows: Vec<unit_manager::ActiveModel> = units
            .iter()
            .map(|u| unit_manager::ActiveModel {
                organization_id: Set(org),
                unit_id: Set(u.id),
                person_id: Set(people[u.head].id),
            })
            .collect();
        insert_all(&tx, "unit_managers", rows, progress).await?;
        counts.push(("unit_managers", units.len() as u64));

        let rows: Vec<period::ActiveModel> = periods
            .iter()
            .map(|p| period::ActiveModel {
                organization_id: Set(org),
                id: Set(p.id),
                name: Set(p.name.clone()),
                start_date: Set(p.start),
                end_date: Set(p.end),
                status: Set(if p.closed { PeriodStatus::Closed } else { PeriodStatus::Active }
                    .as_str()
                    .to_owned()),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            })
            .collect();
        insert_all(&tx, "periods", rows, progress).await?;
        counts.push(("periods", periods.len() as u64));

        let mut rows: Vec<objective::ActiveModel> = Vec::with_capacity(objectives.len());
        for o in &objectives {
            let closed = periods[o.period].closed;
            rows.push(objective::ActiveModel {
                organization_id: Set(org),
                id: Set(o.id),
                period_id: Set(periods[o.period].id),
                owner_unit_id: Set(units[o.unit].id),
                owner_person_id: Set(o.person.map(|p| people[p].id)),
                parent_id: Set(o.parent.map(|p| objectives[p].id)),
                title: Set(o.title.clone()),
                description: Set(tx.seal("description", o.description.clone())?),
                kind: Set(o.kind.as_str().to_owned()),
                visibility: Set(o.visibility.as_str().to_owned()),
                progress_driver: Set(o.driver.map(|d| d.as_str().to_owned())),
                status: Set(o.status.as_str().to_owned()),
                cancel_reason: Set(
                    (o.status == ObjectiveStatus::Cancelled).then(|| "Deprioritised".to_owned())
                ),
                progress: Set(o.progress),
                score: Set(closed.then_some(o.progress)),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
        insert_all(&tx, "objectives", rows, progress).await?;
        counts.push(("objectives", objectives.len() as u64));

        // Key results and their check-ins, streamed: a key result's row goes
        // in before its check-ins.
        let kr_batch = PARAMS_PER_STATEMENT / 18;
        let ci_batch = PARAMS_PER_STATEMENT / 8;
        let mut kr_rows: Vec<key_result::ActiveModel> = Vec::with_capacity(kr_batch);
        let mut ci_rows: Vec<check_in::ActiveModel> = Vec::with_capacity(ci_batch);
        let (mut krs_done, mut cis_done) = (0_u64, 0_u64);
        let total_krs = key_results.len() as u64;
        for kr in &key_results {
            let o = &objectives[kr.objective];
            let p = &periods[o.period];
            kr_rows.push(key_result::ActiveModel {
                organization_id: Set(org),
                id: Set(kr.id),
                objective_id: Set(o.id),
                owner_id: Set(people[kr.owner].id),
                title: Set(kr.title.clone()),
                measure: Set(kr.measure.as_str().to_owned()),
                start_value: Set(kr.start),
                target_value: Set(kr.target),
                current_value: Set(kr.current),
                unit_label: Set(if matches!(kr.measure, Measure::Milestone) {
                    String::new()
                } else {
                    "%".to_owned()
                }),
                weight: Set(kr.weight),
                confidence: Set(kr.confidence),
                last_check_in_at: Set(kr.last_check_in_at),
                progress: Set(kr.progress),
                score: Set(p.closed.then_some(kr.progress)),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            });
            let sims = simulate(kr, p, now);
            if ci_rows.len() + sims.len() > ci_batch || kr_rows.len() >= kr_batch {
                krs_done += kr_rows.len() as u64;
                flush(&tx, &mut kr_rows).await?;
                cis_done += ci_rows.len() as u64;
                flush(&tx, &mut ci_rows).await?;
                progress("key_results", krs_done, total_krs);
            }
            for s in sims {
                ci_rows.push(check_in::ActiveModel {
                    organization_id: Set(org),
                    id: Set(Uuid::now_v7()),
                    key_result_id: Set(kr.id),
                    value: Set(s.value),
                    confidence: Set(Some(s.confidence)),
                    note: Set(tx.seal("note", s.note)?),
                    author_id: Set(Some(people[kr.owner].id)),
                    created_at: Set(s.at),
                });
            }
        }
        krs_done += kr_rows.len() as u64;
        flush(&tx, &mut kr_rows).await?;
        cis_done += ci_rows.len() as u64;
        flush(&tx, &mut ci_rows).await?;
        progress("key_results", krs_done, total_krs);
        progress("check_ins", cis_done, cis_done);
        counts.push(("key_results", krs_done));
        counts.push(("check_ins", cis_done));

        let rows: Vec<kpi::ActiveModel> = kpis
            .iter()
            .map(|k| kpi::ActiveModel {
                organization_id: Set(org),
                id: Set(k.id),
                unit_id: Set(units[k.unit].id),
                owner_id: Set(people[k.owner].id),
                name: Set(k.name.clone()),
                description: Set(None),
                category: Set(k.category.as_str().to_owned()),
                unit_label: Set("%".to_owned()),
                direction: Set(k.direction.as_str().to_owned()),
                target: Set(None),
                healthy_lower: Set(k.lower),
                healthy_upper: Set(k.upper),
                tolerance_absolute: Set(None),
                tolerance_percent: Set(Some(5.0)),
                cadence: Set(k.cadence.as_str().to_owned()),
                archived: Set(false),
                external_id: Set(None),
                promoted_from_key_result_id: Set(None),
                version: Set(1),
                created_at: Set(at),
                updated_at: Set(at),
            })
            .collect();
        insert_all(&tx, "kpis", rows, progress).await?;
        counts.push(("kpis", kpis.len() as u64));
        let batch = PARAMS_PER_STATEMENT / 7;
        let mut rows: Vec<kpi_measurement::ActiveModel> = Vec::with_capacity(batch);
        let mut written = 0_u64;
        for k in &kpis {
            for (observed_at, value) in history(k, now) {
                rows.push(kpi_measurement::ActiveModel {
                    organization_id: Set(org),
                    id: Set(Uuid::now_v7()),
                    kpi_id: Set(k.id),
                    observed_at: Set(observed_at),
                    value: Set(value),
                    recorded_at: Set(observed_at),
                    author_id: Set(Some(people[k.owner].id)),
                });
                if rows.len() >= batch {
                    written += rows.len() as u64;
                    flush(&tx, &mut rows).await?;
                    progress("kpi_measurements", written, written);
                }
            }
        }
        written += rows.len() as u64;
        flush(&tx, &mut rows).await?;
        progress("kpi_measurements", written, written);
        counts.push(("kpi_measurements", written));

        tx.audit_system(
            organization.id,
            AuditRecord::new("seedOrganization", "Organization", org)
                .after_field("seed", opts.seed)
                .after_field(
                    "counts",
                    counts.iter().map(|(t, n)| (*t, *n)).collect::<std::collections::BTreeMap<_, _>>(),
                ),
        );
        tx.commit().await?;
        self.analyze(&counts.iter().map(|(t, _)| *t).collect::<Vec<_>>()).await?;
        Ok(GenerateReport { organization, admin, counts })
    }
}

impl Store {
    /// Refreshes the planner's statistics of `tables` after a bulk load (a
    /// planner that has never seen the tables picks scans over indexes;
    /// autovacuum would catch up only later). SQLite samples each index.
    async fn analyze(&self, tables: &[&str]) -> StoreResult<()> {
        use sea_orm::ConnectionTrait;
        match self.backend() {
            crate::store::Backend::Postgres => {
                self.connection().execute_unprepared(&format!("ANALYZE {}", tables.join(", "))).await?;
            }
            crate::store::Backend::Sqlite => {
                self.connection().execute_unprepared("PRAGMA analysis_limit = 1000").await?;
                self.connection().execute_unprepared("ANALYZE").await?;
            }
        }
        Ok(())
    }
}

/// The objectives of every owner and period and their key results, with
/// the numbers their check-ins lead to.
fn plan_goals(
    rng: &mut StdRng,
    units: &[UnitPlan],
    people: &[PersonPlan],
    periods: &[PeriodPlan],
    now: DateTime<Utc>,
) -> (Vec<ObjectivePlan>, Vec<KeyResultPlan>) {
    let mut objectives: Vec<ObjectivePlan> = Vec::new();
    let mut key_results: Vec<KeyResultPlan> = Vec::new();
    for (pi, p) in periods.iter().enumerate() {
        // The objectives of each unit in this period, to align to.
        let mut of_unit: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
        let add = |rng: &mut StdRng,
                   objectives: &mut Vec<ObjectivePlan>,
                   unit: usize,
                   person: Option<usize>,
                   parents: &[usize]| {
            let status = if p.closed {
                if rng.gen_bool(0.03) { ObjectiveStatus::Cancelled } else { ObjectiveStatus::Completed }
            } else if rng.gen_bool(0.1) {
                ObjectiveStatus::Draft
            } else {
                ObjectiveStatus::Active
            };
            let visibility = match (person.is_some(), rng.gen_range(0..20)) {
                (true, 0) => Visibility::Private,
                (true, 1 | 2) => Visibility::Unit,
                _ => Visibility::Public,
            };
            let title = format!(
                "{} {}",
                VERBS[rng.gen_range(0..VERBS.len())],
                THINGS[rng.gen_range(0..THINGS.len())]
            );
            objectives.push(ObjectivePlan {
                id: Uuid::now_v7(),
                period: pi,
                unit,
                person,
                parent: (!parents.is_empty()).then(|| parents[rng.gen_range(0..parents.len())]),
                description: rng
                    .gen_bool(0.2)
                    .then(|| format!("Why {}: it matters this quarter", title.to_lowercase())),
                title,
                kind: if rng.gen_bool(0.8) { ObjectiveKind::Committed } else { ObjectiveKind::Aspirational },
                visibility,
                driver: None,
                status,
                progress: 0.0,
            });
            objectives.len() - 1
        };
        // Units top-down (a parent precedes its children), then people.
        for (ui, u) in units.iter().enumerate() {
            let parents = u.parent.map(|p| of_unit[p].clone()).unwrap_or_default();
            for _ in 0..rng.gen_range(3..=5) {
                let o = add(rng, &mut objectives, ui, None, &parents);
                of_unit[ui].push(o);
            }
        }
        for (pe, person) in people.iter().enumerate() {
            let parents = of_unit[person.unit].clone();
            for _ in 0..rng.gen_range(3..=5) {
                add(rng, &mut objectives, person.unit, Some(pe), &parents);
            }
        }
    }
    for (oi, o) in objectives.iter().enumerate() {
        let owner = o.person.unwrap_or(units[o.unit].head);
        for _ in 0..rng.gen_range(3..=5) {
            let measure = MEASURES[rng.gen_range(0..MEASURES.len())];
            let (start, target) = match measure {
                Measure::Increase => (0.0, f64::from(rng.gen_range(2..=20_u32)) * 10.0),
                Measure::Decrease => (100.0, f64::from(rng.gen_range(1..=8_u32)) * 10.0),
                Measure::MaintainAbove => (90.0, 95.0),
                Measure::MaintainBelow => (0.0, 2.0),
                Measure::Milestone => (0.0, 1.0),
            };
            let mut kr = KeyResultPlan {
                id: Uuid::now_v7(),
                objective: oi,
                owner,
                title: format!("{} {start} → {target}", measure.as_str().to_lowercase().replace('_', " ")),
                measure,
                start,
                target,
                weight: if rng.gen_bool(0.1) { 2.0 } else { 1.0 },
                seed: rng.r#gen(),
                current: start,
                confidence: None,
                last_check_in_at: None,
                progress: 0.0,
            };
            if let Some(last) = simulate(&kr, &periods[o.period], now).last() {
                kr.current = last.value;
                kr.confidence = Some(last.confidence);
                kr.last_check_in_at = Some(last.at);
            }
            kr.progress = key_result_progress(measure, start, target, kr.current);
            key_results.push(kr);
        }
    }
    // Progress: every objective has key results and the default driver,
    // so its rollup is their weighted average.
    let mut inputs: Vec<Vec<RollupInput>> = vec![Vec::new(); objectives.len()];
    for kr in &key_results {
        inputs[kr.objective].push(RollupInput { value: kr.progress, weight: kr.weight });
    }
    for (o, inputs) in objectives.iter_mut().zip(inputs) {
        o.progress = weighted_average(&inputs);
    }
    (objectives, key_results)
}

fn plan_kpis(rng: &mut StdRng, units: &[UnitPlan]) -> Vec<KpiPlan> {
    const NAMES: [&str; 6] = ["Uptime", "Churn", "Lead time", "Win rate", "Engagement", "Backlog age"];
    let mut out = Vec::new();
    for (ui, u) in units.iter().enumerate().skip(1) {
        let n = if u.kind == UnitKind::Team { 1 } else { 2 };
        for _ in 0..n {
            let direction = match rng.gen_range(0..3) {
                0 => Direction::HigherIsBetter,
                1 => Direction::LowerIsBetter,
                _ => Direction::WithinRange,
            };
            let (lower, upper) = match direction {
                Direction::HigherIsBetter => (Some(90.0), None),
                Direction::LowerIsBetter => (None, Some(20.0)),
                Direction::WithinRange => (Some(40.0), Some(60.0)),
            };
            let cadence = match rng.gen_range(0..10) {
                0..3 => Cadence::Daily,
                3..8 => Cadence::Weekly,
                _ => Cadence::Monthly,
            };
            out.push(KpiPlan {
                id: Uuid::now_v7(),
                unit: ui,
                owner: u.head,
                name: format!("{} {}", u.name, NAMES[rng.gen_range(0..NAMES.len())]),
                category: KpiCategory::ALL[rng.gen_range(0..KpiCategory::ALL.len())],
                direction,
                lower,
                upper,
                cadence,
                breach: rng.gen_bool(1.0 / 6.0),
                seed: rng.r#gen(),
            });
        }
    }
    out
}

/// A year of measurements at the KPI's cadence, the newest an hour ago;
/// healthy around the middle of the range, the last tenth past the bound
/// for one that ends in breach.
fn history(k: &KpiPlan, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, f64)> {
    let mut rng = StdRng::seed_from_u64(k.seed);
    let (step, n) = match k.cadence {
        Cadence::Daily => (Duration::days(1), 365),
        Cadence::Weekly => (Duration::weeks(1), 52),
        _ => (Duration::days(30), 12),
    };
    let (healthy, breached) = match k.direction {
        Direction::HigherIsBetter => (96.0, 80.0),
        Direction::LowerIsBetter => (12.0, 30.0),
        Direction::WithinRange => (50.0, 70.0),
    };
    (0..n)
        .map(|i| {
            let at = now - Duration::hours(1) - step * (n - 1 - i);
            let base = if k.breach && i * 10 >= n * 9 { breached } else { healthy };
            (at, round1(base + rng.gen_range(-2.0..2.0)))
        })
        .collect()
}

/// Inserts `rows` in multi-row statements, reporting progress.
async fn insert_all<A>(tx: &WriteTx, table: &str, rows: Vec<A>, progress: Progress<'_>) -> StoreResult<()>
where
    A: ActiveModelTrait + Send,
{
    let total = rows.len() as u64;
    let per = (PARAMS_PER_STATEMENT / <A::Entity as EntityTrait>::Column::iter().count()).max(1);
    let mut done = 0_u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per).collect();
        done += chunk.len() as u64;
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(tx.conn()).await?;
        progress(table, done, total);
    }
    Ok(())
}

/// Inserts and empties a buffer of rows.
async fn flush<A>(tx: &WriteTx, rows: &mut Vec<A>) -> StoreResult<()>
where
    A: ActiveModelTrait + Send,
{
    if !rows.is_empty() {
        <A::Entity as EntityTrait>::insert_many(std::mem::take(rows))
            .exec_without_returning(tx.conn())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_count_back_across_years() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let q = |back| quarter(day, back);
        assert_eq!(q(0).2, "2026 Q4");
        assert_eq!(q(0).0, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default());
        assert_eq!(q(0).1, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default());
        assert_eq!(q(3).2, "2026 Q1");
        assert_eq!(q(4).2, "2025 Q4");
        assert_eq!(q(4).1, NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default());
    }
}
