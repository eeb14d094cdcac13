//! A client for Salesforce-compatible orgs — Latchkey's org server or a real one —
//! using only the wire surfaces of `wire-spec.md`: SOAP `login()`, the OAuth
//! username-password flow, and the REST data API.
//!
//! Unlike jsforce and simple-salesforce, which log in again on every 401 and can loop
//! for ever (wire-spec §8), this client logs in **at most once per dead session**, one
//! login at a time, and reports a refused login as [`Error::CredentialsRejected`]
//! for the caller's guard to act on; it never retries a rejected secret.

pub mod changes;
mod error;
pub mod login;

use std::time::Duration;

use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::sync::Mutex;

pub use error::Error;
pub use login::{exchange_code, CodeExchange, Credentials, Granted, Session, API_VERSION};

/// Default time limit of one HTTP request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of one record of a collections call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveResult {
    /// The record id, when saved.
    pub id: Option<String>,
    /// The first error's `(statusCode, message)`, when not saved.
    pub error: Option<(String, String)>,
}

/// The user a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The user's id.
    pub user_id: String,
    /// The org's id.
    pub organization_id: String,
    /// The username.
    pub username: String,
    /// The user's full name.
    pub name: String,
    /// When the user's password expires (ISO-8601), when the org says (Latchkey's org
    /// server does; Salesforce does not).
    pub password_expires_at: Option<String>,
}

/// One page of query results.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The records of this page.
    pub records: Vec<Value>,
    /// Where the next page is (`nextRecordsUrl`), if there is one.
    pub next: Option<String>,
    /// How many records the whole query matches (`totalSize`).
    pub total: u64,
}

impl Page {
    fn of(mut body: Value) -> Self {
        let records = match body.get_mut("records").map(Value::take) {
            Some(Value::Array(records)) => records,
            _ => Vec::new(),
        };
        let next = match (&body["done"], body["nextRecordsUrl"].as_str()) {
            (Value::Bool(false), Some(url)) => Some(url.to_owned()),
            _ => None,
        };
        let total = body["totalSize"].as_u64().unwrap_or(records.len() as u64);
        Self { records, next, total }
    }
}

/// The HTTP client every request of this crate goes through: rustls, the time limits,
/// and `root_ca_pem` trusted besides the web's roots.
pub fn http_client(root_ca_pem: Option<&[u8]>) -> Result<reqwest::Client, Error> {
    // Several crates may race to install the process-wide provider; any ring one will do.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(DEFAULT_TIMEOUT)
        .connect_timeout(Duration::from_secs(10));
    if let Some(pem) = root_ca_pem {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|_| Error::Protocol("invalid CA certificate".into()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|_| Error::Protocol("HTTP client setup failed".into()))
}

/// What a client holds between calls.
#[derive(Debug)]
enum Slot {
    /// No session yet (or the last one died): the next call logs in.
    Empty,
    /// A live session.
    Live(Session),
    /// The org rejected these credentials; they are never sent again by this client.
    Rejected(Error),
}

/// A connection to one org with one set of credentials.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    login_url: String,
    credentials: Credentials,
    /// The current session, or the rejection that ended this client's logins; the lock
    /// also makes logins single-flight.
    session: Mutex<Slot>,
    /// How many login attempts this client has made (for callers' and tests' audits).
    logins: std::sync::atomic::AtomicU64,
    /// Whether a dead session is replaced by a login (else the call fails with
    /// [`Error::SessionEnded`]).
    relogin: bool,
}

impl Client {
    /// A client for the org at `login_url` (no request is made yet). `root_ca_pem`
    /// adds a trusted CA (for example Latchkey's demo CA).
    pub fn new(login_url: &str, credentials: Credentials, root_ca_pem: Option<&[u8]>) -> Result<Self, Error> {
        Ok(Self {
            http: http_client(root_ca_pem)?,
            login_url: login_url.trim_end_matches('/').to_owned(),
            credentials,
            session: Mutex::new(Slot::Empty),
            logins: std::sync::atomic::AtomicU64::new(0),
            relogin: true,
        })
    }

    /// This client will not log in again when the org ends its session: calls fail
    /// with [`Error::SessionEnded`] and the caller decides (a caller that hears of
    /// credential changes by webhook waits for the announcement first).
    pub fn without_relogin(mut self) -> Self {
        self.relogin = false;
        self
    }

    /// Login attempts made so far.
    pub fn login_attempts(&self) -> u64 {
        self.logins.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The current session, logging in first if there is none. `stale` names a session
    /// the caller saw refused: it is dropped (unless another task already replaced it).
    /// Once the org rejected this client's credentials, every caller gets that rejection
    /// and nothing is sent again — however many tasks held the dead session.
    async fn session(&self, stale: Option<&Session>) -> Result<Session, Error> {
        let mut slot = self.session.lock().await;
        if let (Slot::Live(current), Some(stale)) = (&*slot, stale) {
            if current.access_token.expose_secret() == stale.access_token.expose_secret() {
                *slot = Slot::Empty;
            }
        }
        match &*slot {
            Slot::Live(s) => return Ok(s.clone()),
            Slot::Rejected(e) => return Err(e.clone()),
            Slot::Empty => {}
        }
        self.logins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match login::login(&self.http, &self.login_url, &self.credentials).await {
            Ok(fresh) => {
                *slot = Slot::Live(fresh.clone());
                Ok(fresh)
            }
            Err(e) => {
                if e.is_rejection() {
                    *slot = Slot::Rejected(e.clone());
                }
                Err(e)
            }
        }
    }

    /// Logs in now (or reuses the live session): a connection test.
    pub async fn connect(&self) -> Result<(), Error> {
        self.session(None).await.map(|_| ())
    }

    async fn once(
        &self,
        session: &Session,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Error> {
        let url = if path.starts_with("/services/") {
            format!("{}{path}", session.instance_url)
        } else {
            format!("{}/services/data/v{API_VERSION}/{path}", session.instance_url)
        };
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(session.access_token.expose_secret());
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request.send().await.map_err(|e| Error::network(&e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| Error::network(&e))?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    /// One REST call: re-logs in at most once if the session is dead.
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Error> {
        let session = self.session(None).await?;
        let (mut status, mut value) = self.once(&session, &method, path, body).await?;
        if status == 401 && !self.relogin {
            let mut slot = self.session.lock().await;
            if matches!(&*slot, Slot::Live(current) if current.access_token.expose_secret() == session.access_token.expose_secret())
            {
                *slot = Slot::Empty;
            }
            return Err(Error::SessionEnded);
        }
        if status == 401 {
            let fresh = self.session(Some(&session)).await?;
            (status, value) = self.once(&fresh, &method, path, body).await?;
        }
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let first = value.get(0).unwrap_or(&value);
        let code = first["errorCode"].as_str().unwrap_or("UNKNOWN");
        let message = first["message"].as_str().unwrap_or_default();
        Err(error::classify_rest(status, code, message))
    }

    /// Who the session belongs to (OpenID Connect `userinfo`, wire-spec §6.6).
    pub async fn userinfo(&self) -> Result<UserInfo, Error> {
        let body = self.call(Method::GET, "/services/oauth2/userinfo", None).await?;
        let text = |name: &str| body[name].as_str().map(str::to_owned);
        Ok(UserInfo {
            user_id: text("user_id").ok_or_else(|| Error::Protocol("userinfo without a user_id".into()))?,
            organization_id: text("organization_id").unwrap_or_default(),
            username: text("preferred_username").unwrap_or_default(),
            name: text("name").unwrap_or_default(),
            password_expires_at: text("password_expires_at"),
        })
    }

    /// Every record a SOQL query returns, following `nextRecordsUrl`.
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, Error> {
        let mut page = self.query_page(soql).await?;
        let mut records = Vec::new();
        loop {
            records.append(&mut page.records);
            match page.next.take() {
                Some(next) => page = self.next_page(&next).await?,
                None => return Ok(records),
            }
        }
    }

    /// The first page of a SOQL query (callers that checkpoint page by page).
    pub async fn query_page(&self, soql: &str) -> Result<Page, Error> {
        let encoded: String = form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        Ok(Page::of(
            self.call(Method::GET, &format!("query?q={encoded}"), None).await?,
        ))
    }

    /// The page at a previous page's [`Page::next`].
    pub async fn next_page(&self, next: &str) -> Result<Page, Error> {
        Ok(Page::of(self.call(Method::GET, next, None).await?))
    }

    /// Creates a record; returns its id.
    pub async fn create(&self, object: &str, fields: &Value) -> Result<String, Error> {
        let result = self
            .call(Method::POST, &format!("sobjects/{object}"), Some(fields))
            .await?;
        result["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Protocol("create answered without an id".into()))
    }

    /// Reads a record.
    pub async fn get(&self, object: &str, id: &str) -> Result<Value, Error> {
        self.call(Method::GET, &format!("sobjects/{object}/{id}"), None).await
    }

    /// Updates a record.
    pub async fn update(&self, object: &str, id: &str, fields: &Value) -> Result<(), Error> {
        self.call(Method::PATCH, &format!("sobjects/{object}/{id}"), Some(fields))
            .await
            .map(|_| ())
    }

    /// Deletes a record.
    pub async fn delete(&self, object: &str, id: &str) -> Result<(), Error> {
        self.call(Method::DELETE, &format!("sobjects/{object}/{id}"), None)
            .await
            .map(|_| ())
    }

    /// Creates up to 200 records (each with `attributes.type`) in one call.
    pub async fn create_many(&self, records: &[Value], all_or_none: bool) -> Result<Vec<SaveResult>, Error> {
        self.save_many(Method::POST, "composite/sobjects", records, all_or_none)
            .await
    }

    /// Updates up to 200 records (each with `attributes.type` and `id`) in one call.
    pub async fn update_many(&self, records: &[Value], all_or_none: bool) -> Result<Vec<SaveResult>, Error> {
        self.save_many(Method::PATCH, "composite/sobjects", records, all_or_none)
            .await
    }

    /// Inserts or updates up to 200 records of `object`, matched by the external-id
    /// field `field` (which each record carries), in one call. Replaying the same call
    /// creates nothing twice.
    pub async fn upsert_many(
        &self,
        object: &str,
        field: &str,
        records: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, Error> {
        let path = format!("composite/sobjects/{object}/{field}");
        self.save_many(Method::PATCH, &path, records, all_or_none).await
    }

    async fn save_many(
        &self,
        method: Method,
        path: &str,
        records: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, Error> {
        let body = serde_json::json!({ "allOrNone": all_or_none, "records": records });
        let results = self.call(method, path, Some(&body)).await?;
        let list = results
            .as_array()
            .filter(|list| list.len() == records.len())
            .ok_or_else(|| Error::Protocol("collections answered without one result per record".into()))?;
        Ok(list
            .iter()
            .map(|r| SaveResult {
                id: r["id"].as_str().map(str::to_owned),
                error: r["errors"].get(0).map(|e| {
                    (
                        e["statusCode"].as_str().unwrap_or_default().to_owned(),
                        e["message"].as_str().unwrap_or_default().to_owned(),
                    )
                }),
            })
            .collect())
    }

    /// Ids of records of `object` changed between `start` and `end` (ISO-8601 with offset).
    pub async fn updated(&self, object: &str, start: &str, end: &str) -> Result<Vec<String>, Error> {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let result = self
            .call(
                Method::GET,
                &format!("sobjects/{object}/updated/?start={}&end={}", enc(start), enc(end)),
                None,
            )
            .await?;
        Ok(result["ids"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default())
    }
}
