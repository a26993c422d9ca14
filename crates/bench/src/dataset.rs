//! The data set the HTTP workloads (`team`, `department`, `alignment`,
//! `checkin`, `mix`) and the export run on: created once per database, by
//! the bench process before it starts the server, so that the server's
//! memory and a profile of it hold only what it serves.
//!
//! [`seed`] is the only place that knows how the data is made. The
//! workloads learn what they need (units, the active period, key results)
//! by querying the server or the database, never from here, so that the
//! generator can be swapped without touching them.

use crate::Fallible;
use goalgraph_persistence::{GenerateOptions, Store, StoreOptions};

/// What the server process needs to mint its admin's token; nothing about
/// the data's shape.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The tenant's slug (the token's tenant claim).
    pub slug: String,
    /// The subject of an ADMIN of the tenant.
    pub admin_subject: String,
}

/// The tenant's slug.
const SLUG: &str = "okr-bench";

/// Quarters of history: a year, the current quarter ACTIVE.
const PERIODS: u32 = 4;

/// Seeds the generated organization of `people` people (`goalgraph seed
/// --people N --seed S`, a year of quarters) on `store`, printing progress
/// to stderr.
pub async fn seed(store: &Store, people: u32, seed: u64) -> Fallible<Dataset> {
    let opts =
        GenerateOptions { name: "Bench Corp".into(), ..GenerateOptions::new(people, PERIODS, seed, SLUG) };
    let report = goalgraph_server::seed::generate_with_progress(store, &opts)
        .await
        .map_err(|e| format!("seeding the data set: {e}"))?;
    Ok(Dataset { slug: report.organization.slug, admin_subject: report.admin.subject })
}

/// Migrates the database at `url` and seeds the data set there ([`seed`]).
pub async fn seed_database(url: &str, people: u32, seed_value: u64) -> Fallible<Dataset> {
    let store = Store::connect(url, &StoreOptions::default()).await.map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let dataset = seed(&store, people, seed_value).await?;
    store.close().await.map_err(|e| e.to_string())?;
    Ok(dataset)
}

/// The data set [`seed`] left in a database, for a server process that did
/// not seed it (its memory then holds only what it serves): the generator
/// gives the admin the subject `admin@<slug>.example`.
pub fn existing() -> Dataset {
    Dataset { slug: SLUG.to_owned(), admin_subject: format!("admin@{SLUG}.example") }
}
