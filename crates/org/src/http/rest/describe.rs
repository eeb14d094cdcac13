//! Describe results: the global list of objects and one object's fields, in the
//! shape jsforce and simple-salesforce read (wire-spec §7.2).

use latchkey_core::records::{Field, FieldType, ObjectDef, ObjectKind};
use serde_json::{json, Value as Json};

/// The properties shared by the global describe entry and the object describe.
pub(super) fn summary(kind: ObjectKind, version: &str) -> Json {
    let name = kind.name();
    let base = format!("/services/data/v{version}/sobjects/{name}");
    let writable = kind.writable();
    json!({
        "name": name,
        "label": kind.label(),
        "labelPlural": kind.label_plural(),
        "keyPrefix": kind.key_prefix(),
        "custom": false,
        "createable": writable,
        "updateable": writable,
        "deletable": kind.is_stored(),
        "queryable": true,
        "retrieveable": true,
        "searchable": false,
        "replicateable": kind.replicateable(),
        "layoutable": true,
        "triggerable": false,
        "undeletable": false,
        "mergeable": false,
        "activateable": false,
        "customSetting": false,
        "deprecatedAndHidden": false,
        "feedEnabled": false,
        "mruEnabled": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "deepCloneable": false,
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "urls": {
            "sobject": base,
            "describe": format!("{base}/describe"),
            "rowTemplate": format!("{base}/{{ID}}"),
            "layouts": format!("{base}/describe/layouts"),
            "compactLayouts": format!("{base}/describe/compactLayouts"),
            "approvalLayouts": format!("{base}/describe/approvalLayouts"),
            "listviews": format!("{base}/listviews"),
        },
    })
}

/// The compound field `f` is part of: `Name` for a person's name parts,
/// `MailingAddress` for `MailingStreet` and its siblings.
fn compound_of(f: &Field, kind: ObjectKind) -> Option<String> {
    if kind.is_person()
        && matches!(
            f.name.as_str(),
            "FirstName" | "LastName" | "Salutation" | "MiddleName" | "Suffix"
        )
    {
        return Some("Name".to_owned());
    }
    [
        "Street",
        "City",
        "State",
        "PostalCode",
        "Country",
        "Latitude",
        "Longitude",
    ]
    .iter()
    .find_map(|part| f.name.strip_suffix(part))
    .map(|prefix| format!("{prefix}Address"))
}

/// One field's describe, with every attribute Salesforce's has (wire-spec additions,
/// "Describe"): clients read some of each, and some stop on a missing one.
pub(super) fn field(f: &Field, kind: ObjectKind) -> Json {
    use FieldType as T;
    let reference_to: Vec<&str> = match f.field_type {
        T::Reference(t) => vec![t],
        _ => Vec::new(),
    };
    let system = !f.writable() || !kind.writable();
    let text = f.field_type.is_text();
    let length = if text { f.length } else { 0 };
    let extra_type = match f.field_type {
        T::TextArea => Some("plaintextarea"),
        T::String if f.name == "Name" && kind.is_person() => Some("personname"),
        _ => None,
    };
    let mut out = json!({
        "aggregatable": !matches!(f.field_type, T::TextArea),
        "byteLength": if f.field_type == T::Id || matches!(f.field_type, T::Reference(_)) { 18 } else { length * 3 },
        "compoundFieldName": compound_of(f, kind),
        "createable": !system,
        "custom": f.custom,
        "defaultValue": if f.field_type == T::Boolean && !system { json!(false) } else { Json::Null },
        "defaultedOnCreate": system || f.name == "OwnerId" || f.field_type == T::Boolean,
        "externalId": f.external_id,
        "extraTypeInfo": extra_type,
        "filterable": !matches!(f.field_type, T::TextArea),
        "groupable": !matches!(f.field_type, T::TextArea | T::Double | T::DateTime),
        "idLookup": f.external_id || f.name == "Id" || f.name == "Email",
        "label": f.label,
        "length": length,
        "name": f.name,
        "nameField": f.name == "Name",
        "nillable": !f.required && !system && f.field_type != T::Boolean,
        "permissionable": !f.required && !system,
        "precision": if f.field_type == T::Double { 18 } else { 0 },
        "referenceTo": reference_to,
        "relationshipName": f.relationship,
        "soapType": f.field_type.soap_type(),
        "sortable": !matches!(f.field_type, T::TextArea),
        "type": f.field_type.describe_name(),
        "unique": f.unique,
        "updateable": !system,
    });
    if let (Some(out), Json::Object(fixed)) = (out.as_object_mut(), fixed_attributes()) {
        out.extend(fixed);
    }
    out
}

/// The field attributes that are the same for every field here: no formulas,
/// encryption, masks, dependent or restricted picklists.
fn fixed_attributes() -> Json {
    json!({
        "aiPredictionField": false,
        "autoNumber": false,
        "calculated": false,
        "calculatedFormula": null,
        "cascadeDelete": false,
        "caseSensitive": false,
        "controllerName": null,
        "defaultValueFormula": null,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": 0,
        "displayLocationInDecimal": false,
        "encrypted": false,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "highScaleNumber": false,
        "htmlFormatted": false,
        "inlineHelpText": null,
        "mask": null,
        "maskType": null,
        "namePointing": false,
        "picklistValues": [],
        "polymorphicForeignKey": false,
        "queryByDistance": false,
        "referenceTargetField": null,
        "relationshipOrder": null,
        "restrictedDelete": false,
        "restrictedPicklist": false,
        "scale": 0,
        "searchPrefilterable": false,
        "writeRequiresMasterRead": false,
    })
}

/// The full describe of one object.
pub(super) fn object(def: &ObjectDef, version: &str) -> Json {
    let mut out = summary(def.kind, version);
    out["fields"] = Json::Array(def.fields.iter().map(|f| field(f, def.kind)).collect());
    out["childRelationships"] = Json::Array(
        def.kind
            .children()
            .map(|(child, field)| {
                json!({
                    "childSObject": child.name(),
                    "field": field,
                    "relationshipName": child.label_plural(),
                    "cascadeDelete": false,
                    "deprecatedAndHidden": false,
                    "restrictedDelete": false,
                })
            })
            .collect(),
    );
    out["recordTypeInfos"] = json!([]);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The attributes of one field of a describe Salesforce answered (Contact.Id, API
    /// 51.0), as captured in BCIT-SSD-2020-21/industry-project-agilitek's README.
    const SALESFORCE_FIELD_KEYS: [&str; 57] = [
        "aggregatable",
        "aiPredictionField",
        "autoNumber",
        "byteLength",
        "calculated",
        "calculatedFormula",
        "cascadeDelete",
        "caseSensitive",
        "compoundFieldName",
        "controllerName",
        "createable",
        "custom",
        "defaultValue",
        "defaultValueFormula",
        "defaultedOnCreate",
        "dependentPicklist",
        "deprecatedAndHidden",
        "digits",
        "displayLocationInDecimal",
        "encrypted",
        "externalId",
        "extraTypeInfo",
        "filterable",
        "filteredLookupInfo",
        "formulaTreatNullNumberAsZero",
        "groupable",
        "highScaleNumber",
        "htmlFormatted",
        "idLookup",
        "inlineHelpText",
        "label",
        "length",
        "mask",
        "maskType",
        "name",
        "nameField",
        "namePointing",
        "nillable",
        "permissionable",
        "picklistValues",
        "polymorphicForeignKey",
        "precision",
        "queryByDistance",
        "referenceTargetField",
        "referenceTo",
        "relationshipName",
        "relationshipOrder",
        "restrictedDelete",
        "restrictedPicklist",
        "scale",
        "searchPrefilterable",
        "soapType",
        "sortable",
        "type",
        "unique",
        "updateable",
        "writeRequiresMasterRead",
    ];

    /// The attributes of an object in the global describe (REST API Developer Guide,
    /// "Describe Global", example response), `urls` included.
    const SALESFORCE_OBJECT_KEYS: [&str; 28] = [
        "activateable",
        "associateEntityType",
        "associateParentEntity",
        "createable",
        "custom",
        "customSetting",
        "deepCloneable",
        "deletable",
        "deprecatedAndHidden",
        "feedEnabled",
        "hasSubtypes",
        "isInterface",
        "isSubtype",
        "keyPrefix",
        "label",
        "labelPlural",
        "layoutable",
        "mergeable",
        "mruEnabled",
        "name",
        "queryable",
        "replicateable",
        "retrieveable",
        "searchable",
        "triggerable",
        "undeletable",
        "updateable",
        "urls",
    ];

    fn keys(v: &Json) -> BTreeSet<String> {
        v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn every_field_has_every_attribute_salesforce_gives() {
        let want: BTreeSet<String> = SALESFORCE_FIELD_KEYS.iter().map(|k| (*k).to_owned()).collect();
        for kind in ObjectKind::ALL {
            for f in &ObjectDef::standard(kind).fields {
                assert_eq!(keys(&field(f, kind)), want, "{kind}.{}", f.name);
            }
        }
    }

    #[test]
    fn every_object_has_every_attribute_salesforce_gives() {
        let want: BTreeSet<String> = SALESFORCE_OBJECT_KEYS.iter().map(|k| (*k).to_owned()).collect();
        for kind in ObjectKind::ALL {
            assert_eq!(keys(&summary(kind, "59.0")), want, "{kind}");
        }
    }

    #[test]
    fn identity_objects_are_read_only_users_writable_and_parents_list_their_children() {
        for kind in [ObjectKind::LoginHistory, ObjectKind::Organization, ObjectKind::Profile] {
            let d = object(&ObjectDef::standard(kind), "66.0");
            for flag in ["createable", "updateable", "deletable"] {
                assert_eq!(d[flag], false, "{kind} {flag}");
            }
            let fields = d["fields"].as_array().unwrap();
            assert!(
                fields
                    .iter()
                    .all(|f| f["createable"] == false && f["updateable"] == false),
                "{kind}"
            );
        }
        let user = object(&ObjectDef::standard(ObjectKind::User), "66.0");
        assert_eq!(
            (&user["createable"], &user["updateable"], &user["deletable"]),
            (&json!(true), &json!(true), &json!(false)),
            "users are provisioned, never deleted"
        );
        let writable: Vec<&str> = user["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["createable"] == true)
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert!(
            writable.contains(&"TimeZoneSidKey") && !writable.contains(&"LastLoginDate"),
            "{writable:?}"
        );
        let account = object(&ObjectDef::standard(ObjectKind::Account), "66.0");
        assert_eq!(account["createable"], true);
        let children: Vec<(&str, &str)> = account["childRelationships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["childSObject"].as_str().unwrap(),
                    c["relationshipName"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(children, [("Contact", "Contacts"), ("Opportunity", "Opportunities")]);
        assert_eq!(summary(ObjectKind::LoginHistory, "66.0")["replicateable"], false);
    }

    #[test]
    fn compound_fields_name_their_compound() {
        let contact = ObjectDef::standard(ObjectKind::Contact);
        let lead = ObjectDef::standard(ObjectKind::Lead);
        let compound =
            |def: &ObjectDef, name: &str| field(def.field(name).unwrap(), def.kind)["compoundFieldName"].clone();
        assert_eq!(compound(&contact, "FirstName"), "Name");
        assert_eq!(compound(&contact, "MailingCity"), "MailingAddress");
        assert_eq!(compound(&lead, "City"), "Address");
        assert_eq!(compound(&contact, "Email"), Json::Null);
    }
}
