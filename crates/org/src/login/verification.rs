//! Identity verification for browser logins from untrusted networks (wire-spec §2.4):
//! the login page's correct password leads here when neither the network nor the
//! browser is trusted. A 6-digit code is e-mailed to the user; it is valid for
//! [`CODE_VALID_MINUTES`] minutes and [`MAX_CODE_ATTEMPTS`] tries, from the same IP, and
//! only once. Only a keyed digest of the code is stored. A wrong code is a failed login
//! of the user, counted toward the lockout like a wrong password, and at most
//! [`MAX_CHALLENGES_PER_HOUR`] codes are mailed to a user in any hour: codes cannot be
//! guessed faster than passwords.

use std::net::IpAddr;

use chrono::Duration;
use latchkey_core::status::LoginStatus;
use latchkey_store::challenges::{self, Challenge};
use latchkey_store::orgs::{self, Org};
use latchkey_store::users::{self, User};
use latchkey_store::Write;
use rand::Rng;
use secrecy::SecretString;

use latchkey_core::login::FailureEffect;

use crate::login::{Failure, Intent, LoginRequest};
use crate::mail::templates;
use crate::{AccountError, Services};

/// How long a code is valid.
pub const CODE_VALID_MINUTES: i64 = 10;
/// Wrong codes before the challenge is void.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// Codes mailed to one user in any hour.
pub const MAX_CHALLENGES_PER_HOUR: i64 = 5;

/// What asking for a verification code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenged {
    /// A code is on its way; the browser presents this id with it.
    Sent(String),
    /// The user's codes of the last hour are used up: they may ask again in this many minutes.
    TooMany {
        /// Minutes until the oldest code of the hour drops out of the count.
        minutes: i64,
    },
}

/// What entering a code did.
#[derive(Debug)]
pub enum Verification {
    /// The code is right: the browser may be remembered and a session issued.
    Verified {
        /// The user.
        user: Box<User>,
        /// The user's org.
        org: Box<Org>,
        /// Only a password change is allowed next.
        password_expired: bool,
    },
    /// Wrong code; this many tries are left.
    Wrong(i64),
    /// The challenge is unknown, expired, used up or from another IP: log in again.
    Void,
}

/// A wrong code entered for challenge `id`, its `attempts`-th.
struct WrongCode<'a> {
    id: &'a str,
    code: &'a str,
    attempts: i64,
    familiar: bool,
}

impl Services {
    fn code_digest(&self, challenge_id: &str, code: &str) -> Vec<u8> {
        self.fingerprint_key.fingerprint(challenge_id, code).to_vec()
    }

    /// Mails `user` a verification code for a login from `ip`, within the hourly limit.
    pub async fn issue_challenge(&self, user: &User, ip: IpAddr) -> Result<Challenged, AccountError> {
        let now = self.clock.now();
        let hour = Duration::hours(1);
        let (sent, oldest) = challenges::sent_since(&mut *self.store.conn().await?, &user.id, now - hour).await?;
        if sent >= MAX_CHALLENGES_PER_HOUR {
            let free_at = oldest.unwrap_or(now) + hour;
            let minutes = ((free_at - now).num_seconds() + 59) / 60;
            tracing::info!(user_id = %user.id, %ip, sent, "verification code not sent: hourly limit");
            return Ok(Challenged::TooMany {
                minutes: minutes.max(1),
            });
        }
        let id = latchkey_core::ids::generate("0Ch");
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let challenge = Challenge {
            code_digest: self.code_digest(&id, &code),
            id: id.clone(),
            user_id: user.id.clone(),
            source_ip: ip.to_string(),
            expires_at: now + Duration::minutes(CODE_VALID_MINUTES),
            attempts: 0,
            used_at: None,
        };
        let mail = templates::verification_code(&self.mail, &user.email, &user.username, &code, CODE_VALID_MINUTES);
        let mut tx = self.store.begin().await?;
        challenges::purge(&mut tx, now - Duration::days(1)).await?;
        challenges::insert(&mut tx, &challenge, now).await?;
        crate::mail::enqueue(&mut tx, &mail, now).await?;
        latchkey_store::commit(tx).await?;
        tracing::info!(user_id = %user.id, %ip, "verification code sent");
        Ok(Challenged::Sent(id))
    }

    /// The address the code of challenge `id` went to, while the challenge is usable.
    pub async fn challenge_email(&self, id: &str) -> Result<Option<String>, AccountError> {
        let mut conn = self.store.conn().await?;
        let Some(c) = challenges::get(&mut conn, id).await? else {
            return Ok(None);
        };
        if c.used_at.is_some() || c.expires_at <= self.clock.now() || c.attempts >= MAX_CODE_ATTEMPTS {
            return Ok(None);
        }
        Ok(Some(users::get(&mut conn, &c.user_id).await?.email))
    }

    /// Checks `code` for challenge `id`, entered from `ip`. A right code spends the
    /// challenge and records the successful login in the login history.
    pub async fn verify_challenge(&self, id: &str, code: &str, ip: IpAddr) -> Result<Verification, AccountError> {
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        let Some(challenge) = challenges::get(&mut conn, id).await? else {
            return Ok(Verification::Void);
        };
        let usable = challenge.used_at.is_none()
            && challenge.expires_at > now
            && challenge.attempts < MAX_CODE_ATTEMPTS
            && challenge.source_ip == ip.to_string();
        if !usable {
            return Ok(Verification::Void);
        }
        let code = code.trim();
        let right = code.len() == 6 && challenge.code_digest == self.code_digest(id, code);
        let user = users::get(&mut conn, &challenge.user_id).await?;
        let familiar = users::is_familiar(&mut conn, &user.id, &ip.to_string()).await?;
        let secret = SecretString::from(String::new());
        let req = LoginRequest {
            username: &user.username,
            secret: &secret,
            ip,
            intent: Intent::Page { device_verified: false },
        };
        if !right {
            let attempts = challenges::count_attempt(&mut conn, id).await?;
            let org = orgs::get(&mut conn, &user.org_id).await?;
            drop(conn);
            let wrong = WrongCode {
                id,
                code,
                attempts,
                familiar,
            };
            return self.wrong_code(&req, &user, &org, wrong, now).await;
        }
        if !challenges::mark_used(&mut conn, id, now).await? {
            return Ok(Verification::Void);
        }
        let org = orgs::get(&mut conn, &user.org_id).await?;
        // A lock or freeze that landed meanwhile still holds; else this is a successful
        // login: the failure count clears and the last login moves.
        let counter = org.policy.lockout_scope.counter(familiar);
        let refused = if !user.active {
            Some(LoginStatus::UserInactive)
        } else if user.frozen {
            Some(LoginStatus::UserFrozen)
        } else if !users::record_success(&mut conn, &user.id, counter, now).await? {
            Some(LoginStatus::PasswordLockout)
        } else {
            None
        };
        if let Some(status) = refused {
            drop(conn);
            self.log_refusal(&req, Some(&user), status).await?;
            return Ok(Verification::Void);
        }
        drop(conn);
        if !familiar {
            self.remember_address(&user.id, ip).await?;
        }
        let row = self.history_row(&req, Some(&user), LoginStatus::Success);
        self.store.write(Write::Login(row)).await?;
        tracing::info!(user_id = %user.id, %ip, "identity verified");
        let password_expired = user.password_expires_at.is_some_and(|t| t <= now);
        Ok(Verification::Verified {
            user: Box::new(user),
            org: Box::new(org),
            password_expired,
        })
    }

    /// Records a wrong code as the failed login it is (it counts toward the lock), and
    /// says how many tries are left.
    async fn wrong_code(
        &self,
        req: &LoginRequest<'_>,
        user: &User,
        org: &Org,
        wrong: WrongCode<'_>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Verification, AccountError> {
        let failure = Failure {
            user,
            org,
            fingerprint: self
                .fingerprint_key
                .fingerprint(user.id.as_str(), &format!("code:{}:{}", wrong.id, wrong.code)),
            familiar: wrong.familiar,
            status: LoginStatus::InvalidVerificationCode,
        };
        let effect = self.record_failed_attempt(req, &failure, now).await?;
        tracing::info!(user_id = %user.id, ip = %req.ip, effect = ?effect, "wrong verification code");
        let locked = matches!(effect, FailureEffect::Locked(..) | FailureEffect::AlreadyLocked);
        Ok(if locked || wrong.attempts >= MAX_CODE_ATTEMPTS {
            Verification::Void
        } else {
            Verification::Wrong(MAX_CODE_ATTEMPTS - wrong.attempts)
        })
    }
}
