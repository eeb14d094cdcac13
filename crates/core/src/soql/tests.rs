use chrono::{NaiveDate, TimeZone, Utc};

use super::ast::{CmpOp, Condition, DateLiteral, Literal, SelectItem};
use super::plan::{Filter, Op, Output};
use super::*;
use crate::records::{CustomField, CustomType, ObjectKind, OrgSchema, Value};

fn schema() -> OrgSchema {
    OrgSchema::new(&[CustomField {
        object: ObjectKind::Contact,
        name: "Gator_Score__c".into(),
        label: "Gator Score".into(),
        custom_type: CustomType::Number,
        length: 0,
        required: false,
        external_id: false,
        unique: false,
    }])
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 5, 17, 4, 12).unwrap()
}

fn planned(q: &str) -> Result<Plan, SoqlError> {
    plan(&parse(q)?, &schema(), now())
}

fn where_of(q: &str) -> Condition {
    parse(q).unwrap().filter.unwrap()
}

#[test]
fn select_list_count_and_parent_fields() {
    let q = parse("select Id, account.name, COUNT_X__c from Contact").unwrap();
    assert_eq!(q.select.len(), 3);
    assert!(matches!(&q.select[1], SelectItem::Field(p) if p.dotted() == "account.name"));
    assert_eq!(
        parse("SELECT COUNT() FROM Lead").unwrap().select,
        vec![SelectItem::Count]
    );
    let err = parse("SELECT COUNT(), Id FROM Lead").unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::MalformedQuery);
}

#[test]
fn every_comparison_operator() {
    for (text, op) in [
        ("=", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<>", CmpOp::Ne),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
        ("LIKE", CmpOp::Like),
    ] {
        let c = where_of(&format!("SELECT Id FROM Contact WHERE LastName {text} 'S%'"));
        assert!(matches!(c, Condition::Compare { op: o, .. } if o == op), "{text}");
    }
}

#[test]
fn in_not_in_and_boolean_structure_with_precedence() {
    let c = where_of(
        "SELECT Id FROM Contact WHERE Email IN ('a@x.io','b@x.io') OR NOT (LastName NOT IN ('x') AND FirstName = null)",
    );
    let Condition::Or(terms) = c else {
        panic!("OR at the top")
    };
    let [left, right] = &terms[..] else { panic!("two terms") };
    assert!(matches!(left, Condition::In { negated: false, values, .. } if values.len() == 2));
    let Condition::Not(inner) = right else { panic!("NOT") };
    let Condition::And(inner) = &**inner else {
        panic!("AND inside the parentheses")
    };
    let [a, b] = &inner[..] else { panic!("two terms") };
    assert!(matches!(a, Condition::In { negated: true, .. }));
    assert!(matches!(
        b,
        Condition::Compare {
            value: Literal::Null,
            ..
        }
    ));
    // AND binds tighter than OR.
    let c = where_of("SELECT Id FROM Contact WHERE A__c = 1 OR B__c = 2 AND C__c = 3");
    assert!(matches!(c, Condition::Or(ref t) if t.len() == 2 && matches!(t[1], Condition::And(..))));
    // A chain is one node, however long.
    let c = where_of("SELECT Id FROM Contact WHERE A__c = 1 AND B__c = 2 AND C__c = 3 AND D__c = 4");
    assert!(
        matches!(c, Condition::And(ref t) if t.len() == 4 && t.iter().all(|c| matches!(c, Condition::Compare { .. })))
    );
}

#[test]
fn literals_of_every_kind() {
    let lit = |q: &str| match where_of(&format!("SELECT Id FROM Contact WHERE X__c = {q}")) {
        Condition::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(lit("'it\\'s'"), Literal::Text("it's".into()));
    assert_eq!(lit("'50\\%'"), Literal::Text("50\\%".into()));
    assert_eq!(lit("-12.5"), Literal::Number(-12.5));
    assert_eq!(lit("TRUE"), Literal::Bool(true));
    assert_eq!(lit("null"), Literal::Null);
    assert_eq!(
        lit("2024-03-05"),
        Literal::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap())
    );
    let ms = now().timestamp_millis();
    assert_eq!(lit("2024-03-05T17:04:12Z"), Literal::DateTime(ms));
    assert_eq!(lit("2024-03-05T18:04:12+01:00"), Literal::DateTime(ms));
    assert_eq!(lit("2024-03-05T17:04:12.000+0000"), Literal::DateTime(ms));
    assert_eq!(lit("TODAY"), Literal::Relative(DateLiteral::Today));
    assert_eq!(lit("LAST_N_DAYS:7"), Literal::Relative(DateLiteral::LastNDays(7)));
    assert_eq!(lit("next_n_days:2"), Literal::Relative(DateLiteral::NextNDays(2)));
    assert!(parse("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS").is_err());
}

#[test]
fn order_limit_offset() {
    let q = parse("SELECT Id FROM Contact ORDER BY LastName DESC NULLS FIRST, Email, CreatedDate asc nulls last LIMIT 10 OFFSET 5")
        .unwrap();
    assert_eq!(q.order_by.len(), 3);
    assert!(q.order_by[0].descending && q.order_by[0].nulls_sort_first());
    assert!(!q.order_by[1].descending && q.order_by[1].nulls_sort_first());
    assert!(!q.order_by[2].nulls_sort_first());
    assert_eq!((q.limit, q.offset), (Some(10), Some(5)));
}

#[test]
fn syntax_errors_are_malformed_query_with_row_and_column() {
    for (q, col) in [
        ("SELECT Id FRM Contact", 11),
        ("SELECT Id FROM Contact WHERE", 29),
        ("SELECT Id FROM Contact WHERE Name = 'x", 37),
        ("SELECT Id FROM Contact LIMIT -1", 30),
        ("SELECT Id FROM Contact GROUP BY Name", 24),
        ("SELECT Id, FROM Contact", 12),
        ("SELECT Id FROM Contact WHERE Name ~ 'x'", 35),
        ("SELECT Id FROM Contact; DROP TABLE records", 23),
    ] {
        let err = parse(q).unwrap_err();
        assert_eq!(err.kind, SoqlErrorKind::MalformedQuery, "{q}");
        assert_eq!(err.row_column(q), (1, col), "{q}: {}", err.detail);
        assert!(err.message(q).contains(&format!("ERROR at Row:1:Column:{col}")));
    }
    let multi = "SELECT Id\nFROM Contact\nWHERE ==";
    assert_eq!(parse(multi).unwrap_err().row_column(multi), (3, 7));
}

#[test]
fn plan_resolves_fields_case_insensitively_and_types_values() {
    let p = planned("SELECT id, LASTNAME, Account.Name, gator_score__c FROM contact WHERE Gator_Score__c > 3 AND AccountId = '001000000000001'").unwrap();
    assert_eq!(p.object, ObjectKind::Contact);
    let Output::Fields(cols) = &p.output else { panic!() };
    let names: Vec<_> = cols.iter().map(|c| (c.parent, c.field.name.as_str())).collect();
    assert_eq!(
        names,
        [
            (None, "Id"),
            (None, "LastName"),
            (Some(0), "Name"),
            (None, "Gator_Score__c")
        ]
    );
    assert_eq!(p.relationships.first().map(|r| r.column.as_str()), Some("account_id"));
    let Some(Filter::And(terms)) = &p.filter else { panic!() };
    let [a, b] = &terms[..] else { panic!("two terms") };
    assert!(matches!(*a, Filter::Compare(_, Op::Gt, Value::Number(n)) if n == 3.0));
    assert!(matches!(b, Filter::Compare(_, Op::Eq, Value::Text(id)) if id.len() == 18));
}

#[test]
fn owners_and_profiles_are_parents_like_accounts() {
    let plan = planned("SELECT Id, Owner.Username, Account.Name FROM Contact WHERE Owner.IsActive = true").unwrap();
    let rels: Vec<_> = plan
        .relationships
        .iter()
        .map(|r| (r.name.as_str(), r.column.as_str(), r.target))
        .collect();
    assert_eq!(
        rels,
        [
            ("Owner", "owner_id", ObjectKind::User),
            ("Account", "account_id", ObjectKind::Account)
        ]
    );
    let Output::Fields(cols) = &plan.output else {
        panic!("fields")
    };
    let parents: Vec<_> = cols.iter().map(|c| c.parent).collect();
    assert_eq!(parents, [None, Some(0), Some(1)]);
    let plan = planned("SELECT Username, Profile.Name FROM User").unwrap();
    assert_eq!(plan.relationships[0].target, ObjectKind::Profile);
    let plan = planned("SELECT IsSandbox FROM Organization").unwrap();
    assert_eq!(plan.object, ObjectKind::Organization);
}

#[test]
fn plan_errors_name_the_field_and_position() {
    let err = planned("SELECT Id, Nope FROM Contact").unwrap_err();
    assert_eq!((err.kind, err.pos), (SoqlErrorKind::InvalidField, 11));
    assert!(err.detail.contains("No such column 'Nope' on entity 'Contact'"));
    let err = planned("SELECT Id FROM Opportunities").unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::InvalidType);
    let err = planned("SELECT Owner.Nope FROM Contact").unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::InvalidField);
    assert!(
        err.detail.contains("No such column 'Nope' on entity 'User'"),
        "{}",
        err.detail
    );
    for bad in [
        "SELECT Id FROM Contact WHERE LastName = 3",
        "SELECT Id FROM Contact WHERE Gator_Score__c = '3'",
        "SELECT Id FROM Contact WHERE CreatedDate = 2024-01-01",
        "SELECT Id FROM Contact WHERE Gator_Score__c LIKE '3%'",
        "SELECT Id FROM Contact WHERE LastName > null",
        "SELECT Id FROM Contact WHERE Id = 'nope'",
        "SELECT Id FROM Contact WHERE LastName = TODAY",
        "SELECT Id FROM Contact WHERE IsDeleted > true",
    ] {
        assert_eq!(planned(bad).unwrap_err().kind, SoqlErrorKind::InvalidFilter, "{bad}");
    }
    assert_eq!(
        planned("SELECT Id FROM Contact OFFSET 2001").unwrap_err().kind,
        SoqlErrorKind::MalformedQuery
    );
}

#[test]
fn relative_dates_become_utc_day_ranges() {
    let day = |d: u32| Value::DateTime(Utc.with_ymd_and_hms(2024, 3, d, 0, 0, 0).unwrap().timestamp_millis());
    let p = planned("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:3").unwrap();
    let Some(Filter::And(terms)) = p.filter else { panic!() };
    let [a, b] = &terms[..] else { panic!("two terms") };
    assert!(matches!(a, Filter::Compare(_, Op::Ge, v) if *v == day(3)));
    assert!(matches!(b, Filter::Compare(_, Op::Lt, v) if *v == day(6)));
    let p = planned("SELECT Id FROM Contact WHERE CreatedDate < TODAY").unwrap();
    assert!(matches!(p.filter, Some(Filter::Compare(_, Op::Lt, ref v)) if *v == day(5)));
    let p = planned("SELECT Id FROM Contact WHERE CreatedDate > YESTERDAY").unwrap();
    assert!(matches!(p.filter, Some(Filter::Compare(_, Op::Ge, ref v)) if *v == day(5)));
}

#[test]
fn null_comparisons_become_null_tests() {
    let p = planned("SELECT Id FROM Contact WHERE Email = null AND Phone != null").unwrap();
    let Some(Filter::And(terms)) = p.filter else { panic!() };
    let [a, b] = &terms[..] else { panic!("two terms") };
    assert!(matches!(a, Filter::IsNull(_)));
    assert!(matches!(b, Filter::Not(inner) if matches!(**inner, Filter::IsNull(_))));
}

/// `n` copies of `unit` joined by `sep`, inside `WHERE`.
fn chain(unit: &str, sep: &str, n: usize) -> String {
    format!("SELECT Id FROM Contact WHERE {}", vec![unit; n].join(sep))
}

#[test]
fn long_chains_parse_flat_up_to_the_condition_limit() {
    for sep in [" AND ", " OR "] {
        let q = chain("LastName = 'x'", sep, parser::MAX_CONDITIONS);
        let p = planned(&q).unwrap();
        assert!(matches!(p.filter, Some(Filter::And(ref t) | Filter::Or(ref t)) if t.len() == parser::MAX_CONDITIONS));
        let q = chain("A__c = 1", sep, parser::MAX_CONDITIONS + 1);
        let err = parse(&q).unwrap_err();
        assert_eq!(err.kind, SoqlErrorKind::TooComplicated, "{sep}");
        assert_eq!(err.kind.code(), "QUERY_TOO_COMPLICATED");
        assert!(
            err.message(&q).contains("ERROR at Row:1:Column:"),
            "{}",
            err.message(&q)
        );
    }
}

#[test]
fn nesting_is_bounded_before_the_parser_recurses() {
    let deep = |open: &str, close: &str, n: usize| {
        format!(
            "SELECT Id FROM Contact WHERE {}LastName = 'x'{}",
            open.repeat(n),
            close.repeat(n)
        )
    };
    // Each shape opens `levels` levels of nesting.
    for (open, close, levels) in [
        ("(", ")", 1),
        ("NOT ", "", 1),
        ("NOT (", ")", 2),
        ("(Gator_Score__c = 1 OR ", ")", 1),
    ] {
        let most = parser::MAX_NESTING / levels;
        assert!(planned(&deep(open, close, most)).is_ok(), "{open}");
        let q = deep(open, close, most + 1);
        let err = parse(&q).unwrap_err();
        assert_eq!(err.kind, SoqlErrorKind::TooComplicated, "{open}");
        // Far past the limit, up to the longest query accepted: the same error, not a crash.
        let n = (parser::MAX_QUERY_LEN - 60) / open.len().max(1) / 2;
        let q = deep(open, close, n);
        assert_eq!(
            parse(&q).unwrap_err().kind,
            SoqlErrorKind::TooComplicated,
            "{open} x{n}"
        );
    }
}

#[test]
fn values_and_length_are_bounded() {
    let list = vec!["1"; parser::MAX_VALUES + 1].join(",");
    let err = parse(&format!("SELECT Id FROM Contact WHERE A__c IN ({list})")).unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::TooComplicated);
    let long = format!(
        "SELECT Id FROM Contact WHERE LastName = '{}'",
        "é".repeat(parser::MAX_QUERY_LEN)
    );
    let err = parse(&long).unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::MalformedQuery);
    assert!(err.detail.contains("100000 characters"), "{}", err.detail);
    let message = err.message(&long);
    assert!(message.contains("ERROR at Row:1:Column:100001"));
    assert!(message.chars().count() < 500, "shown around the error only");
    // The caret stands under the character the column names.
    let lines: Vec<&str> = message.lines().collect();
    let caret = lines[2].chars().count() - 1;
    assert_eq!(lines[1].chars().nth(caret), Some('é'));
    let q = "SELECT Id FROM Contact WHERE Name ~ 'x'";
    let lines: Vec<String> = parse(q).unwrap_err().message(q).lines().map(str::to_owned).collect();
    assert_eq!(
        (lines[1].as_str(), lines[2].as_str()),
        (q, "                                  ^")
    );
}

mod deep {
    use proptest::prelude::*;

    use super::*;

    /// A random filter: leaves, chains, `NOT`s and parentheses, nested at random.
    fn expr() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("LastName = 'x'".to_owned()),
            Just("Gator_Score__c > 1".to_owned()),
            Just("Email IN ('a', 'b')".to_owned()),
            Just("CreatedDate = TODAY".to_owned()),
        ];
        leaf.prop_recursive(80, 400, 6, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| format!("NOT {e}")),
                inner.clone().prop_map(|e| format!("({e})")),
                prop::collection::vec(inner.clone(), 2..6).prop_map(|v| format!("({})", v.join(" AND "))),
                prop::collection::vec(inner, 2..6).prop_map(|v| format!("({})", v.join(" OR "))),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Whatever the shape, the parser and planner answer with a plan or a positioned
        /// error, and any plan nests no deeper than the nesting limit allows.
        #[test]
        fn deep_expressions_plan_or_fail_cleanly(e in expr()) {
            let q = format!("SELECT Id FROM Contact WHERE {e}");
            match parse(&q) {
                Ok(parsed) => {
                    let p = plan(&parsed, &schema(), now()).unwrap();
                    let depth = p.filter.as_ref().map_or(0, filter_depth);
                    prop_assert!(depth <= 2 * parser::MAX_NESTING + 4, "depth {depth}");
                }
                Err(err) => {
                    prop_assert_eq!(err.kind, SoqlErrorKind::TooComplicated);
                    prop_assert!(err.pos <= q.len());
                }
            }
        }
    }

    fn filter_depth(f: &Filter) -> usize {
        match f {
            Filter::And(t) | Filter::Or(t) => 1 + t.iter().map(filter_depth).max().unwrap_or(0),
            Filter::Not(inner) => 1 + filter_depth(inner),
            _ => 1,
        }
    }
}
