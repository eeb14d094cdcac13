//! The standard fields of the objects backed by the org's identity tables: User,
//! Organization, Profile, LoginHistory and UserLogin. Each column is a column of the
//! object's view (migration `0029_identity_objects`).

use super::{Field, FieldType as T};

fn picklist(name: &str, label: &str, column: &str) -> Field {
    Field::standard(name, label, T::Picklist, 255, column)
}

fn flag(name: &str, label: &str, column: &str) -> Field {
    Field::standard(name, label, T::Boolean, 0, column)
}

/// User: login name, names, e-mail, profile, locale settings and last login.
pub(super) fn user_fields(fields: &mut Vec<Field>) {
    fields.push(Field::standard("Username", "Username", T::String, 80, "username").required());
    fields.push(Field::standard("LastName", "Last Name", T::String, 80, "last_name").required());
    fields.push(Field::standard("FirstName", "First Name", T::String, 40, "first_name"));
    fields.push(Field::standard("Name", "Full Name", T::String, 121, "name").system());
    fields.push(Field::standard("Email", "Email", T::Email, 128, "email").required());
    fields.push(Field::standard("Alias", "Alias", T::String, 8, "alias").required());
    fields.push(flag("IsActive", "Active", "is_active"));
    let mut profile = Field::standard("ProfileId", "Profile ID", T::Reference("Profile"), 18, "profile_id").required();
    profile.relationship = Some("Profile");
    fields.push(profile);
    fields.push(picklist("UserType", "User Type", "user_type").system());
    fields.push(picklist("TimeZoneSidKey", "Time Zone", "time_zone_sid_key").required());
    fields.push(picklist("LocaleSidKey", "Locale", "locale_sid_key").required());
    fields.push(picklist("LanguageLocaleKey", "Language", "language_locale_key").required());
    fields.push(picklist("EmailEncodingKey", "Email Encoding", "email_encoding_key").required());
    fields.push(Field::standard("LastLoginDate", "Last Login", T::DateTime, 0, "last_login_at").system());
}

/// Organization: the org's name, edition and instance, and whether it is a sandbox.
pub(super) fn organization_fields(fields: &mut Vec<Field>) {
    fields.push(Field::standard("Name", "Name", T::String, 80, "name").system());
    fields.push(Field::standard("Country", "Country", T::String, 80, "country").system());
    fields.push(picklist("OrganizationType", "Edition", "organization_type").system());
    fields.push(Field::standard("InstanceName", "Instance Name", T::String, 5, "instance_name").system());
    fields.push(flag("IsSandbox", "Is Sandbox", "is_sandbox").system());
    fields.push(flag("IsReadOnly", "Is Read Only", "is_read_only").system());
    fields.push(Field::standard("NamespacePrefix", "Namespace Prefix", T::String, 15, "namespace_prefix").system());
    fields.push(
        Field::standard(
            "TrialExpirationDate",
            "Trial Expiration Date",
            T::DateTime,
            0,
            "trial_expiration_date",
        )
        .system(),
    );
    fields.push(picklist("LanguageLocaleKey", "Language", "language_locale_key").system());
    fields.push(picklist("DefaultLocaleSidKey", "Locale", "default_locale_sid_key").system());
    fields.push(picklist("TimeZoneSidKey", "Time Zone", "time_zone_sid_key").system());
}

/// Profile: its name and the permissions Latchkey enforces.
pub(super) fn profile_fields(fields: &mut Vec<Field>) {
    fields.push(Field::standard("Name", "Name", T::String, 255, "name").required());
    fields.push(picklist("UserType", "User Type", "user_type").system());
    fields.push(Field::standard(
        "Description",
        "Description",
        T::String,
        255,
        "description",
    ));
    fields.push(flag("PermissionsApiEnabled", "API Enabled", "permissions_api_enabled"));
    fields.push(flag(
        "PermissionsApiUserOnly",
        "Api Only User",
        "permissions_api_user_only",
    ));
    fields.push(flag(
        "PermissionsModifyAllData",
        "Modify All Data",
        "permissions_modify_all_data",
    ));
    fields.push(flag(
        "PermissionsViewAllData",
        "View All Data",
        "permissions_view_all_data",
    ));
}

/// LoginHistory: one row per login attempt, as Setup → Login History lists it.
pub(super) fn login_history_fields(fields: &mut Vec<Field>) {
    fields.push(Field::standard("UserId", "User ID", T::Reference("User"), 18, "user_id").system());
    fields.push(Field::standard("LoginTime", "Login Time", T::DateTime, 0, "login_time").system());
    fields.push(picklist("LoginType", "Login Type", "login_type").system());
    fields.push(Field::standard("SourceIp", "Source IP", T::String, 39, "source_ip").system());
    fields.push(Field::standard("Status", "Status", T::String, 128, "status").system());
    fields.push(Field::standard("Application", "Application", T::String, 255, "application").system());
    fields.push(Field::standard("ApiType", "API Type", T::String, 32, "api_type").system());
    fields.push(Field::standard("ApiVersion", "API Version", T::String, 32, "api_version").system());
    fields.push(Field::standard("Browser", "Browser", T::String, 64, "browser").system());
    fields.push(Field::standard("Platform", "Platform", T::String, 64, "platform").system());
    fields.push(Field::standard("LoginUrl", "Login URL", T::String, 120, "login_url").system());
    fields.push(Field::standard("HttpMethod", "HTTP Method", T::String, 10, "http_method").system());
}

/// UserLogin: whether a user is frozen or locked out by failed logins.
pub(super) fn user_login_fields(fields: &mut Vec<Field>) {
    fields.push(Field::standard("UserId", "User ID", T::Reference("User"), 18, "user_id").system());
    fields.push(flag("IsFrozen", "Is Frozen", "is_frozen"));
    fields.push(flag("IsPasswordLocked", "Is Password Locked", "is_password_locked"));
}
