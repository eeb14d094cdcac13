//! `/services/oauth2/authorize`: the browser half of the web-server flow. The request
//! is checked first — an unknown app or a redirect URI the app has not registered gets
//! a page and never a redirect, so the org cannot be used as an open redirector; then
//! the user logs in (the login page returns here), sees what the app asks for, and
//! allows (a code goes to the app's redirect URI) or denies (`access_denied`).

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::account::{signed_in, user_form};
use super::cookies;
use super::templates::{self, render};
use crate::http::HttpState;
use crate::oauth::authorization_codes::AppAccess;
use crate::oauth::authorization_codes::{Authorization, AuthorizeError, AuthorizeRequest};

/// The parameters, from the query (GET) or the consent form (POST).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    #[serde(default)]
    decision: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

impl Params {
    fn request(&self) -> AuthorizeRequest {
        let present = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        AuthorizeRequest {
            response_type: present(&self.response_type),
            client_id: present(&self.client_id),
            redirect_uri: present(&self.redirect_uri),
            scope: present(&self.scope),
            code_challenge: present(&self.code_challenge),
            code_challenge_method: present(&self.code_challenge_method),
        }
    }
}

/// `redirect_uri` with `pairs` added to its query.
fn redirect_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        query.append_pair(k, v);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{redirect_uri}{separator}{}", query.finish())).into_response()
}

/// The outcome of a check that failed: a page, or the error at the app's redirect URI.
fn refused(state: &HttpState, params: &Params, error: AuthorizeError) -> Response {
    match error {
        AuthorizeError::Page(text) => {
            let page = templates::Message {
                product: &state.services.mail.product,
                title: "This app can't connect",
                text,
            };
            render(&page, StatusCode::BAD_REQUEST)
        }
        AuthorizeError::Redirect(error, description) => redirect_to(
            params.redirect_uri.as_deref().unwrap_or_default(),
            &[
                ("error", error),
                ("error_description", description),
                ("state", params.state.as_deref().unwrap_or_default()),
            ],
        ),
    }
}

/// The origin (`scheme://host[:port]`) of a URL, for the consent form's CSP.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    let safe = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    (safe(scheme) && safe(host)).then(|| format!("{scheme}://{host}"))
}

/// `GET /services/oauth2/authorize`.
pub(super) async fn start(
    State(state): State<HttpState>,
    jar: CookieJar,
    uri: Uri,
    Query(params): Query<Params>,
) -> Response {
    let authorization = match state.services.check_authorization(&params.request()).await {
        Ok(a) => a,
        Err(e) => return refused(&state, &params, e),
    };
    let me = match signed_in(&state, &jar).await {
        Ok(Some(me)) if me.session.client_id.is_none() && !me.session.restricted => me,
        _ => {
            let here = uri.path_and_query().map_or("/", |p| p.as_str());
            let start: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return Redirect::to(&format!("/?startURL={start}")).into_response();
        }
    };
    if let Some(refusal) = not_approved(&state, &authorization, &me.user, &params).await {
        return refusal;
    }
    consent(&state, jar, &params, &authorization, &me.user.username)
}

/// The app's answer when its policy admits only administrator-approved users and this
/// user is not one.
async fn not_approved(
    state: &HttpState,
    authorization: &Authorization,
    user: &latchkey_store::users::User,
    params: &Params,
) -> Option<Response> {
    let description = match state.services.may_use_app(&authorization.app, user).await {
        Ok(AppAccess::Allowed) => return None,
        Ok(AppAccess::NotApproved) => "user is not admin approved to access this app",
        Ok(AppAccess::OtherOrg) => "this app belongs to another organization",
        Err(e) => {
            tracing::error!(error = %e, "an app's permitted users could not be checked");
            return Some(refused(
                state,
                params,
                AuthorizeError::Page("The request could not be checked just now. Try again."),
            ));
        }
    };
    Some(redirect_to(
        &authorization.redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", description),
            ("state", params.state.as_deref().unwrap_or_default()),
        ],
    ))
}

fn consent(
    state: &HttpState,
    jar: CookieJar,
    params: &Params,
    authorization: &Authorization,
    username: &str,
) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let scope = authorization.scope();
    let page = templates::Consent {
        product: &state.services.mail.product,
        csrf: &csrf,
        app: &authorization.app.name,
        scopes: authorization.descriptions(),
        username,
        client_id: &authorization.app.client_id,
        redirect_uri: &authorization.redirect_uri,
        scope: &scope,
        oauth_state: params.state.as_deref().unwrap_or_default(),
        code_challenge: authorization.code_challenge.as_deref().unwrap_or_default(),
        code_challenge_method: if authorization.code_challenge.is_some() {
            "S256"
        } else {
            ""
        },
    };
    let mut response = (jar, render(&page, StatusCode::OK)).into_response();
    // The form's answer redirects to the app: the policy must let the form go there.
    let target = origin(&authorization.redirect_uri).unwrap_or_default();
    let policy = latchkey_web::CSP.replace("form-action 'self'", &format!("form-action 'self' {target}"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `POST /services/oauth2/authorize`: Allow or Deny.
pub(super) async fn decide(State(state): State<HttpState>, jar: CookieJar, Form(params): Form<Params>) -> Response {
    let me = match user_form(&state, &jar, &params.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let authorization = match state.services.check_authorization(&params.request()).await {
        Ok(a) => a,
        Err(e) => return refused(&state, &params, e),
    };
    if let Some(refusal) = not_approved(&state, &authorization, &me.user, &params).await {
        return refusal;
    }
    let oauth_state = params.state.as_deref().unwrap_or_default();
    if params.decision != "allow" {
        return redirect_to(
            &authorization.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "end-user denied authorization"),
                ("state", oauth_state),
            ],
        );
    }
    match state.services.issue_code(&authorization, &me.user).await {
        Ok(code) => redirect_to(
            &authorization.redirect_uri,
            &[("code", code.expose_secret()), ("state", oauth_state)],
        ),
        Err(e) => {
            tracing::error!(error = %e, "an authorization code could not be issued");
            redirect_to(
                &authorization.redirect_uri,
                &[
                    ("error", "server_error"),
                    ("error_description", "the code could not be issued"),
                    ("state", oauth_state),
                ],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_taken_whole_or_not_at_all() {
        assert_eq!(
            origin("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            origin("http://127.0.0.1:9/callback").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(origin("https://a b/"), None);
        assert_eq!(origin("https://x;script-src *"), None);
        assert_eq!(origin("nonsense"), None);
    }
}
