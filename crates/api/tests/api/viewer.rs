//! `viewer` is the person the request is authenticated as; `organization`
//! is theirs. Checked for every role of the fixture and for the other tenant.

use crate::support::{World, expect_data};
use goalgraph_testkit::TestDb;
use serde_json::json;

const QUERY: &str = "{ viewer { name roles unit { name } } organization { name slug companyUnit { name } } }";

pub async fn viewer_and_organization_for_each_role(db: TestDb) {
    let w = World::new(&db).await;
    let alpha = json!({ "name": "Alpha Corp", "slug": "alpha", "companyUnit": { "name": "Alpha Corp" } });
    let bravo = json!({ "name": "Bravo Inc", "slug": "bravo", "companyUnit": { "name": "Bravo Inc" } });
    // (tenant, person, roles, unit, organization), from the fixture.
    let cases = [
        (&w.a, "Ada Admin", "ADMIN", "Alpha Corp", &alpha),
        (&w.a, "Hana Human", "HR", "Alpha Corp", &alpha),
        (&w.a, "Max Manager", "MANAGER", "Engineering", &alpha),
        (&w.a, "Mia Member", "MEMBER", "Platform", &alpha),
        (&w.a, "Vic Viewer", "VIEWER", "Field Sales", &alpha),
        (&w.b, "Bob Admin", "ADMIN", "Bravo Inc", &bravo),
        (&w.b, "Bea Bravo", "MEMBER", "Bravo Lab", &bravo),
    ];
    for (tenant, person, role, unit, organization) in cases {
        let session = tenant.session(&w.store, person).await;
        let response = session.gql(QUERY, json!({})).await;
        assert_eq!(
            expect_data(&response),
            json!({
                "viewer": { "name": person, "roles": [role], "unit": { "name": unit } },
                "organization": organization,
            }),
            "as {person}"
        );
    }
}
