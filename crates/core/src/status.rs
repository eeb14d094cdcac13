//! Login-history vocabulary: the status strings and login types of `wire-spec.md` §4.

use serde::{Deserialize, Serialize};

/// Where a login attempt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// The browser login page.
    Ui,
    /// SOAP `login()` (API and desktop clients).
    Soap,
    /// The OAuth 2.0 token endpoint.
    OAuth,
}

impl Channel {
    /// Whether the channel is an API/desktop channel (security token rules apply).
    pub fn is_api(self) -> bool {
        !matches!(self, Self::Ui)
    }

    /// The `LoginType` picklist value recorded in login history.
    pub fn login_type(self) -> &'static str {
        match self {
            Self::Ui => "Application",
            Self::Soap => "Other Apex API",
            Self::OAuth => "Remote Access 2.0",
        }
    }
}

/// The outcome of an attempt as login history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginStatus {
    /// Logged in.
    Success,
    /// Wrong password (or wrong password + token).
    InvalidPassword,
    /// Right password, token missing, untrusted network.
    TokenRequired,
    /// Refused because the user is locked out.
    PasswordLockout,
    /// A UI login from an unrecognised browser on an untrusted network.
    ChallengeRequired,
    /// Outside the profile's login IP ranges.
    RestrictedIp,
    /// The user is deactivated.
    UserInactive,
    /// The user is frozen.
    UserFrozen,
    /// No such username.
    InvalidUsername,
}

impl LoginStatus {
    /// The status text Salesforce shows for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::InvalidPassword => "Invalid Password",
            Self::TokenRequired => "Failed: API security token required",
            Self::PasswordLockout => "Password Lockout",
            Self::ChallengeRequired => "Failed: Computer activation required",
            Self::RestrictedIp => "Restricted IP",
            Self::UserInactive => "User is Inactive",
            Self::UserFrozen => "User is Frozen",
            Self::InvalidUsername => "Invalid login",
        }
    }

    /// Whether the attempt succeeded.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success)
    }
}
