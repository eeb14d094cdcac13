//! OAuth refresh tokens: the `refresh_token` grant, revocation, and what password
//! changes, freezes and administrator revocation do to them (per the app's policy).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use latchkey_store::apps::ConnectedApp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::http::{enc, get_with, send, stack_with_token, token_request, USER};
use crate::support::Stack;

/// A connected app with its secret and a refresh token of it for [`USER`].
struct Authorized {
    app: ConnectedApp,
    secret: SecretString,
    refresh: SecretString,
}

async fn authorized(stack: &Stack, name: &str) -> Authorized {
    let org = stack.services.resolve_org(None).await.unwrap();
    let (app, secret) = stack
        .services
        .console()
        .create_app(&org.id, name, None, None)
        .await
        .unwrap();
    let (_, refresh) = stack
        .services
        .console()
        .authorize_app(&org.id, name, USER)
        .await
        .unwrap();
    Authorized { app, secret, refresh }
}

/// Runs the refresh grant as `client` with `secret` for `token`.
async fn refresh_as(router: &Router, client: &str, secret: &str, token: &str) -> (StatusCode, Value) {
    let form = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        enc(client),
        enc(secret),
        enc(token)
    );
    let (status, _, body) = send(router, token_request(&form)).await;
    (status, serde_json::from_str(&body).unwrap())
}

async fn refresh(router: &Router, a: &Authorized) -> (StatusCode, Value) {
    refresh_as(
        router,
        &a.app.client_id,
        a.secret.expose_secret(),
        a.refresh.expose_secret(),
    )
    .await
}

fn assert_expired((status, json): (StatusCode, Value), why: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {json}");
    assert_eq!(json["error"], "invalid_grant", "{why}");
    assert_eq!(json["error_description"], "expired access/refresh token", "{why}");
}

fn revoke(token: &str) -> Request<Body> {
    Request::post("/services/oauth2/revoke")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={}", enc(token))))
        .unwrap()
}

#[tokio::test]
async fn the_refresh_grant_issues_access_tokens_until_the_refresh_token_is_revoked() {
    let (stack, router, _) = stack_with_token().await;
    let sync = authorized(&stack, "Data Sync").await;
    assert!(sync.refresh.expose_secret().starts_with("5Aep861"));
    assert_eq!(sync.refresh.expose_secret().len(), 87);

    let (status, json) = refresh(&router, &sync).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json.get("refresh_token").is_none(), "no rotation: no new refresh token");
    assert_eq!(json["token_type"], "Bearer");
    let access = json["access_token"].as_str().unwrap().to_owned();
    let id = json["id"].as_str().unwrap();
    let id_path = id.strip_prefix("https://acme.example:8443").unwrap();
    let bearer = format!("Bearer {access}");
    assert_eq!(send(&router, get_with(id_path, Some(&bearer))).await.0, StatusCode::OK);

    // Client authentication is the same as for the other grants.
    let (status, json) = refresh_as(&router, &sync.app.client_id, "wrong", sync.refresh.expose_secret()).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client"))
    );
    // Another app cannot redeem this app's token; a made-up or missing token is expired.
    let other = authorized(&stack, "Other App").await;
    assert_expired(
        refresh_as(
            &router,
            &other.app.client_id,
            other.secret.expose_secret(),
            sync.refresh.expose_secret(),
        )
        .await,
        "another app's token",
    );
    assert_expired(
        refresh_as(
            &router,
            &sync.app.client_id,
            sync.secret.expose_secret(),
            "5Aep861made-up",
        )
        .await,
        "unknown token",
    );
    assert_expired(
        refresh_as(&router, &sync.app.client_id, sync.secret.expose_secret(), "").await,
        "empty token",
    );

    // Revoking the refresh token ends the access tokens issued from it, and only those.
    let (_, json) = refresh(&router, &other).await;
    let others_access = json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        send(&router, revoke(sync.refresh.expose_secret())).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send(&router, get_with(id_path, Some(&bearer))).await.0,
        StatusCode::UNAUTHORIZED,
        "its access token ended with it"
    );
    assert!(stack.services.session(&others_access).await.unwrap().is_some());
    assert_expired(refresh(&router, &sync).await, "revoked token");
    let (status, _, body) = send(&router, revoke(sync.refresh.expose_secret())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_token"), "{body}");
}

#[tokio::test]
async fn refresh_tokens_survive_password_changes_unless_the_app_says_otherwise() {
    let (stack, router, _) = stack_with_token().await;
    let org = stack.services.resolve_org(None).await.unwrap();
    let keeps = authorized(&stack, "Keeps").await;
    let drops = authorized(&stack, "Drops").await;
    let app = stack
        .services
        .console()
        .set_app_switch(
            &org.id,
            "Drops",
            latchkey_store::apps::Switch::RefreshSurvivesPasswordChange,
            false,
        )
        .await
        .unwrap();
    assert!(!app.refresh_survives_password_change);
    let (status, json) = refresh(&router, &keeps).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let old_access = json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(&router, &drops).await.0, StatusCode::OK);

    stack
        .services
        .console()
        .set_password(USER, &SecretString::from("amber-lantern-77"))
        .await
        .unwrap();
    assert!(
        stack.services.session(&old_access).await.unwrap().is_none(),
        "access tokens end with a password change"
    );
    assert_eq!(
        refresh(&router, &keeps).await.0,
        StatusCode::OK,
        "the default: it survives"
    );
    assert_expired(refresh(&router, &drops).await, "policy: ends at a password change");

    stack.services.console().reset_password(USER).await.unwrap();
    assert_eq!(
        refresh(&router, &keeps).await.0,
        StatusCode::OK,
        "an administrator's reset leaves it running too"
    );

    // A freeze ends every refresh token, whatever the policy, and unfreezing does not
    // bring them back.
    stack.services.console().set_frozen(USER, true).await.unwrap();
    stack.services.console().set_frozen(USER, false).await.unwrap();
    assert_expired(refresh(&router, &keeps).await, "frozen");

    // So does an administrator's "revoke sessions".
    let (_, fresh) = stack
        .services
        .console()
        .authorize_app(&org.id, "Keeps", USER)
        .await
        .unwrap();
    let again = Authorized {
        refresh: fresh,
        ..keeps
    };
    assert_eq!(refresh(&router, &again).await.0, StatusCode::OK);
    stack.services.console().revoke_sessions(USER).await.unwrap();
    assert_expired(refresh(&router, &again).await, "sessions revoked");
}

#[tokio::test]
async fn a_refused_user_gets_the_login_error_not_a_token() {
    let (stack, router, _) = stack_with_token().await;
    let sync = authorized(&stack, "Data Sync").await;
    let user = stack.services.user(USER).await.unwrap();
    let profile = stack.services.profile_of(&user).await.unwrap();
    stack
        .services
        .console()
        .set_login_ranges(&user.org_id, &profile.name, &["10.0.0.0/8".parse().unwrap()])
        .await
        .unwrap();
    let (status, json) = refresh(&router, &sync).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "invalid_grant");
    assert_eq!(json["error_description"], "ip restricted");
}

/// Two servers on one database: a refresh token that one of them keeps in memory after
/// its first use is refused there within the change-epoch poll once the other server
/// revokes it.
#[tokio::test]
async fn a_token_revoked_on_another_server_is_refused_within_the_poll() {
    use latchkey_org::login::decision_cache::POLL;

    let (stack, router, _) = stack_with_token().await;
    let sync = authorized(&stack, "Data Sync").await;
    let other = stack.services.another_server();
    for n in 0..3 {
        let (status, json) = refresh(&router, &sync).await;
        assert_eq!(status, StatusCode::OK, "refresh {n}: {json}");
    }
    assert!(other.revoke_refresh_token(sync.refresh.expose_secret()).await.unwrap());
    tokio::time::sleep(POLL + std::time::Duration::from_millis(30)).await;
    assert_expired(refresh(&router, &sync).await, "revoked on the other server");
}
