//! The real `simple-salesforce` package (PyPI) against `latchkey serve`.

use serde_json::Value;

use crate::support::{jwt_org, run_driver, values_after, Cli};

const PASSWORD: &str = "violet-kettle-42";
const USER: &str = "jane@acme.test";

fn simple_salesforce(mode: &str, url: &str, stdin: &str) -> Value {
    simple_salesforce_as(mode, url, USER, None, stdin)
}

/// Runs the driver for `user`; with `ca`, requests trusts that CA (REQUESTS_CA_BUNDLE).
fn simple_salesforce_as(mode: &str, url: &str, user: &str, ca: Option<&str>, stdin: &str) -> Value {
    let env: Vec<(&str, &str)> = ca.map(|c| ("REQUESTS_CA_BUNDLE", c)).into_iter().collect();
    run_driver("python3", "simple_salesforce_login.py", &[mode, url, user], &env, stdin)
}

#[test]
fn simple_salesforce_logs_in_by_soap_and_oauth() {
    let cli = Cli::new();
    cli.ok(&["org", "create", "Acme"], None);
    cli.ok(
        &["org", "user", "create", USER, "--email", USER, "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let token = values_after(&cli.mails().join("\n"), "Security token (case-sensitive): ")
        .pop()
        .unwrap();
    let server = cli.serve();
    let url = server.url.as_str();
    let host = url.trim_start_matches("http://");

    let ok = simple_salesforce("soap", url, &format!("{PASSWORD}\n{token}\n"));
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["instance"], host, "sf_instance is host:port");
    assert_eq!(ok["has_session"], true);

    let no_token = simple_salesforce("soap", url, &format!("{PASSWORD}\n\n"));
    assert_eq!(no_token["code"], "LOGIN_MUST_USE_SECURITY_TOKEN", "{no_token}");
    let wrong = simple_salesforce("soap", url, &format!("nope\n{token}\n"));
    assert_eq!(wrong["code"], "INVALID_LOGIN", "{wrong}");
    assert_eq!(
        wrong["message"],
        "Invalid username, password, security token; or user locked out."
    );

    let app: Value =
        serde_json::from_str(&cli.ok(&["org", "app", "create", "--name", "Add-in", "--json"], None)).unwrap();
    let (key, secret) = (
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    );
    let oauth = simple_salesforce("oauth", url, &format!("{PASSWORD}{token}\n{key}\n{secret}\n"));
    assert_eq!(oauth["ok"], true, "{oauth}");
    assert_eq!(oauth["instance"], host);
    let refused = simple_salesforce("oauth", url, &format!("{PASSWORD}\n{key}\n{secret}\n"));
    assert_eq!(
        (refused["code"].as_str(), refused["message"].as_str()),
        (Some("invalid_grant"), Some("authentication failure")),
        "{refused}"
    );
}

/// Over TLS against `latchkey demo`, trusting the demo CA as the demo tells users to.
#[test]
fn simple_salesforce_over_tls_against_the_demo() {
    let cli = Cli::new();
    let demo = cli.start(&["demo", "--org-listen", "127.0.0.1:0"]);
    assert!(demo.url.starts_with("https://"), "{}", demo.url);
    let ca = demo.ca.clone().expect("the demo prints its CA");
    let user = "user@demo.latchkey.test";
    let password = "Demo-Passw0rd-2026";
    let mails = cli.mails().join("\n");
    let token = values_after(&mails, "Security token (case-sensitive): ")
        .pop()
        .expect("token mail");
    let host = demo.url.trim_start_matches("https://");

    let soap = simple_salesforce_as("soap", &demo.url, user, Some(&ca), &format!("{password}\n{token}\n"));
    assert_eq!(soap["ok"], true, "{soap}");
    assert_eq!(soap["instance"], host);

    let key = values_after(&demo.printed, "connected app \"Demo Data Sync\"  client id: ")
        .pop()
        .unwrap();
    let secret = values_after(&demo.printed, "client secret: ").pop().unwrap();
    let oauth = simple_salesforce_as(
        "oauth",
        &demo.url,
        user,
        Some(&ca),
        &format!("{password}{token}\n{key}\n{secret}\n"),
    );
    assert_eq!(oauth["ok"], true, "{oauth}");

    let health = https_get(host, &ca, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health
            .to_lowercase()
            .contains("strict-transport-security: max-age=31536000; includesubdomains"),
        "HSTS over TLS: {health}"
    );

    let untrusted = simple_salesforce_as("soap", &demo.url, user, None, &format!("{password}\n{token}\n"));
    assert_eq!(
        untrusted["code"], "SSL",
        "without the CA the certificate is refused: {untrusted}"
    );
}

/// GETs `path` from `host` (`127.0.0.1:PORT`) over TLS trusting the CA in `ca`; the
/// whole response.
fn https_get(host: &str, ca: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        tls.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        let _ = tls.read_to_end(&mut response).await;
        String::from_utf8_lossy(&response).into_owned()
    })
}

/// simple-salesforce's own JWT assertion — `aud` https://login.salesforce.com, `exp` a
/// string of seconds — logs a pre-authorised user in, as Salesforce takes it; a user
/// who never authorised the app is refused with Salesforce's error.
#[test]
fn simple_salesforce_logs_in_by_jwt_as_salesforce_takes_it() {
    let (cli, client_id, key) = jwt_org(&[USER, "joe@acme.test"], PASSWORD, USER);
    let server = cli.serve();
    let url = server.url.as_str();
    let stdin = format!("{client_id}\n{}\n", key.display());
    let ok = simple_salesforce_as("jwt", url, USER, None, &stdin);
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["instance"], url.trim_start_matches("http://"));
    assert_eq!(ok["has_session"], true);
    let refused = simple_salesforce_as("jwt", url, "joe@acme.test", None, &stdin);
    assert_eq!(
        (refused["code"].as_str(), refused["message"].as_str()),
        (Some("invalid_grant"), Some("user hasn't approved this consumer")),
        "{refused}"
    );
}
