//! Who is calling the REST API: the session behind a bearer token, checked through a
//! small in-memory cache so a busy integration costs the store one session lookup
//! every few seconds rather than one per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::records::ObjectKind;
use latchkey_core::secret::SecretDigest;

use crate::{AccountError, Services};

/// How long a checked session is trusted without asking the store again. Sessions
/// ended on this node are dropped from the cache at once; a revocation made elsewhere
/// (another server, the CLI) moves the change epoch, which empties the cache within
/// [`crate::login::decision_cache::POLL`]; anything else is rechecked after this time.
pub const RECHECK_AFTER: Duration = Duration::from_secs(5);

/// Most cached sessions (the cache is cleared of stale entries when full).
const CAPACITY: usize = 50_000;

/// An authenticated REST caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The org.
    pub org_id: OrgId,
    /// The user.
    pub user_id: UserId,
    /// The user's profile allows API access.
    pub api_enabled: bool,
    /// The user's profile is an administrator's: it reads every user's login history
    /// and login state, where a standard user reads only its own.
    pub admin: bool,
    /// Expired-password session: only a password change is allowed.
    pub restricted: bool,
}

/// The cache of checked sessions, keyed by the digest of the session id.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<[u8; 32], (Caller, Instant)>>,
}

impl SessionCache {
    fn get(&self, key: &[u8; 32]) -> Option<Caller> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < RECHECK_AFTER)
            .map(|(c, _)| c.clone())
    }

    fn put(&self, key: [u8; 32], caller: Caller) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.retain(|_, (_, at)| at.elapsed() < RECHECK_AFTER);
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
            }
            entries.insert(key, (caller, Instant::now()));
        }
    }

    /// Forgets one session.
    pub fn forget(&self, digest: &SecretDigest) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(digest.as_bytes());
        }
    }

    /// Forgets every session (after a change that affects many users, such as a
    /// profile's API permission).
    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// Forgets every session of a user.
    pub fn forget_user(&self, user: &UserId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (c, _)| &c.user_id != user);
        }
    }
}

impl Caller {
    /// Whether this caller may read `kind` at all: `UserLogin` is for administrators
    /// (Salesforce asks for Manage Users), as if it did not exist for anyone else.
    pub fn sees(&self, kind: ObjectKind) -> bool {
        self.admin || kind != ObjectKind::UserLogin
    }

    /// Whether this caller reads only its own rows of `kind`: a standard user's
    /// `LoginHistory` is its own logins.
    pub fn reads_own_only(&self, kind: ObjectKind) -> bool {
        !self.admin && kind == ObjectKind::LoginHistory
    }
}

impl Services {
    /// The caller behind a session id, or `None` when the session is unknown or expired.
    pub async fn api_caller(&self, token: &str) -> Result<Option<Caller>, AccountError> {
        let digest = crate::login::sessions::session_key(token);
        self.poll_decisions().await?;
        if let Some(caller) = self.caches.sessions.get(digest.as_bytes()) {
            return Ok(Some(caller));
        }
        let Some(session) = self.session(token).await? else {
            return Ok(None);
        };
        let mut conn = self.store.conn().await?;
        let user = latchkey_store::users::get(&mut conn, &session.user_id).await?;
        let profile = latchkey_store::orgs::profile(&mut conn, &user.profile_id).await?;
        let caller = Caller {
            org_id: session.org_id,
            user_id: session.user_id,
            api_enabled: profile.api_enabled,
            admin: profile.is_admin,
            restricted: session.restricted,
        };
        self.caches.sessions.put(*digest.as_bytes(), caller.clone());
        Ok(Some(caller))
    }
}
