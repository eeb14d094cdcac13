//! SOQL queries for a REST caller, paged. The `nextRecordsUrl` locator is stateless:
//! it carries the query, the position and the time the first page was read (so
//! relative dates do not drift between pages), so any node can serve the next page.
//! It is sealed with an HMAC under the server secret, bound to the org and user it is
//! issued to, so a client can neither rewrite it nor use another caller's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use latchkey_core::records::{ObjectKind, Value};
use latchkey_core::secret::FingerprintKey;
use latchkey_core::soql::plan::{Column, Output, Relationship};
use latchkey_core::soql::{self, Plan};
use latchkey_store::records::{self, QueryRow};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::{Caller, RestError};
use crate::Services;

/// Records per page unless the client asks for fewer (Salesforce's default and maximum).
pub const DEFAULT_PAGE: u64 = 2000;
/// Smallest page a client may ask for.
pub const MIN_PAGE: u64 = 200;

/// One page of query results.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// Matches across all pages.
    pub total: u64,
    /// The locator of the next page, when there is one.
    pub next: Option<String>,
    /// The object queried.
    pub object: ObjectKind,
    /// The parents joined.
    pub relationships: Vec<Relationship>,
    /// The output columns (empty for `COUNT()`).
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<QueryRow>,
}

/// What a locator remembers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// Query text.
    q: String,
    /// queryAll.
    all: bool,
    /// Time of the first page, epoch ms.
    at: i64,
    /// Total matches.
    total: u64,
    /// Absolute offset of the next page.
    skip: u64,
    /// Absolute end (offset + limit of the query, or the total).
    end: u64,
    /// Page size.
    page: u64,
}

/// Bytes of the HMAC kept in a locator (128 bits).
const SEAL_LEN: usize = 16;

impl Cursor {
    /// The seal of `json` for `caller`: an HMAC under a label no user id can take.
    fn seal(key: &FingerprintKey, caller: &Caller, json: &str) -> [u8; SEAL_LEN] {
        let binding = format!("\0latchkey-locator\0{}\0{}", caller.org_id, caller.user_id);
        let mac = key.fingerprint(&binding, json);
        let mut seal = [0u8; SEAL_LEN];
        seal.copy_from_slice(&mac[..SEAL_LEN]);
        seal
    }

    /// `01g` + base64url(seal + JSON) + `-` + offset: slash-free, as jsforce needs.
    fn encode(&self, key: &FingerprintKey, caller: &Caller) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut bytes = Self::seal(key, caller, &json).to_vec();
        bytes.extend_from_slice(json.as_bytes());
        format!("01g{}-{}", URL_SAFE_NO_PAD.encode(bytes), self.skip)
    }

    /// The cursor of a locator this server sealed for `caller`; anything else, however
    /// well-formed, is [`RestError::BadLocator`].
    fn decode(locator: &str, key: &FingerprintKey, caller: &Caller) -> Result<Self, RestError> {
        let body = locator.strip_prefix("01g").ok_or(RestError::BadLocator)?;
        let (b64, skip) = body.rsplit_once('-').ok_or(RestError::BadLocator)?;
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| RestError::BadLocator)?;
        if bytes.len() <= SEAL_LEN {
            return Err(RestError::BadLocator);
        }
        let (seal, json) = bytes.split_at(SEAL_LEN);
        let json = std::str::from_utf8(json).map_err(|_| RestError::BadLocator)?;
        if !bool::from(Self::seal(key, caller, json).ct_eq(seal)) {
            return Err(RestError::BadLocator);
        }
        let cursor: Cursor = serde_json::from_str(json).map_err(|_| RestError::BadLocator)?;
        if skip.parse::<u64>().ok() != Some(cursor.skip) || !(MIN_PAGE..=DEFAULT_PAGE).contains(&cursor.page) {
            return Err(RestError::BadLocator);
        }
        Ok(cursor)
    }
}

impl Services {
    /// The plan of `text` for `caller`: objects it may not see do not exist, and
    /// objects it reads only its own rows of are narrowed to those.
    fn plan_for(
        &self,
        caller: &Caller,
        schema: &latchkey_core::records::OrgSchema,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<Plan, RestError> {
        let soql_error = |error| RestError::Soql {
            error,
            query: text.to_owned(),
        };
        let parsed = soql::parse(text).map_err(soql_error)?;
        let mut plan = soql::plan(&parsed, schema, at).map_err(soql_error)?;
        let hidden = |kind| !caller.sees(kind);
        if hidden(plan.object) || plan.relationships.iter().any(|r| hidden(r.target)) {
            return Err(soql_error(soql::plan::unsupported_object(&parsed)));
        }
        if caller.reads_own_only(plan.object) {
            if let Some(user) = schema.object(plan.object).field("UserId") {
                plan.narrow(user.clone(), Value::Text(caller.user_id.as_str().to_owned()));
            }
        }
        Ok(plan)
    }

    /// The checked plan of a query, for `columns=true` (the columns it selects, with
    /// the same checks and visibility as running it).
    pub async fn query_plan(&self, caller: &Caller, text: &str) -> Result<Plan, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        self.plan_for(caller, &schema, text, self.clock.now())
    }

    /// The first page of a query (`all_rows`: include recycled records, as `queryAll`).
    pub async fn query(&self, caller: &Caller, text: &str, all_rows: bool, page: u64) -> Result<QueryPage, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let now = self.clock.now();
        let plan = self.plan_for(caller, &schema, text, now)?;
        let mut conn = self.store.conn().await?;
        let start = plan.offset.unwrap_or(0);
        let page = page.clamp(MIN_PAGE, DEFAULT_PAGE);
        let first_take = plan.limit.map_or(page, |l| l.min(page));
        // The first page and the number of matches in one scan (COUNT() plans fetch no rows).
        let (matches, rows) = if matches!(plan.output, Output::Count) || first_take == 0 {
            (
                records::count(&mut conn, &caller.org_id, &plan, all_rows).await?,
                Vec::new(),
            )
        } else {
            records::query_counted(&mut conn, &caller.org_id, &plan, all_rows, start, first_take).await?
        };
        let end = plan.limit.map_or(matches, |l| matches.min(start.saturating_add(l)));
        let cursor = Cursor {
            q: text.to_owned(),
            all: all_rows,
            at: now.timestamp_millis(),
            total: end.saturating_sub(start),
            skip: start,
            end,
            page,
        };
        Ok(self.assemble(caller, &plan, cursor, rows))
    }

    /// How many live records of each of `kinds` the caller's org holds, as
    /// `limits/recordCount` reports them.
    pub async fn record_counts(
        &self,
        caller: &Caller,
        kinds: &[ObjectKind],
    ) -> Result<Vec<(ObjectKind, u64)>, RestError> {
        let mut counts = Vec::with_capacity(kinds.len());
        for &kind in kinds.iter().filter(|k| caller.sees(**k)) {
            let page = self
                .query(
                    caller,
                    &format!("SELECT COUNT() FROM {}", kind.name()),
                    false,
                    DEFAULT_PAGE,
                )
                .await?;
            counts.push((kind, page.total));
        }
        Ok(counts)
    }

    /// The page a locator names; only the caller it is issued to may read it.
    pub async fn query_more(&self, caller: &Caller, locator: &str) -> Result<QueryPage, RestError> {
        let cursor = Cursor::decode(locator, &self.fingerprint_key, caller)?;
        let schema = self.schema(&caller.org_id).await?;
        let at = DateTime::from_timestamp_millis(cursor.at).ok_or(RestError::BadLocator)?;
        let plan = self
            .plan_for(caller, &schema, &cursor.q, at)
            .map_err(|_| RestError::BadLocator)?;
        let mut conn = self.store.conn().await?;
        self.page(&mut conn, caller, &plan, cursor).await
    }

    async fn page(
        &self,
        conn: &mut latchkey_store::Conn,
        caller: &Caller,
        plan: &Plan,
        cursor: Cursor,
    ) -> Result<QueryPage, RestError> {
        let take = cursor.page.min(cursor.end.saturating_sub(cursor.skip));
        let rows = if matches!(plan.output, Output::Count) || take == 0 {
            Vec::new()
        } else {
            records::query(conn, &caller.org_id, plan, cursor.all, cursor.skip, take).await?
        };
        Ok(self.assemble(caller, plan, cursor, rows))
    }

    /// A page from its rows; the locator of the next page when more remain.
    fn assemble(&self, caller: &Caller, plan: &Plan, cursor: Cursor, rows: Vec<QueryRow>) -> QueryPage {
        let columns = match &plan.output {
            Output::Count => Vec::new(),
            Output::Fields(c) => c.clone(),
        };
        let next_skip = cursor.skip + rows.len() as u64;
        let next = (!columns.is_empty() && !rows.is_empty() && next_skip < cursor.end).then(|| {
            Cursor {
                skip: next_skip,
                ..cursor.clone()
            }
            .encode(&self.fingerprint_key, caller)
        });
        QueryPage {
            total: cursor.total,
            next,
            object: plan.object,
            relationships: plan.relationships.clone(),
            columns,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::ids::{OrgId, UserId};

    use super::*;

    fn caller(org: &str, user: &str) -> Caller {
        Caller {
            org_id: org.parse::<OrgId>().unwrap(),
            user_id: user.parse::<UserId>().unwrap(),
            api_enabled: true,
            admin: true,
            restricted: false,
        }
    }

    #[test]
    fn locators_round_trip_for_their_caller_only_and_are_slash_free() {
        let key = FingerprintKey::new([4; 32]);
        let jane = caller("00D000000000001", "005000000000001");
        let c = Cursor {
            q: "SELECT Id FROM Contact WHERE Name LIKE '%/%'".into(),
            all: true,
            at: 1,
            total: 5000,
            skip: 2000,
            end: 5000,
            page: 2000,
        };
        let loc = c.encode(&key, &jane);
        assert!(!loc.contains('/') && loc.starts_with("01g") && loc.ends_with("-2000"));
        assert_eq!(Cursor::decode(&loc, &key, &jane).unwrap(), c);
        let refused = |loc: &str, key: &FingerprintKey, who: &Caller| {
            matches!(Cursor::decode(loc, key, who), Err(RestError::BadLocator))
        };
        for bad in ["", "01g", "01gAAAA-1", &loc.replace("-2000", "-2001"), "xyz-2000"] {
            assert!(refused(bad, &key, &jane), "{bad}");
        }
        // Another user of the org, another org, another server secret.
        assert!(refused(&loc, &key, &caller("00D000000000001", "005000000000002")));
        assert!(refused(&loc, &key, &caller("00D000000000002", "005000000000001")));
        assert!(refused(&loc, &FingerprintKey::new([5; 32]), &jane));
        // A cursor rewritten and re-encoded without the key: the seal no longer fits.
        let bytes = URL_SAFE_NO_PAD.decode(&loc[3..loc.rfind('-').unwrap()]).unwrap();
        let (seal, json) = bytes.split_at(SEAL_LEN);
        let forged = String::from_utf8(json.to_vec())
            .unwrap()
            .replace("\"page\":2000", "\"page\":2800");
        let mut tampered = seal.to_vec();
        tampered.extend_from_slice(forged.as_bytes());
        let tampered = format!("01g{}-2000", URL_SAFE_NO_PAD.encode(tampered));
        assert!(refused(&tampered, &key, &jane));
        // Sealed but out of bounds (a key holder's bug, not a client's forgery).
        let huge = Cursor { page: 2800, ..c };
        assert!(refused(&huge.encode(&key, &jane), &key, &jane));
    }
}
