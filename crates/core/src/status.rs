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
    /// A wrong code entered at identity verification.
    InvalidVerificationCode,
    /// SOAP `login()` attempted in an org that has it switched off.
    SoapLoginDisabled,
    /// The OAuth username-password flow attempted in an org that blocks it.
    PasswordFlowDisabled,
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
            Self::InvalidVerificationCode => "Failed: Invalid verification code",
            Self::SoapLoginDisabled => "Failed: SOAP API login() disabled",
            Self::PasswordFlowDisabled => "Username-Password Flow Disabled",
        }
    }

    /// Whether the attempt succeeded.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Success)
    }
}

/// What holds a user's account at a moment, in the login decision's order: the first
/// that applies is the one shown (Setup → Users, `org user show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Deactivated.
    Inactive,
    /// Frozen by an administrator.
    Frozen,
    /// Locked out of every source.
    Locked,
    /// Locked out of unfamiliar sources only (smart lockout).
    LockedForUnfamiliar,
    /// None of these.
    Active,
}

impl AccountState {
    /// The state from its facts, in the decision's order.
    pub fn of(active: bool, frozen: bool, locked: bool, locked_for_unfamiliar: bool) -> Self {
        if !active {
            Self::Inactive
        } else if frozen {
            Self::Frozen
        } else if locked {
            Self::Locked
        } else if locked_for_unfamiliar {
            Self::LockedForUnfamiliar
        } else {
            Self::Active
        }
    }

    /// A word or two for a page or a list.
    pub fn label(self) -> &'static str {
        match self {
            Self::Inactive => "Inactive",
            Self::Frozen => "Frozen",
            Self::Locked => "Locked",
            Self::LockedForUnfamiliar => "Locked for new places",
            Self::Active => "Active",
        }
    }

    /// A lower-case token for machine use (CSS classes, list columns).
    pub fn token(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Frozen => "frozen",
            Self::Locked => "locked",
            Self::LockedForUnfamiliar => "locked-unfamiliar",
            Self::Active => "active",
        }
    }
}
