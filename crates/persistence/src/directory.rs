//! HRIS directory sync: one call upserts a tenant's units and people by
//! their external ids, all or nothing, in one transaction.
//!
//! Every row is checked before anything is written (its values, the units
//! and managers it names, cycles in the unit tree and the manager chain,
//! e-mail addresses), and every bad row is named by its index. Rows are
//! matched by external id; a person the directory has no external id for
//! yet (the tenant's first admin, say) is matched by e-mail address and
//! takes the row's id. Only rows that differ are written, in multi-row
//! upserts of at most [`CHUNK`] rows, so a second identical call writes
//! nothing. People absent from a call are left alone (a sync may be
//! partial); `active: false` deactivates; nothing is ever deleted.

use crate::audit::AuditRecord;
use crate::checkins::request_hash;
use crate::convert::{self, now};
use crate::entity::{person, unit};
use crate::error::{StoreError, StoreResult};
use crate::sql::{in_list, list_value, stmt};
use crate::store::Store;
use crate::units::external_id;
use chrono::{DateTime, Utc};
use goalgraph_domain::model::{RoleSet, Unit, UnitKind, check_manager, check_unit_placement};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::{Email, Name};
use goalgraph_domain::{DomainError, DomainResult, OrganizationId, PersonId, UnitId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Rows per upsert statement: far below both databases' parameter limits
/// (13 columns × 1000 rows).
const CHUNK: usize = 1000;

/// Bad rows listed in the error message; the count says how many more.
const LISTED: usize = 20;

/// A unit as the HRIS knows it.
#[derive(Debug, Clone)]
pub struct DirectoryUnit {
    pub external_id: String,
    pub name: String,
    /// DEPARTMENT or TEAM: the COMPANY unit is the organization's own.
    pub kind: UnitKind,
    /// `None`: directly below the company unit.
    pub parent_external_id: Option<String>,
}

/// A person as the HRIS knows them.
#[derive(Debug, Clone)]
pub struct DirectoryPerson {
    pub external_id: String,
    pub name: String,
    pub email: String,
    /// `None`: the company unit.
    pub unit_external_id: Option<String>,
    /// `None`: no line manager.
    pub manager_external_id: Option<String>,
    /// `false` deactivates (the person keeps their history, cannot sign in).
    pub active: bool,
    /// `None` keeps the stored roles (new people get the default roles);
    /// changing roles needs the right to change roles.
    pub roles: Option<RoleSet>,
}

/// One sync call.
#[derive(Debug, Clone, Default)]
pub struct DirectorySync {
    pub units: Vec<DirectoryUnit>,
    pub people: Vec<DirectoryPerson>,
    /// A retry with the same key and input writes nothing.
    pub idempotency_key: Option<String>,
}

/// What a sync call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub units_created: u64,
    pub units_updated: u64,
    pub people_created: u64,
    /// Existing people changed, the deactivated ones not counted.
    pub people_updated: u64,
    /// Existing active people this call deactivated.
    pub people_deactivated: u64,
    /// Rows of the call that matched the directory already.
    pub unchanged: u64,
    /// A retry with the same idempotency key and input: nothing written,
    /// every count zero.
    pub replayed: bool,
}

/// The bad rows of a call, each with its first fault.
#[derive(Default)]
struct BadRows {
    units: BTreeMap<usize, (String, String)>,
    people: BTreeMap<usize, (String, String)>,
}

impl BadRows {
    fn unit(&mut self, i: usize, field: &str, message: impl Into<String>) {
        self.units.entry(i).or_insert_with(|| (field.to_owned(), message.into()));
    }

    fn person(&mut self, i: usize, field: &str, message: impl Into<String>) {
        self.people.entry(i).or_insert_with(|| (field.to_owned(), message.into()));
    }

    /// Records an `Invalid` domain error of unit row `i`, with its field
    /// renamed to the input's where they differ; `None` for an error.
    fn unit_ok<T>(&mut self, i: usize, r: DomainResult<T>) -> StoreResult<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(DomainError::Invalid { field, message }) => {
                self.unit(i, input_field(&field), message);
                Ok(None)
            }
            Err(other) => Err(other.into()),
        }
    }

    fn person_ok<T>(&mut self, i: usize, r: DomainResult<T>) -> StoreResult<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(DomainError::Invalid { field, message }) => {
                self.person(i, input_field(&field), message);
                Ok(None)
            }
            Err(other) => Err(other.into()),
        }
    }

    fn unit_bad(&self, i: usize) -> bool {
        self.units.contains_key(&i)
    }

    fn person_bad(&self, i: usize) -> bool {
        self.people.contains_key(&i)
    }

    /// BAD_USER_INPUT naming the first bad row's field, listing up to
    /// [`LISTED`] of them; `None` when every row is good.
    fn into_error(self) -> Option<StoreError> {
        let all: Vec<(String, String)> = self
            .units
            .into_iter()
            .map(|(i, (f, m))| (format!("units[{i}].{f}"), m))
            .chain(self.people.into_iter().map(|(i, (f, m))| (format!("people[{i}].{f}"), m)))
            .collect();
        let (first_field, first_message) = all.first()?.clone();
        let listed: Vec<String> = all.iter().take(LISTED).map(|(f, m)| format!("{f}: {m}")).collect();
        let more =
            if all.len() > LISTED { format!(" (and {} more)", all.len() - LISTED) } else { String::new() };
        Some(
            DomainError::invalid(
                first_field,
                format!("{first_message}; {} bad row(s): {}{more}", all.len(), listed.join("; ")),
            )
            .into(),
        )
    }
}

/// The domain rules name the fields of the single-object mutations; a
/// sync row names other things by external id.
fn input_field(field: &str) -> &str {
    match field {
        "parentId" => "parentExternalId",
        "managerId" => "managerExternalId",
        other => other,
    }
}

/// A required external id: trimmed, 1-200 characters.
fn required_key(raw: &str) -> DomainResult<String> {
    match external_id("externalId", Some(raw)) {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err(DomainError::invalid("externalId", "must not be empty")),
        Err(StoreError::Domain(e)) => Err(e),
        Err(_) => Err(DomainError::invalid("externalId", "is not a valid external id")),
    }
}

/// An optional reference to another row by external id.
fn reference(field: &str, raw: Option<&str>) -> DomainResult<Option<String>> {
    match external_id(field, raw) {
        Ok(k) => Ok(k),
        Err(StoreError::Domain(e)) => Err(e),
        Err(_) => Err(DomainError::invalid(field, "is not a valid external id")),
    }
}

/// A unit row whose values are valid.
struct UnitRow {
    key: String,
    name: String,
    kind: UnitKind,
    parent: Option<String>,
}

/// A person row whose values are valid.
struct PersonRow {
    key: String,
    name: String,
    email: String,
    unit: Option<String>,
    manager: Option<String>,
    active: bool,
    roles: Option<RoleSet>,
}

/// The rows of a call checked on their own (no database needed); the
/// external ids of every row whose id parsed, so that a reference to a bad
/// row is not reported a second time as unknown.
struct Parsed {
    units: Vec<Option<UnitRow>>,
    people: Vec<Option<PersonRow>>,
    unit_keys: HashMap<String, usize>,
    person_keys: HashMap<String, usize>,
}

fn parse(input: &DirectorySync, bad: &mut BadRows) -> StoreResult<Parsed> {
    let mut unit_keys: HashMap<String, usize> = HashMap::with_capacity(input.units.len());
    let mut units = Vec::with_capacity(input.units.len());
    for (i, u) in input.units.iter().enumerate() {
        let key = bad.unit_ok(i, required_key(&u.external_id))?;
        if let Some(k) = &key {
            if let Some(first) = unit_keys.get(k) {
                bad.unit(i, "externalId", format!("repeats units[{first}]"));
            } else {
                unit_keys.insert(k.clone(), i);
            }
        }
        let name = bad.unit_ok(i, Name::parse("name", &u.name))?;
        if u.kind == UnitKind::Company {
            bad.unit(
                i,
                "kind",
                "a sync creates DEPARTMENT and TEAM units; the COMPANY unit is the organization's own",
            );
        }
        let parent = bad.unit_ok(i, reference("parentExternalId", u.parent_external_id.as_deref()))?;
        units.push(match (key, name, parent) {
            (Some(key), Some(name), Some(parent)) if !bad.unit_bad(i) => {
                Some(UnitRow { key, name: name.into_inner(), kind: u.kind, parent })
            }
            _ => None,
        });
    }
    let mut person_keys: HashMap<String, usize> = HashMap::with_capacity(input.people.len());
    let mut emails: HashMap<String, usize> = HashMap::with_capacity(input.people.len());
    let mut people = Vec::with_capacity(input.people.len());
    for (i, p) in input.people.iter().enumerate() {
        let key = bad.person_ok(i, required_key(&p.external_id))?;
        if let Some(k) = &key {
            if let Some(first) = person_keys.get(k) {
                bad.person(i, "externalId", format!("repeats people[{first}]"));
            } else {
                person_keys.insert(k.clone(), i);
            }
        }
        let name = bad.person_ok(i, Name::parse("name", &p.name))?;
        let email = bad.person_ok(i, Email::parse("email", &p.email))?;
        if let Some(e) = &email {
            if let Some(first) = emails.get(e.as_str()) {
                bad.person(i, "email", format!("repeats the address of people[{first}]"));
            } else {
                emails.insert(e.as_str().to_owned(), i);
            }
        }
        let unit = bad.person_ok(i, reference("unitExternalId", p.unit_external_id.as_deref()))?;
        let manager = bad.person_ok(i, reference("managerExternalId", p.manager_external_id.as_deref()))?;
        people.push(match (key, name, email, unit, manager) {
            (Some(key), Some(name), Some(email), Some(unit), Some(manager)) if !bad.person_bad(i) => {
                Some(PersonRow {
                    key,
                    name: name.into_inner(),
                    email: email.into_inner(),
                    unit,
                    manager,
                    active: p.active,
                    roles: p.roles.clone(),
                })
            }
            _ => None,
        });
    }
    Ok(Parsed { units, people, unit_keys, person_keys })
}

/// A digest of the call as sent, to tell a retry from a reuse of its key.
fn call_hash(input: &DirectorySync) -> String {
    let units: Vec<serde_json::Value> = input
        .units
        .iter()
        .map(|u| serde_json::json!([u.external_id, u.name, u.kind.as_str(), u.parent_external_id]))
        .collect();
    let people: Vec<serde_json::Value> = input
        .people
        .iter()
        .map(|p| {
            serde_json::json!([
                p.external_id,
                p.name,
                p.email,
                p.unit_external_id,
                p.manager_external_id,
                p.active,
                p.roles.as_ref().map(RoleSet::to_json),
            ])
        })
        .collect();
    request_hash(&serde_json::json!({ "units": units, "people": people }))
}

/// Where each node of a forest sits, given each node's parent. A parent
/// missing from the map ends the walk like a root does.
struct Forest {
    /// The cycle each node on one belongs to (an index into `cycles`).
    cycle_of: HashMap<Uuid, usize>,
    cycles: Vec<Vec<Uuid>>,
    /// Distance from the root; `usize::MAX` below a cycle.
    depth: HashMap<Uuid, usize>,
}

/// Walks every node up to a root once (O(n) for n nodes, whatever the
/// shape), finding cycles and depths.
fn forest(parents: &HashMap<Uuid, Option<Uuid>>) -> Forest {
    let mut f = Forest { cycle_of: HashMap::new(), cycles: Vec::new(), depth: HashMap::new() };
    let mut path: Vec<Uuid> = Vec::new();
    let mut on_path: HashMap<Uuid, usize> = HashMap::new();
    for &start in parents.keys() {
        if f.depth.contains_key(&start) || f.cycle_of.contains_key(&start) {
            continue;
        }
        path.clear();
        on_path.clear();
        let mut node = start;
        // The depth of the last node of `path`, once the walk ends.
        let base = loop {
            if let Some(&d) = f.depth.get(&node) {
                break d.saturating_add(1);
            }
            if f.cycle_of.contains_key(&node) {
                break usize::MAX;
            }
            if let Some(&k) = on_path.get(&node) {
                let index = f.cycles.len();
                let cycle: Vec<Uuid> = path.split_off(k);
                for m in &cycle {
                    f.cycle_of.insert(*m, index);
                }
                f.cycles.push(cycle);
                break usize::MAX;
            }
            on_path.insert(node, path.len());
            path.push(node);
            match parents.get(&node).copied().flatten() {
                Some(p) => node = p,
                None => break 0,
            }
        };
        let last = path.len().saturating_sub(1);
        for (j, n) in path.iter().enumerate() {
            f.depth.insert(*n, base.saturating_add(last - j));
        }
    }
    f
}

impl Forest {
    fn cycle(&self, node: Uuid) -> &[Uuid] {
        self.cycle_of.get(&node).and_then(|&i| self.cycles.get(i)).map(Vec::as_slice).unwrap_or(&[])
    }

    fn depth(&self, node: Uuid) -> usize {
        self.depth.get(&node).copied().unwrap_or(usize::MAX)
    }
}

/// A unit row as it will be written, and whether it is new.
struct UnitWrite {
    model: unit::Model,
    created: bool,
}

/// A person row as it will be written.
struct PersonWrite {
    model: person::Model,
    created: bool,
    deactivated: bool,
    moved: bool,
}

/// A good person row, resolved: its id (of the existing person it
/// `matched`, an index into the directory, or new), unit and manager.
#[derive(Clone, Copy)]
struct Placed {
    row: usize,
    id: Uuid,
    matched: Option<usize>,
    unit: Uuid,
    manager: Option<Uuid>,
}

/// What a call will write.
#[derive(Default)]
struct Plan {
    units: Vec<UnitWrite>,
    people: Vec<PersonWrite>,
    unchanged: u64,
}

impl Plan {
    fn report(&self) -> SyncReport {
        let mut r = SyncReport { unchanged: self.unchanged, ..SyncReport::default() };
        for u in &self.units {
            if u.created {
                r.units_created += 1;
            } else {
                r.units_updated += 1;
            }
        }
        for p in &self.people {
            if p.created {
                r.people_created += 1;
            } else if p.deactivated {
                r.people_deactivated += 1;
            } else {
                r.people_updated += 1;
            }
        }
        r
    }
}

/// The tenant's directory as it stands, indexed the ways a sync looks it up.
struct Existing {
    company: Uuid,
    units: Vec<unit::Model>,
    people: Vec<person::Model>,
}

impl Existing {
    fn unit_by_key(&self) -> HashMap<&str, usize> {
        self.units.iter().enumerate().filter_map(|(i, u)| u.external_id.as_deref().map(|k| (k, i))).collect()
    }

    fn person_by_key(&self) -> HashMap<&str, usize> {
        self.people.iter().enumerate().filter_map(|(i, p)| p.external_id.as_deref().map(|k| (k, i))).collect()
    }
}

/// Checks the parsed rows against the directory and works out what to
/// write. Reports every bad row in `bad`; the first refused role change
/// is returned separately (FORBIDDEN, after any bad rows).
fn plan(
    actor: &Actor,
    parsed: &Parsed,
    existing: &Existing,
    at: DateTime<Utc>,
    bad: &mut BadRows,
) -> StoreResult<(Plan, Option<StoreError>)> {
    let org = actor.organization_id;
    let unit_by_key = existing.unit_by_key();
    let unit_index: HashMap<Uuid, usize> =
        existing.units.iter().enumerate().map(|(i, u)| (u.id, i)).collect();

    // Units: the id each row's external id names, existing or new.
    let mut unit_ids: HashMap<&str, Uuid> = HashMap::with_capacity(parsed.unit_keys.len());
    for (key, &i) in &parsed.unit_keys {
        let id = match unit_by_key.get(key.as_str()) {
            Some(&e) if existing.units[e].id == existing.company => {
                bad.unit(i, "externalId", "names the company unit, which a sync does not change");
                existing.company
            }
            Some(&e) => existing.units[e].id,
            None => UnitId::new().0,
        };
        unit_ids.insert(key.as_str(), id);
    }
    let resolve_unit = |key: &str| -> Option<Uuid> {
        unit_ids.get(key).copied().or_else(|| unit_by_key.get(key).map(|&e| existing.units[e].id))
    };

    // The tree as it will be: every unit, the rows of the call applied.
    let mut tree: HashMap<Uuid, Unit> = HashMap::with_capacity(existing.units.len() + parsed.units.len());
    for u in &existing.units {
        tree.insert(u.id, convert::unit(u.clone())?);
    }
    let mut unit_rows: Vec<(usize, Uuid)> = Vec::with_capacity(parsed.units.len());
    for (i, row) in parsed.units.iter().enumerate() {
        let Some(row) = row else { continue };
        if bad.unit_bad(i) {
            continue;
        }
        let parent = match &row.parent {
            None => existing.company,
            Some(key) => match resolve_unit(key) {
                Some(p) => p,
                None => {
                    bad.unit(i, "parentExternalId", "names no unit of this call or of the organization");
                    continue;
                }
            },
        };
        let Some(&id) = unit_ids.get(row.key.as_str()) else { continue };
        let created_at = unit_index.get(&id).map(|&e| existing.units[e].created_at).unwrap_or(at);
        let version = unit_index.get(&id).map(|&e| existing.units[e].version).unwrap_or(0);
        tree.insert(
            id,
            Unit {
                id: UnitId(id),
                organization_id: org,
                kind: row.kind,
                name: row.name.clone(),
                parent_id: Some(UnitId(parent)),
                external_id: Some(row.key.clone()),
                version,
                created_at,
            },
        );
        unit_rows.push((i, id));
    }
    let units_forest = forest(&tree.iter().map(|(id, u)| (*id, u.parent_id.map(|p| p.0))).collect());
    let row_of_unit: HashMap<Uuid, usize> = unit_rows.iter().map(|&(i, id)| (id, i)).collect();
    for &(i, id) in &unit_rows {
        let Some(me) = tree.get(&id) else { continue };
        let Some(parent) = me.parent_id.and_then(|p| tree.get(&p.0)) else { continue };
        // Only a cycle puts a unit among its own ancestors: its ancestors
        // are its cycle, and nothing else bears on the rule.
        let ancestors: Vec<UnitId> = units_forest.cycle(id).iter().map(|u| UnitId(*u)).collect();
        bad.unit_ok(i, check_unit_placement(me.kind, Some((parent, &ancestors)), Some(UnitId(id))))?;
    }
    // A unit of the call that changes kind must still fit what hangs below it.
    for u in tree.values() {
        if row_of_unit.contains_key(&u.id.0) {
            continue;
        }
        let Some(parent) = u.parent_id.and_then(|p| tree.get(&p.0)) else { continue };
        let Some(&j) = row_of_unit.get(&parent.id.0) else { continue };
        if let Err(DomainError::Invalid { message, .. }) =
            check_unit_placement(u.kind, Some((parent, &[])), None)
        {
            bad.unit(j, "kind", format!("{message} (the unit \"{}\" is below it)", u.name));
        }
    }

    // People: the id each row's external id names. A person without an
    // external id is matched by e-mail address.
    let person_by_key = existing.person_by_key();
    let by_email: HashMap<&str, usize> =
        existing.people.iter().enumerate().map(|(i, p)| (p.email.as_str(), i)).collect();
    let by_subject: HashMap<&str, usize> =
        existing.people.iter().enumerate().map(|(i, p)| (p.subject.as_str(), i)).collect();
    let mut person_ids: HashMap<&str, (Uuid, Option<usize>)> =
        HashMap::with_capacity(parsed.person_keys.len());
    for (key, &i) in &parsed.person_keys {
        let matched = person_by_key.get(key.as_str()).copied().or_else(|| {
            let row = parsed.people.get(i).and_then(Option::as_ref)?;
            by_email.get(row.email.as_str()).copied().filter(|&e| existing.people[e].external_id.is_none())
        });
        let id = matched.map(|e| existing.people[e].id).unwrap_or_else(|| PersonId::new().0);
        person_ids.insert(key.as_str(), (id, matched));
    }
    let resolve_person = |key: &str| -> Option<Uuid> {
        person_ids
            .get(key)
            .map(|(id, _)| *id)
            .or_else(|| person_by_key.get(key).map(|&e| existing.people[e].id))
    };

    // The manager chain as it will be, and each row's wanted state.
    let mut managers: HashMap<Uuid, Option<Uuid>> =
        existing.people.iter().map(|p| (p.id, p.manager_id)).collect();
    let mut person_rows: Vec<Placed> = Vec::with_capacity(parsed.people.len());
    for (i, row) in parsed.people.iter().enumerate() {
        let Some(row) = row else { continue };
        if bad.person_bad(i) {
            continue;
        }
        let Some(&(id, matched)) = person_ids.get(row.key.as_str()) else { continue };
        let unit = match &row.unit {
            None => existing.company,
            Some(key) => match resolve_unit(key) {
                Some(u) => u,
                None => {
                    bad.person(i, "unitExternalId", "names no unit of this call or of the organization");
                    continue;
                }
            },
        };
        let manager = match &row.manager {
            None => None,
            Some(key) => match resolve_person(key) {
                Some(m) => Some(m),
                None => {
                    bad.person(i, "managerExternalId", "names no person of this call or of the organization");
                    continue;
                }
            },
        };
        // Checked against the directory as it stands: an address another
        // person holds now stays theirs in this call (swaps take two calls).
        if let Some(&holder) = by_email.get(row.email.as_str())
            && existing.people[holder].id != id
        {
            bad.person(i, "email", "is already the e-mail address of another person");
            continue;
        }
        if matched.is_none()
            && let Some(&holder) = by_subject.get(row.email.as_str())
            && existing.people[holder].id != id
        {
            bad.person(i, "email", "is already the sign-in subject of another person");
            continue;
        }
        managers.insert(id, manager);
        person_rows.push(Placed { row: i, id, matched, unit, manager });
    }
    let chain = forest(&managers);
    for &Placed { row: i, id, manager, .. } in &person_rows {
        if let Some(m) = manager {
            // As for units: only a cycle puts a person in their manager's chain.
            let cycle: Vec<PersonId> = chain.cycle(id).iter().map(|p| PersonId(*p)).collect();
            bad.person_ok(i, check_manager(Some(PersonId(id)), PersonId(m), &cycle))?;
        }
    }

    // What differs, and who may change it.
    let mut out = Plan::default();
    for &(i, id) in &unit_rows {
        if bad.unit_bad(i) {
            continue;
        }
        let Some(u) = tree.get(&id) else { continue };
        let model = unit::Model {
            organization_id: org.0,
            id,
            kind: u.kind.as_str().to_owned(),
            name: u.name.clone(),
            parent_id: u.parent_id.map(|p| p.0),
            external_id: u.external_id.clone(),
            version: u.version + 1,
            created_at: u.created_at,
            updated_at: at,
        };
        match unit_index.get(&id).map(|&e| &existing.units[e]) {
            Some(old)
                if old.kind == model.kind
                    && old.name == model.name
                    && old.parent_id == model.parent_id
                    && old.external_id == model.external_id =>
            {
                out.unchanged += 1;
            }
            old => out.units.push(UnitWrite { model, created: old.is_none() }),
        }
    }
    out.units.sort_by_key(|w| units_forest.depth(w.model.id));

    let mut forbidden: Option<StoreError> = None;
    for &Placed { row: i, id, matched, unit, manager } in &person_rows {
        if bad.person_bad(i) {
            continue;
        }
        let Some(row) = parsed.people.get(i).and_then(Option::as_ref) else { continue };
        let old = matched.map(|e| &existing.people[e]);
        let stored_roles = old.map(|o| RoleSet::from_json(&o.roles));
        let roles = match (&row.roles, &stored_roles) {
            (Some(wanted), Some(stored)) if wanted == stored => stored.clone(),
            (Some(wanted), None) if *wanted == policy::default_roles() => wanted.clone(),
            (Some(wanted), _) => {
                let resource =
                    Resource::Person { organization_id: org, person_id: old.map(|_| PersonId(id)) };
                if let Err(e) = policy::authorize(actor, Action::ChangeRoles, &resource) {
                    forbidden.get_or_insert_with(|| match e {
                        DomainError::Forbidden { action } => {
                            DomainError::forbidden(format!("{action} (people[{i}].roles)")).into()
                        }
                        other => other.into(),
                    });
                }
                wanted.clone()
            }
            (None, Some(stored)) => stored.clone(),
            (None, None) => policy::default_roles(),
        };
        let model = person::Model {
            organization_id: org.0,
            id,
            name: row.name.clone(),
            email: row.email.clone(),
            unit_id: unit,
            manager_id: manager,
            roles: match (old, &stored_roles) {
                (Some(o), Some(stored)) if *stored == roles => o.roles.clone(),
                _ => roles.to_json(),
            },
            // The subject of existing people stays: their tokens name it.
            subject: old.map(|o| o.subject.clone()).unwrap_or_else(|| row.email.clone()),
            external_id: Some(row.key.clone()),
            active: row.active,
            version: old.map(|o| o.version).unwrap_or(0) + 1,
            created_at: old.map(|o| o.created_at).unwrap_or(at),
            updated_at: at,
        };
        match old {
            Some(o)
                if o.name == model.name
                    && o.email == model.email
                    && o.unit_id == model.unit_id
                    && o.manager_id == model.manager_id
                    && o.roles == model.roles
                    && o.external_id == model.external_id
                    && o.active == model.active =>
            {
                out.unchanged += 1;
            }
            Some(o) => out.people.push(PersonWrite {
                deactivated: o.active && !model.active,
                moved: o.unit_id != model.unit_id,
                created: false,
                model,
            }),
            None => out.people.push(PersonWrite { model, created: true, deactivated: false, moved: false }),
        }
    }
    // Managers before the people they manage: a chunk only names people
    // that exist or are written by it.
    out.people.sort_by_key(|w| chain.depth(w.model.id));
    Ok((out, forbidden))
}

fn unit_active(m: &unit::Model) -> unit::ActiveModel {
    unit::ActiveModel {
        organization_id: Set(m.organization_id),
        id: Set(m.id),
        kind: Set(m.kind.clone()),
        name: Set(m.name.clone()),
        parent_id: Set(m.parent_id),
        external_id: Set(m.external_id.clone()),
        version: Set(m.version),
        created_at: Set(m.created_at),
        updated_at: Set(m.updated_at),
    }
}

fn person_active(m: &person::Model) -> person::ActiveModel {
    person::ActiveModel {
        organization_id: Set(m.organization_id),
        id: Set(m.id),
        name: Set(m.name.clone()),
        email: Set(m.email.clone()),
        unit_id: Set(m.unit_id),
        manager_id: Set(m.manager_id),
        roles: Set(m.roles.clone()),
        subject: Set(m.subject.clone()),
        external_id: Set(m.external_id.clone()),
        active: Set(m.active),
        version: Set(m.version),
        created_at: Set(m.created_at),
        updated_at: Set(m.updated_at),
    }
}

impl Store {
    /// Upserts units and people by external id in one transaction: all or
    /// nothing, every bad row named by its index, only differing rows
    /// written. ADMIN, HR and `directory:write` integrations may sync;
    /// changing roles needs the right to change roles.
    #[tracing::instrument(skip_all, fields(units = input.units.len(), people = input.people.len()))]
    pub async fn sync_directory(&self, actor: &Actor, input: DirectorySync) -> StoreResult<SyncReport> {
        let org = actor.organization_id;
        // A sync may create and update both kinds of row.
        for action in [Action::Create, Action::Update] {
            policy::authorize(actor, action, &Resource::Unit { organization_id: org, unit_id: None })?;
            policy::authorize(actor, action, &Resource::Person { organization_id: org, person_id: None })?;
        }
        let key = match input.idempotency_key.as_deref().map(str::trim) {
            Some(k) if k.is_empty() || k.len() > 200 => {
                return Err(DomainError::invalid("idempotencyKey", "must be 1-200 characters").into());
            }
            Some(k) => Some(k.to_owned()),
            None => None,
        };
        let mut bad = BadRows::default();
        let parsed = parse(&input, &mut bad)?;
        let at = now();

        let tx = self.write().await?;
        if let Some(key) = &key {
            let response = serde_json::json!({ "units": input.units.len(), "people": input.people.len() });
            let hash = call_hash(&input);
            if !self.idempotency_claim_or_replay(&tx, org, "syncDirectory", key, &hash, &response).await? {
                return Ok(SyncReport { replayed: true, ..SyncReport::default() });
            }
        }
        // Re-parenting and new managers: concurrent syncs must not each
        // pass the cycle checks against the tree the other is changing.
        self.lock_tenant(&tx, org).await?;
        let existing = self.directory_of(tx.conn(), org).await?;
        let (plan, forbidden) = plan(actor, &parsed, &existing, at, &mut bad)?;
        if let Some(e) = bad.into_error() {
            return Err(e);
        }
        if let Some(e) = forbidden {
            return Err(e);
        }
        let report = plan.report();

        for chunk in plan.units.chunks(CHUNK) {
            unit::Entity::insert_many(chunk.iter().map(|w| unit_active(&w.model)))
                .on_conflict(
                    OnConflict::columns([unit::Column::OrganizationId, unit::Column::Id])
                        .update_columns([
                            unit::Column::Kind,
                            unit::Column::Name,
                            unit::Column::ParentId,
                            unit::Column::ExternalId,
                            unit::Column::Version,
                            unit::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(tx.conn())
                .await?;
        }
        for chunk in plan.people.chunks(CHUNK) {
            person::Entity::insert_many(chunk.iter().map(|w| person_active(&w.model)))
                .on_conflict(
                    OnConflict::columns([person::Column::OrganizationId, person::Column::Id])
                        .update_columns([
                            person::Column::Name,
                            person::Column::Email,
                            person::Column::UnitId,
                            person::Column::ManagerId,
                            person::Column::Roles,
                            person::Column::ExternalId,
                            person::Column::Active,
                            person::Column::Version,
                            person::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(tx.conn())
                .await?;
        }
        // A person's goals hang in their unit: they follow a move, as with
        // `update_person`, in one statement for everyone who moved.
        let moved: Vec<Uuid> = plan.people.iter().filter(|w| w.moved).map(|w| w.model.id).collect();
        if !moved.is_empty() {
            let backend = self.db_backend();
            let sql = format!(
                "UPDATE objectives SET owner_unit_id = (SELECT p.unit_id FROM people p \
                   WHERE p.organization_id = objectives.organization_id AND p.id = objectives.owner_person_id) \
                 WHERE organization_id = $1 AND {}",
                in_list(backend, "owner_person_id", 2)
            );
            tx.conn()
                .execute_raw(stmt(backend, &sql, vec![org.0.into(), list_value(backend, &moved)]))
                .await?;
        }
        if !plan.units.is_empty() || !plan.people.is_empty() {
            // Roles, units and managers of many people may have changed:
            // every cached actor of the tenant is rebuilt.
            self.emit_directory(&tx, org, None);
        }
        // One event per call: the counts, and every grant or change of
        // roles by name (new people with only the default role left out).
        let old_roles: HashMap<Uuid, &str> =
            existing.people.iter().map(|p| (p.id, p.roles.as_str())).collect();
        let default_roles = policy::default_roles().to_json();
        let role_changes: Vec<serde_json::Value> = plan
            .people
            .iter()
            .filter_map(|w| {
                let old = old_roles.get(&w.model.id).copied();
                let changed = match old {
                    Some(old) => old != w.model.roles,
                    None => w.model.roles != default_roles,
                };
                changed.then(
                    || serde_json::json!({ "personId": w.model.id, "before": old, "after": w.model.roles }),
                )
            })
            .collect();
        tx.audit(
            actor,
            AuditRecord::new("syncDirectory", "Organization", org.0)
                .after_field("unitsCreated", report.units_created)
                .after_field("unitsUpdated", report.units_updated)
                .after_field("peopleCreated", report.people_created)
                .after_field("peopleUpdated", report.people_updated)
                .after_field("peopleDeactivated", report.people_deactivated)
                .after_field("unchanged", report.unchanged)
                .after_field("roleChanges", role_changes),
        );
        tx.commit().await?;
        Ok(report)
    }

    /// Every unit and person of a tenant, in two statements: a sync
    /// checks cycles and addresses against the whole directory.
    async fn directory_of<C: ConnectionTrait>(&self, conn: &C, org: OrganizationId) -> StoreResult<Existing> {
        let units = unit::Entity::find().filter(unit::Column::OrganizationId.eq(org.0)).all(conn).await?;
        let people =
            person::Entity::find().filter(person::Column::OrganizationId.eq(org.0)).all(conn).await?;
        let company = units
            .iter()
            .find(|u| u.kind == UnitKind::Company.as_str())
            .map(|u| u.id)
            .ok_or_else(|| StoreError::corrupt(format!("organization {} has no company unit", org.0)))?;
        Ok(Existing { company, units, people })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    #[test]
    fn forests_have_depths_and_cycles() {
        let v = ids(6);
        // 0 <- 1 <- 2; 3 <- 4 <- 3 (a cycle); 5 below the cycle.
        let parents: HashMap<Uuid, Option<Uuid>> = [
            (v[0], None),
            (v[1], Some(v[0])),
            (v[2], Some(v[1])),
            (v[3], Some(v[4])),
            (v[4], Some(v[3])),
            (v[5], Some(v[4])),
        ]
        .into();
        let f = forest(&parents);
        assert_eq!((f.depth(v[0]), f.depth(v[1]), f.depth(v[2])), (0, 1, 2));
        assert!(f.cycle(v[0]).is_empty() && f.cycle(v[5]).is_empty());
        let mut cycle = f.cycle(v[3]).to_vec();
        cycle.sort();
        let mut want = vec![v[3], v[4]];
        want.sort();
        assert_eq!(cycle, want);
        assert_eq!(f.depth(v[5]), usize::MAX, "below a cycle there is no depth");
        // A self-loop is a cycle of one; a dangling parent ends the walk.
        let w = ids(3);
        let f = forest(&[(w[0], Some(w[0])), (w[1], Some(w[2]))].into());
        assert_eq!(f.cycle(w[0]), &[w[0]]);
        assert_eq!(f.depth(w[1]), 1);
    }

    #[test]
    fn a_long_chain_is_walked_once() {
        let v = ids(50_000);
        let parents: HashMap<Uuid, Option<Uuid>> =
            v.iter().enumerate().map(|(i, id)| (*id, i.checked_sub(1).map(|p| v[p]))).collect();
        let f = forest(&parents);
        assert_eq!(f.depth(v[49_999]), 49_999);
        assert!(f.cycles.is_empty());
    }
}
