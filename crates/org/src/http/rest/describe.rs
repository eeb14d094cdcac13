//! Describe results: the global list of objects and one object's fields, in the
//! shape jsforce and simple-salesforce read (wire-spec §7.2).

use latchkey_core::records::{Field, FieldType, ObjectDef, ObjectKind};
use serde_json::{json, Value as Json};

/// The properties shared by the global describe entry and the object describe.
pub(super) fn summary(kind: ObjectKind, version: &str) -> Json {
    let name = kind.name();
    let base = format!("/services/data/v{version}/sobjects/{name}");
    json!({
        "name": name,
        "label": name,
        "labelPlural": kind.label_plural(),
        "keyPrefix": kind.key_prefix(),
        "custom": false,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "retrieveable": true,
        "searchable": false,
        "replicateable": true,
        "layoutable": false,
        "triggerable": false,
        "undeletable": false,
        "mergeable": false,
        "activateable": false,
        "customSetting": false,
        "deprecatedAndHidden": false,
        "feedEnabled": false,
        "mruEnabled": false,
        "urls": {
            "sobject": base,
            "describe": format!("{base}/describe"),
            "rowTemplate": format!("{base}/{{ID}}"),
        },
    })
}

fn field(f: &Field) -> Json {
    let reference_to: Vec<&str> = match f.field_type {
        FieldType::Reference(t) => vec![t],
        _ => Vec::new(),
    };
    let system = !f.writable();
    json!({
        "name": f.name,
        "label": f.label,
        "type": f.field_type.describe_name(),
        "soapType": f.field_type.soap_type(),
        "length": if f.field_type.is_text() { f.length } else { 0 },
        "nillable": !f.required && !system,
        "createable": !system,
        "updateable": !system,
        "filterable": true,
        "sortable": f.field_type != FieldType::TextArea,
        "groupable": false,
        "custom": f.custom,
        "calculated": false,
        "referenceTo": reference_to,
        "relationshipName": f.relationship,
        "picklistValues": [],
        "defaultedOnCreate": system || f.name == "OwnerId",
        "externalId": f.external_id,
        "idLookup": f.external_id || f.name == "Id" || f.name == "Email",
        "unique": f.unique,
        "caseSensitive": false,
        "precision": if f.field_type == FieldType::Double { 18 } else { 0 },
        "scale": 0,
        "digits": 0,
    })
}

/// The full describe of one object.
pub(super) fn object(def: &ObjectDef, version: &str) -> Json {
    let mut out = summary(def.kind, version);
    out["fields"] = Json::Array(def.fields.iter().map(field).collect());
    out["childRelationships"] = match def.kind {
        ObjectKind::Account => json!([{
            "childSObject": "Contact",
            "field": "AccountId",
            "relationshipName": "Contacts",
            "cascadeDelete": false,
            "deprecatedAndHidden": false,
            "restrictedDelete": false,
        }]),
        _ => json!([]),
    };
    out["recordTypeInfos"] = json!([]);
    out
}
