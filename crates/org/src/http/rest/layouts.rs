//! `describe/layouts`, `describe/compactLayouts` and `describe/approvalLayouts`: the
//! page layouts clients read to build forms. With no record types, each object has
//! the master record type and one layout: a section of its fields, two to a row, and
//! a related list for each child object.

use latchkey_core::records::{Field, ObjectDef, ObjectKind};
use serde_json::{json, Value as Json};

use super::describe;

/// The id Salesforce gives the master record type of every object.
pub(super) const MASTER_RECORD_TYPE: &str = "012000000000000AAA";

/// The layout id of `kind` (`00h…`, fixed per object).
fn layout_id(kind: ObjectKind) -> String {
    let index = ObjectKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) + 1;
    latchkey_core::ids::canonical(&format!("00h8L0{index:09}")).unwrap_or_default()
}

/// Fields a layout shows: everything but the id and the deleted flag.
fn shown(def: &ObjectDef) -> impl Iterator<Item = &Field> {
    def.fields.iter().filter(|f| f.name != "Id" && f.name != "IsDeleted")
}

fn item(f: &Field, kind: ObjectKind, tab_order: usize) -> Json {
    let editable = f.writable() && kind.writable();
    json!({
        "editableForNew": editable,
        "editableForUpdate": editable,
        "label": f.label,
        "layoutComponents": [{
            "components": [],
            "details": describe::field(f, kind),
            "displayLines": 1,
            "fieldType": f.field_type.describe_name(),
            "tabOrder": tab_order,
            "type": "Field",
            "value": f.name,
        }],
        "placeholder": false,
        "required": f.required && editable,
    })
}

/// One section of `fields`, two to a row.
fn section(heading: &str, kind: ObjectKind, fields: &[&Field], id: &str) -> Json {
    let rows: Vec<Json> = fields
        .chunks(2)
        .enumerate()
        .map(|(r, pair)| {
            let items: Vec<Json> = pair
                .iter()
                .enumerate()
                .map(|(c, f)| item(f, kind, r * 2 + c + 1))
                .collect();
            json!({ "layoutItems": items, "numItems": items.len() })
        })
        .collect();
    json!({
        "collapsed": false,
        "columns": 2,
        "heading": heading,
        "layoutRows": rows,
        "layoutSectionId": id,
        "parentLayoutId": null,
        "rows": rows.len(),
        "tabOrder": "LeftToRight",
        "useCollapsibleSection": false,
        "useHeading": true,
    })
}

/// The one layout of an object.
pub(super) fn layout(def: &ObjectDef) -> Json {
    let kind = def.kind;
    let id = layout_id(kind);
    let all: Vec<&Field> = shown(def).collect();
    let editable: Vec<&Field> = all
        .iter()
        .copied()
        .filter(|f| f.writable() && kind.writable())
        .collect();
    let related: Vec<Json> = kind
        .children()
        .map(|(child, field)| {
            json!({
                "accessLevelRequiredForCreate": null,
                "buttons": [],
                "columns": [],
                "custom": false,
                "field": field,
                "label": child.label_plural(),
                "limitRows": 5,
                "name": child.label_plural().replace(' ', ""),
                "sobject": child.name(),
                "sort": [],
            })
        })
        .collect();
    json!({
        "buttonLayoutSection": null,
        "detailLayoutSections": [section(&format!("{} Information", kind.label()), kind, &all, &format!("{id}1"))],
        "editLayoutSections": [section(&format!("{} Information", kind.label()), kind, &editable, &format!("{id}2"))],
        "feedView": null,
        "highlightsPanelLayoutSection": null,
        "id": id,
        "multirowEditLayoutSections": [],
        "offlineLinks": [],
        "quickActionList": { "quickActionListItems": [] },
        "relatedContent": null,
        "relatedLists": related,
        "saveOptions": [],
    })
}

/// `describe/layouts`: the layouts and the record types mapped to them.
pub(super) fn layouts(def: &ObjectDef, version: &str) -> Json {
    let kind = def.kind;
    json!({
        "layouts": [layout(def)],
        "recordTypeMappings": [{
            "active": true,
            "available": true,
            "defaultRecordTypeMapping": true,
            "developerName": "Master",
            "layoutId": layout_id(kind),
            "master": true,
            "name": "Master",
            "picklistsForRecordType": [],
            "recordTypeId": MASTER_RECORD_TYPE,
            "urls": {
                "layout": format!("/services/data/v{version}/sobjects/{kind}/describe/layouts/{MASTER_RECORD_TYPE}"),
            },
        }],
        "recordTypeSelectorRequired": [false],
    })
}

/// `describe/compactLayouts`: the system default compact layout (the name field and
/// the first few others).
pub(super) fn compact_layouts(def: &ObjectDef, version: &str) -> Json {
    let kind = def.kind;
    let fields: Vec<Json> = shown(def)
        .take(4)
        .enumerate()
        .map(|(i, f)| item(f, kind, i + 1))
        .collect();
    json!({
        "compactLayouts": [{
            "actions": [],
            "fieldItems": fields,
            "id": null,
            "imageItems": [],
            "label": "System Default",
            "name": "SYSTEM",
            "objectType": kind.name(),
        }],
        "defaultCompactLayoutId": null,
        "recordTypeCompactLayoutMappings": [{
            "available": true,
            "compactLayoutId": null,
            "compactLayoutName": "SYSTEM",
            "recordTypeId": MASTER_RECORD_TYPE,
            "recordTypeName": "Master",
            "urls": {
                "compactLayout": format!("/services/data/v{version}/sobjects/{kind}/describe/compactLayouts/{MASTER_RECORD_TYPE}"),
            },
        }],
    })
}

/// `describe/approvalLayouts`: no approval processes, so none.
pub(super) fn approval_layouts() -> Json {
    json!({ "approvalLayouts": [] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_show_every_field_and_edit_only_writable_ones() {
        let def = ObjectDef::standard(ObjectKind::Contact);
        let l = layout(&def);
        let names = |sections: &Json| -> Vec<String> {
            sections[0]["layoutRows"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| r["layoutItems"].as_array().unwrap().clone())
                .map(|i| i["layoutComponents"][0]["value"].as_str().unwrap().to_owned())
                .collect()
        };
        let detail = names(&l["detailLayoutSections"]);
        let edit = names(&l["editLayoutSections"]);
        assert!(detail.contains(&"CreatedDate".to_owned()) && detail.contains(&"LastName".to_owned()));
        assert!(!edit.contains(&"CreatedDate".to_owned()) && edit.contains(&"LastName".to_owned()));
        assert!(!detail.contains(&"Id".to_owned()));
        let history = layout(&ObjectDef::standard(ObjectKind::LoginHistory));
        assert_eq!(names(&history["editLayoutSections"]), Vec::<String>::new());
        let account = layouts(&ObjectDef::standard(ObjectKind::Account), "66.0");
        assert_eq!(account["recordTypeMappings"][0]["recordTypeId"], MASTER_RECORD_TYPE);
        assert_eq!(account["layouts"][0]["relatedLists"][1]["sobject"], "Opportunity");
    }
}
