//! Records: the objects integrations read and write, their fields, typed values and
//! the errors a record request can meet.

pub mod error;
pub mod schema;
pub mod value;

pub use error::RecordError;
pub use schema::{CustomField, CustomType, Field, FieldType, ObjectDef, ObjectKind, OrgSchema};
pub use value::Value;
