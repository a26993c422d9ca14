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
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

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
                    if let Poll::Ready(out) = operation.as_mut().poll(cx) {
                        return Poll::Ready(out);
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
