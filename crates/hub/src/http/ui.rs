//! The hub's pages, in the seeds' words: **Tools → Data Sync → View Connectors**
//! (state badges, the red banner that says what to do, last run, records in and out,
//! a chart of the last runs, Change State, Test Connection), **Data Source
//! Properties** and **Tools → Integration → Security** — the same credential record,
//! so new secrets are typed once. Hub users log in with their workspace, e-mail and
//! password; the session lives in the store for 12 hours and its random id in a
//! signed cookie (HttpOnly, SameSite=Lax, Secure when the hub's URL is https://).

use latchkey_core::connectors::ConnectorState;
use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{CookieJar, Key, SameSite, SignedCookieJar};
use latchkey_store::hub::sync::SyncRun;
use latchkey_store::hub::Connector;
use latchkey_web::{render, status_for, ClientIp, Csrf, LoginRateLimit};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::pages::{self, Confirm, ConnectorCard, RunBar, PRODUCT};
use crate::credentials::{CredentialInput, CredentialView};
use crate::guard::{GuardError, CRM_STRICTEST_LOCKOUT};
use crate::{Hub, HubError};

/// The hub's session cookie.
const SESSION: &str = "hub_session";
/// How long a hub login lasts.
const SESSION_HOURS: i64 = 12;
/// Runs drawn per connector.
const RUNS: i64 = 10;

/// What the pages share: the hub, the CA to trust when a page tests a connection, and
/// the limit on login attempts per client address.
#[derive(Clone)]
pub struct Web {
    /// The hub.
    pub hub: Hub,
    /// A PEM CA for https:// login URLs (connection tests).
    pub ca: Option<Arc<[u8]>>,
    /// Login attempts per client address (`None`: unlimited).
    pub login_rate: Option<Arc<LoginRateLimit>>,
    /// The hub's own URL (`http://host:port`): where the CRM sends browsers back after
    /// "Connect with OAuth" (never taken from a request's Host header).
    pub base_url: String,
}

impl Web {
    /// The pages' CSRF tokens.
    pub(super) fn csrf(&self) -> Csrf {
        Csrf::new(web_key(&self.hub, "csrf"), self.secure())
    }

    /// Whether browsers reach the hub over TLS (its URL is https://), so cookies are
    /// `Secure`.
    pub(super) fn secure(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// The callback URL a connected app must register for "Connect with OAuth".
    pub fn oauth_callback(&self) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), crate::oauth::CALLBACK_PATH)
    }
}

/// Login attempts per client address per minute that `latchkey hub run` allows.
pub const LOGINS_PER_MINUTE: u32 = 30;

fn web_key(hub: &Hub, purpose: &str) -> [u8; 32] {
    let vault = &hub.vault;
    match vault.fingerprint(vault.current_id(), format!("latchkey hub web\0{purpose}").as_bytes()) {
        Ok(mac) => mac.try_into().unwrap_or([0; 32]),
        Err(e) => {
            // Never a fixed key: a random one ends every session, nothing worse.
            tracing::error!(error = %e, "no vault key for the hub's cookies");
            rand::random()
        }
    }
}

impl FromRef<Web> for Key {
    fn from_ref(web: &Web) -> Self {
        let mut master = [0u8; 64];
        master[..32].copy_from_slice(&web_key(&web.hub, "cookie signing 1"));
        master[32..].copy_from_slice(&web_key(&web.hub, "cookie signing 2"));
        Key::from(&master)
    }
}

fn csrf(web: &Web) -> Csrf {
    web.csrf()
}

/// A logged-in hub user's workspace.
pub(super) struct SignedIn {
    pub(super) workspace: String,
}

async fn signed_in(web: &Web, jar: &SignedCookieJar) -> Option<SignedIn> {
    let id = jar.get(SESSION)?.value().to_owned();
    let user = web.hub.session_user(&id).await.ok()??;
    let workspace = web.hub.workspace_by_id(&user.workspace_id).await.ok()?.name;
    Some(SignedIn { workspace })
}

/// The signed-in user, or the way to the login page.
pub(super) async fn require(web: &Web, jar: &SignedCookieJar) -> Result<SignedIn, Response> {
    signed_in(web, jar)
        .await
        .ok_or_else(|| Redirect::to("/").into_response())
}

/// A form: its CSRF token checked, then the user.
pub(super) async fn form_user(
    web: &Web,
    jar: &CookieJar,
    signed: &SignedCookieJar,
    sent: &str,
) -> Result<SignedIn, Response> {
    if !csrf(web).check(jar, sent) {
        return Err(expired_form());
    }
    require(web, signed).await
}

/// The refusal of a form without a valid CSRF token.
fn expired_form() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form has expired: reload the page and try again.",
    )
        .into_response()
}

pub(super) fn failure(e: &HubError) -> Response {
    tracing::error!(error = %e, "a hub page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong; try again").into_response()
}

fn login_page(web: &Web, jar: CookieJar, workspace: &str, email: &str, error: Option<&str>) -> Response {
    let (jar, token) = csrf(web).token(jar);
    let page = pages::Login {
        product: PRODUCT,
        csrf: &token,
        workspace,
        email,
        error,
    };
    (jar, render(&page, status_for(error))).into_response()
}

/// `GET /`.
pub(super) async fn home(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    if signed_in(&web, &signed).await.is_some() {
        return Redirect::to("/data-sync").into_response();
    }
    login_page(&web, jar, "", "", None)
}

/// The login form.
#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /login` (the per-address limit is a layer before it: [`limit_logins`]).
pub(super) async fn login(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !csrf(&web).check(&jar, &form.csrf) {
        return expired_form();
    }
    let password = SecretString::from(form.password);
    match web.hub.authenticate(&form.workspace, &form.email, &password).await {
        Ok(Some(user)) => match web
            .hub
            .start_session(&user, chrono::Duration::hours(SESSION_HOURS))
            .await
        {
            Ok(id) => {
                let cookie = latchkey_web::cookie(web.secure(), SESSION, id.expose_secret().to_owned(), SameSite::Lax);
                tracing::info!(user = %user.id, "hub login");
                (signed.add(cookie), Redirect::to("/data-sync")).into_response()
            }
            Err(e) => failure(&e),
        },
        Ok(None) => login_page(
            &web,
            jar,
            form.workspace.trim(),
            form.email.trim(),
            Some(
                "Check the workspace, e-mail address and password. After several failed attempts an account's \
                 logins pause for a few minutes.",
            ),
        ),
        Err(e) => failure(&e),
    }
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(super) struct Bare {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /logout`.
pub(super) async fn logout(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<Bare>,
) -> Response {
    if !csrf(&web).check(&jar, &form.csrf) {
        return expired_form();
    }
    if let Some(id) = signed.get(SESSION) {
        if let Err(e) = web.hub.end_session(id.value()).await {
            return failure(&e);
        }
    }
    (signed.remove(latchkey_web::removal(SESSION)), Redirect::to("/")).into_response()
}

/// What a page says after an action: a success in green, a failure or refusal in red,
/// or a test that waits for the person's confirmation.
#[derive(Default)]
pub(super) struct Said {
    notice: Option<String>,
    error: Option<String>,
    confirm: Option<Confirm>,
}

impl Said {
    /// A success.
    pub(super) fn notice(text: impl Into<String>) -> Self {
        Self {
            notice: Some(text.into()),
            ..Self::default()
        }
    }

    /// A failure or refusal.
    pub(super) fn error(text: impl Into<String>) -> Self {
        Self {
            error: Some(text.into()),
            ..Self::default()
        }
    }
}

/// The badge of a connector in `state` whose record is suspended by the org's
/// announcement `suspended_by` (if any): a locked or frozen CRM user is named as such,
/// as the banner names them.
fn state_label(state: ConnectorState, suspended_by: Option<&str>) -> &'static str {
    match (state, suspended_by) {
        (ConnectorState::Enabled, _) => "Enabled",
        (ConnectorState::Disabled, _) => "Disabled",
        (ConnectorState::Suspended, Some("user.locked")) => "Suspended: CRM user locked",
        (ConnectorState::Suspended, Some("user.frozen")) => "Suspended: CRM user frozen",
        (ConnectorState::Suspended, _) => "Suspended: credentials rejected",
        (ConnectorState::BackingOff, _) => "Backing off",
    }
}

/// The layer that limits login attempts per client address: over the limit, `POST
/// /login` is answered 429 with `Retry-After` before anything else is looked at.
pub(super) async fn limit_logins(
    State(web): State<Web>,
    ClientIp(ip): ClientIp,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let attempt = req.method() == axum::http::Method::POST && req.uri().path() == "/login";
    let over = attempt
        .then(|| web.login_rate.as_ref().and_then(|l| l.check(ip)))
        .flatten();
    let Some(wait) = over else {
        return next.run(req).await;
    };
    tracing::warn!(%ip, retry_after = wait, "hub login rate limit exceeded");
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(axum::http::header::RETRY_AFTER, wait.to_string())],
        format!("Too many login attempts from this address; try again in {wait} seconds."),
    )
        .into_response()
}

/// What a test or save that the guard refused says, in red: the refusal, and how many
/// failed logins the hub caused for the CRM user since the CRM last accepted the
/// record — the attempts left before a CRM lockout.
async fn refused(web: &Web, workspace: &str, record: &CredentialView, e: &GuardError, prefix: &str) -> Said {
    let failures = web
        .hub
        .failures_since_accepted(workspace, Some(&record.login_url))
        .await
        .unwrap_or(0);
    let prefix = if matches!(e, GuardError::Budget { .. }) {
        ""
    } else {
        prefix
    };
    let mut text = format!("{prefix}{e}.");
    if failures > 0 && !matches!(e, GuardError::Unconfirmed { .. }) {
        let left = CRM_STRICTEST_LOCKOUT.saturating_sub(failures);
        text.push_str(&format!(
            " The hub has caused {failures} failed login(s) for {user} since the CRM last accepted these \
             credentials; the CRM may lock the account after as few as {CRM_STRICTEST_LOCKOUT} ({left} left at \
             the strictest setting).",
            user = record.username,
        ));
    }
    Said::error(text)
}

/// What the guard's verdict on a test comes to on a page; `action` is where a
/// confirmed test goes.
async fn verdict(
    web: &Web,
    workspace: &str,
    record: &CredentialView,
    result: Result<(), GuardError>,
    success: &str,
    action: String,
    prefix: &str,
) -> Said {
    match result {
        Ok(()) => Said::notice(success),
        Err(GuardError::Unconfirmed { failures }) => Said {
            confirm: Some(Confirm {
                failures,
                username: record.username.clone(),
                action,
            }),
            ..Said::default()
        },
        Err(e) => refused(web, workspace, record, &e, prefix).await,
    }
}

async fn data_sync_page(web: &Web, jar: CookieJar, me: &SignedIn, said: Said) -> Response {
    let hub = &web.hub;
    let loaded = async {
        let mut cards = Vec::new();
        let connectors = hub.connectors(&me.workspace).await?;
        let records = hub.credential_views(&me.workspace).await?;
        let suspended_by = |credential_id: &str| {
            records
                .iter()
                .find(|r| r.id == credential_id)
                .and_then(|r| r.suspended_by.as_deref())
        };
        for c in &connectors {
            let mut runs = hub.runs_of(c, RUNS).await?;
            runs.reverse();
            cards.push(card(c, &runs, suspended_by(&c.credential_id)));
        }
        // The seeds' red error, once per distinct message, saying what to do.
        let mut banners: Vec<String> = Vec::new();
        for c in connectors {
            if let (ConnectorState::Suspended, Some(message)) = (c.state, c.last_error) {
                if !banners.contains(&message) {
                    banners.push(message);
                }
            }
        }
        Ok::<_, HubError>((cards, banners))
    };
    let (connectors, banners) = match loaded.await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    let (jar, token) = csrf(web).token(jar);
    let page = pages::DataSync {
        product: PRODUCT,
        csrf: &token,
        workspace: &me.workspace,
        connectors,
        banners,
        notice: said.notice.as_deref(),
        error: said.error.as_deref(),
        confirm: said.confirm,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// A connector's card on the Data Sync page: its settings, state and recent runs
/// (oldest first).
fn card(c: &Connector, runs: &[SyncRun], suspended_by: Option<&str>) -> ConnectorCard {
    let latest = runs.last();
    ConnectorCard {
        name: c.name.clone(),
        object: c.object.clone(),
        direction: c.direction.to_string(),
        every: format!("{} s", c.interval_secs),
        state_label: state_label(c.state, suspended_by),
        state: c.state.to_string(),
        error: c.last_error.clone().filter(|_| c.state != ConnectorState::Suspended),
        last_run: latest.map(|r| format!("{} ({})", r.finished_at.format("%Y-%m-%d %H:%M:%S UTC"), r.outcome)),
        latest: latest.map_or_else(
            || "no runs yet".to_owned(),
            |r| format!("{} in, {} out", r.records_in, r.records_out),
        ),
        bars: run_bars(runs),
        chart_width: RUNS * 18,
    }
}

/// The bars of the runs chart: records in and out of each run, scaled to the
/// busiest.
fn run_bars(runs: &[SyncRun]) -> Vec<RunBar> {
    let max = runs
        .iter()
        .map(|r| r.records_in.max(r.records_out))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: i64| if n == 0 { 0 } else { (n * 48 / max).max(2) };
    runs.iter()
        .enumerate()
        .map(|(i, r)| RunBar {
            x: i64::try_from(i).unwrap_or(0) * 18,
            in_h: scale(r.records_in),
            out_h: scale(r.records_out),
            failed: r.outcome != "ok",
            label: format!(
                "{}: {} in, {} out, {}",
                r.finished_at.format("%Y-%m-%d %H:%M:%S"),
                r.records_in,
                r.records_out,
                r.outcome
            ),
        })
        .collect()
}

/// `GET /data-sync`.
pub(super) async fn data_sync(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    match require(&web, &signed).await {
        Ok(me) => data_sync_page(&web, jar, &me, Said::default()).await,
        Err(r) => r,
    }
}

/// The Change State form.
#[derive(Deserialize)]
pub(super) struct StateForm {
    #[serde(default)]
    state: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /data-sync/{name}/state`.
pub(super) async fn change_state(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Path(name): Path<String>,
    Form(form): Form<StateForm>,
) -> Response {
    let me = match form_user(&web, &jar, &signed, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let enable = form.state == ConnectorState::Enabled.as_str();
    let said = match web.hub.set_connector_enabled(&me.workspace, &name, enable).await {
        Ok(c) => Said::notice(format!("{} is {}.", c.name, state_label(c.state, None).to_lowercase())),
        Err(HubError::Invalid(why) | HubError::NotFound(why)) => Said::error(why),
        Err(e) => return failure(&e),
    };
    data_sync_page(&web, jar, &me, said).await
}

/// A test form: its CSRF token and, after failed logins, the person's confirmation.
#[derive(Deserialize)]
pub(super) struct TestForm {
    #[serde(default)]
    confirm: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /data-sync/{name}/test`.
pub(super) async fn test(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Path(name): Path<String>,
    Form(form): Form<TestForm>,
) -> Response {
    let me = match form_user(&web, &jar, &signed, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let (connector, record) = match web.hub.connector_and_record(&me.workspace, &name).await {
        Ok(found) => found,
        Err(HubError::NotFound(why)) => return data_sync_page(&web, jar, &me, Said::error(why)).await,
        Err(e) => return failure(&e),
    };
    let view = match web.hub.credential_views(&me.workspace).await {
        Ok(views) => views.into_iter().find(|v| v.id == record.id),
        Err(e) => return failure(&e),
    };
    let Some(view) = view else {
        return data_sync_page(&web, jar, &me, Said::error("the connector's credential record is gone")).await;
    };
    let result = web
        .hub
        .test_connector(&me.workspace, &connector.name, web.ca.as_deref(), form.confirm == "yes")
        .await;
    let said = verdict(
        &web,
        &me.workspace,
        &view,
        result,
        &format!("Connected: the CRM accepted the credentials of {name}."),
        format!("/data-sync/{name}/test"),
        "",
    )
    .await;
    data_sync_page(&web, jar, &me, said).await
}

/// `GET /contacts`: the hub's own contacts.
pub(super) async fn contacts(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    let me = match require(&web, &signed).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let contacts = match web.hub.contacts(&me.workspace).await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    let rows = contacts
        .into_iter()
        .map(|c| {
            let name = match &c.first_name {
                Some(first) => format!("{first} {}", c.last_name),
                None => c.last_name.clone(),
            };
            let waiting = c.pending.keys().cloned().collect::<Vec<_>>().join(", ");
            (
                name,
                c.email.unwrap_or_default(),
                c.crm_id.unwrap_or_else(|| "—".into()),
                waiting,
            )
        })
        .collect();
    let (jar, token) = csrf(&web).token(jar);
    let page = pages::Contacts {
        product: PRODUCT,
        csrf: &token,
        workspace: &me.workspace,
        contacts: rows,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// Which of the two pages shows the credential record.
#[derive(Clone, Copy)]
pub(super) enum Tab {
    /// Tools → Data Sync → Data Source Properties.
    DataSource,
    /// Tools → Integration → Security.
    Security,
}

impl Tab {
    fn title(self) -> &'static str {
        match self {
            Self::DataSource => "Data Source Properties",
            Self::Security => "Security",
        }
    }

    fn breadcrumb(self) -> &'static str {
        match self {
            Self::DataSource => "Tools → Data Sync",
            Self::Security => "Tools → Integration",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::DataSource => "/data-source",
            Self::Security => "/integration/security",
        }
    }
}

pub(super) async fn source_page(web: &Web, jar: CookieJar, me: &SignedIn, tab: Tab, said: Said) -> Response {
    let view = match web.hub.credential_views(&me.workspace).await {
        Ok(v) => v.into_iter().next(),
        Err(e) => return failure(&e),
    };
    let (jar, token) = csrf(web).token(jar);
    let page = pages::DataSource {
        product: PRODUCT,
        csrf: &token,
        workspace: &me.workspace,
        title: tab.title(),
        breadcrumb: tab.breadcrumb(),
        action: tab.action(),
        login_url: view.as_ref().map_or("", |v| v.login_url.as_str()),
        username: view.as_ref().map_or("", |v| v.username.as_str()),
        client_id: view.as_ref().and_then(|v| v.client_id.as_deref()).unwrap_or_default(),
        password_set: view.as_ref().is_some_and(|v| v.password_set),
        token_set: view.as_ref().is_some_and(|v| v.security_token_set),
        client_secret_set: view.as_ref().is_some_and(|v| v.client_secret_set),
        oauth: view.as_ref().is_some_and(|v| v.method == "oauth-refresh-token"),
        callback: &web.oauth_callback(),
        notice: said.notice.as_deref(),
        error: said.error.as_deref(),
        confirm: said.confirm,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// `GET /data-source`.
pub(super) async fn data_source(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    match require(&web, &signed).await {
        Ok(me) => source_page(&web, jar, &me, Tab::DataSource, Said::default()).await,
        Err(r) => r,
    }
}

/// `GET /integration/security`.
pub(super) async fn security(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    match require(&web, &signed).await {
        Ok(me) => source_page(&web, jar, &me, Tab::Security, Said::default()).await,
        Err(r) => r,
    }
}

/// The credential form.
#[derive(Deserialize)]
pub(super) struct SourceForm {
    #[serde(default)]
    login_url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn secret(s: String) -> Option<SecretString> {
    Some(s).filter(|s| !s.is_empty()).map(SecretString::from)
}

async fn save(web: Web, jar: CookieJar, signed: SignedCookieJar, form: SourceForm, tab: Tab) -> Response {
    let me = match form_user(&web, &jar, &signed, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let input = CredentialInput {
        login_url: form.login_url.clone(),
        username: form.username,
        password: secret(form.password),
        security_token: secret(form.token),
        client_id: Some(form.client_id).filter(|c| !c.trim().is_empty()),
        client_secret: secret(form.client_secret),
        refresh_token: None,
        jwt_private_key: None,
    };
    let saved = match web.hub.set_credential(&me.workspace, input).await {
        Ok(saved) => saved,
        Err(HubError::Invalid(why)) => return source_page(&web, jar, &me, tab, Said::error(why)).await,
        Err(e) => return failure(&e),
    };
    let trimmed = saved.trimmed_note().map(|t| format!("{t} ")).unwrap_or_default();
    let view = saved.view;
    let said = match web
        .hub
        .resume_after_change(&me.workspace, &view.login_url, web.ca.as_deref(), false)
        .await
    {
        Ok(None) => Said::notice(format!("{trimmed}Saved.")),
        Ok(Some(result)) => {
            let mut said = verdict(
                &web,
                &me.workspace,
                &view,
                result,
                &format!("{trimmed}Saved. The CRM accepted the new credentials: every suspended connector resumed."),
                format!("{}/test", tab.action()),
                &format!("{trimmed}Saved, but not connected: "),
            )
            .await;
            if said.confirm.is_some() {
                said.notice = Some(format!("{trimmed}Saved; not tested yet."));
            }
            said
        }
        Err(e) => return failure(&e),
    };
    source_page(&web, jar, &me, tab, said).await
}

/// A confirmed test of the record shown on `tab`.
async fn confirmed_test(web: Web, jar: CookieJar, signed: SignedCookieJar, form: TestForm, tab: Tab) -> Response {
    let me = match form_user(&web, &jar, &signed, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let view = match web.hub.credential_views(&me.workspace).await {
        Ok(views) => views.into_iter().next(),
        Err(e) => return failure(&e),
    };
    let Some(view) = view else {
        return source_page(
            &web,
            jar,
            &me,
            tab,
            Said::error("There is no credential record to test yet."),
        )
        .await;
    };
    let result = web
        .hub
        .test_credential(
            &me.workspace,
            Some(&view.login_url),
            web.ca.as_deref(),
            form.confirm == "yes",
        )
        .await
        .map(|_| ());
    let said = verdict(
        &web,
        &me.workspace,
        &view,
        result,
        "The CRM accepted the credentials: every suspended connector resumed.",
        format!("{}/test", tab.action()),
        "Not connected: ",
    )
    .await;
    source_page(&web, jar, &me, tab, said).await
}

/// `POST /data-source/test`.
pub(super) async fn test_data_source(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<TestForm>,
) -> Response {
    confirmed_test(web, jar, signed, form, Tab::DataSource).await
}

/// `POST /integration/security/test`.
pub(super) async fn test_security(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<TestForm>,
) -> Response {
    confirmed_test(web, jar, signed, form, Tab::Security).await
}

/// `POST /data-source`.
pub(super) async fn save_data_source(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<SourceForm>,
) -> Response {
    save(web, jar, signed, form, Tab::DataSource).await
}

/// `POST /integration/security`.
pub(super) async fn save_security(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<SourceForm>,
) -> Response {
    save(web, jar, signed, form, Tab::Security).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_names_a_locked_or_frozen_crm_user_as_the_banner_does() {
        let suspended = |by| state_label(ConnectorState::Suspended, by);
        assert_eq!(suspended(Some("user.locked")), "Suspended: CRM user locked");
        assert_eq!(suspended(Some("user.frozen")), "Suspended: CRM user frozen");
        assert_eq!(suspended(Some("password.changed")), "Suspended: credentials rejected");
        assert_eq!(suspended(None), "Suspended: credentials rejected");
        assert_eq!(state_label(ConnectorState::Enabled, Some("user.locked")), "Enabled");
    }
}
