use chrono::Duration;
use latchkey_core::ids;
use latchkey_core::records::{CustomField, CustomType, Field, ObjectKind, OrgSchema, Value};
use latchkey_core::soql;
use latchkey_store::records::{self, custom, Change, QueryRow};
use latchkey_store::{orgs, Store};

use crate::store_test;
use crate::support::t0;
use crate::users::org_and_user;

fn score() -> CustomField {
    CustomField {
        object: ObjectKind::Contact,
        name: "Gator_Score__c".into(),
        label: "Gator Score".into(),
        custom_type: CustomType::Number,
        length: 0,
        required: false,
        external_id: false,
        unique: false,
    }
}

fn values(schema: &OrgSchema, kind: ObjectKind, pairs: &[(&str, Value)]) -> Vec<(Field, Value)> {
    pairs
        .iter()
        .map(|(n, v)| (schema.object(kind).field(n).unwrap().clone(), v.clone()))
        .collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

store_test!(records_round_trip_with_custom_fields_and_recycle);
async fn records_round_trip_with_custom_fields_and_recycle(store: &Store) {
    let (org, user) = org_and_user(store, "owner@acme.test").await;
    let mut tx = store.begin().await.unwrap();
    custom::add(&mut tx, &org.id, &score(), t0()).await.unwrap();
    latchkey_store::commit(tx).await.unwrap();
    let mut c = store.conn().await.unwrap();
    // A second org may add the same field: the column exists already.
    let other = orgs::create(&mut c, "Other", t0()).await.unwrap();
    custom::add(&mut c, &other.id, &score(), t0()).await.unwrap();
    assert!(
        custom::add(&mut c, &org.id, &score(), t0()).await.is_err(),
        "same name twice in one org"
    );
    let defs = custom::list(&mut c, &org.id).await.unwrap();
    assert_eq!(defs, vec![score()]);
    let schema = OrgSchema::new(&defs);
    let contact = schema.object(ObjectKind::Contact);

    let id = ids::generate("003");
    let change = Change {
        org: &org.id,
        object: ObjectKind::Contact,
        user: &user.id,
        now: t0(),
    };
    let vals = values(
        &schema,
        ObjectKind::Contact,
        &[
            ("FirstName", text("Ada")),
            ("LastName", text("Lovelace")),
            ("Email", text("Ada@Example.org")),
            ("Gator_Score__c", Value::Number(7.5)),
        ],
    );
    records::insert(&mut c, &change, &id, &vals).await.unwrap();
    let wanted: Vec<&Field> = ["Name", "OwnerId", "Gator_Score__c", "Phone", "CreatedDate"]
        .iter()
        .map(|n| contact.field(n).unwrap())
        .collect();
    let got = records::get(&mut c, &org.id, ObjectKind::Contact, &id, &wanted)
        .await
        .unwrap()
        .unwrap();
    assert!(!got.is_deleted);
    assert_eq!(
        got.values,
        vec![
            text("Ada Lovelace"),
            text(user.id.as_str()),
            Value::Number(7.5),
            Value::Null,
            Value::DateTime(t0().timestamp_millis()),
        ]
    );
    // Other orgs and other objects do not see it.
    assert!(records::get(&mut c, &other.id, ObjectKind::Contact, &id, &wanted)
        .await
        .unwrap()
        .is_none());
    assert!(records::get(&mut c, &org.id, ObjectKind::Lead, &id, &[])
        .await
        .unwrap()
        .is_none());
    let email = contact.field("Email").unwrap();
    assert_eq!(
        records::find_by(&mut c, &org.id, ObjectKind::Contact, email, &text("ada@example.ORG"))
            .await
            .unwrap(),
        vec![id.clone()]
    );

    let later = Change {
        now: t0() + Duration::minutes(5),
        ..change
    };
    let upd = values(&schema, ObjectKind::Contact, &[("FirstName", Value::Null)]);
    assert!(records::update(&mut c, &later, &id, &upd).await.unwrap());
    let got = records::get(&mut c, &org.id, ObjectKind::Contact, &id, &wanted[..1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.values, vec![text("Lovelace")]);

    let range = (t0() - Duration::days(1), t0() + Duration::days(1));
    assert_eq!(
        records::updated(&mut c, &org.id, ObjectKind::Contact, range.0, range.1)
            .await
            .unwrap(),
        vec![id.clone()]
    );
    let gone = Change {
        now: t0() + Duration::minutes(9),
        ..change
    };
    assert!(records::delete(&mut c, &gone, &id).await.unwrap());
    assert!(
        !records::delete(&mut c, &gone, &id).await.unwrap(),
        "deleting twice finds nothing"
    );
    assert!(
        !records::update(&mut c, &later, &id, &upd).await.unwrap(),
        "recycled records do not update"
    );
    assert!(
        records::get(&mut c, &org.id, ObjectKind::Contact, &id, &[])
            .await
            .unwrap()
            .unwrap()
            .is_deleted
    );
    assert!(records::updated(&mut c, &org.id, ObjectKind::Contact, range.0, range.1)
        .await
        .unwrap()
        .is_empty());
    let del = records::deleted(&mut c, &org.id, ObjectKind::Contact, range.0, range.1)
        .await
        .unwrap();
    assert_eq!(del, vec![(id.clone(), gone.now)]);
    assert_eq!(
        records::purge_deleted(&mut c, gone.now).await.unwrap(),
        0,
        "not yet older than the cut-off"
    );
    assert_eq!(
        records::purge_deleted(&mut c, gone.now + Duration::days(15))
            .await
            .unwrap(),
        1
    );
    assert!(records::get(&mut c, &org.id, ObjectKind::Contact, &id, &[])
        .await
        .unwrap()
        .is_none());
}

store_test!(api_usage_accumulates_per_org_and_day);
async fn api_usage_accumulates_per_org_and_day(store: &Store) {
    let (org, _) = org_and_user(store, "u@acme.test").await;
    let mut c = store.conn().await.unwrap();
    assert_eq!(
        records::add_api_requests(&mut c, &org.id, 20_000, 3).await.unwrap(),
        (3, 100_000)
    );
    assert_eq!(
        records::add_api_requests(&mut c, &org.id, 20_000, 2).await.unwrap(),
        (5, 100_000)
    );
    assert_eq!(
        records::add_api_requests(&mut c, &org.id, 20_001, 1).await.unwrap().0,
        1
    );
}

/// The fixture of the differential test: names with mixed case, punctuation and
/// nulls, so collation and null handling would show any backend difference.
async fn seed(store: &Store) -> (latchkey_core::ids::OrgId, OrgSchema) {
    let (org, user) = org_and_user(store, "seed@acme.test").await;
    let mut tx = store.begin().await.unwrap();
    custom::add(&mut tx, &org.id, &score(), t0()).await.unwrap();
    let schema = OrgSchema::new(&custom::list(&mut tx, &org.id).await.unwrap());
    let accounts = ["Acme", "acme labs", "Zeta-Co", "beta co"];
    let mut account_ids = Vec::new();
    for (i, name) in accounts.iter().enumerate() {
        let id = format!("001{:012}", i);
        let id = ids::canonical(&id).unwrap();
        let change = Change {
            org: &org.id,
            object: ObjectKind::Account,
            user: &user.id,
            now: t0() + Duration::minutes(i as i64),
        };
        records::insert(
            &mut tx,
            &change,
            &id,
            &values(&schema, ObjectKind::Account, &[("Name", text(name))]),
        )
        .await
        .unwrap();
        account_ids.push(id);
    }
    let last = [
        "Smith", "smith", "O'Brien", "van Dyke", "Zed", "_under", "Éclair", "a b", "ab", "Ab",
    ];
    for i in 0..40usize {
        let id = ids::canonical(&format!("003{:012}", i)).unwrap();
        let first = if i % 4 == 0 {
            Value::Null
        } else {
            text(&format!("F{}", i % 7))
        };
        let email = if i % 3 == 0 {
            Value::Null
        } else {
            text(&format!("P{i}@Example.org"))
        };
        let account = if i % 5 == 0 {
            Value::Null
        } else {
            text(&account_ids[i % 4])
        };
        let score = if i % 6 == 0 {
            Value::Null
        } else {
            Value::Number((i % 9) as f64 - 2.5)
        };
        let change = Change {
            org: &org.id,
            object: ObjectKind::Contact,
            user: &user.id,
            now: t0() - Duration::hours(i as i64 * 7),
        };
        let vals = values(
            &schema,
            ObjectKind::Contact,
            &[
                ("FirstName", first),
                ("LastName", text(last[i % last.len()])),
                ("Email", email),
                ("AccountId", account),
                ("Gator_Score__c", score),
            ],
        );
        records::insert(&mut tx, &change, &id, &vals).await.unwrap();
        if i % 8 == 7 {
            records::delete(&mut tx, &change, &id).await.unwrap();
        }
    }
    latchkey_store::commit(tx).await.unwrap();
    (org.id, schema)
}

const QUERIES: &[&str] = &[
    "SELECT Id, LastName, FirstName FROM Contact ORDER BY LastName, FirstName DESC NULLS LAST",
    "SELECT Id, Name, Account.Name FROM Contact WHERE Account.Name LIKE 'acme%' ORDER BY Account.Name DESC, Name",
    "SELECT Id FROM Contact WHERE Email = 'p1@example.ORG' OR LastName = 'SMITH'",
    "SELECT Id, Email FROM Contact WHERE Email != 'p2@example.org' ORDER BY Email NULLS FIRST",
    "SELECT Id FROM Contact WHERE LastName NOT IN ('smith', 'zed') AND NOT (FirstName = null)",
    "SELECT Id, Gator_Score__c FROM Contact WHERE Gator_Score__c >= 0.5 AND Gator_Score__c < 4 ORDER BY Gator_Score__c DESC",
    "SELECT Id FROM Contact WHERE Gator_Score__c = null ORDER BY Id",
    "SELECT Id FROM Contact WHERE LastName LIKE '\\_%' OR LastName LIKE 'a_b'",
    "SELECT Id, CreatedDate FROM Contact WHERE CreatedDate >= 2025-12-30T00:00:00Z ORDER BY CreatedDate DESC LIMIT 5 OFFSET 2",
    "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:3 ORDER BY LastName DESC",
    "SELECT Id FROM Contact WHERE LastName > 'o' AND LastName <= 'Z' ORDER BY LastName, Id",
    "SELECT Id, Name FROM Account WHERE Name IN ('ACME', 'beta co') ORDER BY Name",
    "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true",
    "SELECT COUNT() FROM Contact WHERE AccountId != null",
];

async fn run(store: &Store, all_rows: bool) -> Vec<(u64, Vec<QueryRow>)> {
    let (org, schema) = seed(store).await;
    let mut c = store.conn().await.unwrap();
    let mut out = Vec::new();
    for q in QUERIES {
        let plan = soql::plan(&soql::parse(q).unwrap(), &schema, t0()).unwrap();
        let total = records::count(&mut c, &org, &plan, all_rows).await.unwrap();
        let rows = records::query(
            &mut c,
            &org,
            &plan,
            all_rows,
            plan.offset.unwrap_or(0),
            plan.limit.unwrap_or(2000),
        )
        .await
        .unwrap();
        out.push((total, rows));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soql_results_on_sqlite_are_as_specified_and_match_postgres() {
    let db = crate::support::TestDb::sqlite().await;
    let lite = run(&db.store, false).await;
    // Spot checks of SOQL semantics on SQLite.
    let ids = |i: usize| lite[i].1.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(lite.len(), QUERIES.len());
    assert!(lite.iter().all(|(_, rows)| rows.iter().all(|r| !r.id.is_empty())));
    assert_eq!(lite[2].0, ids(2).len() as u64);
    assert!(
        ids(2).len() >= 5,
        "{:?} case-insensitive equality matches Smith and smith and the e-mail",
        lite[2]
    );
    assert!(
        lite[3].1.first().unwrap().values[1].is_null(),
        "NULLS FIRST, and != keeps nulls"
    );
    assert_eq!(lite[6].1.len(), 7, "ids 0, 6, …, 36 have no score (none deleted)");
    assert!(lite[12].1.is_empty(), "query() hides deleted records");
    assert_eq!(lite[8].1.len(), 5);
    let names: Vec<String> = lite[11]
        .1
        .iter()
        .map(|r| match &r.values[1] {
            Value::Text(s) => s.clone(),
            _ => String::new(),
        })
        .collect();
    assert_eq!(names, ["Acme", "beta co"]);
    let with_deleted = run(&crate::support::TestDb::sqlite().await.store, true).await;
    assert_eq!(with_deleted[12].1.len(), 5, "queryAll shows the 5 deleted contacts");
    db.finish().await;

    #[cfg(pg_tests)]
    {
        let pg = crate::support::TestDb::postgres().await;
        let theirs = run(&pg.store, false).await;
        for (i, q) in QUERIES.iter().enumerate() {
            assert_eq!(
                lite[i], theirs[i],
                "results differ between SQLite and PostgreSQL for: {q}"
            );
        }
        pg.finish().await;
    }
}

store_test!(the_largest_filters_the_parser_accepts_run_on_either_backend);
/// The widest chains, the longest IN list and the deepest nesting that the SOQL parser
/// lets through all render to SQL each backend accepts, and select the right rows.
async fn the_largest_filters_the_parser_accepts_run_on_either_backend(store: &Store) {
    use soql::parser::{MAX_CONDITIONS, MAX_NESTING, MAX_VALUES};
    let (org, schema) = seed(store).await;
    let mut c = store.conn().await.unwrap();
    let chain = |unit: &str, sep: &str, n: usize| vec![unit; n].join(sep);
    let nested = (0..MAX_NESTING).fold("LastName = 'Zed'".to_owned(), |inner, _| {
        format!("(LastName = 'nobody' OR {inner})")
    });
    let negated = format!("{}LastName != 'Zed'", "NOT ".repeat(MAX_NESTING - 1));
    let cases = [
        // No live contact has the e-mail address 'n' (and != keeps nulls).
        (chain("Email != 'n'", " AND ", MAX_CONDITIONS), 35),
        // Zed: contacts 4, 14, 24 and 34, none deleted.
        (
            format!(
                "{} OR LastName = 'Zed'",
                chain("Email = 'n'", " OR ", MAX_CONDITIONS - 1)
            ),
            4,
        ),
        // A score of 1.5: contacts 4, 13 and 22 (31 is deleted).
        (
            format!("Gator_Score__c IN ({}, 1.5)", chain("100", ",", MAX_VALUES - 1)),
            3,
        ),
        (nested, 4),
        (negated, 4),
    ];
    for (filter, expected) in cases {
        let q = format!("SELECT Id FROM Contact WHERE {filter}");
        let plan = soql::plan(&soql::parse(&q).unwrap(), &schema, t0()).unwrap();
        let total = records::count(&mut c, &org, &plan, false).await.unwrap();
        let rows = records::query(&mut c, &org, &plan, false, 0, 2000).await.unwrap();
        assert_eq!((total, rows.len()), (expected, expected as usize), "{}…", &q[..80]);
    }
}
