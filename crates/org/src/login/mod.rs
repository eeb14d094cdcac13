//! The login flow: gathers the inputs of the core's decision, hashes only when the
//! decision asks for it, persists the outcome (failure count, lock, history, mail)
//! and reports what happened. Every attempt writes one login-history row.

pub mod decision_cache;
pub mod hashing;
pub mod history;
pub mod sessions;
pub mod verification;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::login::{self, Attempt, Conclusion, FailureEffect, LockoutRule, SecretCheck, Step, UserState};
use latchkey_core::password::Verification;
use latchkey_core::policy::{LockCounter, LockUntil, LoginFlows};
use latchkey_core::secret::{split_token, SecretDigest};
use latchkey_core::status::{Channel, LoginStatus};
use latchkey_core::webhooks::EventType;
use latchkey_store::apps::ConnectedApp;
use latchkey_store::login_history::{self, NewLogin};
use latchkey_store::orgs::{LoginContext, Org};
use latchkey_store::users::{self, User};
use latchkey_store::{commit, Tx, Write};
use secrecy::{ExposeSecret, SecretString};

use crate::login::hashing::{Attempted, HashSlot, Unsettled};
use crate::login::sessions::{Issued, SessionFor};
use crate::mail::templates;
use crate::{AccountError, Services};

/// How stale a user's last-login stamp may get before a successful login writes it.
const LAST_LOGIN_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);

/// What a login is for. The intent decides what a surface must not: the
/// channel's rules, whose users may log in, what login history names, and which
/// session a success gets.
#[derive(Debug, Clone, Copy)]
pub enum Intent<'a> {
    /// SOAP `login()`: any org's users; an expired password gets a session that may
    /// only change it.
    Soap {
        /// Login history's API type ("SOAP Partner", "SOAP Enterprise").
        api_type: &'a str,
        /// The API version of the endpoint.
        api_version: &'a str,
        /// The client's name, for login history.
        client: &'a str,
    },
    /// The OAuth password grant through a connected app: only the app's org's users;
    /// an expired password gets no session (it cannot be changed over OAuth).
    OAuthPassword(&'a ConnectedApp),
    /// A grant that proves itself without the user's password (client credentials,
    /// refresh token, authorization code, JWT bearer) through a connected app: only the
    /// app's org's users; the session is issued with the grant's refresh token
    /// ([`Services::issue_admitted_session`]).
    Grant(&'a ConnectedApp),
    /// The browser login page: any org's users; an expired password gets a session
    /// that may only change it.
    Page {
        /// The browser carries the cookie of an earlier verification.
        device_verified: bool,
    },
    /// A signed-in user confirming their current password before changing it: only
    /// their org's users, no session.
    ConfirmPassword {
        /// The signed-in user's org.
        org: &'a OrgId,
    },
}

impl Intent<'_> {
    /// The surface whose rules apply (security token, verification, history's type).
    pub fn channel(&self) -> Channel {
        match self {
            Self::Soap { .. } => Channel::Soap,
            Self::OAuthPassword(_) | Self::Grant(_) => Channel::OAuth,
            Self::Page { .. } | Self::ConfirmPassword { .. } => Channel::Ui,
        }
    }

    /// The org whose users alone may log in, or `None` where any org's users may. A
    /// user of another org is then no user at all: refused as an unknown username,
    /// recorded in this org's history only, nothing of theirs touched.
    pub fn org(&self) -> Option<&OrgId> {
        match self {
            Self::OAuthPassword(app) | Self::Grant(app) => Some(&app.org_id),
            Self::ConfirmPassword { org } => Some(org),
            Self::Soap { .. } | Self::Page { .. } => None,
        }
    }

    /// The refusal this intent meets in an org whose `flows` close it, if any.
    fn closed_by(&self, flows: &LoginFlows) -> Option<LoginStatus> {
        match self {
            Self::Soap { .. } if !flows.soap_login => Some(LoginStatus::SoapLoginDisabled),
            Self::OAuthPassword(_) if !flows.oauth_username_password => Some(LoginStatus::PasswordFlowDisabled),
            _ => None,
        }
    }

    /// Whether the source is vouched for as a verified browser.
    fn device_verified(&self) -> bool {
        match self {
            Self::Page { device_verified } => *device_verified,
            Self::ConfirmPassword { .. } => true,
            _ => false,
        }
    }

    /// Login history's application, API type and API version.
    fn history_names(&self) -> (&str, &str, &str) {
        match self {
            Self::Soap {
                api_type,
                api_version,
                client,
            } => (client, api_type, api_version),
            Self::OAuthPassword(app) | Self::Grant(app) => (&app.name, "N/A", "N/A"),
            Self::Page { .. } => ("Browser", "N/A", "N/A"),
            Self::ConfirmPassword { .. } => ("Change My Password", "N/A", "N/A"),
        }
    }

    /// The session a successful password login gets, given whether the password has
    /// expired.
    fn session(&self, password_expired: bool) -> Option<SessionFor<'_>> {
        match self {
            Self::Soap { .. } | Self::Page { .. } => Some(SessionFor {
                client_id: None,
                restricted: password_expired,
            }),
            Self::OAuthPassword(app) => (!password_expired).then_some(SessionFor {
                client_id: Some(&app.client_id),
                restricted: false,
            }),
            Self::Grant(_) | Self::ConfirmPassword { .. } => None,
        }
    }
}

/// One login attempt.
#[derive(Debug, Clone)]
pub struct LoginRequest<'a> {
    /// Username as typed.
    pub username: &'a str,
    /// Password, or password + security token.
    pub secret: &'a SecretString,
    /// Source address.
    pub ip: IpAddr,
    /// What the login is for.
    pub intent: Intent<'a>,
}

/// A finished password login: what it came to and the session it issued, if any.
#[derive(Debug)]
pub struct Login {
    /// What the attempt came to.
    pub outcome: LoginOutcome,
    /// The session the intent asked for, issued with the attempt's history row.
    pub session: Option<Issued>,
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
        channel: req.intent.channel(),
        device_verified: req.intent.device_verified(),
        familiar,
        now,
    }
}

/// A user whose stored credentials pass the second decision, and their check.
struct Checked {
    user: User,
    stage: login::SecretStage,
    /// The password part of the presented secret, for a rehash.
    password: SecretString,
    token_appended: bool,
    verification: Verification,
    unsettled: Option<Unsettled>,
}

/// What [`Services::confirm_current_password`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentPassword {
    /// It is the current password.
    Confirmed,
    /// It is not (counted as a failed login).
    Wrong,
    /// The account is locked or frozen: nothing is checked.
    Locked,
}

/// Where the source of a successful login stands with the user.
#[derive(Debug, Clone, Copy)]
struct Familiarity {
    /// Counts as familiar (a known address or a verified browser).
    familiar: bool,
    /// The address logged the user in before.
    address_known: bool,
}

impl Services {
    /// Whether `password` is the current password of `user`, signed in from `ip`,
    /// who is confirming a change. It is checked as a login is (the browser verified,
    /// since it holds a session): a wrong one counts as a failed login, in the login
    /// history and towards the lock, so the form is no faster a way to guess.
    pub async fn confirm_current_password(
        &self,
        user: &User,
        password: &SecretString,
        ip: std::net::IpAddr,
    ) -> Result<CurrentPassword, AccountError> {
        let check = LoginRequest {
            username: &user.username,
            secret: password,
            ip,
            intent: Intent::ConfirmPassword { org: &user.org_id },
        };
        Ok(match self.login(&check).await?.outcome {
            LoginOutcome::Success { .. } => CurrentPassword::Confirmed,
            LoginOutcome::Refused(LoginStatus::PasswordLockout | LoginStatus::UserFrozen) => CurrentPassword::Locked,
            LoginOutcome::Refused(_) => CurrentPassword::Wrong,
        })
    }

    /// The OAuth client-credentials grant: the app's run-as user logs in without a
    /// password (the app's secret is checked first); see [`Self::login_without_password`].
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
    /// credentials, a refresh token, an authorization code, a JWT assertion) through
    /// `app`. A user of another org than the app's is refused as no user at all (in
    /// the app's org's history only); the same decision refuses frozen, inactive,
    /// locked and restricted-IP users, and their attempt is in login history under the
    /// app's name; an admitted grant's history row is written with its session
    /// ([`Self::issue_admitted_session`]). A success does not reset the
    /// password-failure counter (no password is checked).
    pub async fn login_without_password(
        &self,
        user_id: &UserId,
        app: &ConnectedApp,
        ip: IpAddr,
    ) -> Result<Result<Admitted, LoginStatus>, AccountError> {
        let user = self.decision_user(user_id).await?;
        let empty = SecretString::from(String::new());
        let req = LoginRequest {
            username: &user.username,
            secret: &empty,
            ip,
            intent: Intent::Grant(app),
        };
        if user.org_id != app.org_id {
            let attempt = attempt(&req, None, None, true, self.clock.now());
            let status = match login::decide(&attempt) {
                Step::Refused(refusal) => refusal.status,
                Step::CheckSecret(_) => LoginStatus::InvalidPassword,
            };
            self.log_refusal(&req, None, status).await?;
            tracing::info!(user_id = %user.id, client = %app.name, "grant refused: the user is of another org");
            return Ok(Err(status));
        }
        let context = self.decision_context(&user).await?;
        let state = user_state(&user);
        // An app whose policy relaxes IP restrictions is not held to the profile's
        // login IP ranges (the org's trusted ranges never refuse anyone).
        let profile_ranges: &[_] = if app.relax_ip { &[] } else { &context.profile_ranges };
        let attempt = Attempt {
            profile_ranges,
            ..attempt(&req, Some(&context), Some(&state), true, self.clock.now())
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

    /// Issues the access token of an admitted password-less grant (client credentials,
    /// or a refresh token whose digest is `refresh`: the access token then ends when
    /// that refresh token is revoked). The grant's login-history row is committed with
    /// it.
    pub async fn issue_admitted_session(
        &self,
        admitted: Admitted,
        client_id: &str,
        refresh: Option<&SecretDigest>,
    ) -> Result<Issued, AccountError> {
        let (issued, new) = self.new_session(&admitted.user, &admitted.org, Some(client_id), false, refresh);
        self.store
            .write_all(vec![Write::Login(admitted.history), Write::Session(new)])
            .await?;
        Ok(issued)
    }

    /// Runs one password login to its end: every rule of its intent (whose users, the
    /// channel's, the session) is decided here before anything is recorded, and a
    /// success's history row is committed with its session, so a password login costs
    /// one commit, as the password-less grants do.
    pub async fn login(&self, req: &LoginRequest<'_>) -> Result<Login, AccountError> {
        let (outcome, history) = self.password_attempt(req).await?;
        let Some(row) = history else {
            return Ok(Login { outcome, session: None });
        };
        let wanted = match &outcome {
            LoginOutcome::Success {
                user,
                org,
                password_expired,
            } => req.intent.session(*password_expired).map(|s| (user, org, s)),
            LoginOutcome::Refused(_) => None,
        };
        let session = match wanted {
            Some((user, org, s)) => Some(self.issue_recorded_session(user, org, s, row).await?),
            None => {
                self.store.write(Write::Login(row)).await?;
                None
            }
        };
        Ok(Login { outcome, session })
    }

    /// One attempt to its end. A success comes with its history row still to be
    /// written; every refusal's row is written here.
    async fn password_attempt(&self, req: &LoginRequest<'_>) -> Result<(LoginOutcome, Option<NewLogin>), AccountError> {
        let now = self.clock.now();
        let (user, context) = self
            .decision_inputs(req.username)
            .await?
            .filter(|(user, _)| req.intent.org().is_none_or(|org| *org == user.org_id))
            .unzip();
        let context = context.as_deref();
        // A flow the user's org has closed is refused before anything else is looked
        // at: no password is checked and nothing counts towards a lock.
        if let Some((user, status)) = user
            .as_ref()
            .zip(context.and_then(|c| req.intent.closed_by(&c.org.login_flows)))
        {
            return Ok((self.refuse(req, Some(user), status).await?, None));
        }
        let state = user.as_ref().map(user_state);
        let address_known = match &user {
            Some(user) => self.address_is_familiar(&user.id, req.ip).await?,
            None => false,
        };
        let familiar = address_known || req.intent.device_verified();
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
        let checked = match self.check_secret(req, context, &user.id, familiar, &slot, now).await? {
            Ok(checked) => checked,
            Err((user, status)) => {
                drop(slot);
                return Ok((self.refuse(req, Some(&user), status).await?, None));
            }
        };
        let check = SecretCheck {
            password_matches: checked.verification.matched(),
            token_appended: checked.token_appended,
        };
        match checked.stage.conclude(check) {
            Conclusion::Failure(status) => {
                let fingerprint = self
                    .fingerprint_key
                    .fingerprint(checked.user.id.as_str(), req.secret.expose_secret());
                let failure = Failure {
                    user: &checked.user,
                    org: &org,
                    fingerprint,
                    familiar,
                    status,
                };
                let effect = self.record_failed_attempt(req, &failure, now).await?;
                // Settled only now: until here the next attempts wait for this one.
                drop(checked.unsettled);
                drop(slot);
                tracing::info!(user_id = %checked.user.id, ip = %req.ip, status = status.as_str(), effect = ?effect, familiar, "login failed");
                Ok((LoginOutcome::Refused(status), None))
            }
            Conclusion::Success { password_expired } => {
                drop(slot);
                let familiarity = Familiarity {
                    familiar,
                    address_known,
                };
                self.succeeded(req, checked, org, familiarity, password_expired, now)
                    .await
            }
        }
    }

    /// Decides again on the stored user, whose credentials are the ones to check, and
    /// checks them under `slot`: the first decision may have read the user from memory,
    /// and waiting for the slot may have taken a while, so a parallel attempt may have
    /// locked them meanwhile (then they are refused without a hash, `Err`). The reading
    /// is made ahead of a free hashing thread, so the thread takes it only if it is
    /// still current (see `hashing`); else it is made again.
    async fn check_secret(
        &self,
        req: &LoginRequest<'_>,
        context: Option<&LoginContext>,
        id: &UserId,
        familiar: bool,
        slot: &HashSlot<'_>,
        now: DateTime<Utc>,
    ) -> Result<Result<Checked, (User, LoginStatus)>, AccountError> {
        let presented = req.secret.expose_secret();
        loop {
            let caches = Arc::clone(&self.caches);
            let seen = caches.decisions.generation();
            let user = self.fresh_user(id).await?;
            let stage = match login::decide(&attempt(req, context, Some(&user_state(&user)), familiar, now)) {
                Step::Refused(refusal) => return Ok(Err((user, refusal.status))),
                Step::CheckSecret(stage) => stage,
            };
            let split = split(&stage, presented, &user);
            let current = move || caches.decisions.generation() == seen;
            match slot
                .attempt(user.id.as_str(), split.password, user.password_hash.as_ref(), current)
                .await?
            {
                Attempted::Verified(verification, unsettled) => {
                    let (password, token_appended) = (SecretString::from(split.password), split.token_appended);
                    return Ok(Ok(Checked {
                        user,
                        stage,
                        password,
                        token_appended,
                        verification,
                        unsettled,
                    }));
                }
                Attempted::Stale => slot.settled(user.id.as_str()).await?,
            }
        }
    }

    /// Records a success: clears failures and stamps the last login, remembers the
    /// source, rehashes a password hashed at old parameters. With nothing to clear and
    /// a stamp under [`LAST_LOGIN_RESOLUTION`] old there is nothing to write: an
    /// integration logging in every few seconds does not turn each login into a write,
    /// nor take a connection. (A lock landing during this attempt's hash is then not
    /// seen: the attempt counts as having succeeded just before it.)
    async fn succeeded(
        &self,
        req: &LoginRequest<'_>,
        checked: Checked,
        org: Org,
        familiarity: Familiarity,
        password_expired: bool,
        now: DateTime<Utc>,
    ) -> Result<(LoginOutcome, Option<NewLogin>), AccountError> {
        let Checked {
            user,
            password,
            verification,
            ..
        } = checked;
        let settled = user.failed_attempts == 0
            && user.locked_until.is_none()
            && user.unfamiliar_failed_attempts == 0
            && user.unfamiliar_locked_until.is_none()
            && user.last_login_at.is_some_and(|t| now - t < LAST_LOGIN_RESOLUTION);
        let counter = org.policy.lockout_scope.counter(familiarity.familiar);
        if !settled && !users::record_success(&mut *self.store.conn().await?, &user.id, counter, now).await? {
            self.log_refusal(req, Some(&user), LoginStatus::PasswordLockout).await?;
            return Ok((LoginOutcome::Refused(LoginStatus::PasswordLockout), None));
        }
        if !familiarity.address_known {
            self.remember_address(&user.id, req.ip).await?;
        }
        if verification == Verification::MatchNeedsRehash {
            if let Some(old) = &user.password_hash {
                let new = self.hasher.hash(&password).await?;
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
                crate::mail::enqueue(tx, &mail, now).await?;
                self.announce(tx, user, &[EventType::UserLocked], now).await?;
            }
            LockCounter::Unfamiliar => {
                let mail = templates::unfamiliar_sources_locked(&self.mail, &user.email, &user.username, until);
                crate::mail::enqueue(tx, &mail, now).await?;
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

    /// Records a refused attempt (no hash is spent on the user's password).
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
        let (application, api_type, api_version) = req.intent.history_names();
        NewLogin {
            org_id: user.map_or_else(|| req.intent.org().cloned(), |u| Some(u.org_id.clone())),
            user_id: user.map(|u| u.id.clone()),
            username: req.username.to_owned(),
            login_time: self.clock.now(),
            source_ip: req.ip.to_string(),
            login_type: req.intent.channel().login_type(),
            status: status.as_str(),
            application: application.to_owned(),
            api_type: api_type.to_owned(),
            api_version: api_version.to_owned(),
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
