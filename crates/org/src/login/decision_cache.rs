//! The inputs of login decisions, kept in memory: connected apps, users (by id for
//! the grants that need no password, by username for the password flow), each
//! (org, profile)'s login context, the live refresh tokens of apps that do not
//! rotate them, and which addresses are familiar to a user. A grant or a locked-out retry then costs no database read.
//!
//! Freshness: the database moves a change epoch (by trigger) whenever one of these
//! inputs changes; the first request after [`POLL`] reads it, and a moved epoch
//! empties every cache. Changes made through this process's services empty them at
//! once. So a change made elsewhere (another server, the CLI) is seen within
//! [`POLL`]; [`TTL`] bounds everything else (a race between a load and an
//! invalidation).

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_core::ids::{OrgId, ProfileId, UserId};
use latchkey_store::apps::ConnectedApp;
use latchkey_store::orgs::LoginContext;
use latchkey_store::refresh_tokens::RefreshToken;
use latchkey_store::users::User;
use moka::sync::Cache;

use crate::AccountError;

/// How often the change epoch is read.
pub const POLL: Duration = Duration::from_millis(50);

/// The longest any input is used without reading it again.
pub const TTL: Duration = Duration::from_secs(5);

/// Most entries per cache.
const CAPACITY: u64 = 50_000;

fn cache<K, V>() -> Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build()
}

/// Cached login-decision inputs.
pub struct DecisionCache {
    apps: Cache<String, ConnectedApp>,
    users: Cache<UserId, User>,
    named: Cache<String, User>,
    contexts: Cache<(OrgId, ProfileId), Arc<LoginContext>>,
    /// Live refresh tokens by digest (revocation moves the epoch).
    refresh_tokens: Cache<[u8; 32], RefreshToken>,
    /// Whether an address is familiar to a user (smart lockout).
    familiar: Cache<(UserId, String), bool>,
    /// The last epoch read (-1: none yet).
    epoch: AtomicI64,
    /// Bumped by every invalidation; a load that spans one is not cached.
    generation: AtomicU64,
    /// Milliseconds after `started` of the last epoch read.
    polled_at: AtomicU64,
    started: Instant,
}

impl Default for DecisionCache {
    fn default() -> Self {
        Self {
            apps: cache(),
            users: cache(),
            named: cache(),
            contexts: cache(),
            refresh_tokens: cache(),
            familiar: cache(),
            epoch: AtomicI64::new(-1),
            generation: AtomicU64::new(0),
            polled_at: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl std::fmt::Debug for DecisionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionCache")
            .field("epoch", &self.epoch.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl DecisionCache {
    /// Forgets everything (after a change made through this process).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.apps.invalidate_all();
        self.users.invalidate_all();
        self.named.invalidate_all();
        self.contexts.invalidate_all();
        self.refresh_tokens.invalidate_all();
        self.familiar.invalidate_all();
    }

    /// Reads the change epoch with `read` when [`POLL`] has passed since the last
    /// read (one caller does; the others go on meanwhile), and forgets everything
    /// when it moved; `true` then.
    pub async fn poll<F, Fut>(&self, read: F) -> Result<bool, AccountError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64, AccountError>>,
    {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.polled_at.load(Ordering::Acquire);
        let due = self.epoch.load(Ordering::Acquire) < 0 || now.saturating_sub(last) >= POLL.as_millis() as u64;
        if !due
            || self
                .polled_at
                .compare_exchange(last, now.max(last + 1), Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return Ok(false);
        }
        let epoch = read().await?;
        let moved = self.epoch.swap(epoch, Ordering::AcqRel) != epoch;
        if moved {
            self.invalidate();
        }
        Ok(moved)
    }

    async fn through<K, V, F, Fut>(&self, cache: &Cache<K, V>, key: K, load: F) -> Result<V, AccountError>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, AccountError>>,
    {
        if let Some(v) = cache.get(&key) {
            return Ok(v);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let v = load().await?;
        if self.generation.load(Ordering::Acquire) == generation {
            cache.insert(key, v.clone());
        }
        Ok(v)
    }

    /// Like [`Self::through`] for a load that may find nothing; what it does not find
    /// is not remembered (unknown keys, such as made-up consumer keys or usernames,
    /// would fill the cache).
    async fn through_found<F, Fut, V>(
        &self,
        cache: &Cache<String, V>,
        key: &str,
        load: F,
    ) -> Result<Option<V>, AccountError>
    where
        V: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, AccountError>>,
    {
        if let Some(v) = cache.get(key) {
            return Ok(Some(v));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let found = load().await?;
        if let Some(v) = &found {
            if self.generation.load(Ordering::Acquire) == generation {
                cache.insert(key.to_owned(), v.clone());
            }
        }
        Ok(found)
    }

    /// The app with this consumer key, loaded with `load` when not cached.
    pub async fn app<F, Fut>(&self, client_id: &str, load: F) -> Result<Option<ConnectedApp>, AccountError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<ConnectedApp>, AccountError>>,
    {
        self.through_found(&self.apps, client_id, load).await
    }

    /// The user with this id.
    pub async fn user<F, Fut>(&self, id: &UserId, load: F) -> Result<User, AccountError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<User, AccountError>>,
    {
        self.through(&self.users, id.clone(), load).await
    }

    /// Whether `address` is familiar to the user `id`.
    pub async fn familiar<F, Fut>(&self, id: &UserId, address: String, load: F) -> Result<bool, AccountError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<bool, AccountError>>,
    {
        self.through(&self.familiar, (id.clone(), address), load).await
    }

    /// The login context of a profile of an org.
    pub async fn context<F, Fut>(
        &self,
        org: &OrgId,
        profile: &ProfileId,
        load: F,
    ) -> Result<Arc<LoginContext>, AccountError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<LoginContext>, AccountError>>,
    {
        self.through(&self.contexts, (org.clone(), profile.clone()), load).await
    }

    /// The live refresh token with this digest, if cached.
    pub fn refresh_token(&self, digest: &[u8; 32]) -> Option<RefreshToken> {
        self.refresh_tokens.get(digest)
    }

    /// Remembers a live refresh token read from the store at `generation` (see
    /// [`Self::generation`]); nothing when an invalidation came in between.
    pub fn remember_refresh_token(&self, generation: u64, digest: &[u8; 32], token: RefreshToken) {
        if self.generation.load(Ordering::Acquire) == generation {
            self.refresh_tokens.insert(*digest, token);
        }
    }

    /// Forgets one refresh token (its `last_used_at` changes).
    pub fn forget_refresh_token(&self, digest: &[u8; 32]) {
        self.refresh_tokens.invalidate(digest);
    }

    /// Forgets every refresh token (some are revoked here).
    pub fn forget_refresh_tokens(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.refresh_tokens.invalidate_all();
    }

    /// The invalidation count, to take before a load that may be remembered.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The user behind `username` (lower-cased), loaded with `load` when not cached.
    pub async fn user_named<F, Fut>(&self, username: &str, load: F) -> Result<Option<User>, AccountError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<User>, AccountError>>,
    {
        self.through_found(&self.named, &username.trim().to_lowercase(), load)
            .await
    }
}

impl crate::Services {
    /// Reads the change epoch if due (see [`DecisionCache::poll`]); a moved epoch
    /// also empties the cache of checked sessions, so a revocation made elsewhere ends
    /// them here within [`POLL`].
    pub(crate) async fn poll_decisions(&self) -> Result<(), AccountError> {
        let moved = self
            .caches
            .decisions
            .poll(|| async {
                let mut conn = self.store.conn().await?;
                Ok(latchkey_store::epoch::current(&mut conn).await?)
            })
            .await?;
        if moved {
            self.caches.sessions.forget_all();
        }
        Ok(())
    }

    /// The connected app with this consumer key, through the cache.
    pub(crate) async fn decision_app(&self, client_id: &str) -> Result<Option<ConnectedApp>, AccountError> {
        self.poll_decisions().await?;
        self.caches
            .decisions
            .app(client_id, || async {
                let mut conn = self.store.conn().await?;
                Ok(latchkey_store::apps::find(&mut conn, client_id).await?)
            })
            .await
    }

    /// The user with this id, through the cache.
    pub(crate) async fn decision_user(&self, id: &UserId) -> Result<User, AccountError> {
        self.poll_decisions().await?;
        self.caches
            .decisions
            .user(id, || async {
                let mut conn = self.store.conn().await?;
                Ok(latchkey_store::users::get(&mut conn, id).await?)
            })
            .await
    }

    /// The login context of `user`, through the cache.
    pub(crate) async fn decision_context(&self, user: &User) -> Result<Arc<LoginContext>, AccountError> {
        self.poll_decisions().await?;
        self.caches
            .decisions
            .context(&user.org_id, &user.profile_id, || async {
                let mut conn = self.store.conn().await?;
                let context = latchkey_store::orgs::login_context(&mut conn, &user.org_id, &user.profile_id).await?;
                Ok(Arc::new(context))
            })
            .await
    }

    /// The user behind `username` and their login context, through the cache. The
    /// password flow reads the user again before it hashes (their credentials and
    /// lock then are the stored ones).
    pub(crate) async fn decision_inputs(
        &self,
        username: &str,
    ) -> Result<Option<(User, Arc<LoginContext>)>, AccountError> {
        self.poll_decisions().await?;
        let user = self
            .caches
            .decisions
            .user_named(username, || async {
                let mut conn = self.store.conn().await?;
                Ok(latchkey_store::users::find_by_username(&mut conn, username).await?)
            })
            .await?;
        let Some(user) = user else { return Ok(None) };
        let context = self.decision_context(&user).await?;
        Ok(Some((user, context)))
    }

    /// Forgets every cached decision input (after a change made here).
    pub(crate) fn decisions_changed(&self) {
        self.caches.decisions.invalidate();
    }

    /// Forgets, on this server at once, the sessions of `user` and the refresh tokens
    /// in memory (after revoking some here; other servers learn it from the epoch).
    pub(crate) fn forget_tokens(&self, user: &UserId) {
        self.caches.sessions.forget_user(user);
        self.caches.decisions.forget_refresh_tokens();
    }
}
