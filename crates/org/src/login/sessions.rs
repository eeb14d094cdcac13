//! Issuing and checking sessions. A session id looks like Salesforce's
//! (`{orgId15}!{issue time}{96 random alphanumerics}`, never JWT-shaped); only its
//! digest is stored, under a key that starts with the issue time (see
//! [`session_key`]). Password changes, resets and freezes end a user's sessions (and, as each
//! connected app's policy says, its refresh tokens: see `refresh`).

use chrono::Duration;
use latchkey_core::secret::{random_alphanumeric, SecretDigest};
use latchkey_store::login_history::NewLogin;
use latchkey_store::orgs::{Org, Profile};
use latchkey_store::sessions::{self, NewSession, Session};
use latchkey_store::users::User;
use latchkey_store::Write;
use secrecy::{ExposeSecret, SecretString};

use crate::{AccountError, Services};

/// Hex digits of the issue time (Unix milliseconds) after the `!` of a session id.
const TIME_DIGITS: usize = 12;
/// Random alphanumerics after the issue time (about 571 bits).
const RANDOM_CHARS: usize = 96;

/// The stored key of session id `id`. An id carries its issue time (Unix milliseconds,
/// 12 hex digits after the `!`), and its key starts with that time, so that each new
/// session is added at the end of the sessions index rather than on a random index
/// page. Ids without the time (96 characters after the `!`) keep their plain digest,
/// so their sessions stay valid.
pub(crate) fn session_key(id: &str) -> SecretDigest {
    let after_org = id.split_once('!').map_or("", |(_, rest)| rest);
    let time = after_org
        .get(..TIME_DIGITS)
        .filter(|_| after_org.len() == TIME_DIGITS + RANDOM_CHARS)
        .and_then(|t| u64::from_str_radix(t, 16).ok());
    match time {
        Some(millis) => SecretDigest::ordered(millis, id),
        None => SecretDigest::of(id),
    }
}

/// Which session a successful password login gets (see
/// [`Services::login`]).
#[derive(Debug, Clone, Copy)]
pub struct SessionFor<'a> {
    /// The connected app it is issued to (OAuth), if any.
    pub client_id: Option<&'a str>,
    /// Only a password change is allowed (expired password).
    pub restricted: bool,
}

/// A session and whose it is: the user, their org and their profile, as read when the
/// session is presented.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
    /// Their org.
    pub org: Org,
    /// Their profile (what they may do).
    pub profile: Profile,
}

/// An issued session: the id to hand to the client, and how long it stays valid idle.
#[derive(Debug)]
pub struct Issued {
    /// The session id (a secret).
    pub id: SecretString,
    /// Idle timeout in seconds.
    pub seconds_valid: i64,
}

impl Services {
    /// Issues a session for `user` of `org` (idle timeout from the org); `restricted`
    /// sessions may only change the password.
    pub async fn issue_session(
        &self,
        user: &User,
        org: &Org,
        client_id: Option<&str>,
        restricted: bool,
    ) -> Result<Issued, AccountError> {
        let (issued, new) = self.new_session(user, org, client_id, restricted, None);
        self.store.write(Write::Session(new)).await?;
        Ok(issued)
    }

    /// Issues the session of a password login together with the login's history row
    /// (one group commit).
    pub(crate) async fn issue_recorded_session(
        &self,
        user: &User,
        org: &Org,
        session: SessionFor<'_>,
        history: NewLogin,
    ) -> Result<Issued, AccountError> {
        let (issued, new) = self.new_session(user, org, session.client_id, session.restricted, None);
        self.store
            .write_all(vec![Write::Login(history), Write::Session(new)])
            .await?;
        Ok(issued)
    }

    pub(crate) fn new_session(
        &self,
        user: &User,
        org: &Org,
        client_id: Option<&str>,
        restricted: bool,
        refresh: Option<&SecretDigest>,
    ) -> (Issued, NewSession) {
        let now = self.clock.now();
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let id = SecretString::from(format!(
            "{}!{millis:0width$x}{}",
            user.org_id.short(),
            random_alphanumeric(RANDOM_CHARS).expose_secret(),
            width = TIME_DIGITS
        ));
        let idle = Duration::minutes(org.session_timeout_minutes);
        let new = NewSession {
            digest: session_key(id.expose_secret()),
            user_id: user.id.clone(),
            org_id: user.org_id.clone(),
            client_id: client_id.map(str::to_owned),
            restricted,
            idle,
            refresh: refresh.cloned(),
            now,
        };
        let issued = Issued {
            id,
            seconds_valid: idle.num_seconds(),
        };
        (issued, new)
    }

    /// The live session behind `id`, its idle timer restarted; `None` when unknown or
    /// expired.
    pub async fn session(&self, id: &str) -> Result<Option<Session>, AccountError> {
        let mut conn = self.store.conn().await?;
        let Some(org_part) = id.split('!').next().filter(|p| p.len() == 15) else {
            return Ok(None);
        };
        let Ok(org_id) = org_part.parse::<latchkey_core::ids::OrgId>() else {
            return Ok(None);
        };
        let Some(org) = latchkey_store::orgs::find(&mut conn, &org_id).await? else {
            return Ok(None);
        };
        let idle = Duration::minutes(org.session_timeout_minutes);
        Ok(sessions::touch(&mut conn, &session_key(id), self.clock.now(), idle).await?)
    }

    /// The user's live sessions, most recently used first.
    pub async fn sessions_of(&self, user: &User) -> Result<Vec<sessions::Listed>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(sessions::for_user(&mut conn, &user.id, self.clock.now()).await?)
    }

    /// Who the live session `id` is, its idle timer restarted; `None` when unknown or
    /// expired.
    pub async fn signed_in(&self, id: &str) -> Result<Option<SignedIn>, AccountError> {
        let Some(session) = self.session(id).await? else {
            return Ok(None);
        };
        let (user, org) = self.user_and_org(&session.user_id).await?;
        let profile = self.profile_of(&user).await?;
        Ok(Some(SignedIn {
            session,
            user,
            org,
            profile,
        }))
    }

    /// Ends the user's own session with this digest (My Settings → revoke); `true`
    /// when it is theirs and live.
    pub async fn end_session_of(&self, user: &User, digest: &SecretDigest) -> Result<bool, AccountError> {
        let mut conn = self.store.conn().await?;
        self.caches.sessions.forget(digest);
        let ended = sessions::delete_for_user_by_digest(&mut conn, &user.id, digest).await?;
        if ended {
            latchkey_store::epoch::advance(&mut conn).await?;
        }
        tracing::info!(user_id = %user.id, ended, "session revoked by its user");
        Ok(ended)
    }

    /// Ends the session behind `id`; `true` when there is one.
    pub async fn end_session(&self, id: &str) -> Result<bool, AccountError> {
        let mut conn = self.store.conn().await?;
        let digest = session_key(id);
        self.caches.sessions.forget(&digest);
        Ok(sessions::delete(&mut conn, &digest).await?)
    }
}
