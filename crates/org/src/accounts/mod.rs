//! Account administration: orgs, users, passwords, security tokens, locks, policy and
//! network access. Every change that sends mail enqueues it in the same transaction.

pub mod admin;
pub mod housekeeping;
pub mod password_reset;
pub mod provisioning;
pub mod reminders;

use latchkey_core::ids::OrgId;
use latchkey_core::network::IpRange;
use latchkey_core::policy::{LoginFlows, PasswordPolicy, PasswordRejection};
use latchkey_core::secret::{generate_security_token, random_alphanumeric, SecretDigest};
use latchkey_core::webhooks::EventType::{PasswordChanged, SecurityTokenReset, UserFrozen, UserUnfrozen, UserUnlocked};
use latchkey_store::orgs::{self, Org, Profile};
use latchkey_store::password_resets;
use latchkey_store::refresh_tokens::{self, Revocation};
use latchkey_store::sessions;
use latchkey_store::users::{self, NewUser, PasswordChange, User, UserSettings};
use latchkey_store::{commit, Conn};
use secrecy::{ExposeSecret, SecretString};

use crate::accounts::admin::Admin;
use crate::mail::enqueue;
use crate::mail::templates;
use crate::{AccountError, Services};

/// A user to create.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// The org (`None`: the only org of the deployment).
    pub org: Option<String>,
    /// Login name, e-mail shaped.
    pub username: String,
    /// Where mail goes.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name (defaults to the part of the username before `@`).
    pub last_name: Option<String>,
    /// Profile name (default "Standard User").
    pub profile: Option<String>,
    /// Initial password, if any; checked against the policy.
    pub password: Option<SecretString>,
    /// Alias and locale settings (unset: the defaults).
    pub settings: UserSettings,
}

/// New details of a user.
#[derive(Debug, Clone)]
pub struct EditUser {
    /// Where mail goes.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: String,
    /// Profile name.
    pub profile: String,
}

/// Why a token was (re)issued, as the e-mail says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenReason {
    /// The user is new.
    NewUser,
    /// The password changed.
    PasswordChanged,
    /// An administrator reset the password.
    PasswordReset,
    /// The user or an administrator asked for a new token.
    Requested,
}

impl TokenReason {
    fn sentence(self) -> &'static str {
        match self {
            Self::NewUser => "Your user account has been created.",
            Self::PasswordChanged => "Your password was changed, so your security token was reset.",
            Self::PasswordReset => "Your password was reset, so your security token was reset.",
            Self::Requested => "A new security token was requested for your account.",
        }
    }
}

fn valid_username(s: &str) -> bool {
    let s = s.trim();
    latchkey_core::records::value::plausible_email(s) && s.len() <= 80 && !s.chars().any(char::is_control)
}

impl Services {
    /// The org named by id or name, or the only org when `None`.
    pub async fn resolve_org(&self, org: Option<&str>) -> Result<Org, AccountError> {
        let mut conn = self.store.conn().await?;
        if let Some(id) = org.and_then(|k| k.parse::<OrgId>().ok()) {
            if let Some(found) = orgs::find(&mut conn, &id).await? {
                return Ok(found);
            }
        }
        let all = orgs::list(&mut conn).await?;
        match org {
            Some(key) => all
                .into_iter()
                .find(|o| o.id.as_str() == key || o.id.short() == key || o.name.eq_ignore_ascii_case(key))
                .ok_or_else(|| AccountError::NotFound(format!("org {key:?}"))),
            None => match all.len() {
                1 => all
                    .into_iter()
                    .next()
                    .ok_or_else(|| AccountError::NotFound("org".into())),
                0 => Err(AccountError::NotFound(
                    "org (create one with `latchkey org create NAME`)".into(),
                )),
                n => Err(AccountError::OrgAmbiguous(n)),
            },
        }
    }

    /// The user with `username`.
    pub async fn user(&self, username: &str) -> Result<User, AccountError> {
        let mut conn = self.store.conn().await?;
        users::find_by_username(&mut conn, username)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("user {:?}", username.trim())))
    }

    /// The user `id` and their org.
    pub async fn user_and_org(&self, id: &latchkey_core::ids::UserId) -> Result<(User, Org), AccountError> {
        let mut conn = self.store.conn().await?;
        let user = users::get(&mut conn, id).await?;
        let org = orgs::get(&mut conn, &user.org_id).await?;
        Ok((user, org))
    }

    /// A profile by id.
    pub async fn profile_of(&self, user: &User) -> Result<Profile, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(orgs::profile(&mut conn, &user.profile_id).await?)
    }

    /// Generates a token, stores its digest, and enqueues the e-mail; inside `conn`'s
    /// transaction.
    async fn issue_token(&self, conn: &mut Conn, user: &User, reason: TokenReason) -> Result<(), AccountError> {
        let token = generate_security_token();
        users::set_token(conn, &user.id, &SecretDigest::of(token.expose_secret())).await?;
        let mail = templates::security_token(
            &self.mail,
            &user.email,
            &user.username,
            token.expose_secret(),
            reason.sentence(),
        );
        enqueue(conn, &mail, self.clock.now()).await
    }

    /// Checks a new password against the policy and the remembered passwords.
    pub(crate) async fn check_new_password(
        &self,
        user: &User,
        policy: &PasswordPolicy,
        password: &SecretString,
    ) -> Result<(), AccountError> {
        policy.check_new_password(password.expose_secret(), &user.username)?;
        let remembered = {
            let mut conn = self.store.conn().await?;
            users::recent_password_hashes(&mut conn, &user.id, policy.history).await?
        };
        for old in &remembered {
            if self.hasher.verify(password.expose_secret(), old).await?.matched() {
                return Err(PasswordRejection::Reused.into());
            }
        }
        Ok(())
    }

    pub(crate) async fn org_of(&self, user: &User) -> Result<Org, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(orgs::get(&mut conn, &user.org_id).await?)
    }

    /// Sets a new password of `user`, who proved who they are (a signed-in session, a
    /// reset link; an administrator goes through [`Admin::set_password`]), enforcing
    /// the policy; the security token is reset and mailed; sessions end, and so do the
    /// refresh tokens of apps whose policy says they do not survive a password change.
    pub async fn change_password(&self, user: &User, password: &SecretString) -> Result<User, AccountError> {
        let user = user.clone();
        let org = self.org_of(&user).await?;
        self.check_new_password(&user, &org.policy, password).await?;
        let hash = self.hasher.hash(password).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let change = PasswordChange {
            hash: &hash,
            set_at: now,
            expires_at: org.policy.expiry.expires_at(now),
            history: org.policy.history,
        };
        users::set_password(&mut tx, &user.id, &change).await?;
        sessions::delete_for_user(&mut tx, &user.id).await?;
        refresh_tokens::delete_for_user(&mut tx, &user.id, Revocation::PasswordChanged).await?;
        password_resets::void_for_user(&mut tx, &user.id, now).await?;
        self.issue_token(&mut tx, &user, TokenReason::PasswordChanged).await?;
        self.announce(&mut tx, &user, &[PasswordChanged, SecurityTokenReset], now)
            .await?;
        commit(tx).await?;
        self.webhooks.ring();
        self.decisions_changed();
        self.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, "password changed; security token reset");
        self.user(&user.username).await
    }

    /// Issues and mails a new security token of `user` (who asked for it in My
    /// Settings; an administrator goes through [`Admin::reset_token`]); the old one
    /// stops working.
    pub async fn reset_token_of(&self, user: &User) -> Result<User, AccountError> {
        let mut tx = self.store.begin().await?;
        self.issue_token(&mut tx, user, TokenReason::Requested).await?;
        self.announce(&mut tx, user, &[SecurityTokenReset], self.clock.now())
            .await?;
        commit(tx).await?;
        self.webhooks.ring();
        self.decisions_changed();
        tracing::info!(user_id = %user.id, "security token reset");
        self.user(&user.username).await
    }

    /// Lifts a lock of `user`; `true` when there is one to lift.
    pub(crate) async fn lift_lock(&self, user: &User) -> Result<bool, AccountError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let was = users::unlock(&mut tx, &user.id, now).await?;
        if was {
            self.announce(&mut tx, user, &[UserUnlocked], now).await?;
        }
        commit(tx).await?;
        self.webhooks.ring();
        self.decisions_changed();
        tracing::info!(user_id = %user.id, was_locked = was, "user unlocked");
        Ok(was)
    }

    /// The org's trusted IP ranges.
    pub async fn trusted_ranges(&self, org: &OrgId) -> Result<Vec<IpRange>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(orgs::trusted_ranges(&mut conn, org).await?)
    }

    /// A profile's login IP ranges.
    pub async fn login_ranges(&self, profile: &Profile) -> Result<Vec<IpRange>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(orgs::login_ranges(&mut conn, &profile.id).await?)
    }

    /// The org's profiles.
    pub async fn profiles(&self, org: &OrgId) -> Result<Vec<Profile>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(orgs::profiles(&mut conn, org).await?)
    }
}

/// A random temporary password that meets any complexity level of `policy`.
fn temporary_password(policy: &PasswordPolicy, username: &str) -> SecretString {
    loop {
        let body = random_alphanumeric(usize::from(policy.min_length).max(12));
        let candidate = SecretString::from(format!("{}aZ7!", body.expose_secret()));
        if policy.check_new_password(candidate.expose_secret(), username).is_ok() {
            return candidate;
        }
    }
}

impl Admin {
    /// Administrator action: ends every session and OAuth refresh token of
    /// `username`; returns how many sessions ended.
    pub async fn revoke_sessions(&self, username: &str) -> Result<u64, AccountError> {
        let user = self.member(username).await?;
        let mut tx = self.services.store.begin().await?;
        let n = sessions::delete_for_user(&mut tx, &user.id).await?;
        let tokens = refresh_tokens::delete_for_user(&mut tx, &user.id, Revocation::All).await?;
        latchkey_store::epoch::advance(&mut tx).await?;
        latchkey_store::commit(tx).await?;
        self.services.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, sessions = n, refresh_tokens = tokens, "sessions revoked");
        Ok(n)
    }

    /// Every org of the server, by name (the console's view).
    pub async fn orgs(&self) -> Result<Vec<Org>, AccountError> {
        let mut conn = self.services.store.conn().await?;
        let all = orgs::list(&mut conn).await?;
        Ok(all.into_iter().filter(|o| self.holds(&o.id)).collect())
    }

    /// Sets a new password of the user `username` (see [`Services::change_password`]).
    pub async fn set_password(&self, username: &str, password: &SecretString) -> Result<User, AccountError> {
        let user = self.member(username).await?;
        self.services.change_password(&user, password).await
    }

    /// Issues and mails a new security token of `username`.
    pub async fn reset_token(&self, username: &str) -> Result<User, AccountError> {
        let user = self.member(username).await?;
        self.services.reset_token_of(&user).await
    }

    /// Lifts a lock of `username`; `true` when there is one to lift.
    pub async fn unlock(&self, username: &str) -> Result<bool, AccountError> {
        let user = self.member(username).await?;
        self.services.lift_lock(&user).await
    }

    /// Creates an org with the default policy and standard profiles.
    pub async fn create_org(&self, name: &str) -> Result<Org, AccountError> {
        self.console_only()?;
        let name = name.trim();
        if name.is_empty() || name.len() > 80 {
            return Err(AccountError::Invalid("org name must be 1 to 80 characters".into()));
        }
        let mut tx = self.services.store.begin().await?;
        let org = orgs::create(&mut tx, name, self.services.clock.now()).await?;
        commit(tx).await?;
        self.services.decisions_changed();
        Ok(org)
    }

    /// The users of an org.
    pub async fn users(&self, org: &OrgId) -> Result<Vec<User>, AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        Ok(users::list(&mut conn, org).await?)
    }

    /// Creates a user, issues and mails a security token, and sets the initial
    /// password when one is given.
    pub async fn create_user(&self, req: CreateUser) -> Result<User, AccountError> {
        let username = req.username.trim().to_lowercase();
        if !valid_username(&username) {
            return Err(AccountError::Invalid(format!(
                "username {username:?} must look like an e-mail address (name@example.com)"
            )));
        }
        let email = req.email.trim();
        if !valid_username(email) {
            return Err(AccountError::Invalid(format!("e-mail address {email:?} is not valid")));
        }
        let org = self.resolve_org(req.org.as_deref()).await?;
        let profile_name = req.profile.as_deref().unwrap_or("Standard User");
        let now = self.services.clock.now();
        let password_hash = match &req.password {
            Some(p) => {
                org.policy.check_new_password(p.expose_secret(), &username)?;
                Some(self.services.hasher.hash(p).await?)
            }
            None => None,
        };
        let default_last = username.split('@').next().unwrap_or_default().to_owned();
        let mut tx = self.services.store.begin().await?;
        let profile = orgs::profile_by_name(&mut tx, &org.id, profile_name)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("profile {profile_name:?}")))?;
        let user = users::insert(
            &mut tx,
            &NewUser {
                org_id: &org.id,
                profile_id: &profile.id,
                username: &username,
                email,
                first_name: req.first_name.as_deref(),
                last_name: req.last_name.as_deref().unwrap_or(&default_last),
            },
            now,
        )
        .await?;
        if let Some(hash) = &password_hash {
            let change = PasswordChange {
                hash,
                set_at: now,
                expires_at: org.policy.expiry.expires_at(now),
                history: org.policy.history,
            };
            users::set_password(&mut tx, &user.id, &change).await?;
        }
        if req.settings != UserSettings::default() {
            users::set_settings(&mut tx, &user.id, &req.settings, now).await?;
        }
        self.services.issue_token(&mut tx, &user, TokenReason::NewUser).await?;
        let user = users::get(&mut tx, &user.id).await?;
        commit(tx).await?;
        self.services.decisions_changed();
        tracing::info!(user_id = %user.id, org_id = %org.id, "user created");
        Ok(user)
    }

    /// Changes a user's e-mail address, names and profile (login IP ranges and API
    /// access follow the new profile at once).
    pub async fn edit_user(&self, username: &str, edit: &EditUser) -> Result<User, AccountError> {
        let user = self.member(username).await?;
        let email = edit.email.trim();
        if !valid_username(email) {
            return Err(AccountError::Invalid(format!("e-mail address {email:?} is not valid")));
        }
        let last_name = edit.last_name.trim();
        if last_name.is_empty() {
            return Err(AccountError::Invalid("a last name is required".into()));
        }
        let mut tx = self.services.store.begin().await?;
        let profile = orgs::profile_by_name(&mut tx, &user.org_id, edit.profile.trim())
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("profile {:?}", edit.profile.trim())))?;
        let first_name = edit.first_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        users::update_details(
            &mut tx,
            &user.id,
            email,
            first_name,
            last_name,
            &profile.id,
            self.services.clock.now(),
        )
        .await?;
        commit(tx).await?;
        self.services.decisions_changed();
        self.services.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, profile = %profile.name, "user details changed");
        self.member(username).await
    }

    /// Administrator reset: a temporary password (expired at once, so it must be
    /// changed at next login) and a new token are mailed; a lock is lifted.
    pub async fn reset_password(&self, username: &str) -> Result<User, AccountError> {
        Ok(self.reset_to_temporary(username).await?.0)
    }

    /// [`Admin::reset_password`], also answering the temporary password (for the
    /// callers Salesforce answers it to: the REST reset of `sobjects/User/{id}/password`).
    pub async fn reset_to_temporary(&self, username: &str) -> Result<(User, SecretString), AccountError> {
        let user = self.member(username).await?;
        if user.frozen {
            return Err(AccountError::Invalid(format!(
                "user {:?} is frozen: unfreeze before resetting the password",
                user.username
            )));
        }
        let org = self.services.org_of(&user).await?;
        let temporary = temporary_password(&org.policy, &user.username);
        let hash = self.services.hasher.hash(&temporary).await?;
        let now = self.services.clock.now();
        let mut tx = self.services.store.begin().await?;
        let change = PasswordChange {
            hash: &hash,
            set_at: now,
            expires_at: Some(now),
            history: org.policy.history,
        };
        users::set_password(&mut tx, &user.id, &change).await?;
        sessions::delete_for_user(&mut tx, &user.id).await?;
        refresh_tokens::delete_for_user(&mut tx, &user.id, Revocation::PasswordChanged).await?;
        password_resets::void_for_user(&mut tx, &user.id, now).await?;
        let mail = templates::temporary_password(
            &self.services.mail,
            &user.email,
            &user.username,
            temporary.expose_secret(),
        );
        enqueue(&mut tx, &mail, now).await?;
        self.services
            .issue_token(&mut tx, &user, TokenReason::PasswordReset)
            .await?;
        self.services
            .announce(&mut tx, &user, &[PasswordChanged, SecurityTokenReset], now)
            .await?;
        commit(tx).await?;
        self.services.webhooks.ring();
        self.services.decisions_changed();
        self.services.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, "password reset by administrator");
        Ok((self.member(username).await?, temporary))
    }

    /// Freezes or unfreezes; `true` when that changed anything.
    pub async fn set_frozen(&self, username: &str, frozen: bool) -> Result<bool, AccountError> {
        let user = self.member(username).await?;
        let mut tx = self.services.store.begin().await?;
        let changed = users::set_frozen(&mut tx, &user.id, frozen, self.services.clock.now()).await?;
        if frozen {
            sessions::delete_for_user(&mut tx, &user.id).await?;
            refresh_tokens::delete_for_user(&mut tx, &user.id, Revocation::All).await?;
        }
        if changed {
            let event = if frozen { UserFrozen } else { UserUnfrozen };
            self.services
                .announce(&mut tx, &user, &[event], self.services.clock.now())
                .await?;
        }
        commit(tx).await?;
        self.services.webhooks.ring();
        self.services.decisions_changed();
        self.services.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, frozen, changed, "user freeze state set");
        Ok(changed)
    }

    /// Deactivates or reactivates a user; `true` when that changed anything.
    /// Deactivation ends every session and every OAuth refresh token of the user
    /// (reactivation does not bring them back).
    pub async fn set_active(&self, username: &str, active: bool) -> Result<bool, AccountError> {
        let user = self.member(username).await?;
        let mut tx = self.services.store.begin().await?;
        let changed = users::set_active(&mut tx, &user.id, active, self.services.clock.now()).await?;
        if !active {
            sessions::delete_for_user(&mut tx, &user.id).await?;
            refresh_tokens::delete_for_user(&mut tx, &user.id, Revocation::All).await?;
        }
        commit(tx).await?;
        self.services.decisions_changed();
        self.services.forget_tokens(&user.id);
        tracing::info!(user_id = %user.id, active, changed, "user active state set");
        Ok(changed)
    }

    /// Saves a password policy after checking it.
    pub async fn set_policy(&self, org: &OrgId, policy: &PasswordPolicy) -> Result<(), AccountError> {
        self.check(org)?;
        policy.validate()?;
        let mut tx = self.services.store.begin().await?;
        orgs::set_policy(&mut tx, org, policy).await?;
        commit(tx).await?;
        self.services.decisions_changed();
        Ok(())
    }

    /// Opens or closes the org's password login flows (SOAP `login()`, the OAuth
    /// username-password flow); logins read the change at once.
    pub async fn set_login_flows(&self, org: &OrgId, flows: LoginFlows) -> Result<(), AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        orgs::set_login_flows(&mut conn, org, flows).await?;
        self.services.decisions_changed();
        Ok(())
    }

    /// Adds a trusted IP range.
    pub async fn add_trusted_range(&self, org: &OrgId, range: &IpRange) -> Result<(), AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        orgs::add_trusted_range(&mut conn, org, range).await?;
        self.services.decisions_changed();
        Ok(())
    }

    /// Removes a trusted IP range.
    pub async fn remove_trusted_range(&self, org: &OrgId, range: &IpRange) -> Result<(), AccountError> {
        self.check(org)?;
        let mut conn = self.services.store.conn().await?;
        if orgs::remove_trusted_range(&mut conn, org, range).await? {
            self.services.decisions_changed();
            Ok(())
        } else {
            Err(AccountError::NotFound(format!("trusted range {range}")))
        }
    }

    /// Replaces a profile's login IP ranges (empty clears them).
    pub async fn set_login_ranges(
        &self,
        org: &OrgId,
        profile: &str,
        ranges: &[IpRange],
    ) -> Result<Profile, AccountError> {
        self.check(org)?;
        let mut tx = self.services.store.begin().await?;
        let p = orgs::profile_by_name(&mut tx, org, profile)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("profile {profile:?}")))?;
        orgs::set_login_ranges(&mut tx, &p.id, ranges).await?;
        commit(tx).await?;
        self.services.decisions_changed();
        Ok(p)
    }
}
