//! Logging in: SOAP `login()` or the OAuth 2.0 username-password flow (wire-spec §5, §6).
//! Each call makes exactly one attempt; what the org refuses comes back as
//! [`Error::CredentialsRejected`], never retried here.

use quick_xml::escape::escape;
use quick_xml::events::Event;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::Error;

/// How to log in. Secrets are redacted in `Debug`.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// SOAP `login()` with username and password + security token.
    Soap {
        /// Username.
        username: String,
        /// Password.
        password: SecretString,
        /// Security token (empty from a trusted network).
        security_token: SecretString,
    },
    /// OAuth username-password flow through a connected app.
    OAuthPassword {
        /// Username.
        username: String,
        /// Password.
        password: SecretString,
        /// Security token (empty from a trusted network).
        security_token: SecretString,
        /// Connected app's client id.
        client_id: String,
        /// Connected app's client secret.
        client_secret: SecretString,
    },
    /// OAuth JWT bearer grant: each login is an assertion signed with the connected
    /// app's private key; no password and no token is held at all.
    JwtBearer {
        /// Username (the assertion's `sub`).
        username: String,
        /// Connected app's client id (the assertion's `iss`).
        client_id: String,
        /// The private key (PEM) of the certificate registered with the app.
        private_key_pem: SecretString,
    },
    /// OAuth refresh-token grant: the integration never holds the user's password, so
    /// a password reset cannot break it (unless the org's app policy says otherwise).
    OAuthRefresh {
        /// The refresh token.
        refresh_token: SecretString,
        /// Connected app's client id.
        client_id: String,
        /// Connected app's client secret.
        client_secret: SecretString,
    },
}

impl Credentials {
    /// What the org sees at one login through `login_url`: the bytes a keyed
    /// fingerprint of a refused pair is taken over, so that the hub and the desktop
    /// client remember a rejection the same way and never send that pair again. Equal
    /// logins give equal bytes (usernames in any case); any changed secret, username,
    /// app or login URL gives other bytes.
    pub fn pair(&self, login_url: &str) -> Zeroizing<Vec<u8>> {
        let (method, username, client_id, secrets): (&str, &str, &str, Vec<&SecretString>) = match self {
            Self::Soap {
                username,
                password,
                security_token,
            } => ("soap", username, "", vec![password, security_token]),
            Self::OAuthPassword {
                username,
                password,
                security_token,
                client_id,
                client_secret,
            } => (
                "oauth-password",
                username,
                client_id,
                vec![password, security_token, client_secret],
            ),
            Self::JwtBearer {
                username,
                client_id,
                private_key_pem,
            } => ("oauth-jwt", username, client_id, vec![private_key_pem]),
            Self::OAuthRefresh {
                refresh_token,
                client_id,
                client_secret,
            } => ("oauth-refresh-token", "", client_id, vec![refresh_token, client_secret]),
        };
        let mut pair = Zeroizing::new(Vec::new());
        let lower = Zeroizing::new(username.to_lowercase());
        let login_url = login_url.trim().trim_end_matches('/');
        for part in ["latchkey-pair-v1", method, login_url, &lower, client_id] {
            pair.extend_from_slice(part.as_bytes());
            pair.push(0);
        }
        for secret in secrets {
            pair.extend_from_slice(secret.expose_secret().as_bytes());
            pair.push(0);
        }
        pair
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id / access token.
    pub access_token: SecretString,
    /// `scheme://host[:port]` of the org's API.
    pub instance_url: String,
}

/// The API version this client speaks.
pub const API_VERSION: &str = "59.0";

fn soap_envelope(username: &str, secret: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <env:Body><n1:login xmlns:n1=\"urn:partner.soap.sforce.com\"><n1:username>{}</n1:username>\
         <n1:password>{}</n1:password></n1:login></env:Body></env:Envelope>",
        escape(username),
        escape(secret)
    )
}

/// The text of the first elements named `names` (local names) in an XML document.
fn texts(xml: &str, names: &[&str]) -> Vec<Option<String>> {
    let mut out = vec![None; names.len()];
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut current: Option<(usize, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let local = e.local_name();
                current = names
                    .iter()
                    .position(|n| *n == local.as_ref())
                    .filter(|i| out[*i].is_none())
                    .map(|i| (i, String::new()));
            }
            Ok(Event::Text(t)) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, text)) = current.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        _ => text.push_str(quick_xml::escape::resolve_predefined_entity(&r).unwrap_or_default()),
                    }
                }
            }
            Ok(Event::End(_)) => {
                if let Some((i, text)) = current.take() {
                    out[i] = (!text.is_empty()).then_some(text);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!("{scheme}://{host}"))
}

async fn soap(http: &reqwest::Client, login_url: &str, username: &str, secret: &str) -> Result<Session, Error> {
    let response = http
        .post(format!(
            "{}/services/Soap/u/{API_VERSION}",
            login_url.trim_end_matches('/')
        ))
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(soap_envelope(username, secret))
        .send()
        .await
        .map_err(|e| Error::network(&e))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| Error::network(&e))?;
    let [session, server_url, expired, fault_code, fault_string]: [Option<String>; 5] = texts(
        &body,
        &["sessionId", "serverUrl", "passwordExpired", "faultcode", "faultstring"],
    )
    .try_into()
    .map_err(|_| Error::Protocol("SOAP response".into()))?;
    if let Some(code) = fault_code {
        let code = code.rsplit(':').next().unwrap_or_default().to_owned();
        let message = fault_string.unwrap_or_default();
        return Err(match code.as_str() {
            "REQUEST_LIMIT_EXCEEDED" | "SERVER_UNAVAILABLE" => Error::Transient(code),
            "UNSUPPORTED_API_VERSION" | "INVALID_SOAP_HEADER" => Error::Protocol(format!("{code}: {message}")),
            // The operation itself is refused (switched off in the org, or not in
            // this version): the org does not look at the credentials.
            "INVALID_OPERATION" => Error::LoginUnavailable { code, message },
            _ => Error::rejected(code, message),
        });
    }
    if status == 429 || status >= 500 {
        return Err(Error::Transient(format!("HTTP {status}")));
    }
    if expired.as_deref() == Some("true") {
        return Err(Error::rejected(
            "PASSWORD_EXPIRED",
            "The password has expired; a person must set a new one.",
        ));
    }
    match (session, server_url.as_deref().and_then(origin)) {
        (Some(token), Some(instance_url)) => Ok(Session {
            access_token: SecretString::from(token),
            instance_url,
        }),
        _ => Err(Error::Protocol(format!(
            "SOAP login answered HTTP {status} without a session"
        ))),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    instance_url: Option<String>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn oauth(http: &reqwest::Client, login_url: &str, form: &[(&str, &str)]) -> Result<Session, Error> {
    token_endpoint(http, login_url, form)
        .await
        .map(|granted| granted.session)
}

/// What the token endpoint granted.
#[derive(Debug)]
pub struct Granted {
    /// The session.
    pub session: Session,
    /// A refresh token, when the grant gave one.
    pub refresh_token: Option<SecretString>,
}

/// An authorization code of the web-server flow, to exchange.
#[derive(Debug)]
pub struct CodeExchange<'a> {
    /// The connected app's client id.
    pub client_id: &'a str,
    /// Its secret (none for a public client).
    pub client_secret: Option<&'a SecretString>,
    /// The code.
    pub code: &'a SecretString,
    /// The redirect URI of the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier.
    pub verifier: &'a SecretString,
}

/// Exchanges an authorization code (one request; a refusal is not retried).
pub async fn exchange_code(
    http: &reqwest::Client,
    login_url: &str,
    exchange: &CodeExchange<'_>,
) -> Result<Granted, Error> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", exchange.client_id),
        ("code", exchange.code.expose_secret()),
        ("redirect_uri", exchange.redirect_uri),
        ("code_verifier", exchange.verifier.expose_secret()),
    ];
    if let Some(secret) = exchange.client_secret {
        form.push(("client_secret", secret.expose_secret()));
    }
    token_endpoint(http, login_url, &form).await
}

async fn token_endpoint(http: &reqwest::Client, login_url: &str, form: &[(&str, &str)]) -> Result<Granted, Error> {
    let body: String = form_urlencoded_pairs(form);
    let response = http
        .post(format!("{}/services/oauth2/token", login_url.trim_end_matches('/')))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| Error::network(&e))?;
    let status = response.status().as_u16();
    if status == 429 || status >= 500 {
        return Err(Error::Transient(format!("HTTP {status}")));
    }
    let parsed: TokenResponse = response
        .json()
        .await
        .map_err(|_| Error::Protocol(format!("token endpoint answered HTTP {status} without JSON")))?;
    match parsed {
        TokenResponse {
            access_token: Some(token),
            instance_url: Some(instance_url),
            refresh_token,
            ..
        } if status == 200 => Ok(Granted {
            session: Session {
                access_token: SecretString::from(token),
                instance_url: instance_url.trim_end_matches('/').to_owned(),
            },
            refresh_token: refresh_token.map(SecretString::from),
        }),
        TokenResponse {
            error: Some(code),
            error_description,
            ..
        } => Err(Error::rejected(code, error_description.unwrap_or_default())),
        _ => Err(Error::Protocol(format!("token endpoint answered HTTP {status}"))),
    }
}

fn form_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The JWT bearer grant type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion lives (the org takes at most three minutes).
const ASSERTION_SECONDS: u64 = 120;

/// Checks that `pem` is an RSA private key (to refuse a bad key when it is entered,
/// not at the first login).
pub fn check_private_key(pem: &str) -> Result<(), Error> {
    jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
        .map(|_| ())
        .map_err(|_| Error::Protocol("not an RSA private key in PEM".into()))
}

/// An RS256 assertion: `iss` the client id, `sub` the username, `aud` the login URL.
fn jwt_assertion(
    login_url: &str,
    username: &str,
    client_id: &str,
    private_key_pem: &SecretString,
) -> Result<SecretString, Error> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes())
        .map_err(|_| Error::Protocol("the JWT private key is not an RSA key in PEM".into()))?;
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": username,
        "aud": login_url.trim_end_matches('/'),
        "exp": jsonwebtoken::get_current_timestamp() + ASSERTION_SECONDS,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map(SecretString::from)
    .map_err(|_| Error::Protocol("the JWT assertion could not be signed".into()))
}

/// Makes one login attempt with `credentials` against `login_url`.
pub async fn login(http: &reqwest::Client, login_url: &str, credentials: &Credentials) -> Result<Session, Error> {
    match credentials {
        Credentials::Soap {
            username,
            password,
            security_token,
        } => {
            let secret = format!("{}{}", password.expose_secret(), security_token.expose_secret());
            soap(http, login_url, username, &secret).await
        }
        Credentials::OAuthPassword {
            username,
            password,
            security_token,
            client_id,
            client_secret,
        } => {
            let secret = format!("{}{}", password.expose_secret(), security_token.expose_secret());
            oauth(
                http,
                login_url,
                &[
                    ("grant_type", "password"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose_secret()),
                    ("username", username),
                    ("password", &secret),
                ],
            )
            .await
        }
        Credentials::JwtBearer {
            username,
            client_id,
            private_key_pem,
        } => {
            let assertion = jwt_assertion(login_url, username, client_id, private_key_pem)?;
            oauth(
                http,
                login_url,
                &[("grant_type", JWT_BEARER), ("assertion", assertion.expose_secret())],
            )
            .await
        }
        Credentials::OAuthRefresh {
            refresh_token,
            client_id,
            client_secret,
        } => {
            oauth(
                http,
                login_url,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", client_id),
                    ("client_secret", client_secret.expose_secret()),
                    ("refresh_token", refresh_token.expose_secret()),
                ],
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_soap_results_and_faults() {
        let ok = "<soapenv:Envelope><soapenv:Body><loginResponse><result><passwordExpired>false</passwordExpired>\
                  <serverUrl>https://acme.example:8443/services/Soap/u/59.0/00D</serverUrl><sessionId>00D!abc</sessionId>\
                  </result></loginResponse></soapenv:Body></soapenv:Envelope>";
        let t = texts(ok, &["sessionId", "serverUrl", "faultcode"]);
        assert_eq!(t[0].as_deref(), Some("00D!abc"));
        assert_eq!(
            t[1].as_deref().and_then(origin).as_deref(),
            Some("https://acme.example:8443")
        );
        assert_eq!(t[2], None);
        let fault = "<e:Envelope><e:Body><e:Fault><faultcode>sf:INVALID_LOGIN</faultcode>\
                     <faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>";
        assert_eq!(texts(fault, &["faultcode"])[0].as_deref(), Some("sf:INVALID_LOGIN"));
    }

    #[test]
    fn escapes_what_it_sends() {
        let env = soap_envelope("a&b@x.io", "<p>&\"'");
        assert!(env.contains("a&amp;b@x.io") && env.contains("&lt;p&gt;&amp;"));
        assert_eq!(
            form_urlencoded_pairs(&[("a", "x y&z"), ("b", "é")]),
            "a=x+y%26z&b=%C3%A9"
        );
    }
}
