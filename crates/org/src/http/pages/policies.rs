//! Setup → Password Policies, OAuth and OpenID Connect Settings and Network Access:
//! the org-wide password policy, the password login flows and the trusted IP ranges,
//! through the same services as `latchkey org policy|login-flows|network`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use latchkey_core::network::IpRange;
use latchkey_core::policy::{LoginFlows, PasswordPolicy};
use serde::Deserialize;

use super::account::{failure, SignedIn};
use super::cookies;
use super::setup::{admin_form, require_admin};
use super::templates::{self, render, PolicyField};
use crate::http::HttpState;
use crate::AccountError;

fn options(values: &[(&str, &str)]) -> Vec<(String, String)> {
    values.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect()
}

/// The choices of `expiry`: (form value, label).
const EXPIRY_CHOICES: &[(&str, &str)] = &[
    ("30d", "30 days"),
    ("60d", "60 days"),
    ("90d", "90 days"),
    ("180d", "180 days"),
    ("365d", "One year"),
    ("never", "Never expires"),
];

/// The choices of `complexity`: (form value, label).
const COMPLEXITY_CHOICES: &[(&str, &str)] = &[
    ("none", "No restriction"),
    ("alpha-numeric", "Must include alpha and numeric characters"),
    (
        "alpha-numeric-special",
        "Must include alpha, numeric, and special characters",
    ),
    (
        "upper-lower-numeric",
        "Must include numbers, uppercase and lowercase letters",
    ),
    (
        "upper-lower-numeric-special",
        "Must include numbers, uppercase and lowercase letters, and special characters",
    ),
    (
        "any-3",
        "Must include 3 of: numbers, uppercase letters, lowercase letters, special characters",
    ),
];

/// The choices of `max_invalid_attempts`: (form value, label).
const MAX_INVALID_CHOICES: &[(&str, &str)] = &[("3", "3"), ("5", "5"), ("10", "10"), ("none", "No limit")];

/// The choices of `lockout`: (form value, label).
const LOCKOUT_CHOICES: &[(&str, &str)] = &[
    ("15m", "15 minutes"),
    ("30m", "30 minutes"),
    ("60m", "60 minutes"),
    ("forever", "Forever (must be reset by admin)"),
];

/// The choices of `lockout_scope`: (form value, label).
const LOCKOUT_SCOPE_CHOICES: &[(&str, &str)] = &[
    (
        "smart",
        "Unfamiliar sources only (familiar addresses, browsers and integrations keep working)",
    ),
    ("all", "All sources (Salesforce's behaviour)"),
];

/// The form's choices, with `policy`'s values selected.
fn fields(policy: &PasswordPolicy) -> Vec<PolicyField> {
    let numbers = |range: std::ops::RangeInclusive<u8>, unit: &str| -> Vec<(String, String)> {
        range.map(|n| (n.to_string(), format!("{n} {unit}"))).collect()
    };
    vec![
        PolicyField {
            name: "expiry",
            label: "User passwords expire in",
            options: options(EXPIRY_CHOICES),
            current: policy.expiry.to_string(),
        },
        PolicyField {
            name: "history",
            label: "Enforce password history",
            options: numbers(0..=24, "passwords remembered"),
            current: policy.history.to_string(),
        },
        PolicyField {
            name: "min_length",
            label: "Minimum password length",
            options: numbers(5..=50, "characters"),
            current: policy.min_length.to_string(),
        },
        PolicyField {
            name: "complexity",
            label: "Password complexity requirement",
            options: options(COMPLEXITY_CHOICES),
            current: policy.complexity.to_string(),
        },
        PolicyField {
            name: "max_invalid_attempts",
            label: "Maximum invalid login attempts",
            options: options(MAX_INVALID_CHOICES),
            current: policy.max_invalid_attempts.to_string(),
        },
        PolicyField {
            name: "lockout",
            label: "Lockout effective period",
            options: options(LOCKOUT_CHOICES),
            current: policy.lockout.to_string(),
        },
        PolicyField {
            name: "lockout_scope",
            label: "Lockout applies to",
            options: options(LOCKOUT_SCOPE_CHOICES),
            current: policy.lockout_scope.to_string(),
        },
    ]
}

fn policy_page(
    state: &HttpState,
    jar: CookieJar,
    policy: &PasswordPolicy,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupPolicies {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "policies",
        fields: fields(policy),
        notice,
        error,
    };
    let status = templates::status_for(error);
    (jar, render(&page, status)).into_response()
}

/// `GET /setup/policies`.
pub(super) async fn page(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require_admin(&state, &jar).await {
        Ok((me, _)) => policy_page(&state, jar, &me.org.policy, None, None),
        Err(r) => r,
    }
}

/// The policy form.
#[derive(Deserialize)]
pub(super) struct PolicyForm {
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    history: String,
    #[serde(default)]
    min_length: String,
    #[serde(default)]
    complexity: String,
    #[serde(default)]
    max_invalid_attempts: String,
    #[serde(default)]
    lockout: String,
    #[serde(default)]
    lockout_scope: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

impl PolicyForm {
    fn policy(&self) -> Result<PasswordPolicy, String> {
        let number = |v: &str, what: &str| v.trim().parse::<u8>().map_err(|_| format!("{what} must be a number"));
        Ok(PasswordPolicy {
            expiry: self.expiry.parse().map_err(|e| format!("{e}"))?,
            history: number(&self.history, "Password history")?,
            min_length: number(&self.min_length, "Minimum length")?,
            complexity: self.complexity.parse().map_err(|e| format!("{e}"))?,
            max_invalid_attempts: self.max_invalid_attempts.parse().map_err(|e| format!("{e}"))?,
            lockout: self.lockout.parse().map_err(|e| format!("{e}"))?,
            lockout_scope: self.lockout_scope.parse().map_err(|e| format!("{e}"))?,
        })
    }
}

/// `POST /setup/policies`.
pub(super) async fn save(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<PolicyForm>) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let policy = match form.policy() {
        Ok(p) => p,
        Err(e) => return policy_page(&state, jar, &me.org.policy, None, Some(&e)),
    };
    match admin.set_policy(&me.org.id, &policy).await {
        Ok(()) => policy_page(&state, jar, &policy, Some("The password policy was saved."), None),
        Err(AccountError::Policy(e)) => policy_page(&state, jar, &policy, None, Some(&e.to_string())),
        Err(e) => failure(&e),
    }
}

fn login_flows_page(state: &HttpState, jar: CookieJar, flows: LoginFlows, notice: Option<&str>) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupLoginFlows {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "login-flows",
        soap_login: flows.soap_login,
        oauth_username_password: flows.oauth_username_password,
        notice,
    };
    (jar, render(&page, axum::http::StatusCode::OK)).into_response()
}

/// `GET /setup/login-flows`.
pub(super) async fn login_flows(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require_admin(&state, &jar).await {
        Ok((me, _)) => login_flows_page(&state, jar, me.org.login_flows, None),
        Err(r) => r,
    }
}

/// The login flows form: a checkbox is sent only when ticked.
#[derive(Deserialize)]
pub(super) struct LoginFlowsForm {
    #[serde(default)]
    soap_login: Option<String>,
    #[serde(default)]
    oauth_username_password: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /setup/login-flows`.
pub(super) async fn save_login_flows(
    State(state): State<HttpState>,
    jar: CookieJar,
    Form(form): Form<LoginFlowsForm>,
) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let flows = LoginFlows {
        soap_login: form.soap_login.is_some(),
        oauth_username_password: form.oauth_username_password.is_some(),
    };
    match admin.set_login_flows(&me.org.id, flows).await {
        Ok(()) => login_flows_page(&state, jar, flows, Some("The login settings were saved.")),
        Err(e) => failure(&e),
    }
}

async fn network_page(
    state: &HttpState,
    jar: CookieJar,
    me: &SignedIn,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let ranges = match state.services.trusted_ranges(&me.org.id).await {
        Ok(r) => r.iter().map(ToString::to_string).collect(),
        Err(e) => return failure(&e),
    };
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupNetwork {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "network",
        ranges,
        notice,
        error,
    };
    let status = templates::status_for(error);
    (jar, render(&page, status)).into_response()
}

/// `GET /setup/network`.
pub(super) async fn network(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require_admin(&state, &jar).await {
        Ok((me, _)) => network_page(&state, jar, &me, None, None).await,
        Err(r) => r,
    }
}

/// A range to add or remove.
#[derive(Deserialize)]
pub(super) struct RangeForm {
    #[serde(default)]
    range: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /setup/network/add`.
pub(super) async fn add_range(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<RangeForm>) -> Response {
    change_range(state, jar, form, true).await
}

/// `POST /setup/network/remove`.
pub(super) async fn remove_range(
    State(state): State<HttpState>,
    jar: CookieJar,
    Form(form): Form<RangeForm>,
) -> Response {
    change_range(state, jar, form, false).await
}

async fn change_range(state: HttpState, jar: CookieJar, form: RangeForm, add: bool) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let range: IpRange = match form.range.trim().parse() {
        Ok(r) => r,
        Err(e) => {
            let e: latchkey_core::network::RangeError = e;
            return network_page(&state, jar, &me, None, Some(&e.to_string())).await;
        }
    };
    let done = if add {
        admin.add_trusted_range(&me.org.id, &range).await
    } else {
        admin.remove_trusted_range(&me.org.id, &range).await
    };
    match done {
        Ok(()) => {
            let notice = if add {
                "The range is trusted now."
            } else {
                "The range was removed."
            };
            network_page(&state, jar, &me, Some(notice), None).await
        }
        Err(AccountError::Invalid(why)) => network_page(&state, jar, &me, None, Some(&why)).await,
        Err(e) => failure(&e),
    }
}
