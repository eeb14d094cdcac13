//! U+0000, which PostgreSQL cannot store and SQLite can, in every field a client
//! controls: the same clear error on both stores, per record in a collection, and no
//! ERROR in the server's log.

use crate::support::{request, values_after, Cli};
use serde_json::{json, Value};

const USER: &str = "nul@acme.test";
const PASSWORD: &str = "violet-kettle-42";

fn soap_login(username: &[u8], password: &str) -> Vec<u8> {
    let mut body = b"<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Body>\
        <login xmlns=\"urn:partner.soap.sforce.com\"><username>"
        .to_vec();
    body.extend_from_slice(username);
    body.extend_from_slice(
        format!("</username><password>{password}</password></login></se:Body></se:Envelope>").as_bytes(),
    );
    body
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    Some(&text[start..start + text[start..].find(close)?])
}

/// The answer to each NUL-bearing request, in a form both stores must agree on.
fn answers(cli: &Cli) -> Vec<(String, u16, Value)> {
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let app: Value =
        serde_json::from_str(&cli.ok(&["org", "app", "create", "--name", "Data Sync", "--json"], None)).unwrap();
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    let client_secret = app["client_secret"].as_str().unwrap().to_owned();
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .expect("token mail");
    let server = cli.serve();
    let url = server.url.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async move {
        let soap = [("Content-Type", "text/xml"), ("SOAPAction", "login")];
        let (status, body) = request(&url, "POST", "/services/Soap/u/59.0", &soap, &soap_login(USER.as_bytes(), &format!("{PASSWORD}{token}"))).await;
        assert_eq!(status, 200, "{body}");
        let session = between(&body, "<sessionId>", "</sessionId>").expect("session").to_owned();
        let bearer = format!("Bearer {session}");
        let rest = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let mut out = Vec::new();
        let mut note = |what: &str, (status, body): (u16, String)| {
            let value = serde_json::from_str(&body).unwrap_or_else(|_| {
                // A SOAP fault: its code is what clients read.
                json!({ "faultcode": between(&body, "<faultcode>", "</faultcode>") })
            });
            out.push((what.to_owned(), status, value));
        };
        let v = "/services/data/v59.0";
        note("REST field", request(&url, "POST", &format!("{v}/sobjects/Contact"), &rest, br#"{"LastName":"a\u0000b"}"#).await);
        let collection = json!({"allOrNone": false, "records": [
            {"attributes": {"type": "Contact"}, "LastName": "First"},
            {"attributes": {"type": "Contact"}, "LastName": "Nul\u{0}Name"},
            {"attributes": {"type": "Contact"}, "LastName": "Third", "Email": "t\u{0}@x.io"},
            {"attributes": {"type": "Contact"}, "LastName": "Fourth"},
        ]});
        note("collection", request(&url, "POST", &format!("{v}/composite/sobjects"), &rest, collection.to_string().as_bytes()).await);
        note("SOQL literal", request(&url, "GET", &format!("{v}/query?q=SELECT+Id+FROM+Contact+WHERE+LastName+%3D+%27a%00b%27"), &rest, b"").await);
        note("queried", request(&url, "GET", &format!("{v}/query?q=SELECT+LastName+FROM+Contact+ORDER+BY+LastName"), &rest, b"").await);
        note("SOAP username", request(&url, "POST", "/services/Soap/u/59.0", &soap, &soap_login(b"nul\0@acme.test", PASSWORD)).await);
        note("SOAP username reference", request(&url, "POST", "/services/Soap/u/59.0", &soap, &soap_login(b"nul&#0;@acme.test", PASSWORD)).await);
        let grant = |user: &str, client: &str| {
            format!("grant_type=password&client_id={client}&client_secret={client_secret}&username={user}&password={PASSWORD}")
        };
        note("OAuth client_id", request(&url, "POST", "/services/oauth2/token", &form, grant("nul%40acme.test", "a%00b").as_bytes()).await);
        note("OAuth username", request(&url, "POST", "/services/oauth2/token", &form, grant("nul%00%40acme.test", &client_id).as_bytes()).await);
        out
    });
    let logs = cli.server_logs();
    let errors: Vec<&str> = logs.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "no ERROR in the log: {errors:?}");
    out
}

fn check(answers: &[(String, u16, Value)]) {
    let by = |what: &str| {
        answers
            .iter()
            .find(|(w, ..)| w == what)
            .map(|(_, s, v)| (*s, v.clone()))
            .unwrap()
    };
    let (status, body) = by("REST field");
    assert_eq!(
        (status, &body[0]["errorCode"], &body[0]["fields"]),
        (400, &json!("INVALID_FIELD"), &json!(["LastName"])),
        "{body}"
    );
    let (status, body) = by("collection");
    assert_eq!(status, 200, "{body}");
    let successes: Vec<bool> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["success"].as_bool().unwrap())
        .collect();
    assert_eq!(
        successes,
        [true, false, false, true],
        "only the records holding U+0000 fail: {body}"
    );
    assert_eq!(body[1]["errors"][0]["statusCode"], "INVALID_FIELD", "{body}");
    assert_eq!(body[2]["errors"][0]["fields"], json!(["Email"]), "{body}");
    let (status, body) = by("SOQL literal");
    assert_eq!(
        (status, &body[0]["errorCode"]),
        (400, &json!("MALFORMED_QUERY")),
        "{body}"
    );
    let (_, body) = by("queried");
    let names: Vec<&str> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["LastName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["First", "Fourth"], "nothing half-written");
    let (status, body) = by("SOAP username");
    assert_eq!(
        (status, &body["faultcode"]),
        (500, &json!("sf:INVALID_LOGIN")),
        "{body}"
    );
    let (status, body) = by("SOAP username reference");
    assert_eq!(
        (status, &body["faultcode"]),
        (400, &json!("soapenv:Client")),
        "&#0; is not XML: {body}"
    );
    let (status, body) = by("OAuth client_id");
    assert_eq!((status, &body["error"]), (400, &json!("invalid_client_id")), "{body}");
    let (status, body) = by("OAuth username");
    assert_eq!((status, &body["error"]), (400, &json!("invalid_grant")), "{body}");
}

/// An answer with the ids of new records (which differ from run to run) blanked.
#[cfg(pg_tests)]
fn without_ids((what, status, body): &(String, u16, Value)) -> (String, u16, Value) {
    let mut body = body.clone();
    for record in body.as_array_mut().into_iter().flatten() {
        if record["id"].is_string() {
            record["id"] = json!("<id>");
        }
    }
    let records = body.get_mut("records").and_then(Value::as_array_mut);
    for record in records.into_iter().flatten() {
        record["attributes"]["url"] = json!("<url>");
    }
    (what.clone(), *status, body)
}

#[test]
fn nul_characters_get_the_same_clear_error_on_sqlite_and_postgres() {
    let lite = answers(&Cli::new());
    check(&lite);
    #[cfg(pg_tests)]
    {
        let (schema, cli) = crate::support::PgSchema::cli("lk_nul");
        let pg = answers(&cli);
        schema.drop_now();
        assert_eq!(lite.len(), pg.len());
        for (a, b) in lite.iter().zip(&pg) {
            assert_eq!(
                without_ids(a),
                without_ids(b),
                "SQLite and PostgreSQL answer {} alike",
                a.0
            );
        }
    }
}
