//! Text PostgreSQL cannot hold: it refuses U+0000 in `text` and `json` values, which
//! SQLite takes. So both backends behave alike, a lookup by a key holding one matches
//! nothing (no stored key has one: services validate what they write), and free text
//! recorded as presented (login history) has it replaced by U+FFFD.

use std::borrow::Cow;

/// Whether `key` can match no stored value.
pub(crate) fn unstorable(key: &str) -> bool {
    key.contains('\0')
}

/// `text` as it can be stored: U+0000 becomes U+FFFD.
pub(crate) fn recordable(text: &str) -> Cow<'_, str> {
    if unstorable(text) {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}
