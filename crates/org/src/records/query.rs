//! SOQL queries for a REST caller, paged. The `nextRecordsUrl` locator is stateless:
//! it carries the query, the position and the time the first page was read (so
//! relative dates do not drift between pages), so any node can serve the next page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use latchkey_core::records::ObjectKind;
use latchkey_core::soql::plan::{Column, Output, Relationship};
use latchkey_core::soql::{self, Plan};
use latchkey_store::records::{self, QueryRow};
use serde::{Deserialize, Serialize};

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
    /// The parent joined, if any.
    pub relationship: Option<Relationship>,
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

impl Cursor {
    /// `01g` + base64url(JSON) + `-` + offset: slash-free, as jsforce needs.
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("01g{}-{}", URL_SAFE_NO_PAD.encode(json), self.skip)
    }

    fn decode(locator: &str) -> Result<Self, RestError> {
        let body = locator.strip_prefix("01g").ok_or(RestError::BadLocator)?;
        let (b64, skip) = body.rsplit_once('-').ok_or(RestError::BadLocator)?;
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| RestError::BadLocator)?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| RestError::BadLocator)?;
        if skip.parse::<u64>().ok() != Some(cursor.skip) || cursor.page == 0 {
            return Err(RestError::BadLocator);
        }
        Ok(cursor)
    }
}

impl Services {
    fn plan_for(
        &self,
        schema: &latchkey_core::records::OrgSchema,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<Plan, RestError> {
        let soql_error = |error| RestError::Soql {
            error,
            query: text.to_owned(),
        };
        let parsed = soql::parse(text).map_err(soql_error)?;
        soql::plan(&parsed, schema, at).map_err(soql_error)
    }

    /// The first page of a query (`all_rows`: include recycled records, as `queryAll`).
    pub async fn query(&self, caller: &Caller, text: &str, all_rows: bool, page: u64) -> Result<QueryPage, RestError> {
        let schema = self.schema(&caller.org_id).await?;
        let now = self.clock.now();
        let plan = self.plan_for(&schema, text, now)?;
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
        Ok(Self::assemble(&plan, cursor, rows))
    }

    /// The page a locator names.
    pub async fn query_more(&self, caller: &Caller, locator: &str) -> Result<QueryPage, RestError> {
        let cursor = Cursor::decode(locator)?;
        let schema = self.schema(&caller.org_id).await?;
        let at = DateTime::from_timestamp_millis(cursor.at).ok_or(RestError::BadLocator)?;
        let plan = self
            .plan_for(&schema, &cursor.q, at)
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
        Ok(Self::assemble(plan, cursor, rows))
    }

    /// A page from its rows; the locator of the next page when more remain.
    fn assemble(plan: &Plan, cursor: Cursor, rows: Vec<QueryRow>) -> QueryPage {
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
            .encode()
        });
        QueryPage {
            total: cursor.total,
            next,
            object: plan.object,
            relationship: plan.relationship.clone(),
            columns,
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_round_trip_and_are_slash_free() {
        let c = Cursor {
            q: "SELECT Id FROM Contact WHERE Name LIKE '%/%'".into(),
            all: true,
            at: 1,
            total: 5000,
            skip: 2000,
            end: 5000,
            page: 2000,
        };
        let loc = c.encode();
        assert!(!loc.contains('/') && loc.starts_with("01g") && loc.ends_with("-2000"));
        assert_eq!(Cursor::decode(&loc).unwrap(), c);
        for bad in ["", "01g", "01gAAAA-1", &loc.replace("-2000", "-2001"), "xyz-2000"] {
            assert!(matches!(Cursor::decode(bad), Err(RestError::BadLocator)), "{bad}");
        }
    }
}
