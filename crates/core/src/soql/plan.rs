//! Checking a parsed query against the org's objects: every field resolved to a known
//! column, every literal typed for its field, relative dates turned into ranges. The
//! result is all the store needs to render parameterised SQL.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::ast::{CmpOp, Condition, DateLiteral, FieldPath, Literal, Query, SelectItem};
use super::{SoqlError, SoqlErrorKind};
use crate::ids;
use crate::records::{Field, FieldType, ObjectKind, OrgSchema, Value};

/// A parent reached through a reference field (`Account` through `AccountId`).
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    /// Relationship name (`Account`).
    pub name: String,
    /// The reference field's column on the queried object.
    pub column: String,
    /// The parent object.
    pub target: ObjectKind,
}

/// A column of the queried object or of one of its parents.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// `Some(i)`: a column of the parent `plan.relationships[i]`.
    pub parent: Option<usize>,
    /// The field.
    pub field: Field,
}

/// A comparison the store renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A checked filter. Each leaf is two-valued: a null field matches `!=`, `NOT IN` and
/// `= null` only, as in SOQL. It nests no deeper than the parsed [`Condition`] (plus
/// one level for a relative date), which the parser bounds.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// All of them.
    And(Vec<Filter>),
    /// Any of them.
    Or(Vec<Filter>),
    /// Not.
    Not(Box<Filter>),
    /// `column op value` (value never null).
    Compare(Column, Op, Value),
    /// `column IS NULL`.
    IsNull(Column),
    /// `column [NOT] IN (values)`.
    In(Column, bool, Vec<Value>),
    /// `column LIKE pattern` (SOQL pattern: `%`, `_`, `\` escapes).
    Like(Column, String),
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// Column.
    pub column: Column,
    /// Descending.
    pub descending: bool,
    /// Nulls first.
    pub nulls_first: bool,
}

/// What the query returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `COUNT()`: the number of matches only.
    Count,
    /// These columns, in select order (duplicates removed).
    Fields(Vec<Column>),
}

/// A checked query.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The object.
    pub object: ObjectKind,
    /// The parents the columns and filters use, each joined once.
    pub relationships: Vec<Relationship>,
    /// What to return.
    pub output: Output,
    /// Filter.
    pub filter: Option<Filter>,
    /// Sort keys (the store adds the id as the final tie-breaker).
    pub order: Vec<Sort>,
    /// Most rows.
    pub limit: Option<u64>,
    /// Rows skipped.
    pub offset: Option<u64>,
}

/// Largest `OFFSET` Salesforce accepts.
pub const MAX_OFFSET: u64 = 2000;

fn error(kind: SoqlErrorKind, pos: usize, detail: String) -> SoqlError {
    SoqlError { kind, pos, detail }
}

struct Planner<'a> {
    schema: &'a OrgSchema,
    object: ObjectKind,
    relationships: Vec<Relationship>,
    today: NaiveDate,
}

impl Planner<'_> {
    fn column(&mut self, path: &FieldPath) -> Result<Column, SoqlError> {
        let def = self.schema.object(self.object);
        let invalid = |detail: String| error(SoqlErrorKind::InvalidField, path.pos(), detail);
        match path.parts.as_slice() {
            [single] => def.field(&single.text).cloned().map(|field| Column { parent: None, field }).ok_or_else(|| {
                invalid(format!(
                    "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.",
                    single.text, self.object
                ))
            }),
            [rel, leaf] => {
                let target = def
                    .relationship(&rel.text)
                    .and_then(|f| match f.field_type {
                        FieldType::Reference(t) => t.parse::<ObjectKind>().ok().map(|k| (f, k)),
                        _ => None,
                    });
                let Some((reference, target)) = target else {
                    return Err(invalid(format!(
                        "Didn't understand relationship '{}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.",
                        rel.text
                    )));
                };
                let field = self.schema.object(target).field(&leaf.text).cloned().ok_or_else(|| {
                    invalid(format!("No such column '{}' on entity '{}'.", leaf.text, target))
                })?;
                let index = match self.relationships.iter().position(|r| r.column == reference.column) {
                    Some(i) => i,
                    None => {
                        self.relationships.push(Relationship {
                            name: reference.relationship.unwrap_or_default().to_owned(),
                            column: reference.column.clone(),
                            target,
                        });
                        self.relationships.len() - 1
                    }
                };
                Ok(Column {
                    parent: Some(index),
                    field,
                })
            }
            _ => Err(invalid(format!("Didn't understand relationship in field path '{}'", path.dotted()))),
        }
    }

    /// The range `[start, end)` of whole UTC days a relative date stands for.
    fn day_range(&self, rel: DateLiteral) -> (NaiveDate, NaiveDate) {
        let t = self.today;
        let day = Duration::days(1);
        match rel {
            DateLiteral::Today => (t, t + day),
            DateLiteral::Yesterday => (t - day, t),
            DateLiteral::Tomorrow => (t + day, t + day + day),
            DateLiteral::LastNDays(n) => (t - Duration::days(i64::from(n)) + day, t + day),
            DateLiteral::NextNDays(n) => (t + day, t + day + Duration::days(i64::from(n))),
        }
    }

    fn value(&self, field: &Field, lit: &Literal, pos: usize) -> Result<Value, SoqlError> {
        let mismatch = || {
            error(
                SoqlErrorKind::InvalidFilter,
                pos,
                format!(
                    "value of filter criterion for field '{}' must be of type {} and should{} be enclosed in quotes",
                    field.name,
                    field.field_type.describe_name(),
                    if field.field_type.is_text() { "" } else { " not" }
                ),
            )
        };
        let v = match (field.field_type, lit) {
            (_, Literal::Null) => Value::Null,
            (FieldType::Id | FieldType::Reference(_), Literal::Text(s)) => Value::Text(
                ids::canonical(s)
                    .map_err(|_| error(SoqlErrorKind::InvalidFilter, pos, format!("invalid ID field: {s}")))?,
            ),
            (t, Literal::Text(s)) if t.is_text() => Value::Text(s.clone()),
            (FieldType::Double, Literal::Number(n)) => Value::Number(*n),
            (FieldType::Boolean, Literal::Bool(b)) => Value::Bool(*b),
            (FieldType::Date, Literal::Date(d)) => Value::Date(*d),
            (FieldType::DateTime, Literal::DateTime(ms)) => Value::DateTime(*ms),
            _ => return Err(mismatch()),
        };
        Ok(v)
    }

    /// A range endpoint of a relative date, typed for `field`.
    fn day_value(field: &Field, day: NaiveDate) -> Value {
        match field.field_type {
            FieldType::Date => Value::Date(day),
            _ => Value::DateTime(
                day.and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp_millis(),
            ),
        }
    }

    fn condition(&mut self, cond: &Condition) -> Result<Filter, SoqlError> {
        Ok(match cond {
            Condition::And(terms) => Filter::And(self.conditions(terms)?),
            Condition::Or(terms) => Filter::Or(self.conditions(terms)?),
            Condition::Not(a) => Filter::Not(Box::new(self.condition(a)?)),
            Condition::In {
                field,
                negated,
                values,
                value_pos,
            } => {
                let column = self.column(field)?;
                let values = values
                    .iter()
                    .map(|v| self.value(&column.field, v, *value_pos))
                    .collect::<Result<Vec<_>, _>>()?;
                Filter::In(column, *negated, values.into_iter().filter(|v| !v.is_null()).collect())
            }
            Condition::Compare {
                field,
                op,
                value,
                value_pos,
            } => self.compare(field, *op, value, *value_pos)?,
        })
    }

    fn conditions(&mut self, terms: &[Condition]) -> Result<Vec<Filter>, SoqlError> {
        terms.iter().map(|t| self.condition(t)).collect()
    }

    fn compare(&mut self, path: &FieldPath, op: CmpOp, lit: &Literal, pos: usize) -> Result<Filter, SoqlError> {
        let column = self.column(path)?;
        let field = column.field.clone();
        let op = match op {
            CmpOp::Like => {
                return match (field.field_type.is_text(), lit) {
                    (true, Literal::Text(p)) => Ok(Filter::Like(column, p.clone())),
                    _ => Err(error(
                        SoqlErrorKind::InvalidFilter,
                        pos,
                        format!(
                            "invalid operator on field '{}': LIKE applies to text fields",
                            field.name
                        ),
                    )),
                }
            }
            CmpOp::Eq => Op::Eq,
            CmpOp::Ne => Op::Ne,
            CmpOp::Lt => Op::Lt,
            CmpOp::Le => Op::Le,
            CmpOp::Gt => Op::Gt,
            CmpOp::Ge => Op::Ge,
        };
        if let Literal::Relative(rel) = lit {
            if !matches!(field.field_type, FieldType::Date | FieldType::DateTime) {
                return Err(error(
                    SoqlErrorKind::InvalidFilter,
                    pos,
                    format!("date literal on non-date field '{}'", field.name),
                ));
            }
            let (start, end) = self.day_range(*rel);
            let (start, end) = (Self::day_value(&field, start), Self::day_value(&field, end));
            let cmp = |op, v| Filter::Compare(column.clone(), op, v);
            let within = || Filter::And(vec![cmp(Op::Ge, start.clone()), cmp(Op::Lt, end.clone())]);
            return Ok(match op {
                Op::Eq => within(),
                Op::Ne => Filter::Not(Box::new(within())),
                Op::Lt => cmp(Op::Lt, start),
                Op::Le => cmp(Op::Lt, end),
                Op::Gt => cmp(Op::Ge, end),
                Op::Ge => cmp(Op::Ge, start),
            });
        }
        let value = self.value(&field, lit, pos)?;
        if value.is_null() {
            return match op {
                Op::Eq => Ok(Filter::IsNull(column)),
                Op::Ne => Ok(Filter::Not(Box::new(Filter::IsNull(column)))),
                _ => Err(error(
                    SoqlErrorKind::InvalidFilter,
                    pos,
                    "null may only be compared with = or !=".into(),
                )),
            };
        }
        if field.field_type == FieldType::Boolean && !matches!(op, Op::Eq | Op::Ne) {
            return Err(error(
                SoqlErrorKind::InvalidFilter,
                pos,
                format!("invalid operator on boolean field '{}'", field.name),
            ));
        }
        Ok(Filter::Compare(column, op, value))
    }
}

/// The error for a `FROM` object that does not exist (or that the caller may not see).
pub fn unsupported_object(query: &Query) -> SoqlError {
    error(
        SoqlErrorKind::InvalidType,
        query.from.pos,
        format!(
            "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.",
            query.from.text
        ),
    )
}

impl Plan {
    /// Narrows the plan to rows whose `field` equals `value` (a caller's own rows).
    pub fn narrow(&mut self, field: Field, value: Value) {
        let own = Filter::Compare(Column { parent: None, field }, Op::Eq, value);
        self.filter = Some(match self.filter.take() {
            None => own,
            Some(f) => Filter::And(vec![own, f]),
        });
    }
}

/// Checks `query` against `schema`; `now` anchors relative dates (UTC days).
pub fn plan(query: &Query, schema: &OrgSchema, now: DateTime<Utc>) -> Result<Plan, SoqlError> {
    let object = query
        .from
        .text
        .parse::<ObjectKind>()
        .map_err(|_| unsupported_object(query))?;
    let mut planner = Planner {
        schema,
        object,
        relationships: Vec::new(),
        today: now.date_naive(),
    };
    let output = if query.select == [SelectItem::Count] {
        Output::Count
    } else {
        let mut columns: Vec<Column> = Vec::new();
        for item in &query.select {
            if let SelectItem::Field(path) = item {
                let column = planner.column(path)?;
                if !columns.contains(&column) {
                    columns.push(column);
                }
            }
        }
        Output::Fields(columns)
    };
    let filter = query.filter.as_ref().map(|c| planner.condition(c)).transpose()?;
    let mut order = Vec::new();
    for item in &query.order_by {
        order.push(Sort {
            column: planner.column(&item.field)?,
            descending: item.descending,
            nulls_first: item.nulls_sort_first(),
        });
    }
    if let Some(offset) = query.offset.filter(|o| *o > MAX_OFFSET) {
        return Err(error(
            SoqlErrorKind::MalformedQuery,
            query.from.pos,
            format!("Maximum SOQL offset allowed is {MAX_OFFSET} (got {offset})"),
        ));
    }
    Ok(Plan {
        object,
        relationships: planner.relationships,
        output,
        filter,
        order,
        limit: query.limit,
        offset: query.offset,
    })
}
