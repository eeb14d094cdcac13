//! Any JSON body given to the record decoder yields field values or a record error —
//! never a panic — for every object.
#![no_main]

use latchkey_core::records::value::decode_fields;
use latchkey_core::records::{ObjectDef, ObjectKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for kind in ObjectKind::ALL {
        let def = ObjectDef::standard(kind);
        if let Ok(values) = decode_fields(&def, &body) {
            for (field, value) in &values {
                let _ = value.to_json(field);
            }
        }
    }
});
