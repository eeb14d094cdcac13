//! The bundled list of common passwords that no new password may match.
//!
//! The list is Django's `common-passwords.txt` (BSD-3-Clause; 19,640 entries, lower
//! case), itself derived from Royce Williams' list of passwords seen in breaches.

use std::collections::HashSet;
use std::sync::OnceLock;

const LIST: &str = include_str!("../data/common-passwords.txt");

fn set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| LIST.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// Whether `password` (compared case-insensitively) is a common password.
pub fn is_common(password: &str) -> bool {
    set().contains(password.trim().to_lowercase().as_str())
}

/// How many passwords the list holds.
pub fn len() -> usize {
    set().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_least_ten_thousand_common_passwords() {
        assert!(len() >= 10_000, "{}", len());
        for p in ["123456", "password", "Password", "qwerty", "letmein", "iloveyou"] {
            assert!(is_common(p), "{p}");
        }
        assert!(!is_common("Tr0ub4dor&3-latchkey-horse"));
    }
}
