//! Sets `cfg(goalgraph_pg_tests)` when `TEST_DATABASE_URL` is set, so the
//! PostgreSQL twins of the test suite run; otherwise they are reported as
//! ignored with the reason.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(goalgraph_pg_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=goalgraph_pg_tests");
    }
}
