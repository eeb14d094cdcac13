//! A recursive-descent parser for the SOQL subset. Each error carries the byte
//! offset of the offending token so the client sees row and column.

use chrono::{NaiveDate, NaiveDateTime};

use super::ast::{CmpOp, Condition, DateLiteral, FieldPath, Literal, Name, OrderItem, Query, SelectItem};
use super::{SoqlError, SoqlErrorKind};

/// Longest query text accepted, in characters (Salesforce's limit).
pub const MAX_QUERY_LEN: usize = 100_000;
/// Deepest nesting of parentheses and `NOT`s in a filter. The planner and the SQL
/// renderer recurse once per level, so this bounds their stacks as well.
pub const MAX_NESTING: usize = 50;
/// Most field expressions (`X = 1`, `Y IN (…)`) in one filter.
pub const MAX_CONDITIONS: usize = 5_000;
/// Most values in one filter, IN lists included: each becomes a bound parameter, and
/// both backends limit how many one statement may carry.
pub const MAX_VALUES: usize = 20_000;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(i64),
    Comma,
    Dot,
    Colon,
    LParen,
    RParen,
    Op(CmpOp),
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Number(n) => n.to_string(),
            Tok::Text(s) => format!("'{s}'"),
            Tok::Date(d) => d.to_string(),
            Tok::DateTime(_) => "date/time literal".into(),
            Tok::Comma => ",".into(),
            Tok::Dot => ".".into(),
            Tok::Colon => ":".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Op(_) => "operator".into(),
            Tok::End => "<EOF>".into(),
        }
    }
}

fn malformed(pos: usize, detail: impl Into<String>) -> SoqlError {
    SoqlError {
        kind: SoqlErrorKind::MalformedQuery,
        pos,
        detail: detail.into(),
    }
}

fn too_complicated(pos: usize, what: &str) -> SoqlError {
    SoqlError {
        kind: SoqlErrorKind::TooComplicated,
        pos,
        detail: format!(
            "Query is either selecting too many fields or the filter conditions are too complicated ({what})."
        ),
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, SoqlError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b',' => (out.push((Tok::Comma, start)), i += 1).1,
            b'.' => (out.push((Tok::Dot, start)), i += 1).1,
            b':' => (out.push((Tok::Colon, start)), i += 1).1,
            b'(' => (out.push((Tok::LParen, start)), i += 1).1,
            b')' => (out.push((Tok::RParen, start)), i += 1).1,
            b'=' => (out.push((Tok::Op(CmpOp::Eq), start)), i += 1).1,
            b'!' if bytes.get(i + 1) == Some(&b'=') => (out.push((Tok::Op(CmpOp::Ne), start)), i += 2).1,
            b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    (b'<', Some(b'>')) => (CmpOp::Ne, 2),
                    (b'<', Some(b'=')) => (CmpOp::Le, 2),
                    (b'>', Some(b'=')) => (CmpOp::Ge, 2),
                    (b'<', _) => (CmpOp::Lt, 1),
                    _ => (CmpOp::Gt, 1),
                };
                out.push((Tok::Op(op), start));
                i += len;
            }
            b'\'' => {
                let (text, end) = lex_string(src, i)?;
                out.push((Tok::Text(text), start));
                i = end;
            }
            b'0'..=b'9' | b'-' | b'+' => {
                let end = i
                    + 1
                    + bytes[i + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'+'))
                        .count();
                let word = &src[i..end];
                out.push((lex_number_or_date(word, start)?, start));
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let end = i + bytes[i..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                out.push((Tok::Ident(src[i..end].to_owned()), start));
                i = end;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(malformed(start, format!("unexpected token: '{ch}'")));
            }
        }
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

fn lex_string(src: &str, open: usize) -> Result<(String, usize), SoqlError> {
    let mut text = String::new();
    let mut chars = src[open + 1..].char_indices();
    while let Some((off, ch)) = chars.next() {
        match ch {
            '\'' => return Ok((text, open + 1 + off + 1)),
            '\\' => {
                let Some((_, esc)) = chars.next() else { break };
                match esc {
                    'n' => text.push('\n'),
                    'r' => text.push('\r'),
                    't' => text.push('\t'),
                    'b' => text.push('\u{8}'),
                    'f' => text.push('\u{c}'),
                    '"' | '\'' | '\\' => text.push(esc),
                    // LIKE wildcards stay escaped: the pattern matcher needs to tell them apart.
                    '%' | '_' => {
                        text.push('\\');
                        text.push(esc);
                    }
                    other => {
                        return Err(malformed(
                            open + 1 + off,
                            format!("Invalid string literal escape: \\{other}"),
                        ));
                    }
                }
            }
            _ => text.push(ch),
        }
    }
    Err(malformed(open, "unterminated string literal"))
}

fn lex_number_or_date(word: &str, pos: usize) -> Result<Tok, SoqlError> {
    let looks_like_date = word.len() >= 10 && word.as_bytes()[4] == b'-' && word.as_bytes()[7] == b'-';
    if looks_like_date {
        if word.len() == 10 {
            return NaiveDate::parse_from_str(word, "%Y-%m-%d")
                .map(Tok::Date)
                .map_err(|_| malformed(pos, format!("line 1:{pos} no viable alternative at character '{word}'")));
        }
        let parsed = if let Some(naive) = word.strip_suffix('Z') {
            NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_millis())
        } else {
            chrono::DateTime::parse_from_str(word, "%Y-%m-%dT%H:%M:%S%.f%:z")
                .or_else(|_| chrono::DateTime::parse_from_str(word, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .ok()
                .map(|t| t.timestamp_millis())
        };
        return parsed
            .map(Tok::DateTime)
            .ok_or_else(|| malformed(pos, format!("invalid date/time literal: {word}")));
    }
    word.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Tok::Number)
        .ok_or_else(|| malformed(pos, format!("unexpected token: '{word}'")))
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// Parentheses and `NOT`s open at the current token.
    depth: usize,
    /// Field expressions read so far.
    conditions: usize,
    /// Values read so far.
    values: usize,
}

const RESERVED: [&str; 14] = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET", "ASC", "DESC",
];

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn pos(&self) -> usize {
        self.toks[self.at].1
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self) -> SoqlError {
        malformed(self.pos(), format!("unexpected token: '{}'", self.peek().describe()))
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let hit = self.at_keyword(kw);
        if hit {
            self.bump();
        }
        hit
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), SoqlError> {
        if self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<Name, SoqlError> {
        match self.peek().clone() {
            Tok::Ident(s) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&s)) => {
                let pos = self.bump().1;
                Ok(Name { text: s, pos })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn field_path(&mut self) -> Result<FieldPath, SoqlError> {
        let mut parts = vec![self.name()?];
        while self.peek() == &Tok::Dot {
            self.bump();
            parts.push(self.name()?);
        }
        Ok(FieldPath { parts })
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_keyword("SELECT")?;
        let mut select = Vec::new();
        loop {
            if self.at_keyword("COUNT") && self.toks.get(self.at + 1).map(|t| &t.0) == Some(&Tok::LParen) {
                self.bump();
                self.bump();
                self.expect(&Tok::RParen)?;
                select.push(SelectItem::Count);
            } else {
                select.push(SelectItem::Field(self.field_path()?));
            }
            if self.peek() != &Tok::Comma {
                break;
            }
            self.bump();
        }
        if select.len() > 1 && select.contains(&SelectItem::Count) {
            return Err(malformed(
                self.pos(),
                "COUNT() must be the only element in the SELECT list",
            ));
        }
        self.expect_keyword("FROM")?;
        let from = self.name()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.or()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order_by.push(self.order_item()?);
                if self.peek() != &Tok::Comma {
                    break;
                }
                self.bump();
            }
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.count()?)
        } else {
            None
        };
        if self.peek() != &Tok::End {
            return Err(self.unexpected());
        }
        Ok(Query {
            select,
            from,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn count(&mut self) -> Result<u64, SoqlError> {
        match self.peek() {
            Tok::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n <= u32::MAX as f64 => {
                let n = *n as u64;
                self.bump();
                Ok(n)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn order_item(&mut self) -> Result<OrderItem, SoqlError> {
        let field = self.field_path()?;
        let descending = if self.eat_keyword("DESC") {
            true
        } else {
            self.eat_keyword("ASC");
            false
        };
        let nulls_first = if self.eat_keyword("NULLS") {
            if self.eat_keyword("FIRST") {
                Some(true)
            } else if self.eat_keyword("LAST") {
                Some(false)
            } else {
                return Err(self.unexpected());
            }
        } else {
            None
        };
        Ok(OrderItem {
            field,
            descending,
            nulls_first,
        })
    }

    fn or(&mut self) -> Result<Condition, SoqlError> {
        let first = self.and()?;
        if !self.at_keyword("OR") {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.eat_keyword("OR") {
            terms.push(self.and()?);
        }
        Ok(Condition::Or(terms))
    }

    fn and(&mut self) -> Result<Condition, SoqlError> {
        let first = self.not()?;
        if !self.at_keyword("AND") {
            return Ok(first);
        }
        let mut terms = vec![first];
        while self.eat_keyword("AND") {
            terms.push(self.not()?);
        }
        Ok(Condition::And(terms))
    }

    /// `NOT x`, `( … )` or a field expression. The only place the parser recurses
    /// into a deeper level, so the nesting limit is checked here, before it does.
    fn not(&mut self) -> Result<Condition, SoqlError> {
        let negated = self.at_keyword("NOT");
        if !negated && self.peek() != &Tok::LParen {
            return self.comparison();
        }
        if self.depth == MAX_NESTING {
            return Err(too_complicated(
                self.pos(),
                &format!("more than {MAX_NESTING} nested parentheses or NOTs"),
            ));
        }
        self.depth += 1;
        self.bump();
        let inner = if negated {
            self.not().map(|c| Condition::Not(Box::new(c)))
        } else {
            self.or().and_then(|c| self.expect(&Tok::RParen).map(|()| c))
        };
        self.depth -= 1;
        inner
    }

    /// Counts `n` values of one field expression against the limits.
    fn count_values(&mut self, pos: usize, n: usize) -> Result<(), SoqlError> {
        self.values += n;
        if self.values > MAX_VALUES {
            return Err(too_complicated(pos, &format!("more than {MAX_VALUES} values")));
        }
        Ok(())
    }

    fn comparison(&mut self) -> Result<Condition, SoqlError> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(too_complicated(
                self.pos(),
                &format!("more than {MAX_CONDITIONS} field expressions"),
            ));
        }
        let field = self.field_path()?;
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            let value_pos = self.pos();
            self.expect(&Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek() == &Tok::Comma {
                self.bump();
                values.push(self.literal()?);
            }
            self.count_values(value_pos, values.len())?;
            self.expect(&Tok::RParen)?;
            return Ok(Condition::In {
                field,
                negated,
                values,
                value_pos,
            });
        }
        if negated {
            return Err(self.unexpected());
        }
        let op = if self.eat_keyword("LIKE") {
            CmpOp::Like
        } else if let Tok::Op(op) = self.peek() {
            let op = *op;
            self.bump();
            op
        } else {
            return Err(self.unexpected());
        };
        let value_pos = self.pos();
        let value = self.literal()?;
        // A relative date becomes a range of two values.
        self.count_values(value_pos, if matches!(value, Literal::Relative(_)) { 2 } else { 1 })?;
        Ok(Condition::Compare {
            field,
            op,
            value,
            value_pos,
        })
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let (tok, pos) = self.bump();
        let lit = match tok {
            Tok::Text(s) => Literal::Text(s),
            Tok::Number(n) => Literal::Number(n),
            Tok::Date(d) => Literal::Date(d),
            Tok::DateTime(ms) => Literal::DateTime(ms),
            Tok::Ident(word) => match word.to_ascii_uppercase().as_str() {
                "NULL" => Literal::Null,
                "TRUE" => Literal::Bool(true),
                "FALSE" => Literal::Bool(false),
                "TODAY" => Literal::Relative(DateLiteral::Today),
                "YESTERDAY" => Literal::Relative(DateLiteral::Yesterday),
                "TOMORROW" => Literal::Relative(DateLiteral::Tomorrow),
                "LAST_N_DAYS" => Literal::Relative(DateLiteral::LastNDays(self.days(&word)?)),
                "NEXT_N_DAYS" => Literal::Relative(DateLiteral::NextNDays(self.days(&word)?)),
                _ => return Err(malformed(pos, format!("unexpected token: '{word}'"))),
            },
            other => return Err(malformed(pos, format!("unexpected token: '{}'", other.describe()))),
        };
        Ok(lit)
    }

    fn days(&mut self, word: &str) -> Result<u32, SoqlError> {
        self.expect(&Tok::Colon)
            .map_err(|e| SoqlError::with_detail(e, format!("{word} needs a number: {word}:n")))?;
        let n = self.count()?;
        u32::try_from(n).map_err(|_| self.unexpected())
    }
}

/// Parses a SOQL query. Its length, nesting and number of conditions are bounded, so
/// no text can make this or the steps after it run deep or long.
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    if let Some((pos, _)) = text.char_indices().nth(MAX_QUERY_LEN) {
        return Err(malformed(
            pos,
            format!("SOQL statements cannot be longer than {MAX_QUERY_LEN} characters."),
        ));
    }
    if let Some(pos) = text.find('\0') {
        return Err(malformed(pos, "unexpected character: U+0000"));
    }
    let toks = lex(text)?;
    Parser {
        toks,
        at: 0,
        depth: 0,
        conditions: 0,
        values: 0,
    }
    .query()
}
