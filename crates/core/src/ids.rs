//! Salesforce-style record identifiers: 15 case-sensitive base-62 characters, or 18
//! with a 3-character case-insensitive checksum. The first three characters are the
//! key prefix that names the object type.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
/// Characters 4–6 of every id this deployment issues ("instance" and reserved).
const INSTANCE: &str = "8L0";

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not 15 or 18 base-62 characters, or the checksum does not match.
    #[error("id value of incorrect type: {0}")]
    Malformed(String),
    /// A valid id, but of another object type.
    #[error("id {0} is not a {1} id")]
    WrongType(String, &'static str),
}

/// Computes the 3-character checksum suffix of a 15-character id.
fn checksum(id15: &[u8]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk_index, chunk) in id15.chunks(5).enumerate() {
        let mut bits = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        out[chunk_index] = CHECKSUM_ALPHABET[bits];
    }
    out
}

/// Parses a 15- or 18-character id into its canonical 18-character form.
pub fn canonical(input: &str) -> Result<String, IdError> {
    let bytes = input.as_bytes();
    let malformed = || IdError::Malformed(input.to_owned());
    if !(bytes.len() == 15 || bytes.len() == 18) || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return Err(malformed());
    }
    let sum = checksum(&bytes[..15]);
    if bytes.len() == 18 && !bytes[15..].eq_ignore_ascii_case(&sum) {
        return Err(malformed());
    }
    let mut id = input[..15].to_owned();
    id.push_str(std::str::from_utf8(&sum).map_err(|_| malformed())?);
    Ok(id)
}

/// A fresh random id with `prefix`, in 18-character form.
pub fn generate(prefix: &str) -> String {
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(18);
    id.push_str(prefix);
    id.push_str(INSTANCE);
    for _ in 0..9 {
        id.push(char::from(BASE62[rng.gen_range(0..BASE62.len())]));
    }
    let sum = checksum(id.as_bytes());
    id.extend(sum.iter().map(|b| char::from(*b)));
    id
}

/// Declares a typed id with its key prefix.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The key prefix of this object type.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(generate($prefix))
            }

            /// The 18-character form.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The 15-character (case-sensitive) form.
            pub fn short(&self) -> &str {
                &self.0[..15]
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let id = canonical(s)?;
                if !id.starts_with($prefix) {
                    return Err(IdError::WrongType(s.to_owned(), $label));
                }
                Ok(Self(id))
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// An organisation (`00D`).
    OrgId, "00D", "Organization"
);
typed_id!(
    /// A user (`005`).
    UserId, "005", "User"
);
typed_id!(
    /// A profile (`00e`).
    ProfileId, "00e", "Profile"
);
typed_id!(
    /// A login-history row (`0Ya`).
    LoginHistoryId, "0Ya", "LoginHistory"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_salesforce() {
        for (short, long) in [
            ("00Di0000000icUB", "00Di0000000icUBEAY"),
            ("005i0000002MUqL", "005i0000002MUqLAAW"),
            ("00ei0000001CMKc", "00ei0000001CMKcAAO"),
            ("00Dx0000000BV7z", "00Dx0000000BV7zEAG"),
        ] {
            assert_eq!(canonical(short).as_deref(), Ok(long));
            assert_eq!(canonical(long).as_deref(), Ok(long));
            assert!(canonical(&long.to_lowercase()).is_err(), "case matters in the first 15");
        }
    }

    #[test]
    fn rejects_bad_ids() {
        assert!(canonical("00Di0000000icUBXXX").is_err());
        assert!(canonical("short").is_err());
        assert!(canonical("00Di0000000icU!").is_err());
        assert_eq!(
            "00Di0000000icUB".parse::<UserId>(),
            Err(IdError::WrongType("00Di0000000icUB".into(), "User"))
        );
    }

    #[test]
    fn generated_ids_round_trip() {
        let id = UserId::generate();
        assert!(id.as_str().starts_with("005"));
        assert_eq!(id.as_str().len(), 18);
        assert_eq!(id.short().parse::<UserId>(), Ok(id.clone()));
        assert_eq!(id.as_str().parse::<UserId>(), Ok(id));
    }
}
