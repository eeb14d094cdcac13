//! SOQL, the subset integrations use: parsed into a typed tree ([`ast`]), then checked
//! against the org's objects into a [`plan::Plan`] whose every field is a known column
//! and every value a typed parameter. The store renders the plan as SQL.

pub mod ast;
pub mod parser;
pub mod plan;

pub use parser::parse;
pub use plan::{plan, Plan};

/// The kind of a SOQL error (the REST `errorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoqlErrorKind {
    /// Syntax outside the subset.
    MalformedQuery,
    /// A field the object does not have.
    InvalidField,
    /// An object that does not exist.
    InvalidType,
    /// A value or operator that does not fit the field.
    InvalidFilter,
    /// A filter past the parser's bounds on nesting, conditions or values.
    TooComplicated,
}

impl SoqlErrorKind {
    /// The REST `errorCode`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MalformedQuery => "MALFORMED_QUERY",
            Self::InvalidField => "INVALID_FIELD",
            Self::InvalidType => "INVALID_TYPE",
            Self::InvalidFilter => "INVALID_QUERY_FILTER_OPERATOR",
            Self::TooComplicated => "QUERY_TOO_COMPLICATED",
        }
    }
}

/// A SOQL error at a position of the query text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct SoqlError {
    /// What kind.
    pub kind: SoqlErrorKind,
    /// Byte offset in the query text.
    pub pos: usize,
    /// What is wrong.
    pub detail: String,
}

impl SoqlError {
    fn with_detail(mut self, detail: String) -> Self {
        self.detail = detail;
        self
    }

    /// Row and column (1-based) of the error in `query`.
    pub fn row_column(&self, query: &str) -> (usize, usize) {
        let upto = &query[..query.floor_char_boundary_compat(self.pos)];
        let row = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (row, col)
    }

    /// The message Salesforce gives: the offending line, a caret, the position and
    /// the detail. A long line is shown only around the error, so the message stays
    /// short whatever the query's length.
    pub fn message(&self, query: &str) -> String {
        const WHOLE: usize = 200;
        const BEFORE: usize = 80;
        const AFTER: usize = 40;
        let (row, col) = self.row_column(query);
        let line = query.lines().nth(row - 1).unwrap_or("");
        let (skip, take) = if line.chars().nth(WHOLE).is_none() {
            (0, WHOLE)
        } else {
            let skip = (col - 1).saturating_sub(BEFORE);
            (skip, col - skip + AFTER)
        };
        let shown: String = line.chars().skip(skip).take(take).collect();
        let caret = format!("{}^", " ".repeat(col - 1 - skip));
        format!(
            "\n{shown}\n{caret}\nERROR at Row:{row}:Column:{col}\n{detail}",
            detail = self.detail
        )
    }
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, i: usize) -> usize {
        let mut i = i.min(self.len());
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests;
