//! Bulk API 2.0 query jobs in process: created by a caller, run by the worker, their
//! CSV results paged by locator; states, abort, delete and a lapsed lease taken over.

use axum::http::{Method, StatusCode};
use latchkey_core::clock::Clock;
use serde_json::{json, Value};

use crate::rest::{code, Api, V};

const AWKWARD: &str = "Quote \"this\", then\na new line";

/// Creates `n` contacts (200 per collection call) and one awkward one under an account.
async fn contacts(api: &Api, n: usize) -> String {
    for start in (0..n).step_by(200) {
        let records: Vec<Value> = (start..n.min(start + 200))
            .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("C{i:05}"), "Email": format!("c{i}@bulk.test")}))
            .collect();
        let body = json!({"allOrNone": true, "records": records}).to_string();
        let (status, v) = api
            .call(Method::POST, &format!("{V}/composite/sobjects"), Some(&body))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (_, account) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(r#"{"Name":"Engines, Ltd"}"#),
        )
        .await;
    let body = json!({"LastName": "ZZ Awkward", "Description": AWKWARD, "AccountId": account["id"]}).to_string();
    let (status, v) = api
        .call(Method::POST, &format!("{V}/sobjects/Contact"), Some(&body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn create_job(api: &Api, operation: &str, query: &str) -> (StatusCode, Value) {
    let body = json!({"operation": operation, "query": query}).to_string();
    api.call(Method::POST, &format!("{V}/jobs/query"), Some(&body)).await
}

/// Every result set of a job, following `Sforce-Locator`, as parsed CSV rows (the
/// header first) and the record count each set announced.
async fn all_results(api: &Api, id: &str, max_records: usize) -> (Vec<Vec<String>>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut counts = Vec::new();
    let mut locator = String::new();
    loop {
        let mut path = format!("{V}/jobs/query/{id}/results?maxRecords={max_records}");
        if !locator.is_empty() {
            path.push_str(&format!("&locator={locator}"));
        }
        let (status, headers, body) = api.raw(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(body.as_bytes());
        let set: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let announced: usize = headers["sforce-numberofrecords"].to_str().unwrap().parse().unwrap();
        assert_eq!(announced, set.len() - 1, "the header line, then the records");
        if rows.is_empty() {
            rows.push(set[0].clone());
        } else {
            assert_eq!(rows[0], set[0], "every set repeats the header");
        }
        rows.extend(set.into_iter().skip(1));
        counts.push(announced);
        locator = headers["sforce-locator"].to_str().unwrap().to_owned();
        if locator == "null" {
            return (rows, counts);
        }
    }
}

#[tokio::test]
async fn query_jobs_run_in_the_background_and_page_their_csv_results() {
    let api = Api::new().await;
    let awkward = contacts(&api, 2_400).await;
    let (status, _) = api
        .call(Method::DELETE, &format!("{V}/sobjects/Contact/{awkward}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let query = "SELECT Id, LastName, Email, Description, Account.Name FROM Contact ORDER BY LastName";
    let (status, job) = create_job(&api, "queryAll", query).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("750"), "{id}");
    assert_eq!(
        (
            &job["state"],
            &job["object"],
            &job["operation"],
            &job["contentType"],
            &job["apiVersion"]
        ),
        (
            &json!("UploadComplete"),
            &json!("Contact"),
            &json!("queryAll"),
            &json!("CSV"),
            &json!(59.0)
        )
    );
    let (status, err) = api
        .call(Method::GET, &format!("{V}/jobs/query/{id}/results"), None)
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::PRECONDITION_FAILED, "JOB_NOT_COMPLETE"),
        "{err}"
    );

    assert!(
        api.stack.services.run_one_bulk_job().await.unwrap(),
        "the worker runs the job"
    );
    assert!(
        !api.stack.services.run_one_bulk_job().await.unwrap(),
        "and nothing else waits"
    );
    let (_, state) = api.call(Method::GET, &format!("{V}/jobs/query/{id}"), None).await;
    assert_eq!(
        (&state["state"], &state["numberRecordsProcessed"], &state["jobType"]),
        (&json!("JobComplete"), &json!(2_401), &json!("V2Query")),
        "{state}"
    );

    let (rows, counts) = all_results(&api, &id, 1_000).await;
    assert_eq!(counts, vec![1_000, 1_000, 401]);
    assert_eq!(rows[0], ["Id", "LastName", "Email", "Description", "Account.Name"]);
    let records = &rows[1..];
    let ids: std::collections::BTreeSet<&str> = records.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), 2_401, "no row lost or repeated across sets");
    assert_eq!(records[0][1], "C00000", "in the query's order");
    let last = records.last().unwrap();
    assert_eq!(
        (last[0].as_str(), last[3].as_str(), last[4].as_str()),
        (awkward.as_str(), AWKWARD, "Engines, Ltd"),
        "quotes, commas and new lines survive; parents' fields are Relationship.Field; queryAll sees the recycled"
    );
    assert_eq!(records[0][3], "", "a null is empty");

    // A plain query does not see the recycled contact; one set holds everything.
    let (_, live) = create_job(&api, "query", query).await;
    let live = live["id"].as_str().unwrap().to_owned();
    api.stack.services.run_one_bulk_job().await.unwrap();
    let (rows, counts) = all_results(&api, &live, 100_000).await;
    assert_eq!((rows.len() - 1, counts), (2_400, vec![2_400]));

    // The list holds both; delete removes one with its results.
    let (_, list) = api.call(Method::GET, &format!("{V}/jobs/query"), None).await;
    let listed: std::collections::BTreeSet<&str> = list["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    let both = std::collections::BTreeSet::from([id.as_str(), live.as_str()]);
    assert_eq!((listed, &list["done"]), (both, &json!(true)));
    let (status, _) = api.call(Method::DELETE, &format!("{V}/jobs/query/{live}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.call(Method::GET, &format!("{V}/jobs/query/{live}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_jobs_are_refused_aborted_jobs_never_run_and_lapsed_leases_are_taken_over() {
    let api = Api::new().await;
    contacts(&api, 10).await;
    for (operation, query, want) in [
        ("query", "SELECT Nope__c FROM Contact", "INVALID_FIELD"),
        ("query", "SELECT Id FRM Contact", "MALFORMED_QUERY"),
        ("query", "SELECT COUNT() FROM Contact", "INVALIDJOB"),
        ("upsert", "SELECT Id FROM Contact", "INVALIDJOB"),
    ] {
        let (status, err) = create_job(&api, operation, query).await;
        assert_eq!((status, code(&err)), (StatusCode::BAD_REQUEST, want), "{query}: {err}");
    }
    let (_, jobs) = api.call(Method::GET, &format!("{V}/jobs/query"), None).await;
    assert_eq!(jobs["records"], json!([]), "refused jobs are not kept");

    let (_, job) = create_job(&api, "query", "SELECT Id FROM Contact").await;
    let id = job["id"].as_str().unwrap().to_owned();
    let abort = r#"{"state":"Aborted"}"#;
    let (status, aborted) = api
        .call(Method::PATCH, &format!("{V}/jobs/query/{id}"), Some(abort))
        .await;
    assert_eq!((status, &aborted["state"]), (StatusCode::OK, &json!("Aborted")));
    assert!(
        !api.stack.services.run_one_bulk_job().await.unwrap(),
        "an aborted job never runs"
    );
    let (status, err) = api
        .call(Method::PATCH, &format!("{V}/jobs/query/{id}"), Some(abort))
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::BAD_REQUEST, "INVALIDJOBSTATE"),
        "{err}"
    );

    // A server leases a job and dies before saving anything; once the lease lapses,
    // another server runs the job to the end.
    let (_, job) = create_job(&api, "query", "SELECT Id FROM Contact").await;
    let id = job["id"].as_str().unwrap().to_owned();
    let mut conn = api.stack.store.conn().await.unwrap();
    let leased = latchkey_store::bulk_jobs::lease_next(&mut conn, api.stack.clock.now(), chrono::Duration::seconds(30))
        .await
        .unwrap();
    drop(conn);
    assert_eq!(leased.map(|j| j.id), Some(id.clone()));
    let other = api.stack.services.another_server();
    assert!(!other.run_one_bulk_job().await.unwrap(), "a live lease is respected");
    api.stack.clock.advance(chrono::Duration::seconds(31));
    assert!(other.run_one_bulk_job().await.unwrap());
    let (_, state) = api.call(Method::GET, &format!("{V}/jobs/query/{id}"), None).await;
    assert_eq!(
        (&state["state"], &state["numberRecordsProcessed"]),
        (&json!("JobComplete"), &json!(11))
    );
}

/// A PUT of CSV to an ingest job's `batches`.
async fn upload(api: &Api, id: &str, csv: &str) -> (StatusCode, String) {
    let req = axum::http::Request::builder()
        .method(Method::PUT)
        .uri(format!("{V}/jobs/ingest/{id}/batches"))
        .header("host", "acme.example")
        .header("authorization", format!("Bearer {}", api.token))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(csv.to_owned()))
        .unwrap();
    let (status, _, body) = api.send(req).await;
    (status, body)
}

async fn ingest_job(api: &Api, body: Value) -> String {
    let (status, job) = api
        .call(Method::POST, &format!("{V}/jobs/ingest"), Some(&body.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["state"], "Open", "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(
        job["contentUrl"],
        format!("services/data/v59.0/jobs/ingest/{id}/batches")
    );
    id
}

/// Closes a job, lets the worker run it, and answers its state.
async fn run(api: &Api, id: &str) -> Value {
    let close = r#"{"state":"UploadComplete"}"#;
    let (status, closed) = api
        .call(Method::PATCH, &format!("{V}/jobs/ingest/{id}"), Some(close))
        .await;
    assert_eq!(
        (status, &closed["state"]),
        (StatusCode::OK, &json!("UploadComplete")),
        "{closed}"
    );
    assert!(api.stack.services.run_one_bulk_job().await.unwrap());
    api.call(Method::GET, &format!("{V}/jobs/ingest/{id}"), None).await.1
}

async fn csv_rows(api: &Api, id: &str, which: &str) -> Vec<Vec<String>> {
    let (status, _, body) = api
        .raw(Method::GET, &format!("{V}/jobs/ingest/{id}/{which}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn ingest_jobs_insert_upsert_and_delete_through_the_record_rules() {
    let api = Api::new().await;
    let org = api.stack.services.resolve_org(None).await.unwrap();
    api.stack
        .services
        .console()
        .add_custom_field(
            &org.id,
            &latchkey_core::records::CustomField {
                object: latchkey_core::records::ObjectKind::Account,
                name: "Acct_Key__c".into(),
                label: "Key".into(),
                custom_type: latchkey_core::records::CustomType::Text,
                length: 20,
                required: false,
                external_id: true,
                unique: false,
            },
        )
        .await
        .unwrap();
    let (_, account) = api
        .call(
            Method::POST,
            &format!("{V}/sobjects/Account"),
            Some(r#"{"Name":"Engines","Acct_Key__c":"ENG"}"#),
        )
        .await;

    // 2,000 rows (past the server's small body limit), one without a last name.
    let id = ingest_job(&api, json!({"object": "Contact", "operation": "insert"})).await;
    let mut csv = String::from("FirstName,LastName,Email,Description,Account.Acct_Key__c,Ext_Id__c\n");
    for i in 0..1_999 {
        csv.push_str(&format!("Ada,L{i:04},l{i}@bulk.test,,ENG,X{i}\n"));
    }
    csv.push_str("Nobody,,nobody@bulk.test,\"a, \"\"quoted\"\"\nvalue\",,\n");
    assert!(csv.len() > 64 * 1024);
    let (status, body) = upload(&api, &id, &csv).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let done = run(&api, &id).await;
    assert_eq!(
        (
            &done["state"],
            &done["numberRecordsProcessed"],
            &done["numberRecordsFailed"],
            &done["jobType"]
        ),
        (&json!("JobComplete"), &json!(2_000), &json!(1), &json!("V2Ingest")),
        "{done}"
    );
    let ok = csv_rows(&api, &id, "successfulResults").await;
    assert_eq!(ok[0][..3], ["sf__Id", "sf__Created", "FirstName"]);
    assert_eq!(ok.len(), 2_000);
    assert_eq!((&ok[1][1][..], &ok[1][3][..]), ("true", "L0000"));
    let failed = csv_rows(&api, &id, "failedResults").await;
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0][..2], ["sf__Id", "sf__Error"]);
    assert_eq!(
        failed[1][1], "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
        "{failed:?}"
    );
    assert_eq!(failed[1][5], "a, \"quoted\"\nvalue", "the row comes back as uploaded");
    assert_eq!(
        csv_rows(&api, &id, "unprocessedrecords").await.len(),
        1,
        "the header alone"
    );
    let first = ok[1][0].clone();
    let (_, contact) = api
        .call(
            Method::GET,
            &format!("{V}/sobjects/Contact/{first}?fields=LastName,AccountId"),
            None,
        )
        .await;
    assert_eq!(
        (&contact["LastName"], &contact["AccountId"]),
        (&json!("L0000"), &account["id"])
    );

    // Upsert by external id: one match updated, one new; then delete by id.
    let id = ingest_job(
        &api,
        json!({"object": "Contact", "operation": "upsert", "externalIdFieldName": "Ext_Id__c"}),
    )
    .await;
    upload(
        &api,
        &id,
        "Ext_Id__c,LastName,Title\nX0,L0000,Countess\nNEW,Newby,Newcomer\n",
    )
    .await;
    let done = run(&api, &id).await;
    assert_eq!(done["numberRecordsFailed"], 0, "{done}");
    let ok = csv_rows(&api, &id, "successfulResults").await;
    assert_eq!((&ok[1][0], &ok[1][1][..], &ok[2][1][..]), (&first, "false", "true"));
    let id = ingest_job(&api, json!({"object": "Contact", "operation": "delete"})).await;
    upload(&api, &id, &format!("Id\n{first}\n")).await;
    assert_eq!(run(&api, &id).await["numberRecordsFailed"], 0);
    let (status, _) = api
        .call(Method::GET, &format!("{V}/sobjects/Contact/{first}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "deleted");

    // A closed job takes no uploads; a column that names nothing fails the job.
    let (status, body) = upload(&api, &id, "Id\n").await;
    assert!(
        status == StatusCode::BAD_REQUEST && body.contains("INVALIDJOBSTATE"),
        "{body}"
    );
    let id = ingest_job(&api, json!({"object": "Contact", "operation": "insert"})).await;
    upload(&api, &id, "LastName,Nope\nX,1\n").await;
    let failed = run(&api, &id).await;
    assert_eq!(
        (&failed["state"], &failed["errorMessage"]),
        (&json!("Failed"), &json!("InvalidBatch : Field name not found : Nope"))
    );
    let (status, err) = api
        .call(
            Method::POST,
            &format!("{V}/jobs/ingest"),
            Some(r#"{"object":"LoginHistory","operation":"insert"}"#),
        )
        .await;
    assert_eq!((status, code(&err)), (StatusCode::BAD_REQUEST, "INVALIDJOB"), "{err}");
}
