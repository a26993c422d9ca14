//! The database of a run: a temporary SQLite file, or a new PostgreSQL
//! database created (and dropped) on the server `--database-url` names.

use crate::Fallible;
use goalgraph_persistence::{Store, StoreOptions};

pub struct BenchDb {
    pub url: String,
    /// Holds the SQLite file, and the servers' data directories (keys).
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

pub async fn bench_db(server_url: Option<&str>) -> Fallible<BenchDb> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    match server_url {
        None => {
            Ok(BenchDb { url: format!("sqlite://{}", dir.path().join("bench.db").display()), dir, pg: None })
        }
        Some(admin) => {
            let name = format!("goalgraph_bench_{}", std::process::id());
            let store = admin_store(admin).await?;
            store.drop_database(&name).await.map_err(|e| e.to_string())?;
            store.create_database(&name).await.map_err(|e| e.to_string())?;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
            Ok(BenchDb { url: format!("{base}/{name}"), dir, pg: Some((admin.to_owned(), name)) })
        }
    }
}

async fn admin_store(url: &str) -> Fallible<Store> {
    Store::connect(url, &StoreOptions { max_connections: 1, ..Default::default() })
        .await
        .map_err(|e| e.to_string())
}

pub async fn drop_db(db: &BenchDb) {
    if let Some((admin, name)) = &db.pg
        && let Ok(store) = admin_store(admin).await
    {
        let _ = store.drop_database(name).await;
    }
}
