//! The User object's writes: insert and update of `sobjects/User`, and the password
//! resource `sobjects/User/{id}/password`. Fields are decoded and checked as every
//! record write's are; the change itself goes through the account services as an
//! administrator of the caller's org, so mail, tokens, sessions and history follow.

use latchkey_core::ids::{ProfileId, UserId};
use latchkey_core::records::value::decode_fields;
use latchkey_core::records::{Field, ObjectKind, RecordError, Value};
use latchkey_store::orgs::Profile;
use latchkey_store::users::UserSettings;
use secrecy::SecretString;
use serde_json::{Map, Value as Json};

use super::service::check_required;
use super::{Caller, RestError};
use crate::accounts::admin::Admin;
use crate::accounts::provisioning::UserChange;
use crate::accounts::CreateUser;
use crate::{AccountError, Services};

/// A User body's values by field name.
struct UserFields(Vec<(Field, Value)>);

impl UserFields {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(f, _)| f.name == name).map(|(_, v)| v)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::Text(t)) => Some(t.clone()),
            _ => None,
        }
    }

    fn flag(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    fn settings(&self) -> UserSettings {
        UserSettings {
            alias: self.text("Alias"),
            time_zone: self.text("TimeZoneSidKey"),
            locale: self.text("LocaleSidKey"),
            language: self.text("LanguageLocaleKey"),
            email_encoding: self.text("EmailEncodingKey"),
        }
    }
}

/// An account-service refusal in the REST shape.
fn refused(e: AccountError) -> RestError {
    let user_refused = |code, message: String, field: &str| RestError::UserRefused {
        code,
        message,
        fields: vec![field.to_owned()],
    };
    match e {
        AccountError::Duplicate(_) => user_refused(
            "DUPLICATE_USERNAME",
            "Duplicate Username.<br>The username already exists in this or another Salesforce organization. \
             Usernames must be unique across all Salesforce organizations. To resolve, use a different \
             username (it doesn't need to match the user's email address)."
                .into(),
            "Username",
        ),
        AccountError::Password(why) => user_refused("INVALID_NEW_PASSWORD", why.to_string(), "NewPassword"),
        AccountError::Invalid(why) => RestError::UserRefused {
            code: "FIELD_INTEGRITY_EXCEPTION",
            message: why,
            fields: Vec::new(),
        },
        AccountError::NotFound(_) => RecordError::NotFound.into(),
        other => RestError::Internal(other),
    }
}

fn user_id(raw: &str) -> Result<UserId, RestError> {
    super::record_id(ObjectKind::User, raw)?
        .parse()
        .map_err(|_| RecordError::NotFound.into())
}

impl Services {
    /// The administrator a full API session of an administrator's profile is.
    fn api_admin(&self, caller: &Caller) -> Option<Admin> {
        (caller.admin && !caller.restricted).then(|| self.org_admin(&caller.org_id))
    }

    /// The administrator the caller is, or the refusal of a User write.
    fn user_admin(&self, caller: &Caller) -> Result<Admin, RestError> {
        self.api_admin(caller).ok_or_else(|| RestError::UserRefused {
            code: "INSUFFICIENT_ACCESS_OR_READONLY",
            message: "insufficient access rights on object id".into(),
            fields: Vec::new(),
        })
    }

    async fn user_fields(
        &self,
        caller: &Caller,
        body: &Map<String, Json>,
        creating: bool,
    ) -> Result<UserFields, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let def = schema.object(ObjectKind::User);
        let values = decode_fields(def, body)?;
        check_required(&def.fields, &values, creating)?;
        Ok(UserFields(values))
    }

    /// The profile a body names, of the caller's org.
    async fn named_profile(admin: &Admin, fields: &UserFields) -> Result<Option<Profile>, RestError> {
        let Some(raw) = fields.text("ProfileId") else {
            return Ok(None);
        };
        let bad = || RestError::from(RecordError::BadReference("ProfileId".into()));
        let id: ProfileId = latchkey_core::ids::canonical(&raw)
            .ok()
            .and_then(|c| c.parse().ok())
            .ok_or_else(bad)?;
        Ok(Some(admin.profile_by_id(&id).await.map_err(|_| bad())?))
    }

    /// Creates a user from a User body (the account services issue and mail its
    /// security token); returns its id.
    pub async fn create_user_record(&self, caller: &Caller, body: &Map<String, Json>) -> Result<String, RestError> {
        let admin = self.user_admin(caller)?;
        let fields = self.user_fields(caller, body, true).await?;
        let profile = Self::named_profile(&admin, &fields).await?.map(|p| p.name);
        let request = CreateUser {
            org: Some(caller.org_id.as_str().to_owned()),
            username: fields.text("Username").unwrap_or_default(),
            email: fields.text("Email").unwrap_or_default(),
            first_name: fields.text("FirstName"),
            last_name: fields.text("LastName"),
            profile,
            password: None,
            settings: fields.settings(),
        };
        let user = admin.create_user(request).await.map_err(refused)?;
        if fields.flag("IsActive") == Some(false) {
            let inactive = UserChange {
                active: Some(false),
                ..UserChange::default()
            };
            admin.change_user(&user.id, &inactive).await.map_err(refused)?;
        }
        Ok(user.id.as_str().to_owned())
    }

    /// Changes a user from a User body: the fields given, in one transaction.
    pub async fn update_user_record(
        &self,
        caller: &Caller,
        raw_id: &str,
        body: &Map<String, Json>,
    ) -> Result<(), RestError> {
        let admin = self.user_admin(caller)?;
        let id = user_id(raw_id)?;
        let fields = self.user_fields(caller, body, false).await?;
        let user = admin.user_by_id(&id).await.map_err(refused)?;
        if let Some(username) = fields.text("Username") {
            if !username.trim().eq_ignore_ascii_case(&user.username) {
                return Err(RestError::UserRefused {
                    code: "FIELD_INTEGRITY_EXCEPTION",
                    message: "Latchkey does not rename users: create a new user instead".into(),
                    fields: vec!["Username".into()],
                });
            }
        }
        let change = UserChange {
            email: fields.text("Email"),
            first_name: fields.get("FirstName").map(|_| fields.text("FirstName")),
            last_name: fields.text("LastName"),
            profile: Self::named_profile(&admin, &fields).await?.map(|p| p.id),
            active: fields.flag("IsActive"),
            settings: fields.settings(),
        };
        admin.change_user(&id, &change).await.map_err(refused)?;
        Ok(())
    }

    /// The administrator the caller is, for the password resource (403 otherwise).
    fn password_admin(&self, caller: &Caller) -> Result<Admin, RestError> {
        self.api_admin(caller).ok_or(RestError::InsufficientAccess)
    }

    /// Whether the password of user `raw_id` has expired.
    pub async fn user_password_expired(&self, caller: &Caller, raw_id: &str) -> Result<bool, RestError> {
        let admin = self.password_admin(caller)?;
        let user = admin.user_by_id(&user_id(raw_id)?).await.map_err(refused)?;
        Ok(user.password_expires_at.is_some_and(|at| at <= self.clock.now()))
    }

    /// Sets the password of user `raw_id` (the policy applies; the token is reset).
    pub async fn set_user_password(
        &self,
        caller: &Caller,
        raw_id: &str,
        password: &SecretString,
    ) -> Result<(), RestError> {
        let admin = self.password_admin(caller)?;
        let user = admin.user_by_id(&user_id(raw_id)?).await.map_err(refused)?;
        admin.set_password(&user.username, password).await.map_err(refused)?;
        Ok(())
    }

    /// Resets the password of user `raw_id` to a temporary one, which must be changed
    /// at the next login; answers it.
    pub async fn reset_user_password(&self, caller: &Caller, raw_id: &str) -> Result<SecretString, RestError> {
        let admin = self.password_admin(caller)?;
        let user = admin.user_by_id(&user_id(raw_id)?).await.map_err(refused)?;
        Ok(admin.reset_to_temporary(&user.username).await.map_err(refused)?.1)
    }
}
