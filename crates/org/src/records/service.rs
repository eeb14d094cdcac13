//! Record operations for a REST caller: create, retrieve, update, delete and upsert,
//! with Salesforce's validation (required fields, lengths, references, unique values).
//! Each write runs in a transaction; collections run many in one.

use std::sync::Arc;

use latchkey_core::ids;
use latchkey_core::records::value::decode_fields;
use latchkey_core::records::{Field, FieldType, ObjectKind, OrgSchema, RecordError, Value};
use latchkey_store::records::{self, Change};
use latchkey_store::Conn;
use serde_json::{Map, Value as Json};

use super::{Caller, RestError};
use crate::Services;

/// Default `Status` of a new Lead.
const LEAD_STATUS_DEFAULT: &str = "Open - Not Contacted";

/// How long deleted records stay in the recycle state.
pub const RECYCLE_DAYS: i64 = 15;

/// A record as read: values of fields of the (shared) schema, in the order asked for.
#[derive(Debug, Clone)]
pub struct Retrieved {
    schema: Arc<OrgSchema>,
    kind: ObjectKind,
    indices: Vec<usize>,
    values: Vec<Value>,
}

impl Retrieved {
    /// Each field with its value.
    pub fn pairs(&self) -> impl Iterator<Item = (&Field, &Value)> {
        let fields = &self.schema.object(self.kind).fields;
        self.indices.iter().map(|i| &fields[*i]).zip(&self.values)
    }
}

/// An upsert's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    /// The record.
    pub id: String,
    /// Inserted rather than updated.
    pub created: bool,
}

/// A record id from a path: canonical, and of `kind`.
pub fn record_id(kind: ObjectKind, raw: &str) -> Result<String, RestError> {
    let id = ids::canonical(raw).map_err(|_| RecordError::MalformedId(format!("{kind} ID"), raw.to_owned()))?;
    if !id.starts_with(kind.key_prefix()) {
        return Err(RecordError::NotFound.into());
    }
    Ok(id)
}

/// Refuses a write to an object clients only read (its rows change through the
/// account services).
fn check_writable(kind: ObjectKind, action: &'static str) -> Result<(), RecordError> {
    if kind.is_stored() {
        Ok(())
    } else {
        Err(RecordError::ReadOnlyObject {
            label: kind.label(),
            action,
        })
    }
}

pub(super) fn check_required(
    schema_fields: &[Field],
    values: &[(Field, Value)],
    creating: bool,
) -> Result<(), RecordError> {
    let missing: Vec<String> = schema_fields
        .iter()
        .filter(|f| f.required && f.writable())
        .filter(|f| match values.iter().find(|(v, _)| v.name == f.name) {
            Some((_, v)) => v.is_null(),
            None => creating,
        })
        .map(|f| f.name.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RecordError::RequiredMissing(missing))
    }
}

impl Services {
    /// Checks references point at live records of the org, and unique values are free.
    async fn check_links(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        kind: ObjectKind,
        values: &[(Field, Value)],
        this: Option<&str>,
    ) -> Result<(), RestError> {
        for (field, value) in values {
            let Value::Text(target) = value else { continue };
            match field.field_type {
                FieldType::Reference("User") => {
                    let found = match target.parse::<ids::UserId>() {
                        Ok(u) => latchkey_store::users::get(conn, &u)
                            .await
                            .ok()
                            .is_some_and(|user| user.org_id == caller.org_id && user.active),
                        Err(_) => false,
                    };
                    if !found {
                        return Err(RecordError::BadReference(field.name.clone()).into());
                    }
                }
                FieldType::Reference(object) => {
                    let target_kind = object
                        .parse::<ObjectKind>()
                        .map_err(|_| RecordError::BadReference(field.name.clone()))?;
                    let live = records::get(conn, &caller.org_id, target_kind, target, &[])
                        .await?
                        .is_some_and(|r| !r.is_deleted);
                    if !live {
                        return Err(RecordError::BadReference(field.name.clone()).into());
                    }
                }
                _ => {}
            }
            if field.unique {
                let holders = records::find_by(conn, &caller.org_id, kind, field, value).await?;
                if let Some(other) = holders.into_iter().find(|id| Some(id.as_str()) != this) {
                    return Err(RecordError::Duplicate {
                        field: field.name.clone(),
                        id: other,
                    }
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Creates a record from a JSON body on `conn`; returns its id.
    pub(crate) async fn create_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        schema: &OrgSchema,
        kind: ObjectKind,
        body: &Map<String, Json>,
    ) -> Result<String, RestError> {
        check_writable(kind, "inserted")?;
        let def = schema.object(kind);
        let mut values = decode_fields(def, body)?;
        if kind == ObjectKind::Lead && !values.iter().any(|(f, v)| f.name == "Status" && !v.is_null()) {
            values.retain(|(f, _)| f.name != "Status");
            if let Some(status) = def.field("Status") {
                values.push((status.clone(), Value::Text(LEAD_STATUS_DEFAULT.into())));
            }
        }
        check_required(&def.fields, &values, true)?;
        self.check_links(conn, caller, kind, &values, None).await?;
        let id = ids::generate(kind.key_prefix());
        let change = self.change(caller, kind);
        records::insert(conn, &change, &id, &values).await?;
        Ok(id)
    }

    /// Updates a live record from a JSON body on `conn`.
    pub(crate) async fn update_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        schema: &OrgSchema,
        kind: ObjectKind,
        id: &str,
        body: &Map<String, Json>,
    ) -> Result<(), RestError> {
        check_writable(kind, "updated")?;
        let def = schema.object(kind);
        let values = decode_fields(def, body)?;
        check_required(&def.fields, &values, false)?;
        self.check_links(conn, caller, kind, &values, Some(id)).await?;
        if records::update(conn, &self.change(caller, kind), id, &values).await? {
            Ok(())
        } else {
            Err(self.missing(conn, caller, kind, id).await)
        }
    }

    /// Deletes (recycles) a live record on `conn`.
    pub(crate) async fn delete_on(
        &self,
        conn: &mut Conn,
        caller: &Caller,
        kind: ObjectKind,
        id: &str,
    ) -> Result<(), RestError> {
        check_writable(kind, "deleted")?;
        if records::delete(conn, &self.change(caller, kind), id).await? {
            Ok(())
        } else {
            Err(self.missing(conn, caller, kind, id).await)
        }
    }

    /// Why a record could not be changed: recycled, or not there at all.
    async fn missing(&self, conn: &mut Conn, caller: &Caller, kind: ObjectKind, id: &str) -> RestError {
        match records::get(conn, &caller.org_id, kind, id, &[]).await {
            Ok(Some(r)) if r.is_deleted => RecordError::Deleted.into(),
            Ok(_) => RecordError::NotFound.into(),
            Err(e) => e.into(),
        }
    }

    fn change<'a>(&self, caller: &'a Caller, kind: ObjectKind) -> Change<'a> {
        Change {
            org: &caller.org_id,
            object: kind,
            user: &caller.user_id,
            now: self.clock.now(),
        }
    }

    /// Creates one record.
    pub async fn create_record(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        body: &Map<String, Json>,
    ) -> Result<String, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let mut tx = self.store.begin().await?;
        let id = self.create_on(&mut tx, caller, &schema, kind, body).await?;
        latchkey_store::commit(tx).await?;
        Ok(id)
    }

    /// Updates one record.
    pub async fn update_record(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        id: &str,
        body: &Map<String, Json>,
    ) -> Result<(), RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let mut tx = self.store.begin().await?;
        self.update_on(&mut tx, caller, &schema, kind, id, body).await?;
        latchkey_store::commit(tx).await?;
        Ok(())
    }

    /// Deletes one record; erases records recycled more than 15 days ago.
    pub async fn delete_record(&self, caller: &Caller, kind: ObjectKind, id: &str) -> Result<(), RestError> {
        let mut tx = self.store.begin().await?;
        self.delete_on(&mut tx, caller, kind, id).await?;
        records::purge_deleted(&mut tx, self.clock.now() - chrono::Duration::days(RECYCLE_DAYS)).await?;
        latchkey_store::commit(tx).await?;
        Ok(())
    }

    /// The named fields (all fields when `None`) of a record.
    pub async fn retrieve_record(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        id: &str,
        fields: Option<&str>,
    ) -> Result<Retrieved, RestError> {
        if !caller.sees(kind) {
            return Err(RestError::UnknownObject(kind.name().to_owned()));
        }
        let schema = self.schema(&caller.org_id).await?;
        let def = schema.object(kind);
        let indices: Vec<usize> = match fields {
            None => (0..def.fields.len()).collect(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    def.fields
                        .iter()
                        .position(|f| f.name.eq_ignore_ascii_case(n))
                        .ok_or_else(|| RecordError::NoSuchField {
                            object: kind.name().to_owned(),
                            field: n.to_owned(),
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        let mut wanted: Vec<&Field> = indices.iter().map(|i| &def.fields[*i]).collect();
        let owner = def.field("UserId").filter(|_| caller.reads_own_only(kind));
        wanted.extend(owner);
        let mut conn = self.store.conn().await?;
        let mut values = match records::get(&mut conn, &caller.org_id, kind, id, &wanted).await? {
            None => return Err(RecordError::NotFound.into()),
            Some(r) if r.is_deleted => return Err(RecordError::Deleted.into()),
            Some(r) => r.values,
        };
        if owner.is_some() {
            let own = Value::Text(caller.user_id.as_str().to_owned());
            if values.pop() != Some(own) {
                return Err(RecordError::NotFound.into());
            }
        }
        drop(wanted);
        Ok(Retrieved {
            schema,
            kind,
            indices,
            values,
        })
    }

    /// The external-id field `name` of `kind` (or `Id`).
    pub(crate) fn external_id_field(schema: &OrgSchema, kind: ObjectKind, name: &str) -> Result<Field, RestError> {
        schema
            .object(kind)
            .field(name)
            .filter(|f| f.external_id || f.name == "Id")
            .cloned()
            .ok_or_else(|| {
                RecordError::NoSuchField {
                    object: kind.name().to_owned(),
                    field: name.to_owned(),
                }
                .into()
            })
    }

    /// The id of the one live record whose external-id field `name` equals `value`.
    pub async fn find_by_external_id(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        name: &str,
        value: &str,
    ) -> Result<String, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let field = Self::external_id_field(&schema, kind, name)?;
        if field.name == "Id" {
            return record_id(kind, value);
        }
        let key = Value::from_json(&field, &Json::String(value.to_owned()))?;
        let mut conn = self.store.conn().await?;
        let found = records::find_by(&mut conn, &caller.org_id, kind, &field, &key).await?;
        match found.as_slice() {
            [] => Err(RecordError::NotFound.into()),
            [id] => Ok(id.clone()),
            several => Err(RestError::Ambiguous(several.to_vec())),
        }
    }

    /// Inserts or updates the record whose external-id `field` equals `value`.
    pub async fn upsert_record(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        field_name: &str,
        value: &str,
        body: &Map<String, Json>,
    ) -> Result<Upserted, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let field = Self::external_id_field(&schema, kind, field_name)?;
        let mut tx = self.store.begin().await?;
        let outcome = self
            .upsert_on(&mut tx, caller, &schema, kind, &field, value, body)
            .await?;
        latchkey_store::commit(tx).await?;
        Ok(outcome)
    }

    /// [`Self::upsert_record`] inside the caller's transaction, with the field resolved.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn upsert_on(
        &self,
        tx: &mut Conn,
        caller: &Caller,
        schema: &OrgSchema,
        kind: ObjectKind,
        field: &Field,
        value: &str,
        body: &Map<String, Json>,
    ) -> Result<Upserted, RestError> {
        let key = Value::from_json(field, &Json::String(value.to_owned()))?;
        let matches = if field.name == "Id" {
            vec![record_id(kind, value)?]
        } else {
            records::find_by(&mut *tx, &caller.org_id, kind, field, &key).await?
        };
        match matches.as_slice() {
            [] => {
                let mut body = body.clone();
                body.insert(field.name.clone(), Json::String(value.to_owned()));
                let id = self.create_on(tx, caller, schema, kind, &body).await?;
                Ok(Upserted { id, created: true })
            }
            [id] => {
                let mut body = body.clone();
                body.retain(|k, _| !k.eq_ignore_ascii_case(&field.name));
                self.update_on(tx, caller, schema, kind, id, &body).await?;
                Ok(Upserted {
                    id: id.clone(),
                    created: false,
                })
            }
            several => Err(RestError::Ambiguous(several.to_vec())),
        }
    }
}
