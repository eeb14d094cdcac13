//! The login flow: gathers the inputs of the core's decision, hashes only when the
//! decision asks for it, persists the outcome (failure count, lock, history, mail)
//! and reports what happened. Every attempt writes one login-history row.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use latchkey_core::ids::UserId;
use latchkey_core::login::{self, Attempt, Conclusion, FailureEffect, LockoutRule, SecretCheck, Step, UserState};
use latchkey_core::password::Verification;
use latchkey_core::policy::{LockCounter, LockUntil};
use latchkey_core::secret::split_token;
use latchkey_core::status::{Channel, LoginStatus};
use latchkey_core::webhooks::EventType;
use latchkey_store::apps::ConnectedApp;
use latchkey_store::login_history::{self, NewLogin};
use latchkey_store::orgs::{LoginContext, Org};
use latchkey_store::users::{self, User};
use latchkey_store::{commit, Tx, Write};
use secrecy::{ExposeSecret, SecretString};

use crate::hashing::Attempted;
use crate::mail::templates;
use crate::sessions::{Issued, SessionFor};
use crate::{AccountError, Services};

/// How stale a user's last-login stamp may get before a successful login writes it.
const LAST_LOGIN_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);

/// One login attempt.
#[derive(Debug, Clone)]
pub struct LoginRequest<'a> {
    /// Username as typed.
    pub username: &'a str,
    /// Password, or password + security token.
    pub secret: &'a SecretString,
    /// Source address.
    pub ip: IpAddr,
    /// Surface.
    pub channel: Channel,
    /// UI only: the browser was verified before.
    pub device_verified: bool,
    /// Client or connected-app name for login history.
    pub application: &'a str,
    /// API type for login history ("SOAP Partner", "N/A").
    pub api_type: &'a str,
    /// API version for login history.
    pub api_version: &'a str,
    /// The org the surface belongs to (a connected app's), or `None` where any org's
    /// users log in. A user of another org is then no user at all: refused as an
    /// unknown username, recorded in this org's history only, nothing of theirs touched.
    pub org: Option<&'a latchkey_core::ids::OrgId>,
}

/// A password-less grant that passed the login decision. Its login-history row is
/// written together with its session, in one group commit
/// ([`Services::issue_admitted_session`]).
#[derive(Debug)]
#[must_use = "an admitted grant is recorded only when its session is issued"]
pub struct Admitted {
    /// The user.
    pub user: User,
    /// The user's org, as the decision read it.
    pub org: Org,
    pub(crate) history: NewLogin,
}

/// A failed attempt of a known user, to be counted.
#[derive(Debug)]
pub(crate) struct Failure<'a> {
    /// Whose.
    pub user: &'a User,
    /// Their org (its policy decides the lock).
    pub org: &'a Org,
    /// Keyed fingerprint of the wrong secret: a repeat is not counted again.
    pub fingerprint: [u8; 32],
    /// The source logged this user in before.
    pub familiar: bool,
    /// What login history records.
    pub status: LoginStatus,
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in.
    Success {
        /// The user.
        user: Box<User>,
        /// The user's org, as the decision read it (policy, session timeout, name).
        org: Box<Org>,
        /// Only a password change is allowed.
        password_expired: bool,
    },
    /// Refused; the status says why (for history and logs — clients see a generic
    /// error except where the wire protocol distinguishes, such as the token case).
    Refused(LoginStatus),
}

fn user_state(u: &User) -> UserState {
    UserState {
        active: u.active,
        frozen: u.frozen,
        locked_until: u.locked_until,
        unfamiliar_locked_until: u.unfamiliar_locked_until,
        password_expires_at: u.password_expires_at,
    }
}

/// The presented secret as password and (when the stage takes one) security token.
fn split<'a>(
    stage: &login::SecretStage,
    presented: &'a str,
    user: &User,
) -> latchkey_core::secret::PresentedSecret<'a> {
    if stage.accepts_token() {
        split_token(presented, user.token_digest.as_ref())
    } else {
        split_token(presented, None)
    }
}

/// The decision's inputs for a password attempt.
fn attempt<'a>(
    req: &LoginRequest<'_>,
    context: Option<&'a LoginContext>,
    user: Option<&'a UserState>,
    familiar: bool,
    now: DateTime<Utc>,
) -> Attempt<'a> {
    Attempt {
        user,
        profile_ranges: context.map_or(&[], |c| c.profile_ranges.as_slice()),
        trusted_ranges: context.map_or(&[], |c| c.trusted_ranges.as_slice()),
        ip: req.ip,
        channel: req.channel,
        device_verified: req.device_verified,
        familiar,
        now,
    }
}

impl Services {
    /// The OAuth client-credentials grant: the app's run-as user logs in without a
    /// password (the app's secret was checked); see [`Self::login_without_password`].
    pub async fn login_as_app(
        &self,
        app: &ConnectedApp,
        ip: IpAddr,
    ) -> Result<Result<Admitted, LoginStatus>, AccountError> {
        let run_as = app
            .run_as
            .as_ref()
            .ok_or_else(|| AccountError::Invalid("no client credentials user".into()))?;
        self.login_without_password(run_as, app, ip).await
    }

    /// A login by a grant that proves itself without the user's password (client
    /// credentials, a refresh token). The same decision refuses frozen, inactive,
    /// locked and restricted-IP users, and their attempt is in login history under
    /// `application`; an admitted grant's history row is written with its session
    /// ([`Self::issue_admitted_session`]). A success does not reset the
    /// password-failure counter (no password was checked).
    pub async fn login_without_password(
        &self,
        user_id: &UserId,
        app: &ConnectedApp,
        ip: IpAddr,
    ) -> Result<Result<Admitted, LoginStatus>, AccountError> {
        let application = app.name.as_str();
        let user = self.decision_user(user_id).await?;
        let context = self.decision_context(&user).await?;
        let state = user_state(&user);
        // An app whose policy relaxes IP restrictions is not held to the profile's
        // login IP ranges (the org's trusted ranges never refuse anyone).
        let profile_ranges: &[_] = if app.relax_ip { &[] } else { &context.profile_ranges };
        let attempt = Attempt {
            user: Some(&state),
            profile_ranges,
            trusted_ranges: &context.trusted_ranges,
            ip,
            channel: Channel::OAuth,
            device_verified: false,
            familiar: true,
            now: self.clock.now(),
        };
        let empty = SecretString::from(String::new());
        let req = LoginRequest {
            username: &user.username,
            secret: &empty,
            ip,
            channel: Channel::OAuth,
            device_verified: false,
            application,
            api_type: "N/A",
            api_version: "N/A",
            org: None,
        };
        if let Step::Refused(refusal) = login::decide(&attempt) {
            self.log_refusal(&req, Some(&user), refusal.status).await?;
            return Ok(Err(refusal.status));
        }
        let history = self.history_row(&req, Some(&user), LoginStatus::Success);
        Ok(Ok(Admitted {
            user,
            org: context.org.clone(),
            history,
        }))
    }

    /// Runs one login attempt to its end.
    pub async fn login(&self, req: &LoginRequest<'_>) -> Result<LoginOutcome, AccountError> {
        let (outcome, _) = self.login_with_session(req, |_, _, _| None).await?;
        Ok(outcome)
    }

    /// Runs one login attempt to its end and, when it succeeds, issues the session
    /// `session` asks for (given the user, their org and whether the password has
    /// expired; `None`: no session). The attempt's history row is committed with the
    /// session, so a password login costs one commit, as the password-less grants do.
    pub async fn login_with_session<'a>(
        &self,
        req: &LoginRequest<'_>,
        session: impl FnOnce(&User, &Org, bool) -> Option<SessionFor<'a>>,
    ) -> Result<(LoginOutcome, Option<Issued>), AccountError> {
        let (outcome, history) = self.password_attempt(req).await?;
        let Some(row) = history else {
            return Ok((outcome, None));
        };
        let wanted = match &outcome {
            LoginOutcome::Success {
                user,
                org,
                password_expired,
            } => session(user, org, *password_expired).map(|s| (user, org, s)),
            LoginOutcome::Refused(_) => None,
        };
        let issued = match wanted {
            Some((user, org, s)) => Some(self.issue_recorded_session(user, org, s, row).await?),
            None => {
                self.store.write(Write::Login(row)).await?;
                None
            }
        };
        Ok((outcome, issued))
    }

    /// One attempt to its end. A success comes with its history row still to be
    /// written; every refusal's row is written here.
    async fn password_attempt(&self, req: &LoginRequest<'_>) -> Result<(LoginOutcome, Option<NewLogin>), AccountError> {
        let now = self.clock.now();
        let (user, context) = self
            .decision_inputs(req.username)
            .await?
            .filter(|(user, _)| req.org.is_none_or(|org| *org == user.org_id))
            .unzip();
        let context = context.as_deref();
        let state = user.as_ref().map(user_state);
        let address_known = match &user {
            Some(user) => self.address_is_familiar(&user.id, req.ip).await?,
            None => false,
        };
        let familiar = address_known || req.device_verified;
        if let Step::Refused(refusal) = login::decide(&attempt(req, context, state.as_ref(), familiar, now)) {
            if refusal.spend_dummy_hash {
                self.hasher.dummy_verify(req.secret.expose_secret()).await?;
            }
            return Ok((self.refuse(req, user.as_ref(), refusal.status).await?, None));
        }
        let (Some(user), Some(org)) = (user, context.map(|c| c.org.clone())) else {
            return Err(AccountError::NotFound("user".into()));
        };
        // The slot is held until a failure is recorded.
        let slot = self.hasher.reserve().await?;
        let presented = req.secret.expose_secret();
        // The decision above may have read the user from memory, and waiting for the
        // slot may have taken a while: decide again on the stored user, whose
        // credentials are the ones to check. A parallel attempt may have locked them
        // meanwhile; then they are refused without a hash. The reading is made ahead
        // of a free hashing thread, so the thread takes it only if it is still
        // current (see `hashing`); else it is made again.
        let (user, stage, split, verification, unsettled) = loop {
            let caches = Arc::clone(&self.caches);
            let seen = caches.decisions.generation();
            let user = self.fresh_user(&user.id).await?;
            let stage = match login::decide(&attempt(req, context, Some(&user_state(&user)), familiar, now)) {
                Step::Refused(refusal) => {
                    drop(slot);
                    return Ok((self.refuse(req, Some(&user), refusal.status).await?, None));
                }
                Step::CheckSecret(stage) => stage,
            };
            let split = split(&stage, presented, &user);
            let current = move || caches.decisions.generation() == seen;
            match slot
                .attempt(user.id.as_str(), split.password, user.password_hash.as_ref(), current)
                .await?
            {
                Attempted::Verified(verification, unsettled) => break (user, stage, split, verification, unsettled),
                Attempted::Stale => slot.settled(user.id.as_str()).await?,
            }
        };
        let check = SecretCheck {
            password_matches: verification.matched(),
            token_appended: split.token_appended,
        };
        match stage.conclude(check) {
            Conclusion::Failure(status) => {
                let fingerprint = self.fingerprint_key.fingerprint(user.id.as_str(), presented);
                let failure = Failure {
                    user: &user,
                    org: &org,
                    fingerprint,
                    familiar,
                    status,
                };
                let effect = self.record_failed_attempt(req, &failure, now).await?;
                // Settled only now: until here the next attempts wait for this one.
                drop(unsettled);
                drop(slot);
                tracing::info!(user_id = %user.id, ip = %req.ip, status = status.as_str(), effect = ?effect, familiar, "login failed");
                Ok((LoginOutcome::Refused(status), None))
            }
            Conclusion::Success { password_expired } => {
                drop(slot);
                // A success clears failures and stamps the last login. With nothing to
                // clear and a stamp under a minute old there is nothing to write: an
                // integration logging in every few seconds does not turn each login
                // into a write, nor take a connection. (A lock landing during this
                // attempt's hash is then not seen: the attempt counts as having
                // succeeded just before it.)
                let settled = user.failed_attempts == 0
                    && user.locked_until.is_none()
                    && user.unfamiliar_failed_attempts == 0
                    && user.unfamiliar_locked_until.is_none()
                    && user.last_login_at.is_some_and(|t| now - t < LAST_LOGIN_RESOLUTION);
                let counter = org.policy.lockout_scope.counter(familiar);
                if !settled && !users::record_success(&mut *self.store.conn().await?, &user.id, counter, now).await? {
                    self.log_refusal(req, Some(&user), LoginStatus::PasswordLockout).await?;
                    return Ok((LoginOutcome::Refused(LoginStatus::PasswordLockout), None));
                }
                if !address_known {
                    self.remember_address(&user.id, req.ip).await?;
                }
                if verification == Verification::MatchNeedsRehash {
                    if let Some(old) = &user.password_hash {
                        let new = self.hasher.hash(&SecretString::from(split.password)).await?;
                        users::replace_password_hash(&mut *self.store.conn().await?, &user.id, old, &new).await?;
                        tracing::info!(user_id = %user.id, "password rehashed at current parameters");
                    }
                }
                let history = self.history_row(req, Some(&user), LoginStatus::Success);
                tracing::info!(user_id = %user.id, ip = %req.ip, password_expired, "login succeeded");
                let outcome = LoginOutcome::Success {
                    user: Box::new(user),
                    org: Box::new(org),
                    password_expired,
                };
                Ok((outcome, Some(history)))
            }
        }
    }

    /// Whether `ip` has logged user `id` in before.
    pub(crate) async fn address_is_familiar(&self, id: &UserId, ip: IpAddr) -> Result<bool, AccountError> {
        let address = ip.to_string();
        self.caches
            .decisions
            .familiar(id, address.clone(), || async {
                Ok(users::is_familiar(&mut *self.store.conn().await?, id, &address).await?)
            })
            .await
    }

    /// Remembers that `ip` logged user `id` in: it is a familiar source for them.
    pub(crate) async fn remember_address(&self, id: &UserId, ip: IpAddr) -> Result<(), AccountError> {
        let now = self.clock.now();
        users::remember_source(&mut *self.store.conn().await?, id, &ip.to_string(), now).await?;
        self.decisions_changed();
        Ok(())
    }

    /// Records a failed attempt of a known user: counts it toward the lock its source
    /// falls under (see [`latchkey_core::policy::LockoutScope`]), writes its history row,
    /// and announces a lock it placed — in one transaction.
    pub(crate) async fn record_failed_attempt(
        &self,
        req: &LoginRequest<'_>,
        failure: &Failure<'_>,
        now: DateTime<Utc>,
    ) -> Result<FailureEffect, AccountError> {
        let Failure { user, org, .. } = failure;
        let rule = LockoutRule {
            max: org.policy.max_invalid_attempts,
            period: org.policy.lockout,
        };
        let counter = org.policy.lockout_scope.counter(failure.familiar);
        let mut tx = self.store.begin().await?;
        let effect = users::record_failure(&mut tx, &user.id, &failure.fingerprint, counter, rule, now).await?;
        if let FailureEffect::Locked(_, until) = effect {
            self.announce_lock(&mut tx, user, counter, until, now).await?;
        }
        login_history::insert(&mut tx, &self.history_row(req, Some(user), failure.status)).await?;
        commit(tx).await?;
        if matches!(effect, FailureEffect::Locked(..)) {
            // After the commit, so that a reading of the user made before it is no
            // longer current for the hashing threads.
            self.decisions_changed();
            self.webhooks.ring();
        }
        Ok(effect)
    }

    /// Mails the user whose attempt placed a lock and, for the lock of every source,
    /// tells the org's webhooks (integrations stop); a lock of unfamiliar sources leaves
    /// integrations alone, so only the user hears of it.
    pub(crate) async fn announce_lock(
        &self,
        tx: &mut Tx,
        user: &User,
        counter: LockCounter,
        until: LockUntil,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        let until = match until {
            LockUntil::Time(t) => Some(t),
            LockUntil::AdminUnlock => None,
        };
        match counter {
            LockCounter::Every => {
                let mail = templates::account_locked(&self.mail, &user.email, &user.username, until);
                crate::accounts::enqueue(tx, &mail, now).await?;
                self.announce(tx, user, &[EventType::UserLocked], now).await?;
            }
            LockCounter::Unfamiliar => {
                let mail = templates::unfamiliar_sources_locked(&self.mail, &user.email, &user.username, until);
                crate::accounts::enqueue(tx, &mail, now).await?;
            }
        }
        Ok(())
    }

    /// The stored user, read on a kept connection (see [`latchkey_store::Store::kept`]): this read is
    /// made under a hashing slot, so while it waits a core is idle.
    async fn fresh_user(&self, id: &UserId) -> Result<User, AccountError> {
        let mut conn = self.store.kept().await?;
        match users::get(&mut conn, id).await {
            Ok(user) => Ok(user),
            Err(e) => {
                conn.discard();
                Err(e.into())
            }
        }
    }

    /// Records a refused attempt (no hash was spent on the user's password).
    async fn refuse(
        &self,
        req: &LoginRequest<'_>,
        user: Option<&User>,
        status: LoginStatus,
    ) -> Result<LoginOutcome, AccountError> {
        self.log_refusal(req, user, status).await?;
        tracing::info!(username = %req.username.trim().to_lowercase(), ip = %req.ip, status = status.as_str(), "login refused");
        Ok(LoginOutcome::Refused(status))
    }

    pub(crate) fn history_row(&self, req: &LoginRequest<'_>, user: Option<&User>, status: LoginStatus) -> NewLogin {
        NewLogin {
            org_id: user.map_or_else(|| req.org.cloned(), |u| Some(u.org_id.clone())),
            user_id: user.map(|u| u.id.clone()),
            username: req.username.to_owned(),
            login_time: self.clock.now(),
            source_ip: req.ip.to_string(),
            login_type: req.channel.login_type(),
            status: status.as_str(),
            application: req.application.to_owned(),
            api_type: req.api_type.to_owned(),
            api_version: req.api_version.to_owned(),
        }
    }

    /// Queues a refused attempt's login-history row for the next group commit. The
    /// refusal does not wait for it: nothing in the answer depends on the row, and a
    /// flood of attempts for a locked user is then answered at the pace of the HTTP
    /// server rather than of the disk (the history's readers flush the queue first).
    pub(crate) async fn log_refusal(
        &self,
        req: &LoginRequest<'_>,
        user: Option<&User>,
        status: LoginStatus,
    ) -> Result<(), AccountError> {
        let row = self.history_row(req, user, status);
        self.store.queue(Write::Login(row)).await?;
        Ok(())
    }
}
