//! Reading login history: an administrator's search and hourly chart of their org, the
//! whole history at the console, and a user's own recent logins in My Settings.

use chrono::{DateTime, Utc};
use latchkey_core::ids::OrgId;
use latchkey_store::login_history::{self, Filter, HourCount, LoginRecord, Search};
use latchkey_store::users::User;

use crate::accounts::admin::Admin;
use crate::{AccountError, Services};

impl Services {
    /// The newest `limit` logins of `user`, newest first.
    pub async fn own_logins(&self, user: &User, limit: i64) -> Result<Vec<LoginRecord>, AccountError> {
        let filter = Filter {
            org_id: None,
            user_id: Some(&user.id),
            limit,
        };
        Ok(login_history::list(&self.store, &filter).await?)
    }
}

impl Admin {
    /// Login history as `filter` selects it, newest first; an org out of scope is not
    /// found, and without an org only the console sees every org's rows.
    pub async fn login_history(&self, filter: &Filter<'_>) -> Result<Vec<LoginRecord>, AccountError> {
        let filter = match (filter.org_id, self.org()) {
            (Some(org), _) => {
                self.check(org)?;
                Filter { ..*filter }
            }
            (None, Some(mine)) => Filter {
                org_id: Some(mine),
                ..*filter
            },
            (None, None) => Filter { ..*filter },
        };
        Ok(login_history::list(&self.services.store, &filter).await?)
    }

    /// The org's login history as the search selects it, newest first.
    pub async fn search_logins(&self, search: &Search<'_>) -> Result<Vec<LoginRecord>, AccountError> {
        self.check(search.org_id)?;
        Ok(login_history::search(&self.services.store, search).await?)
    }

    /// The org's successful and failed logins per hour since `since`.
    pub async fn hourly_logins(&self, org: &OrgId, since: DateTime<Utc>) -> Result<Vec<HourCount>, AccountError> {
        self.check(org)?;
        Ok(login_history::hourly(&self.services.store, org, since).await?)
    }
}
