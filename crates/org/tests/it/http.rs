//! The SOAP and OAuth surfaces in process: exact shapes, and bad input answered with
//! the client's wire format and a 4xx status — never a 500 with internal text.

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use latchkey_core::policy::LoginFlows;
use latchkey_org::http::{app, HttpState, BODY_LIMIT};
use latchkey_org::mail::folder;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use tower::ServiceExt;

use crate::support::{token_in, Stack, PASSWORD};

pub(crate) const USER: &str = "jane@acme.test";

pub(crate) async fn stack_with_token() -> (Stack, Router, String) {
    let stack = Stack::new().await;
    stack.org_with_user(USER).await;
    stack.deliver().await;
    let token = folder::list(&stack.mail_dir())
        .unwrap()
        .iter()
        .find_map(|m| token_in(&m.text))
        .unwrap();
    let router = app(HttpState {
        services: std::sync::Arc::new(stack.services.clone()),
        scheme: "https",
        login_rate: None,
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    });
    (stack, router, token)
}

pub(crate) async fn send(router: &Router, req: Request<Body>) -> (StatusCode, String, String) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, content_type, String::from_utf8_lossy(&body).into_owned())
}

fn soap_request(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "acme.example:8443")
        .header(header::CONTENT_TYPE, "text/xml")
        .header("SOAPAction", "\"\"")
        .body(body.into())
        .unwrap()
}

fn login_envelope(username: &str, password: &str) -> String {
    format!(
        "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Header/><se:Body>\
         <login xmlns=\"urn:partner.soap.sforce.com\"><username>{username}</username><password>{password}</password></login>\
         </se:Body></se:Envelope>"
    )
}

/// The test user's SOAP `login()` with password and security token.
async fn soap_login_with_token(router: &Router, token: &str) -> (StatusCode, String, String) {
    let envelope = login_envelope(USER, &format!("{PASSWORD}{token}"));
    send(router, soap_request("/services/Soap/u/59.0", envelope)).await
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

#[tokio::test]
async fn soap_login_result_has_the_shape_clients_parse() {
    let (stack, router, token) = stack_with_token().await;
    let (status, content_type, body) = soap_login_with_token(&router, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, "text/xml;charset=UTF-8");
    let user = stack.services.user(USER).await.unwrap();
    assert!(body.contains("xmlns=\"urn:partner.soap.sforce.com\""));
    assert_eq!(between(&body, "<userId>", "</userId>"), Some(user.id.as_str()));
    assert_eq!(
        between(&body, "<organizationId>", "</organizationId>"),
        Some(user.org_id.as_str())
    );
    assert_eq!(between(&body, "<passwordExpired>", "</passwordExpired>"), Some("false"));
    let server_url = format!("https://acme.example:8443/services/Soap/u/59.0/{}", user.org_id.short());
    assert_eq!(between(&body, "<serverUrl>", "</serverUrl>"), Some(server_url.as_str()));
    let session = between(&body, "<sessionId>", "</sessionId>").unwrap();
    assert!(session.starts_with(&format!("{}!", user.org_id.short())) && session.len() == 15 + 1 + 12 + 96);
    assert_eq!(session.split('.').count(), 1, "never JWT-shaped");
    assert!(
        stack.services.session(session).await.unwrap().is_some(),
        "the session is live"
    );
    let order = [
        "<metadataServerUrl>",
        "<passwordExpired>",
        "<sandbox>",
        "<serverUrl>",
        "<sessionId>",
        "<userId>",
        "<userInfo>",
    ];
    let positions: Vec<usize> = order.iter().map(|t| body.find(t).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "LoginResult element order");

    let logout = format!(
        "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Header><SessionHeader xmlns=\"urn:partner.soap.sforce.com\">\
         <sessionId>{session}</sessionId></SessionHeader></se:Header><se:Body><logout xmlns=\"urn:partner.soap.sforce.com\"/></se:Body></se:Envelope>"
    );
    let path = format!("/services/Soap/u/59.0/{}", user.org_id.short());
    let (status, _, body) = send(&router, soap_request(&path, logout.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<logoutResponse/>"));
    assert!(
        stack.services.session(session).await.unwrap().is_none(),
        "logout ends the session"
    );
    let (status, _, body) = send(&router, soap_request(&path, logout)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>"), "{body}");
}

#[tokio::test]
async fn soap_faults_are_exact() {
    let (_stack, router, token) = stack_with_token().await;
    let (status, _, body) = send(
        &router,
        soap_request("/services/Soap/c/59.0", login_envelope(USER, PASSWORD)),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("xmlns:sf=\"urn:fault.enterprise.soap.sforce.com\""),
        "{body}"
    );
    assert!(body.contains("<faultcode>sf:LOGIN_MUST_USE_SECURITY_TOKEN</faultcode>"));
    assert!(body.contains("company\u{2019}s trusted networks"));
    assert!(body.contains("<sf:exceptionCode>LOGIN_MUST_USE_SECURITY_TOKEN</sf:exceptionCode>"));
    let (status, _, body) = send(
        &router,
        soap_request("/services/Soap/u/59.0", login_envelope(USER, &format!("nope{token}"))),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains(
        "<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>"
    ));
    assert!(body.contains("<sf:LoginFault xsi:type=\"sf:LoginFault\">"));
    // login() ends with 64.0: later versions answer Salesforce's fault.
    for (version, code) in [
        ("65.0", "INVALID_OPERATION"),
        ("68.0", "INVALID_OPERATION"),
        ("69.0", "UNSUPPORTED_API_VERSION"),
        ("30.0", "UNSUPPORTED_API_VERSION"),
        ("20.0", "UNSUPPORTED_API_VERSION"),
    ] {
        let (status, _, body) = send(
            &router,
            soap_request(&format!("/services/Soap/u/{version}"), login_envelope(USER, PASSWORD)),
        )
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{version}: {body}");
        assert!(
            body.contains(&format!("<faultcode>sf:{code}</faultcode>")),
            "{version}: {body}"
        );
        assert!(body.contains("<sf:UnexpectedErrorFault"), "{version}: {body}");
    }
    let (_, _, body) = send(
        &router,
        soap_request("/services/Soap/c/65.0", login_envelope(USER, PASSWORD)),
    )
    .await;
    assert!(
        body.contains(
            "<faultstring>INVALID_OPERATION: The SOAP Login operation is not available in the API version \
             specified (65.0). Refer to the documentation for supported versions.</faultstring>"
        ),
        "{body}"
    );
    let (status, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/64.0",
            login_envelope(USER, &format!("{PASSWORD}{token}")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<sessionId>"), "{body}");
}

#[tokio::test]
async fn soap_bad_input_is_a_4xx_fault() {
    let (_stack, router, _) = stack_with_token().await;
    let huge = login_envelope(USER, &"x".repeat(BODY_LIMIT));
    let cases: Vec<(&str, Body, StatusCode, &str)> = vec![
        (
            "malformed",
            Body::from("<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Body><login>"),
            StatusCode::BAD_REQUEST,
            "soapenv:Client",
        ),
        (
            "doctype",
            Body::from("<!DOCTYPE e [<!ENTITY x \"y\">]><e/>"),
            StatusCode::BAD_REQUEST,
            "DOCTYPE",
        ),
        (
            "not utf-8",
            Body::from(vec![0xff, 0xfe, 0x3c]),
            StatusCode::BAD_REQUEST,
            "UTF-8",
        ),
        (
            "not soap",
            Body::from("<login><username>a</username></login>"),
            StatusCode::BAD_REQUEST,
            "Envelope",
        ),
        (
            "empty username",
            Body::from(login_envelope("", "pw")),
            StatusCode::BAD_REQUEST,
            "INVALID_LOGIN",
        ),
        ("empty body", Body::empty(), StatusCode::BAD_REQUEST, "soapenv:Client"),
        (
            "too large",
            Body::from(huge),
            StatusCode::PAYLOAD_TOO_LARGE,
            "<faultcode>sf:EXCEEDED_MAX_SIZE_REQUEST</faultcode>",
        ),
    ];
    for (name, body, want, needle) in cases {
        let (status, _, text) = send(&router, soap_request("/services/Soap/u/59.0", body)).await;
        assert_eq!(status, want, "{name}: {text}");
        assert!(text.contains(needle), "{name}: {text}");
        assert!(
            !text.to_lowercase().contains("sqlx") && !text.contains("panicked"),
            "{name}: internal text leaked"
        );
    }
}

pub(crate) fn token_request(form: &str) -> Request<Body> {
    Request::post("/services/oauth2/token")
        .header(header::HOST, "acme.example:8443")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A connected app "Data Sync" of the org, its secret, and a password-grant form for
/// [`USER`] with the right password and `token`.
async fn password_grant_form(stack: &Stack, token: &str) -> (SecretString, String) {
    let org = stack.services.resolve_org(None).await.unwrap();
    let (app_row, secret) = stack
        .services
        .console()
        .create_app(&org.id, "Data Sync", None, None)
        .await
        .unwrap();
    let form = format!(
        "grant_type=password&client_id={}&client_secret={}&username={}&password={}",
        app_row.client_id,
        secret.expose_secret(),
        enc(USER),
        enc(&format!("{PASSWORD}{token}"))
    );
    (secret, form)
}

#[tokio::test]
async fn oauth_password_grant_response_and_signature() {
    let (stack, router, token) = stack_with_token().await;
    let (secret, form) = password_grant_form(&stack, &token).await;
    let (status, content_type, body) = send(&router, token_request(&form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type.starts_with("application/json"));
    let json: Value = serde_json::from_str(&body).unwrap();
    let user = stack.services.user(USER).await.unwrap();
    let id = json["id"].as_str().unwrap();
    assert_eq!(id, format!("https://acme.example:8443/id/{}/{}", user.org_id, user.id));
    assert_eq!(json["instance_url"], "https://acme.example:8443");
    assert_eq!(json["token_type"], "Bearer");
    let issued_at = json["issued_at"].as_str().unwrap();
    assert!(
        issued_at.len() == 13 && issued_at.chars().all(|c| c.is_ascii_digit()),
        "millisecond string"
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes()).unwrap();
    mac.update(format!("{id}{issued_at}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(json["signature"], expected.as_str());
    assert!(
        json.get("refresh_token").is_none(),
        "no refresh token for the password grant"
    );
    let access = json["access_token"].as_str().unwrap();
    assert!(stack.services.session(access).await.unwrap().is_some());
}

#[tokio::test]
async fn password_logins_land_in_history_with_their_sessions() {
    let (stack, router, token) = stack_with_token().await;
    let (status, _, soap) = soap_login_with_token(&router, &token).await;
    assert_eq!(status, StatusCode::OK, "{soap}");
    let (_, form) = password_grant_form(&stack, &token).await;
    let (status, _, oauth) = send(&router, token_request(&form)).await;
    assert_eq!(status, StatusCode::OK, "{oauth}");

    // Each session is valid, and each login is one Success row, under its surface.
    let soap_session = between(&soap, "<sessionId>", "</sessionId>").unwrap();
    let oauth: Value = serde_json::from_str(&oauth).unwrap();
    for session in [soap_session, oauth["access_token"].as_str().unwrap()] {
        assert!(stack.services.session(session).await.unwrap().is_some());
    }
    let rows = stack.recent_logins().await;
    let mut seen: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.status.as_str(), r.application.as_str()))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, [("Success", "Data Sync"), ("Success", "N/A")]);
}

#[tokio::test]
async fn oauth_errors_are_400_json() {
    let (stack, router, token) = stack_with_token().await;
    let org = stack.services.resolve_org(None).await.unwrap();
    let (plain, secret) = stack
        .services
        .console()
        .create_app(&org.id, "Plain", None, None)
        .await
        .unwrap();
    let (runner, runner_secret) = stack
        .services
        .console()
        .create_app(&org.id, "Runner", Some(USER), None)
        .await
        .unwrap();
    let (cid, cs) = (plain.client_id.as_str(), secret.expose_secret());
    let right = enc(&format!("{PASSWORD}{token}"));
    let user = enc(USER);
    let cases = [
        (
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml2-bearer&assertion=x".to_owned(),
            "unsupported_grant_type",
            "grant type not supported",
        ),
        (
            "grant_type=authorization_code&code=x".to_owned(),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            format!("grant_type=authorization_code&client_id={cid}&code=x"),
            "invalid_client",
            "invalid client credentials",
        ),
        (
            format!("grant_type=authorization_code&client_id={cid}&client_secret={cs}&code=x"),
            "invalid_grant",
            "invalid authorization code",
        ),
        (
            "grant_type=password&username=a&password=b".to_owned(),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            format!("grant_type=password&client_id=nope&client_secret={cs}&username={user}&password={right}"),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            format!("grant_type=password&client_id={cid}&client_secret=wrong&username={user}&password={right}"),
            "invalid_client",
            "invalid client credentials",
        ),
        (
            format!("grant_type=password&client_id={cid}&client_secret={cs}&username={user}&password=wrong"),
            "invalid_grant",
            "authentication failure",
        ),
        (
            format!("grant_type=password&client_id={cid}&client_secret={cs}&username=&password="),
            "invalid_grant",
            "authentication failure",
        ),
        (
            format!("grant_type=client_credentials&client_id={cid}&client_secret={cs}"),
            "invalid_grant",
            "no client credentials user enabled",
        ),
    ];
    for (form, error, description) in cases {
        let (status, content_type, body) = send(&router, token_request(&form)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form}: {body}");
        assert!(content_type.starts_with("application/json"));
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (json["error"].as_str(), json["error_description"].as_str()),
            (Some(error), Some(description)),
            "{form}"
        );
    }
    let not_form = Request::post("/services/oauth2/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, _, body) = send(&router, not_form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_request"));
    let binary = Request::post("/services/oauth2/token")
        .body(Body::from(vec![0xffu8, 0x00, 0x26]))
        .unwrap();
    assert_eq!(send(&router, binary).await.0, StatusCode::BAD_REQUEST);

    let creds = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        runner.client_id,
        runner_secret.expose_secret()
    );
    let (status, _, body) = send(&router, token_request(&creds)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "client credentials run as the app's user: {body}"
    );

    stack
        .services
        .console()
        .set_login_ranges(&org.id, "Standard User", &["10.0.0.0/8".parse().unwrap()])
        .await
        .unwrap();
    let form = format!("grant_type=password&client_id={cid}&client_secret={cs}&username={user}&password={right}");
    let (_, _, body) = send(&router, token_request(&form)).await;
    assert!(body.contains("ip restricted"), "{body}");
}

pub(crate) fn get_with(path: &str, auth: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path).header(header::HOST, "acme.example:8443");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn identity_userinfo_and_revoke() {
    let (stack, router, _) = stack_with_token().await;
    let user = stack.services.user(USER).await.unwrap();
    let org = stack.services.resolve_org(None).await.unwrap();
    let issued = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    let access = issued.id.expose_secret().to_owned();
    let id_path = format!("/id/{}/{}", user.org_id.short(), user.id);

    for auth in [
        format!("Bearer {access}"),
        format!("OAuth {access}"),
        format!("bearer {access}"),
    ] {
        let (status, _, body) = send(&router, get_with(&id_path, Some(&auth))).await;
        assert_eq!(status, StatusCode::OK, "{auth}: {body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["username"], USER);
        assert_eq!(json["urls"]["rest"], "https://acme.example:8443/services/data/v59.0/");
    }
    let (status, _, _) = send(
        &router,
        get_with(&format!("{id_path}?oauth_token={access}&version=58.0"), None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "token in the query");

    let (status, _, body) = send(
        &router,
        get_with("/services/oauth2/userinfo", Some(&format!("Bearer {access}"))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let info: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["preferred_username"], USER);
    assert_eq!(
        info["sub"],
        format!("https://acme.example:8443/id/{}/{}", user.org_id, user.id)
    );

    stack
        .services
        .console()
        .create_user(latchkey_org::accounts::CreateUser {
            org: None,
            username: "other@acme.test".into(),
            email: "other@acme.test".into(),
            first_name: None,
            last_name: None,
            profile: None,
            password: None,
            settings: Default::default(),
        })
        .await
        .unwrap();
    let other = stack.services.user("other@acme.test").await.unwrap();
    let (status, _, body) = send(
        &router,
        get_with(
            &format!("/id/{}/{}", other.org_id, other.id),
            Some(&format!("Bearer {access}")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, _, body) = send(&router, get_with(&id_path, Some("Bearer 00Dnot-a-session"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        err[0]["errorCode"], "INVALID_SESSION_ID",
        "a JSON array with errorCode, as clients index it"
    );

    let restricted = stack.services.issue_session(&user, &org, None, true).await.unwrap();
    let (status, _, body) = send(
        &router,
        get_with(&id_path, Some(&format!("Bearer {}", restricted.id.expose_secret()))),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "expired-password sessions are refused, never with 401"
    );
    assert!(body.contains("INVALID_OPERATION_WITH_EXPIRED_PASSWORD"));

    let revoke = |t: &str| {
        Request::post("/services/oauth2/revoke")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={}", enc(t))))
            .unwrap()
    };
    let other_session = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    assert_eq!(
        stack.services.console().revoke_sessions(USER).await.unwrap(),
        3,
        "the full, the restricted and the extra one"
    );
    assert!(stack
        .services
        .session(other_session.id.expose_secret())
        .await
        .unwrap()
        .is_none());
    let issued = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    let access = issued.id.expose_secret().to_owned();
    assert_eq!(send(&router, revoke(&access)).await.0, StatusCode::OK);
    let (status, _, body) = send(&router, revoke(&access)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("invalid_token"));
    assert_eq!(
        send(&router, get_with(&id_path, Some(&format!("Bearer {access}"))))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

fn with_session(session: &str, body: &str) -> String {
    format!(
        "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Header><SessionHeader xmlns=\"urn:partner.soap.sforce.com\">\
         <sessionId>{session}</sessionId></SessionHeader></se:Header><se:Body>{body}</se:Body></se:Envelope>"
    )
}

#[tokio::test]
async fn expired_password_sessions_may_only_set_the_password() {
    let (stack, router, _) = stack_with_token().await;
    stack.services.console().reset_password(USER).await.unwrap();
    stack.deliver().await;
    let mails = folder::list(&stack.mail_dir()).unwrap();
    let temporary = mails
        .iter()
        .find_map(|m| {
            m.text
                .lines()
                .find_map(|l| l.strip_prefix("Temporary password: "))
                .map(str::to_owned)
        })
        .unwrap();
    let token = mails.iter().rev().find_map(|m| token_in(&m.text)).unwrap();
    let (status, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/59.0",
            login_envelope(USER, &format!("{temporary}{token}")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "an expired password logs in: {body}");
    assert_eq!(between(&body, "<passwordExpired>", "</passwordExpired>"), Some("true"));
    let session = between(&body, "<sessionId>", "</sessionId>").unwrap().to_owned();
    let user = stack.services.user(USER).await.unwrap();

    let (_, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/59.0",
            with_session(
                &session,
                "<query xmlns=\"urn:partner.soap.sforce.com\"><queryString>SELECT Id FROM User</queryString></query>",
            ),
        ),
    )
    .await;
    assert!(
        body.contains("<faultcode>sf:INVALID_OPERATION_WITH_EXPIRED_PASSWORD</faultcode>"),
        "{body}"
    );

    let set = |uid: &str, pw: &str| {
        format!("<setPassword xmlns=\"urn:partner.soap.sforce.com\"><userId>{uid}</userId><password>{pw}</password></setPassword>")
    };
    let (_, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/59.0",
            with_session(&session, &set(user.id.short(), "short")),
        ),
    )
    .await;
    assert!(
        body.contains("INVALID_NEW_PASSWORD") && body.contains("at least 8 characters"),
        "{body}"
    );
    let (_, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/59.0",
            with_session(&session, &set("005000000000000", "amber-lantern-77")),
        ),
    )
    .await;
    assert!(body.contains("INSUFFICIENT_ACCESS"), "only for itself: {body}");
    let (status, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/59.0",
            with_session(&session, &set(user.id.short(), "amber-lantern-77")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<setPasswordResponse><result/></setPasswordResponse>"));
    assert!(
        stack.services.session(&session).await.unwrap().is_none(),
        "a password change ends the session"
    );

    stack.deliver().await;
    let token = folder::list(&stack.mail_dir())
        .unwrap()
        .iter()
        .rev()
        .find_map(|m| token_in(&m.text))
        .unwrap();
    let (status, _, body) = send(
        &router,
        soap_request(
            "/services/Soap/u/59.0",
            login_envelope(USER, &format!("amber-lantern-77{token}")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(between(&body, "<passwordExpired>", "</passwordExpired>"), Some("false"));
}

#[tokio::test]
async fn login_attempts_over_the_rate_limit_get_429_in_the_wire_format() {
    let (stack, _, _) = stack_with_token().await;
    let router = app(HttpState {
        services: std::sync::Arc::new(stack.services.clone()),
        scheme: "https",
        login_rate: latchkey_org::http::LoginRateLimit::per_minute(2),
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    });
    for n in 0..2 {
        let (status, _, _) = send(
            &router,
            soap_request("/services/Soap/u/59.0", login_envelope(USER, &format!("x{n}"))),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "within the limit: a normal fault"
        );
    }
    let res = router
        .clone()
        .oneshot(soap_request("/services/Soap/u/59.0", login_envelope(USER, "x")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = String::from_utf8(to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(
        body.contains("<faultcode>sf:REQUEST_LIMIT_EXCEEDED</faultcode>"),
        "{body}"
    );

    let (status, content_type, body) = send(&router, token_request("grant_type=password&client_id=x")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(content_type.starts_with("application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "rate_limit_exceeded"
    );

    let (status, _, _) = send(&router, get_with("/healthz", None)).await;
    assert_eq!(status, StatusCode::OK, "other routes are not limited");
    let user = stack.services.user(USER).await.unwrap();
    assert_eq!(
        user.unfamiliar_failed_attempts, 2,
        "limited attempts never reach the login decision"
    );
}

/// Every UI page carries the security headers; over TLS its cookies are Secure; the
/// stylesheet is served from the binary; a form without its CSRF token is refused.
#[tokio::test]
async fn ui_pages_are_sent_with_security_headers_and_refuse_forged_forms() {
    let (_stack, router, _) = stack_with_token().await;
    let res = router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    let csp = h.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "same-origin");
    assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let cookie = h.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("lk_csrf=") && cookie.contains("HttpOnly") && cookie.contains("Secure"),
        "{cookie}"
    );

    let (status, content_type, css) = send(&router, Request::get("/static/app.css").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "text/css; charset=utf-8")
    );
    assert!(css.contains("--brand"));

    let forged = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, "lk_csrf=abcdefghijklmnopqrstuvwxyz012345")
        .body(Body::from(format!("username={USER}&password={PASSWORD}&_csrf=guessed")))
        .unwrap();
    let (status, _, body) = send(&router, forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("This form has expired") && !body.contains(PASSWORD),
        "{body}"
    );
}

/// Housekeeping deletes the sessions past their idle timeout and keeps the live ones.
#[tokio::test]
async fn housekeeping_deletes_expired_sessions_only() {
    let stack = Stack::new().await;
    stack.org_with_user(USER).await;
    let user = stack.services.user(USER).await.unwrap();
    let org = stack.services.resolve_org(None).await.unwrap();
    let old = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    stack
        .clock
        .advance(chrono::Duration::minutes(org.session_timeout_minutes + 1));
    let fresh = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    assert_eq!(stack.services.sweep_expired_sessions().await.unwrap(), 1);
    assert!(stack
        .services
        .session(fresh.id.expose_secret())
        .await
        .unwrap()
        .is_some());
    assert!(stack.services.session(old.id.expose_secret()).await.unwrap().is_none());
    assert_eq!(
        stack.services.sweep_expired_sessions().await.unwrap(),
        0,
        "nothing left to delete"
    );
}

/// Session ids carry their issue time, and their stored keys sort by it (so new
/// sessions are added at the end of the index); ids issued before the time was added
/// are still honoured under their plain digest.
#[tokio::test]
async fn session_keys_follow_the_issue_time_and_older_ids_stay_valid() {
    use latchkey_core::secret::SecretDigest;
    use latchkey_store::sessions::NewSession;

    let stack = Stack::new().await;
    stack.org_with_user(USER).await;
    let user = stack.services.user(USER).await.unwrap();
    let org = stack.services.resolve_org(None).await.unwrap();
    let first = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    stack.clock.advance(chrono::Duration::milliseconds(1));
    let second = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    let listed = stack.services.sessions_of(&user).await.unwrap();
    let mut keys: Vec<[u8; 32]> = listed.iter().map(|s| *s.digest.as_bytes()).collect();
    keys.sort_unstable();
    let time = |id: &str| id.split_once('!').unwrap().1[..12].to_owned();
    assert!(time(first.id.expose_secret()) < time(second.id.expose_secret()));
    assert_eq!(
        keys[0][..8],
        u64::from_str_radix(&time(first.id.expose_secret()), 16)
            .unwrap()
            .to_be_bytes(),
        "the first issued sorts first"
    );
    for issued in [&first, &second] {
        assert!(stack
            .services
            .session(issued.id.expose_secret())
            .await
            .unwrap()
            .is_some());
    }

    let legacy = format!("{}!{}", user.org_id.short(), "a1B2c3D4".repeat(12));
    let new = NewSession {
        digest: SecretDigest::of(&legacy),
        user_id: user.id.clone(),
        org_id: user.org_id.clone(),
        client_id: None,
        restricted: false,
        idle: chrono::Duration::minutes(org.session_timeout_minutes),
        refresh: None,
        now: latchkey_core::clock::Clock::now(&*stack.clock),
    };
    stack.store.write(latchkey_store::Write::Session(new)).await.unwrap();
    assert!(stack.services.session(&legacy).await.unwrap().is_some(), "an older id");
    assert!(stack.services.end_session(&legacy).await.unwrap());
    assert!(stack.services.session(&legacy).await.unwrap().is_none());
}

/// A 10 MB body, with its length announced (`Content-Length`) or streamed (chunked).
fn ten_megabytes(announced: bool, path: &str, content_type: &str, session: &str) -> Request<Body> {
    let body = vec![b'a'; 10 * 1024 * 1024];
    let mut req = Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {session}"))
        .header(header::HOST, "acme.example:8443")
        .header(header::CONTENT_TYPE, content_type)
        .header("SOAPAction", "\"\"");
    if announced {
        req = req.header(header::CONTENT_LENGTH, body.len());
        return req.body(Body::from(body)).unwrap();
    }
    let chunks = body
        .chunks(64 * 1024)
        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
        .collect::<Vec<_>>();
    req.body(Body::from_stream(futures_util::stream::iter(chunks))).unwrap()
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_each_surfaces_own_format() {
    let (stack, router, _) = stack_with_token().await;
    let user = stack.services.user(USER).await.unwrap();
    let org = stack.services.resolve_org(None).await.unwrap();
    let issued = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    let session = issued.id.expose_secret().to_owned();
    for announced in [true, false] {
        let (status, content_type, body) = send(
            &router,
            ten_megabytes(announced, "/services/Soap/u/59.0", "text/xml", &session),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(content_type.starts_with("text/xml"), "{content_type}");
        assert!(
            body.contains("<faultcode>sf:EXCEEDED_MAX_SIZE_REQUEST</faultcode>"),
            "{body}"
        );
        assert!(body.contains("urn:fault.partner.soap.sforce.com"), "{body}");

        let (status, content_type, body) = send(
            &router,
            ten_megabytes(
                announced,
                "/services/data/v59.0/sobjects/Contact",
                "application/json",
                &session,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(content_type, "application/json;charset=UTF-8");
        let errors: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(errors[0]["errorCode"], "EXCEEDED_MAX_SIZE_REQUEST", "{body}");

        let (status, content_type, body) = send(
            &router,
            ten_megabytes(
                announced,
                "/services/oauth2/token",
                "application/x-www-form-urlencoded",
                &session,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "invalid_request", "{body}");
        assert!(error["error_description"].as_str().unwrap().contains("64 KB"), "{body}");

        let (status, content_type, body) = send(
            &router,
            ten_megabytes(announced, "/login", "application/x-www-form-urlencoded", &session),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(body.contains("<h1>Request too large</h1>"), "{body}");
    }
    // Paths nobody serves answer in their wire's format too.
    let get = |path: &str| {
        Request::get(path)
            .header(header::HOST, "acme.example")
            .body(Body::empty())
            .unwrap()
    };
    // (The session comes first: without one, an unknown REST path is a bad session.)
    let (status, content_type, body) = send(&router, get("/services/data/v59.0/bogus")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::UNAUTHORIZED, "application/json;charset=UTF-8")
    );
    assert!(body.contains("\"errorCode\":\"INVALID_SESSION_ID\""), "{body}");
    let (status, content_type, body) = send(&router, get("/no-such-page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        content_type.starts_with("text/html") && body.contains("Page not found"),
        "{body}"
    );
}

#[tokio::test]
async fn metrics_are_off_loopback_only_or_behind_a_bearer_token() {
    use latchkey_org::http::MetricsAccess;
    let (stack, _, _) = stack_with_token().await;
    let router = |metrics| {
        app(HttpState {
            services: std::sync::Arc::new(stack.services.clone()),
            scheme: "https",
            login_rate: None,
            public_url: None,
            metrics,
            api_versions: Default::default(),
        })
    };
    let scrape = |from: &str, token: Option<&str>| {
        let mut req = Request::get("/metrics").header(header::HOST, "acme.example");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let mut req = req.body(Body::empty()).unwrap();
        let peer: std::net::SocketAddr = format!("{from}:40000").parse().unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        req
    };
    let loopback = router(MetricsAccess::Loopback);
    let (status, _, body) = send(&loopback, scrape("127.0.0.1", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("latchkey_password_verifications_total"), "{body}");
    assert_eq!(
        send(&loopback, scrape("192.0.2.7", None)).await.0,
        StatusCode::FORBIDDEN
    );
    let off = router(MetricsAccess::Off);
    assert_eq!(send(&off, scrape("127.0.0.1", None)).await.0, StatusCode::NOT_FOUND);
    let bearer = router(MetricsAccess::Bearer(SecretString::from("scrape-me-0123456789")));
    assert_eq!(
        send(&bearer, scrape("192.0.2.7", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&bearer, scrape("192.0.2.7", Some("wrong"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, body) = send(&bearer, scrape("192.0.2.7", Some("scrape-me-0123456789"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("latchkey_password_hashes_total"), "{body}");
}

/// A user of org B with the right password and token, sent through org A's connected
/// app, is no user of A's: refused as an unknown username, recorded in A's history
/// only, and B's history and failure counter are untouched.
#[tokio::test]
async fn another_orgs_user_through_an_app_is_refused_and_recorded_nowhere_in_their_org() {
    let (stack, router, _) = stack_with_token().await;
    let acme = stack.services.resolve_org(None).await.unwrap();
    const BOB: &str = "bob@beta.test";
    let beta = stack.beta_with_user(BOB).await;
    stack.deliver().await;
    let mails = folder::list(&stack.mail_dir()).unwrap();
    let bob_token = mails
        .iter()
        .filter(|m| m.text.contains(BOB) || m.to.contains(BOB))
        .find_map(|m| token_in(&m.text))
        .unwrap();
    // One failure of Bob's own, to see that nothing resets it.
    let (status, _, _) = send(
        &router,
        soap_request("/services/Soap/u/59.0", login_envelope(BOB, "wrong-password")),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let bob = stack.services.user(BOB).await.unwrap();
    assert_eq!(
        bob.unfamiliar_failed_attempts, 1,
        "from an address Bob never logged in from"
    );
    let history_of = |org| {
        let store = stack.store.clone();
        async move {
            let filter = latchkey_store::login_history::Filter {
                org_id: Some(&org),
                limit: 100,
                ..Default::default()
            };
            latchkey_store::login_history::list(&store, &filter).await.unwrap()
        }
    };
    let beta_before = history_of(beta.id.clone()).await.len();
    let acme_before = history_of(acme.id.clone()).await.len();

    // Bob's right password and token, through a new app of `org`.
    let bobs_grant = |org: latchkey_core::ids::OrgId, name: &'static str| {
        let services = stack.services.clone();
        let bob_token = bob_token.clone();
        async move {
            let (app, secret) = services.console().create_app(&org, name, None, None).await.unwrap();
            format!(
                "grant_type=password&client_id={}&client_secret={}&username={}&password={}",
                app.client_id,
                secret.expose_secret(),
                enc(BOB),
                enc(&format!("{PASSWORD}{bob_token}"))
            )
        }
    };
    let form = bobs_grant(acme.id.clone(), "Acme Sync").await;
    let (status, _, body) = send(&router, token_request(&form)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (error["error"].as_str(), error["error_description"].as_str()),
        (Some("invalid_grant"), Some("authentication failure"))
    );

    assert_eq!(
        history_of(beta.id.clone()).await.len(),
        beta_before,
        "nothing in Beta's history"
    );
    assert_eq!(
        stack.services.user(BOB).await.unwrap().unfamiliar_failed_attempts,
        1,
        "Bob's counter untouched"
    );
    let acme_rows = history_of(acme.id.clone()).await;
    assert_eq!(acme_rows.len(), acme_before + 1, "one failed login in Acme's history");
    assert!(
        acme_rows[0].user_id.is_none() && acme_rows[0].status != "Success",
        "{:?}",
        acme_rows[0]
    );
    // And with his own org's app, Bob logs in.
    let form = bobs_grant(beta.id.clone(), "Beta Sync").await;
    assert_eq!(send(&router, token_request(&form)).await.0, StatusCode::OK);
}

/// Change My Password's current-password check is a login: each wrong one is a failed
/// login in the history and counts towards the lock, a locked account checks nothing,
/// and the form shares the login rate limit.
#[tokio::test]
async fn a_wrong_current_password_counts_like_a_failed_login() {
    use latchkey_core::policy::{LockoutPeriod, LockoutScope, MaxInvalidAttempts};
    let (stack, _, _) = stack_with_token().await;
    stack
        .set_max(
            MaxInvalidAttempts::Limit(3),
            LockoutPeriod::Minutes(15),
            LockoutScope::AllSources,
        )
        .await;
    let router = app(HttpState {
        services: std::sync::Arc::new(stack.services.clone()),
        scheme: "https",
        login_rate: latchkey_org::http::LoginRateLimit::per_minute(6),
        public_url: None,
        metrics: Default::default(),
        api_versions: Default::default(),
    });
    let user = stack.services.user(USER).await.unwrap();
    let (user, org) = stack.services.user_and_org(&user.id).await.unwrap();
    let issued = stack.services.issue_session(&user, &org, None, false).await.unwrap();
    let sid = format!("sid={}", issued.id.expose_secret());
    let page = Request::get("/change-password")
        .header(header::HOST, "acme.example")
        .header(header::COOKIE, &sid);
    let res = router.clone().oneshot(page.body(Body::empty()).unwrap()).await.unwrap();
    let csrf_cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = String::from_utf8_lossy(&to_bytes(res.into_body(), usize::MAX).await.unwrap()).into_owned();
    let marker = "name=\"_csrf\" value=\"";
    let start = body.find(marker).unwrap() + marker.len();
    let csrf = body[start..start + body[start..].find('"').unwrap()].to_owned();
    let change = |current: &str| {
        let form = format!(
            "current={}&new=Amber-Lantern-77&confirm=Amber-Lantern-77&_csrf={csrf}",
            enc(current)
        );
        Request::post("/change-password")
            .header(header::HOST, "acme.example")
            .header(header::COOKIE, format!("{sid}; {csrf_cookie}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap()
    };
    for n in 0..3 {
        let (status, _, body) = send(&router, change(&format!("guess-{n}"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("Your current password is incorrect."), "{body}");
    }
    let locked = stack.services.user(USER).await.unwrap();
    assert!(
        locked.locked_until.is_some(),
        "three wrong current passwords lock, as logins do: {:?}",
        stack.recent_logins().await
    );
    let (_, _, body) = send(&router, change(PASSWORD)).await;
    assert!(
        body.contains("your account is locked"),
        "even the right one checks nothing now: {body}"
    );
    let rows = stack.recent_logins().await;
    let wrong = rows
        .iter()
        .filter(|r| r.application == "Change My Password" && r.status != "Success")
        .count();
    assert!(wrong >= 4, "each check is in the login history: {rows:?}");
    // Two more in the same minute pass the limit of six attempts per address.
    send(&router, change("guess-4")).await;
    let (status, _, _) = send(&router, change("guess-5")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// An org that closes SOAP `login()` and the OAuth username-password flow refuses both
/// with Salesforce's errors, right password or wrong, before any password is checked:
/// no failure is counted, however often an integration retries, and login history
/// says why. Reopened, both work again.
#[tokio::test]
async fn closed_login_flows_are_refused_with_salesforces_errors_and_lock_nobody_out() {
    let (stack, router, token) = stack_with_token().await;
    let (_, form) = password_grant_form(&stack, &token).await;
    let org = stack.services.resolve_org(None).await.unwrap();
    let closed = LoginFlows {
        soap_login: false,
        oauth_username_password: false,
    };
    stack.services.console().set_login_flows(&org.id, closed).await.unwrap();
    assert_eq!(stack.services.resolve_org(None).await.unwrap().login_flows, closed);
    let hashes = stack.services.hash_counts().total();
    for secret in [format!("{PASSWORD}{token}"), "wrong".to_owned()] {
        for _ in 0..12 {
            let envelope = login_envelope(USER, &secret);
            let (status, _, body) = send(&router, soap_request("/services/Soap/u/59.0", envelope)).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(
                body.contains(
                    "<faultstring>INVALID_OPERATION: SOAP API login() is disabled by default in this org. \
                     Contact the org administrator to enable SOAP API login().</faultstring>"
                ),
                "{body}"
            );
        }
    }
    let wrong = form.replace(&enc(&format!("{PASSWORD}{token}")), "wrong");
    for form in [&form, &wrong] {
        for _ in 0..12 {
            let (status, _, body) = send(&router, token_request(form)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            let json: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                (json["error"].as_str(), json["error_description"].as_str()),
                (Some("invalid_grant"), Some("authentication failure"))
            );
        }
    }
    let user = stack.services.user(USER).await.unwrap();
    assert_eq!((user.failed_attempts, user.locked_until), (0, None));
    assert_eq!(stack.services.hash_counts().total(), hashes, "no password was checked");
    let statuses: Vec<String> = stack.recent_logins().await.into_iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&"Failed: SOAP API login() disabled".to_owned()),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&"Username-Password Flow Disabled".to_owned()),
        "{statuses:?}"
    );

    stack
        .services
        .console()
        .set_login_flows(&org.id, LoginFlows::default())
        .await
        .unwrap();
    let (status, _, body) = soap_login_with_token(&router, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(&router, token_request(&form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
