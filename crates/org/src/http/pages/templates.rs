//! The page templates (`crates/org/templates/`) and how a page becomes a response.

use askama::Template;

pub(super) use latchkey_web::{render, status_for};

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct Login<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    /// Where to go after logging in (an OAuth authorization), or empty.
    pub start: &'a str,
}

/// Identity verification: the e-mailed code.
#[derive(Template)]
#[template(path = "verify.html")]
pub(super) struct Verify<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub minutes: i64,
    pub error: Option<&'a str>,
}

/// Change Your Password (forced when the password expired).
#[derive(Template)]
#[template(path = "change_password.html")]
pub(super) struct ChangePassword<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub username: &'a str,
    pub expired: bool,
    pub rules: &'a str,
    pub error: Option<&'a str>,
}

/// The signed-in home page.
#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct Home<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub name: &'a str,
    pub username: &'a str,
    pub org: &'a str,
    pub notice: Option<&'a str>,
}

/// A page that only says something (a refused form, a missing page).
#[derive(Template)]
#[template(path = "message.html")]
pub(super) struct Message<'a> {
    pub product: &'a str,
    pub title: &'a str,
    pub text: &'a str,
}

/// The OAuth consent page: an app asks for access.
#[derive(Template)]
#[template(path = "consent.html")]
pub(super) struct Consent<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub app: &'a str,
    pub scopes: Vec<&'a str>,
    pub username: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub oauth_state: &'a str,
    pub code_challenge: &'a str,
    pub code_challenge_method: &'a str,
}

/// One row of a login history table.
pub(super) struct HistoryRow {
    pub time: String,
    pub ip: String,
    pub login_type: String,
    pub status: String,
    pub application: String,
}

/// One live session in My Settings.
pub(super) struct SessionRow {
    pub started: String,
    pub used: String,
    /// "Browser" or the connected app's consumer key.
    pub kind: String,
    /// The session of this very browser (not revocable here: Log Out ends it).
    pub current: bool,
    /// Names the session in the revoke form (its digest, Base64).
    pub handle: String,
}

/// My Settings.
#[derive(Template)]
#[template(path = "settings.html")]
pub(super) struct Settings<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub token_page: bool,
    pub sessions: Vec<SessionRow>,
    pub apps: Vec<GrantRow>,
    pub history: Vec<HistoryRow>,
    pub notice: Option<&'a str>,
}

/// A connected app a user authorised (My Settings; Setup's OAuth usage).
pub(super) struct GrantRow {
    pub name: String,
    pub user: String,
    pub client_id: String,
    pub since: String,
    pub how: &'static str,
    pub refresh_tokens: i64,
}

impl From<latchkey_store::app_authorizations::AppAuthorization> for GrantRow {
    fn from(a: latchkey_store::app_authorizations::AppAuthorization) -> Self {
        Self {
            since: a.created_at.format("%Y-%m-%d %H:%M").to_string(),
            how: if a.by_admin {
                "Pre-authorised by an administrator"
            } else {
                "Allowed by the user"
            },
            refresh_tokens: a.refresh_tokens,
            name: a.app_name,
            user: a.username,
            client_id: a.client_id,
        }
    }
}

/// Reset My Security Token.
#[derive(Template)]
#[template(path = "reset_token.html")]
pub(super) struct ResetToken<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub email: &'a str,
    pub sent_to: Option<&'a str>,
}

/// One user in Setup → Users.
pub(super) struct UserRow {
    pub id: String,
    pub name: String,
    pub username: String,
    pub profile: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub last_login: String,
    /// (path segment, button label)
    pub actions: Vec<(&'static str, &'static str)>,
}

/// Setup → Users.
#[derive(Template)]
#[template(path = "setup_users.html")]
pub(super) struct SetupUsers<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub users: Vec<UserRow>,
    pub profiles: Vec<String>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// One row of Setup → Login History.
pub(super) struct OrgHistoryRow {
    pub time: String,
    pub username: String,
    pub ip: String,
    pub login_type: String,
    pub status: String,
    pub application: String,
    pub api: String,
}

/// Setup → Login History.
#[derive(Template)]
#[template(path = "setup_history.html")]
pub(super) struct SetupHistory<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub chart: super::chart::Chart,
    pub user: &'a str,
    pub outcome: &'a str,
    pub days: i64,
    pub rows: Vec<OrgHistoryRow>,
    pub limit: i64,
    pub csv_limit: i64,
    pub csv_url: &'a str,
}

/// One delivery in Setup → Webhooks.
pub(super) struct DeliveryRow {
    pub created: String,
    pub event_type: String,
    pub status: &'static str,
    pub attempts: i64,
    pub answer: String,
}

/// One endpoint in Setup → Webhooks.
pub(super) struct EndpointRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub deliveries: Vec<DeliveryRow>,
}

/// Setup → Webhooks.
#[derive(Template)]
#[template(path = "setup_webhooks.html")]
pub(super) struct SetupWebhooks<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub endpoints: Vec<EndpointRow>,
    pub event_types: Vec<&'static str>,
    /// (endpoint id, secret) to show once.
    pub secret: Option<(&'a str, &'a str)>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Forgot Your Password.
#[derive(Template)]
#[template(path = "forgot.html")]
pub(super) struct Forgot<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub sent_for: Option<&'a str>,
    pub minutes: i64,
}

/// Reset Your Password (from the e-mailed link).
#[derive(Template)]
#[template(path = "reset_password.html")]
pub(super) struct ResetPassword<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub token: &'a str,
    pub username: &'a str,
    pub rules: &'a str,
    pub error: Option<&'a str>,
}

/// One choice of the Password Policies form: (value, label) options and the current one.
pub(super) struct PolicyField {
    pub name: &'static str,
    pub label: &'static str,
    pub options: Vec<(String, String)>,
    pub current: String,
}

/// Setup → Password Policies.
#[derive(Template)]
#[template(path = "setup_policies.html")]
pub(super) struct SetupPolicies<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub fields: Vec<PolicyField>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Setup → OAuth and OpenID Connect Settings: the password login flows.
#[derive(Template)]
#[template(path = "setup_login_flows.html")]
pub(super) struct SetupLoginFlows<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub soap_login: bool,
    pub oauth_username_password: bool,
    pub notice: Option<&'a str>,
}

/// Setup → Network Access.
#[derive(Template)]
#[template(path = "setup_network.html")]
pub(super) struct SetupNetwork<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub ranges: Vec<String>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// One profile in Setup → Profiles.
pub(super) struct ProfileRow {
    pub id: String,
    pub name: String,
    pub admin: bool,
    pub api: bool,
    /// Its login IP ranges, one per line.
    pub ranges: String,
}

/// Setup → Profiles.
#[derive(Template)]
#[template(path = "setup_profiles.html")]
pub(super) struct SetupProfiles<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub profiles: Vec<ProfileRow>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// One app in Setup → Connected Apps.
pub(super) struct AppRow {
    pub name: String,
    pub client_id: String,
    pub run_as: String,
    pub callback: String,
}

/// Setup → Connected Apps → OAuth Policies.
#[derive(Template)]
#[template(path = "setup_app_policies.html")]
pub(super) struct AppPolicies<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub app: &'a str,
    pub client_id: &'a str,
    pub admin_approved_only: bool,
    /// `revoked`, `after` or `immediately`.
    pub refresh_policy: &'a str,
    pub refresh_minutes: &'a str,
    pub rotate: bool,
    pub survives: bool,
    pub relax_ip: bool,
    pub scopes: &'a str,
    /// A JWT certificate is registered.
    pub has_certificate: bool,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Setup → Connected Apps.
#[derive(Template)]
#[template(path = "setup_apps.html")]
pub(super) struct SetupApps<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub section: &'a str,
    pub apps: Vec<AppRow>,
    /// Who authorised which app (OAuth usage).
    pub usage: Vec<GrantRow>,
    /// (app name, client id, secret) to show once.
    pub secret: Option<(&'a str, &'a str, &'a str)>,
    pub error: Option<&'a str>,
}

/// Setup → Users → Edit.
#[derive(Template)]
#[template(path = "setup_user_edit.html")]
pub(super) struct SetupUserEdit<'a> {
    pub product: &'a str,
    pub csrf: &'a str,
    pub admin: bool,
    pub id: &'a str,
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub profile: &'a str,
    pub profiles: Vec<String>,
    pub error: Option<&'a str>,
}
