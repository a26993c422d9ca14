//! Check-ins (append-only), idempotency keys, and freezing scores when a
//! period closes.

use crate::audit::{AuditRecord, row_value};
use crate::convert::{self, now};
use crate::entity::{check_in, idempotency_key, key_result, key_result_kpi_link, objective, period};
use crate::error::{StoreError, StoreResult};
use crate::goals::{check_objective_open, check_period_row_open, facts};
use crate::page::{self, CursorKey, Page, PageArgs, SortDirection, SortSpec};
use crate::sql::{id_in, update_by_id};
use crate::store::{Store, WriteTx};
use goalgraph_domain::formulas::key_result_progress;
use goalgraph_domain::okr::{CheckIn, KeyResult, confidence};
use goalgraph_domain::policy::{self, Action, Actor, Resource};
use goalgraph_domain::values::finite;
use goalgraph_domain::{
    CheckInId, DomainError, KeyResultId, ObjectiveId, OrganizationId, PeriodId, PersonId, UnitId,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, RelationTrait, Set,
};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct CheckInInput {
    pub key_result_id: KeyResultId,
    pub value: f64,
    pub confidence: Option<f64>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

const MUTATION: &str = "checkIn";

/// A check-in's input, checked.
#[derive(Debug, Clone)]
struct Checked {
    key_result_id: KeyResultId,
    value: f64,
    confidence: Option<f64>,
    note: Option<String>,
    key: Option<String>,
    /// The digest of the input, to tell a retry from a reuse of the key.
    hash: String,
}

impl Checked {
    fn new(input: CheckInInput) -> StoreResult<Self> {
        let value = finite("value", input.value)?;
        let confidence = input.confidence.map(confidence).transpose()?;
        let note = goalgraph_domain::values::Description::parse("note", input.note.as_deref())?
            .map(goalgraph_domain::values::Description::into_inner);
        let key = input.idempotency_key.as_deref().map(idempotency_key_value).transpose()?;
        let hash = request_hash(&serde_json::json!({
            "keyResultId": input.key_result_id.0,
            "value": value,
            "confidence": confidence,
            "note": note,
        }));
        Ok(Self { key_result_id: input.key_result_id, value, confidence, note, key, hash })
    }
}

/// A check-in waiting for its batch.
struct Pending {
    actor: Actor,
    input: Checked,
    /// The request it came with, for its audit event.
    request_id: Option<String>,
    reply: tokio::sync::oneshot::Sender<StoreResult<(CheckIn, KeyResult)>>,
}

/// What a check-in of a batch came to.
enum Outcome {
    Written(Box<(CheckIn, KeyResult)>),
    /// A retry of an idempotency key: the first check-in's response.
    Replay(serde_json::Value),
    Failed(StoreError),
    /// Passed its checks: written with the batch (then `Written`).
    Queued,
    /// To be written alone, after the batch.
    Alone,
}

/// What a check-in of a batch is to do, once checked.
enum Step {
    Write,
    Replay(serde_json::Value),
    Alone,
}

/// A check-in of a batch that passed its checks.
struct Written {
    /// Its place in the batch.
    item: usize,
    row: check_in::Model,
    /// Its key result before and after it.
    before: key_result::Model,
    after: key_result::Model,
}

/// The most check-ins written in one transaction (the rest wait for the
/// next); far below either database's limit of bound parameters.
const MAX_BATCH: usize = 256;

/// Check-ins waiting to be written, and the right to write a batch.
#[derive(Default)]
pub(crate) struct CheckInQueue {
    waiting: std::sync::Mutex<Vec<Pending>>,
    runner: Arc<tokio::sync::Mutex<()>>,
}

impl CheckInQueue {
    fn push(&self, pending: Pending) {
        if let Ok(mut q) = self.waiting.lock() {
            q.push(pending);
        }
    }

    /// The next batch: the oldest waiting check-ins.
    fn take(&self) -> Vec<Pending> {
        match self.waiting.lock() {
            Ok(mut q) => {
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// The key result after a check-in of `input` at `at`.
fn checked_in(
    kr: &key_result::Model,
    input: &Checked,
    at: chrono::DateTime<chrono::Utc>,
) -> StoreResult<key_result::Model> {
    let measure =
        kr.measure.parse().map_err(|_| StoreError::corrupt(format!("measure of key result {}", kr.id)))?;
    let mut after = kr.clone();
    after.current_value = input.value;
    if input.confidence.is_some() {
        after.confidence = input.confidence;
    }
    after.last_check_in_at = Some(at);
    after.progress = key_result_progress(measure, kr.start_value, kr.target_value, input.value);
    Ok(after)
}

fn follows_kpi() -> StoreError {
    DomainError::invalid(
        "keyResultId",
        "this key result follows a KPI: record a measurement of the KPI instead",
    )
    .into()
}

fn key_reused() -> StoreError {
    DomainError::conflict("this idempotency key was already used with a different input").into()
}

/// The distinct values of `ids`, sorted.
fn unique(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = ids.collect();
    v.sort_unstable();
    v.dedup();
    v
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
            Some(_) => Err(key_reused()),
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
        Ok(self.idempotency_claims(tx, vec![row]).await? > 0)
    }

    /// Inserts the keys of `rows` not yet taken: how many were inserted.
    async fn idempotency_claims(
        &self,
        tx: &WriteTx,
        rows: Vec<idempotency_key::ActiveModel>,
    ) -> StoreResult<u64> {
        Ok(idempotency_key::Entity::insert_many(rows)
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
            .await?)
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
    ///
    /// Check-ins that arrive while one is being written wait for it and are
    /// then written together, one transaction per tenant (group commit): the
    /// chains' objectives, the audit chain's head and the commit are taken
    /// once for all of them. Each is still all or nothing: one that fails
    /// its checks is left out with its error; if the batch as a whole fails,
    /// each is written again alone.
    pub async fn check_in(&self, actor: &Actor, input: CheckInInput) -> StoreResult<(CheckIn, KeyResult)> {
        let input = Checked::new(input)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.check_in_queue.push(Pending {
            actor: actor.clone(),
            input,
            request_id: crate::audit::current_request_id(),
            reply,
        });
        // Spawned: a request that goes away neither cancels the batch it is
        // part of nor leaves its check-in behind in the queue.
        let store = self.clone();
        tokio::spawn(async move {
            let _runner = store.check_in_queue.runner.clone().lock_owned().await;
            let batch = store.check_in_queue.take();
            if !batch.is_empty() {
                store.run_check_ins(batch).await;
            }
        });
        answer.await.map_err(|_| StoreError::corrupt("the check-in batch stopped before it answered"))?
    }

    /// Keeps this store's check-ins waiting in their queue until the guard
    /// is dropped; then they are written as one batch. For tests of batches.
    #[doc(hidden)]
    pub async fn hold_check_ins(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.check_in_queue.runner.clone().lock_owned().await
    }

    /// How many check-ins wait for a batch.
    #[doc(hidden)]
    pub fn waiting_check_ins(&self) -> usize {
        self.check_in_queue.waiting.lock().map(|q| q.len()).unwrap_or_default()
    }

    /// Writes a batch, tenant by tenant, and answers each check-in.
    async fn run_check_ins(&self, batch: Vec<Pending>) {
        for (org, items) in crate::store::by_tenant(batch, |p| p.actor.organization_id) {
            match self.check_in_batch(org, &items).await {
                Ok(outcomes) => {
                    for (p, outcome) in items.into_iter().zip(outcomes) {
                        let answer = match outcome {
                            Outcome::Written(done) => Ok(*done),
                            Outcome::Failed(e) => Err(e),
                            Outcome::Queued => {
                                Err(StoreError::corrupt("a check-in of a batch was not written"))
                            }
                            Outcome::Replay(response) => self.replayed_check_in(&p.actor, &response).await,
                            Outcome::Alone => self.check_in_alone_for(&p).await,
                        };
                        let _ = p.reply.send(answer);
                    }
                }
                Err(_) => {
                    // A lost race (an idempotency key claimed meanwhile, a
                    // chain changed) or a database error: each alone, as if
                    // it had come by itself.
                    for p in items {
                        let answer = self.check_in_alone_for(&p).await;
                        let _ = p.reply.send(answer);
                    }
                }
            }
        }
    }

    /// A check-in of a batch in a transaction of its own, under its request.
    async fn check_in_alone_for(&self, p: &Pending) -> StoreResult<(CheckIn, KeyResult)> {
        crate::audit::with_request_id(
            p.request_id.clone().unwrap_or_default(),
            self.check_in_alone(&p.actor, &p.input),
        )
        .await
    }

    /// One tenant's check-ins in one transaction, in a fixed number of
    /// statements: what each came to, or an error for the batch as a whole
    /// (nothing written).
    async fn check_in_batch(&self, org: OrganizationId, items: &[Pending]) -> StoreResult<Vec<Outcome>> {
        let backend = self.db_backend();
        let tx = self.write().await?;
        let mut kr_ids: Vec<Uuid> = items.iter().map(|p| p.input.key_result_id.0).collect();
        kr_ids.sort_unstable();
        kr_ids.dedup();
        // Locked in id order, so two batches never wait on each other.
        let mut state: HashMap<Uuid, key_result::Model> = key_result::Entity::find()
            .filter(key_result::Column::OrganizationId.eq(org.0))
            .filter(id_in(backend, "key_results.id", &kr_ids))
            .order_by_asc(key_result::Column::Id)
            .lock_exclusive()
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let objectives: HashMap<Uuid, objective::Model> = self
            .rows_with_on(
                tx.conn(),
                objective::Entity::find().filter(objective::Column::OrganizationId.eq(org.0)),
                "objectives.id",
                unique(state.values().map(|k| k.objective_id)),
            )
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let periods: HashMap<Uuid, period::Model> = self
            .rows_with_on(
                tx.conn(),
                period::Entity::find().filter(period::Column::OrganizationId.eq(org.0)),
                "periods.id",
                unique(objectives.values().map(|o| o.period_id)),
            )
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let linked: HashSet<Uuid> = key_result_kpi_link::Entity::find()
            .filter(key_result_kpi_link::Column::OrganizationId.eq(org.0))
            .filter(id_in(backend, "key_result_kpi_links.key_result_id", &kr_ids))
            .all(tx.conn())
            .await?
            .into_iter()
            .map(|l| l.key_result_id)
            .collect();
        // Each check-in's checks, in the order of a check-in alone; those
        // that pass are applied in arrival order (one key result checked in
        // twice moves twice).
        let mut outcomes = Vec::with_capacity(items.len());
        let mut written: Vec<Written> = Vec::new();
        let mut claimed: HashMap<&str, (&str, Uuid)> = HashMap::new();
        for p in items {
            let input = &p.input;
            let step = (|| -> StoreResult<Step> {
                let kr = state.get(&input.key_result_id.0).ok_or(DomainError::not_found("key result"))?;
                let o = objectives
                    .get(&kr.objective_id)
                    .ok_or_else(|| StoreError::corrupt("key result without objective"))?;
                let resource = Resource::KeyResult {
                    organization_id: org,
                    goal: facts(o)?,
                    owner: PersonId(kr.owner_id),
                };
                policy::authorize(&p.actor, Action::CheckIn, &resource)?;
                if let Some(key) = input.key.as_deref()
                    && let Some(&(hash, id)) = claimed.get(key)
                {
                    return if hash == input.hash {
                        Ok(Step::Replay(serde_json::json!({ "checkInId": id })))
                    } else {
                        Err(key_reused())
                    };
                }
                let checks = (|| -> StoreResult<()> {
                    check_objective_open(o)?;
                    check_period_row_open(
                        periods.get(&o.period_id).ok_or(DomainError::not_found("period"))?,
                    )?;
                    if linked.contains(&kr.id) {
                        return Err(follows_kpi());
                    }
                    Ok(())
                })();
                match checks {
                    Ok(()) => Ok(Step::Write),
                    // A key may be a retry of a check-in made before the
                    // change that fails it now, whose answer stands: alone,
                    // it is looked up first. (A retry that passes is found
                    // by its claim, which then fails the batch.)
                    Err(_) if input.key.is_some() => Ok(Step::Alone),
                    Err(e) => Err(e),
                }
            })();
            match step {
                Err(e) => outcomes.push(Outcome::Failed(e)),
                Ok(Step::Replay(response)) => outcomes.push(Outcome::Replay(response)),
                Ok(Step::Alone) => outcomes.push(Outcome::Alone),
                Ok(Step::Write) => {
                    let before = state[&input.key_result_id.0].clone();
                    let id = CheckInId::new();
                    let at = now();
                    let row = check_in::Model {
                        organization_id: org.0,
                        id: id.0,
                        key_result_id: before.id,
                        value: input.value,
                        confidence: input.confidence,
                        note: tx.seal("note", input.note.clone())?,
                        author_id: p.actor.person_id().map(|p| p.0),
                        created_at: at,
                    };
                    let after = checked_in(&before, input, at)?;
                    state.insert(after.id, after.clone());
                    if let Some(key) = input.key.as_deref() {
                        claimed.insert(key, (input.hash.as_str(), id.0));
                    }
                    outcomes.push(Outcome::Queued);
                    written.push(Written { item: outcomes.len() - 1, row, before, after });
                }
            }
        }
        if written.is_empty() {
            drop(tx);
            return Ok(outcomes);
        }

        let claims: Vec<idempotency_key::ActiveModel> = written
            .iter()
            .filter_map(|w| {
                let input = &items[w.item].input;
                input.key.as_ref().map(|key| idempotency_key::ActiveModel {
                    organization_id: Set(org.0),
                    mutation: Set(MUTATION.to_owned()),
                    key: Set(key.clone()),
                    request_hash: Set(input.hash.clone()),
                    response: Set(serde_json::json!({ "checkInId": w.row.id }).to_string()),
                    created_at: Set(w.row.created_at),
                })
            })
            .collect();
        if !claims.is_empty() {
            let wanted = claims.len() as u64;
            if self.idempotency_claims(&tx, claims).await? != wanted {
                return Err(DomainError::conflict("the idempotency key is being used; retry").into());
            }
        }
        // The check-ins, the key results' and the objectives' updates go with
        // the commit's statement: nothing here reads them back.
        tx.defer(
            check_in::Entity::insert_many(written.iter().map(|w| check_in::ActiveModel::from(w.row.clone())))
                .build(backend),
        );
        let moved: Vec<(Uuid, Vec<sea_orm::Value>)> = unique(written.iter().map(|w| w.after.id))
            .iter()
            .map(|id| {
                let k = &state[id];
                (
                    k.id,
                    vec![
                        k.current_value.into(),
                        k.confidence.into(),
                        k.last_check_in_at.into(),
                        k.progress.into(),
                    ],
                )
            })
            .collect();
        let progress: HashMap<Uuid, f64> = moved.iter().map(|(id, _)| (*id, state[id].progress)).collect();
        tx.defer(update_by_id(
            backend,
            "key_results",
            org.0,
            &["current_value", "confidence", "last_check_in_at", "progress"],
            moved,
        ));
        let starts: Vec<Uuid> = unique(written.iter().map(|w| w.after.objective_id));
        self.recompute_up_many(&tx, org, &starts, Some(&progress)).await?;
        let units: Vec<UnitId> =
            unique(starts.iter().map(|o| objectives[o].owner_unit_id)).into_iter().map(UnitId).collect();
        let ancestors = self.unit_ancestors_in(tx.conn(), org, &units).await?;
        let mut answers = Vec::with_capacity(written.len());
        for w in written {
            let p = &items[w.item];
            let o = &objectives[&w.after.objective_id];
            let unit = UnitId(o.owner_unit_id);
            let mut path = vec![unit];
            path.extend(ancestors.get(&unit).cloned().unwrap_or_default());
            let check_in = self.check_in_model(w.row.clone())?;
            self.emit_key_result_on(
                &tx,
                org,
                &w.after,
                o,
                Some(check_in.clone()),
                &periods[&o.period_id],
                path,
            )?;
            tx.audit_for(
                &p.actor,
                AuditRecord::new(MUTATION, "KeyResult", w.after.id)
                    .changed(&w.before, &w.after)
                    .after_field("checkIn", row_value(&w.row)),
                p.request_id.clone(),
            );
            answers.push((w.item, check_in, convert::key_result(w.after)?));
        }
        tx.commit().await?;
        for (item, check_in, kr) in answers {
            outcomes[item] = Outcome::Written(Box::new((check_in, kr)));
        }
        Ok(outcomes)
    }

    /// A check-in in a transaction of its own.
    async fn check_in_alone(&self, actor: &Actor, input: &Checked) -> StoreResult<(CheckIn, KeyResult)> {
        let org = actor.organization_id;
        let key = input.key.as_deref();
        let hash = input.hash.as_str();

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
        if let Some(key) = key
            && let Replay::Same(response) =
                self.idempotency_lookup(tx.conn(), org, MUTATION, key, hash).await?
        {
            drop(tx);
            return self.replayed_check_in(actor, &response).await;
        }
        self.open_objective_of_id(&tx, org, o.id).await?;
        if self.is_linked(tx.conn(), org, kr.id).await? {
            return Err(follows_kpi());
        }

        let id = CheckInId::new();
        if let Some(key) = key {
            let response = serde_json::json!({ "checkInId": id.0 });
            if !self.idempotency_claim(&tx, org, MUTATION, key, hash, &response).await? {
                drop(tx);
                return match self.idempotency_lookup(&self.db, org, MUTATION, key, hash).await? {
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
            value: Set(input.value),
            confidence: Set(input.confidence),
            note: Set(tx.seal("note", input.note.clone())?),
            author_id: Set(actor.person_id().map(|p| p.0)),
            created_at: Set(at),
        }
        .insert(tx.conn())
        .await?;
        let after = checked_in(&kr, input, at)?;
        let mut active: key_result::ActiveModel = kr.clone().into();
        active.current_value = Set(after.current_value);
        active.confidence = Set(after.confidence);
        active.last_check_in_at = Set(after.last_check_in_at);
        active.progress = Set(after.progress);
        let updated = active.update(tx.conn()).await?;
        self.recompute_up(&tx, org, ObjectiveId(o.id)).await?;
        tx.audit(
            actor,
            AuditRecord::new(MUTATION, "KeyResult", updated.id)
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
