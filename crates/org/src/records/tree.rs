//! sObject trees (`composite/tree/{object}`): up to 200 new records of up to five
//! levels, each child under its parent's child relationship (`Contacts` under an
//! Account), inserted in one transaction through the record rules: every record or
//! none. Results name each record by its request `referenceId`.

use std::collections::HashSet;

use latchkey_core::records::{ObjectKind, RecordError};
use serde_json::{Map, Value as Json};

use super::{Caller, RestError};
use crate::Services;

/// Most records one tree request creates.
pub const MAX_TREE_RECORDS: usize = 200;
/// Deepest nesting of a tree.
const MAX_DEPTH: usize = 5;

/// One record's outcome: its id, or the error as `(statusCode, message, fields)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeResult {
    /// The request's name for the record.
    pub reference_id: String,
    /// Its id, or why it cannot be created.
    pub outcome: Result<String, (String, String, Vec<String>)>,
}

fn invalid(reference_id: &str, message: &str) -> TreeResult {
    TreeResult {
        reference_id: reference_id.to_owned(),
        outcome: Err(("INVALID_INPUT".into(), message.into(), Vec::new())),
    }
}

fn count(records: &[Json]) -> usize {
    records
        .iter()
        .filter_map(Json::as_object)
        .map(|r| {
            1 + r
                .values()
                .filter_map(|v| v.get("records").and_then(Json::as_array))
                .map(|children| count(children))
                .sum::<usize>()
        })
        .sum()
}

/// A record waiting to be created: its body, object, parent link and depth.
struct Pending<'a> {
    record: &'a Json,
    kind: ObjectKind,
    parent: Option<(String, String)>,
    depth: usize,
}

/// A pending record's `referenceId` and fields, or why it cannot be created: not an
/// object, no or a repeated `referenceId`, or a type other than its level's.
fn named<'a>(p: &Pending<'a>, seen: &mut HashSet<String>) -> Result<(String, &'a Map<String, Json>), TreeResult> {
    let fields = p
        .record
        .as_object()
        .ok_or_else(|| invalid("", "Each record must be a JSON object"))?;
    let attributes = fields.get("attributes");
    let reference_id = attributes
        .and_then(|a| a.get("referenceId"))
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    if reference_id.is_empty() {
        return Err(invalid("", "Include a reference ID for each record in the request."));
    }
    if !seen.insert(reference_id.clone()) {
        return Err(invalid(&reference_id, "Duplicate ReferenceId provided in the request."));
    }
    let named = attributes.and_then(|a| a.get("type")).and_then(Json::as_str);
    if named.is_none_or(|t| !t.eq_ignore_ascii_case(p.kind.name())) {
        return Err(invalid(
            &reference_id,
            &format!("The type of this record must be {}", p.kind.name()),
        ));
    }
    Ok((reference_id, fields))
}

/// Nested records under a child relationship: the records, their object and lookup.
type Children<'a> = Vec<(&'a Vec<Json>, ObjectKind, String)>;

/// A record's own field values (with the lookup to its parent) and its children.
fn split<'a>(p: &Pending<'a>, fields: &'a Map<String, Json>) -> Result<(Map<String, Json>, Children<'a>), RestError> {
    let mut body = Map::new();
    let mut children = Vec::new();
    for (name, value) in fields {
        if name == "attributes" {
            continue;
        }
        match (value.get("records").and_then(Json::as_array), p.kind.child(name)) {
            (Some(nested), Some((child, field))) => children.push((nested, child, field)),
            (Some(_), None) => {
                return Err(RecordError::NoSuchField {
                    object: p.kind.name().to_owned(),
                    field: name.clone(),
                }
                .into())
            }
            (None, _) => {
                body.insert(name.clone(), value.clone());
            }
        }
    }
    if let Some((field, parent_id)) = &p.parent {
        body.insert(field.clone(), Json::String(parent_id.clone()));
    }
    Ok((body, children))
}

impl Services {
    /// Creates a tree of records of `kind` (and their children); the results in the
    /// order the records were created, and whether any failed (then none is kept and
    /// only the failures are answered).
    pub async fn create_tree(
        &self,
        caller: &Caller,
        kind: ObjectKind,
        records: &[Json],
    ) -> Result<(bool, Vec<TreeResult>), RestError> {
        let total = count(records);
        if total > MAX_TREE_RECORDS {
            return Err(RestError::TooMany(format!(
                "Cannot have more than {MAX_TREE_RECORDS} records in a request, {total} found"
            )));
        }
        let schema = self.schema(&caller.org_id).await?;
        let mut tx = self.store.begin().await?;
        let mut results = Vec::with_capacity(total);
        let mut seen = HashSet::new();
        let mut stack: Vec<Pending<'_>> = records
            .iter()
            .rev()
            .map(|record| Pending {
                record,
                kind,
                parent: None,
                depth: 1,
            })
            .collect();
        while let Some(p) = stack.pop() {
            let (reference_id, fields) = match named(&p, &mut seen) {
                Ok(named) => named,
                Err(refused) => {
                    results.push(refused);
                    continue;
                }
            };
            let (body, children) = split(&p, fields)?;
            match self.create_on(&mut tx, caller, &schema, p.kind, &body).await {
                Ok(id) => {
                    if !children.is_empty() && p.depth >= MAX_DEPTH {
                        results.push(invalid(&reference_id, "A tree has at most 5 levels"));
                        continue;
                    }
                    for (nested, child, field) in children.into_iter().rev() {
                        for record in nested.iter().rev() {
                            stack.push(Pending {
                                record,
                                kind: child,
                                parent: Some((field.clone(), id.clone())),
                                depth: p.depth + 1,
                            });
                        }
                    }
                    results.push(TreeResult {
                        reference_id,
                        outcome: Ok(id),
                    });
                }
                Err(RestError::Internal(e)) => return Err(RestError::Internal(e)),
                Err(e) => {
                    let (_, code) = e.status_and_code();
                    results.push(TreeResult {
                        reference_id,
                        outcome: Err((code.to_owned(), e.to_string(), e.fields())),
                    });
                }
            }
        }
        let failed = results.iter().any(|r| r.outcome.is_err());
        if failed {
            tx.rollback().await.map_err(latchkey_store::StoreError::from)?;
            results.retain(|r| r.outcome.is_err());
        } else {
            latchkey_store::commit(tx).await?;
        }
        Ok((failed, results))
    }
}
