//! The typed syntax tree of the SOQL subset.

use chrono::NaiveDate;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// What to return.
    pub select: Vec<SelectItem>,
    /// The object queried, as written.
    pub from: Name,
    /// Filter.
    pub filter: Option<Condition>,
    /// Sort order.
    pub order_by: Vec<OrderItem>,
    /// Most rows.
    pub limit: Option<u64>,
    /// Rows to skip.
    pub offset: Option<u64>,
}

/// An identifier and where it starts in the query text (byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// As written.
    pub text: String,
    /// Byte offset.
    pub pos: usize,
}

/// `Email` or `Account.Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// Segments, as written.
    pub parts: Vec<Name>,
}

impl FieldPath {
    /// The path as written (`Account.Name`).
    pub fn dotted(&self) -> String {
        self.parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(".")
    }

    /// Where it starts.
    pub fn pos(&self) -> usize {
        self.parts.first().map_or(0, |p| p.pos)
    }
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `COUNT()`.
    Count,
    /// A field.
    Field(FieldPath),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE`
    Like,
}

/// A relative date (`TODAY`, `LAST_N_DAYS:7` …): a range of whole UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateLiteral {
    /// Today.
    Today,
    /// Yesterday.
    Yesterday,
    /// Tomorrow.
    Tomorrow,
    /// The last n days including today.
    LastNDays(u32),
    /// The next n days, excluding today.
    NextNDays(u32),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Number(f64),
    /// A quoted string.
    Text(String),
    /// `2024-03-05`
    Date(NaiveDate),
    /// `2024-03-05T17:04:12Z`, epoch milliseconds.
    DateTime(i64),
    /// `TODAY`, `LAST_N_DAYS:n` …
    Relative(DateLiteral),
}

/// A filter. A chain of `AND`s or of `OR`s is one node with all its terms (two or
/// more), so a long chain is wide rather than deep: only parentheses and `NOT` nest,
/// and the parser bounds how far.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// All of them.
    And(Vec<Condition>),
    /// Any of them.
    Or(Vec<Condition>),
    /// Not.
    Not(Box<Condition>),
    /// `field op value`.
    Compare {
        /// Field.
        field: FieldPath,
        /// Operator.
        op: CmpOp,
        /// Value.
        value: Literal,
        /// Where the value starts.
        value_pos: usize,
    },
    /// `field [NOT] IN (values)`.
    In {
        /// Field.
        field: FieldPath,
        /// `NOT IN`.
        negated: bool,
        /// Values.
        values: Vec<Literal>,
        /// Where the list starts.
        value_pos: usize,
    },
}

/// One `ORDER BY` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    /// Field.
    pub field: FieldPath,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST` (`Some(true)`) / `NULLS LAST`; default: first when ascending.
    pub nulls_first: Option<bool>,
}

impl OrderItem {
    /// Whether nulls sort first (SOQL's default: first ascending, last descending).
    pub fn nulls_sort_first(&self) -> bool {
        self.nulls_first.unwrap_or(!self.descending)
    }
}
