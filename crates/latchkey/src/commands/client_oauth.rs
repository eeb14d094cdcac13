//! `latchkey client settings --oauth`: the loopback redirect flow of RFC 8252 for a
//! native app. The client listens on a port of the moment on 127.0.0.1, sends the
//! person (the system browser, or the printed address) to the org's authorization
//! page with a PKCE challenge, takes the code at `http://127.0.0.1:PORT/callback`, and
//! exchanges it as a public client — no secret, no password.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use latchkey_core::secret::{pkce_pair, random_alphanumeric};
use latchkey_sfclient::{exchange_code, http_client, CodeExchange};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::oneshot;

use super::{usage, Failure};

/// How long the client waits for the browser.
const PATIENCE: Duration = Duration::from_secs(300);

/// What the org sent back.
#[derive(Debug, Deserialize)]
struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

type Waiting = Arc<Mutex<Option<oneshot::Sender<Answer>>>>;

async fn callback(State(waiting): State<Waiting>, Query(answer): Query<Answer>) -> Html<&'static str> {
    let denied = answer.error.is_some();
    if let Some(tx) = waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
        let _ = tx.send(answer);
    }
    Html(if denied {
        "<!doctype html><title>Latchkey</title><p>Access was not allowed. You can close this window.</p>"
    } else {
        "<!doctype html><title>Latchkey</title><p>Latchkey received the answer. You can close this window and \
         return to the terminal.</p>"
    })
}

/// Starts the system browser at `url` (best effort; the address is printed anyway).
fn open_browser(url: &str) -> bool {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// Runs the flow; returns the refresh token the org issued.
pub async fn authorize(
    login_url: &str,
    client_id: &str,
    ca: Option<&[u8]>,
    browser: bool,
) -> Result<SecretString, Failure> {
    let login_url = login_url.trim().trim_end_matches('/');
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::Internal(anyhow::anyhow!("cannot listen on loopback: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::Internal(anyhow::anyhow!("loopback address: {e}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let (verifier, challenge) = pkce_pair();
    let state = random_alphanumeric(32);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "api refresh_token")
        .append_pair("state", state.expose_secret())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let url = format!("{login_url}/services/oauth2/authorize?{query}");
    println!("Open this address in your browser, log in and allow access:");
    println!("{url}");
    if browser && open_browser(&url) {
        println!("(The system browser was asked to open it.)");
    }
    let (tx, rx) = oneshot::channel();
    let waiting: Waiting = Arc::new(Mutex::new(Some(tx)));
    let app = Router::new().route("/callback", get(callback)).with_state(waiting);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let answer = tokio::time::timeout(PATIENCE, rx).await;
    let _ = stop.send(());
    let _ = server.await;
    let answer = match answer {
        Ok(Ok(answer)) => answer,
        _ => return Err(usage("no answer from the browser within 5 minutes; nothing changed")),
    };
    if let Some(error) = answer.error {
        return Err(usage(format!(
            "the org did not allow access ({error}: {}); nothing changed",
            answer.error_description.unwrap_or_default()
        )));
    }
    if answer.state.as_deref() != Some(state.expose_secret()) {
        return Err(usage("the answer does not belong to this request; nothing changed"));
    }
    let code = SecretString::from(answer.code.unwrap_or_default());
    let http = http_client(ca).map_err(|e| Failure::Internal(e.into()))?;
    let granted = exchange_code(
        &http,
        login_url,
        &CodeExchange {
            client_id,
            client_secret: None,
            code: &code,
            redirect_uri: &redirect_uri,
            verifier: &verifier,
        },
    )
    .await
    .map_err(|e| usage(format!("the org did not exchange the code: {e}")))?;
    granted
        .refresh_token
        .ok_or_else(|| usage("the org granted no refresh token: the connected app needs the refresh_token scope"))
}
