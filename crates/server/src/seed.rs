//! Generated organizations: `goalgraph seed --people N` (a deterministic
//! organization of any size, see `goalgraph_persistence::GenerateOptions`)
//! and the demo organization of `serve --demo`, a small instance of the
//! same generator. The demo is created once; later starts reuse it.

use goalgraph_domain::model::Person;
use goalgraph_persistence::{GenerateOptions, GenerateReport, Store, StoreResult};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.example";

/// People in the demo organization.
const DEMO_PEOPLE: u32 = 60;

/// The demo's generator settings: Demo Corp, 60 people, the current and the
/// previous quarter.
pub fn demo_options() -> GenerateOptions {
    GenerateOptions {
        name: "Demo Corp".into(),
        time_zone: Some("Europe/Berlin".into()),
        ..GenerateOptions::new(DEMO_PEOPLE, 2, 1, DEMO_SLUG)
    }
}

/// Creates the demo organization unless it exists; returns its admin.
pub async fn demo(store: &Store) -> StoreResult<Person> {
    if let Some(org) = store.find_organization(DEMO_SLUG).await?
        && let Some(admin) = store.find_person_by_email(org.id, DEMO_ADMIN_EMAIL).await?
    {
        return Ok(admin);
    }
    Ok(store.generate(&demo_options(), &|_, _, _| {}).await?.admin)
}

/// Generates `opts`, printing progress to stderr (a line per table when it
/// is done, and at most one a second in between).
pub async fn generate_with_progress(store: &Store, opts: &GenerateOptions) -> StoreResult<GenerateReport> {
    let last = Mutex::new(Instant::now());
    let progress = |table: &str, done: u64, total: u64| {
        let Ok(mut last) = last.lock() else { return };
        if done == total || last.elapsed() >= Duration::from_secs(1) {
            *last = Instant::now();
            eprintln!("{table:<18} {done:>10} / {total}");
        }
    };
    store.generate(opts, &progress).await
}
