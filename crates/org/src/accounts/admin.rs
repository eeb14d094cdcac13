//! Typed administrative access. An [`Admin`] is the proof that its holder may run an
//! org's administrative operations (users, passwords, locks, policy, networks, apps,
//! webhooks, login history): those operations exist only on it, so no page, command or
//! service reaches them without one. Pages get one from a signed-in administrator
//! ([`Services::admin`]); the command line, run by whoever holds the server's database
//! and configuration, from [`Services::console`].

use latchkey_core::ids::OrgId;
use latchkey_store::users::User;

use crate::login::sessions::SignedIn;
use crate::{AccountError, Services};

/// The orgs an [`Admin`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Every org: the server's console.
    Console,
    /// One org: an administrator signed in to it.
    Org(OrgId),
}

/// An administrator, proven: the holder of the administrative operations of the orgs
/// in its scope. Users and orgs outside the scope are not found.
#[derive(Clone)]
pub struct Admin {
    pub(crate) services: Services,
    scope: Scope,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// The administrator `signed_in` proves, or `None`: only a full session (not one
    /// that may only change an expired password) of a user whose profile administers
    /// the org, and only for that org.
    pub fn admin(&self, signed_in: &SignedIn) -> Option<Admin> {
        (signed_in.profile.is_admin && !signed_in.session.restricted && signed_in.session.client_id.is_none()).then(
            || Admin {
                services: self.clone(),
                scope: Scope::Org(signed_in.org.id.clone()),
            },
        )
    }

    /// The administrator of `org` that an API session of an administrator's profile
    /// proves (Salesforce's "Manage Users"); the caller checks the session first.
    pub(crate) fn org_admin(&self, org: &OrgId) -> Admin {
        Admin {
            services: self.clone(),
            scope: Scope::Org(org.clone()),
        }
    }

    /// The administrator at the server's console (the `latchkey` command line), who
    /// holds the database and the configuration and so every org.
    pub fn console(&self) -> Admin {
        Admin {
            services: self.clone(),
            scope: Scope::Console,
        }
    }
}

impl Admin {
    /// The org this administrator is signed in to; `None` at the console.
    pub fn org(&self) -> Option<&OrgId> {
        match &self.scope {
            Scope::Console => None,
            Scope::Org(org) => Some(org),
        }
    }

    /// Whether `org` is in scope.
    pub fn holds(&self, org: &OrgId) -> bool {
        self.org().is_none_or(|mine| mine == org)
    }

    /// `Ok` when `org` is in scope; an org out of scope is not found.
    pub(crate) fn check(&self, org: &OrgId) -> Result<(), AccountError> {
        if self.holds(org) {
            Ok(())
        } else {
            Err(AccountError::NotFound(format!("org {:?}", org.as_str())))
        }
    }

    /// `Ok` at the console; elsewhere the operation is the console's alone.
    pub(crate) fn console_only(&self) -> Result<(), AccountError> {
        match self.scope {
            Scope::Console => Ok(()),
            Scope::Org(_) => Err(AccountError::Invalid("only the server's console may do this".into())),
        }
    }

    /// The user `username` of an org in scope; any other user is not found.
    pub(crate) async fn member(&self, username: &str) -> Result<User, AccountError> {
        let user = self.services.user(username).await?;
        if self.holds(&user.org_id) {
            Ok(user)
        } else {
            Err(AccountError::NotFound(format!("user {:?}", username.trim())))
        }
    }

    /// The org named by id or name (`None`: the signed-in org, or at the console the
    /// only org), if in scope.
    pub async fn resolve_org(&self, org: Option<&str>) -> Result<latchkey_store::orgs::Org, AccountError> {
        let resolved = match (org, self.org()) {
            (None, Some(mine)) => self.services.resolve_org(Some(mine.as_str())).await?,
            (key, _) => self.services.resolve_org(key).await?,
        };
        self.check(&resolved.id)?;
        Ok(resolved)
    }
}
