//! Setup → Login History: the org's attempts with filters (username, outcome,
//! period), a CSV download of the same selection, and the hourly chart of the last
//! seven days.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use chrono::Duration;
use latchkey_store::login_history::{LoginRecord, Outcome, Search};

use crate::accounts::admin::Admin;
use serde::Deserialize;

use super::account::failure;
use super::chart;
use super::cookies;
use super::setup::require_admin;
use super::templates::{self, render, OrgHistoryRow};
use crate::http::HttpState;
use crate::AccountError;

/// Rows on the page.
const PAGE_ROWS: i64 = 200;
/// Rows in a CSV download.
const CSV_ROWS: i64 = 50_000;

/// The filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    user: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    days: Option<i64>,
}

impl Filters {
    fn outcome(&self) -> Outcome {
        match self.outcome.as_str() {
            "ok" => Outcome::Succeeded,
            "failed" => Outcome::Failed,
            _ => Outcome::Any,
        }
    }

    fn outcome_code(&self) -> &'static str {
        match self.outcome() {
            Outcome::Succeeded => "ok",
            Outcome::Failed => "failed",
            Outcome::Any => "any",
        }
    }

    fn days(&self) -> i64 {
        self.days.filter(|d| [1, 7, 30, 180].contains(d)).unwrap_or(7)
    }

    fn user(&self) -> Option<&str> {
        Some(self.user.trim()).filter(|u| !u.is_empty())
    }

    /// The same filters as a query string.
    fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("user", self.user.trim())
            .append_pair("outcome", self.outcome_code())
            .append_pair("days", &self.days().to_string())
            .finish()
    }
}

async fn rows(
    state: &HttpState,
    admin: &Admin,
    org: &latchkey_core::ids::OrgId,
    f: &Filters,
    limit: i64,
) -> Result<Vec<LoginRecord>, AccountError> {
    let search = Search {
        org_id: org,
        username: f.user(),
        outcome: f.outcome(),
        since: state.services.clock.now() - Duration::days(f.days()),
        limit,
    };
    admin.search_logins(&search).await
}

/// `GET /setup/login-history`.
pub(super) async fn page(State(state): State<HttpState>, jar: CookieJar, Query(f): Query<Filters>) -> Response {
    let (me, admin) = match require_admin(&state, &jar).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let now = state.services.clock.now();
    let loaded = async {
        let records = rows(&state, &admin, &me.org.id, &f, PAGE_ROWS).await?;
        let hours = admin.hourly_logins(&me.org.id, chart::start(now)).await?;
        Ok::<_, AccountError>((records, hours))
    };
    let (records, hours) = match loaded.await {
        Ok(v) => v,
        Err(e) => return failure(&e),
    };
    let rows = records
        .into_iter()
        .map(|r| OrgHistoryRow {
            time: r.login_time.format("%Y-%m-%d %H:%M:%S").to_string(),
            username: r.username,
            ip: r.source_ip,
            login_type: r.login_type,
            status: r.status,
            application: r.application,
            api: if r.api_type == "N/A" {
                "—".into()
            } else {
                format!("{} {}", r.api_type, r.api_version)
            },
        })
        .collect();
    let csv_url = format!("/setup/login-history.csv?{}", f.query());
    let (jar, csrf) = cookies::csrf_token(&state, jar);
    let page = templates::SetupHistory {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "history",
        chart: chart::chart(&hours, now),
        user: f.user.trim(),
        outcome: f.outcome_code(),
        days: f.days(),
        rows,
        limit: PAGE_ROWS,
        csv_limit: CSV_ROWS,
        csv_url: &csv_url,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// A cell as a spreadsheet may read it: text starting with `=`, `+`, `-`, `@` or a
/// control character would be taken for a formula (login history keeps usernames as
/// typed, so anyone can put `=HYPERLINK(…)` there), so such cells start with `'`.
fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// `GET /setup/login-history.csv`: the selection as CSV, with Salesforce's column names.
pub(super) async fn csv(State(state): State<HttpState>, jar: CookieJar, Query(f): Query<Filters>) -> Response {
    let (me, admin) = match require_admin(&state, &jar).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let records = match rows(&state, &admin, &me.org.id, &f, CSV_ROWS).await {
        Ok(r) => r,
        Err(e) => return failure(&e),
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = [
        "LoginTime",
        "Username",
        "SourceIp",
        "LoginType",
        "Status",
        "Application",
        "ApiType",
        "ApiVersion",
    ];
    let written = out.write_record(header).and_then(|()| {
        records.iter().try_for_each(|r| {
            let time = r.login_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            out.write_record(
                [
                    &time,
                    &r.username,
                    &r.source_ip,
                    &r.login_type,
                    &r.status,
                    &r.application,
                    &r.api_type,
                    &r.api_version,
                ]
                .map(|v| cell(v).into_owned()),
            )
        })
    });
    let bytes = match written
        .map_err(|e| e.to_string())
        .and_then(|()| out.into_inner().map_err(|e| e.to_string()))
    {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "login history CSV failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the CSV could not be written").into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"login-history.csv\"",
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_quoted() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\t=1"] {
            assert_eq!(cell(formula), format!("'{formula}"));
        }
        assert_eq!(cell("jane@acme.test"), "jane@acme.test");
        assert_eq!(cell("2026-11-23T10:00:00Z"), "2026-11-23T10:00:00Z");
        assert_eq!(cell(""), "");
    }
}
