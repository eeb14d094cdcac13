//! Field values: decoding a client's JSON into typed values (with the errors
//! Salesforce gives) and encoding stored values back into JSON.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value as Json};

use super::error::RecordError;
use super::schema::{Field, FieldType, ObjectDef};
use crate::ids;

/// A typed field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// Text, ids, picklist values.
    Text(String),
    /// A number.
    Number(f64),
    /// A checkbox.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// A point in time, epoch milliseconds.
    DateTime(i64),
}

/// Formats a time as the REST API does: `2024-03-05T17:04:12.000+0000`.
pub fn format_datetime(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// Parses an ISO-8601 time with an offset (`Z`, `+00:00` or `+0000`), as clients send
/// in record bodies and `updated`/`deleted` parameters.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .map(|t| t.timestamp_millis())
}

impl Value {
    /// The JSON form of a stored value of `field`.
    pub fn to_json(&self, field: &Field) -> Json {
        match self {
            Self::Null => Json::Null,
            Self::Text(s) => Json::String(s.clone()),
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Self::Bool(b) => Json::Bool(*b),
            Self::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
            Self::DateTime(ms) if field.field_type == FieldType::DateTime => Json::String(format_datetime(*ms)),
            Self::DateTime(ms) => Json::Number((*ms).into()),
        }
    }

    /// Decodes a client's JSON value for `field`.
    pub fn from_json(field: &Field, json: &Json) -> Result<Self, RecordError> {
        let wrong = || RecordError::JsonParse(format!("Cannot deserialize value for field {}", field.name));
        let value = match (field.field_type, json) {
            (_, Json::Null) => Self::Null,
            (FieldType::Boolean, Json::Bool(b)) => Self::Bool(*b),
            (FieldType::Boolean, Json::String(s)) if s.eq_ignore_ascii_case("true") => Self::Bool(true),
            (FieldType::Boolean, Json::String(s)) if s.eq_ignore_ascii_case("false") => Self::Bool(false),
            (FieldType::Double, Json::Number(n)) => Self::Number(n.as_f64().ok_or_else(wrong)?),
            (FieldType::Double, Json::String(s)) => Self::Number(s.trim().parse().map_err(|_| wrong())?),
            (FieldType::Date, Json::String(s)) => Self::Date(
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| RecordError::InvalidValue(field.name.clone(), "invalid date".into()))?,
            ),
            (FieldType::DateTime, Json::String(s)) => Self::DateTime(
                parse_datetime(s)
                    .ok_or_else(|| RecordError::InvalidValue(field.name.clone(), "invalid date/time".into()))?,
            ),
            (FieldType::Id | FieldType::Reference(_), Json::String(s)) if s.is_empty() => Self::Null,
            (FieldType::Id | FieldType::Reference(_), Json::String(s)) => {
                Self::Text(ids::canonical(s).map_err(|_| RecordError::MalformedId(field.name.clone(), s.clone()))?)
            }
            (t, Json::String(s)) if t.is_text() => Self::text(field, s)?,
            (t, Json::Number(n)) if t.is_text() => Self::text(field, &n.to_string())?,
            (t, Json::Bool(b)) if t.is_text() => Self::text(field, &b.to_string())?,
            _ => return Err(wrong()),
        };
        Ok(value)
    }

    fn text(field: &Field, s: &str) -> Result<Self, RecordError> {
        if s.is_empty() {
            return Ok(Self::Null);
        }
        if s.contains('\0') {
            return Err(RecordError::Unstorable(field.name.clone()));
        }
        let chars = s.chars().count();
        if chars > field.length as usize {
            return Err(RecordError::StringTooLong {
                field: field.name.clone(),
                max: field.length,
            });
        }
        if field.field_type == FieldType::Email && !plausible_email(s) {
            return Err(RecordError::InvalidEmail(field.name.clone()));
        }
        Ok(Self::Text(s.to_owned()))
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// One local part, one `@`, a dotted domain; no spaces. (Salesforce's rule is similar.)
/// Whether `s` looks like an e-mail address (one `@`, a dotted domain, no spaces): the
/// check an Email field's values pass, shared by everyone who must predict it.
pub fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// The field values of a create or update body, checked against `def`. `attributes`
/// is ignored; unknown and system fields are refused by name.
pub fn decode_fields(def: &ObjectDef, body: &Map<String, Json>) -> Result<Vec<(Field, Value)>, RecordError> {
    let mut out: Vec<(Field, Value)> = Vec::with_capacity(body.len());
    for (name, json) in body {
        if name == "attributes" {
            continue;
        }
        let Some(field) = def.field(name) else {
            return Err(RecordError::NoSuchField {
                object: def.kind.name().to_owned(),
                field: name.clone(),
            });
        };
        if !field.writable() {
            return Err(RecordError::NotWritable(field.name.clone()));
        }
        let value = Value::from_json(field, json)?;
        if let Some(slot) = out.iter_mut().find(|(f, _)| f.name == field.name) {
            slot.1 = value;
        } else {
            out.push((field.clone(), value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::schema::ObjectKind;
    use serde_json::json;

    fn contact() -> ObjectDef {
        ObjectDef::standard(ObjectKind::Contact)
    }

    fn decode(body: Json) -> Result<Vec<(Field, Value)>, RecordError> {
        decode_fields(&contact(), body.as_object().unwrap())
    }

    #[test]
    fn decodes_and_checks_each_type() {
        let v = decode(json!({"attributes":{"type":"Contact"},"lastname":"Smith","Email":"a@b.co","FirstName":""}))
            .unwrap();
        let mut names: Vec<&str> = v.iter().map(|(f, _)| f.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Email", "FirstName", "LastName"]);
        assert!(v.iter().any(|(f, v)| f.name == "FirstName" && v.is_null()));
        assert!(matches!(
            decode(json!({"Email":"not-an-address"})),
            Err(RecordError::InvalidEmail(_))
        ));
        assert!(matches!(
            decode(json!({"LastName":"x".repeat(81)})),
            Err(RecordError::StringTooLong { max: 80, .. })
        ));
        assert!(matches!(
            decode(json!({"Nope":1})),
            Err(RecordError::NoSuchField { .. })
        ));
        assert!(matches!(
            decode(json!({"Id":"003000000000000"})),
            Err(RecordError::NotWritable(_))
        ));
        assert!(matches!(
            decode(json!({"AccountId":"123"})),
            Err(RecordError::MalformedId(..))
        ));
        assert!(matches!(
            decode(json!({"LastName":{"a":1}})),
            Err(RecordError::JsonParse(_))
        ));
    }

    #[test]
    fn datetimes_round_trip_in_the_rest_format() {
        let ms = parse_datetime("2024-03-05T17:04:12.250+0000").unwrap();
        assert_eq!(parse_datetime("2024-03-05T17:04:12.25Z"), Some(ms));
        assert_eq!(parse_datetime("2024-03-05T18:04:12.25+01:00"), Some(ms));
        assert_eq!(format_datetime(ms), "2024-03-05T17:04:12.250+0000");
        assert_eq!(parse_datetime("yesterday"), None);
    }
}
