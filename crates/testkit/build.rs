//! Names the PostgreSQL template database after the migrations' source, so
//! a changed migration never reuses a stale template.

use std::hash::{Hash, Hasher};

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/src");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        f.file_name().hash(&mut hasher);
        std::fs::read(&f).unwrap_or_default().hash(&mut hasher);
    }
    println!("cargo::rustc-env=GOALGRAPH_MIGRATIONS_HASH={:016x}", hasher.finish());
}
