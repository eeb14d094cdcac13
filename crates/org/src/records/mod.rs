//! Records for REST callers: the org's schema (cached briefly), record operations,
//! SOQL queries with paging, replication feeds, collections, and the caller checks
//! (session cache, daily API counts) in front of them.

mod caller;
pub mod collections;
mod error;
pub mod listviews;
mod query;
mod replication;
mod service;
pub mod tree;
mod usage;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_core::ids::{OrgId, ProfileId};
use latchkey_core::records::{CustomField, OrgSchema};

use crate::accounts::admin::Admin;
use crate::{AccountError, Services};

pub use caller::{Caller, SessionCache};
pub use collections::{CollectionResult, DEFAULT_MAX_RECORDS};
pub use error::RestError;
pub use query::{QueryPage, DEFAULT_PAGE};
pub use replication::{Deleted, Updated};
pub use service::{record_id, Retrieved, Upserted};
pub use usage::{ApiUsage, Usage};

/// How long an org's schema is used without re-reading its custom fields. Fields
/// added on this node are seen at once; on other nodes within this time.
const SCHEMA_TTL: Duration = Duration::from_secs(5);

/// In-memory caches of the records services.
#[derive(Debug, Default)]
pub struct Caches {
    /// Checked sessions.
    pub sessions: SessionCache,
    /// Daily API counters.
    pub api_usage: ApiUsage,
    /// Login-decision inputs (apps, users, login contexts).
    pub decisions: crate::login::decision_cache::DecisionCache,
    schemas: Mutex<HashMap<OrgId, (Arc<OrgSchema>, Instant)>>,
}

impl Services {
    /// The org's custom fields.
    pub async fn custom_fields(&self, org: &OrgId) -> Result<Vec<CustomField>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(latchkey_store::records::custom::list(&mut conn, org).await?)
    }

    /// The org's objects with its custom fields (shared, not copied, per request).
    pub async fn schema(&self, org: &OrgId) -> Result<Arc<OrgSchema>, AccountError> {
        {
            let schemas = self
                .caches
                .schemas
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((schema, at)) = schemas.get(org) {
                if at.elapsed() < SCHEMA_TTL {
                    return Ok(Arc::clone(schema));
                }
            }
        }
        let mut conn = self.store.conn().await?;
        let schema = Arc::new(OrgSchema::new(
            &latchkey_store::records::custom::list(&mut conn, org).await?,
        ));
        self.caches
            .schemas
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(org.clone(), (Arc::clone(&schema), Instant::now()));
        Ok(schema)
    }
}

impl Admin {
    /// Administrator action: allows or refuses API access to a profile's users.
    pub async fn set_profile_api_enabled(&self, profile: &ProfileId, enabled: bool) -> Result<(), AccountError> {
        let mut conn = self.services.store.conn().await?;
        let found = latchkey_store::orgs::profile(&mut conn, profile).await;
        if !found.is_ok_and(|p| self.holds(&p.org_id)) {
            return Err(AccountError::NotFound(format!("profile {profile}")));
        }
        if !latchkey_store::orgs::set_api_enabled(&mut conn, profile, enabled).await? {
            return Err(AccountError::NotFound(format!("profile {profile}")));
        }
        self.services.caches.sessions.forget_all();
        self.services.decisions_changed();
        tracing::info!(profile_id = %profile, enabled, "profile API access set");
        Ok(())
    }

    /// Administrator action: sets an org's daily REST API allowance.
    pub async fn set_api_allowance(&self, org: &OrgId, allowance: i64) -> Result<(), AccountError> {
        self.check(org)?;
        if allowance < 1 {
            return Err(AccountError::Invalid(
                "the daily API allowance must be at least 1".into(),
            ));
        }
        let mut conn = self.services.store.conn().await?;
        if !latchkey_store::orgs::set_daily_api_requests(&mut conn, org, allowance).await? {
            return Err(AccountError::NotFound(format!("org {org}")));
        }
        self.services.caches.api_usage.forget(org);
        self.services.decisions_changed();
        Ok(())
    }

    /// Administrator action: adds a custom field to an object of `org`.
    pub async fn add_custom_field(&self, org: &OrgId, field: &CustomField) -> Result<(), AccountError> {
        self.check(org)?;
        field.validate().map_err(|e| AccountError::Invalid(e.to_string()))?;
        if !field.object.is_stored() {
            return Err(AccountError::Invalid(format!(
                "{} takes no custom fields here (only Account, Contact, Lead and Opportunity do)",
                field.object
            )));
        }
        if OrgSchema::new(&[]).object(field.object).field(&field.name).is_some() {
            return Err(AccountError::Duplicate("field"));
        }
        let mut tx = self.services.store.begin().await?;
        latchkey_store::records::custom::add(&mut tx, org, field, self.services.clock.now()).await?;
        latchkey_store::commit(tx).await?;
        self.services
            .caches
            .schemas
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(org);
        tracing::info!(org_id = %org, object = %field.object, field = %field.name, "custom field added");
        Ok(())
    }
}
