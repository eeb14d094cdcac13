//! sObject collections (`composite/sobjects`): create, update or delete up to 200
//! records in one request and one transaction. A bad record fails alone, unless
//! `allOrNone`, when nothing is written and every result says why.

use latchkey_core::records::{ObjectKind, RecordError};
use serde_json::Value as Json;

use super::service::record_id;
use super::{Caller, RestError};
use crate::Services;

/// Most records per collections request.
pub const DEFAULT_MAX_RECORDS: usize = 200;

/// The result of one record of a collections request (a SaveResult).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionResult {
    /// The record's id (`None` when it failed or was rolled back).
    pub id: Option<String>,
    /// The error, as `(errorCode, message, fields)`.
    pub error: Option<(String, String, Vec<String>)>,
    /// For an upsert: whether the record was created (`None` for other operations).
    pub created: Option<bool>,
}

impl CollectionResult {
    fn ok(id: String) -> Self {
        Self {
            id: Some(id),
            error: None,
            created: None,
        }
    }

    fn failed(e: &RestError) -> Self {
        let (_, code) = e.status_and_code();
        Self {
            id: None,
            error: Some((code.to_owned(), e.to_string(), e.fields())),
            created: None,
        }
    }

    fn rolled_back() -> Self {
        Self {
            id: None,
            error: Some((
                "ALL_OR_NONE_OPERATION_ROLLED_BACK".into(),
                "Record rolled back because not all records were valid and the request was using AllOrNone header"
                    .into(),
                Vec::new(),
            )),
            created: None,
        }
    }
}

/// Which change a collections request makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST: create records (`attributes.type` names each one's object).
    Create,
    /// PATCH: update records (each has `id`).
    Update,
}

fn kind_of(record: &serde_json::Map<String, Json>, id: Option<&str>) -> Result<ObjectKind, RestError> {
    let named = record
        .get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Json::as_str);
    match (named, id) {
        (Some(t), _) => t.parse().map_err(|_| RestError::UnknownObject(t.to_owned())),
        (None, Some(id)) => ObjectKind::ALL
            .into_iter()
            .find(|k| id.starts_with(k.key_prefix()))
            .ok_or(RestError::Record(RecordError::NotFound)),
        (None, None) => Err(RestError::BadCollection("Each record needs attributes.type".into())),
    }
}

fn check_size(n: usize) -> Result<(), RestError> {
    if n > DEFAULT_MAX_RECORDS {
        return Err(RestError::TooMany(format!(
            "record limit reached. cannot submit more than {DEFAULT_MAX_RECORDS} records into this call"
        )));
    }
    Ok(())
}

/// Commits the transaction, or rolls it back when `allOrNone` and a record failed.
async fn settle(
    tx: latchkey_store::Tx,
    results: Vec<Result<String, RestError>>,
    all_or_none: bool,
) -> Result<Vec<CollectionResult>, RestError> {
    let (out, rollback) = finish(results, all_or_none);
    if rollback {
        tx.rollback().await.map_err(latchkey_store::StoreError::from)?;
    } else {
        latchkey_store::commit(tx).await?;
    }
    Ok(out)
}

fn finish(results: Vec<Result<String, RestError>>, all_or_none: bool) -> (Vec<CollectionResult>, bool) {
    let failed = results.iter().any(Result::is_err);
    let rollback = all_or_none && failed;
    let out = results
        .iter()
        .map(|r| match r {
            Ok(_) if rollback => CollectionResult::rolled_back(),
            Ok(id) => CollectionResult::ok(id.clone()),
            Err(e) => CollectionResult::failed(e),
        })
        .collect();
    (out, rollback)
}

impl Services {
    /// Creates or updates each record of a collections request.
    pub async fn save_collection(
        &self,
        caller: &Caller,
        operation: Operation,
        records: &[Json],
        all_or_none: bool,
    ) -> Result<Vec<CollectionResult>, RestError> {
        check_size(records.len())?;
        let schema = self.schema(&caller.org_id).await?;
        let mut tx = self.store.begin().await?;
        let mut results = Vec::with_capacity(records.len());
        for record in records {
            let Some(body) = record.as_object() else {
                results.push(Err(
                    RecordError::JsonParse("Each record must be a JSON object".into()).into()
                ));
                continue;
            };
            let outcome = match operation {
                Operation::Create => match kind_of(body, None) {
                    Ok(kind) => self.create_on(&mut tx, caller, &schema, kind, body).await,
                    Err(e) => Err(e),
                },
                Operation::Update => {
                    let raw_id = body
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_owned);
                    match raw_id {
                        None => Err(RecordError::RequiredMissing(vec!["Id".into()]).into()),
                        Some(raw) => {
                            let mut fields = body.clone();
                            fields.retain(|k, _| !k.eq_ignore_ascii_case("id"));
                            match kind_of(body, Some(&raw)).and_then(|k| Ok((k, record_id(k, &raw)?))) {
                                Ok((kind, id)) => self
                                    .update_on(&mut tx, caller, &schema, kind, &id, &fields)
                                    .await
                                    .map(|()| id),
                                Err(e) => Err(e),
                            }
                        }
                    }
                }
            };
            if let Err(RestError::Internal(e)) = outcome {
                return Err(RestError::Internal(e));
            }
            results.push(outcome);
        }
        settle(tx, results, all_or_none).await
    }

    /// Inserts or updates each record of a collections upsert
    /// (`PATCH composite/sobjects/{T}/{field}`), matched by the external-id `field`
    /// that each record carries.
    pub async fn upsert_collection(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        field_name: &str,
        records: &[Json],
        all_or_none: bool,
    ) -> Result<Vec<CollectionResult>, RestError> {
        check_size(records.len())?;
        let schema = self.schema(&caller.org_id).await?;
        let field = Self::external_id_field(&schema, kind, field_name)?;
        let mut tx = self.store.begin().await?;
        let mut results = Vec::with_capacity(records.len());
        let mut created = Vec::with_capacity(records.len());
        for record in records {
            let key = record.as_object().and_then(|body| {
                body.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&field.name))
                    .and_then(|(_, v)| v.as_str().map(str::to_owned))
                    .map(|key| (body, key))
            });
            let outcome = match key {
                None => Err(RecordError::RequiredMissing(vec![field.name.clone()]).into()),
                Some((body, key)) => self.upsert_on(&mut tx, caller, &schema, kind, &field, &key, body).await,
            };
            if let Err(RestError::Internal(e)) = outcome {
                return Err(RestError::Internal(e));
            }
            created.push(outcome.as_ref().ok().map(|u| u.created));
            results.push(outcome.map(|u| u.id));
        }
        let mut out = settle(tx, results, all_or_none).await?;
        for (result, created) in out.iter_mut().zip(created) {
            if result.error.is_none() {
                result.created = created;
            }
        }
        Ok(out)
    }

    /// Deletes each id of a collections request.
    pub async fn delete_collection(
        &self,
        caller: &Caller,
        raw_ids: &[String],
        all_or_none: bool,
    ) -> Result<Vec<CollectionResult>, RestError> {
        check_size(raw_ids.len())?;
        let mut tx = self.store.begin().await?;
        let mut results = Vec::with_capacity(raw_ids.len());
        for raw in raw_ids {
            let kind = ObjectKind::ALL.into_iter().find(|k| raw.starts_with(k.key_prefix()));
            let outcome = match kind {
                None => Err(RestError::Record(RecordError::MalformedId("Id".into(), raw.clone()))),
                Some(kind) => match record_id(kind, raw) {
                    Ok(id) => self.delete_on(&mut tx, caller, kind, &id).await.map(|()| id),
                    Err(e) => Err(e),
                },
            };
            if let Err(RestError::Internal(e)) = outcome {
                return Err(RestError::Internal(e));
            }
            results.push(outcome);
        }
        settle(tx, results, all_or_none).await
    }
}
