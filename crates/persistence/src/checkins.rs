//! Check-ins (append-only), idempotency keys, and freezing scores when a
//! period closes.

use crate::audit::{AuditRecord, row_value};
use crate::convert::{self, now};
use crate::entity::{check_in, idempotency_key, key_result, objective};
use crate::error::{StoreError, StoreResult};
use crate::goals::facts;
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::sql::id_in;
use crate::store::{Store, WriteTx};
use goalgraph_domain::formulas::key_result_progress;
use goalgraph_domain::okr::{CheckIn, KeyResult, confidence};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::finite;
use goalgraph_domain::{
    CheckInId, DomainError, KeyResultId, ObjectiveId, OrganizationId, PeriodId, PersonId,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Set,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct CheckInInput {
    pub key_result_id: KeyResultId,
    pub value: f64,
    pub confidence: Option<f64>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

/// What a repeated idempotency key finds.
enum Replay {
    /// The key is new.
    Fresh,
    /// The same input ran before: its recorded response.
    Same(serde_json::Value),
}

/// A stable digest of a mutation's input, to tell a retry from a reuse.
pub(crate) fn request_hash(input: &serde_json::Value) -> String {
    let digest = Sha256::digest(input.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn idempotency_key_value(raw: &str) -> StoreResult<String> {
    let key = raw.trim();
    if key.is_empty() || key.len() > 200 {
        return Err(DomainError::invalid("idempotencyKey", "must be 1-200 characters").into());
    }
    Ok(key.to_owned())
}

impl Store {
    /// Looks `key` up for `mutation`: new, a retry of the same input (its
    /// first response), or a reuse with another input (CONFLICT).
    async fn idempotency_lookup<C: ConnectionTrait>(
        &self,
        conn: &C,
        org: OrganizationId,
        mutation: &str,
        key: &str,
        hash: &str,
    ) -> StoreResult<Replay> {
        let found = idempotency_key::Entity::find_by_id((org.0, mutation.to_owned(), key.to_owned()))
            .one(conn)
            .await?;
        match found {
            None => Ok(Replay::Fresh),
            Some(row) if row.request_hash == hash => Ok(Replay::Same(
                serde_json::from_str(&row.response)
                    .map_err(|e| StoreError::corrupt(format!("idempotency response: {e}")))?,
            )),
            Some(_) => {
                Err(DomainError::conflict("this idempotency key was already used with a different input")
                    .into())
            }
        }
    }

    /// Claims `key` inside `tx`; false when another transaction claimed it
    /// first (PostgreSQL waits for that one to commit before answering).
    async fn idempotency_claim(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        mutation: &str,
        key: &str,
        hash: &str,
        response: &serde_json::Value,
    ) -> StoreResult<bool> {
        let row = idempotency_key::ActiveModel {
            organization_id: Set(org.0),
            mutation: Set(mutation.to_owned()),
            key: Set(key.to_owned()),
            request_hash: Set(hash.to_owned()),
            response: Set(response.to_string()),
            created_at: Set(now()),
        };
        let inserted = idempotency_key::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::OrganizationId,
                    idempotency_key::Column::Mutation,
                    idempotency_key::Column::Key,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(tx.conn())
            .await?;
        Ok(inserted > 0)
    }

    /// Claims `key`, or finds it taken: true to go on; false when the same
    /// input ran before (a replay: write nothing); CONFLICT when the key was
    /// used with another input.
    pub(crate) async fn idempotency_claim_or_replay(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        mutation: &str,
        key: &str,
        hash: &str,
        response: &serde_json::Value,
    ) -> StoreResult<bool> {
        if let Replay::Same(_) = self.idempotency_lookup(tx.conn(), org, mutation, key, hash).await? {
            return Ok(false);
        }
        if self.idempotency_claim(tx, org, mutation, key, hash, response).await? {
            return Ok(true);
        }
        // Claimed concurrently: the other transaction has committed by now.
        match self.idempotency_lookup(&self.db, org, mutation, key, hash).await? {
            Replay::Same(_) => Ok(false),
            Replay::Fresh => Err(DomainError::conflict("the idempotency key is being used; retry").into()),
        }
    }

    /// Forgets idempotency keys older than `days` (kept at least 30).
    pub async fn prune_idempotency_keys(&self, days: u32) -> StoreResult<u64> {
        let cutoff = now() - chrono::Duration::days(i64::from(days.max(30)));
        let result = idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// The check-in and the key result of a replayed check-in.
    async fn replayed_check_in(
        &self,
        actor: &Actor,
        response: &serde_json::Value,
    ) -> StoreResult<(CheckIn, KeyResult)> {
        let id = response
            .get("checkInId")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| StoreError::corrupt("idempotency response without checkInId"))?;
        let m = check_in::Entity::find_by_id((actor.organization_id.0, id))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::corrupt("replayed check-in is missing"))?;
        let kr = self.key_result(actor, KeyResultId(m.key_result_id)).await?;
        Ok((self.check_in_model(m)?, kr))
    }

    /// Appends a check-in: sets the key result's current value (and
    /// confidence), recomputes its progress and the rollups up the
    /// alignment chain, all in one transaction. Versions are not bumped: a
    /// check-in never makes an edit conflict.
    pub async fn check_in(&self, actor: &Actor, input: CheckInInput) -> StoreResult<(CheckIn, KeyResult)> {
        let value = finite("value", input.value)?;
        let conf = input.confidence.map(confidence).transpose()?;
        let note = goalgraph_domain::values::Description::parse("note", input.note.as_deref())?
            .map(goalgraph_domain::values::Description::into_inner);
        let org = actor.organization_id;
        let key = input.idempotency_key.as_deref().map(idempotency_key_value).transpose()?;
        let hash = request_hash(&serde_json::json!({
            "keyResultId": input.key_result_id.0,
            "value": value,
            "confidence": conf,
            "note": note,
        }));
        const MUTATION: &str = "checkIn";

        let tx = self.write().await?;
        // Authorize before anything else: a replayed key is no way around
        // the right to check in.
        let kr = self.load_key_result_row_locked(&tx, org, input.key_result_id).await?;
        let o = objective::Entity::find_by_id((org.0, kr.objective_id))
            .one(tx.conn())
            .await?
            .ok_or_else(|| StoreError::corrupt("key result without objective"))?;
        let resource =
            Resource::KeyResult { organization_id: org, goal: facts(&o)?, owner: PersonId(kr.owner_id) };
        policy::authorize(actor, Action::CheckIn, &resource)?;
        if let Some(key) = &key
            && let Replay::Same(response) =
                self.idempotency_lookup(tx.conn(), org, MUTATION, key, &hash).await?
        {
            drop(tx);
            return self.replayed_check_in(actor, &response).await;
        }
        self.open_objective_of_id(&tx, org, o.id).await?;
        if self.is_linked(tx.conn(), org, kr.id).await? {
            return Err(DomainError::invalid(
                "keyResultId",
                "this key result follows a KPI: record a measurement of the KPI instead",
            )
            .into());
        }

        let id = CheckInId::new();
        if let Some(key) = &key {
            let response = serde_json::json!({ "checkInId": id.0 });
            if !self.idempotency_claim(&tx, org, MUTATION, key, &hash, &response).await? {
                drop(tx);
                return match self.idempotency_lookup(&self.db, org, MUTATION, key, &hash).await? {
                    Replay::Same(response) => self.replayed_check_in(actor, &response).await,
                    Replay::Fresh => {
                        Err(DomainError::conflict("the idempotency key is being used; retry").into())
                    }
                };
            }
        }
        let at = now();
        let row = check_in::ActiveModel {
            organization_id: Set(org.0),
            id: Set(id.0),
            key_result_id: Set(kr.id),
            value: Set(value),
            confidence: Set(conf),
            note: Set(tx.seal("note", note)?),
            author_id: Set(actor.person_id().map(|p| p.0)),
            created_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        let measure = kr
            .measure
            .parse()
            .map_err(|_| StoreError::corrupt(format!("measure of key result {}", kr.id)))?;
        let progress = key_result_progress(measure, kr.start_value, kr.target_value, value);
        let mut active: key_result::ActiveModel = kr.clone().into();
        active.current_value = Set(value);
        if conf.is_some() {
            active.confidence = Set(conf);
        }
        active.last_check_in_at = Set(Some(at));
        active.progress = Set(progress);
        let updated = active.update(tx.conn()).await?;
        self.recompute_up(&tx, org, ObjectiveId(o.id)).await?;
        tx.audit(
            actor,
            AuditRecord::new("checkIn", "KeyResult", updated.id)
                .changed(&kr, &updated)
                .after_field("checkIn", row_value(&row)),
        );
        let check_in = self.check_in_model(row)?;
        self.emit_key_result(&tx, org, &updated, &o, Some(check_in.clone()), None).await?;
        tx.commit().await?;
        Ok((check_in, convert::key_result(updated)?))
    }

    /// Writes past check-ins at their own times (demo data, imports): the
    /// newest of all a key result's check-ins sets its current value, and the
    /// rollups are recomputed once. Same authorization as a check-in.
    pub async fn import_check_ins(
        &self,
        actor: &Actor,
        key_result: KeyResultId,
        points: &[(chrono::DateTime<chrono::Utc>, f64, Option<f64>)],
    ) -> StoreResult<KeyResult> {
        let org = actor.organization_id;
        let tx = self.write().await?;
        let kr = self.load_key_result_row_locked(&tx, org, key_result).await?;
        let o = objective::Entity::find_by_id((org.0, kr.objective_id))
            .one(tx.conn())
            .await?
            .ok_or_else(|| StoreError::corrupt("key result without objective"))?;
        let resource =
            Resource::KeyResult { organization_id: org, goal: facts(&o)?, owner: PersonId(kr.owner_id) };
        policy::authorize(actor, Action::CheckIn, &resource)?;
        self.open_objective_of_id(&tx, org, o.id).await?;
        for (i, (at, value, conf)) in points.iter().enumerate() {
            let field = format!("points[{i}]");
            finite("value", *value).map_err(|e| e.in_field(&field))?;
            if let Some(c) = conf {
                confidence(*c).map_err(|e| e.in_field(&field))?;
            }
            check_in::ActiveModel {
                organization_id: Set(org.0),
                id: Set(CheckInId::new().0),
                key_result_id: Set(kr.id),
                value: Set(*value),
                confidence: Set(*conf),
                note: Set(None),
                author_id: Set(actor.person_id().map(|p| p.0)),
                created_at: Set(*at),
            }
            .insert(tx.conn())
            .await?;
        }
        let newest = check_in::Entity::find()
            .filter(check_in::Column::OrganizationId.eq(org.0))
            .filter(check_in::Column::KeyResultId.eq(kr.id))
            .order_by_desc(check_in::Column::CreatedAt)
            .order_by_desc(check_in::Column::Id)
            .one(tx.conn())
            .await?;
        let mut active: key_result::ActiveModel = kr.clone().into();
        if let Some(n) = newest {
            let measure = kr
                .measure
                .parse()
                .map_err(|_| StoreError::corrupt(format!("measure of key result {}", kr.id)))?;
            active.current_value = Set(n.value);
            active.confidence = Set(n.confidence.or(kr.confidence));
            active.last_check_in_at = Set(Some(n.created_at));
            active.progress = Set(key_result_progress(measure, kr.start_value, kr.target_value, n.value));
        }
        let updated = active.update(tx.conn()).await?;
        self.recompute_up(&tx, org, ObjectiveId(o.id)).await?;
        self.emit_key_result(&tx, org, &updated, &o, None, None).await?;
        tx.audit(
            actor,
            AuditRecord::new("importCheckIns", "KeyResult", updated.id)
                .changed(&kr, &updated)
                .after_field("imported", points.len()),
        );
        tx.commit().await?;
        convert::key_result(updated)
    }

    async fn load_key_result_row_locked(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        id: KeyResultId,
    ) -> StoreResult<key_result::Model> {
        Ok(key_result::Entity::find_by_id((org.0, id.0))
            .lock_exclusive()
            .one(tx.conn())
            .await?
            .ok_or(DomainError::not_found("key result"))?)
    }

    /// The same page of check-ins, newest first, for many key results (those
    /// whose objective the actor may see), in one statement.
    pub async fn check_in_pages(
        &self,
        actor: &Actor,
        key_results: &[KeyResultId],
        args: &PageArgs,
    ) -> StoreResult<HashMap<KeyResultId, Page<CheckIn>>> {
        if key_results.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = key_results.iter().map(|i| i.0).collect();
        // Visibility is part of the statement: no check-in of a key result
        // whose objective the actor may not see.
        let select =
            self.visible_check_ins(actor).filter(id_in(self.db_backend(), "check_ins.key_result_id", &raw));
        let sort = SortSpec::<check_in::Entity> {
            column: check_in::Column::CreatedAt,
            id_column: check_in::Column::Id,
            direction: SortDirection::Desc,
            parse: page::parse_time,
            key_of: |m| CursorKey { key: m.created_at.to_rfc3339(), id: m.id },
        };
        let pages = page::fetch_grouped_pages(
            &self.db,
            select,
            &raw,
            check_in::Column::KeyResultId,
            |m| m.key_result_id,
            sort,
            args,
        )
        .await?;
        pages
            .into_iter()
            .map(|(kr, p)| Ok((KeyResultId(kr), p.try_map(|m| self.check_in_model(m))?)))
            .collect()
    }

    /// Check-ins joined through their key result to their objective and
    /// filtered by its visibility.
    fn visible_check_ins(&self, actor: &Actor) -> sea_orm::Select<check_in::Entity> {
        let select = check_in::Entity::find()
            .inner_join(key_result::Entity)
            .join(sea_orm::JoinType::InnerJoin, key_result::Relation::Objective.def())
            .filter(check_in::Column::OrganizationId.eq(actor.organization_id.0));
        match crate::goals::scope_condition(self.db_backend(), &policy::goal_read_scope(actor)) {
            Some(c) => select.filter(c),
            None => select,
        }
    }

    /// The check-ins of `ids` whose objective the actor may see.
    pub async fn check_ins_by_ids(
        &self,
        actor: &Actor,
        ids: &[CheckInId],
    ) -> StoreResult<HashMap<CheckInId, CheckIn>> {
        let rows =
            self.rows_with(self.visible_check_ins(actor), "check_ins.id", ids.iter().map(|i| i.0)).await?;
        rows.into_iter().map(|m| Ok((CheckInId(m.id), self.check_in_model(m)?))).collect()
    }

    /// How many check-ins each key result has, in one statement.
    pub async fn check_in_counts(
        &self,
        actor: &Actor,
        key_results: &[KeyResultId],
    ) -> StoreResult<HashMap<KeyResultId, u64>> {
        if key_results.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Uuid> = key_results.iter().map(|i| i.0).collect();
        // Counts are only asked for key results already shown to the actor;
        // the join keeps them to visible objectives all the same.
        let select =
            self.visible_check_ins(actor).filter(id_in(self.db_backend(), "check_ins.key_result_id", &raw));
        let counts = page::count_grouped(&self.db, select, check_in::Column::KeyResultId).await?;
        Ok(counts.into_iter().map(|(k, n)| (KeyResultId(k), n)).collect())
    }

    /// Freezes the scores of a period's goals: each key result's and each
    /// objective's stored progress at the moment the period closes.
    pub(crate) async fn freeze_scores(
        &self,
        tx: &WriteTx,
        org: OrganizationId,
        period: PeriodId,
    ) -> StoreResult<()> {
        let backend = self.db_backend();
        let in_period = |alias: &str| {
            format!(
                "{alias}.objective_id IN (SELECT o.id FROM objectives o WHERE o.organization_id = $1 AND o.period_id = $2)"
            )
        };
        tx.conn()
            .execute_raw(crate::sql::stmt(
                backend,
                &format!(
                    "UPDATE key_results SET score = progress WHERE organization_id = $1 AND {}",
                    in_period("key_results")
                ),
                vec![org.0.into(), period.0.into()],
            ))
            .await?;
        objective::Entity::update_many()
            .col_expr(objective::Column::Score, Expr::col(objective::Column::Progress))
            .filter(objective::Column::OrganizationId.eq(org.0))
            .filter(objective::Column::PeriodId.eq(period.0))
            .exec(tx.conn())
            .await?;
        Ok(())
    }
}
