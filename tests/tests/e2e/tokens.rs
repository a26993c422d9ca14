//! Bearer tokens: every kind of bad credential answers 401 with a Bearer
//! challenge and UNAUTHENTICATED before any resolver runs; a valid token on
//! the same request works.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use goalgraph_e2e::{CREATE_UNIT, WHO_AM_I, create_org, deactivate, generate_keys, start};
use goalgraph_testkit::TestDb;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _, LineEnding};
use serde_json::{Map, Value, json};

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// A token with any header, any payload and any signature bytes.
fn hand_built(header: &Value, claims: &Map<String, Value>, signature: &str) -> String {
    format!("{}.{}.{signature}", b64(header), b64(&Value::Object(claims.clone())))
}

fn with(claims: &Map<String, Value>, key: &str, value: Value) -> Map<String, Value> {
    let mut claims = claims.clone();
    claims.insert(key.to_owned(), value);
    claims
}

fn without(claims: &Map<String, Value>, key: &str) -> Map<String, Value> {
    let mut claims = claims.clone();
    claims.remove(key);
    claims
}

fn encode(alg: Algorithm, kid: Option<&str>, claims: &Map<String, Value>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// Replaces one character in the middle of the signature.
fn tamper(token: &str) -> String {
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let mut chars: Vec<char> = signature.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    format!("{rest}.{}", chars.into_iter().collect::<String>())
}

pub async fn invalid_tokens_are_refused_before_execution(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let slug = acme.org.slug.as_str();
    let kid = server.keys().kid.clone();
    // The admin's claims, so that a mutation slipping through would leave a unit behind.
    let claims = server.claims(&acme.admin.subject, slug);
    let now = chrono::Utc::now().timestamp();

    let private_pem = server.private_key_pem();
    let private = RsaPrivateKey::from_pkcs8_pem(&private_pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&private_pem))
        .unwrap();
    let spki_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
    let pkcs1_pem = private.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
    let right_private_key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other_keys = generate_keys(other_dir.path()).await;
    assert_ne!(other_keys.kid, kid);

    // Positive controls: the same request with valid tokens.
    let valid = server.sign(&claims);
    for (label, token) in [
        ("signed claims", valid.clone()),
        ("minted token", server.token(&acme, &acme.admin)),
        (
            "expired 10 s ago, within the 30 s leeway",
            server.token_with_ttl(&acme.admin.subject, slug, chrono::Duration::seconds(-10)),
        ),
        ("exp 10 s ago, signed claims", server.sign(&with(&claims, "exp", json!(now - 10)))),
    ] {
        let data = server.gql(Some(&token), WHO_AM_I, json!({})).await;
        assert_eq!(data.status, StatusCode::OK, "{label}: {}", data.body);
        let data = data.assert_ok();
        assert_eq!(data["viewer"]["name"], "Acme Admin", "{label}");
        assert_eq!(data["organization"]["name"], "Acme Corp", "{label}");
    }
    let company = server.company_unit_id(&valid).await;
    let units_before = server.unit_count(&valid).await;

    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("a Basic credential", Some("Basic YWRtaW46YWRtaW4=".to_owned())),
        ("Bearer without a token", Some("Bearer ".to_owned())),
        (
            "alg none, unsigned",
            bearer(&hand_built(&json!({ "alg": "none", "typ": "JWT", "kid": kid }), &claims, "")),
        ),
        (
            "HS256 keyed with the public key (SPKI PEM)",
            bearer(&encode(
                Algorithm::HS256,
                Some(&kid),
                &claims,
                &EncodingKey::from_secret(spki_pem.as_bytes()),
            )),
        ),
        (
            "HS256 keyed with the public key (PKCS#1 PEM)",
            bearer(&encode(
                Algorithm::HS256,
                Some(&kid),
                &claims,
                &EncodingKey::from_secret(pkcs1_pem.as_bytes()),
            )),
        ),
        (
            "RS512 with the right private key",
            bearer(&encode(Algorithm::RS512, Some(&kid), &claims, &right_private_key)),
        ),
        ("RS256 without a kid", bearer(&encode(Algorithm::RS256, None, &claims, &right_private_key))),
        ("exp 120 s ago, beyond the leeway", bearer(&server.sign(&with(&claims, "exp", json!(now - 120))))),
        (
            "minted with a ttl of -120 s",
            bearer(&server.token_with_ttl(&acme.admin.subject, slug, chrono::Duration::seconds(-120))),
        ),
        ("exp as a string", bearer(&server.sign(&with(&claims, "exp", json!((now + 3600).to_string()))))),
        ("exp missing", bearer(&server.sign(&without(&claims, "exp")))),
        ("wrong issuer", bearer(&server.sign(&with(&claims, "iss", json!("https://evil.example"))))),
        ("wrong audience", bearer(&server.sign(&with(&claims, "aud", json!("another-api"))))),
        ("unknown kid (signed by another key)", bearer(&other_keys.sign_claims(&claims).unwrap())),
        (
            "known kid, signed by another key",
            bearer(&encode(
                Algorithm::RS256,
                Some(&kid),
                &claims,
                &EncodingKey::from_rsa_pem(
                    std::fs::read(goalgraph_server::auth::private_key_path(other_dir.path()))
                        .unwrap()
                        .as_slice(),
                )
                .unwrap(),
            )),
        ),
        ("missing sub", bearer(&server.sign(&without(&claims, "sub")))),
        ("missing tenant claim", bearer(&server.sign(&without(&claims, "org")))),
        ("not before in an hour", bearer(&server.sign(&with(&claims, "nbf", json!(now + 3600))))),
        ("garbage", Some("Bearer abc.def".to_owned())),
        ("tampered signature", bearer(&tamper(&valid))),
    ];
    for (label, authorization) in &cases {
        for (query, variables) in [
            (WHO_AM_I, json!({})),
            (CREATE_UNIT, json!({ "parent": company, "name": format!("Leak {label}") })),
        ] {
            let mut request = server.client.post(server.graphql_url()).json(&json!({
                "query": query,
                "variables": variables,
            }));
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let reply = goalgraph_e2e::reply(request.send().await.unwrap()).await;
            reply.assert_unauthenticated(label);
        }
    }

    // Nothing ran: the mutations sent with refused tokens created nothing;
    // the positive control below shows the same mutation does.
    assert_eq!(server.unit_count(&valid).await, units_before);
    server.create_department(&valid, &company, "Created with a valid token").await;
    assert_eq!(server.unit_count(&valid).await, units_before + 1);
    server.stop().await;
}

pub async fn identities_outside_the_tenant_are_refused(db: TestDb) {
    let server = start(&db).await;
    let acme = create_org(server.store(), "acme").await;
    let globex = create_org(server.store(), "globex").await;

    let who = async |token: &str| server.gql(Some(token), WHO_AM_I, json!({})).await;

    // Positive controls: each person in their own tenant.
    let member_token = server.token(&acme, &acme.member);
    let data = who(&member_token).await.assert_ok();
    assert_eq!(data["viewer"]["name"], "Acme Member");
    assert_eq!(data["organization"]["name"], "Acme Corp");
    let data = who(&server.token(&globex, &globex.admin)).await.assert_ok();
    assert_eq!(data["viewer"]["name"], "Globex Admin");
    assert_eq!(data["organization"]["name"], "Globex Corp");

    // A subject nobody in the tenant has.
    who(&server.token_for("nobody@acme.example", "acme")).await.assert_unauthenticated("unknown subject");
    // Acme's subject presented to Globex.
    who(&server.token_for(&acme.member.subject, "globex"))
        .await
        .assert_unauthenticated("another tenant's slug with this tenant's subject");
    who(&server.token_for(&acme.admin.subject, "globex"))
        .await
        .assert_unauthenticated("another tenant's slug with this tenant's admin");
    // A tenant that does not exist.
    who(&server.token_for(&acme.member.subject, "initech")).await.assert_unauthenticated("unknown tenant");

    // Deactivation takes effect on the very next request with the same token.
    deactivate(server.store(), &acme, &acme.member).await;
    who(&member_token).await.assert_unauthenticated("deactivated person");
    let data = who(&server.token(&acme, &acme.admin)).await.assert_ok();
    assert_eq!(data["viewer"]["name"], "Acme Admin");
    server.stop().await;
}
