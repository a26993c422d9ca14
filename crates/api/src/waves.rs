//! Level-synchronous batching ("waves") for the DataLoaders of one request.
//!
//! A DataLoader batches the keys that arrive before its fetch starts, so
//! with a fixed delay the batch boundaries depend on timing: siblings whose
//! parents' results arrive a little apart end up in two statements. Here
//! the loaders do not spawn their fetches; they queue them, and the
//! request's own task runs them in waves: it polls the operation until it
//! is blocked on loads, then starts every queued fetch at once and lets the
//! operation go on only when the whole wave has been delivered. Each wave
//! costs one statement per loader used, so the statement count of a query
//! depends only on its shape, and no timer adds latency per level.

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::task::ArcWake;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Polls of one wave before it starts even if the operation keeps waking
/// itself (a guard, not a tuning knob: real operations settle in a few).
const MAX_ROUNDS: usize = 10_000;

/// Forwards wake-ups and remembers that one happened.
struct WakeFlag {
    inner: Waker,
    woken: AtomicBool,
}

impl ArcWake for WakeFlag {
    fn wake_by_ref(arc: &Arc<Self>) {
        arc.woken.store(true, Ordering::Release);
        arc.inner.wake_by_ref();
    }
}

/// The fetches queued by one request's loaders.
#[derive(Clone, Default)]
pub struct Waves {
    queue: Arc<Mutex<Vec<BoxFuture<'static, ()>>>>,
}

impl Waves {
    /// The spawner handed to the request's DataLoaders.
    pub(crate) fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queue = self.queue.clone();
        move |fut| {
            if let Ok(mut q) = queue.lock() {
                q.push(fut);
            }
        }
    }

    fn take_queued(&self) -> Vec<BoxFuture<'static, ()>> {
        self.queue.lock().map(|mut q| std::mem::take(&mut *q)).unwrap_or_default()
    }

    /// Drives `operation` and the loaders' fetches, wave by wave.
    pub async fn run<F: Future>(&self, operation: F) -> F::Output {
        let mut operation = pin!(operation);
        let mut wave: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
        std::future::poll_fn(move |cx| {
            loop {
                if wave.is_empty() {
                    // Poll until the operation is really blocked: a poll that
                    // woke its own task (FuturesUnordered yields after a
                    // budget of items, leaving the rest of a long list
                    // unpolled) is not, and its remaining keys belong to
                    // this wave.
                    let mut rounds = 0;
                    loop {
                        let flag =
                            Arc::new(WakeFlag { inner: cx.waker().clone(), woken: AtomicBool::new(false) });
                        let waker = futures_util::task::waker(flag.clone());
                        let mut inner_cx = Context::from_waker(&waker);
                        if let Poll::Ready(out) = operation.as_mut().poll(&mut inner_cx) {
                            return Poll::Ready(out);
                        }
                        rounds += 1;
                        if !flag.woken.load(Ordering::Acquire) || rounds >= MAX_ROUNDS {
                            break;
                        }
                    }
                    let queued = self.take_queued();
                    if queued.is_empty() {
                        // Blocked on something else (a direct store call).
                        return Poll::Pending;
                    }
                    wave.extend(queued);
                }
                match wave.poll_next_unpin(cx) {
                    Poll::Ready(_) => continue,
                    Poll::Pending => return Poll::Pending,
                }
            }
        })
        .await
    }
}
