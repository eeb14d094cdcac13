//! The hub's pages, in the seeds' words: **Tools → Data Sync → View Connectors**
//! (state badges, the red banner that says what to do, last run, records in and out,
//! a chart of the last runs, Change State, Test Connection), **Data Source
//! Properties** and **Tools → Integration → Security** — the same credential record,
//! so new secrets are typed once. Hub users log in with their workspace, e-mail and
//! password; the session lives in the store for 12 hours and its random id in a
//! signed cookie (HttpOnly, SameSite=Lax, Secure when the hub's URL is https://).

use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{CookieJar, Key, SameSite, SignedCookieJar};
use latchkey_web::{render, status_for, ClientIp, Csrf, LoginRateLimit};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::pages::{self, ConnectorCard, RunBar, PRODUCT};
use crate::credentials::CredentialInput;
use crate::guard::state;
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

/// `POST /login`: over the per-address limit, 429 before anything else is looked at.
pub(super) async fn login(
    State(web): State<Web>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if let Some(wait) = web.login_rate.as_ref().and_then(|l| l.check(ip)) {
        tracing::warn!(%ip, retry_after = wait, "hub login rate limit exceeded");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, wait.to_string())],
            format!("Too many login attempts from this address; try again in {wait} seconds."),
        )
            .into_response();
    }
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
            Some("Check the workspace, e-mail address and password."),
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

fn state_label(state: &str) -> &'static str {
    match state {
        state::ENABLED => "Enabled",
        state::DISABLED => "Disabled",
        state::SUSPENDED => "Suspended: credentials rejected",
        state::BACKING_OFF => "Backing off",
        _ => "Unknown",
    }
}

async fn data_sync_page(web: &Web, jar: CookieJar, me: &SignedIn, notice: Option<&str>) -> Response {
    let hub = &web.hub;
    let loaded = async {
        let mut cards = Vec::new();
        let connectors = hub.connectors(&me.workspace).await?;
        let mut conn = hub.store.conn().await?;
        for c in &connectors {
            let mut runs = latchkey_store::hub_sync::recent_runs(&mut conn, &c.id, RUNS).await?;
            runs.reverse();
            let max = runs
                .iter()
                .map(|r| r.records_in.max(r.records_out))
                .max()
                .unwrap_or(0)
                .max(1);
            let scale = |n: i64| if n == 0 { 0 } else { (n * 48 / max).max(2) };
            let bars = runs
                .iter()
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
                .collect();
            let latest = runs.last();
            cards.push(ConnectorCard {
                name: c.name.clone(),
                object: c.object.clone(),
                direction: c.direction.clone(),
                every: format!("{} s", c.interval_secs),
                state_label: state_label(&c.state),
                state: c.state.clone(),
                error: c.last_error.clone().filter(|_| c.state != state::SUSPENDED),
                last_run: latest.map(|r| format!("{} ({})", r.finished_at.format("%Y-%m-%d %H:%M:%S UTC"), r.outcome)),
                latest: latest.map_or_else(
                    || "no runs yet".to_owned(),
                    |r| format!("{} in, {} out", r.records_in, r.records_out),
                ),
                bars,
                chart_width: RUNS * 18,
            });
        }
        // The seeds' red error, once per distinct message, saying what to do.
        let mut banners: Vec<String> = Vec::new();
        for c in connectors {
            if let (state::SUSPENDED, Some(message)) = (c.state.as_str(), c.last_error) {
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
        notice,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// `GET /data-sync`.
pub(super) async fn data_sync(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    match require(&web, &signed).await {
        Ok(me) => data_sync_page(&web, jar, &me, None).await,
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
    let enable = form.state == state::ENABLED;
    let notice = match web.hub.set_connector_enabled(&me.workspace, &name, enable).await {
        Ok(c) => format!("{} is {}.", c.name, state_label(&c.state).to_lowercase()),
        Err(HubError::Invalid(why) | HubError::NotFound(why)) => why,
        Err(e) => return failure(&e),
    };
    data_sync_page(&web, jar, &me, Some(&notice)).await
}

/// `POST /data-sync/{name}/test`.
pub(super) async fn test(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Path(name): Path<String>,
    Form(form): Form<Bare>,
) -> Response {
    let me = match form_user(&web, &jar, &signed, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let notice = match web.hub.test_connector(&me.workspace, &name, web.ca.as_deref()).await {
        Ok(()) => format!("Connected: the CRM accepted the credentials of {name}."),
        Err(e) => e.to_string(),
    };
    data_sync_page(&web, jar, &me, Some(&notice)).await
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

pub(super) async fn source_page(
    web: &Web,
    jar: CookieJar,
    me: &SignedIn,
    tab: Tab,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
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
        notice,
        error,
    };
    (jar, render(&page, status_for(error))).into_response()
}

/// `GET /data-source`.
pub(super) async fn data_source(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    match require(&web, &signed).await {
        Ok(me) => source_page(&web, jar, &me, Tab::DataSource, None, None).await,
        Err(r) => r,
    }
}

/// `GET /integration/security`.
pub(super) async fn security(State(web): State<Web>, jar: CookieJar, signed: SignedCookieJar) -> Response {
    match require(&web, &signed).await {
        Ok(me) => source_page(&web, jar, &me, Tab::Security, None, None).await,
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
    let view = match web.hub.set_credential(&me.workspace, input).await {
        Ok(v) => v,
        Err(HubError::Invalid(why)) => return source_page(&web, jar, &me, tab, None, Some(&why)).await,
        Err(e) => return failure(&e),
    };
    let notice = match web
        .hub
        .resume_after_change(&me.workspace, &view.login_url, web.ca.as_deref())
        .await
    {
        Ok(None) => "Saved.".to_owned(),
        Ok(Some(Ok(()))) => {
            "Saved. The CRM accepted the new credentials: every suspended connector resumed.".to_owned()
        }
        Ok(Some(Err(e))) => format!("Saved, but the test failed: {e}"),
        Err(e) => return failure(&e),
    };
    source_page(&web, jar, &me, tab, Some(&notice), None).await
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
