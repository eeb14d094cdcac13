//! The REST data API in process: error shapes and statuses for every kind of bad
//! request (never a 5xx), path variants the clients use, the caller checks (session
//! cache, API permission, daily allowance), upsert, uniqueness and all-or-none.

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use latchkey_core::records::{CustomField, CustomType, ObjectKind};
use latchkey_core::status::Channel;
use latchkey_org::accounts::CreateUser;
use latchkey_org::http::versions::ApiVersions;
use latchkey_org::http::{app, HttpState};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::Stack;

const USER: &str = "rest@acme.test";

pub(crate) struct Api {
    pub(crate) stack: Stack,
    router: Router,
    pub(crate) token: String,
}

impl Api {
    pub(crate) async fn new() -> Self {
        Self::serving(Default::default()).await
    }

    /// An API whose server serves `api_versions`.
    async fn serving(api_versions: ApiVersions) -> Self {
        let stack = Stack::new().await;
        stack.org_with_user(USER).await;
        let user = stack.services.user(USER).await.unwrap();
        let org = stack.services.resolve_org(None).await.unwrap();
        let field = |name: &str, custom_type, external_id| CustomField {
            object: ObjectKind::Contact,
            name: name.into(),
            label: name.into(),
            custom_type,
            length: 40,
            required: false,
            external_id,
            unique: false,
        };
        stack
            .services
            .console()
            .add_custom_field(&org.id, &field("Ext_Id__c", CustomType::Text, true))
            .await
            .unwrap();
        let issued = stack.services.issue_session(&user, &org, None, false).await.unwrap();
        let router = app(HttpState {
            services: std::sync::Arc::new(stack.services.clone()),
            scheme: "https",
            login_rate: None,
            public_url: None,
            metrics: Default::default(),
            api_versions,
        });
        Self {
            stack,
            router,
            token: issued.id.expose_secret().to_owned(),
        }
    }

    pub(crate) async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "acme.example");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_owned())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, value, content_type)
    }

    /// Sends a request as built; the status, the headers and the body as text.
    pub(crate) async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// A call answering the status, the headers and the body as text.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "acme.example")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let (s, v, _) = self.call_as(Some(&self.token.clone()), method, path, body).await;
        (s, v)
    }
}

pub(crate) fn code(v: &Value) -> &str {
    v[0]["errorCode"].as_str().unwrap_or("<none>")
}

pub(crate) const V: &str = "/services/data/v59.0";

#[tokio::test]
async fn every_bad_request_gets_a_json_error_array_and_a_4xx() {
    let api = Api::new().await;
    let (status, body, content_type) = api.call_as(None, Method::GET, &format!("{V}/sobjects"), None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));
    assert_eq!(content_type, "application/json;charset=UTF-8");
    let (status, body, _) = api
        .call_as(
            Some("00D000000000000!nope"),
            Method::GET,
            &format!("{V}/sobjects"),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));

    let cases: &[(Method, String, Option<&str>, StatusCode, &str)] = &[
        (Method::GET, "/services/data/v19.0/sobjects".into(), None, StatusCode::GONE, "GONE"),
        (Method::GET, "/services/data/v99.0/sobjects".into(), None, StatusCode::NOT_FOUND, "NOT_FOUND"),
        (Method::GET, format!("{V}/sobjects/Invoice__c/describe"), None, StatusCode::NOT_FOUND, "NOT_FOUND"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("{\"LastName\":"), StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("[1,2]"), StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("{\"Bogus\":1}"), StatusCode::BAD_REQUEST, "INVALID_FIELD"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("{\"LastName\":\"x\",\"CreatedDate\":\"2024-01-01T00:00:00Z\"}"), StatusCode::BAD_REQUEST, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("{\"FirstName\":\"x\"}"), StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("{\"LastName\":\"x\",\"Email\":\"nope\"}"), StatusCode::BAD_REQUEST, "INVALID_EMAIL_ADDRESS"),
        (Method::POST, format!("{V}/sobjects/Contact"), Some("{\"LastName\":\"x\",\"AccountId\":\"001000000000000\"}"), StatusCode::BAD_REQUEST, "INVALID_CROSS_REFERENCE_KEY"),
        (Method::GET, format!("{V}/sobjects/Contact/003bogus"), None, StatusCode::BAD_REQUEST, "MALFORMED_ID"),
        (Method::GET, format!("{V}/sobjects/Contact/0038L0000000001"), None, StatusCode::NOT_FOUND, "NOT_FOUND"),
        (Method::DELETE, format!("{V}/sobjects/Contact/0038L0000000001"), None, StatusCode::NOT_FOUND, "NOT_FOUND"),
        (Method::GET, format!("{V}/sobjects/Contact/0038L0000000001?fields=Nope"), None, StatusCode::BAD_REQUEST, "INVALID_FIELD"),
        (Method::GET, format!("{V}/query"), None, StatusCode::BAD_REQUEST, "MALFORMED_QUERY"),
        (Method::GET, format!("{V}/query?q=SELECT+Id+FROM+Contact+WHERE"), None, StatusCode::BAD_REQUEST, "MALFORMED_QUERY"),
        (Method::GET, format!("{V}/query?q=SELECT+Id+FROM+Widget"), None, StatusCode::BAD_REQUEST, "INVALID_TYPE"),
        (Method::GET, format!("{V}/query/01gNOTALOCATOR-2000"), None, StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR"),
        (Method::GET, format!("{V}/sobjects/Contact/updated/?start=2000-01-01T00%3A00%3A00%2B00%3A00&end=2000-01-02T00%3A00%3A00%2B00%3A00"), None, StatusCode::BAD_REQUEST, "INVALID_REPLICATION_DATE"),
        (Method::GET, format!("{V}/sobjects/Contact/deleted/?start=yesterday"), None, StatusCode::BAD_REQUEST, "INVALID_REPLICATION_DATE"),
        (Method::PATCH, format!("{V}/sobjects/Contact/Nope__c/42"), Some("{}"), StatusCode::BAD_REQUEST, "INVALID_FIELD"),
    ];
    for (method, path, body, want_status, want_code) in cases {
        let (status, value) = api.call(method.clone(), path, *body).await;
        assert_eq!(
            (status, code(&value)),
            (*want_status, *want_code),
            "{method} {path}: {value}"
        );
        assert!(value[0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{value}");
    }
}

#[tokio::test]
async fn clients_path_variants_and_plus_encoded_queries_work() {
    let api = Api::new().await;
    let (status, body) = api.call(Method::GET, "/services/data/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().last().unwrap()["version"], "68.0");
    let (status, body) = api.call(Method::GET, &format!("{V}/"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["identity"].as_str().unwrap().contains("/id/00D"), "{body}");
    let (status, created) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Contact/"),
            Some("{\"LastName\":\"Plus Space\"}"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    for path in [
        format!("{V}/query/?q=SELECT+Id,+Name+FROM+Contact+WHERE+LastName+=+'Plus+Space'"),
        format!("{V}/query?q=SELECT%20Id%2C%20Name%20FROM%20Contact%20WHERE%20LastName%20%3D%20'Plus%20Space'"),
    ] {
        let (status, page) = api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert_eq!(page["totalSize"], 1);
        assert_eq!(page["records"][0]["Id"], created["id"]);
        assert_eq!(page["records"][0]["Name"], "Plus Space");
    }
    let (status, page) = api
        .call(Method::GET, &format!("{V}/query?q=SELECT+COUNT()+FROM+Contact"), None)
        .await;
    assert_eq!(
        (status, page["totalSize"].clone(), page["done"].clone()),
        (StatusCode::OK, json!(1), json!(true))
    );
    let (status, _) = api
        .call(Method::GET, &format!("{V}/sobjects/Contact/describe/"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn upsert_uniqueness_and_all_or_none() {
    let api = Api::new().await;
    let path = format!("{V}/sobjects/Contact/Ext_Id__c/E-1");
    let (status, first) = api.call(Method::PATCH, &path, Some("{\"LastName\":\"One\"}")).await;
    assert_eq!(
        (status, first["created"].clone()),
        (StatusCode::CREATED, json!(true)),
        "{first}"
    );
    let (status, second) = api.call(Method::PATCH, &path, Some("{\"LastName\":\"Uno\"}")).await;
    assert_eq!(
        (status, second["created"].clone()),
        (StatusCode::OK, json!(false)),
        "{second}"
    );
    assert_eq!(first["id"], second["id"]);
    let (_, rec) = api.call(Method::GET, &path, None).await;
    assert_eq!(
        (rec["LastName"].clone(), rec["Ext_Id__c"].clone()),
        (json!("Uno"), json!("E-1"))
    );

    let (status, dup) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Contact"),
            Some("{\"LastName\":\"Two\",\"Ext_Id__c\":\"e-1\"}"),
        )
        .await;
    assert_eq!(
        (status, code(&dup)),
        (StatusCode::BAD_REQUEST, "DUPLICATE_VALUE"),
        "external ids are unique, case-insensitively"
    );

    let batch = json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "Kept?"},
        {"attributes": {"type": "Contact"}, "FirstName": "missing last name"},
    ]});
    let (status, results) = api
        .call(
            Method::POST,
            &format!("{V}/composite/sobjects"),
            Some(&batch.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        results[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "{results}"
    );
    assert_eq!(results[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    let (_, page) = api
        .call(
            Method::GET,
            &format!("{V}/query?q=SELECT+Id+FROM+Contact+WHERE+LastName='Kept?'"),
            None,
        )
        .await;
    assert_eq!(page["totalSize"], 0, "all-or-none wrote nothing");

    let too_many: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("n{i}")}))
        .collect();
    let (status, body) = api
        .call(
            Method::POST,
            &format!("{V}/composite/sobjects"),
            Some(&json!({"records": too_many}).to_string()),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "EXCEEDED_ID_LIMIT"),
        "{body}"
    );

    let ids = first["id"].as_str().unwrap();
    let (status, results) = api
        .call(
            Method::DELETE,
            &format!("{V}/composite/sobjects?ids={ids},003bogus"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (results[0]["success"].clone(), results[1]["success"].clone()),
        (json!(true), json!(false)),
        "{results}"
    );
    let deleted_q = "?q=SELECT+Id+FROM+Contact+WHERE+IsDeleted+=+true";
    let (_, live) = api.call(Method::GET, &format!("{V}/query{deleted_q}"), None).await;
    let (_, all) = api.call(Method::GET, &format!("{V}/queryAll/{deleted_q}"), None).await;
    assert_eq!(live["totalSize"], 0, "query hides recycled records");
    assert_eq!(all["records"][0]["Id"], first["id"], "queryAll shows them: {all}");
}

#[tokio::test]
async fn collection_upserts_match_by_external_id_and_replays_create_nothing() {
    let api = Api::new().await;
    let path = format!("{V}/composite/sobjects/Contact/Ext_Id__c");
    let batch = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Contact"}, "Ext_Id__c": "H-1", "LastName": "One"},
        {"attributes": {"type": "Contact"}, "Ext_Id__c": "H-2", "LastName": "Two"},
        {"attributes": {"type": "Contact"}, "LastName": "no key"},
    ]});
    let (status, first) = api.call(Method::PATCH, &path, Some(&batch.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (first[0]["created"].clone(), first[1]["created"].clone()),
        (json!(true), json!(true)),
        "{first}"
    );
    assert_eq!(first[2]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING", "{first}");

    let (_, replay) = api.call(Method::PATCH, &path, Some(&batch.to_string())).await;
    assert_eq!(
        (replay[0]["created"].clone(), replay[0]["id"].clone()),
        (json!(false), first[0]["id"].clone()),
        "a replay updates the same record: {replay}"
    );
    let (_, page) = api
        .call(Method::GET, &format!("{V}/query?q=SELECT+Id+FROM+Contact"), None)
        .await;
    assert_eq!(page["totalSize"], 2, "nothing created twice: {page}");

    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("{V}/composite/sobjects/Contact/LastName"),
            Some(&batch.to_string()),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "INVALID_FIELD"),
        "only external-id fields match: {body}"
    );
}

#[tokio::test]
async fn callers_are_checked_revoked_at_once_and_counted() {
    let api = Api::new().await;
    let user = api.stack.services.user(USER).await.unwrap();
    let org = api.stack.services.resolve_org(None).await.unwrap();
    let (status, _) = api.call(Method::GET, &format!("{V}/sobjects"), None).await;
    assert_eq!(status, StatusCode::OK);

    api.stack
        .services
        .console()
        .set_profile_api_enabled(&user.profile_id, false)
        .await
        .unwrap();
    let (status, body) = api.call(Method::GET, &format!("{V}/sobjects"), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "API_DISABLED_FOR_ORG"),
        "the cached session sees the change at once"
    );
    api.stack
        .services
        .console()
        .set_profile_api_enabled(&user.profile_id, true)
        .await
        .unwrap();

    // One request counted so far today; three more fit in an allowance of four.
    api.stack
        .services
        .console()
        .set_api_allowance(&org.id, 4)
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, body, _) = api
            .call_as(Some(&api.token), Method::GET, &format!("{V}/limits"), None)
            .await;
        statuses.push((
            status,
            if status == StatusCode::OK {
                body["DailyApiRequests"]["Remaining"].clone()
            } else {
                json!(code(&body))
            },
        ));
    }
    assert_eq!(
        statuses,
        [
            (StatusCode::OK, json!(2)),
            (StatusCode::OK, json!(1)),
            (StatusCode::OK, json!(0)),
            (StatusCode::FORBIDDEN, json!("REQUEST_LIMIT_EXCEEDED")),
        ]
    );

    api.stack
        .services
        .console()
        .set_api_allowance(&org.id, 1_000)
        .await
        .unwrap();
    api.stack.services.console().revoke_sessions(USER).await.unwrap();
    let (status, body) = api.call(Method::GET, &format!("{V}/sobjects"), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"),
        "revocation is not hidden by the cache"
    );
}

#[tokio::test]
async fn expired_password_sessions_are_refused_without_401() {
    let api = Api::new().await;
    let user = api.stack.services.user(USER).await.unwrap();
    let org = api.stack.services.resolve_org(None).await.unwrap();
    let restricted = api.stack.services.issue_session(&user, &org, None, true).await.unwrap();
    let (status, body, _) = api
        .call_as(
            Some(restricted.id.expose_secret()),
            Method::GET,
            &format!("{V}/query?q=SELECT+Id+FROM+Contact"),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "INVALID_OPERATION_WITH_EXPIRED_PASSWORD")
    );
}

impl Api {
    /// A session for a new user `username` in `org` (the default org when `None`).
    async fn session_for(&self, username: &str, org: Option<&str>) -> String {
        let services = &self.stack.services;
        services
            .console()
            .create_user(latchkey_org::accounts::CreateUser {
                org: org.map(str::to_owned),
                username: username.into(),
                email: "other@acme.test".into(),
                first_name: None,
                last_name: Some("Other".into()),
                profile: None,
                password: Some(secrecy::SecretString::from(crate::support::PASSWORD)),
                settings: Default::default(),
            })
            .await
            .unwrap();
        let user = services.user(username).await.unwrap();
        let org = services.resolve_org(org).await.unwrap();
        let issued = services.issue_session(&user, &org, None, false).await.unwrap();
        issued.id.expose_secret().to_owned()
    }
}

/// A query path with `soql` percent-encoded.
fn query_path(soql: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    format!("{V}/query?q={q}")
}

#[tokio::test]
async fn deep_and_long_filters_get_a_salesforce_error_or_rows_never_a_crash() {
    let api = Api::new().await;
    let (status, _) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Contact"),
            Some("{\"LastName\":\"Zed\"}"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let select = "SELECT Id FROM Contact WHERE ";
    let leaf = "LastName = 'Zed'";
    // Shapes that would nest deeper than a thread's stack allows, up to what a URL carries.
    let too_deep = [
        format!("{select}{}{leaf}{}", "(".repeat(3000), ")".repeat(3000)),
        format!("{select}{}{leaf}", "NOT ".repeat(1500)),
        format!("{select}{}{leaf}{}", "NOT (".repeat(2000), ")".repeat(2000)),
        format!("{select}{}{leaf}{}", "(Email = 'x' OR ".repeat(1000), ")".repeat(1000)),
    ];
    for q in &too_deep {
        let (status, body) = api.call(Method::GET, &query_path(q), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "QUERY_TOO_COMPLICATED"),
            "{}",
            &q[..60]
        );
        let message = body[0]["message"].as_str().unwrap();
        assert!(
            message.contains("ERROR at Row:1:Column:") && message.len() < 1000,
            "{message}"
        );
    }
    // Long flat chains are wide, not deep: they run.
    for sep in [" AND ", " OR "] {
        let q = format!("{select}{}", vec![leaf; 1500].join(sep));
        let (status, body) = api.call(Method::GET, &query_path(&q), None).await;
        assert_eq!(
            (status, body["totalSize"].clone()),
            (StatusCode::OK, json!(1)),
            "{sep}: {body}"
        );
    }
    let q = format!("{select}{}", vec!["X=1"; 5001].join(" AND "));
    let (status, body) = api.call(Method::GET, &query_path(&q), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "QUERY_TOO_COMPLICATED")
    );
    // And the server still answers.
    let (status, body) = api
        .call(Method::GET, &query_path(&format!("{select}{leaf}")), None)
        .await;
    assert_eq!((status, body["totalSize"].clone()), (StatusCode::OK, json!(1)));
}

#[tokio::test]
async fn locators_are_sealed_to_their_caller_and_cannot_be_rewritten() {
    let api = Api::new().await;
    let records: Vec<Value> = (0..450)
        .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("L{i:03}")}))
        .collect();
    for chunk in records.chunks(200) {
        let body = json!({"allOrNone": true, "records": chunk}).to_string();
        let (status, _) = api
            .call(Method::POST, &format!("{V}/composite/sobjects"), Some(&body))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut req = Request::builder()
        .uri(query_path("SELECT Id FROM Contact"))
        .header(header::AUTHORIZATION, format!("Bearer {}", api.token))
        .header("Sforce-Query-Options", "batchSize=200")
        .body(Body::empty())
        .unwrap();
    req.headers_mut().insert(header::HOST, "acme.example".parse().unwrap());
    let res = api.router.clone().oneshot(req).await.unwrap();
    let page: Value = serde_json::from_slice(&to_bytes(res.into_body(), usize::MAX).await.unwrap()).unwrap();
    assert_eq!(
        (page["totalSize"].clone(), page["records"].as_array().unwrap().len()),
        (json!(450), 200)
    );
    let next = page["nextRecordsUrl"].as_str().unwrap().to_owned();
    let (status, second) = api.call(Method::GET, &next, None).await;
    assert_eq!(
        (status, second["records"].as_array().unwrap().len()),
        (StatusCode::OK, 200)
    );

    // Another user of the same org, and a user of another org, may not read it.
    let colleague = api.session_for("colleague@acme.test", None).await;
    let other_org = api.stack.services.console().create_org("Other").await.unwrap();
    let stranger = api
        .session_for("stranger@other.test", Some(other_org.id.as_str()))
        .await;
    for token in [&colleague, &stranger] {
        let (status, body, _) = api.call_as(Some(token), Method::GET, &next, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR")
        );
    }
    // Every one-character change to the locator is refused, as is a rebuilt cursor.
    let locator = next.rsplit('/').next().unwrap();
    let base = &next[..next.len() - locator.len()];
    for i in (3..locator.len()).step_by(7) {
        let mut bytes = locator.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        let (status, body) = api.call(Method::GET, &format!("{base}{tampered}"), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR"),
            "{tampered}"
        );
    }
    use base64::Engine;
    let forged = serde_json::json!({"q": "SELECT Id FROM Contact", "all": false, "at": 1_767_225_600_000i64,
        "total": 450, "skip": 0, "end": 450, "page": 2800});
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
    let (status, body) = api.call(Method::GET, &format!("{base}01g{forged}-0"), None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR")
    );
}

/// A session revoked through another server (its own caches, the same database) stops
/// working here within one poll of the change epoch, not only after the session
/// cache's recheck time.
#[tokio::test]
async fn sessions_revoked_elsewhere_end_within_one_epoch_poll() {
    let api = Api::new().await;
    let (status, _) = api.call(Method::GET, &format!("{V}/sobjects"), None).await;
    assert_eq!(status, StatusCode::OK, "checked and cached here");
    let elsewhere = api.stack.services.another_server();
    elsewhere.console().revoke_sessions(USER).await.unwrap();
    tokio::time::sleep(latchkey_org::login::decision_cache::POLL * 2).await;
    let (status, body) = api.call(Method::GET, &format!("{V}/sobjects"), None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));
}

/// The version list runs from 31.0 (the oldest Salesforce still serves) to the newest,
/// a setting; every listed version serves; retired ones answer 410 GONE before the
/// session is looked at; a version never served is a resource that does not exist.
#[tokio::test]
async fn versions_are_served_as_salesforce_serves_them() {
    let api = Api::new().await;
    let (status, list) = api.call(Method::GET, "/services/data", None).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 68 - 31 + 1);
    assert_eq!(
        list[0],
        json!({"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"})
    );
    assert_eq!(
        list.last().unwrap(),
        &json!({"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"})
    );
    for v in ["31.0", "59.0", "64.0", "65.0", "66.0", "68.0"] {
        let (status, resources) = api.call(Method::GET, &format!("/services/data/v{v}/"), None).await;
        assert_eq!(status, StatusCode::OK, "{v}: {resources}");
        assert_eq!(resources["sobjects"], format!("/services/data/v{v}/sobjects"));
        let (status, page) = api
            .call(
                Method::GET,
                &format!("/services/data/v{v}/query?q=SELECT+Id+FROM+Contact"),
                None,
            )
            .await;
        assert_eq!(
            (status, page["done"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{v}: {page}"
        );
    }
    for retired in ["30.0", "21.0", "20.0"] {
        for token in [Some(api.token.as_str()), None] {
            let path = format!("/services/data/v{retired}/sobjects/Contact/describe");
            let (status, body, _) = api.call_as(token, Method::GET, &path, None).await;
            assert_eq!((status, code(&body)), (StatusCode::GONE, "GONE"), "{path}: {body}");
        }
    }
    let (status, body) = api.call(Method::GET, "/services/data/v69.0/sobjects", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{body}");
    let (status, body, _) = api
        .call_as(None, Method::GET, "/services/data/v69.0/sobjects", None)
        .await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));

    let newer = Api::serving(ApiVersions::through(70).unwrap()).await;
    let (_, list) = newer.call(Method::GET, "/services/data/", None).await;
    assert_eq!(list.as_array().unwrap().last().unwrap()["version"], "70.0");
    let (status, _) = newer.call(Method::GET, "/services/data/v70.0/sobjects", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Any path under the API is checked for its session first; then a resource that does
/// not exist, or a method a resource does not take, is Salesforce's JSON error.
#[tokio::test]
async fn unknown_paths_and_methods_get_salesforces_errors_after_the_session_check() {
    let api = Api::new().await;
    for path in [
        format!("{V}/no/such/resource"),
        format!("{V}/tooling/nothing-here"),
        "/services/data/not-a-version/sobjects".to_owned(),
    ] {
        let (status, body, content_type) = api.call_as(Some("00D000000000000!bad"), Method::GET, &path, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"),
            "{path}"
        );
        assert_eq!(content_type, "application/json;charset=UTF-8");
        let (status, body) = api.call(Method::GET, &path, None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "NOT_FOUND"),
            "{path}: {body}"
        );
        assert_eq!(body[0]["message"], "The requested resource does not exist");
    }
    let (status, body) = api
        .call(Method::PUT, &format!("{V}/sobjects/Contact"), Some("{}"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
        "{body}"
    );
    let message = body[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("HTTP Method 'PUT' not allowed. Allowed are "),
        "{message}"
    );
    assert!(message.contains("GET") && message.contains("POST"), "{message}");
    let (status, body, _) = api
        .call_as(None, Method::PUT, &format!("{V}/sobjects/Contact"), Some("{}"))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));
}

/// `limits/recordCount` counts each object's live records (every object unless some
/// are named; names that are no object are left out).
#[tokio::test]
async fn record_counts_are_each_objects_live_records() {
    let api = Api::new().await;
    for name in ["A", "B", "C"] {
        let (status, _) = api
            .call(
                Method::POST,
                &format!("{V}/sobjects/Contact"),
                Some(&format!("{{\"LastName\":\"{name}\"}}")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, made) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some("{\"Name\":\"Acme\"}"),
        )
        .await;
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("{V}/sobjects/Account/{}", made["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, all) = api.call(Method::GET, &format!("{V}/limits/recordCount"), None).await;
    assert_eq!(status, StatusCode::OK);
    let counts: Vec<(String, u64)> = all["sObjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap().to_owned(), o["count"].as_u64().unwrap()))
        .collect();
    let count_of = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    assert_eq!(
        ["Account", "Contact", "Lead", "Opportunity", "User", "Organization"].map(count_of),
        [Some(0), Some(3), Some(0), Some(0), Some(1), Some(1)]
    );
    // A standard user is not shown UserLogin, which is for administrators.
    assert_eq!(count_of("UserLogin"), None);
    let (_, some) = api
        .call(
            Method::GET,
            &format!("{V}/limits/recordCount?sObjects=Contact,Nope__c"),
            None,
        )
        .await;
    assert_eq!(some, json!({"sObjects": [{"count": 3, "name": "Contact"}]}));
}

/// An administrator's session in the API's org: `admin@acme.test`, System Administrator.
pub(crate) async fn admin_token(api: &Api) -> String {
    let console = api.stack.services.console();
    console
        .create_user(CreateUser {
            org: None,
            username: "admin@acme.test".into(),
            email: "admin@acme.test".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Admin".into()),
            profile: Some("System Administrator".into()),
            password: Some(secrecy::SecretString::from(crate::support::PASSWORD)),
            settings: Default::default(),
        })
        .await
        .unwrap();
    let admin = api.stack.services.user("admin@acme.test").await.unwrap();
    let org = api.stack.services.resolve_org(None).await.unwrap();
    let issued = api
        .stack
        .services
        .issue_session(&admin, &org, None, false)
        .await
        .unwrap();
    issued.id.expose_secret().to_owned()
}

fn records(page: &Value) -> &Vec<Value> {
    page["records"].as_array().unwrap()
}

#[tokio::test]
async fn users_the_org_and_opportunities_read_like_contacts() {
    let api = Api::new().await;
    let user = api.stack.services.user(USER).await.unwrap();
    let (status, me) = api
        .call(Method::GET, &format!("{V}/sobjects/User/{}", user.id), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (&me["attributes"]["type"], &me["Username"], &me["Name"], &me["IsActive"]),
        (&json!("User"), &json!(USER), &json!("Jane Doe"), &json!(true))
    );
    let (_, org) = api
        .call(
            Method::GET,
            &query_path("SELECT Id, Name, IsSandbox, OrganizationType FROM Organization"),
            None,
        )
        .await;
    assert_eq!(
        (&org["totalSize"], &records(&org)[0]["IsSandbox"]),
        (&json!(1), &json!(false))
    );
    assert_eq!(records(&org)[0]["Name"], "Acme");
    let (_, profile) = api
        .call(
            Method::GET,
            &query_path("SELECT Username, Profile.Name FROM User WHERE Profile.PermissionsApiEnabled = true"),
            None,
        )
        .await;
    assert_eq!(records(&profile)[0]["Profile"]["Name"], "Standard User", "{profile}");

    let (_, account) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(r#"{"Name":"Acme"}"#),
        )
        .await;
    let body = json!({"Name": "Renewal", "StageName": "Prospecting", "CloseDate": "2027-03-31",
                      "Amount": 12000.5, "AccountId": account["id"]})
    .to_string();
    let (status, made) = api
        .call(Method::POST, &format!("{V}/sobjects/Opportunity"), Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["id"].as_str().unwrap().starts_with("006"));
    let (status, missing) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Opportunity"),
            Some(r#"{"Name":"No stage"}"#),
        )
        .await;
    assert_eq!(
        (status, code(&missing)),
        (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING")
    );
    let (_, opps) = api
        .call(
            Method::GET,
            &query_path("SELECT Name, Amount, CloseDate, Account.Name, Owner.Name FROM Opportunity"),
            None,
        )
        .await;
    let opp = &records(&opps)[0];
    assert_eq!(
        (
            &opp["Amount"],
            &opp["CloseDate"],
            &opp["Account"]["Name"],
            &opp["Owner"]["Name"]
        ),
        (
            &json!(12000.5),
            &json!("2027-03-31"),
            &json!("Acme"),
            &json!("Jane Doe")
        ),
        "{opps}"
    );
    let (_, described) = api
        .call(Method::GET, &format!("{V}/sobjects/Account/describe"), None)
        .await;
    let children: Vec<&str> = described["childRelationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["relationshipName"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["Contacts", "Opportunities"]);
}

#[tokio::test]
async fn identity_objects_are_read_only_with_salesforces_errors() {
    let api = Api::new().await;
    let user = api.stack.services.user(USER).await.unwrap();
    let org = api.stack.services.resolve_org(None).await.unwrap();
    for (method, path, body, message) in [
        (
            Method::POST,
            format!("{V}/sobjects/LoginHistory"),
            Some(r#"{"Status":"Success"}"#),
            "entity type cannot be inserted: Login History",
        ),
        (
            Method::PATCH,
            format!("{V}/sobjects/Profile/{}", user.profile_id),
            Some(r#"{"Name":"Boss"}"#),
            "entity type cannot be updated: Profile",
        ),
        (
            Method::DELETE,
            format!("{V}/sobjects/User/{}", user.id),
            None,
            "entity type cannot be deleted: User",
        ),
        (
            Method::DELETE,
            format!("{V}/sobjects/Organization/{}", org.id),
            None,
            "entity type cannot be deleted: Organization",
        ),
    ] {
        let (status, err) = api.call(method, &path, body).await;
        assert_eq!(
            (status, code(&err), err[0]["message"].as_str().unwrap()),
            (StatusCode::BAD_REQUEST, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", message),
            "{path}"
        );
    }
    let (_, me) = api
        .call(Method::GET, &format!("{V}/sobjects/User/{}", user.id), None)
        .await;
    assert_eq!(me["LastName"], "Doe", "a refused write changes nothing");
    let (_, d) = api
        .call(Method::GET, &format!("{V}/sobjects/LoginHistory/describe"), None)
        .await;
    assert_eq!(
        (&d["label"], &d["createable"]),
        (&json!("Login History"), &json!(false))
    );
}

#[tokio::test]
async fn a_standard_user_reads_only_its_own_login_history_and_no_user_logins() {
    let api = Api::new().await;
    let admin = admin_token(&api).await;
    api.stack
        .login(USER, "wrong-password-1", Channel::Soap, "127.0.0.1")
        .await;
    for _ in 0..2 {
        api.stack
            .login("admin@acme.test", "wrong-password-2", Channel::Soap, "127.0.0.1")
            .await;
    }
    let jane = api.stack.services.user(USER).await.unwrap();
    let ada = api.stack.services.user("admin@acme.test").await.unwrap();
    let history = query_path("SELECT UserId, Status, LoginType, SourceIp FROM LoginHistory ORDER BY LoginTime");
    let (status, own) = api.call(Method::GET, &history, None).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    let users: Vec<&str> = records(&own).iter().map(|r| r["UserId"].as_str().unwrap()).collect();
    assert_eq!(users, [jane.id.as_str()]);
    assert_eq!(records(&own)[0]["SourceIp"], "127.0.0.1");
    let (_, all, _) = api.call_as(Some(&admin), Method::GET, &history, None).await;
    assert_eq!(all["totalSize"], 3, "{all}");
    assert!(records(&all).iter().any(|r| r["UserId"] == ada.id.as_str()));
    // One of Ada's rows, by id: hers to read, not Jane's.
    let ada_row = records(&all).iter().find(|r| r["UserId"] == ada.id.as_str()).unwrap()["attributes"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = api.call(Method::GET, &ada_row, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api.call_as(Some(&admin), Method::GET, &ada_row, None).await;
    assert_eq!(status, StatusCode::OK);

    let logins = query_path(&format!(
        "SELECT UserId, IsFrozen FROM UserLogin WHERE UserId = '{}'",
        jane.id
    ));
    let (status, refused) = api.call(Method::GET, &logins, None).await;
    assert_eq!((status, code(&refused)), (StatusCode::BAD_REQUEST, "INVALID_TYPE"));
    let (status, _) = api
        .call(Method::GET, &format!("{V}/sobjects/UserLogin/describe"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, before, _) = api.call_as(Some(&admin), Method::GET, &logins, None).await;
    assert_eq!(records(&before)[0]["IsFrozen"], false, "{before}");
    api.stack.services.console().set_frozen(USER, true).await.unwrap();
    let (_, after, _) = api.call_as(Some(&admin), Method::GET, &logins, None).await;
    assert_eq!(records(&after)[0]["IsFrozen"], true);
}

#[tokio::test]
async fn layouts_and_list_views_are_served_for_every_object_with_them() {
    let api = Api::new().await;
    for name in ["Zed", "Ann", "Bob"] {
        let body = json!({ "LastName": name, "Email": format!("{name}@example.org") }).to_string();
        api.call(Method::POST, &format!("{V}/sobjects/Contact"), Some(&body))
            .await;
    }
    let (status, layouts) = api
        .call(Method::GET, &format!("{V}/sobjects/Contact/describe/layouts"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{layouts}");
    let master = layouts["recordTypeMappings"][0]["urls"]["layout"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, layout) = api.call(Method::GET, &master, None).await;
    assert_eq!((status, &layout["id"]), (StatusCode::OK, &layouts["layouts"][0]["id"]));
    let (status, _) = api
        .call(
            Method::GET,
            &format!("{V}/sobjects/Contact/describe/layouts/012000000000001AAA"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, compact) = api
        .call(
            Method::GET,
            &format!("{V}/sobjects/Contact/describe/compactLayouts"),
            None,
        )
        .await;
    assert_eq!(compact["compactLayouts"][0]["name"], "SYSTEM");
    let (_, approval) = api
        .call(
            Method::GET,
            &format!("{V}/sobjects/Contact/describe/approvalLayouts/"),
            None,
        )
        .await;
    assert_eq!(approval, json!({ "approvalLayouts": [] }));

    let (status, views) = api
        .call(Method::GET, &format!("{V}/sobjects/Contact/listviews"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{views}");
    let view = &views["listviews"][0];
    assert_eq!(
        (&view["developerName"], &views["size"]),
        (&json!("AllContacts"), &json!(1))
    );
    let (_, described) = api.call(Method::GET, view["describeUrl"].as_str().unwrap(), None).await;
    assert!(described["query"]
        .as_str()
        .unwrap()
        .starts_with("SELECT Name, Title, Phone, Email, Id FROM Contact"));
    let (status, results) = api
        .call(
            Method::GET,
            &format!("{}?limit=2", view["resultsUrl"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results}");
    let names: Vec<&Value> = results["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["columns"][0]["value"])
        .collect();
    assert_eq!(names, [&json!("Ann"), &json!("Bob")], "sorted by the first column");
    assert_eq!((&results["size"], &results["done"]), (&json!(2), &json!(false)));
    let (_, rest) = api
        .call(
            Method::GET,
            &format!("{}?offset=2", view["resultsUrl"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!((&rest["size"], &rest["done"]), (&json!(1), &json!(true)));
    assert_eq!(rest["records"][0]["columns"][0]["value"], "Zed");
    let (status, none) = api
        .call(
            Method::GET,
            &format!("{V}/sobjects/Contact/listviews/00B000000000000"),
            None,
        )
        .await;
    assert_eq!((status, code(&none)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (_, history_views) = api
        .call(Method::GET, &format!("{V}/sobjects/LoginHistory/listviews"), None)
        .await;
    assert_eq!(history_views["listviews"], json!([]));
}

/// A User body as provisioning tools send it.
fn new_user_body(username: &str, profile: &str) -> String {
    json!({
        "Username": username, "Email": username, "LastName": "Lovelace", "FirstName": "Ada",
        "Alias": "alove", "TimeZoneSidKey": "Europe/London", "LocaleSidKey": "en_GB",
        "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8", "ProfileId": profile
    })
    .to_string()
}

#[tokio::test]
async fn administrators_provision_users_through_the_account_services() {
    let api = Api::new().await;
    let admin = admin_token(&api).await;
    let org = api.stack.services.resolve_org(None).await.unwrap();
    let standard = api.stack.services.profiles(&org.id).await.unwrap();
    let standard = standard.iter().find(|p| p.name == "Standard User").unwrap().id.clone();
    let as_admin = |method, path: String, body: Option<String>| {
        let (api, admin) = (&api, admin.clone());
        async move {
            let (s, v, _) = api.call_as(Some(&admin), method, &path, body.as_deref()).await;
            (s, v)
        }
    };
    let users = format!("{V}/sobjects/User");

    // Salesforce's required fields, and only administrators create users.
    let (status, err) = as_admin(
        Method::POST,
        users.clone(),
        Some(r#"{"Username":"x@acme.test"}"#.into()),
    )
    .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"),
        "{err}"
    );
    let missing: Vec<&str> = err[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for field in [
        "LastName",
        "Email",
        "Alias",
        "TimeZoneSidKey",
        "LocaleSidKey",
        "ProfileId",
    ] {
        assert!(missing.contains(&field), "{field} in {missing:?}");
    }
    let body = new_user_body("ada@acme.test", standard.as_str());
    let (status, err) = api.call(Method::POST, &users, Some(&body)).await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::BAD_REQUEST, "INSUFFICIENT_ACCESS_OR_READONLY"),
        "a standard user: {err}"
    );

    let (status, created) = as_admin(Method::POST, users.clone(), Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("005"), "{id}");
    let (_, ada) = as_admin(Method::GET, format!("{users}/{id}"), None).await;
    assert_eq!(
        (
            &ada["Username"],
            &ada["Alias"],
            &ada["TimeZoneSidKey"],
            &ada["LocaleSidKey"],
            &ada["IsActive"]
        ),
        (
            &json!("ada@acme.test"),
            &json!("alove"),
            &json!("Europe/London"),
            &json!("en_GB"),
            &json!(true)
        )
    );
    api.stack.deliver().await;
    let mails = latchkey_org::mail::folder::list(&api.stack.mail_dir()).unwrap();
    let first_token = mails
        .iter()
        .filter(|m| m.to.contains("ada@acme.test"))
        .find_map(|m| crate::support::token_in(&m.text))
        .expect("the new user's security token is mailed");

    let (status, err) = as_admin(Method::POST, users.clone(), Some(body.replace("Lovelace", "Byron"))).await;
    assert_eq!(
        (status, code(&err), err[0]["fields"].clone()),
        (StatusCode::BAD_REQUEST, "DUPLICATE_USERNAME", json!(["Username"])),
        "{err}"
    );

    // Updates change the fields given, in one go; deactivation ends the user's access.
    let (status, _) = as_admin(
        Method::PATCH,
        format!("{users}/{id}"),
        Some(r#"{"FirstName":"Augusta","TimeZoneSidKey":"America/New_York"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, ada) = as_admin(
        Method::GET,
        format!("{users}/{id}?fields=FirstName,LastName,TimeZoneSidKey,Alias"),
        None,
    )
    .await;
    assert_eq!(
        (
            &ada["FirstName"],
            &ada["LastName"],
            &ada["TimeZoneSidKey"],
            &ada["Alias"]
        ),
        (
            &json!("Augusta"),
            &json!("Lovelace"),
            &json!("America/New_York"),
            &json!("alove")
        )
    );
    let (status, err) = as_admin(
        Method::PATCH,
        format!("{users}/{id}"),
        Some(r#"{"Email":"not-an-address"}"#.into()),
    )
    .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::BAD_REQUEST, "INVALID_EMAIL_ADDRESS"),
        "{err}"
    );

    // The password resource: status, set (policy enforced, token reset), reset.
    let password = format!("{users}/{id}/password");
    let (status, v) = as_admin(Method::GET, password.clone(), None).await;
    assert_eq!((status, v), (StatusCode::OK, json!({"isExpired": false})));
    let (status, err) = api.call(Method::GET, &password, None).await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS"),
        "{err}"
    );
    let (status, err) = as_admin(
        Method::POST,
        password.clone(),
        Some(r#"{"NewPassword":"short"}"#.into()),
    )
    .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::BAD_REQUEST, "INVALID_NEW_PASSWORD"),
        "{err}"
    );
    let (status, _) = as_admin(
        Method::POST,
        password.clone(),
        Some(r#"{"NewPassword":"Analytical-Engine-1843"}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    api.stack.deliver().await;
    let mails = latchkey_org::mail::folder::list(&api.stack.mail_dir()).unwrap();
    let token = mails
        .iter()
        .rev()
        .filter(|m| m.to.contains("ada@acme.test"))
        .find_map(|m| crate::support::token_in(&m.text))
        .unwrap();
    assert_ne!(token, first_token, "a password change resets the security token");
    let outcome = api
        .stack
        .login(
            "ada@acme.test",
            &format!("Analytical-Engine-1843{token}"),
            Channel::Soap,
            crate::support::UNTRUSTED,
        )
        .await;
    assert!(
        matches!(
            outcome,
            latchkey_org::login::LoginOutcome::Success {
                password_expired: false,
                ..
            }
        ),
        "{outcome:?}"
    );
    let (status, reset) = as_admin(Method::DELETE, password.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    let temporary = reset["NewPassword"].as_str().unwrap().to_owned();
    let (_, v) = as_admin(Method::GET, password.clone(), None).await;
    assert_eq!(
        v,
        json!({"isExpired": true}),
        "a reset password must be changed at the next login"
    );
    api.stack.deliver().await;
    let mails = latchkey_org::mail::folder::list(&api.stack.mail_dir()).unwrap();
    let token = mails
        .iter()
        .rev()
        .filter(|m| m.to.contains("ada@acme.test"))
        .find_map(|m| crate::support::token_in(&m.text))
        .unwrap();
    let outcome = api
        .stack
        .login(
            "ada@acme.test",
            &format!("{temporary}{token}"),
            Channel::Soap,
            crate::support::UNTRUSTED,
        )
        .await;
    assert!(
        matches!(
            outcome,
            latchkey_org::login::LoginOutcome::Success {
                password_expired: true,
                ..
            }
        ),
        "{outcome:?}"
    );

    let (status, _) = as_admin(
        Method::PATCH,
        format!("{users}/{id}"),
        Some(r#"{"IsActive":false}"#.into()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!api.stack.services.user("ada@acme.test").await.unwrap().active);
    let (_, d) = as_admin(Method::GET, format!("{users}/describe"), None).await;
    assert_eq!(
        (&d["createable"], &d["updateable"], &d["deletable"]),
        (&json!(true), &json!(true), &json!(false))
    );
}

#[tokio::test]
async fn sobject_trees_insert_parents_and_children_together_or_not_at_all() {
    let api = Api::new().await;
    let tree = format!("{V}/composite/tree/Account");
    let body = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "acme"}, "Name": "Acme",
         "Contacts": {"records": [
             {"attributes": {"type": "Contact", "referenceId": "ada"}, "LastName": "Lovelace", "Email": "ada@acme.test"},
             {"attributes": {"type": "Contact", "referenceId": "bob"}, "LastName": "Babbage"}
         ]},
         "Opportunities": {"records": [
             {"attributes": {"type": "Opportunity", "referenceId": "deal"}, "Name": "Engines",
              "StageName": "Prospecting", "CloseDate": "2026-12-31"}
         ]}},
        {"attributes": {"type": "Account", "referenceId": "globex"}, "Name": "Globex"}
    ]});
    let (status, done) = api.call(Method::POST, &tree, Some(&body.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["hasErrors"], false);
    let refs: Vec<&str> = done["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["referenceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs,
        ["acme", "ada", "bob", "deal", "globex"],
        "parents before their children"
    );
    let acme = done["results"][0]["id"].as_str().unwrap();
    let (_, children) = api
        .call(
            Method::GET,
            &query_path(&format!(
                "SELECT LastName FROM Contact WHERE AccountId = '{acme}' ORDER BY LastName"
            )),
            None,
        )
        .await;
    assert_eq!(children["totalSize"], 2, "{children}");

    // One bad child: nothing is kept, and the failure names its record.
    let bad = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "initech"}, "Name": "Initech",
         "Contacts": {"records": [
             {"attributes": {"type": "Contact", "referenceId": "peter"}, "LastName": "Gibbons", "Email": "not-an-address"}
         ]}}
    ]});
    let (status, failed) = api.call(Method::POST, &tree, Some(&bad.to_string())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{failed}");
    assert_eq!(
        (
            &failed["hasErrors"],
            &failed["results"][0]["referenceId"],
            &failed["results"][0]["errors"][0]["statusCode"]
        ),
        (&json!(true), &json!("peter"), &json!("INVALID_EMAIL_ADDRESS")),
        "{failed}"
    );
    let (_, none) = api
        .call(
            Method::GET,
            &query_path("SELECT Id FROM Account WHERE Name = 'Initech'"),
            None,
        )
        .await;
    assert_eq!(none["totalSize"], 0, "the parent was rolled back");

    let dup = json!({"records": [
        {"attributes": {"type": "Account", "referenceId": "x"}, "Name": "One"},
        {"attributes": {"type": "Account", "referenceId": "x"}, "Name": "Two"}
    ]});
    let (status, failed) = api.call(Method::POST, &tree, Some(&dup.to_string())).await;
    assert_eq!(
        (status, &failed["results"][0]["errors"][0]["message"]),
        (
            StatusCode::BAD_REQUEST,
            &json!("Duplicate ReferenceId provided in the request.")
        )
    );
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Account", "referenceId": format!("a{i}")}, "Name": format!("A{i}")}))
        .collect();
    let (status, err) = api
        .call(Method::POST, &tree, Some(&json!({"records": many}).to_string()))
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::BAD_REQUEST, "EXCEEDED_ID_LIMIT"),
        "{err}"
    );
}
