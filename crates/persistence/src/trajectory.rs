//! The inputs of forecasts and progress series: key results' check-ins as
//! points in time, and objectives' subtrees with their key results' trends.

use crate::error::{StoreError, StoreResult};
use crate::goal_views::window;
use crate::sql::{in_list, list_value, stmt};
use crate::store::Store;
use chrono::{DateTime, Utc};
use goalgraph_domain::formulas::PeriodWindow;
use goalgraph_domain::kpi::Point;
use goalgraph_domain::okr::{Measure, ObjectiveKind};
use goalgraph_domain::settings::OrganizationSettings;
use goalgraph_domain::trajectory::{
    FORECAST_POINTS, ForecastGoal, ForecastKeyResult, ObjectiveForecast, key_result_forecast,
    objective_forecast,
};
use goalgraph_domain::{KeyResultId, ObjectiveId, OrganizationId};
use sea_orm::ConnectionTrait;
use std::collections::HashMap;
use uuid::Uuid;

impl Store {
    /// The check-ins of many key results as points (value at creation
    /// time), oldest first: those in `[from, to)`, and of each key result
    /// only the newest `newest` when given. One statement. Callers check
    /// visibility: the key results were read through the policy, or an
    /// aggregate (which is the objective's own) is being computed.
    pub async fn check_in_points(
        &self,
        org: OrganizationId,
        key_results: &[KeyResultId],
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        newest: Option<u64>,
    ) -> StoreResult<HashMap<KeyResultId, Vec<Point>>> {
        if key_results.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.db_backend();
        let raw: Vec<Uuid> = key_results.iter().map(|k| k.0).collect();
        let mut values: Vec<sea_orm::Value> = vec![org.0.into(), list_value(backend, &raw)];
        let mut range = String::new();
        if let Some(f) = from {
            values.push(f.into());
            range.push_str(&format!(" AND created_at >= ${}", values.len()));
        }
        if let Some(t) = to {
            values.push(t.into());
            range.push_str(&format!(" AND created_at < ${}", values.len()));
        }
        let limit = newest.map(|n| format!(" WHERE c.newest <= {n}")).unwrap_or_default();
        let sql = format!(
            "SELECT c.key_result_id, c.created_at, c.value FROM ( \
               SELECT key_result_id, created_at, value, \
                 ROW_NUMBER() OVER (PARTITION BY key_result_id ORDER BY created_at DESC, id DESC) AS newest \
               FROM check_ins WHERE organization_id = $1 AND {}{range} \
             ) c{limit} ORDER BY c.key_result_id, c.newest DESC",
            in_list(backend, "key_result_id", 2)
        );
        let rows = self.db.query_all_raw(stmt(backend, &sql, values)).await?;
        let mut out: HashMap<KeyResultId, Vec<Point>> = HashMap::new();
        for r in rows {
            let id: Uuid = r.try_get("", "key_result_id")?;
            let point = Point { observed_at: r.try_get("", "created_at")?, value: r.try_get("", "value")? };
            out.entry(KeyResultId(id)).or_default().push(point);
        }
        Ok(out)
    }

    /// The points a forecast fits, for key results grouped by their
    /// period's window: the newest check-ins inside each window. One
    /// statement per distinct window (a list of one period's key results:
    /// one), never one per key result.
    pub async fn forecast_points(
        &self,
        org: OrganizationId,
        key_results: &[(KeyResultId, PeriodWindow)],
    ) -> StoreResult<HashMap<KeyResultId, Vec<Point>>> {
        let mut by_window: HashMap<PeriodWindow, Vec<KeyResultId>> = HashMap::new();
        for (kr, w) in key_results {
            by_window.entry(*w).or_default().push(*kr);
        }
        let mut out = HashMap::new();
        for (w, krs) in by_window {
            let points = self
                .check_in_points(org, &krs, Some(w.start), Some(w.end), Some(FORECAST_POINTS as u64))
                .await?;
            out.extend(points);
        }
        Ok(out)
    }

    /// The forecasts of objectives (their subtrees' inputs count, seen or
    /// not: an aggregate is the objective's own). Three statements for the
    /// subtrees, and one per distinct period among them for the check-ins.
    pub async fn objective_forecasts(
        &self,
        org: OrganizationId,
        ids: &[ObjectiveId],
        settings: &OrganizationSettings,
    ) -> StoreResult<HashMap<ObjectiveId, ObjectiveForecast>> {
        let (rows, krs, periods) = self.forest_rows(org, ids).await?;
        let windows: HashMap<Uuid, PeriodWindow> =
            periods.iter().map(|(id, p)| (*id, window(p, settings))).collect();
        let window_of_objective: HashMap<Uuid, PeriodWindow> =
            rows.iter().filter_map(|o| windows.get(&o.period_id).map(|w| (o.id, *w))).collect();
        let keyed: Vec<(KeyResultId, PeriodWindow)> = krs
            .iter()
            .filter_map(|k| window_of_objective.get(&k.objective_id).map(|w| (KeyResultId(k.id), *w)))
            .collect();
        let points = self.forecast_points(org, &keyed).await?;
        let mut by_objective: HashMap<Uuid, Vec<ForecastKeyResult>> = HashMap::new();
        for k in krs {
            let measure: Measure = k
                .measure
                .parse()
                .map_err(|_| StoreError::corrupt(format!("measure of key result {}", k.id)))?;
            let Some(w) = window_of_objective.get(&k.objective_id) else { continue };
            let pts = points.get(&KeyResultId(k.id)).map(Vec::as_slice).unwrap_or_default();
            let projected =
                key_result_forecast(measure, k.start_value, k.target_value, k.current_value, pts, w)
                    .map(|f| f.projected_progress);
            by_objective.entry(k.objective_id).or_default().push(ForecastKeyResult {
                weight: k.weight,
                progress: k.progress,
                projected,
            });
        }
        let mut children = crate::goal_views::aligned_children(&rows);
        let mut goals = HashMap::new();
        for o in rows {
            let w = *window_of_objective
                .get(&o.id)
                .ok_or_else(|| StoreError::corrupt("objective without period"))?;
            let driver = o
                .progress_driver
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| StoreError::corrupt(format!("driver of objective {}", o.id)))?;
            let kind: ObjectiveKind =
                o.kind.parse().map_err(|_| StoreError::corrupt(format!("kind of objective {}", o.id)))?;
            goals.insert(
                ObjectiveId(o.id),
                ForecastGoal {
                    driver,
                    kind,
                    window: w,
                    progress: o.progress,
                    key_results: by_objective.remove(&o.id).unwrap_or_default(),
                    children: children.remove(&o.id).unwrap_or_default(),
                },
            );
        }
        let mut memo = HashMap::new();
        Ok(ids.iter().filter_map(|id| objective_forecast(&goals, *id, &mut memo).map(|f| (*id, f))).collect())
    }
}
