//! Rendering a checked SOQL plan as one parameterised SQL statement. Column names come
//! from the schema (never from the query text); every value is a parameter. Text
//! comparisons, `LIKE` and text sorting fold case on both backends, as SOQL does.

use latchkey_core::records::Value;
use latchkey_core::soql::plan::{Column, Filter, Op, Output, Plan};

use super::values::Param;
use crate::Backend;

/// SQL text and its parameters, numbered `$1…` in order.
#[derive(Debug)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Param>,
    /// Appended to text expressions that are compared or sorted, so both backends
    /// order text by code point (PostgreSQL's default collation may not).
    collate: &'static str,
}

impl Sql {
    fn new(backend: Backend) -> Self {
        Self {
            text: String::new(),
            params: Vec::new(),
            collate: match backend {
                Backend::Postgres => " COLLATE \"C\"",
                Backend::Sqlite => "",
            },
        }
    }

    fn ordered(&self, c: &Column, expr: String) -> String {
        if c.field.field_type.is_text() {
            format!("{expr}{}", self.collate)
        } else {
            expr
        }
    }
}

impl Sql {
    fn param(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

/// The alias of a plan's `i`-th parent.
fn parent_alias(i: usize) -> String {
    format!("p{i}")
}

/// `r.col` / `p{i}.col`, lower-cased when the field folds case.
fn column_expr(c: &Column, fold: bool) -> String {
    let table = c.parent.map_or_else(|| "r".to_owned(), parent_alias);
    let raw = format!("{table}.{}", c.field.column);
    if fold && c.field.field_type.folds_case() {
        format!("LOWER({raw})")
    } else {
        raw
    }
}

fn folded_param(sql: &mut Sql, c: &Column, v: &Value) -> String {
    let p = sql.param(Param::of(&c.field, v));
    if c.field.field_type.folds_case() {
        format!("LOWER({p})")
    } else {
        p
    }
}

/// `terms` joined by `op` as a balanced tree of parenthesised halves, so a chain of any
/// length nests only log2(n) deep here and in the backend's expression tree.
fn joined(sql: &mut Sql, terms: &[Filter], op: &str) -> String {
    match terms {
        [] if op == "AND" => "(1 = 1)".into(),
        [] => "(1 = 0)".into(),
        [one] => filter(sql, one),
        _ => {
            let (left, right) = terms.split_at(terms.len() / 2);
            let left = joined(sql, left, op);
            let right = joined(sql, right, op);
            format!("({left} {op} {right})")
        }
    }
}

/// A filter as SQL. It recurses once per level of the plan, which the SOQL parser
/// bounds (`MAX_NESTING`).
fn filter(sql: &mut Sql, f: &Filter) -> String {
    match f {
        Filter::And(terms) => joined(sql, terms, "AND"),
        Filter::Or(terms) => joined(sql, terms, "OR"),
        Filter::Not(a) => format!("(NOT {})", filter(sql, a)),
        Filter::IsNull(c) => format!("({} IS NULL)", column_expr(c, false)),
        Filter::Compare(c, op, v) => {
            let raw = column_expr(c, false);
            let col = sql.ordered(c, column_expr(c, true));
            let p = folded_param(sql, c, v);
            match op {
                Op::Ne => format!("({raw} IS NULL OR {col} <> {p})"),
                _ => {
                    let op = match op {
                        Op::Eq => "=",
                        Op::Lt => "<",
                        Op::Le => "<=",
                        Op::Gt => ">",
                        Op::Ge | Op::Ne => ">=",
                    };
                    format!("({raw} IS NOT NULL AND {col} {op} {p})")
                }
            }
        }
        Filter::In(c, negated, values) => {
            if values.is_empty() {
                return if *negated { "(1 = 1)".into() } else { "(1 = 0)".into() };
            }
            let raw = column_expr(c, false);
            let col = column_expr(c, true);
            let list: Vec<String> = values.iter().map(|v| folded_param(sql, c, v)).collect();
            let list = list.join(", ");
            if *negated {
                format!("({raw} IS NULL OR {col} NOT IN ({list}))")
            } else {
                format!("({raw} IS NOT NULL AND {col} IN ({list}))")
            }
        }
        Filter::Like(c, pattern) => {
            let raw = column_expr(c, false);
            let p = sql.param(Param::text(pattern.clone()));
            format!("({raw} IS NOT NULL AND LOWER({raw}) LIKE LOWER({p}) ESCAPE '\\')")
        }
    }
}

/// `FROM … WHERE …` shared by the row and count statements.
fn from_where(sql: &mut Sql, plan: &Plan, org: &str, all_rows: bool) -> String {
    let org = sql.param(Param::text(org));
    let object = sql.param(Param::text(plan.object.name()));
    let mut text = format!(" FROM {} r", plan.object.table());
    for (i, rel) in plan.relationships.iter().enumerate() {
        let p = parent_alias(i);
        text.push_str(&format!(
            " LEFT JOIN {} {p} ON {p}.id = r.{} AND {p}.org_id = r.org_id AND {p}.is_deleted = 0",
            rel.target.table(),
            rel.column
        ));
    }
    text.push_str(&format!(" WHERE r.org_id = {org} AND r.object = {object}"));
    if !all_rows {
        text.push_str(" AND r.is_deleted = 0");
    }
    if let Some(f) = &plan.filter {
        let f = filter(sql, f);
        text.push_str(" AND ");
        text.push_str(&f);
    }
    text
}

/// `SELECT COUNT(*)` of the plan's matches (ignoring LIMIT and OFFSET).
pub(crate) fn count(backend: Backend, plan: &Plan, org: &str, all_rows: bool) -> Sql {
    let mut sql = Sql::new(backend);
    let rest = from_where(&mut sql, plan, org, all_rows);
    sql.text = format!("SELECT COUNT(*){rest}");
    sql
}

/// The rows `[skip, skip + take)` of the plan: `r.id`, each joined parent's id, then
/// the output columns. Ties are broken by id so pages never overlap.
/// With `counted`, a last column `COUNT(*) OVER ()` carries the number of matches, so
/// the first page needs no second, counting scan.
pub(crate) fn rows(backend: Backend, plan: &Plan, org: &str, window: (bool, u64, u64), counted: bool) -> Sql {
    let (all_rows, skip, take) = window;
    let mut sql = Sql::new(backend);
    let mut select = vec!["r.id".to_owned()];
    select.extend((0..plan.relationships.len()).map(|i| format!("{}.id", parent_alias(i))));
    if let Output::Fields(columns) = &plan.output {
        select.extend(columns.iter().map(|c| column_expr(c, false)));
    }
    if counted {
        select.push("COUNT(*) OVER ()".to_owned());
    }
    let rest = from_where(&mut sql, plan, org, all_rows);
    let mut order: Vec<String> = plan
        .order
        .iter()
        .map(|s| {
            format!(
                "{} {} NULLS {}",
                sql.ordered(&s.column, column_expr(&s.column, true)),
                if s.descending { "DESC" } else { "ASC" },
                if s.nulls_first { "FIRST" } else { "LAST" }
            )
        })
        .collect();
    order.push(format!("r.id{} ASC", sql.collate));
    let limit = sql.param(Param::millis(i64::try_from(take).unwrap_or(i64::MAX)));
    let offset = sql.param(Param::millis(i64::try_from(skip).unwrap_or(i64::MAX)));
    sql.text = format!(
        "SELECT {}{rest} ORDER BY {} LIMIT {limit} OFFSET {offset}",
        select.join(", "),
        order.join(", ")
    );
    sql
}
