//! Any text given to the SOQL parser and planner yields a plan or a positioned error —
//! never a panic — and the error's message can always be rendered.
#![no_main]

use latchkey_core::records::{CustomField, CustomType, ObjectKind, OrgSchema};
use latchkey_core::soql;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let schema = OrgSchema::new(&[CustomField {
        object: ObjectKind::Contact,
        name: "Score__c".into(),
        label: "Score".into(),
        custom_type: CustomType::Number,
        length: 0,
        required: false,
        external_id: false,
        unique: false,
    }]);
    let now = chrono::DateTime::from_timestamp_millis(1_767_225_600_000).unwrap_or_default();
    match soql::parse(text) {
        Ok(query) => {
            if let Err(e) = soql::plan(&query, &schema, now) {
                let _ = e.message(text);
            }
        }
        Err(e) => {
            assert!(e.pos <= text.len(), "error position inside the text");
            let _ = e.message(text);
        }
    }
});
