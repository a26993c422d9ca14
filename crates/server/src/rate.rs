//! Rate limiting by query cost, per actor and per tenant.
//!
//! An operation costs its complexity as async-graphql computes it while
//! validating (one per selected field, fragments inlined), so a client
//! pays for what it asks, not per request. Budgets refill continuously
//! (GCRA, from the `governor` crate): a budget of `cost` per `period`
//! allows a burst of `cost` and refills one unit every `period / cost`.
//!
//! The actor's budget is keyed by its credential (a JWT's tenant and
//! subject, an API key's hash) and checked right after validation, before
//! the actor is looked up in the database. The tenant's budget is keyed by
//! the organization's id, known once the actor is (over HTTP just before
//! execution, over a WebSocket from `connection_init`).

use crate::config::RateLimitSettings;
use async_graphql::ServerError;
use async_graphql::extensions::ExtensionContext;
use goalgraph_api::{CostCheck, ErrorCode};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The budgets of one server process.
pub struct RateLimiter {
    actor: Option<DefaultKeyedRateLimiter<String>>,
    tenant: Option<DefaultKeyedRateLimiter<String>>,
}

/// Why an operation may not run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over budget: it may run after this wait.
    Later(Duration),
    /// It costs more than the whole budget: it never will.
    TooCostly { cost: usize, budget: u32 },
}

fn limiter(cost: u32, period: Duration) -> Option<DefaultKeyedRateLimiter<String>> {
    let burst = NonZeroU32::new(cost)?;
    let per_unit = (period / cost).max(Duration::from_nanos(1));
    let quota = Quota::with_period(per_unit)?.allow_burst(burst);
    Some(DefaultKeyedRateLimiter::keyed(quota))
}

impl RateLimiter {
    pub fn new(settings: &RateLimitSettings) -> Self {
        let period = settings.period();
        Self { actor: limiter(settings.actor_cost, period), tenant: limiter(settings.tenant_cost, period) }
    }

    pub fn check_actor(&self, key: &str, cost: usize) -> Result<(), Refusal> {
        check(self.actor.as_ref(), key, cost)
    }

    pub fn check_tenant(&self, key: &str, cost: usize) -> Result<(), Refusal> {
        check(self.tenant.as_ref(), key, cost)
    }

    /// Forgets keys whose budget is full again (they would start full
    /// anyway), so the maps hold only recent spenders.
    pub fn forget_idle(&self) {
        for limiter in [&self.actor, &self.tenant].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn check(limiter: Option<&DefaultKeyedRateLimiter<String>>, key: &str, cost: usize) -> Result<(), Refusal> {
    use governor::clock::Clock as _;
    let Some(limiter) = limiter else { return Ok(()) };
    let Some(n) = NonZeroU32::new(u32::try_from(cost).unwrap_or(u32::MAX)) else { return Ok(()) };
    let key = key.to_owned();
    match limiter.check_key_n(&key, n) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(not_until)) => Err(Refusal::Later(not_until.wait_time_from(limiter.clock().now()))),
        Err(insufficient) => Err(Refusal::TooCostly { cost, budget: insufficient.0 }),
    }
}

impl Refusal {
    /// The GraphQL error: RATE_LIMITED with `retryAfterSeconds` (whole
    /// seconds, rounded up), or BAD_USER_INPUT for an operation no budget
    /// can pay for.
    pub fn into_error(self, whose: &str) -> ServerError {
        match self {
            Self::Later(wait) => {
                let seconds = retry_after_seconds(wait);
                let mut error = ServerError::new(
                    format!("rate limited: the {whose}'s query-cost budget is spent; retry in {seconds} s"),
                    None,
                );
                let ext = error.extensions.get_or_insert_with(Default::default);
                ext.set("code", ErrorCode::RateLimited.as_str());
                ext.set("retryAfterSeconds", seconds);
                metrics::counter!("goalgraph_rate_limited_total", "budget" => budget_label(whose))
                    .increment(1);
                error
            }
            Self::TooCostly { cost, budget } => crate::document::refusal(
                ErrorCode::BadUserInput,
                format!("the operation costs {cost}, more than the {whose}'s whole budget of {budget}"),
            ),
        }
    }
}

fn budget_label(whose: &str) -> &'static str {
    if whose == "tenant" { "tenant" } else { "actor" }
}

/// Whole seconds to wait, at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

/// Who pays for an operation, in its request data.
pub struct RateScope {
    /// The actor's key, from its credential.
    pub actor: Arc<str>,
    /// The tenant's key, when the actor is already known (WebSocket).
    pub tenant: Option<String>,
    /// The cost, once validated: the HTTP path charges the tenant with it.
    pub cost: Arc<AtomicUsize>,
}

/// The check that charges each validated operation, run by the schema's
/// extension ([`goalgraph_api::CostCheck`]).
pub struct CostGuard(pub Arc<RateLimiter>);

impl CostCheck for CostGuard {
    fn check(&self, ctx: &ExtensionContext<'_>, complexity: usize) -> Result<(), Vec<ServerError>> {
        if let Some(scope) = ctx.data_opt::<RateScope>() {
            scope.cost.store(complexity, Ordering::Relaxed);
            self.0.check_actor(&scope.actor, complexity).map_err(|r| vec![r.into_error("actor")])?;
            if let Some(tenant) = &scope.tenant {
                self.0.check_tenant(tenant, complexity).map_err(|r| vec![r.into_error("tenant")])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn budgets_per_key_refill_and_hint_the_wait() {
        let limiter =
            RateLimiter::new(&RateLimitSettings { actor_cost: 10, tenant_cost: 0, period_seconds: 1.0 });
        assert_eq!(limiter.check_actor("a", 6), Ok(()));
        let Err(Refusal::Later(wait)) = limiter.check_actor("a", 6) else {
            unreachable!("a second 6 of 10 must wait")
        };
        // 2 units are missing, refilled at one per 100 ms.
        assert!(wait > Duration::from_millis(100) && wait <= Duration::from_millis(200), "{wait:?}");
        assert_eq!(retry_after_seconds(wait), 1);
        // Another key has its own budget; the tenant budget is off.
        assert_eq!(limiter.check_actor("b", 10), Ok(()));
        assert_eq!(limiter.check_tenant("t", 1_000_000), Ok(()));
        assert_eq!(limiter.check_actor("a", 11), Err(Refusal::TooCostly { cost: 11, budget: 10 }));
        // Costing nothing is free.
        assert_eq!(limiter.check_actor("a", 0), Ok(()));
    }

    #[test]
    fn retry_hints_round_up() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
    }
}
