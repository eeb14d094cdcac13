//! The JWT bearer grant in process: an assertion signed with the key of the app's
//! registered certificate logs a pre-authorised user in; every other assertion is
//! refused with Salesforce's error — unapproved user, another key, expired, too long
//! a lifetime, wrong audience, unknown issuer, a MAC made with the public key.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_org::oauth::jwt_bearer::GRANT_TYPE;
use serde_json::{json, Value};

use crate::http::{enc, send, stack_with_token, token_request, USER};

const APP_KEY: &str = include_str!("../fixtures/jwt_app.key");
const APP_CERT: &str = include_str!("../fixtures/jwt_app.crt");
const OTHER_KEY: &str = include_str!("../fixtures/jwt_other.key");
const AUDIENCE: &str = "https://acme.example:8443";

fn sign(claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn grant(router: &axum::Router, assertion: &str) -> (axum::http::StatusCode, Value) {
    let form = format!("grant_type={}&assertion={}", enc(GRANT_TYPE), enc(assertion));
    let (status, _, body) = send(router, token_request(&form)).await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn a_pre_authorised_user_logs_in_by_signed_assertion_and_nothing_else_does() {
    let (stack, router, _) = stack_with_token().await;
    let org = stack.services.resolve_org(None).await.unwrap();
    let (app, _) = stack
        .services
        .console()
        .create_app(&org.id, "Server Sync", None, None)
        .await
        .unwrap();
    let now = || stack.services.now().timestamp();
    let claims = |sub: &str, aud: &str, exp: i64| json!({"iss": app.client_id, "sub": sub, "aud": aud, "exp": exp});
    let good = claims(USER, AUDIENCE, now() + 120);

    let (status, json) = grant(&router, &sign(&good, APP_KEY)).await;
    assert_eq!(
        (status.as_u16(), json["error_description"].as_str()),
        (400, Some("invalid assertion")),
        "no certificate yet"
    );
    assert!(stack
        .services
        .console()
        .set_app_jwt_key(&org.id, "Server Sync", "not a pem")
        .await
        .is_err());
    stack
        .services
        .console()
        .set_app_jwt_key(&org.id, "Server Sync", APP_CERT)
        .await
        .unwrap();

    let (status, json) = grant(&router, &sign(&good, APP_KEY)).await;
    assert_eq!(
        json["error_description"], "user hasn't approved this consumer",
        "{status} {json}"
    );

    stack
        .services
        .console()
        .authorize_app(&org.id, "Server Sync", USER)
        .await
        .unwrap();
    let (status, json) = grant(&router, &sign(&good, APP_KEY)).await;
    assert_eq!(status.as_u16(), 200, "{json}");
    let access = json["access_token"].as_str().unwrap();
    assert!(stack.services.session(access).await.unwrap().is_some());
    assert!(json.get("refresh_token").is_none());
    assert_eq!(json["instance_url"], AUDIENCE);

    let cases = [
        (sign(&good, OTHER_KEY), "invalid_grant", "invalid assertion"),
        (
            sign(&claims(USER, AUDIENCE, now() - 60), APP_KEY),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            sign(&claims(USER, AUDIENCE, now() + 600), APP_KEY),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            sign(&claims(USER, "https://login.example", now() + 60), APP_KEY),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            sign(&claims("nobody@acme.test", AUDIENCE, now() + 60), APP_KEY),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            sign(
                &json!({"iss": "3MVG9unknown", "sub": USER, "aud": AUDIENCE, "exp": now() + 60}),
                APP_KEY,
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &good,
                &EncodingKey::from_secret(APP_CERT.as_bytes()),
            )
            .unwrap(),
            "invalid_grant",
            "invalid assertion",
        ),
        ("not.a.jwt".to_owned(), "invalid_grant", "invalid assertion"),
        (String::new(), "invalid_grant", "invalid assertion"),
    ];
    for (assertion, error, description) in cases {
        let (status, json) = grant(&router, &assertion).await;
        assert_eq!(status.as_u16(), 400, "{json}");
        assert_eq!(
            (json["error"].as_str(), json["error_description"].as_str()),
            (Some(error), Some(description)),
            "{json}"
        );
    }

    // The audiences and `exp` shapes the clients send: the Salesforce login hosts
    // (the CLI, simple-salesforce), `exp` as a string of seconds (simple-salesforce),
    // in milliseconds (the CLI's `Date.now() + 300`), five minutes ahead.
    let accepted = [
        claims(USER, "https://login.salesforce.com", now() + 60),
        claims(USER, "https://test.salesforce.com/", now() + 60),
        json!({"iss": app.client_id, "sub": USER, "aud": "https://login.salesforce.com", "exp": (now() + 180).to_string()}),
        claims(USER, "https://login.salesforce.com", now() * 1000 + 300),
        claims(USER, AUDIENCE, now() + 300),
    ];
    for c in &accepted {
        let (status, json) = grant(&router, &sign(c, APP_KEY)).await;
        assert_eq!(status.as_u16(), 200, "{c}: {json}");
    }
    let refused = [
        claims(USER, "https://login.salesforce.com", (now() - 60) * 1000),
        json!({"iss": app.client_id, "sub": USER, "aud": AUDIENCE, "exp": "soon"}),
        json!({"iss": app.client_id, "sub": USER, "aud": "https://evil.salesforce.com", "exp": now() + 60}),
    ];
    for c in &refused {
        let (status, _) = grant(&router, &sign(c, APP_KEY)).await;
        assert_eq!(status.as_u16(), 400, "{c}");
    }

    // A frozen user is refused like any login; revoking the authorisation ends it.
    stack.services.console().set_frozen(USER, true).await.unwrap();
    assert_eq!(grant(&router, &sign(&good, APP_KEY)).await.1["error"], "invalid_grant");
    stack.services.console().set_frozen(USER, false).await.unwrap();
    assert_eq!(grant(&router, &sign(&good, APP_KEY)).await.0.as_u16(), 200);
    let user = stack.services.user(USER).await.unwrap();
    assert!(stack
        .services
        .revoke_app_authorization(&user, &app.client_id)
        .await
        .unwrap());
    assert_eq!(
        grant(&router, &sign(&good, APP_KEY)).await.1["error_description"],
        "user hasn't approved this consumer"
    );
}
