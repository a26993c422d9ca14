//! The report builder, computed by the database in one statement: a GROUP
//! BY per family of facts (OKR, KPI) over the rows the actor may see, the
//! two merged on their dimension values; the totals are the sums of the
//! rows (the groups partition the facts, and every measure is derived from
//! additive sums). Rows are read one at a time, never all at once.
//!
//! The numbers are those of the product brief, written in SQL: an
//! objective's health is the worst health among the key results it reaches
//! through its driver (its own key results when the driver includes them,
//! its not-cancelled aligned children's when it includes those, and so on
//! down), which is the same as "the worst of its inputs" applied bottom-up;
//! a KPI's status is read from its latest effective point (the latest
//! correction of each observed time).

use crate::entity::period;
use crate::error::{StoreError, StoreResult};
use crate::sql::{in_list, list_value, stmt};
use crate::store::Store;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use goalgraph_domain::formulas::{Health, PeriodWindow};
use goalgraph_domain::kpi::{Cadence, KpiCategory, KpiStatus};
use goalgraph_domain::okr::{ObjectiveKind, ObjectiveStatus};
use goalgraph_domain::policy::{self, Actor, GoalReadScope, KpiReadScope, Resource};
use goalgraph_domain::report::{
    DimensionValue, Family, KpiSums, ObjectiveLevel, OkrSums, Report, ReportDimension, ReportMeasure,
    ReportRow, ReportSpec, measure_value,
};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{DomainError, PeriodId, PersonId, UnitId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryResult, Statement, StreamTrait,
    TransactionTrait, Value,
};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A statement's text and values, numbered as they are bound.
struct Sql {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Self {
        Self { backend, values: Vec::new() }
    }

    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }

    /// `column IN (ids)`, the ids bound as one value.
    fn ids(&mut self, column: &str, ids: &[Uuid]) -> String {
        self.values.push(list_value(self.backend, ids));
        in_list(self.backend, column, self.values.len())
    }

    /// `column IN ('A', 'B')` for fixed words (enum texts, never input).
    fn words(column: &str, words: &[&'static str]) -> String {
        let list: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        format!("{column} IN ({})", list.join(", "))
    }

    /// Seconds since the epoch of a timestamp column, as a float.
    fn epoch(&self, column: &str) -> String {
        match self.backend {
            DbBackend::Postgres => format!("CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)"),
            _ => format!("((julianday({column}) - 2440587.5) * 86400.0)"),
        }
    }
}

/// The goal read scope on the `objectives` row `o`.
fn goal_scope(q: &mut Sql, scope: &GoalReadScope) -> String {
    match scope {
        GoalReadScope::All => "1 = 1".into(),
        GoalReadScope::Nothing => "1 = 0".into(),
        GoalReadScope::Some { public, owner, any_visibility_units, unit_visibility_units } => {
            let mut any = Vec::new();
            if *public {
                any.push("o.visibility = 'PUBLIC'".to_owned());
            }
            if let Some(owner) = owner {
                any.push(format!("o.owner_person_id = {}", q.bind(owner.0)));
            }
            if !any_visibility_units.is_empty() {
                let ids: Vec<Uuid> = any_visibility_units.iter().map(|u| u.0).collect();
                any.push(q.ids("o.owner_unit_id", &ids));
            }
            if !unit_visibility_units.is_empty() {
                let ids: Vec<Uuid> = unit_visibility_units.iter().map(|u| u.0).collect();
                any.push(format!("(o.visibility = 'UNIT' AND {})", q.ids("o.owner_unit_id", &ids)));
            }
            if any.is_empty() { "1 = 0".into() } else { format!("({})", any.join(" OR ")) }
        }
    }
}

/// The KPI read scope on the `kpis` row `k`.
fn kpi_scope(q: &mut Sql, scope: &KpiReadScope) -> String {
    match scope {
        KpiReadScope::All => "1 = 1".into(),
        KpiReadScope::Nothing => "1 = 0".into(),
        KpiReadScope::Only(ids) => {
            let ids: Vec<Uuid> = ids.iter().map(|k| k.0).collect();
            q.ids("k.id", &ids)
        }
        KpiReadScope::Some { sensitive_units } => {
            let people = KpiCategory::People.as_str();
            if sensitive_units.is_empty() {
                format!("k.category <> '{people}'")
            } else {
                let ids: Vec<Uuid> = sensitive_units.iter().map(|u| u.0).collect();
                format!("(k.category <> '{people}' OR {})", q.ids("k.unit_id", &ids))
            }
        }
    }
}

/// `fold(id, bucket, depth)`: every unit of the anchor's subtree with the
/// anchor's child it sits under (the anchor itself for the anchor).
fn fold_cte(q: &mut Sql, org: &str, anchor: Option<UnitId>) -> String {
    let base = match anchor {
        Some(u) => format!("id = {}", q.bind(u.0)),
        None => "parent_id IS NULL".into(),
    };
    format!(
        "fold(id, bucket, depth) AS ( \
           SELECT id, id, 0 FROM units WHERE organization_id = {org} AND {base} \
           UNION ALL \
           SELECT u.id, CASE WHEN f.depth = 0 THEN u.id ELSE f.bucket END, f.depth + 1 \
           FROM units u JOIN fold f ON u.parent_id = f.id WHERE u.organization_id = {org} AND f.depth < 1000)"
    )
}

/// `kv`, `lv`, `kc` and `kp`: every key result of the tenant with its value
/// as of `at` (the latest check-in made by then; a linked key result: its
/// KPI's latest point observed in its period and by then, among the points
/// recorded by then; else its start) and the progress of that value, with
/// the columns of `key_results` the report reads. Needs `pw` with `end_at`.
fn history_ctes(org: &str, at: &str) -> Vec<String> {
    let progress = "CASE \
        WHEN measure IN ('INCREASE', 'DECREASE') AND target_value = start_value THEN \
          CASE WHEN (measure = 'INCREASE' AND cur >= target_value) OR (measure = 'DECREASE' AND cur <= target_value) \
          THEN 1.0 ELSE 0.0 END \
        WHEN measure IN ('INCREASE', 'DECREASE') THEN \
          CASE WHEN (cur - start_value) / (target_value - start_value) < 0 THEN 0.0 \
               WHEN (cur - start_value) / (target_value - start_value) > 1 THEN 1.0 \
               ELSE (cur - start_value) / (target_value - start_value) END \
        WHEN measure = 'MAINTAIN_ABOVE' THEN CASE WHEN cur >= target_value THEN 1.0 ELSE 0.0 END \
        WHEN measure = 'MAINTAIN_BELOW' THEN CASE WHEN cur <= target_value THEN 1.0 ELSE 0.0 END \
        ELSE CASE WHEN cur >= 1 THEN 1.0 ELSE 0.0 END END";
    vec![
        format!(
            "kv AS (SELECT key_result_id, value, confidence, created_at FROM ( \
               SELECT c.key_result_id, c.value, c.confidence, c.created_at, \
                 ROW_NUMBER() OVER (PARTITION BY c.key_result_id ORDER BY c.created_at DESC, c.id DESC) AS newest \
               FROM check_ins c WHERE c.organization_id = {org} AND c.created_at <= {at}) x WHERE newest = 1)"
        ),
        format!(
            "lv AS (SELECT key_result_id, value FROM ( \
               SELECT l.key_result_id, m.value, ROW_NUMBER() OVER (PARTITION BY l.key_result_id \
                 ORDER BY m.observed_at DESC, m.recorded_at DESC, m.id DESC) AS newest \
               FROM key_result_kpi_links l \
               JOIN key_results lk ON lk.organization_id = l.organization_id AND lk.id = l.key_result_id \
               JOIN objectives lo ON lo.organization_id = lk.organization_id AND lo.id = lk.objective_id \
               JOIN pw lw ON lw.pid = lo.period_id \
               JOIN kpi_measurements m ON m.organization_id = l.organization_id AND m.kpi_id = l.kpi_id \
               WHERE l.organization_id = {org} AND m.recorded_at <= {at} AND m.observed_at <= {at} \
                 AND m.observed_at >= lw.start_at AND m.observed_at < lw.end_at) y WHERE newest = 1)"
        ),
        format!(
            "kc AS (SELECT k.organization_id, k.id, k.objective_id, k.measure, k.weight, k.start_value, \
               k.target_value, k.created_at, \
               CASE WHEN ln.key_result_id IS NOT NULL THEN COALESCE(lv.value, k.start_value) \
                    ELSE COALESCE(kv.value, k.start_value) END AS cur, \
               CASE WHEN ln.key_result_id IS NULL THEN kv.confidence END AS confidence, \
               CASE WHEN ln.key_result_id IS NULL THEN kv.created_at END AS last_check_in_at \
             FROM key_results k \
             LEFT JOIN key_result_kpi_links ln ON ln.organization_id = k.organization_id AND ln.key_result_id = k.id \
             LEFT JOIN kv ON kv.key_result_id = k.id LEFT JOIN lv ON lv.key_result_id = k.id \
             WHERE k.organization_id = {org})"
        ),
        format!("kp AS (SELECT kc.*, {progress} AS progress FROM kc)"),
    ]
}

/// The health severity of key result `k` (0 ON_TRACK, 1 AT_RISK, 2
/// OFF_TRACK) in its period's window `pw`, as `key_result_health`.
fn severity_sql(s: &OrganizationSettings) -> String {
    let expected = "CASE WHEN k.measure IN ('INCREASE', 'DECREASE') THEN pw.elapsed \
                    WHEN k.measure = 'MILESTONE' THEN pw.ended ELSE 1.0 END";
    let by_progress = format!(
        "CASE WHEN k.measure = 'MILESTONE' AND pw.ended = 0 THEN 0 \
              WHEN k.measure = 'MILESTONE' THEN CASE WHEN k.progress >= 1.0 THEN 0 ELSE 2 END \
              WHEN ({expected}) - k.progress <= {on} THEN 0 \
              WHEN ({expected}) - k.progress <= {risk} THEN 1 ELSE 2 END",
        on = s.on_track_max_gap + 1e-9,
        risk = s.at_risk_max_gap + 1e-9,
    );
    format!(
        "CASE WHEN k.confidence IS NOT NULL AND k.confidence < {off} THEN 2 \
              WHEN k.confidence IS NOT NULL AND k.confidence < {low} AND ({by_progress}) < 1 THEN 1 \
              ELSE ({by_progress}) END",
        off = s.confidence_off_track_below,
        low = s.confidence_at_risk_below,
    )
}

fn health_of(sev: i64) -> StoreResult<Health> {
    match sev {
        0 => Ok(Health::OnTrack),
        1 => Ok(Health::AtRisk),
        2 => Ok(Health::OffTrack),
        _ => Err(StoreError::corrupt(format!("health severity {sev}"))),
    }
}

fn u64_of(row: &QueryResult, column: &str) -> StoreResult<u64> {
    let v: Option<i64> = row.try_get("", column)?;
    Ok(v.unwrap_or(0).max(0) as u64)
}

fn f64_of(row: &QueryResult, column: &str) -> StoreResult<f64> {
    let v: Option<f64> = row.try_get("", column)?;
    Ok(v.unwrap_or(0.0))
}

fn word<T: std::str::FromStr>(row: &QueryResult, column: &str) -> StoreResult<Option<T>> {
    let v: Option<String> = row.try_get("", column)?;
    v.map(|s| s.parse().map_err(|_| StoreError::corrupt(format!("{column} {s}")))).transpose()
}

fn id_of(row: &QueryResult, column: &str) -> StoreResult<Option<Uuid>> {
    Ok(row.try_get("", column)?)
}

/// The value of dimension column `d{i}` of a result row.
fn dimension_value(row: &QueryResult, i: usize, d: ReportDimension) -> StoreResult<DimensionValue> {
    let c = format!("d{i}");
    let v = match d {
        ReportDimension::Period => id_of(row, &c)?.map(|u| DimensionValue::Period(PeriodId(u))),
        ReportDimension::Unit => id_of(row, &c)?.map(|u| DimensionValue::Unit(UnitId(u))),
        ReportDimension::Owner => id_of(row, &c)?.map(|u| DimensionValue::Person(PersonId(u))),
        ReportDimension::Level => word::<ObjectiveLevel>(row, &c)?.map(DimensionValue::Level),
        ReportDimension::Status => word::<ObjectiveStatus>(row, &c)?.map(DimensionValue::Status),
        ReportDimension::Kind => word::<ObjectiveKind>(row, &c)?.map(DimensionValue::Kind),
        ReportDimension::KpiCategory => word::<KpiCategory>(row, &c)?.map(DimensionValue::Category),
        ReportDimension::KpiStatus => word::<KpiStatus>(row, &c)?.map(DimensionValue::KpiStatus),
        ReportDimension::Health => {
            let sev: Option<i64> = row.try_get("", &c)?;
            sev.map(health_of).transpose()?.map(DimensionValue::Health)
        }
    };
    Ok(v.unwrap_or(DimensionValue::Absent))
}

/// The dimension values `d0`, `d1` … of a result row.
fn dimension_values(row: &QueryResult, dimensions: &[ReportDimension]) -> StoreResult<Vec<DimensionValue>> {
    dimensions.iter().enumerate().map(|(i, d)| dimension_value(row, i, *d)).collect()
}

/// The `d0, d1 …` select list and the GROUP BY clause of dimension
/// expressions (empty without dimensions: one row of totals).
fn grouping(exprs: &[&str]) -> (String, String) {
    let select = exprs.iter().enumerate().map(|(i, e)| format!("{e} AS d{i}, ")).collect();
    let group = if exprs.is_empty() { String::new() } else { format!(" GROUP BY {}", exprs.join(", ")) };
    (select, group)
}

/// The columns of the OKR family's sums, and of the KPI family's.
const OKR_INTS: [&str; 9] =
    ["objectives", "scored", "with_health", "on_track", "at_risk", "off_track", "krs", "stale", "check_ins"];
const OKR_FLOATS: [&str; 2] = ["progress_sum", "score_sum"];
const KPI_INTS: [&str; 5] = ["kpis", "healthy", "kpi_at_risk", "breached", "out_of_range"];
const KPI_FLOATS: [&str; 1] = ["since_sum"];

/// `name` for each column, or a typed NULL under its name (the other
/// family's columns in a union).
fn columns(ints: &[&str], floats: &[&str], present: bool) -> Vec<String> {
    let int = |c: &&str| if present { (*c).to_owned() } else { format!("CAST(NULL AS BIGINT) AS {c}") };
    let float =
        |c: &&str| if present { (*c).to_owned() } else { format!("CAST(NULL AS DOUBLE PRECISION) AS {c}") };
    ints.iter().map(int).chain(floats.iter().map(float)).collect()
}

/// A NULL of a dimension's column type (PostgreSQL does not unite an
/// untyped NULL with a uuid).
fn typed_null(d: ReportDimension) -> &'static str {
    match d {
        ReportDimension::Period | ReportDimension::Unit | ReportDimension::Owner => "CAST(NULL AS UUID)",
        ReportDimension::Health => "CAST(NULL AS BIGINT)",
        _ => "CAST(NULL AS TEXT)",
    }
}

/// The instant a report's numbers hold at, and whether its values are
/// replayed to it (history) or read as stored (now).
#[derive(Debug, Clone, Copy)]
struct When {
    at: DateTime<Utc>,
    history: bool,
}

/// A report's single statement, checked and built, not yet run: the groups
/// of both families merged on their dimension values, with the names of
/// the periods, units and people they name, in order. See
/// [`Store::prepare_report`].
pub struct ReportQuery {
    statement: Statement,
    shape: Arc<Shape>,
}

/// What a row of the statement holds, to read it.
struct Shape {
    dimensions: Vec<ReportDimension>,
    measures: Vec<ReportMeasure>,
    okr: bool,
    kpi: bool,
    now_epoch: f64,
}

/// One row of a report with the name of each period, unit or person it
/// names (none for other dimensions, or where the actor may not read it).
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledRow {
    pub row: ReportRow,
    pub labels: Vec<Option<String>>,
}

/// Rows the reading task may run ahead of the reader.
const ROWS_AHEAD: usize = 256;

/// A report's rows as the database sends them, one at a time, with the
/// totals summed as they pass ([`Self::totals`] once the last is read).
/// A task reads the statement in a transaction of its own, at most
/// 256 rows ahead: memory does not grow with the number of rows.
/// Dropping this stops the task and the statement.
pub struct ReportRows {
    rx: tokio::sync::mpsc::Receiver<StoreResult<(LabeledRow, OkrSums, KpiSums)>>,
    shape: Arc<Shape>,
    okr_total: OkrSums,
    kpi_total: KpiSums,
}

impl Shape {
    fn values(&self, o: &OkrSums, k: &KpiSums) -> Vec<Option<f64>> {
        self.measures.iter().map(|m| measure_value(*m, o, k)).collect()
    }

    fn read(&self, row: &QueryResult) -> StoreResult<(LabeledRow, OkrSums, KpiSums)> {
        let okr = if self.okr {
            OkrSums {
                objectives: u64_of(row, "objectives")?,
                progress_sum: f64_of(row, "progress_sum")?,
                scored: u64_of(row, "scored")?,
                score_sum: f64_of(row, "score_sum")?,
                with_health: u64_of(row, "with_health")?,
                on_track: u64_of(row, "on_track")?,
                at_risk: u64_of(row, "at_risk")?,
                off_track: u64_of(row, "off_track")?,
                key_results: u64_of(row, "krs")?,
                stale_key_results: u64_of(row, "stale")?,
                check_ins: u64_of(row, "check_ins")?,
            }
        } else {
            OkrSums::default()
        };
        let kpi = if self.kpi {
            let out_of_range = u64_of(row, "out_of_range")?;
            KpiSums {
                kpis: u64_of(row, "kpis")?,
                healthy: u64_of(row, "healthy")?,
                at_risk: u64_of(row, "kpi_at_risk")?,
                breached: u64_of(row, "breached")?,
                out_of_range,
                days_out_sum: (self.now_epoch * out_of_range as f64 - f64_of(row, "since_sum")?) / 86_400.0,
            }
        } else {
            KpiSums::default()
        };
        let labels = (0..self.dimensions.len())
            .map(|i| row.try_get::<Option<String>>("", &format!("n{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        let row = ReportRow {
            dimensions: dimension_values(row, &self.dimensions)?,
            values: self.values(&okr, &kpi),
        };
        Ok((LabeledRow { row, labels }, okr, kpi))
    }
}

impl ReportQuery {
    /// Runs the statement; rows come as they are read. On PostgreSQL
    /// `limit` replaces the pool's `statement_timeout` for it (an export
    /// of a whole organization takes longer than a request).
    pub async fn rows(self, store: &Store, limit: Option<Duration>) -> StoreResult<ReportRows> {
        let (tx, rx) = tokio::sync::mpsc::channel(ROWS_AHEAD);
        let (db, shape, statement) = (store.db.clone(), self.shape.clone(), self.statement);
        let postgres = store.db_backend() == DbBackend::Postgres;
        tokio::spawn(async move {
            let read = async {
                let txn = db.begin().await?;
                if let (true, Some(limit)) = (postgres, limit) {
                    let millis = limit.as_millis().max(1);
                    txn.execute_unprepared(&format!("SET LOCAL statement_timeout = {millis}")).await?;
                }
                let mut stream = txn.stream_raw(statement).await?;
                loop {
                    let next = tokio::select! {
                        next = stream.next() => next,
                        // The reader is gone: stop the statement.
                        () = tx.closed() => break,
                    };
                    let Some(row) = next else { break };
                    let read = row.map_err(StoreError::from).and_then(|r| shape.read(&r));
                    if tx.send(read).await.is_err() {
                        break;
                    }
                }
                drop(stream);
                // It only read.
                txn.rollback().await?;
                Ok::<_, StoreError>(())
            };
            if let Err(e) = read.await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(ReportRows { rx, shape: self.shape, okr_total: OkrSums::default(), kpi_total: KpiSums::default() })
    }
}

impl ReportRows {
    /// The next row, or none after the last.
    pub async fn next(&mut self) -> StoreResult<Option<LabeledRow>> {
        let Some(read) = self.rx.recv().await else { return Ok(None) };
        let (row, okr, kpi) = read?;
        self.okr_total += okr;
        self.kpi_total += kpi;
        Ok(Some(row))
    }

    /// The measures over all rows read so far: the report's totals once
    /// [`Self::next`] has answered none.
    pub fn totals(&self) -> Vec<Option<f64>> {
        self.shape.values(&self.okr_total, &self.kpi_total)
    }

    /// Reads the remaining rows and the totals.
    pub async fn collect(mut self) -> StoreResult<(Vec<LabeledRow>, Vec<Option<f64>>)> {
        let mut rows = Vec::new();
        while let Some(r) = self.next().await? {
            rows.push(r);
        }
        Ok((rows, self.totals()))
    }
}

impl Store {
    /// Runs a report for the actor at `now`, with the numbers that held at
    /// `as_of` when given (see [`Self::prepare_report`]), all rows read.
    pub async fn report_at(
        &self,
        actor: &Actor,
        spec: &ReportSpec,
        settings: &OrganizationSettings,
        now: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
    ) -> StoreResult<Report> {
        let query = self.prepare_report(actor, spec, settings, now, as_of).await?;
        let (rows, totals) = query.rows(self, None).await?.collect().await?;
        Ok(Report { rows: rows.into_iter().map(|r| r.row).collect(), totals })
    }

    /// Checks a report definition for the actor and builds its statement:
    /// each family's GROUP BY over the facts the actor may see, the two
    /// merged on their dimension values (a report that groups by unit or
    /// owner only may mix them), the names joined, ordered by each
    /// dimension (by name, by period start, by severity of health, by
    /// word). Nothing is loaded but the tenant's periods.
    ///
    /// With `as_of` (not after `now`), the numbers are those that held
    /// then: key results' values replayed from the check-ins and KPI
    /// points known by then, objective progress recomputed from them,
    /// check-ins and measurements counted up to then, scores of periods
    /// ended by then. Structure (objectives, their owners, status,
    /// alignment, drivers, weights, targets; KPIs and their ranges) is
    /// today's.
    pub async fn prepare_report(
        &self,
        actor: &Actor,
        spec: &ReportSpec,
        settings: &OrganizationSettings,
        now: DateTime<Utc>,
        as_of: Option<DateTime<Utc>>,
    ) -> StoreResult<ReportQuery> {
        spec.validate()?;
        if as_of.is_some_and(|t| t > now) {
            return Err(DomainError::invalid("asOf", "must not be in the future").into());
        }
        let when = When { at: as_of.unwrap_or(now), history: as_of.is_some() };
        let org_id = actor.organization_id;
        if let Some(u) = spec.filter.unit_id {
            // An unknown unit is NOT_FOUND, not an empty report.
            self.unit(actor, u).await.map_err(|e| match e {
                StoreError::Domain(DomainError::NotFound { .. }) => {
                    DomainError::invalid("filter.unitId", "no such unit").into()
                }
                other => other,
            })?;
        }
        let families = spec.families();
        let (okr, kpi) = (families.contains(&Family::Okr), families.contains(&Family::Kpi));
        let dimensions = &spec.dimensions;
        let mut q = Sql::new(self.db_backend());
        let org = q.bind(org_id.0);
        let mut ctes = Vec::new();
        if spec.roll_up || spec.filter.unit_id.is_some() {
            ctes.push(fold_cte(&mut q, &org, spec.filter.unit_id));
        }
        let dims: Vec<String> = (0..dimensions.len()).map(|i| format!("d{i}")).collect();
        let mut groups = Vec::new();
        if okr {
            let periods = period::Entity::find()
                .filter(period::Column::OrganizationId.eq(org_id.0))
                .all(&self.db)
                .await?;
            for p in &spec.filter.period_ids {
                if !periods.iter().any(|x| x.id == p.0) {
                    return Err(DomainError::invalid("filter.periodIds", "no such period").into());
                }
            }
            let windows: Vec<(Uuid, PeriodWindow)> = periods
                .iter()
                .map(|p| (p.id, PeriodWindow::new(p.start_date, p.end_date, settings.time_zone.tz())))
                .collect();
            let select = okr_select(&mut q, &mut ctes, &org, actor, spec, &windows, settings, when);
            ctes.push(format!("og AS ({select})"));
            groups.push("og");
        }
        if kpi {
            let select = kpi_select(&mut q, &mut ctes, &org, actor, spec, when);
            ctes.push(format!("kg AS ({select})"));
            groups.push("kg");
        }
        if let ["og", "kg"] = groups[..] {
            // Both families: one row per combination of dimension values
            // either has, the other's sums empty.
            let d: String = dims.iter().map(|d| format!("{d}, ")).collect();
            let both = |okr_present: bool| {
                let mut cols = columns(&OKR_INTS, &OKR_FLOATS, okr_present);
                cols.extend(columns(&KPI_INTS, &KPI_FLOATS, !okr_present));
                cols.join(", ")
            };
            let sums: Vec<String> = OKR_INTS
                .iter()
                .chain(&KPI_INTS)
                .map(|c| format!("CAST(SUM({c}) AS BIGINT) AS {c}"))
                .chain(OKR_FLOATS.iter().chain(&KPI_FLOATS).map(|c| format!("SUM({c}) AS {c}")))
                .collect();
            let group_by =
                if dims.is_empty() { String::new() } else { format!(" GROUP BY {}", dims.join(", ")) };
            ctes.push(format!(
                "g AS (SELECT {d}{} FROM (SELECT {d}{} FROM og UNION ALL SELECT {d}{} FROM kg) x{group_by})",
                sums.join(", "),
                both(true),
                both(false),
            ));
        } else {
            ctes.push(format!("g AS (SELECT * FROM {})", groups[0]));
        }
        // Names, where the actor may read them, and the order.
        let mut names = Vec::new();
        let mut joins = String::new();
        let mut order = Vec::new();
        for (i, d) in dimensions.iter().enumerate() {
            // The table holding the name, where the actor may read names.
            let named = match d {
                ReportDimension::Period => Some(("periods", Resource::Period { organization_id: org_id })),
                ReportDimension::Unit => {
                    Some(("units", Resource::Unit { organization_id: org_id, unit_id: None }))
                }
                ReportDimension::Owner => {
                    Some(("people", Resource::Person { organization_id: org_id, person_id: None }))
                }
                _ => None,
            };
            let table = named.filter(|(_, r)| policy::can_read(actor, r)).map(|(t, _)| t);
            match table {
                Some(table) => {
                    names.push(format!("t{i}.name AS n{i}"));
                    joins.push_str(&format!(
                        " LEFT JOIN {table} t{i} ON t{i}.organization_id = {org} AND t{i}.id = g.d{i}"
                    ));
                    order.push(if table == "periods" {
                        format!("t{i}.start_date")
                    } else {
                        format!("t{i}.name")
                    });
                }
                None => names.push(format!("CAST(NULL AS TEXT) AS n{i}")),
            }
            order.push(format!("g.d{i}"));
        }
        let names: String = names.iter().map(|n| format!(", {n}")).collect();
        let order = if order.is_empty() {
            String::new()
        } else {
            let keys: Vec<String> = order.iter().map(|o| format!("{o} NULLS FIRST")).collect();
            format!(" ORDER BY {}", keys.join(", "))
        };
        let sql = format!("WITH RECURSIVE {} SELECT g.*{names} FROM g{joins}{order}", ctes.join(", "));
        Ok(ReportQuery {
            statement: stmt(q.backend, &sql, q.values),
            shape: Arc::new(Shape {
                dimensions: dimensions.clone(),
                measures: spec.measures.clone(),
                okr,
                kpi,
                now_epoch: when.at.timestamp_millis() as f64 / 1000.0,
            }),
        })
    }
}

/// The OKR family's GROUP BY (columns `d0` … and [`OKR_INTS`],
/// [`OKR_FLOATS`]), its CTEs pushed to `ctes` (after `fold` when the
/// report folds units).
#[allow(clippy::too_many_arguments)]
fn okr_select(
    q: &mut Sql,
    ctes: &mut Vec<String>,
    org: &str,
    actor: &Actor,
    spec: &ReportSpec,
    windows: &[(Uuid, PeriodWindow)],
    settings: &OrganizationSettings,
    when: When,
) -> String {
    let dimensions = &spec.dimensions;
    let When { at: now, history } = when;
    if windows.is_empty() {
        // No period, no objective: no rows, or one row of nothing.
        let d: String =
            dimensions.iter().enumerate().map(|(i, d)| format!("{} AS d{i}, ", typed_null(*d))).collect();
        // Empty sums read as 0.
        let cols = columns(&OKR_INTS, &OKR_FLOATS, false).join(", ");
        let none = if dimensions.is_empty() { "" } else { " WHERE 1 = 0" };
        return format!("SELECT {d}{cols}{none}");
    }
    let pw_rows: Vec<String> = windows
        .iter()
        .map(|(id, w)| {
            format!(
                "({}, {}, {}, {}, {})",
                q.bind(*id),
                q.bind(w.elapsed(now)),
                q.bind(i32::from(w.has_ended(now))),
                q.bind(w.start),
                q.bind(w.end)
            )
        })
        .collect();
    ctes.push(format!("pw(pid, elapsed, ended, start_at, end_at) AS (VALUES {})", pw_rows.join(", ")));
    // The key results with their values: as stored, or as of `now`.
    let kr_table = if history {
        let at = q.bind(now);
        ctes.extend(history_ctes(org, &at));
        "kp"
    } else {
        "key_results"
    };
    let f = &spec.filter;
    let folded = spec.roll_up || f.unit_id.is_some();
    let mut wh = vec![format!("o.organization_id = {org}"), goal_scope(q, &policy::goal_read_scope(actor))];
    if !f.period_ids.is_empty() {
        let ids: Vec<Uuid> = f.period_ids.iter().map(|p| p.0).collect();
        wh.push(q.ids("o.period_id", &ids));
    }
    if let Some(p) = f.owner_person_id {
        wh.push(format!("o.owner_person_id = {}", q.bind(p.0)));
    }
    if !f.statuses.is_empty() {
        wh.push(Sql::words("o.status", &f.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    }
    if !f.kinds.is_empty() {
        wh.push(Sql::words("o.kind", &f.kinds.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
    }
    let level = "CASE WHEN o.owner_person_id IS NOT NULL THEN 'PERSON' \
                 WHEN u.kind = 'COMPANY' THEN 'COMPANY' ELSE 'UNIT' END";
    if !f.levels.is_empty() {
        let words: Vec<&'static str> = f.levels.iter().map(|l| l.as_str()).collect();
        wh.push(Sql::words(&format!("({level})"), &words));
    }
    let (fold_join, unit_col) = match (folded, spec.roll_up) {
        (false, _) => ("", "o.owner_unit_id"),
        (true, false) => (" JOIN fold fu ON fu.id = o.owner_unit_id", "o.owner_unit_id"),
        (true, true) => (" JOIN fold fu ON fu.id = o.owner_unit_id", "fu.bucket"),
    };
    // As of an instant, a score holds once its period has ended.
    let (score, score_join) = if history {
        ("CASE WHEN sp.ended = 1 THEN o.score END", " JOIN pw sp ON sp.pid = o.period_id")
    } else {
        ("o.score", "")
    };
    ctes.push(format!(
        "facts AS (SELECT o.id, o.period_id, {unit_col} AS unit_id, o.owner_person_id, o.status, o.kind, \
           o.progress, {score} AS score, {level} AS level \
         FROM objectives o JOIN units u ON u.organization_id = o.organization_id AND u.id = o.owner_unit_id\
         {fold_join}{score_join} WHERE {})",
        wh.join(" AND ")
    ));
    let wants_health = dimensions.contains(&ReportDimension::Health)
        || spec.measures.iter().any(|m| {
            use goalgraph_domain::report::ReportMeasure::*;
            matches!(m, ShareOnTrack | ShareAtRisk | ShareOffTrack)
        });
    if wants_health || history {
        // The driver in force: the explicit one, else KEY_RESULTS when
        // the objective has key results, else ALIGNED_OBJECTIVES.
        let driver = |o: &str| {
            format!(
                "COALESCE({o}.progress_driver, CASE WHEN EXISTS (SELECT 1 FROM key_results x \
                   WHERE x.organization_id = {org} AND x.objective_id = {o}.id) \
                 THEN 'KEY_RESULTS' ELSE 'ALIGNED_OBJECTIVES' END)"
            )
        };
        // As of an instant, progress is recomputed: an objective's
        // progress is linear in the progress of the key results it
        // reaches, each weighted by its weight over its objective's
        // total input weight, times the product of 1 / total along the
        // path (a child counts 1 in its parent's total).
        let total = |o: &str| {
            if history {
                format!(
                    "(CASE WHEN {d} <> 'ALIGNED_OBJECTIVES' THEN COALESCE((SELECT SUM(y.weight) FROM key_results y \
                       WHERE y.organization_id = {org} AND y.objective_id = {o}.id), 0.0) ELSE 0.0 END \
                     + CASE WHEN {d} <> 'KEY_RESULTS' THEN (SELECT COUNT(*) FROM objectives z \
                       WHERE z.organization_id = {org} AND z.parent_id = {o}.id AND z.status <> 'CANCELLED') ELSE 0 END)",
                    d = driver(o)
                )
            } else {
                "1.0".into()
            }
        };
        let factor = if history { "r.factor / r.total" } else { "1.0" };
        ctes.push(format!(
            "reach(root, id, period_id, driver, factor, total, depth) AS ( \
               SELECT o.id, o.id, o.period_id, {} , CAST(1.0 AS DOUBLE PRECISION), CAST({} AS DOUBLE PRECISION), 0 \
               FROM objectives o \
               WHERE o.organization_id = {org} AND o.id IN (SELECT id FROM facts) \
               UNION ALL \
               SELECT r.root, c.id, c.period_id, {}, CAST({factor} AS DOUBLE PRECISION), \
                 CAST({} AS DOUBLE PRECISION), r.depth + 1 FROM reach r \
               JOIN objectives c ON c.organization_id = {org} AND c.parent_id = r.id \
               WHERE r.driver <> 'KEY_RESULTS' AND c.status <> 'CANCELLED' AND r.depth < 1000)",
            driver("o"),
            total("o"),
            driver("c"),
            total("c"),
        ));
        if history {
            ctes.push(format!(
                "contrib AS (SELECT r.root AS id, SUM(r.factor * k.weight / r.total * k.progress) AS progress \
                   FROM reach r CROSS JOIN kp k \
                   WHERE k.organization_id = {org} AND k.objective_id = r.id \
                   AND r.driver <> 'ALIGNED_OBJECTIVES' AND r.total > 0 GROUP BY r.root)"
            ));
        }
    }
    if wants_health {
        ctes.push(format!(
            // CROSS JOIN keeps SQLite's order (reach first, then the
            // key results by index); an automatic index on the
            // recursive co-routine re-ran it per key result.
            "health AS (SELECT r.root AS id, MAX({sev}) AS sev FROM reach r \
               CROSS JOIN {kr_table} k CROSS JOIN pw \
               WHERE k.organization_id = {org} AND k.objective_id = r.id AND pw.pid = r.period_id \
               AND r.driver <> 'ALIGNED_OBJECTIVES' GROUP BY r.root)",
            sev = severity_sql(settings)
        ));
    }
    let cutoff = q.bind(now - chrono::Duration::days(i64::from(settings.check_in_cadence_days)));
    ctes.push(format!(
        "kr AS (SELECT k.objective_id, COUNT(*) AS krs, \
           SUM(CASE WHEN fo.status = 'ACTIVE' AND (k.last_check_in_at < {cutoff} OR \
             (k.last_check_in_at IS NULL AND k.created_at < {cutoff} AND pw.start_at < {cutoff})) \
             THEN 1 ELSE 0 END) AS stale \
         FROM facts fo JOIN {kr_table} k ON k.organization_id = {org} AND k.objective_id = fo.id \
         JOIN pw ON pw.pid = fo.period_id GROUP BY k.objective_id)"
    ));
    let wants_check_ins =
        spec.measures.contains(&goalgraph_domain::report::ReportMeasure::CheckInsPerKeyResult);
    if wants_check_ins {
        let by_then = if history { format!(" AND c.created_at <= {}", q.bind(now)) } else { String::new() };
        ctes.push(format!(
            "ci AS (SELECT k.objective_id, COUNT(*) AS n FROM facts fo \
               JOIN key_results k ON k.organization_id = {org} AND k.objective_id = fo.id \
               JOIN check_ins c ON c.organization_id = {org} AND c.key_result_id = k.id{by_then} \
               GROUP BY k.objective_id)"
        ));
    }
    let dim_exprs: Vec<&str> = dimensions
        .iter()
        .map(|d| match d {
            ReportDimension::Period => "f.period_id",
            ReportDimension::Unit => "f.unit_id",
            ReportDimension::Owner => "f.owner_person_id",
            ReportDimension::Level => "f.level",
            ReportDimension::Status => "f.status",
            ReportDimension::Kind => "f.kind",
            ReportDimension::Health => "CAST(h.sev AS BIGINT)",
            // Checked by validate: KPI dimensions never reach OKR facts.
            ReportDimension::KpiCategory | ReportDimension::KpiStatus => "NULL",
        })
        .collect();
    let (select_dims, group_by) = grouping(&dim_exprs);
    let mut health_join = if wants_health { " LEFT JOIN health h ON h.id = f.id" } else { "" }.to_owned();
    let progress = if history {
        health_join.push_str(" LEFT JOIN contrib ct ON ct.id = f.id");
        "COALESCE(ct.progress, 0.0)"
    } else {
        "f.progress"
    };
    let (ci_join, ci_sum) = if wants_check_ins {
        (" LEFT JOIN ci ON ci.objective_id = f.id", "SUM(COALESCE(ci.n, 0))")
    } else {
        ("", "0")
    };
    let health_sums = if wants_health {
        "CAST(COUNT(h.sev) AS BIGINT) AS with_health, \
         CAST(SUM(CASE WHEN h.sev = 0 THEN 1 ELSE 0 END) AS BIGINT) AS on_track, \
         CAST(SUM(CASE WHEN h.sev = 1 THEN 1 ELSE 0 END) AS BIGINT) AS at_risk, \
         CAST(SUM(CASE WHEN h.sev = 2 THEN 1 ELSE 0 END) AS BIGINT) AS off_track"
    } else {
        "CAST(0 AS BIGINT) AS with_health, CAST(0 AS BIGINT) AS on_track, \
         CAST(0 AS BIGINT) AS at_risk, CAST(0 AS BIGINT) AS off_track"
    };
    format!(
        "SELECT {select_dims}CAST(COUNT(*) AS BIGINT) AS objectives, SUM({progress}) AS progress_sum, \
           CAST(COUNT(f.score) AS BIGINT) AS scored, SUM(f.score) AS score_sum, {health_sums}, \
           CAST(SUM(COALESCE(kr.krs, 0)) AS BIGINT) AS krs, CAST(SUM(COALESCE(kr.stale, 0)) AS BIGINT) AS stale, \
           CAST({ci_sum} AS BIGINT) AS check_ins \
         FROM facts f{health_join} LEFT JOIN kr ON kr.objective_id = f.id{ci_join}{group_by}"
    )
}

/// The KPI family's GROUP BY (columns `d0` … and [`KPI_INTS`],
/// [`KPI_FLOATS`]), its CTEs pushed to `ctes`.
fn kpi_select(
    q: &mut Sql,
    ctes: &mut Vec<String>,
    org: &str,
    actor: &Actor,
    spec: &ReportSpec,
    when: When,
) -> String {
    let dimensions = &spec.dimensions;
    let When { at: now, history } = when;
    let f = &spec.filter;
    let folded = spec.roll_up || f.unit_id.is_some();
    let archived = q.bind(false);
    let mut wh = vec![
        format!("k.organization_id = {org}"),
        format!("k.archived = {archived}"),
        kpi_scope(q, &policy::kpi_read_scope(actor)),
    ];
    if let Some(p) = f.owner_person_id {
        wh.push(format!("k.owner_id = {}", q.bind(p.0)));
    }
    if !f.categories.is_empty() {
        wh.push(Sql::words("k.category", &f.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>()));
    }
    let (fold_join, unit_col) = match (folded, spec.roll_up) {
        (false, _) => ("", "k.unit_id"),
        (true, false) => (" JOIN fold fu ON fu.id = k.unit_id", "k.unit_id"),
        (true, true) => (" JOIN fold fu ON fu.id = k.unit_id", "fu.bucket"),
    };
    ctes.push(format!(
        "kf AS (SELECT k.id, {unit_col} AS unit_id, k.owner_id, k.category, k.cadence, \
           k.healthy_lower AS lo, k.healthy_upper AS hi, k.tolerance_absolute AS ta, k.tolerance_percent AS tp \
         FROM kpis k{fold_join} WHERE {})",
        wh.join(" AND ")
    ));
    // As of an instant: the points observed and recorded by then.
    let known = if history {
        let at = q.bind(now);
        format!(" AND m.recorded_at <= {at} AND m.observed_at <= {at}")
    } else {
        String::new()
    };
    ctes.push(format!(
        "eff AS (SELECT m.kpi_id, m.observed_at, m.value, \
           ROW_NUMBER() OVER (PARTITION BY m.kpi_id, m.observed_at ORDER BY m.recorded_at DESC, m.id DESC) AS correction, \
           ROW_NUMBER() OVER (PARTITION BY m.kpi_id ORDER BY m.observed_at DESC, m.recorded_at DESC, m.id DESC) AS newest \
         FROM kf JOIN kpi_measurements m ON m.organization_id = {org} AND m.kpi_id = kf.id{known})"
    ));
    ctes.push("lat AS (SELECT kpi_id, observed_at, value FROM eff WHERE newest = 1)".into());
    ctes.push(
        "inside AS (SELECT e.kpi_id, MAX(e.observed_at) AS last_inside FROM eff e JOIN kf ON kf.id = e.kpi_id \
           WHERE e.correction = 1 AND (kf.lo IS NULL OR e.value >= kf.lo) AND (kf.hi IS NULL OR e.value <= kf.hi) \
           GROUP BY e.kpi_id)"
            .into(),
    );
    ctes.push(
        "breach AS (SELECT e.kpi_id, MIN(e.observed_at) AS since FROM eff e \
           LEFT JOIN inside i ON i.kpi_id = e.kpi_id \
           WHERE e.correction = 1 AND (i.last_inside IS NULL OR e.observed_at > i.last_inside) GROUP BY e.kpi_id)"
            .into(),
    );
    let stale_before: Vec<String> = [Cadence::Daily, Cadence::Weekly, Cadence::Monthly, Cadence::Quarterly]
        .iter()
        .map(|c| format!("WHEN '{}' THEN {}", c.as_str(), q.bind(now - c.interval() * 2)))
        .collect();
    let low_side = "kf.lo IS NOT NULL AND l.value < kf.lo";
    let bound = format!("CASE WHEN {low_side} THEN kf.lo WHEN kf.hi IS NOT NULL THEN kf.hi ELSE kf.lo END");
    let beyond = format!(
        "CASE WHEN {low_side} THEN kf.lo - l.value WHEN kf.hi IS NOT NULL THEN l.value - kf.hi ELSE kf.lo - l.value END"
    );
    let band = format!(
        "CASE WHEN kf.ta IS NOT NULL THEN kf.ta WHEN kf.tp IS NOT NULL THEN ABS({bound}) * kf.tp / 100.0 ELSE 0.0 END"
    );
    ctes.push(format!(
        "st AS (SELECT kf.id, kf.unit_id, kf.owner_id, kf.category, b.since, CASE \
           WHEN l.kpi_id IS NULL THEN 'NO_DATA' \
           WHEN l.observed_at < CASE kf.cadence {} END THEN 'STALE' \
           WHEN (kf.lo IS NULL OR l.value >= kf.lo) AND (kf.hi IS NULL OR l.value <= kf.hi) THEN 'HEALTHY' \
           WHEN ({beyond}) <= ({band}) + 1e-12 THEN 'AT_RISK' ELSE 'BREACHED' END AS status \
         FROM kf LEFT JOIN lat l ON l.kpi_id = kf.id LEFT JOIN breach b ON b.kpi_id = kf.id)",
        stale_before.join(" ")
    ));
    let dim_exprs: Vec<&str> = dimensions
        .iter()
        .map(|d| match d {
            ReportDimension::Unit => "s.unit_id",
            ReportDimension::Owner => "s.owner_id",
            ReportDimension::KpiCategory => "s.category",
            ReportDimension::KpiStatus => "s.status",
            _ => "NULL",
        })
        .collect();
    let (select_dims, group_by) = grouping(&dim_exprs);
    let since = q.epoch("s.since");
    format!(
        "SELECT {select_dims}CAST(COUNT(*) AS BIGINT) AS kpis, \
           CAST(SUM(CASE WHEN s.status = 'HEALTHY' THEN 1 ELSE 0 END) AS BIGINT) AS healthy, \
           CAST(SUM(CASE WHEN s.status = 'AT_RISK' THEN 1 ELSE 0 END) AS BIGINT) AS kpi_at_risk, \
           CAST(SUM(CASE WHEN s.status = 'BREACHED' THEN 1 ELSE 0 END) AS BIGINT) AS breached, \
           CAST(COUNT(s.since) AS BIGINT) AS out_of_range, SUM({since}) AS since_sum \
         FROM st s{group_by}"
    )
}
