//! The API versions this server serves, as Salesforce serves them (wire-spec §7.1):
//! 31.0 through the newest (a setting, the current release's by default); 7.0–30.0
//! are retired and answered as Salesforce answers retired versions; SOAP `login()`
//! does not exist from 65.0 on.

use std::ops::RangeInclusive;

/// The oldest version served: Salesforce serves none older (7.0–20.0 retired in
/// Summer '22, 21.0–30.0 in Summer '25).
pub const OLDEST: u32 = 31;

/// The newest version by default: Winter '27's.
pub const NEWEST_DEFAULT: u32 = 68;

/// The last version whose SOAP API has `login()`.
pub const LAST_WITH_SOAP_LOGIN: u32 = 64;

/// The retired versions, answered `410 GONE` on REST and `UNSUPPORTED_API_VERSION` on
/// SOAP.
const RETIRED: RangeInclusive<u32> = 7..=30;

/// What a version in a request path is to this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Served; the major number.
    Served(u32),
    /// Once served, now retired.
    Retired,
    /// Never served (malformed, or newer than the newest).
    Unknown,
}

/// The versions served: [`OLDEST`] through `newest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersions {
    newest: u32,
}

impl Default for ApiVersions {
    fn default() -> Self {
        Self { newest: NEWEST_DEFAULT }
    }
}

impl ApiVersions {
    /// Versions through `newest`, which must not be older than the last with SOAP
    /// `login()` (clients of that version must keep working).
    pub fn through(newest: u32) -> Result<Self, String> {
        if newest < LAST_WITH_SOAP_LOGIN {
            return Err(format!(
                "the newest API version must be {LAST_WITH_SOAP_LOGIN} or later, not {newest}"
            ));
        }
        Ok(Self { newest })
    }

    /// The served versions' major numbers, oldest first.
    pub fn served(&self) -> RangeInclusive<u32> {
        OLDEST..=self.newest
    }

    /// What `v` (`59.0`, as a path carries it) is.
    pub fn of(&self, v: &str) -> Version {
        let Some(major) = v
            .split_once('.')
            .filter(|(a, b)| is_number(a) && is_number(b))
            .and_then(|(a, _)| a.parse::<u32>().ok())
        else {
            return Version::Unknown;
        };
        if self.served().contains(&major) {
            Version::Served(major)
        } else if RETIRED.contains(&major) {
            Version::Retired
        } else {
            Version::Unknown
        }
    }

    /// The major number of `v` if it is served.
    pub fn served_major(&self, v: &str) -> Option<u32> {
        match self.of(v) {
            Version::Served(major) => Some(major),
            _ => None,
        }
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit())
}

/// The release name Salesforce gives version `v` (`59` → `Winter '24`).
pub fn release_label(v: u32) -> String {
    let k = v.saturating_sub(20);
    let season = ["Winter", "Spring", "Summer"][(k % 3) as usize];
    format!("{season} '{:02}", 11 + k / 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_served_retired_or_unknown() {
        let v = ApiVersions::default();
        assert_eq!(v.of("31.0"), Version::Served(31));
        assert_eq!(v.of("59.0"), Version::Served(59));
        assert_eq!(v.of("68.0"), Version::Served(68));
        assert_eq!(v.of("30.0"), Version::Retired);
        assert_eq!(v.of("20.0"), Version::Retired);
        assert_eq!(v.of("7.0"), Version::Retired);
        for unknown in [
            "69.0",
            "6.0",
            "v59.0",
            "59",
            "59.",
            ".0",
            "x",
            "",
            "59.0.1",
            "99999999999.0",
        ] {
            assert_eq!(v.of(unknown), Version::Unknown, "{unknown}");
        }
        let newer = ApiVersions::through(70).unwrap();
        assert_eq!(newer.of("70.0"), Version::Served(70));
        assert!(ApiVersions::through(63).is_err());
    }

    #[test]
    fn labels_are_salesforce_releases() {
        assert_eq!(release_label(30), "Spring '14");
        assert_eq!(release_label(31), "Summer '14");
        assert_eq!(release_label(59), "Winter '24");
        assert_eq!(release_label(65), "Winter '26");
        assert_eq!(release_label(66), "Spring '26");
        assert_eq!(release_label(68), "Winter '27");
    }
}
