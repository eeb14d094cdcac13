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
    let Condition::Or(left, right) = c else {
        panic!("OR at the top")
    };
    assert!(matches!(*left, Condition::In { negated: false, ref values, .. } if values.len() == 2));
    let Condition::Not(inner) = *right else { panic!("NOT") };
    let Condition::And(a, b) = *inner else {
        panic!("AND inside the parentheses")
    };
    assert!(matches!(*a, Condition::In { negated: true, .. }));
    assert!(matches!(
        *b,
        Condition::Compare {
            value: Literal::Null,
            ..
        }
    ));
    // AND binds tighter than OR.
    let c = where_of("SELECT Id FROM Contact WHERE A__c = 1 OR B__c = 2 AND C__c = 3");
    assert!(matches!(c, Condition::Or(_, ref r) if matches!(**r, Condition::And(..))));
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
            (false, "Id"),
            (false, "LastName"),
            (true, "Name"),
            (false, "Gator_Score__c")
        ]
    );
    assert_eq!(p.relationship.as_ref().map(|r| r.column.as_str()), Some("account_id"));
    let Some(Filter::And(a, b)) = &p.filter else { panic!() };
    assert!(matches!(**a, Filter::Compare(_, Op::Gt, Value::Number(n)) if n == 3.0));
    assert!(matches!(&**b, Filter::Compare(_, Op::Eq, Value::Text(id)) if id.len() == 18));
}

#[test]
fn plan_errors_name_the_field_and_position() {
    let err = planned("SELECT Id, Nope FROM Contact").unwrap_err();
    assert_eq!((err.kind, err.pos), (SoqlErrorKind::InvalidField, 11));
    assert!(err.detail.contains("No such column 'Nope' on entity 'Contact'"));
    let err = planned("SELECT Id FROM Opportunity").unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::InvalidType);
    let err = planned("SELECT Owner.Name FROM Contact").unwrap_err();
    assert_eq!(err.kind, SoqlErrorKind::InvalidField);
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
    let Some(Filter::And(a, b)) = p.filter else { panic!() };
    assert!(matches!(*a, Filter::Compare(_, Op::Ge, ref v) if *v == day(3)));
    assert!(matches!(*b, Filter::Compare(_, Op::Lt, ref v) if *v == day(6)));
    let p = planned("SELECT Id FROM Contact WHERE CreatedDate < TODAY").unwrap();
    assert!(matches!(p.filter, Some(Filter::Compare(_, Op::Lt, ref v)) if *v == day(5)));
    let p = planned("SELECT Id FROM Contact WHERE CreatedDate > YESTERDAY").unwrap();
    assert!(matches!(p.filter, Some(Filter::Compare(_, Op::Ge, ref v)) if *v == day(5)));
}

#[test]
fn null_comparisons_become_null_tests() {
    let p = planned("SELECT Id FROM Contact WHERE Email = null AND Phone != null").unwrap();
    let Some(Filter::And(a, b)) = p.filter else { panic!() };
    assert!(matches!(*a, Filter::IsNull(_)));
    assert!(matches!(*b, Filter::Not(ref inner) if matches!(**inner, Filter::IsNull(_))));
}
