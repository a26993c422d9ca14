//! The committed schema is the public contract: the code and
//! `schema/schema.graphql` must agree. When they do not, the file is
//! rewritten (so the diff is ready to review and commit) and the test fails.

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/schema.graphql");

#[test]
fn committed_schema_matches_the_code() {
    let sdl = goalgraph_api::sdl();
    // The Relay conventions and connection totals the product brief promises.
    assert!(sdl.contains("interface Node"), "the schema has no Node interface:\n{sdl}");
    assert!(sdl.contains("totalCount"), "the schema's connections have no totalCount:\n{sdl}");

    let committed = std::fs::read_to_string(SCHEMA_FILE).ok();
    if committed.as_deref() != Some(sdl.as_str()) {
        std::fs::write(SCHEMA_FILE, &sdl).unwrap_or_else(|e| panic!("cannot write {SCHEMA_FILE}: {e}"));
        panic!("schema/schema.graphql was out of date and has been rewritten: commit the updated schema");
    }
}
