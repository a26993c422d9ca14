//! History as of a date: the values that held at an instant, replayed from
//! the append-only facts. A key result's current value as of `at` is its
//! latest check-in made at or before `at`; a key result linked to a KPI
//! takes the latest point of the KPI observed within its period and at or
//! before `at`, among the points recorded by then (a later correction of a
//! point does not rewrite what was known). Without either it is its start
//! value. Progress, expected progress and health follow from those values
//! by the formulas, at `at`.
//!
//! Structure is today's: which objectives and key results exist, their
//! alignment, drivers, weights, start and target values are read as they
//! are now (edits of those are versioned fields, not replayed history), and
//! objectives and key results created after `at` take part with their
//! start values.

use crate::entity::{key_result, key_result_kpi_link, kpi_measurement, objective};
use crate::error::{StoreError, StoreResult};
use crate::sql::{id_in, in_list, list_value, stmt};
use crate::store::Store;
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::{
    Numbers, PeriodWindow, TreeKeyResult, key_result_numbers, key_result_progress,
};
use goalgraph_domain::okr::Measure;
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::{KeyResultId, OrganizationId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

/// A key result as it stood at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyResultAsOf {
    pub current: f64,
    pub confidence: Option<f64>,
    pub last_check_in_at: Option<DateTime<Utc>>,
    /// Progress, expected progress and health at that instant.
    pub numbers: Numbers,
}

impl Store {
    /// Key results as they stood at `at`; callers check visibility. Four
    /// statements, however many.
    pub async fn key_results_as_of(
        &self,
        org: OrganizationId,
        ids: &[KeyResultId],
        settings: &OrganizationSettings,
        at: DateTime<Utc>,
    ) -> StoreResult<HashMap<KeyResultId, KeyResultAsOf>> {
        let backend = self.db_backend();
        let raw: Vec<Uuid> = ids.iter().map(|k| k.0).collect();
        let mut krs = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .filter(id_in(backend, "key_results.id", &raw))
            .all(&self.db)
            .await?;
        let objective_ids: Vec<Uuid> = krs.iter().map(|k| k.objective_id).collect();
        let objectives = objective::Entity::find()
            .filter(objective::Column::OrganizationId.eq(org.0))
            .filter(id_in(backend, "objectives.id", &objective_ids))
            .all(&self.db)
            .await?;
        let windows = self.objective_windows(org, &objectives, settings).await?;
        self.replay_key_results(org, &mut krs, &windows, at).await?;
        let mut out = HashMap::new();
        for k in krs {
            let Some(window) = windows.get(&k.objective_id) else { continue };
            let measure: Measure = k
                .measure
                .parse()
                .map_err(|_| StoreError::corrupt(format!("measure of key result {}", k.id)))?;
            let tree =
                TreeKeyResult { measure, progress: k.progress, weight: k.weight, confidence: k.confidence };
            out.insert(
                KeyResultId(k.id),
                KeyResultAsOf {
                    current: k.current_value,
                    confidence: k.confidence,
                    last_check_in_at: k.last_check_in_at,
                    numbers: key_result_numbers(&tree, window, at, settings),
                },
            );
        }
        Ok(out)
    }

    /// Rewrites each key result's current value, progress, confidence and
    /// last check-in to what held at `at`. `windows` holds each key
    /// result's period window by its objective's id. Three statements.
    pub(crate) async fn replay_key_results(
        &self,
        org: OrganizationId,
        krs: &mut [key_result::Model],
        windows: &HashMap<Uuid, PeriodWindow>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        if krs.is_empty() {
            return Ok(());
        }
        let backend = self.db_backend();
        let ids: Vec<Uuid> = krs.iter().map(|k| k.id).collect();
        let sql = format!(
            "SELECT key_result_id, value, confidence, created_at FROM ( \
               SELECT c.key_result_id, c.value, c.confidence, c.created_at, \
                 ROW_NUMBER() OVER (PARTITION BY c.key_result_id ORDER BY c.created_at DESC, c.id DESC) AS newest \
               FROM check_ins c WHERE c.organization_id = $1 AND {} AND c.created_at <= $3 \
             ) x WHERE newest = 1",
            in_list(backend, "c.key_result_id", 2)
        );
        let rows = self
            .db
            .query_all_raw(stmt(backend, &sql, vec![org.0.into(), list_value(backend, &ids), at.into()]))
            .await?;
        let mut latest: HashMap<Uuid, (f64, Option<f64>, DateTime<Utc>)> = HashMap::new();
        for r in rows {
            let id: Uuid = r.try_get("", "key_result_id")?;
            latest.insert(
                id,
                (r.try_get("", "value")?, r.try_get("", "confidence")?, r.try_get("", "created_at")?),
            );
        }
        // Linked key results: the KPI's points known by then.
        let links = key_result_kpi_link::Entity::find()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(org.0))
            .filter(id_in(backend, "key_result_kpi_links.key_result_id", &ids))
            .all(&self.db)
            .await?;
        let kpi_of: HashMap<Uuid, Uuid> = links.iter().map(|l| (l.key_result_id, l.kpi_id)).collect();
        let mut points: HashMap<Uuid, Vec<kpi_measurement::Model>> = HashMap::new();
        if !links.is_empty() {
            let kpis: Vec<Uuid> = links.iter().map(|l| l.kpi_id).collect();
            for m in kpi_measurement::Entity::find()
                .filter(kpi_measurement::Column::OrganizationId.eq(org.0))
                .filter(id_in(backend, "kpi_measurements.kpi_id", &kpis))
                .filter(kpi_measurement::Column::RecordedAt.lte(at))
                .filter(kpi_measurement::Column::ObservedAt.lte(at))
                .all(&self.db)
                .await?
            {
                points.entry(m.kpi_id).or_default().push(m);
            }
        }
        for k in krs.iter_mut() {
            let measure: Measure = k.measure.parse().unwrap_or(Measure::Increase);
            let (current, confidence, last) = if let Some(kpi) = kpi_of.get(&k.id) {
                let window = windows.get(&k.objective_id);
                let newest =
                    points.get(kpi).into_iter().flatten().filter(|m| {
                        window.is_some_and(|w| m.observed_at >= w.start && m.observed_at < w.end)
                    });
                let best = newest.max_by_key(|m| (m.observed_at, m.recorded_at, m.id));
                (best.map(|m| m.value).unwrap_or(k.start_value), None, None)
            } else {
                match latest.get(&k.id) {
                    Some((v, c, t)) => (*v, *c, Some(*t)),
                    None => (k.start_value, None, None),
                }
            };
            k.current_value = current;
            k.confidence = confidence;
            k.last_check_in_at = last;
            k.progress = key_result_progress(measure, k.start_value, k.target_value, current);
        }
        Ok(())
    }

    /// The period windows of objectives, by objective id.
    pub(crate) async fn objective_windows(
        &self,
        org: OrganizationId,
        objectives: &[objective::Model],
        settings: &OrganizationSettings,
    ) -> StoreResult<HashMap<Uuid, PeriodWindow>> {
        let period_ids: Vec<Uuid> = objectives.iter().map(|o| o.period_id).collect();
        let periods = self.periods_of_rows(&self.db, org, &period_ids).await?;
        Ok(objectives
            .iter()
            .filter_map(|o| {
                periods
                    .get(&o.period_id)
                    .map(|p| (o.id, PeriodWindow::new(p.start_date, p.end_date, settings.time_zone.tz())))
            })
            .collect())
    }
}
