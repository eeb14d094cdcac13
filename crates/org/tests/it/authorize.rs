//! The web-server flow in process: authorize → consent → code → token, and the
//! security properties — a redirect URI the app has not registered never redirects,
//! Deny says `access_denied`, codes work once (a replay revokes what they issued),
//! PKCE is checked and required of public clients, and a rotated refresh token
//! presented again revokes its whole family.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use latchkey_core::secret::pkce_challenge as s256;
use latchkey_store::apps::{ConnectedApp, Switch};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tower::ServiceExt;

use crate::http::{enc, stack_with_token, token_request, USER};
use crate::support::Stack;

const CALLBACK: &str = "https://app.example/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A browser signed in as [`USER`]: its `sid` cookie.
async fn browser(stack: &Stack) -> String {
    let user = stack.services.user(USER).await.unwrap();
    let (user, org) = stack.services.user_and_org(&user.id).await.unwrap();
    let issued = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    format!("sid={}", issued.id.expose_secret())
}

/// `(status, Location, body, Set-Cookie values, CSP)`.
async fn call(router: &Router, req: Request<Body>) -> (StatusCode, String, String, Vec<String>, String) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let header_text = |name: header::HeaderName| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let location = header_text(header::LOCATION);
    let csp = header_text(header::CONTENT_SECURITY_POLICY);
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
        cookies,
        csp,
    )
}

fn authorize_path(app: &ConnectedApp, extra: &str) -> String {
    format!(
        "/services/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}&state=st%26ate{extra}",
        enc(&app.client_id),
        enc(CALLBACK)
    )
}

fn pkce() -> String {
    format!("&code_challenge={}&code_challenge_method=S256", s256(VERIFIER))
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Walks the consent page as the signed-in browser and answers `decision`; returns
/// where the org redirected.
async fn consent(router: &Router, sid: &str, path: &str, decision: &str) -> String {
    let get = Request::get(path)
        .header(header::COOKIE, sid)
        .body(Body::empty())
        .unwrap();
    let (status, _, page, cookies, csp) = call(router, get).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Allow Access?") && page.contains("Web Sync"), "{page}");
    assert!(csp.contains("form-action 'self' https://app.example"), "{csp}");
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.find(&marker).unwrap() + marker.len();
        page[start..start + page[start..].find('"').unwrap()]
            .replace("&#38;", "&")
            .replace("&amp;", "&")
    };
    let form: Vec<(String, String)> = [
        "_csrf",
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ]
    .iter()
    .map(|n| ((*n).to_owned(), field(n)))
    .chain([("decision".to_owned(), decision.to_owned())])
    .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let cookie = format!("{sid}; {}", cookies.join("; "));
    let post = Request::post("/services/oauth2/authorize")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (status, location, body, _, _) = call(router, post).await;
    assert!(status.is_redirection(), "{status} {body}");
    location
}

async fn exchange(
    router: &Router,
    app: &ConnectedApp,
    secret: Option<&str>,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = format!(
        "grant_type=authorization_code&client_id={}&code={}&redirect_uri={}",
        enc(&app.client_id),
        enc(code),
        enc(CALLBACK)
    );
    if let Some(s) = secret {
        form.push_str(&format!("&client_secret={}", enc(s)));
    }
    if let Some(v) = verifier {
        form.push_str(&format!("&code_verifier={}", enc(v)));
    }
    let (status, _, body) = crate::http::send(router, token_request(&form)).await;
    (status, serde_json::from_str(&body).unwrap())
}

async fn refresh(router: &Router, app: &ConnectedApp, secret: &str, token: &str) -> (StatusCode, Value) {
    let form = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        enc(&app.client_id),
        enc(secret),
        enc(token)
    );
    let (status, _, body) = crate::http::send(router, token_request(&form)).await;
    (status, serde_json::from_str(&body).unwrap())
}

fn assert_invalid_grant((status, json): &(StatusCode, Value), description: &str) {
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"], "invalid_grant", "{json}");
    assert_eq!(json["error_description"], description, "{json}");
}

/// A stack with the app "Web Sync" (its callback [`CALLBACK`]), its secret, and a
/// browser signed in as [`USER`].
struct Setup {
    stack: Stack,
    router: Router,
    org: latchkey_store::orgs::Org,
    app: ConnectedApp,
    secret: String,
    sid: String,
}

async fn setup() -> Setup {
    let (stack, router, _) = stack_with_token().await;
    let org = stack.services.resolve_org(None).await.unwrap();
    let (app, secret) = stack
        .services
        .console()
        .create_app(&org.id, "Web Sync", None, Some(CALLBACK))
        .await
        .unwrap();
    let sid = browser(&stack).await;
    Setup {
        secret: secret.expose_secret().to_owned(),
        stack,
        router,
        org,
        app,
        sid,
    }
}

#[tokio::test]
async fn the_web_server_flow_issues_tokens_once_per_consent() {
    let Setup {
        stack,
        router,
        app,
        secret,
        sid,
        ..
    } = setup().await;

    // Not signed in: to the login page, which comes back here.
    let path = authorize_path(&app, &pkce());
    let (status, location, _, _, _) = call(&router, Request::get(&path).body(Body::empty()).unwrap()).await;
    assert!(status.is_redirection());
    assert_eq!(location, format!("/?startURL={}", enc(&path)));
    let (_, _, login_page, _, _) = call(&router, Request::get(&location).body(Body::empty()).unwrap()).await;
    assert!(login_page.contains("name=\"start\""), "{login_page}");

    // Allow: the code goes to the registered callback with the state.
    let back = consent(&router, &sid, &path, "allow").await;
    assert!(back.starts_with(&format!("{CALLBACK}?code=aPrx")), "{back}");
    assert_eq!(query_value(&back, "state").as_deref(), Some("st&ate"));
    let code = query_value(&back, "code").unwrap();

    let tokens = exchange(&router, &app, Some(&secret), &code, Some(VERIFIER)).await;
    assert_eq!(tokens.0, StatusCode::OK, "{}", tokens.1);
    assert_eq!(tokens.1["scope"], "api refresh_token");
    let access = tokens.1["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens.1["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh_token.starts_with("5Aep861"));
    assert!(stack.services.session(&access).await.unwrap().is_some());
    assert_eq!(refresh(&router, &app, &secret, &refresh_token).await.0, StatusCode::OK);

    // The same code again: refused, and what it issued is revoked.
    let replay = exchange(&router, &app, Some(&secret), &code, Some(VERIFIER)).await;
    assert_invalid_grant(&replay, "invalid authorization code");
    assert_invalid_grant(
        &refresh(&router, &app, &secret, &refresh_token).await,
        "expired access/refresh token",
    );
    assert!(stack.services.session(&access).await.unwrap().is_none());

    // A wrong verifier spends the code: the right one cannot follow.
    let code = query_value(&consent(&router, &sid, &path, "allow").await, "code").unwrap();
    let wrong = exchange(&router, &app, Some(&secret), &code, Some(&"x".repeat(43))).await;
    assert_invalid_grant(&wrong, "invalid code verifier");
    assert_invalid_grant(
        &exchange(&router, &app, Some(&secret), &code, Some(VERIFIER)).await,
        "invalid authorization code",
    );
    let code = query_value(&consent(&router, &sid, &path, "allow").await, "code").unwrap();
    assert_invalid_grant(
        &exchange(&router, &app, Some(&secret), &code, None).await,
        "invalid code verifier",
    );

    // A wrong secret is the client's error, not the grant's.
    let code = query_value(&consent(&router, &sid, &path, "allow").await, "code").unwrap();
    let (status, json) = exchange(&router, &app, Some("wrong"), &code, Some(VERIFIER)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client"))
    );

    // Deny.
    let denied = consent(&router, &sid, &path, "deny").await;
    assert_eq!(query_value(&denied, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_value(&denied, "state").as_deref(), Some("st&ate"));
    assert!(denied.starts_with(CALLBACK));
}

#[tokio::test]
async fn a_request_the_app_did_not_register_never_redirects() {
    let Setup {
        stack,
        router,
        org,
        app,
        sid,
        ..
    } = setup().await;
    let (bare, _) = stack
        .services
        .console()
        .create_app(&org.id, "No Callback", None, None)
        .await
        .unwrap();
    for (client, redirect) in [
        (app.client_id.as_str(), "https://evil.example/steal"),
        (app.client_id.as_str(), "https://app.example/oauth/callback/../../steal"),
        (app.client_id.as_str(), "https://app.example/oauth/callbackx"),
        (app.client_id.as_str(), ""),
        (bare.client_id.as_str(), "https://evil.example/steal"),
        ("3MVG9unknown", CALLBACK),
    ] {
        let path = format!(
            "/services/oauth2/authorize?response_type=code&client_id={}&redirect_uri={}",
            enc(client),
            enc(redirect)
        );
        let req = Request::get(&path)
            .header(header::COOKIE, &sid)
            .body(Body::empty())
            .unwrap();
        let (status, location, body, _, _) = call(&router, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{redirect}: {body}");
        assert!(location.is_empty(), "{redirect} redirected to {location}");
        assert!(
            body.contains("This app can&#39;t connect") || body.contains("This app can't connect"),
            "{body}"
        );
    }
    // Once the redirect URI is the registered one, errors go back to the app.
    for (extra, error) in [
        ("&scope=api%20everything", "invalid_scope"),
        ("&code_challenge=abc&code_challenge_method=plain", "invalid_request"),
    ] {
        let req = Request::get(authorize_path(&app, extra))
            .header(header::COOKIE, &sid)
            .body(Body::empty())
            .unwrap();
        let (status, location, _, _, _) = call(&router, req).await;
        assert!(status.is_redirection());
        assert!(location.starts_with(CALLBACK), "{location}");
        assert_eq!(query_value(&location, "error").as_deref(), Some(error));
    }
    let wrong_type = authorize_path(&app, "").replace("response_type=code", "response_type=token");
    let req = Request::get(wrong_type)
        .header(header::COOKIE, &sid)
        .body(Body::empty())
        .unwrap();
    let (_, location, _, _, _) = call(&router, req).await;
    assert_eq!(
        query_value(&location, "error").as_deref(),
        Some("unsupported_response_type")
    );
    // The login page only continues to this org's authorization page.
    let (_, _, page, _, _) = call(
        &router,
        Request::get("/?startURL=https%3A%2F%2Fevil.example%2F")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(!page.contains("evil.example"), "{page}");
}

#[tokio::test]
async fn public_clients_need_pkce_and_rotated_tokens_give_their_family_away() {
    let Setup {
        stack,
        router,
        org,
        secret,
        sid,
        ..
    } = setup().await;
    let app = stack
        .services
        .console()
        .set_app_switch(&org.id, "Web Sync", Switch::PublicClient, true)
        .await
        .unwrap();

    let req = Request::get(authorize_path(&app, ""))
        .header(header::COOKIE, &sid)
        .body(Body::empty())
        .unwrap();
    let (_, location, _, _, _) = call(&router, req).await;
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_request"));
    assert_eq!(
        query_value(&location, "error_description").as_deref(),
        Some("missing required code challenge")
    );

    let code = query_value(
        &consent(&router, &sid, &authorize_path(&app, &pkce()), "allow").await,
        "code",
    )
    .unwrap();
    let (status, tokens) = exchange(&router, &app, None, &code, Some(VERIFIER)).await;
    assert_eq!(status, StatusCode::OK, "a public client needs no secret: {tokens}");
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Rotation: each refresh hands out the next token; the replaced one, presented
    // again, revokes them all.
    stack
        .services
        .console()
        .set_app_switch(&org.id, "Web Sync", Switch::RotateRefreshTokens, true)
        .await
        .unwrap();
    let (status, json) = refresh(&router, &app, &secret, &first).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let second = json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    let access = json["access_token"].as_str().unwrap().to_owned();
    assert_invalid_grant(
        &refresh(&router, &app, &secret, &first).await,
        "expired access/refresh token",
    );
    assert_invalid_grant(
        &refresh(&router, &app, &secret, &second).await,
        "expired access/refresh token",
    );
    assert!(
        stack.services.session(&access).await.unwrap().is_none(),
        "the family's access tokens end too"
    );

    // Refresh tokens of this flow outlive a password change; a freeze ends them.
    stack
        .services
        .console()
        .set_app_switch(&org.id, "Web Sync", Switch::RotateRefreshTokens, false)
        .await
        .unwrap();
    let code = query_value(
        &consent(&router, &sid, &authorize_path(&app, &pkce()), "allow").await,
        "code",
    )
    .unwrap();
    let token = exchange(&router, &app, None, &code, Some(VERIFIER)).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    stack
        .services
        .console()
        .set_password(USER, &SecretString::from("amber-lantern-77"))
        .await
        .unwrap();
    assert_eq!(refresh(&router, &app, &secret, &token).await.0, StatusCode::OK);
    stack.services.console().set_frozen(USER, true).await.unwrap();
    stack.services.console().set_frozen(USER, false).await.unwrap();
    assert_invalid_grant(
        &refresh(&router, &app, &secret, &token).await,
        "expired access/refresh token",
    );

    // So does deactivating the user; reactivating does not bring the token back.
    let (_, token) = stack
        .services
        .console()
        .authorize_app(&org.id, "Web Sync", USER)
        .await
        .unwrap();
    assert_eq!(
        refresh(&router, &app, &secret, token.expose_secret()).await.0,
        StatusCode::OK
    );
    assert!(stack.services.console().set_active(USER, false).await.unwrap());
    assert!(stack.services.console().set_active(USER, true).await.unwrap());
    assert_invalid_grant(
        &refresh(&router, &app, &secret, token.expose_secret()).await,
        "expired access/refresh token",
    );
}

#[tokio::test]
async fn app_policies_shape_what_the_flows_grant() {
    use latchkey_store::apps::Policies;
    let Setup {
        stack,
        router,
        org,
        app,
        secret,
        sid,
    } = setup().await;
    let set = |policies: Policies| {
        let services = stack.services.clone();
        let org = org.id.clone();
        async move {
            services
                .console()
                .set_app_policies(&org, "Web Sync", policies)
                .await
                .unwrap()
        }
    };
    let base = app.policies();
    assert_eq!(base.scopes, "api refresh_token");
    assert!(stack
        .services
        .console()
        .set_app_policies(
            &org.id,
            "Web Sync",
            Policies {
                scopes: "api sudo".into(),
                ..base.clone()
            }
        )
        .await
        .is_err());

    // Scopes: only the app's; with none asked for, the app's.
    set(Policies {
        scopes: "api".into(),
        ..base.clone()
    })
    .await;
    let req = Request::get(authorize_path(&app, "&scope=api%20refresh_token"))
        .header(header::COOKIE, &sid)
        .body(Body::empty())
        .unwrap();
    let (_, location, _, _, _) = call(&router, req).await;
    assert_eq!(query_value(&location, "error").as_deref(), Some("invalid_scope"));
    let code = query_value(
        &consent(&router, &sid, &authorize_path(&app, &pkce()), "allow").await,
        "code",
    )
    .unwrap();
    let (status, json) = exchange(&router, &app, Some(&secret), &code, Some(VERIFIER)).await;
    assert_eq!(
        (status, json["scope"].as_str()),
        (StatusCode::OK, Some("api")),
        "{json}"
    );
    assert!(json.get("refresh_token").is_none());

    // "Immediately expire": no refresh token, whatever the scopes.
    set(Policies {
        refresh_token_minutes: Some(0),
        ..base.clone()
    })
    .await;
    let code = query_value(
        &consent(&router, &sid, &authorize_path(&app, &pkce()), "allow").await,
        "code",
    )
    .unwrap();
    let json = exchange(&router, &app, Some(&secret), &code, Some(VERIFIER)).await.1;
    assert!(
        json["access_token"].is_string() && json.get("refresh_token").is_none(),
        "{json}"
    );

    // "Expire after 60 minutes", counted from the token's issue.
    set(Policies {
        refresh_token_minutes: Some(60),
        ..base.clone()
    })
    .await;
    let (_, token) = stack
        .services
        .console()
        .authorize_app(&org.id, "Web Sync", USER)
        .await
        .unwrap();
    assert_eq!(
        refresh(&router, &app, &secret, token.expose_secret()).await.0,
        StatusCode::OK
    );
    stack.clock.advance(chrono::Duration::minutes(61));
    assert_invalid_grant(
        &refresh(&router, &app, &secret, token.expose_secret()).await,
        "expired access/refresh token",
    );

    // IP relaxation: the profile's login ranges refuse the app's logins until relaxed.
    let sid = browser(&stack).await;
    let (_, token) = stack
        .services
        .console()
        .authorize_app(&org.id, "Web Sync", USER)
        .await
        .unwrap();
    set(base.clone()).await;
    let elsewhere = ["10.0.0.0/8".parse().unwrap()];
    stack
        .services
        .console()
        .set_login_ranges(&org.id, "Standard User", &elsewhere)
        .await
        .unwrap();
    assert_invalid_grant(
        &refresh(&router, &app, &secret, token.expose_secret()).await,
        "ip restricted",
    );
    set(Policies {
        relax_ip: true,
        ..base.clone()
    })
    .await;
    assert_eq!(
        refresh(&router, &app, &secret, token.expose_secret()).await.0,
        StatusCode::OK
    );
    stack
        .services
        .console()
        .set_login_ranges(&org.id, "Standard User", &[])
        .await
        .unwrap();

    // Admin-approved users only: a user the administrator did not pre-authorise is
    // turned back before the consent page.
    set(Policies {
        admin_approved_only: true,
        ..base.clone()
    })
    .await;
    let user = stack.services.user(USER).await.unwrap();
    stack
        .services
        .revoke_app_authorization(&user, &app.client_id)
        .await
        .unwrap();
    let req = Request::get(authorize_path(&app, &pkce()))
        .header(header::COOKIE, &sid)
        .body(Body::empty())
        .unwrap();
    let (_, location, _, _, _) = call(&router, req).await;
    assert_eq!(
        query_value(&location, "error").as_deref(),
        Some("access_denied"),
        "{location}"
    );
    assert_eq!(
        query_value(&location, "error_description").as_deref(),
        Some("user is not admin approved to access this app")
    );
    stack
        .services
        .console()
        .authorize_app(&org.id, "Web Sync", USER)
        .await
        .unwrap();
    let back = consent(&router, &sid, &authorize_path(&app, &pkce()), "allow").await;
    assert!(query_value(&back, "code").is_some(), "{back}");
}

/// A signed-in user of another org opening this org's app's authorization is turned
/// back with `access_denied` before any consent page, and no code can be had.
#[tokio::test]
async fn another_orgs_user_is_refused_before_consent() {
    let Setup { stack, router, app, .. } = setup().await;
    let beta = stack.services.console().create_org("Beta").await.unwrap();
    stack
        .services
        .console()
        .create_user(latchkey_org::accounts::CreateUser {
            org: Some(beta.id.as_str().to_owned()),
            username: "bob@beta.test".into(),
            email: "bob@beta.test".into(),
            first_name: None,
            last_name: Some("Beta".into()),
            profile: None,
            password: Some(secrecy::SecretString::from(crate::support::PASSWORD)),
            settings: Default::default(),
        })
        .await
        .unwrap();
    let bob = stack.services.user("bob@beta.test").await.unwrap();
    let (bob, org) = stack.services.user_and_org(&bob.id).await.unwrap();
    let issued = stack.services.issue_session(&bob, &org, None, false).await.unwrap();
    let sid = format!("sid={}", issued.id.expose_secret());
    let req = Request::get(authorize_path(&app, &pkce()))
        .header(header::COOKIE, &sid)
        .body(Body::empty())
        .unwrap();
    let (status, location, body, _, _) = call(&router, req).await;
    assert!(status.is_redirection(), "{status}: {body}");
    assert!(!body.contains("Allow"), "no consent page: {body}");
    assert_eq!(
        query_value(&location, "error").as_deref(),
        Some("access_denied"),
        "{location}"
    );
    assert_eq!(
        query_value(&location, "error_description").as_deref(),
        Some("this app belongs to another organization")
    );
}
