//! SOAP `login()` and `logout()` on `/services/Soap/{u|c}/{version}` (wire-spec §5).
//! Parsing is namespace-aware and tolerant of prefixes, extra headers and SOAPAction
//! variants; a DOCTYPE (and so any entity declaration) is refused. Success bodies put
//! result elements unprefixed in the default namespace; faults are HTTP 500 with
//! `sf:`-prefixed details, or 400 for a request that is not a well-formed call.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use latchkey_core::status::LoginStatus;
use latchkey_store::orgs::Org;
use latchkey_store::users::User;
use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use secrecy::{ExposeSecret, SecretString};

use super::versions::LAST_WITH_SOAP_LOGIN;
use super::{base_url, ClientIp, HttpState};
use crate::login::sessions::Issued;
use crate::login::{Intent, LoginOutcome, LoginRequest};

const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// `INVALID_LOGIN`'s message.
pub const INVALID_LOGIN_MESSAGE: &str = "Invalid username, password, security token; or user locked out.";
/// `LOGIN_MUST_USE_SECURITY_TOKEN`'s message (with Salesforce's U+2019 apostrophe).
pub const MUST_USE_TOKEN_MESSAGE: &str = "Invalid username, password, security token; or user locked out. Are you at a new location? When accessing Salesforce--either via a desktop client or the API--from outside of your company\u{2019}s trusted networks, you must add a security token to your password to log in. To get your new security token, log in to Salesforce. From your personal settings, enter Reset My Security Token in the Quick Find box, then select Reset My Security Token.";

pub(super) fn router() -> Router<HttpState> {
    Router::new()
        .route("/services/Soap/{api}/{version}", post(call))
        .route("/services/Soap/{api}/{version}/{org}", post(call))
}

/// Partner (`u`) or enterprise (`c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    Partner,
    Enterprise,
}

impl Api {
    fn letter(self) -> &'static str {
        match self {
            Self::Partner => "u",
            Self::Enterprise => "c",
        }
    }
    fn namespace(self) -> &'static str {
        match self {
            Self::Partner => "urn:partner.soap.sforce.com",
            Self::Enterprise => "urn:enterprise.soap.sforce.com",
        }
    }
    fn fault_namespace(self) -> &'static str {
        match self {
            Self::Partner => "urn:fault.partner.soap.sforce.com",
            Self::Enterprise => "urn:fault.enterprise.soap.sforce.com",
        }
    }
    fn api_type(self) -> &'static str {
        match self {
            Self::Partner => "SOAP Partner",
            Self::Enterprise => "SOAP Enterprise",
        }
    }
}

/// The call a request body makes.
#[derive(Default)]
struct Parsed {
    operation: Option<String>,
    username: Option<String>,
    password: Option<SecretString>,
    session_id: Option<SecretString>,
    client: Option<String>,
    set_password_user: Option<String>,
    new_password: Option<SecretString>,
}

/// Why a body is not a SOAP call we can read.
#[derive(Debug)]
struct Malformed(String);

fn parse(body: &[u8]) -> Result<Parsed, Malformed> {
    let text = std::str::from_utf8(body).map_err(|_| Malformed("request body is not UTF-8".into()))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut parsed = Parsed::default();
    // Local names of open elements, and whether the element is in the SOAP envelope namespace.
    let mut stack: Vec<(String, bool)> = Vec::new();
    let mut saw_envelope = false;
    let mut text_buf = String::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| Malformed(format!("malformed XML: {e}")))?;
        match event {
            Event::DocType(_) => return Err(Malformed("DOCTYPE and entity declarations are not allowed".into())),
            Event::Start(e) => {
                let local = e.local_name().as_ref().to_owned();
                let in_env = matches!(ns, ResolveResult::Bound(n) if n.as_ref() == SOAP_ENV);
                if stack.is_empty() {
                    if !(in_env && local == "Envelope") {
                        return Err(Malformed("the root element must be a SOAP 1.1 Envelope".into()));
                    }
                    saw_envelope = true;
                }
                if stack.len() == 2 && stack[1] == ("Body".to_owned(), true) && parsed.operation.is_none() {
                    parsed.operation = Some(local.clone());
                }
                stack.push((local, in_env));
                text_buf.clear();
            }
            Event::Empty(e) => {
                let local = e.local_name().as_ref().to_owned();
                if stack.len() == 2 && stack[1] == ("Body".to_owned(), true) && parsed.operation.is_none() {
                    parsed.operation = Some(local);
                }
            }
            Event::Text(t) => text_buf.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => text_buf.push_str(&reference(&r)?),
            Event::CData(c) => text_buf.push_str(&c.xml10_content()),
            Event::End(_) => {
                let Some((local, _)) = stack.pop() else {
                    return Err(Malformed("unbalanced XML".into()));
                };
                let parent = stack.last().map(|(n, _)| n.as_str());
                let value = std::mem::take(&mut text_buf);
                match (parent, local.as_str()) {
                    (Some("login"), "username") => parsed.username = Some(value),
                    (Some("login"), "password") => parsed.password = Some(SecretString::from(value)),
                    (Some("SessionHeader"), "sessionId") => {
                        parsed.session_id = Some(SecretString::from(value.trim().to_owned()))
                    }
                    (Some("CallOptions"), "client") => parsed.client = Some(value.trim().to_owned()),
                    (Some("setPassword"), "userId") => parsed.set_password_user = Some(value.trim().to_owned()),
                    (Some("setPassword"), "password") => parsed.new_password = Some(SecretString::from(value)),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_envelope || !stack.is_empty() {
        return Err(Malformed("incomplete SOAP envelope".into()));
    }
    Ok(parsed)
}

/// What `&name;` or `&#…;` stands for: a character reference or one of XML's five
/// predefined entities. Nothing else is declared (a DOCTYPE is refused).
fn reference(r: &quick_xml::events::BytesRef<'_>) -> Result<String, Malformed> {
    let bad = || Malformed(format!("bad character or entity reference: &{};", &**r));
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => quick_xml::escape::resolve_predefined_entity(r)
            .map(str::to_owned)
            .ok_or_else(bad),
        Err(_) => Err(bad()),
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")], body).into_response()
}

/// A SOAP fault: the one shape of every refusal on the SOAP path, whether the
/// handler or a layer before it refuses (see `refusal.rs`).
#[derive(Debug, Clone)]
pub(super) enum SoapFault {
    /// An `sf:` exception code and message in the API's fault namespace (HTTP 500, as
    /// Salesforce answers; 400 for bad input).
    Exception {
        /// Whose fault namespace.
        api: Api,
        /// The HTTP status.
        status: StatusCode,
        /// The exception code (`INVALID_LOGIN`…).
        code: String,
        /// The exception message.
        message: String,
        /// The detail element's type.
        detail: Detail,
    },
    /// A request that is not a SOAP call this server understands: HTTP 400,
    /// `soapenv:Client`.
    Client(String),
}

/// The type of a fault's detail element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detail {
    /// `sf:LoginFault`: `login()` refused.
    Login,
    /// `sf:UnexpectedErrorFault`: anything else.
    Unexpected,
}

impl Detail {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "LoginFault",
            Self::Unexpected => "UnexpectedErrorFault",
        }
    }
}

impl SoapFault {
    /// A refused `login()`.
    fn login(api: Api, status: StatusCode, code: &str, message: &str) -> Self {
        Self::exception(api, status, code, message, Detail::Login)
    }

    /// Any other refusal.
    fn unexpected(api: Api, status: StatusCode, code: &str, message: &str) -> Self {
        Self::exception(api, status, code, message, Detail::Unexpected)
    }

    fn exception(api: Api, status: StatusCode, code: &str, message: &str, detail: Detail) -> Self {
        Self::Exception {
            api,
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            detail,
        }
    }

    /// The server failed: `UNKNOWN_EXCEPTION`, nothing about why.
    fn internal(api: Api) -> Self {
        Self::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please try again.",
        )
    }

    /// No live session behind the session header.
    fn invalid_session(api: Api) -> Self {
        Self::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
        )
    }

    /// A session that may only change its expired password.
    fn expired_password(api: Api) -> Self {
        Self::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "The users password has expired, you must call SetPassword before attempting any other API operations",
        )
    }

    /// A refusal made before the SOAP handler runs (see `refusal.rs`), in the
    /// namespace of the API the path names.
    pub(super) fn refusal(path: &str, status: StatusCode, code: &str, message: &str) -> Self {
        let api = if path.starts_with("/services/Soap/c/") {
            Api::Enterprise
        } else {
            Api::Partner
        };
        Self::unexpected(api, status, code, message)
    }
}

impl IntoResponse for SoapFault {
    fn into_response(self) -> Response {
        match self {
            Self::Exception {
                api,
                status,
                code,
                message,
                detail,
            } => {
                let (code, msg, detail) = (escape(&code), escape(&message), detail.name());
                xml(
                    status,
                    format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                         xmlns:sf=\"{ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><soapenv:Fault>\
                         <faultcode>sf:{code}</faultcode><faultstring>{code}: {msg}</faultstring><detail><sf:{detail} xsi:type=\"sf:{detail}\">\
                         <sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{msg}</sf:exceptionMessage></sf:{detail}></detail>\
                         </soapenv:Fault></soapenv:Body></soapenv:Envelope>",
                        ns = api.fault_namespace()
                    ),
                )
            }
            Self::Client(message) => xml(
                StatusCode::BAD_REQUEST,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\
                     <soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{}</faultstring></soapenv:Fault>\
                     </soapenv:Body></soapenv:Envelope>",
                    escape(&message)
                ),
            ),
        }
    }
}

async fn call(
    State(state): State<HttpState>,
    ClientIp(ip): ClientIp,
    Path(params): Path<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let api = match params.first().map(|(_, v)| v.as_str()) {
        Some("u") => Api::Partner,
        Some("c") => Api::Enterprise,
        _ => {
            return SoapFault::Client(
                "unknown SOAP API: use /services/Soap/u/{version} or /services/Soap/c/{version}".to_owned(),
            )
            .into_response()
        }
    };
    let version = params.get(1).map(|(_, v)| v.clone()).unwrap_or_default();
    let Some(major) = state.api_versions.served_major(&version) else {
        return SoapFault::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNSUPPORTED_API_VERSION",
            &format!("Invalid Api version specified on URL: {version}"),
        )
        .into_response();
    };
    let parsed = match parse(&body) {
        Ok(p) => p,
        Err(Malformed(why)) => return SoapFault::Client(why).into_response(),
    };
    let operation = parsed.operation.clone();
    match operation.as_deref() {
        Some("login") if major > LAST_WITH_SOAP_LOGIN => SoapFault::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INVALID_OPERATION",
            &format!(
                "The SOAP Login operation is not available in the API version specified ({version}). \
                 Refer to the documentation for supported versions."
            ),
        )
        .into_response(),
        Some("login") => login(&state, api, &version, ip, &headers, parsed).await,
        Some("logout") => logout(&state, api, parsed).await,
        Some("setPassword") => set_password(&state, api, parsed).await,
        Some(op) => other_operation(&state, api, op, parsed).await,
        None => SoapFault::Client("the SOAP Body holds no operation".to_owned()).into_response(),
    }
}

/// Salesforce's fault text for `login()` in an org that has it switched off.
const SOAP_LOGIN_DISABLED_MESSAGE: &str =
    "SOAP API login() is disabled by default in this org. Contact the org administrator to enable SOAP API login().";

async fn login(
    state: &HttpState,
    api: Api,
    version: &str,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    p: Parsed,
) -> Response {
    let username = p.username.unwrap_or_default();
    let password = p.password.unwrap_or_else(|| SecretString::from(String::new()));
    if username.trim().is_empty() || password.expose_secret().is_empty() {
        // Bad input: the fault clients expect, with a 4xx status.
        return SoapFault::login(api, StatusCode::BAD_REQUEST, "INVALID_LOGIN", INVALID_LOGIN_MESSAGE).into_response();
    }
    let application = p
        .client
        .or_else(|| {
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map(|c| c.chars().take(64).collect::<String>())
        .unwrap_or_else(|| "N/A".into());
    let req = LoginRequest {
        username: &username,
        secret: &password,
        ip,
        intent: Intent::Soap {
            api_type: api.api_type(),
            api_version: version,
            client: &application,
        },
    };
    let outcome = match state.services.login(&req).await {
        Ok(login) => (login.outcome, login.session),
        Err(e) => {
            tracing::error!(error = %e, "SOAP login failed internally");
            return SoapFault::internal(api).into_response();
        }
    };
    match outcome {
        (LoginOutcome::Refused(status), _) => refused(api, status).into_response(),
        (LoginOutcome::Success { .. }, None) => {
            tracing::error!("a SOAP login succeeded without a session");
            SoapFault::internal(api).into_response()
        }
        (
            LoginOutcome::Success {
                user,
                org,
                password_expired,
            },
            Some(issued),
        ) => {
            let at = Answering {
                api,
                version,
                base: &base_url(state, headers),
            };
            login_response(&at, &user, &org, password_expired, &issued)
        }
    }
}

/// The fault a refused `login()` answers: the token case and a switched-off
/// `login()` are told apart, as Salesforce tells them; every other refusal is
/// `INVALID_LOGIN`.
fn refused(api: Api, status: LoginStatus) -> SoapFault {
    let error = StatusCode::INTERNAL_SERVER_ERROR;
    match status {
        LoginStatus::TokenRequired => {
            SoapFault::login(api, error, "LOGIN_MUST_USE_SECURITY_TOKEN", MUST_USE_TOKEN_MESSAGE)
        }
        LoginStatus::SoapLoginDisabled => {
            SoapFault::unexpected(api, error, "INVALID_OPERATION", SOAP_LOGIN_DISABLED_MESSAGE)
        }
        _ => SoapFault::login(api, error, "INVALID_LOGIN", INVALID_LOGIN_MESSAGE),
    }
}

/// Where a SOAP answer goes back to: the API, its version and the server's base URL.
struct Answering<'a> {
    api: Api,
    version: &'a str,
    base: &'a str,
}

/// The `loginResponse` of a successful login, with its session and user info.
fn login_response(at: &Answering<'_>, user: &User, org: &Org, password_expired: bool, issued: &Issued) -> Response {
    let Answering { api, version, base } = *at;
    let profile = user.profile_id.to_string();
    let org15 = user.org_id.short();
    let server_url = format!("{base}/services/Soap/{}/{version}/{org15}", api.letter());
    let metadata_url = format!("{base}/services/Soap/m/{version}/{org15}");
    xml(
        StatusCode::OK,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns=\"{ns}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><loginResponse><result>\
             <metadataServerUrl>{metadata}</metadataServerUrl><passwordExpired>{expired}</passwordExpired><sandbox>false</sandbox>\
             <serverUrl>{server}</serverUrl><sessionId>{session}</sessionId><userId>{user_id}</userId><userInfo>\
             <accessibilityMode>false</accessibilityMode><chatterExternal>false</chatterExternal><currencySymbol>$</currencySymbol>\
             <orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit><orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode>\
             <orgDefaultCurrencyLocale>en_US</orgDefaultCurrencyLocale><orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments>\
             <orgHasPersonAccounts>false</orgHasPersonAccounts><organizationId>{org_id}</organizationId>\
             <organizationMultiCurrency>false</organizationMultiCurrency><organizationName>{org_name}</organizationName>\
             <profileId>{profile}</profileId><roleId xsi:nil=\"true\"/><sessionSecondsValid>{seconds}</sessionSecondsValid>\
             <userDefaultCurrencyIsoCode xsi:nil=\"true\"/><userEmail>{email}</userEmail><userFullName>{full_name}</userFullName>\
             <userId>{user_id}</userId><userLanguage>en_US</userLanguage><userLocale>en_US</userLocale><userName>{username}</userName>\
             <userTimeZone>UTC</userTimeZone><userType>Standard</userType><userUiSkin>Theme3</userUiSkin></userInfo></result>\
             </loginResponse></soapenv:Body></soapenv:Envelope>",
            ns = api.namespace(),
            metadata = escape(&metadata_url),
            expired = password_expired,
            server = escape(&server_url),
            session = escape(issued.id.expose_secret()),
            user_id = user.id,
            org_id = user.org_id,
            org_name = escape(&org.name),
            seconds = issued.seconds_valid,
            email = escape(&user.email),
            full_name = escape(user.full_name()),
            username = escape(&user.username),
        ),
    )
}

/// `setPassword(userId, password)`: the only call an expired-password session may
/// make, and only for its own user. The new password must meet the policy.
async fn set_password(state: &HttpState, api: Api, p: Parsed) -> Response {
    let Some(id) = p.session_id else {
        return SoapFault::invalid_session(api).into_response();
    };
    let session = match state.services.session(id.expose_secret()).await {
        Ok(Some(s)) => s,
        Ok(None) => return SoapFault::invalid_session(api).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return SoapFault::internal(api).into_response();
        }
    };
    let target = p
        .set_password_user
        .as_deref()
        .and_then(|u| latchkey_core::ids::canonical(u).ok());
    if target.as_deref() != Some(session.user_id.as_str()) {
        return SoapFault::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INSUFFICIENT_ACCESS",
            "insufficient access rights on object id",
        )
        .into_response();
    }
    let Some(new_password) = p.new_password else {
        return SoapFault::unexpected(
            api,
            StatusCode::BAD_REQUEST,
            "INVALID_NEW_PASSWORD",
            "a new password is required",
        )
        .into_response();
    };
    let Ok((user, _)) = state.services.user_and_org(&session.user_id).await else {
        return SoapFault::internal(api).into_response();
    };
    match state.services.change_password(&user, &new_password).await {
        Ok(_) => xml(
            StatusCode::OK,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                 xmlns=\"{}\"><soapenv:Body><setPasswordResponse><result/></setPasswordResponse></soapenv:Body></soapenv:Envelope>",
                api.namespace()
            ),
        ),
        Err(crate::AccountError::Password(why)) => {
            SoapFault::unexpected(api, StatusCode::INTERNAL_SERVER_ERROR, "INVALID_NEW_PASSWORD", &why.to_string()).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "setPassword failed internally");
            SoapFault::internal(api).into_response()
        }
    }
}

/// Any other operation: refused for expired-password sessions with Salesforce's code,
/// otherwise not supported by this server.
async fn other_operation(state: &HttpState, api: Api, op: &str, p: Parsed) -> Response {
    if let Some(id) = &p.session_id {
        if let Ok(Some(session)) = state.services.session(id.expose_secret()).await {
            if session.restricted {
                return SoapFault::expired_password(api).into_response();
            }
        }
    }
    SoapFault::unexpected(
        api,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INVALID_OPERATION",
        &format!("operation {op} is not supported by this server"),
    )
    .into_response()
}

async fn logout(state: &HttpState, api: Api, p: Parsed) -> Response {
    let Some(id) = p.session_id else {
        return SoapFault::unexpected(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
        )
        .into_response();
    };
    match state.services.end_session(id.expose_secret()).await {
        Ok(true) => xml(
            StatusCode::OK,
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                 xmlns=\"{}\"><soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>",
                api.namespace()
            ),
        ),
        Ok(false) => SoapFault::unexpected(api, StatusCode::INTERNAL_SERVER_ERROR, "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "SOAP logout failed internally");
            SoapFault::internal(api).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_clients_shapes() {
        let jsforce = br#"<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>a@b.c</username><password>pass&lt;&amp;&gt;wordTOKEN123</password></login></se:Body></se:Envelope>"#;
        let p = parse(jsforce).unwrap();
        assert_eq!(p.operation.as_deref(), Some("login"));
        assert_eq!(p.username.as_deref(), Some("a@b.c"));
        assert_eq!(p.password.unwrap().expose_secret(), "pass<&>wordTOKEN123");
        let simple = br#"<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header><urn:CallOptions><urn:client>simple-salesforce</urn:client><urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header>
  <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>a@b.c</n1:username><n1:password>p&quot;w&#x27;d&#65;TOK</n1:password></n1:login></env:Body>
</env:Envelope>"#;
        let p = parse(simple).unwrap();
        assert_eq!(p.client.as_deref(), Some("simple-salesforce"));
        assert_eq!(p.password.unwrap().expose_secret(), "p\"w'dATOK");
    }

    #[test]
    fn refuses_what_is_not_a_call() {
        for bad in [
            &b"<!DOCTYPE x [<!ENTITY a 'b'>]><se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"/>"[..],
            b"not xml",
            b"<Envelope><Body/></Envelope>",
            b"<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\"><se:Body><login>",
            b"\xff\xfe<bad/>",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
