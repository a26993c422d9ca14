//! KPIs and their measurements: definitions, append-only measurements
//! (single and bulk, idempotent, all-or-nothing), the status inputs, and the
//! key results that follow a KPI.

use crate::audit::AuditRecord;
use crate::checkins::request_hash;
use crate::convert::{self, now};
use crate::entity::{
    key_result, key_result_kpi_link, kpi, kpi_measurement, objective, organization, period, person, unit,
};
use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::sql::{id_in, in_list, list_value, stmt};
use crate::store::{Store, WriteTx};
use crate::units::{external_id, like_pattern};
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::{PeriodWindow, key_result_progress};
use goalgraph_domain::kpi::{
    Cadence, Direction, HealthyRange, Kpi, KpiCategory, Measurement, Point, Tolerance, check_point,
};
use goalgraph_domain::model::{PeriodStatus, check_version};
use goalgraph_domain::okr::ObjectiveStatus;
use goalgraph_domain::policy::{self, Action, Actor, KpiFacts, KpiReadScope, Resource};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::values::{Description, Name};
use goalgraph_domain::{DomainError, KpiId, MeasurementId, ObjectiveId, OrganizationId, PersonId, UnitId};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewKpi {
    pub unit_id: UnitId,
    pub owner_id: PersonId,
    pub name: String,
    pub description: Option<String>,
    pub category: KpiCategory,
    pub unit_label: Option<String>,
    pub direction: Direction,
    pub target: Option<f64>,
    pub healthy_lower: Option<f64>,
    pub healthy_upper: Option<f64>,
    pub tolerance_absolute: Option<f64>,
    pub tolerance_percent: Option<f64>,
    pub cadence: Cadence,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct KpiPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub owner_id: Option<PersonId>,
    pub unit_label: Option<String>,
    pub target: Option<Option<f64>>,
    /// The range and tolerance are replaced together when any is given.
    pub range: Option<(Option<f64>, Option<f64>)>,
    pub tolerance: Option<(Option<f64>, Option<f64>)>,
    pub cadence: Option<Cadence>,
    pub archived: Option<bool>,
    pub external_id: Option<Option<String>>,
    pub expected_version: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct KpiFilter {
    pub unit_id: Option<UnitId>,
    pub category: Option<KpiCategory>,
    pub archived: Option<bool>,
    pub search: Option<String>,
}

/// A KPI named by its id or by a partner system's key.
#[derive(Debug, Clone)]
pub enum KpiRef {
    Id(KpiId),
    External(String),
}

/// What a measurement call did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub kpi: Kpi,
    /// Points written (0 for a replay).
    pub written: u64,
    /// A retry with the same idempotency key and input: nothing written.
    pub replayed: bool,
}

/// Status inputs of a KPI: its latest point and the start of its current
/// run outside the healthy range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KpiState {
    pub latest: Option<Point>,
    pub breached_since: Option<DateTime<Utc>>,
}

/// Rows per insert statement: far below both databases' parameter limits.
const CHUNK: usize = 1000;

pub(crate) fn kpi_facts(m: &kpi::Model) -> KpiFacts {
    KpiFacts {
        id: KpiId(m.id),
        unit: UnitId(m.unit_id),
        owner: PersonId(m.owner_id),
        sensitive: m.category == KpiCategory::People.as_str(),
    }
}

/// The measurements of the KPIs in list parameter `$2` (of tenant `$1`),
/// with `correction` (1 for the latest of each observed time) and `newest`
/// (1 for a KPI's latest point); `bound` narrows the rows (e.g. `AND
/// m.observed_at < $3`).
fn effective_points_sql(backend: sea_orm::DbBackend, bound: &str) -> String {
    format!(
        "SELECT m.kpi_id, m.observed_at, m.value, \
           ROW_NUMBER() OVER (PARTITION BY m.kpi_id, m.observed_at ORDER BY m.recorded_at DESC, m.id DESC) AS correction, \
           ROW_NUMBER() OVER (PARTITION BY m.kpi_id ORDER BY m.observed_at DESC, m.recorded_at DESC, m.id DESC) AS newest \
         FROM kpi_measurements m WHERE m.organization_id = $1 AND {}{bound}",
        in_list(backend, "m.kpi_id", 2)
    )
}

/// `breachedSince` of each KPI over the `effective` points: the first point
/// after the last one inside the healthy range (KPIs whose latest point is
/// inside have no row).
fn breach_sql(effective: &str) -> String {
    format!(
        "WITH eff AS ({effective}), \
         pts AS (SELECT e.kpi_id, e.observed_at, e.value, k.healthy_lower AS lo, k.healthy_upper AS hi \
                 FROM eff e JOIN kpis k ON k.organization_id = $1 AND k.id = e.kpi_id WHERE e.correction = 1), \
         inside AS (SELECT kpi_id, MAX(observed_at) AS last_inside FROM pts \
                    WHERE (lo IS NULL OR value >= lo) AND (hi IS NULL OR value <= hi) GROUP BY kpi_id) \
         SELECT p.kpi_id, MIN(p.observed_at) AS since FROM pts p LEFT JOIN inside i ON i.kpi_id = p.kpi_id \
         WHERE i.last_inside IS NULL OR p.observed_at > i.last_inside GROUP BY p.kpi_id"
    )
}

fn kpi_resource(org: OrganizationId, m: &kpi::Model) -> Resource {
    Resource::Kpi { organization_id: org, kpi: kpi_facts(m) }
}

fn unit_label(raw: Option<&str>) -> StoreResult<String> {
    let label = raw.map(str::trim).unwrap_or_default();
    if label.chars().count() > 50 {
        return Err(DomainError::invalid("unitLabel", "must be at most 50 characters").into());
    }
    Ok(label.to_owned())
}

impl Store {
    pub(crate) fn visible_kpis(&self, actor: &Actor) -> Select<kpi::Entity> {
        let q = kpi::Entity::find().filter(kpi::Column::OrganizationId.eq(actor.organization_id.0));
        match policy::kpi_read_scope(actor) {
            KpiReadScope::All => q,
            KpiReadScope::Nothing => q.filter(Expr::cust("1 = 0")),
            KpiReadScope::Only(ids) => {
                let ids: Vec<Uuid> = ids.iter().map(|k| k.0).collect();
                q.filter(id_in(self.db_backend(), "kpis.id", &ids))
            }
            KpiReadScope::Some { sensitive_units } => {
                let mut any = Condition::any().add(kpi::Column::Category.ne(KpiCategory::People.as_str()));
                if !sensitive_units.is_empty() {
                    let ids: Vec<Uuid> = sensitive_units.iter().map(|u| u.0).collect();
                    any = any.add(id_in(self.db_backend(), "kpis.unit_id", &ids));
                }
                q.filter(any)
            }
        }
    }

    async fn load_kpi_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        reference: &KpiRef,
        lock: bool,
    ) -> StoreResult<kpi::Model> {
        let q = match reference {
            KpiRef::Id(id) => kpi::Entity::find_by_id((org.0, id.0)),
            KpiRef::External(key) => kpi::Entity::find()
                .filter(kpi::Column::OrganizationId.eq(org.0))
                .filter(kpi::Column::ExternalId.eq(key.trim())),
        };
        let q = if lock { q.lock_exclusive() } else { q };
        Ok(q.one(conn).await?.ok_or(DomainError::not_found("KPI"))?)
    }

    pub async fn kpi(&self, actor: &Actor, reference: &KpiRef) -> StoreResult<Kpi> {
        let m = self.load_kpi_row(&self.db, actor.organization_id, reference, false).await?;
        policy::authorize(actor, Action::Read, &kpi_resource(actor.organization_id, &m))?;
        convert::kpi(m)
    }

    pub async fn kpis_by_ids(&self, actor: &Actor, ids: &[KpiId]) -> StoreResult<HashMap<KpiId, Kpi>> {
        let rows = self.rows_with(self.visible_kpis(actor), "kpis.id", ids.iter().map(|i| i.0)).await?;
        rows.into_iter().map(|m| convert::kpi(m).map(|k| (k.id, k))).collect()
    }

    fn filtered_kpis(&self, actor: &Actor, filter: &KpiFilter) -> Select<kpi::Entity> {
        let mut q = self.visible_kpis(actor);
        if let Some(u) = filter.unit_id {
            q = q.filter(kpi::Column::UnitId.eq(u.0));
        }
        if let Some(c) = filter.category {
            q = q.filter(kpi::Column::Category.eq(c.as_str()));
        }
        if let Some(a) = filter.archived {
            q = q.filter(kpi::Column::Archived.eq(a));
        }
        if let Some(term) = filter.search.as_deref().filter(|t| !t.trim().is_empty()) {
            q = q.filter(
                Expr::expr(Func::lower(Expr::col(kpi::Column::Name)))
                    .like(LikeExpr::new(like_pattern(term)).escape('\\')),
            );
        }
        q
    }

    pub async fn list_kpis(
        &self,
        actor: &Actor,
        filter: &KpiFilter,
        direction: SortDirection,
        args: &PageArgs,
    ) -> StoreResult<Page<Kpi>> {
        let sort = SortSpec::<kpi::Entity> {
            column: kpi::Column::Name,
            id_column: kpi::Column::Id,
            direction,
            parse: page::parse_text,
            key_of: |m| CursorKey { key: m.name.clone(), id: m.id },
        };
        page::fetch_page(&self.db, self.filtered_kpis(actor, filter), sort, args).await?.try_map(convert::kpi)
    }

    pub async fn count_kpis(&self, actor: &Actor, filter: &KpiFilter) -> StoreResult<u64> {
        Ok(self.filtered_kpis(actor, filter).count(&self.db).await?)
    }

    /// The visible, not archived KPIs of each unit in `units`, by name.
    pub async fn kpis_of_units(
        &self,
        actor: &Actor,
        units: &[UnitId],
    ) -> StoreResult<HashMap<UnitId, Vec<Kpi>>> {
        if units.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = units.iter().map(|u| u.0).collect();
        let rows = self
            .visible_kpis(actor)
            .filter(kpi::Column::Archived.eq(false))
            .filter(id_in(self.db_backend(), "kpis.unit_id", &raw))
            .order_by_asc(kpi::Column::Name)
            .order_by_asc(kpi::Column::Id)
            .all(&self.db)
            .await?;
        let mut out: HashMap<UnitId, Vec<Kpi>> = HashMap::new();
        for m in rows {
            let k = convert::kpi(m)?;
            out.entry(k.unit_id).or_default().push(k);
        }
        Ok(out)
    }

    async fn check_kpi_owner(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        unit_id: UnitId,
        owner: PersonId,
    ) -> StoreResult<()> {
        unit::Entity::find_by_id((org.0, unit_id.0))
            .one(tx.conn())
            .await?
            .ok_or_else(|| DomainError::invalid("unitId", "no such unit in this organization"))?;
        person::Entity::find_by_id((org.0, owner.0))
            .one(tx.conn())
            .await?
            .filter(|p| p.active)
            .ok_or_else(|| DomainError::invalid("ownerId", "no such active person in this organization"))?;
        Ok(())
    }

    pub async fn create_kpi(&self, actor: &Actor, new: NewKpi) -> StoreResult<Kpi> {
        let name = Name::parse("name", &new.name)?;
        let description = Description::parse("description", new.description.as_deref())?;
        let range = HealthyRange::parse(new.direction, new.healthy_lower, new.healthy_upper)?;
        let tolerance = Tolerance::parse(new.tolerance_absolute, new.tolerance_percent)?;
        let target = new.target.map(|t| goalgraph_domain::values::finite("target", t)).transpose()?;
        let label = unit_label(new.unit_label.as_deref())?;
        let external = external_id("externalId", new.external_id.as_deref())?;
        let org = actor.organization_id;
        let id = KpiId::new();
        let facts = KpiFacts {
            id,
            unit: new.unit_id,
            owner: new.owner_id,
            sensitive: new.category == KpiCategory::People,
        };
        policy::authorize(actor, Action::Create, &Resource::Kpi { organization_id: org, kpi: facts })?;
        let tx = self.write().await?;
        self.check_kpi_owner(&tx, org, new.unit_id, new.owner_id).await?;
        let (abs, pct) = match tolerance {
            Tolerance::Absolute(a) => (Some(a), None),
            Tolerance::Percent(p) => (None, Some(p)),
        };
        let at = now();
        let m = kpi::ActiveModel {
            organization_id: Set(org.0),
            id: Set(id.0),
            unit_id: Set(new.unit_id.0),
            owner_id: Set(new.owner_id.0),
            name: Set(name.into_inner()),
            description: Set(description.map(Description::into_inner)),
            category: Set(new.category.as_str().to_owned()),
            unit_label: Set(label),
            direction: Set(new.direction.as_str().to_owned()),
            target: Set(target),
            healthy_lower: Set(range.lower),
            healthy_upper: Set(range.upper),
            tolerance_absolute: Set(abs),
            tolerance_percent: Set(pct),
            cadence: Set(new.cadence.as_str().to_owned()),
            archived: Set(false),
            external_id: Set(external),
            promoted_from_key_result_id: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        tx.audit(actor, AuditRecord::new("createKpi", "Kpi", m.id).created(&m));
        tx.commit().await?;
        convert::kpi(m)
    }

    pub async fn update_kpi(&self, actor: &Actor, id: KpiId, patch: KpiPatch) -> StoreResult<Kpi> {
        let name = patch.name.as_deref().map(|n| Name::parse("name", n)).transpose()?;
        let description = match &patch.description {
            Some(d) => Some(Description::parse("description", d.as_deref())?),
            None => None,
        };
        let org = actor.organization_id;
        let tx = self.write().await?;
        let current = self.load_kpi_row(tx.conn(), org, &KpiRef::Id(id), true).await?;
        policy::authorize(actor, Action::Update, &kpi_resource(org, &current))?;
        check_version("KPI", current.version, patch.expected_version)?;
        let before = convert::kpi(current.clone())?;
        if let Some(owner) = patch.owner_id {
            self.check_kpi_owner(&tx, org, before.unit_id, owner).await?;
        }
        let range = match patch.range {
            Some((lower, upper)) => HealthyRange::parse(before.direction, lower, upper)?,
            None => before.range,
        };
        let tolerance = match patch.tolerance {
            Some((abs, pct)) => Tolerance::parse(abs, pct)?,
            None => before.tolerance,
        };
        let version = current.version;
        let before_row = current.clone();
        let mut active: kpi::ActiveModel = current.into();
        if let Some(n) = name {
            active.name = Set(n.into_inner());
        }
        if let Some(d) = description {
            active.description = Set(d.map(Description::into_inner));
        }
        if let Some(owner) = patch.owner_id {
            active.owner_id = Set(owner.0);
        }
        if let Some(l) = &patch.unit_label {
            active.unit_label = Set(unit_label(Some(l))?);
        }
        if let Some(t) = patch.target {
            active.target = Set(t.map(|t| goalgraph_domain::values::finite("target", t)).transpose()?);
        }
        active.healthy_lower = Set(range.lower);
        active.healthy_upper = Set(range.upper);
        let (abs, pct) = match tolerance {
            Tolerance::Absolute(a) => (Some(a), None),
            Tolerance::Percent(p) => (None, Some(p)),
        };
        active.tolerance_absolute = Set(abs);
        active.tolerance_percent = Set(pct);
        if let Some(c) = patch.cadence {
            active.cadence = Set(c.as_str().to_owned());
        }
        if let Some(a) = patch.archived {
            active.archived = Set(a);
        }
        if let Some(e) = &patch.external_id {
            active.external_id = Set(external_id("externalId", e.as_deref())?);
        }
        active.version = Set(version + 1);
        active.updated_at = Set(now());
        let m = active.update(tx.conn()).await?;
        tx.audit(actor, AuditRecord::new("updateKpi", "Kpi", m.id).changed(&before_row, &m));
        tx.commit().await?;
        convert::kpi(m)
    }

    /// Records points of one KPI: all or nothing (every bad point named by
    /// its index), written in chunks, followed by ONE recomputation of the
    /// key results that follow the KPI, in one transaction. A retry with the
    /// same idempotency key and input writes nothing.
    pub async fn record_measurements(
        &self,
        actor: &Actor,
        reference: KpiRef,
        points: &[(DateTime<Utc>, f64)],
        idempotency_key: Option<String>,
    ) -> StoreResult<Recorded> {
        self.record_measurements_as("recordKpiMeasurements", actor, reference, points, idempotency_key).await
    }

    /// [`Store::record_measurements`] for the mutation named `mutation`:
    /// idempotency keys are scoped to the tenant and the mutation.
    pub async fn record_measurements_as(
        &self,
        mutation: &'static str,
        actor: &Actor,
        reference: KpiRef,
        points: &[(DateTime<Utc>, f64)],
        idempotency_key: Option<String>,
    ) -> StoreResult<Recorded> {
        let mutation_name = mutation;
        let at = now();
        if points.is_empty() {
            return Err(DomainError::invalid("points", "give at least one point").into());
        }
        let mut bad = Vec::new();
        let mut checked = Vec::with_capacity(points.len());
        for (i, (observed_at, value)) in points.iter().enumerate() {
            // Both databases keep microseconds: store what reads back.
            let observed_at = chrono::SubsecRound::trunc_subsecs(*observed_at, 6);
            match check_point(*value, observed_at, at) {
                Ok(p) => checked.push(p),
                Err(DomainError::Invalid { field, message }) => bad.push((i, field, message)),
                Err(other) => return Err(other.into()),
            }
        }
        if let Some((first, field, message)) = bad.first() {
            let listed: Vec<String> =
                bad.iter().take(20).map(|(i, f, m)| format!("points[{i}].{f}: {m}")).collect();
            let more = if bad.len() > 20 { format!(" (and {} more)", bad.len() - 20) } else { String::new() };
            return Err(DomainError::invalid(
                format!("points[{first}].{field}"),
                format!("{message}; {} bad point(s): {}{more}", bad.len(), listed.join("; ")),
            )
            .into());
        }
        let key = match idempotency_key.as_deref().map(str::trim) {
            Some(k) if k.is_empty() || k.len() > 200 => {
                return Err(DomainError::invalid("idempotencyKey", "must be 1-200 characters").into());
            }
            Some(k) => Some(k.to_owned()),
            None => None,
        };
        let org = actor.organization_id;
        let tx = self.write().await?;
        let m = self.load_kpi_row(tx.conn(), org, &reference, true).await?;
        policy::authorize(actor, Action::RecordMeasurement, &kpi_resource(org, &m))?;
        let hash = request_hash(&serde_json::json!({
            "kpiId": m.id,
            "points": checked.iter().map(|p| (p.observed_at.timestamp_micros(), p.value)).collect::<Vec<_>>(),
        }));
        if let Some(key) = &key {
            let response = serde_json::json!({ "kpiId": m.id, "written": checked.len() });
            if !self.idempotency_claim_or_replay(&tx, org, mutation_name, key, &hash, &response).await? {
                drop(tx);
                let kpi =
                    convert::kpi(self.load_kpi_row(&self.db, org, &KpiRef::Id(KpiId(m.id)), false).await?)?;
                return Ok(Recorded { kpi, written: 0, replayed: true });
            }
        }
        if m.archived {
            return Err(DomainError::invalid("kpiId", "the KPI is archived").into());
        }
        let before = self.latest_point(tx.conn(), org, KpiId(m.id), None).await?;
        let author = actor.person_id().map(|p| p.0);
        for chunk in checked.chunks(CHUNK) {
            kpi_measurement::Entity::insert_many(chunk.iter().map(|p| kpi_measurement::ActiveModel {
                organization_id: Set(org.0),
                id: Set(MeasurementId::new().0),
                kpi_id: Set(m.id),
                observed_at: Set(p.observed_at),
                value: Set(p.value),
                recorded_at: Set(at),
                author_id: Set(author),
            }))
            .exec_without_returning(tx.conn())
            .await?;
        }
        self.refresh_linked_key_results(&tx, org, KpiId(m.id), None).await?;
        let after = self.latest_point(tx.conn(), org, KpiId(m.id), None).await?;
        // One event for the whole call, however many points it carried.
        tx.audit(
            actor,
            AuditRecord::new(mutation_name, "Kpi", m.id)
                .before_field("latest", before)
                .after_field("written", checked.len())
                .after_field("firstObservedAt", checked.iter().map(|p| p.observed_at).min())
                .after_field("lastObservedAt", checked.iter().map(|p| p.observed_at).max())
                .after_field("latest", after),
        );
        let kpi = convert::kpi(m)?;
        self.emit_kpi(&tx, &kpi, before, after, checked.len() as u64).await?;
        tx.commit().await?;
        Ok(Recorded { kpi, written: checked.len() as u64, replayed: false })
    }

    /// Each key result linked to `kpi` (or only `only`) takes the KPI's latest measurement by
    /// observed time within the key result's period as its current value,
    /// and its rollups follow. Key results of closed periods or finished
    /// objectives stay frozen.
    pub(crate) async fn refresh_linked_key_results(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        kpi_id: KpiId,
        only: Option<Uuid>,
    ) -> StoreResult<()> {
        let mut links = key_result_kpi_link::Entity::find()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(org.0))
            .filter(key_result_kpi_link::Column::KpiId.eq(kpi_id.0));
        if let Some(kr) = only {
            links = links.filter(key_result_kpi_link::Column::KeyResultId.eq(kr));
        }
        let links = links.all(tx.conn()).await?;
        if links.is_empty() {
            return Ok(());
        }
        let settings = self.settings_of(tx, org).await?;
        for link in links {
            let Some(kr) = key_result::Entity::find_by_id((org.0, link.key_result_id))
                .lock_exclusive()
                .one(tx.conn())
                .await?
            else {
                continue;
            };
            let Some(o) = objective::Entity::find_by_id((org.0, kr.objective_id)).one(tx.conn()).await?
            else {
                continue;
            };
            let open = o.status.parse::<ObjectiveStatus>().map(ObjectiveStatus::is_open).unwrap_or(false);
            let Some(p) = period::Entity::find_by_id((org.0, o.period_id)).one(tx.conn()).await? else {
                continue;
            };
            if !open || p.status == PeriodStatus::Closed.as_str() {
                continue;
            }
            let window = PeriodWindow::new(p.start_date, p.end_date, settings.time_zone.tz());
            let latest = self.latest_point(tx.conn(), org, kpi_id, Some((window.start, window.end))).await?;
            let measure = kr
                .measure
                .parse()
                .map_err(|_| StoreError::corrupt(format!("measure of key result {}", kr.id)))?;
            let (current, observed) = match &latest {
                Some(l) => (l.value, Some(l.observed_at)),
                None => (kr.start_value, None),
            };
            let progress = key_result_progress(measure, kr.start_value, kr.target_value, current);
            let objective_id = kr.objective_id;
            let mut active: key_result::ActiveModel = kr.into();
            active.current_value = Set(current);
            active.progress = Set(progress);
            active.last_check_in_at = Set(observed);
            let updated = active.update(tx.conn()).await?;
            self.recompute_up(tx, org, ObjectiveId(objective_id)).await?;
            self.emit_key_result(tx, org, &updated, &o, None, Some(&p)).await?;
        }
        Ok(())
    }

    /// The effective latest point of a KPI (newest observed; of equal
    /// observed times the newest correction), optionally within `[from, to)`.
    async fn latest_point<C: sea_orm::ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        kpi_id: KpiId,
        within: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> StoreResult<Option<Point>> {
        let mut q = kpi_measurement::Entity::find()
            .filter(kpi_measurement::Column::OrganizationId.eq(org.0))
            .filter(kpi_measurement::Column::KpiId.eq(kpi_id.0));
        if let Some((from, to)) = within {
            q = q
                .filter(kpi_measurement::Column::ObservedAt.gte(from))
                .filter(kpi_measurement::Column::ObservedAt.lt(to));
        }
        let m = q
            .order_by_desc(kpi_measurement::Column::ObservedAt)
            .order_by_desc(kpi_measurement::Column::RecordedAt)
            .order_by_desc(kpi_measurement::Column::Id)
            .one(conn)
            .await?;
        Ok(m.map(|m| Point { observed_at: m.observed_at, value: m.value }))
    }

    async fn settings_of(&self, tx: &WriteTx, org: OrganizationId) -> StoreResult<OrganizationSettings> {
        let o = organization::Entity::find_by_id(org.0)
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("organization"))?;
        Ok(convert::organization(o)?.settings)
    }

    /// Measurements of each KPI, newest observed first (at equal observed
    /// times, newest recorded first), for many KPIs in one statement.
    pub async fn measurement_pages(
        &self,
        actor: &Actor,
        kpis: &[KpiId],
        args: &PageArgs,
    ) -> StoreResult<HashMap<KpiId, Page<Measurement>>> {
        let visible = self.kpis_by_ids(actor, kpis).await?;
        if visible.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = visible.keys().map(|k| k.0).collect();
        let select = kpi_measurement::Entity::find()
            .filter(kpi_measurement::Column::OrganizationId.eq(actor.organization_id.0))
            .filter(id_in(self.db_backend(), "kpi_measurements.kpi_id", &raw));
        let sort = SortSpec::<kpi_measurement::Entity> {
            column: kpi_measurement::Column::ObservedAt,
            id_column: kpi_measurement::Column::Id,
            direction: SortDirection::Desc,
            parse: page::parse_time,
            key_of: |m| CursorKey { key: m.observed_at.to_rfc3339(), id: m.id },
        };
        let pages = page::fetch_grouped_pages(
            &self.db,
            select,
            &raw,
            kpi_measurement::Column::KpiId,
            |m| m.kpi_id,
            sort,
            args,
        )
        .await?;
        Ok(pages.into_iter().map(|(k, p)| (KpiId(k), p.map(convert::measurement))).collect())
    }

    /// How many measurements each KPI has (corrections included).
    pub async fn measurement_counts(
        &self,
        actor: &Actor,
        kpis: &[KpiId],
    ) -> StoreResult<HashMap<KpiId, u64>> {
        let visible = self.kpis_by_ids(actor, kpis).await?;
        if visible.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = visible.keys().map(|k| k.0).collect();
        let select = kpi_measurement::Entity::find()
            .filter(kpi_measurement::Column::OrganizationId.eq(actor.organization_id.0))
            .filter(id_in(self.db_backend(), "kpi_measurements.kpi_id", &raw));
        Ok(page::count_grouped(&self.db, select, kpi_measurement::Column::KpiId)
            .await?
            .into_iter()
            .map(|(k, n)| (KpiId(k), n))
            .collect())
    }

    /// The effective points of a KPI in [from, to): for each observed time
    /// the latest correction, oldest first. Callers check visibility.
    pub async fn kpi_points(
        &self,
        org: OrganizationId,
        kpi_id: KpiId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        newest: Option<u64>,
    ) -> StoreResult<Vec<Point>> {
        // The effective points first (the latest correction of each observed
        // time), then the limit: re-pushed values never crowd out points.
        let mut values: Vec<sea_orm::Value> = vec![org.0.into(), kpi_id.0.into()];
        let mut range = String::new();
        if let Some(f) = from {
            values.push(f.into());
            range.push_str(&format!(" AND observed_at >= ${}", values.len()));
        }
        if let Some(t) = to {
            values.push(t.into());
            range.push_str(&format!(" AND observed_at < ${}", values.len()));
        }
        let limit = newest.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        let sql = format!(
            "SELECT observed_at, value FROM ( \
               SELECT observed_at, value, \
                 ROW_NUMBER() OVER (PARTITION BY observed_at ORDER BY recorded_at DESC, id DESC) AS correction \
               FROM kpi_measurements WHERE organization_id = $1 AND kpi_id = $2{range} \
             ) e WHERE correction = 1 ORDER BY observed_at DESC{limit}"
        );
        let rows = self.db.query_all_raw(stmt(self.db_backend(), &sql, values)).await?;
        let mut points = Vec::with_capacity(rows.len());
        for r in rows {
            points.push(Point { observed_at: r.try_get("", "observed_at")?, value: r.try_get("", "value")? });
        }
        points.reverse();
        Ok(points)
    }

    /// The latest effective point and `breachedSince` of many KPIs, in two
    /// statements computed by the database (window functions over the
    /// measurements; no points are loaded).
    pub async fn kpi_states(&self, actor: &Actor, kpis: &[KpiId]) -> StoreResult<HashMap<KpiId, KpiState>> {
        let visible = self.kpis_by_ids(actor, kpis).await?;
        if visible.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.db_backend();
        let raw: Vec<Uuid> = visible.keys().map(|k| k.0).collect();
        let org = actor.organization_id;
        let effective = effective_points_sql(backend, "");
        let latest_sql = format!("SELECT kpi_id, observed_at, value FROM ({effective}) e WHERE e.newest = 1");
        let latest_rows = self
            .db
            .query_all_raw(stmt(backend, &latest_sql, vec![org.0.into(), list_value(backend, &raw)]))
            .await?;
        let breach_sql = breach_sql(&effective);
        let breach_rows = self
            .db
            .query_all_raw(stmt(backend, &breach_sql, vec![org.0.into(), list_value(backend, &raw)]))
            .await?;
        let mut out: HashMap<KpiId, KpiState> =
            visible.keys().map(|k| (*k, KpiState { latest: None, breached_since: None })).collect();
        for row in latest_rows {
            let id: Uuid = row.try_get("", "kpi_id")?;
            let observed_at: DateTime<Utc> = row.try_get("", "observed_at")?;
            let value: f64 = row.try_get("", "value")?;
            if let Some(s) = out.get_mut(&KpiId(id)) {
                s.latest = Some(Point { observed_at, value });
            }
        }
        for row in breach_rows {
            let id: Uuid = row.try_get("", "kpi_id")?;
            let since: DateTime<Utc> = row.try_get("", "since")?;
            if let Some(s) = out.get_mut(&KpiId(id)) {
                s.breached_since = Some(since);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// `breachedSince` of KPIs as it stood just before `before` (only
    /// points observed earlier count); KPIs inside their range then, or
    /// without points, are absent. One statement. Callers check visibility.
    pub async fn breached_since_before(
        &self,
        org: OrganizationId,
        kpis: &[KpiId],
        before: DateTime<Utc>,
    ) -> StoreResult<HashMap<KpiId, DateTime<Utc>>> {
        if kpis.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.db_backend();
        let raw: Vec<Uuid> = kpis.iter().map(|k| k.0).collect();
        let sql = breach_sql(&effective_points_sql(backend, " AND m.observed_at < $3"));
        let rows = self
            .db
            .query_all_raw(stmt(backend, &sql, vec![org.0.into(), list_value(backend, &raw), before.into()]))
            .await?;
        let mut out = HashMap::new();
        for row in rows {
            let id: Uuid = row.try_get("", "kpi_id")?;
            out.insert(KpiId(id), row.try_get("", "since")?);
        }
        Ok(out)
    }
}
