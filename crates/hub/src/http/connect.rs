//! "Connect with OAuth" on the hub's pages: `POST /data-source/oauth` starts the
//! web-server flow (a page with the way to the CRM; the pending connection sealed in
//! a short-lived cookie), `GET /oauth/callback` finishes it — the code exchanged, the
//! record saved with its refresh token, the connectors tested and resumed.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::{CookieJar, SameSite, SignedCookieJar};
use latchkey_web::render;
use secrecy::SecretString;
use serde::Deserialize;

use super::pages::{self, PRODUCT};
use super::ui::{failure, form_user, require, source_page, Said, Tab, Web};
use crate::oauth::ConnectRequest;
use crate::HubError;

/// The cookie that holds the sealed pending connection.
const PENDING: &str = "hub_oauth";

/// The connect form.
#[derive(Deserialize)]
pub(super) struct ConnectForm {
    #[serde(default)]
    login_url: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /data-source/oauth`.
pub(super) async fn start(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<ConnectForm>,
) -> Response {
    let me = match form_user(&web, &jar, &signed, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let callback = web.oauth_callback();
    let started = web
        .hub
        .begin_oauth(ConnectRequest {
            workspace: &me.workspace,
            login_url: &form.login_url,
            client_id: &form.client_id,
            client_secret: Some(form.client_secret)
                .filter(|s| !s.is_empty())
                .map(SecretString::from),
            redirect_uri: &callback,
        })
        .await;
    let started = match started {
        Ok(s) => s,
        Err(HubError::Invalid(why)) => return source_page(&web, jar, &me, Tab::DataSource, Said::error(why)).await,
        Err(e) => return failure(&e),
    };
    // Lax: the CRM's redirect back is a top-level GET from another site. The sealed
    // value expires by itself after 15 minutes.
    let cookie = latchkey_web::cookie(false, PENDING, started.cookie, SameSite::Lax);
    let (jar, token) = web.csrf().token(jar);
    let page = pages::Connect {
        product: PRODUCT,
        csrf: &token,
        workspace: &me.workspace,
        authorize_url: &started.authorize_url,
        login_url: form.login_url.trim(),
    };
    (jar.add(cookie), render(&page, StatusCode::OK)).into_response()
}

/// What the CRM sends back.
#[derive(Deserialize)]
pub(super) struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth/callback`.
pub(super) async fn callback(
    State(web): State<Web>,
    jar: CookieJar,
    signed: SignedCookieJar,
    Query(answer): Query<Answer>,
) -> Response {
    let me = match require(&web, &signed).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let pending = jar.get(PENDING).map(|c| c.value().to_owned()).unwrap_or_default();
    let jar = jar.remove(latchkey_web::removal(PENDING));
    if let Some(error) = answer.error {
        let why = match error.as_str() {
            "access_denied" => "You did not allow the hub's access at the CRM: nothing changed.".to_owned(),
            _ => format!(
                "The CRM did not connect the hub ({error}: {}); nothing changed.",
                answer.error_description.unwrap_or_default()
            ),
        };
        return source_page(&web, jar, &me, Tab::DataSource, Said::error(why)).await;
    }
    let code = SecretString::from(answer.code.unwrap_or_default());
    let finished = web
        .hub
        .finish_oauth(
            &pending,
            answer.state.as_deref().unwrap_or_default(),
            &code,
            web.ca.as_deref(),
        )
        .await;
    let (workspace, view) = match finished {
        Ok(done) if done.0 == me.workspace => done,
        Ok(_) => {
            let why = "That connection was started in another workspace.";
            return source_page(&web, jar, &me, Tab::DataSource, Said::error(why)).await;
        }
        Err(HubError::Invalid(why)) => return source_page(&web, jar, &me, Tab::DataSource, Said::error(why)).await,
        Err(e) => return failure(&e),
    };
    let notice = match web
        .hub
        .resume_after_change(&workspace, &view.login_url, web.ca.as_deref(), true)
        .await
    {
        Ok(Some(Ok(()))) => {
            "Connected with OAuth. The CRM accepted the hub's token: every suspended connector resumed."
        }
        Ok(_) => "Connected with OAuth. The hub no longer holds your password.",
        Err(e) => return failure(&e),
    };
    source_page(&web, jar, &me, Tab::DataSource, Said::notice(notice)).await
}
