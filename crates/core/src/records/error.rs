//! What can be wrong with a record request, with the REST error code and message
//! Salesforce uses for each.

/// A record-level error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The body is not the JSON expected.
    #[error("{0}")]
    JsonParse(String),
    /// A field the object does not have.
    #[error("No such column '{field}' on sobject of type {object}")]
    NoSuchField {
        /// Object.
        object: String,
        /// Field as given.
        field: String,
    },
    /// A system field in a create/update body.
    #[error("Unable to create/update fields: {0}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.")]
    NotWritable(String),
    /// A text value longer than the field allows.
    #[error("{field}: data value too large (max length={max})")]
    StringTooLong {
        /// Field.
        field: String,
        /// Its length.
        max: u32,
    },
    /// Not an e-mail address.
    #[error("{0}: invalid email address")]
    InvalidEmail(String),
    /// Text holding a character no store keeps (U+0000).
    #[error("{0}: the value contains a character that cannot be stored (U+0000)")]
    Unstorable(String),
    /// A value of the right JSON type that does not parse (date, time).
    #[error("{0}: {1}")]
    InvalidValue(String, String),
    /// An id that is not an id.
    #[error("{0}: id value of incorrect type: {1}")]
    MalformedId(String, String),
    /// Required fields left empty.
    #[error("Required fields are missing: [{}]", .0.join(", "))]
    RequiredMissing(Vec<String>),
    /// A unique field's value is taken.
    #[error("duplicate value found: {field} duplicates value on record with id: {id}")]
    Duplicate {
        /// Field.
        field: String,
        /// The record that has it.
        id: String,
    },
    /// A reference to a record that does not exist (or is of another kind).
    #[error("{0}: invalid cross reference id")]
    BadReference(String),
    /// A write to an object clients only read (LoginHistory, Organization, …).
    #[error("entity type cannot be {action}: {label}")]
    ReadOnlyObject {
        /// The object's label (`Login History`).
        label: &'static str,
        /// `inserted`, `updated` or `deleted`.
        action: &'static str,
    },
    /// No such (live) record.
    #[error("entity is deleted")]
    Deleted,
    /// No such record.
    #[error("The requested resource does not exist")]
    NotFound,
}

impl RecordError {
    /// The REST `errorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::JsonParse(_) => "JSON_PARSER_ERROR",
            Self::NoSuchField { .. } => "INVALID_FIELD",
            Self::NotWritable(_) => "INVALID_FIELD_FOR_INSERT_UPDATE",
            Self::StringTooLong { .. } => "STRING_TOO_LONG",
            Self::InvalidEmail(_) => "INVALID_EMAIL_ADDRESS",
            Self::Unstorable(_) => "INVALID_FIELD",
            Self::InvalidValue(..) => "INVALID_TYPE_ON_FIELD_IN_RECORD",
            Self::MalformedId(..) => "MALFORMED_ID",
            Self::RequiredMissing(_) => "REQUIRED_FIELD_MISSING",
            Self::Duplicate { .. } => "DUPLICATE_VALUE",
            Self::BadReference(_) => "INVALID_CROSS_REFERENCE_KEY",
            Self::ReadOnlyObject { .. } => "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            Self::Deleted => "ENTITY_IS_DELETED",
            Self::NotFound => "NOT_FOUND",
        }
    }

    /// The fields the error is about (the `fields` array).
    pub fn fields(&self) -> Vec<String> {
        match self {
            Self::NoSuchField { field, .. } => vec![field.clone()],
            Self::NotWritable(f)
            | Self::BadReference(f)
            | Self::InvalidEmail(f)
            | Self::Unstorable(f)
            | Self::InvalidValue(f, _)
            | Self::MalformedId(f, _) => {
                vec![f.clone()]
            }
            Self::StringTooLong { field, .. } | Self::Duplicate { field, .. } => vec![field.clone()],
            Self::RequiredMissing(fs) => fs.clone(),
            Self::JsonParse(_) | Self::ReadOnlyObject { .. } | Self::Deleted | Self::NotFound => Vec::new(),
        }
    }
}
